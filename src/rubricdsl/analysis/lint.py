"""`rubric lint`: every problem of a rubric file as a diagnostic — syntax and compile
errors, unused fields, failing examples and the static analysis — with suppression
comments and the output formats (text, json, sarif, github)."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from rubricdsl.core.version import __version__
from rubricdsl.core.codes import CODES, lookup
from rubricdsl.core.resources import diagnostic_page
from rubricdsl.core.diagnostics import Diagnostic, Sink, render_diagnostic
from rubricdsl.core.source import Source, normalize_text
from rubricdsl.language import ir
from rubricdsl.language.walk import Visitor, conditions

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}
_IGNORE = re.compile(r"#\s*rubric:\s*ignore\[([^\]]*)\]")


class LintRunError(Exception):
    """The file cannot be linted at all (missing, a directory, not UTF-8)."""


@dataclass
class LintResult:
    file: str
    source: Source
    diagnostics: list[Diagnostic]
    rubric: dict[str, str] = field(default_factory=dict)
    suppressed: int = 0


def lint_text(text: str, name: str, sha256: str | None = None, timeout_ms: int | None = None,
              analysis: bool = True) -> LintResult:
    from rubricdsl.language import resolve
    from rubricdsl.language import syntax  # noqa: PLC0415

    sha = sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest()
    norm = normalize_text(text)
    # Lint analyses what compiles: the parser recovers per top-level declaration, the
    # checker per declaration and clause, and the analysis runs on every construct that
    # stands on no error (`Checker.usable`), next to the errors themselves.
    tree, sink = syntax.parse(norm, name, recover=True)
    source = sink.source
    diags: list[Diagnostic] = []
    info = {"name": "", "version": "", "sha256": sha, "file": name}
    if tree is not None and tree.header is not None:
        info["name"], info["version"] = tree.header.name, tree.header.version
    if tree is not None:
        checker = resolve.Checker(tree, sink, norm, sha)
        rubric = checker.run()
        extra: set[str] = set()
        if sink.has_errors:
            rubric = checker.usable(rubric)
            extra = checker.dropped_reads
        diags += _unused(rubric, sink, extra)
        if not sink.has_errors:
            diags += _examples(rubric, name)  # examples test the whole rubric
        if analysis:
            from rubricdsl.analysis.checks import DEFAULT_TIMEOUT_MS, analyse  # noqa: PLC0415

            diags += analyse(rubric, name, timeout_ms or DEFAULT_TIMEOUT_MS)
    diags = sink.items + diags
    kept, suppressed = _suppress(diags, source, tree.comments if tree is not None else None)
    kept.sort(key=lambda d: (d.span.line, d.span.column, d.code))
    return LintResult(name, source, kept, info, suppressed)


def lint_file(path: str, timeout_ms: int | None = None) -> LintResult:
    import os  # noqa: PLC0415

    if not os.path.exists(path):
        raise LintRunError(f"{path}: no such file")
    if os.path.isdir(path):
        raise LintRunError(f"{path}: is a directory, not a rubric file")
    try:
        data = open(path, "rb").read()
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise LintRunError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise LintRunError(f"{path}: cannot read: {e.strerror}") from None
    return lint_text(text, path, hashlib.sha256(data).hexdigest(), timeout_ms)


def _unused(rubric, sink: Sink, extra: set[str] | None = None) -> list[Diagnostic]:
    """Inputs and lets that nothing reads (labels are always checked). `extra` names what
    the parts of the file dropped for an error read: never reported unused."""
    reads = _Reads(extra or ())
    reads.visit(*conditions(rubric))
    read, let_reads = reads.fields, reads.lets
    out = []
    for f in rubric.fields:
        if f.kind == "input" and f.name not in read:
            out.append(Diagnostic("RB208", f"input `{f.name}` is never read", f.span, sink.source.name,
                                  help="use it in a condition, or remove it (a malformed value is still reported as invalid)"))
    for let in rubric.lets:
        if let.name not in let_reads:
            out.append(Diagnostic("RB208", f"`let {let.name}` is never read", let.span, sink.source.name,
                                  help="use it in a condition, or remove it"))
    return out


class _Reads(Visitor):
    """The fields and lets the conditions read, through lets and aggregates."""

    through_lets = True

    def __init__(self, extra) -> None:
        self.fields: set[str] = set(extra)
        self.lets: set[str] = set(extra)

    def visit_FieldRef(self, e: ir.FieldRef) -> None:
        self.fields.add(e.field.name)

    def visit_LetRef(self, e: ir.LetRef) -> None:
        self.lets.add(e.let.name)

    def visit_Agg(self, e: ir.Agg) -> None:
        if e.field is not None:
            self.fields.add(e.field.name)


def _examples(rubric: ir.RubricIR, name: str) -> list[Diagnostic]:
    from rubricdsl.engine.codegen import compile_rubric  # noqa: PLC0415
    from rubricdsl.engine.examples import describe, run_examples  # noqa: PLC0415

    out = []
    for res, ex in zip(run_examples(rubric, compile_rubric(rubric)), rubric.examples):
        if res.passed:
            continue
        d = Diagnostic("RB110", f"example \"{res.title}\" fails: expected {describe(res.expected)}, "
                                f"got {describe(res.got)}", ex.span, name,
                       help="fix the rubric or the example's `expect`; `rubric test` shows the findings")
        for f in res.findings:
            d.notes.append(f"{f['kind']} {f['rule'] or f['label'] or ''}: {f['message']}")
        out.append(d)
    return out


def _suppress(diags: list[Diagnostic], source: Source, comments) -> tuple[list[Diagnostic], int]:
    """Drop warnings and infos whose line carries `# rubric: ignore[CODE, ...]` naming their
    code (or its kebab name, or its check, or `all`). Errors are never suppressed: a rubric
    with an error does not compile, and lint must not call it clean."""
    ignores: dict[int, set[str]] = {}
    for c in comments or []:
        m = _IGNORE.search(c.text)
        if m:
            keys = {k.strip() for k in m.group(1).split(",") if k.strip()}
            ignores.setdefault(c.span.line, set()).update(keys)
    if not ignores:
        return diags, 0
    kept = []
    n = 0
    for d in diags:
        keys = ignores.get(d.span.line, set())
        if keys and d.severity != "error" and (d.code in keys or d.name in keys or d.check in keys or "all" in keys):
            n += 1
            continue
        kept.append(d)
    return kept, n


# ---- output formats --------------------------------------------------------------------------


def render_text(results: list[LintResult], color: bool = False) -> str:
    from rubricdsl.core.safetext import visible  # noqa: PLC0415 - names and strings from the rubric are shown as data

    parts = []
    n = {"error": 0, "warning": 0, "info": 0}
    for res in results:
        for d in res.diagnostics:
            n[d.severity or "error"] += 1
            text = render_diagnostic(d, res.source, color)
            if d.witness is not None:
                text += "\n" + " " * len(str(d.span.line)) + " = witness: " + visible(
                    json.dumps(d.witness, ensure_ascii=False))
            if d.record is not None:
                text += "\n" + " " * len(str(d.span.line)) + " = as a record: " + visible(
                    json.dumps(d.record, ensure_ascii=False))
            parts.append(text)
    files = len(results)
    provenance = "".join(visible(
        f"{r.file}: rubric {r.rubric['name'] or '?'} version {r.rubric['version'] or '?'} "
        f"(sha256 {r.rubric['sha256'][:12]})") + "\n" for r in results)
    summary = (f"{files} file{'s' if files != 1 else ''} linted: {n['error']} error{'s' if n['error'] != 1 else ''}, "
               f"{n['warning']} warning{'s' if n['warning'] != 1 else ''}, {n['info']} info")
    suppressed = sum(r.suppressed for r in results)
    if suppressed:
        summary += f" ({suppressed} suppressed)"
    return ("\n\n".join(parts) + "\n\n" if parts else "") + provenance + summary + "\n"


def to_json(results: list[LintResult]) -> dict[str, Any]:
    return {
        "rubrics": [r.rubric for r in results],
        "diagnostics": [d.to_dict() for r in results for d in r.diagnostics],
    }


def to_sarif(results: list[LintResult]) -> dict[str, Any]:
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
            "defaultConfiguration": {"level": _sarif_level(c.severity)},
            "properties": {"check": c.check},
        })
    out_results = []
    for r in results:
        for d in r.diagnostics:
            res: dict[str, Any] = {
                "ruleId": d.code, "ruleIndex": index[d.code], "level": _sarif_level(d.severity or "error"),
                "message": {"text": d.message + (f" — {d.help}" if d.help else "")},
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


def _uri(path: str) -> str:
    from urllib.parse import quote  # noqa: PLC0415

    return quote(path.replace("\\", "/"))


def _sarif_level(sev: str) -> str:
    return {"error": "error", "warning": "warning", "info": "note"}[sev]


def to_github(results: list[LintResult]) -> str:
    lines = []
    for r in results:
        for d in r.diagnostics:
            kind = {"error": "error", "warning": "warning", "info": "notice"}[d.severity or "error"]
            msg = d.message + (f" — {d.help}" if d.help else "")
            if d.witness is not None:
                msg += " — witness: " + json.dumps(d.witness, ensure_ascii=False)
            lines.append(f"::{kind} file={_gh(d.file, True)},line={d.span.line},col={d.span.column},"
                         f"endLine={d.span.end_line},endColumn={d.span.end_column},"
                         f"title={_gh(d.code + ' ' + d.name, True)}::{_gh(msg)}")
    return "\n".join(lines) + ("\n" if lines else "")


def _gh(s: str, prop: bool = False) -> str:
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        s = s.replace(":", "%3A").replace(",", "%2C")
    return s


def worst(results: list[LintResult]) -> int:
    return max((SEVERITY_RANK[d.severity or "error"] for r in results for d in r.diagnostics), default=-1)


def explain(code: str) -> str | None:
    """The documentation page of a code (by code or kebab name)."""
    c = lookup(code)
    if c is None:
        return None
    page = diagnostic_page(c.code)
    if page is not None:
        return page.read_text(encoding="utf-8")
    return f"# {c.code} {c.name}\n\n{c.summary}.\n\nCheck: `{c.check}`; default severity: {c.severity}.\n"
