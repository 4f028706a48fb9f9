"""`rubric lint --format json`: the rubrics linted and every diagnostic (`Diagnostic.to_dict`)."""
from __future__ import annotations

import json
from typing import Any

from rubricdsl.analysis.lint import LintResult


def lint_document(results: list[LintResult]) -> dict[str, Any]:
    return {
        "rubrics": [r.rubric for r in results],
        "diagnostics": [d.to_dict() for r in results for d in r.diagnostics],
    }


def lint_json(results: list[LintResult]) -> str:
    return json.dumps(lint_document(results), indent=2, ensure_ascii=False) + "\n"
