"""Source text, spans and line lookup shared by every phase."""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file: offsets (end exclusive) and 1-based line/column.

    Columns count Unicode code points; the end column is exclusive, as in Lark.
    """

    start: int
    end: int
    line: int
    column: int
    end_line: int
    end_column: int

    def merge(self, other: "Span") -> "Span":
        a, b = (self, other) if self.start <= other.start else (other, self)
        last = b if b.end >= a.end else a
        return Span(a.start, last.end, a.line, a.column, last.end_line, last.end_column)


NO_SPAN = Span(0, 0, 1, 1, 1, 1)


@dataclass(slots=True)
class Source:
    """A rubric's text with its display name (a path, or ``<string>``)."""

    name: str
    text: str
    _starts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        starts = [0]
        for i, ch in enumerate(self.text):
            if ch == "\n":
                starts.append(i + 1)
        self._starts = starts

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its line ending."""
        if line < 1 or line > len(self._starts):
            return ""
        start = self._starts[line - 1]
        end = self._starts[line] - 1 if line < len(self._starts) else len(self.text)
        return self.text[start:end].rstrip("\r")

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of an offset."""
        offset = max(0, min(offset, len(self.text)))
        i = bisect.bisect_right(self._starts, offset) - 1
        return i + 1, offset - self._starts[i] + 1

    def span(self, start: int, end: int) -> Span:
        line, col = self.position(start)
        end_line, end_col = self.position(end)
        return Span(start, end, line, col, end_line, end_col)

    def end_span(self) -> Span:
        """An empty span at the end of the text (where `end of file` errors point)."""
        n = len(self.text.rstrip())
        return self.span(n, n)


def normalize_text(text: str) -> str:
    """Strip a byte-order mark and turn CRLF/CR into LF, keeping offsets per line."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text
