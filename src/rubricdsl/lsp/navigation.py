"""Go to definition and find references, through the document's index."""
from __future__ import annotations

from lsprotocol import types

from rubricdsl.lsp.document import Document


def definition(doc: Document, offset: int) -> list[types.Location]:
    occ = doc.index.at(offset)
    if occ is None:
        return []
    return [types.Location(doc.uri, doc.lines.range(d.span)) for d in doc.index.definitions.get(occ.key, [])]


def references(doc: Document, offset: int, include_declaration: bool) -> list[types.Location]:
    occ = doc.index.at(offset)
    if occ is None:
        return []
    return [types.Location(doc.uri, doc.lines.range(o.span))
            for o in doc.index.references(occ.key, include_declaration)]
