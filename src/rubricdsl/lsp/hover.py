"""Hover: what a name is (a field's type, path, levels and guidance; a `let`'s,
rule's or criterion's meaning in the guideline's words; an enum value and its level),
what a decide arm says in the guideline's words (`language/wording.py`), and the
explanation of each diagnostic under the cursor. A name declared in an imported file
shows what it would show there, and where it is declared (file and line)."""
from __future__ import annotations

import os
from typing import Any, Union

from lsprotocol import types

from rubricdsl.analysis.lint import explain
from rubricdsl.core.safetext import visible, visible_lines
from rubricdsl.language import ast
from rubricdsl.language.wording import Guide, Words, build_guide, plain, type_words
from rubricdsl.lsp.document import Document, Unit
from rubricdsl.lsp.index import Definition
from rubricdsl.lsp.navigation import World, import_at, locate


def guide(doc: Document) -> Guide | None:
    """The guideline's model of the document's rubric (built once per version)."""
    if doc.rubric is None:
        return None
    if "guide" not in doc.extra:
        try:
            doc.extra["guide"] = build_guide(doc.rubric)
        except Exception:  # noqa: BLE001 - a rubric with errors may lack what the wording needs
            doc.extra["guide"] = None
    return doc.extra["guide"]


def _words(w: Words | None) -> str:
    return visible(plain(w)) if w else ""


def hover(doc: Document, offset: int, world: World | None = None) -> types.Hover | None:
    parts: list[str] = []
    occ = doc.index.at(offset)
    if occ is not None:
        defs = doc.index.definitions.get(occ.key, [])
        if defs:
            parts.append(_definition(doc, defs[0]))
        else:
            files = dict(doc.units)
            if world is not None:
                files.update(world.files)
            found = locate(doc, occ.key, files)
            if found is not None:
                h, d = found
                parts.append(_definition(doc, d, h) + "\n\n" + _declared(doc, h, d))
    if not parts:
        path = import_at(doc, offset)
        if path is not None:
            parts.append(_import(doc, path))
    if not parts:
        arm = _arm_at(doc, offset)
        if arm is not None:
            parts.append(_arm(doc, *arm))
    for d in doc.diagnostics:
        where = ""
        if doc.own(d):
            if not d.span.start <= offset <= max(d.span.end, d.span.start + 1):
                continue
        else:  # in an imported file: on the import line that reaches it
            node = doc.import_reaching(d.file)
            if node is None or not node.path_span.start <= offset <= node.path_span.end:
                continue
            where = f"in `{visible(d.file)}:{d.span.line}:{d.span.column}`: "
        text = explain(d.code)
        parts.append(f"**{d.code}** {where}{visible(d.message)}" + (f"\n\n{text.strip()}" if text else ""))
    parts = [p for p in parts if p]
    if not parts:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)))


def _arm_at(doc: Document, offset: int) -> tuple[ast.Decide, ast.Arm] | None:
    for decide, arm in doc.index.arms:
        if arm.span.start <= offset <= arm.span.end:
            return decide, arm
    return None


def _import(doc: Document, path: str) -> str:
    """What an `import` line brings in: the file's own types and lets, and what its
    own imports bring in."""
    shown = os.path.relpath(path, os.path.dirname(doc.name)).replace(os.sep, "/")
    unit = doc.unit(path)
    if unit is None:
        return f"**import** `{visible(shown)}` (not read: see its diagnostic)"
    out = [f"**import** `{visible(shown)}`"]
    types_ = list(unit.index.type_decls)
    lets = list(unit.index.lets)
    if types_:
        out.append("Types: " + ", ".join(f"`{t}`" for t in types_))
    if lets:
        out.append("Lets: " + ", ".join(f"`{n}`" for n in lets))
    more = [n for n in list(unit.library.types) + list(unit.library.lets)]
    if more:
        out.append("Through its imports: " + ", ".join(f"`{n}`" for n in more))
    return "\n\n".join(out)


def _declared(doc: Document, h: Union[Document, Unit], d: Definition) -> str:
    """Where a name of another file is declared, its path relative to the document's."""
    path = h.path or h.uri
    if doc.path is not None and h.path is not None:
        path = os.path.relpath(h.path, os.path.dirname(doc.path)).replace(os.sep, "/")
    return f"Declared in `{visible(path)}`, line {d.span.line}."


def _definition(doc: Document, d: Definition, h: Union[Document, Unit, None] = None) -> str:
    """What a declaration is; `h`, the file that declares it (the document by default)."""
    h = h if h is not None else doc
    if d.kind == "type":
        return _type(h, d.node)
    if d.kind == "tvalue":
        return _type_value(h, d)
    if d.kind == "let" and h is not doc:
        return _let(doc, d.node, h)
    if d.kind in ("input", "label"):
        return _field(doc, d.node)
    if d.kind == "value":
        return _value(doc, d)
    if d.kind == "edge":
        return _arm(doc, *d.node)
    if d.kind == "let":
        return _let(doc, d.node)
    if d.kind == "rule":
        return _rule(doc, d.node)
    if d.kind == "escalate":
        return _escalate(doc, d.node)
    if d.kind == "criterion":
        return _criterion(doc, d.node)
    return ""


