"""Code actions: replace a name with the one a diagnostic's `did you mean` proposes,
and add the witness of a decision gap or overlap to the rubric as an `example` block
(its `expect` is what the rubric gives for the witness today)."""
from __future__ import annotations

import re
from typing import Any

from lsprotocol import types

from rubricdsl.api import Rubric
from rubricdsl.core.diagnostics import Diagnostic, RubricError
from rubricdsl.engine.examples import outcome_key
from rubricdsl.language import ast
from rubricdsl.language.fmt import enum_value, format_text, number, quote
from rubricdsl.lsp.document import Document, suggestion

_TOKEN = re.compile(r'"[^"\n]*"|[A-Za-z_][A-Za-z0-9_]*')
_OUTCOME_ORDER = {"violation": 0, "ambiguous": 1, "uncovered": 2, "invalid": 3, "escalation": 4}


def actions(doc: Document, rng: types.Range, context: list[types.Diagnostic]) -> list[types.CodeAction]:
    """The fixes of the diagnostics the client names (`context`), or, when it names
    none, of every diagnostic that touches the range."""
    if context:
        wanted = [doc.diagnostic_at(c.range, str(c.code) if c.code is not None else None) for c in context]
        chosen = [d for d in wanted if d is not None]
    else:
        start, end = doc.lines.offset(rng.start), doc.lines.offset(rng.end)
        chosen = [d for d in doc.diagnostics if doc.own(d) and not (d.span.end < start or d.span.start > end)]
    out = []
    for d in chosen:
        fix = _replace(doc, d)
        if fix is not None:
            out.append(fix)
        if d.code in ("RB204", "RB205") and d.record is not None:
            add = _example(doc, d)
            if add is not None:
                out.append(add)
    return out


def _replace(doc: Document, d: Diagnostic) -> types.CodeAction | None:
    """Replace the name the diagnostic complains of (the first name of its span that its
    message quotes) with the one it proposes."""
    s = suggestion(d)
    if s is None:
        return None
    for m in _TOKEN.finditer(doc.text, d.span.start, d.span.end):
        written = m.group(0)
        bare = written.strip("\"'")
        if bare != s and (f"`{bare}`" in d.message or f"'{bare}'" in d.message):
            break
    else:
        return None
    new = quote(s) if written.startswith('"') else s
    edit = types.TextEdit(types.Range(doc.lines.position(m.start()), doc.lines.position(m.end())), new)
    return types.CodeAction(title=f"Replace `{bare}` with `{s}`", kind=types.CodeActionKind.QuickFix,
                            diagnostics=[doc.lsp_diagnostic(d)], is_preferred=True,
                            edit=types.WorkspaceEdit(changes={doc.uri: [edit]}))


def _decide(doc: Document, d: Diagnostic) -> ast.Decide | None:
    for decide, _arm in doc.index.arms:
        if decide.span.start <= d.span.start <= decide.span.end:
            return decide
    return None


def _literal(f: ast.Field | None, v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return number(v)
    if isinstance(v, list):
        return "{" + ", ".join(enum_value(ast.Value("string", str(x))) for x in v) + "}"
    if f is not None and f.type.kind in ("enum", "set"):
        return enum_value(ast.Value("string", str(v)))
    return quote(str(v))


def example_text(doc: Document, d: Diagnostic) -> str | None:
    """The `example` block of a gap's or overlap's witness, or None when the rubric does
    not compile (an example must compile with it)."""
    if doc.errors or doc.rubric is None or d.witness is None or d.record is None:
        return None
    decide = _decide(doc, d)
    what = "gap" if d.code == "RB204" else "overlap"
    title = f"{what} of decide {decide.label}" if decide is not None else what
    entries = [f"{name}: {_literal(doc.index.fields.get(name), v)}" for name, v in d.witness.items()
               if v is not None and name in doc.index.fields]
    try:
        findings = Rubric(doc.rubric, doc.text).check_dicts(d.record)
    except Exception:  # noqa: BLE001 - no action rather than a failed request
        return None
    got = sorted({outcome_key(f) for f in findings}, key=lambda k: (_OUTCOME_ORDER.get(k[0], 9), k[1]))
    expect = ", ".join(f"{k} {n}" for k, n in got) or "pass"
    note = d.message.replace('"', "'").replace("\\", "/")  # a docstring holds no escape and no `\"\"\"`
    block = (f"example {quote(title)} {{\n"
             f"  \"\"\"The witness of {d.code} on line {d.span.line}: {note}.\"\"\"\n"
             f"  given {{ {', '.join(entries)} }}\n"
             f"  expect {expect}\n"
             f"}}\n")
    # in `rubric fmt`'s layout: the block formatted under a header of its own
    header = 'rubric "example" version "1"\n\n'
    try:
        block = format_text(header + block).removeprefix(header)
    except RubricError:
        return None
    return "\n" + block


def _example(doc: Document, d: Diagnostic) -> types.CodeAction | None:
    text = example_text(doc, d)
    if text is None:
        return None
    end = doc.lines.end()
    if not doc.text.endswith("\n"):
        text = "\n" + text
    edit = types.TextEdit(types.Range(end, end), text)
    return types.CodeAction(title="Add the witness as an example", kind=types.CodeActionKind.QuickFix,
                            diagnostics=[doc.lsp_diagnostic(d)],
                            edit=types.WorkspaceEdit(changes={doc.uri: [edit]}))
