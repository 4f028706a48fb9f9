"""Completion: enum values where a value of an enum is expected (after `FIELD ==`,
inside `FIELD in {…}`, after an arm's `->`, in a `given` entry), paths seen in the
project's sample data after `from`, and elsewhere field and `let` names, functions
and keywords."""
from __future__ import annotations

import json
import re
from typing import Iterable

from lsprotocol import types

from rubricdsl.language.typecheck import FUNCTIONS, ITEM_FUNCTIONS
from rubricdsl.lsp.document import Document

KEYWORDS = (
    "rubric", "version", "record", "input", "label", "let", "level", "criterion", "applies", "decide", "first",
    "edge", "otherwise", "when", "rule", "severity", "require", "escalate", "consensus", "example", "given",
    "expect", "pass", "violation", "uncovered", "ambiguous", "invalid", "escalation", "from", "optional",
    "required", "bool", "int", "number", "text", "enum", "ordered", "set", "scale", "any", "all", "none", "of",
    "empty", "present", "missing", "contains", "matches", "and", "or", "not", "in", "is", "true", "false",
    "per", "item", "each", "judgment", "show", "skip", "min", "annotators",
)

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_COMPARE = re.compile(r"(" + _IDENT + r")\s*(?:==|!=|<=|>=|<|>)\s*\"?(" + _IDENT + r")?$")
_IN_SET = re.compile(r"(" + _IDENT + r")\s+(?:not\s+)?in\s*\{[^{}]*?(" + _IDENT + r")?$")
_ARM = re.compile(r"->\s*(?:" + _IDENT + r"\s*,\s*)*(" + _IDENT + r")?$")
_GIVEN = re.compile(r"(" + _IDENT + r")\s*:\s*\{?(?:[^{}:,]*,\s*)*(" + _IDENT + r")?$")
_DECL = re.compile(r"^[ \t]*(input|label)[ \t]+(" + _IDENT + r")[ \t]*:[ \t]*"
                   r"(?:(?:enum|set)[ \t]*(?:ordered[ \t]*)?\{([^}\n]*)\})?", re.M)
_LET = re.compile(r"^[ \t]*let[ \t]+(" + _IDENT + r")", re.M)
_FROM = re.compile(r"^\s*(?:input|label)\s+" + _IDENT + r"\s*:.*\bfrom\s+(@?[^\s]*)$")


def wants_path(doc: Document, offset: int) -> bool:
    """Whether the offset stands after `from` in a field's declaration."""
    line_start = doc.text.rfind("\n", 0, offset) + 1
    return bool(_FROM.search(doc.text[line_start:offset]))


def complete(doc: Document, offset: int, data_paths: Iterable[tuple[str, str]] = ()) -> list[types.CompletionItem]:
    """The completions at an offset; `data_paths` are (path, what is there) of the
    project's sample data."""
    line_start = doc.text.rfind("\n", 0, offset) + 1
    before = doc.text[line_start:offset]
    m = _FROM.search(before)
    if m:
        # each path replaces what is written of it, dots included
        rng = types.Range(doc.lines.position(line_start + m.start(1)), doc.lines.position(offset))
        return [types.CompletionItem(label=p, kind=types.CompletionItemKind.Reference, detail=f"sample data: {what}",
                                     filter_text=p, text_edit=types.TextEdit(rng, p))
                for p, what in data_paths]
    for pattern in (_COMPARE, _IN_SET):
        m = pattern.search(before)
        if m and values_of(doc, m.group(1)):
            return _values(doc, m.group(1))
    if _ARM.search(before):
        for decide, _arm in doc.index.arms:
            if decide.span.start <= offset <= decide.span.end:
                return _values(doc, decide.label)
        label = _decide_label(doc, offset)
        if label:
            return _values(doc, label)
    m = _GIVEN.search(before)
    if m and _in_given(doc.text, offset) and values_of(doc, m.group(1)):
        return _values(doc, m.group(1))
    return _names(doc)


def _declared(doc: Document) -> dict[str, tuple[str, list[str]]]:
    """The fields the text declares (kind, enum or set values), read line by line: a
    declaration inside a block that does not parse yet is still offered."""
    if "declared" not in doc.extra:
        out: dict[str, tuple[str, list[str]]] = {}
        for m in _DECL.finditer(doc.text):
            values = []
            for v in (m.group(3) or "").split(","):
                v = v.strip()
                if len(v) >= 2 and v[0] == v[-1] == '"':
                    try:
                        v = json.loads(v)
                    except ValueError:
                        continue
                if v:
                    values.append(v)
            out.setdefault(m.group(2), (m.group(1), values))
        doc.extra["declared"] = out
    return doc.extra["declared"]


def values_of(doc: Document, field_name: str) -> list[str]:
    """The values of an enum or set field, from the AST or else from the text."""
    return doc.index.values(field_name) or _declared(doc).get(field_name, ("", []))[1]


def _decide_label(doc: Document, offset: int) -> str | None:
    """The label of the `decide` block the offset stands in, read from the text (for a
    block that does not parse yet)."""
    opened = [m for m in re.finditer(r"\bdecide\s+(" + _IDENT + r")", doc.text[:offset])]
    return opened[-1].group(1) if opened else None


def _in_given(text: str, offset: int) -> bool:
    """Whether the offset stands inside the braces of a `given` block."""
    start = text.rfind("given", 0, offset)
    if start < 0:
        return False
    part = text[start:offset]
    return part.count("{") > part.count("}")


def _values(doc: Document, field_name: str) -> list[types.CompletionItem]:
    f = doc.index.fields.get(field_name)
    meaning = {str(lv.value.value): lv.text for lv in f.levels} if f is not None else {}
    out = []
    for i, v in enumerate(values_of(doc, field_name)):
        text = v if re.fullmatch(_IDENT, v) and v not in ("and", "or", "not", "in", "is", "true", "false") else \
            '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        out.append(types.CompletionItem(label=v, insert_text=text, kind=types.CompletionItemKind.EnumMember,
                                        detail=f"value of {field_name}", documentation=meaning.get(v),
                                        sort_text=f"{i:04d}"))
    return out


def _names(doc: Document) -> list[types.CompletionItem]:
    out = []
    for name, f in doc.index.fields.items():
        out.append(types.CompletionItem(label=name, kind=types.CompletionItemKind.Field, detail=f.kind,
                                        documentation=f.doc))
    for name, let in doc.index.lets.items():
        out.append(types.CompletionItem(label=name, kind=types.CompletionItemKind.Variable, detail="let",
                                        documentation=let.doc))
    known = {i.label for i in out}
    for name in sorted(doc.index.outside.lets - known):
        out.append(types.CompletionItem(label=name, kind=types.CompletionItemKind.Variable, detail="let (imported)"))
    known = {i.label for i in out}
    for name, (kind, _values) in _declared(doc).items():
        if name not in known:
            out.append(types.CompletionItem(label=name, kind=types.CompletionItemKind.Field, detail=kind))
    for m in _LET.finditer(doc.text):
        if m.group(1) not in known:
            known.add(m.group(1))
            out.append(types.CompletionItem(label=m.group(1), kind=types.CompletionItemKind.Variable, detail="let"))
    for fn in (*FUNCTIONS, *ITEM_FUNCTIONS):
        out.append(types.CompletionItem(label=fn, kind=types.CompletionItemKind.Function, detail="function"))
    names = {i.label for i in out}
    out += [types.CompletionItem(label=k, kind=types.CompletionItemKind.Keyword) for k in KEYWORDS if k not in names]
    return out
