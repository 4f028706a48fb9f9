"""Formatting: `rubric fmt`'s formatter on the whole document. A document with syntax
errors is left as it is, as `rubric fmt` leaves such a file."""
from __future__ import annotations

from lsprotocol import types

from rubricdsl.core.diagnostics import RubricError
from rubricdsl.language.fmt import format_text
from rubricdsl.lsp.document import Document
from rubricdsl.lsp.positions import Lines


def format_document(doc: Document, text: str) -> list[types.TextEdit] | None:
    """One edit replacing the whole text with its canonical layout; [] when it is
    already canonical; None when the text has syntax errors."""
    try:
        out = format_text(text, doc.name)
    except RubricError:
        return None
    if out == text:
        return []
    return [types.TextEdit(types.Range(types.Position(0, 0), _end(text, doc.lines.encoding)), out)]


def _end(text: str, encoding: str) -> types.Position:
    """The end of the client's own text (line breaks as the client counts them)."""
    # \r\n, \r and \n all end a line in the protocol; counting on the normalised text
    # gives the same line, and the last line has no line ending to count
    norm = text.replace("\r\n", "\n").replace("\r", "\n")
    return Lines(norm, encoding).end()
