"""Rubric spans (1-based lines, code-point columns, offsets into the normalised text)
to the protocol's positions (0-based lines, UTF-16 code units by default) and back."""
from __future__ import annotations

import bisect

from lsprotocol import types

from rubricdsl.core.source import Span


def _units(s: str, encoding: str) -> int:
    if encoding == "utf-32":
        return len(s)
    if encoding == "utf-8":
        return len(s.encode("utf-8", "surrogatepass"))
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


class Lines:
    """The lines of a rubric's normalised text (what every span counts in)."""

    def __init__(self, text: str, encoding: str = "utf-16") -> None:
        self.text = text
        self.encoding = encoding
        self.starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                self.starts.append(i + 1)

    def line(self, n: int) -> str:
        """The text of a 0-based line, without its line ending."""
        if n < 0 or n >= len(self.starts):
            return ""
        end = self.starts[n + 1] - 1 if n + 1 < len(self.starts) else len(self.text)
        return self.text[self.starts[n]:end]

    def position(self, offset: int) -> types.Position:
        offset = max(0, min(offset, len(self.text)))
        n = bisect.bisect_right(self.starts, offset) - 1
        return types.Position(n, _units(self.text[self.starts[n]:offset], self.encoding))

    def range(self, span: Span) -> types.Range:
        return types.Range(self.position(span.start), self.position(max(span.start, span.end)))

    def offset(self, pos: types.Position) -> int:
        """The offset of a protocol position (clamped to the text and to its line)."""
        if pos.line >= len(self.starts):
            return len(self.text)
        text = self.line(pos.line)
        units = 0
        for i, ch in enumerate(text):
            if units >= pos.character:
                return self.starts[pos.line] + i
            units += _units(ch, self.encoding)
        return self.starts[pos.line] + len(text)

    def end(self) -> types.Position:
        return self.position(len(self.text))
