"""rubricdsl: labeling guidelines as checkable rubrics.

    import rubricdsl
    rubric = rubricdsl.load("rubrics/response-safety/response-safety.rubric")
    findings = rubric.check({"id": "r1", "labels": {...}})
    report = rubric.check_files("annotations.jsonl")

Names are imported lazily so that the command line starts fast.
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Rubric", "RubricError", "Diagnostic", "load", "loads", "compile_text", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Rubric", "load", "loads", "compile_text"):
        from . import api

        return getattr(api, name)
    if name in ("RubricError", "Diagnostic"):
        from . import diagnostics

        return getattr(diagnostics, name)
    raise AttributeError(f"module 'rubricdsl' has no attribute {name!r}")
