"""Go to definition and find references, through the documents' indexes. A name that
a file's imports bring in is followed to its declaration in the imported file (`locate`),
and the references of a declaration are looked for in every file the server knows:
the open documents, the files their imports reach, and for references the rubric files
of the workspace folders (`World`)."""
from __future__ import annotations

import os
from typing import Union

from lsprotocol import types

from rubricdsl.lsp.document import Document, Unit, file_uri
from rubricdsl.lsp.index import Definition, Key

Holder = Union[Document, Unit]


class World:
    """The files the server knows, by real path: the open documents, the files their
    imports reach (an open document stands for its file: its text is the editor's),
    and `more` files (the workspace's rubrics, where no open document or import has
    them already)."""

    def __init__(self, docs: list[Document], more: list[Unit] | None = None) -> None:
        self.docs = docs
        self.files: dict[str, Holder] = {}
        for d in docs:
            for key, unit in d.units.items():
                self.files.setdefault(key, unit)
        for d in docs:
            if d.path is not None:
                self.files[os.path.realpath(d.path)] = d
        for unit in more or ():
            self.files.setdefault(os.path.realpath(unit.path), unit)

    def holders(self) -> list[Holder]:
        out: list[Holder] = [d for d in self.docs if d.path is None]
        return out + list(self.files.values())


def ident(h: Holder) -> str:
    """What names a file whatever spelling its URI has: its real path."""
    return os.path.realpath(h.path) if h.path is not None else h.uri


def locate(h: Holder, key: Key, files: dict[str, Holder], depth: int = 0) -> tuple[Holder, Definition] | None:
    """Where the name `key` of file `h` is declared: in `h`, or in a file its imports reach."""
    if depth > 64:
        return None
    defs = h.index.definitions.get(key)
    if defs:
        return h, defs[0]
    if key[0] == "tvalue":
        decl = h.index.type_decls.get(key[1])
        if decl is not None:  # a local type naming another: its values are the other's
            if decl.type.kind == "named" and decl.type.name:
                return locate(h, ("tvalue", decl.type.name, key[2]), files, depth + 1)
            return None
    file = None
    if key[0] in ("type", "tvalue"):
        td = h.library.types.get(key[1])
        file = td.file if td is not None else None
    elif key[0] == "name":
        il = h.library.lets.get(key[1])
        file = il.file if il is not None else None
    other = files.get(os.path.realpath(file)) if file is not None else None
    if other is None or other is h:
        return None
    return locate(other, key, files, depth + 1)


def _files(doc: Document, world: World | None) -> dict[str, Holder]:
    files: dict[str, Holder] = dict(doc.units)
    if world is not None:
        files.update(world.files)
    return files


def import_at(doc: Holder, offset: int) -> str | None:
    """The file named by the `import` path under the cursor."""
    for node, path in doc.imports:
        if node.path_span.start <= offset <= node.path_span.end:
            return path
    return None


def definition(doc: Document, offset: int, world: World | None = None) -> list[types.Location]:
    path = import_at(doc, offset)
    if path is not None:
        if not os.path.isfile(path) and doc.unit(path) is None:
            return []
        start = types.Position(0, 0)
        return [types.Location(file_uri(path), types.Range(start, start))]
    occ = doc.index.at(offset)
    if occ is None:
        return []
    local = doc.index.definitions.get(occ.key, [])
    if local:
        return [types.Location(doc.uri, doc.lines.range(d.span)) for d in local]
    found = locate(doc, occ.key, _files(doc, world))
    if found is None:
        return []
    h, d = found
    return [types.Location(h.uri, h.lines.range(d.span))]


def references(doc: Document, offset: int, include_declaration: bool,
               world: World | None = None) -> list[types.Location]:
    occ = doc.index.at(offset)
    if occ is None:
        return []
    files = _files(doc, world)
    target = locate(doc, occ.key, files)
    if target is None:
        return [types.Location(doc.uri, doc.lines.range(o.span))
                for o in doc.index.references(occ.key, include_declaration)]
    th, td = target
    where = ident(th)
    holders: list[Holder] = [doc] + ([h for h in world.holders() if h is not doc] if world is not None else [])
    seen: set[str] = set()
    out: list[types.Location] = []
    for h in holders:
        name = ident(h)
        if name in seen:
            continue
        seen.add(name)
        for o in h.index.occurrences:
            if o.key[-1] != occ.key[-1] or (o.definition and not include_declaration):
                continue
            found = locate(h, o.key, files)
            if found is not None and ident(found[0]) == where and found[1].span == td.span:
                out.append(types.Location(h.uri, h.lines.range(o.span)))
    return out
