"""`rubric lint --format sarif`: SARIF 2.1.0 for code scanning (GitHub, GitLab, IDEs).
Every code is a rule of the tool, so that a result's rule always resolves; a result's
message has the diagnostic's notes on lines of their own (a gap's regions among them);
witnesses, records and regions go in each result's properties."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from rubricdsl.analysis.lint import LintResult
from rubricdsl.core.codes import CODES
from rubricdsl.core.version import __version__

_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def sarif_log(results: list[LintResult]) -> dict[str, Any]:
    used = sorted({d.code for r in results for d in r.diagnostics} | set(CODES))
    rules = []
    index = {}
    for i, code in enumerate(used):
        c = CODES[code]
        index[code] = i
        rules.append({
            "id": c.code, "name": c.name,
            "shortDescription": {"text": c.summary},
            "fullDescription": {"text": f"{c.summary} (check `{c.check}`)."},
            "defaultConfiguration": {"level": _LEVEL[c.severity]},
            "properties": {"check": c.check},
        })
    out_results = []
    for r in results:
        for d in r.diagnostics:
            res: dict[str, Any] = {
                "ruleId": d.code, "ruleIndex": index[d.code], "level": _LEVEL[d.severity or "error"],
                "message": {"text": "\n".join([d.message + (f" — {d.help}" if d.help else ""), *d.notes])},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": _uri(d.file)},
                    "region": {"startLine": d.span.line, "startColumn": d.span.column,
                               "endLine": d.span.end_line, "endColumn": max(d.span.end_column, d.span.column)},
                }}],
                "properties": {"check": d.check},
            }
            if d.witness is not None:
                res["properties"]["witness"] = d.witness
            if d.record is not None:
                res["properties"]["record"] = d.record
            if d.regions:  # a gap's or overlap's regions: each with its words and a witness
                res["properties"]["regions"] = d.regions
                res["properties"]["regionsTotal"] = d.regions_total
            out_results.append(res)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "rubric", "semanticVersion": __version__, "version": __version__,
                                "rules": rules}},
            "columnKind": "unicodeCodePoints",
            "results": out_results,
            "properties": {"rubrics": [r.rubric for r in results]},
        }],
    }


def sarif(results: list[LintResult]) -> str:
    return json.dumps(sarif_log(results), indent=2, ensure_ascii=False) + "\n"


def _uri(path: str) -> str:
    return quote(path.replace("\\", "/"))
