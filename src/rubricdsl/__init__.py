"""rubricdsl: labeling guidelines as checkable rubrics.

    import rubricdsl
    rubric = rubricdsl.load("rubrics/response-safety/response-safety.rubric")
    findings = rubric.check({"id": "r1", "labels": {...}})
    report = rubric.check_files("annotations.jsonl")

Names are imported lazily so that the command line starts fast.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rubricdsl.core.version import __version__
__all__ = ["Rubric", "RubricError", "Diagnostic", "Finding", "Report", "Summary", "RubricInfo", "ExampleResult",
           "FrameReport", "load", "loads", "compile_text", "__version__"]

# where each public name lives
_HOMES = {
    "Rubric": "api", "load": "api", "loads": "api", "compile_text": "api",
    "RubricError": "core.diagnostics", "Diagnostic": "core.diagnostics",
    "Finding": "engine.report", "Report": "engine.report", "Summary": "engine.report", "RubricInfo": "engine.report",
    "ExampleResult": "engine.examples", "FrameReport": "engine.frames",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors
    from rubricdsl.api import Rubric, compile_text, load, loads
    from rubricdsl.core.diagnostics import Diagnostic, RubricError
    from rubricdsl.engine.examples import ExampleResult
    from rubricdsl.engine.frames import FrameReport
    from rubricdsl.engine.report import Finding, Report, RubricInfo, Summary


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'rubricdsl' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{home}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