def _field(doc: Document, f: ast.Field) -> str:
    g = guide(doc)
    fd = None
    if g is not None:
        fd = next((x for s in g.sections for x in s.inputs + s.labels if x.name == f.name), None)
    field_ir = doc.rubric.field(f.name) if doc.rubric is not None else None
    type_text = field_ir.type.describe() if field_ir is not None else f.type.kind
    out = [f"**{f.kind} `{f.name}`**: `{visible(type_text)}`"]
    if field_ir is not None:
        words = _words(type_words(field_ir.type))
        out.append(words[:1].upper() + words[1:] + ".")
    if f.path is not None or field_ir is not None:
        path = field_ir.path_text if field_ir is not None and field_ir.path_text else (
            f.path.dotted() if f.path is not None else f.name)
        out.append(f"Path: `{visible(path)}`")
    if fd is not None:
        out.append(f"Presence: {_words(fd.presence)}")
    if f.doc:
        out.append(visible_lines(f.doc))
    if f.levels:
        out.append("Levels:\n" + "\n".join(f"- `{visible(str(lv.value.value))}`: {visible(lv.text)}" for lv in f.levels))
    return "\n\n".join(out)


def _value(doc: Document, d: Definition) -> str:
    field_name, value = d.key[1], d.key[2]
    f: ast.Field = d.node
    out = [f"**value `{visible(value)}`** of {f.kind} `{field_name}`"]
    for lv in f.levels:
        if str(lv.value.value) == value:
            out.append(visible(lv.text))
    return "\n\n".join(out)


def _arm(doc: Document, decide: ast.Decide, arm: ast.Arm) -> str:
    g = guide(doc)
    number = decide.arms.index(arm) + 1
    head = (f"**edge `{arm.name}`**" if arm.kind == "edge" else
            f"**otherwise** arm" if arm.kind == "otherwise" else f"**arm {number}**")
    out = [f"{head} of `decide {decide.label}`" + (f": {visible(arm.title)}" if arm.title else "")]
    dd = None
    if g is not None:
        dd = next((x for s in g.sections for x in s.decides if x.label == decide.label), None)
    ad = next((a for a in dd.all_arms if a.number == number), None) if dd is not None else None
    if ad is not None:
        when = f"When {_words(ad.when)}" if ad.when else "Otherwise"
        out.append(f"{when}: `{decide.label}` is " + " or ".join(f"`{visible(v)}`" for v in ad.values) + ".")
    else:
        out.append("(the arm does not resolve: see its diagnostics)")
    if arm.doc:
        out.append(visible_lines(arm.doc))
    return "\n\n".join(out)


def _type(h: Union[Document, Unit], decl: ast.TypeDecl) -> str:
    td = h.types.get(decl.name)
    out = [f"**type `{decl.name}`**" + (f": `{visible(td.type.describe())}`" if td is not None else "")]
    if td is not None:
        words = _words(type_words(td.type))
        out.append(words[:1].upper() + words[1:] + ".")
    if decl.doc:
        out.append(visible_lines(decl.doc))
    levels = td.levels if td is not None else [(lv.value.value, lv.text) for lv in decl.levels]
    if levels:
        out.append("Levels:\n" + "\n".join(f"- `{visible(str(v))}`: {visible(text)}" for v, text in levels))
    return "\n\n".join(out)


def _type_value(h: Union[Document, Unit], d: Definition) -> str:
    type_name, value = d.key[1], d.key[2]
    out = [f"**value `{visible(value)}`** of type `{type_name}`"]
    td = h.types.get(type_name)
    for v, text in td.levels if td is not None else []:
        if str(v) == value:
            out.append(visible(text))
    return "\n\n".join(out)


def _let(doc: Document, let: ast.Let, h: Union[Document, Unit, None] = None) -> str:
    g = guide(doc)
    ld = next((x for x in g.lets if x.name == let.name), None) if g is not None else None
    out = [f"**let `{let.name}`**"]
    if ld is not None:
        out.append(("Holds when " if ld.condition else "Stands for ") + _words(ld.means) + ".")
    else:  # no guideline model (a shared file, or a let the rubric does not read): its text
        text = (h or doc).text
        span = getattr(let.expr, "span", None)
        if span is not None and span.end > span.start:
            out.append(f"`= {visible(text[span.start:span.end])}`")
    if let.doc:
        out.append(visible_lines(let.doc))
    return "\n\n".join(out)


def _rule(doc: Document, rule: ast.Rule) -> str:
    g = guide(doc)
    rd = None
    if g is not None:
        rd = next((x for s in g.sections for x in s.rules if x.name == rule.name), None) or next(
            (x for x in g.item_rules if x.name == rule.name), None)
    out = [f"**rule `{rule.name}`** ({rule.severity or 'error'}): {visible(rule.message)}"]
    if rd is not None:
        if rd.when:
            out.append(f"When {_words(rd.when)}:")
        out.append(f"requires that {_words(rd.require)}.")
    if rule.doc:
        out.append(visible_lines(rule.doc))
    return "\n\n".join(out)


def _escalate(doc: Document, e: ast.Escalate) -> str:
    g = guide(doc)
    ed: Any = None
    if g is not None:
        ed = next((x for s in g.sections for x in s.escalations if x.name == e.name), None) or next(
            (x for x in g.item_escalations if x.name == e.name), None)
    out = [f"**escalate `{e.name}`** to `{e.target}`: {visible(e.reason)}"]
    if ed is not None:
        out.append(f"When {_words(ed.when)}.")
    if e.doc:
        out.append(visible_lines(e.doc))
    return "\n\n".join(out)


def _criterion(doc: Document, c: ast.Criterion) -> str:
    g = guide(doc)
    sd = next((s for s in g.sections if s.name == c.name), None) if g is not None else None
    out = [f"**criterion `{c.name}`**" + (f": {visible(c.title)}" if c.title else "")]
    if sd is not None and sd.applies:
        out.append(f"Applies when {_words(sd.applies)}.")
    if c.doc:
        out.append(visible_lines(c.doc))
    fields = [i for i in c.items if isinstance(i, ast.Field)]
    if fields:
        out.append("Fields: " + ", ".join(f"`{i.name}`" for i in fields))
    return "\n\n".join(out)
