"""Printing data as data: the one place where text from a data file, a record or a
rubric is made safe for a terminal.

Record values, ids, file names and rubric strings are shown as written, except that

- control characters (C0, DEL, C1), line and paragraph separators, the Unicode
  bidirectional controls and lone surrogates are written visibly, as Python writes
  them in a string: `\\x1b`, `\\n`, `\\t`, `\\u202e`, `\\ud800`. No escape sequence from the data reaches the terminal,
  and a value never spans several lines;
- in text that goes through Rich (the reports of `rubric check` and `rubric agreement`),
  Rich markup is escaped (`rich.markup.escape`) and emoji codes are off (`:warning:`
  stays those nine characters).

A backslash is not doubled: `C:\\x` shows as `C:\\x`.
"""
from __future__ import annotations

import re
import sys
from typing import Any

# C0 controls, DEL, C1 controls; U+2028/U+2029 (line and paragraph separators); the
# bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069); the
# byte-order mark / zero-width no-break space; and lone surrogates (U+D800-U+DFFF),
# which a Python string may hold (JSON's `"\ud800"`) but no UTF-8 output can.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _show(m: re.Match[str]) -> str:
    ch = m.group(0)
    named = _NAMED.get(ch)
    if named is not None:
        return named
    o = ord(ch)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def visible(s: Any) -> str:
    """`s` as text, with every control character written visibly (`\\x1b`, `\\n`)."""
    t = s if isinstance(s, str) else str(s)
    return _UNSAFE.sub(_show, t) if _UNSAFE.search(t) else t


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogates(s: str) -> str:
    return _SURROGATE.sub(_show, s) if _SURROGATE.search(s) else s


def utf8_data(v: Any) -> Any:
    """JSON-like data (a finding, a record value) that UTF-8 can carry: each lone
    surrogate in its strings and keys, which a Python string may hold (from JSON's
    `"\\ud800"`) but no UTF-8 output can, written as its escape `\\ud800`. Data without
    one is returned as it is."""
    stack = [v]
    while stack:  # most data holds none: look before building anything
        x = stack.pop()
        c = x.__class__
        if c is str:
            if _SURROGATE.search(x):
                return _rebuild(v)
        elif c is dict:
            stack.extend(x.keys())
            stack.extend(x.values())
        elif c is list or c is tuple:
            stack.extend(x)
    return v


def _rebuild(v: Any) -> Any:
    c = v.__class__
    if c is str:
        return _escape_surrogates(v)
    if c is dict:
        return {(_escape_surrogates(k) if k.__class__ is str else k): _rebuild(x) for k, x in v.items()}
    if c is list:
        return [_rebuild(x) for x in v]
    if c is tuple:
        return tuple(_rebuild(x) for x in v)
    return v


def visible_lines(text: str) -> str:
    """A multi-line text whose lines are each made `visible` (the line breaks stay)."""
    return "\n".join(visible(line) for line in text.split("\n"))


def markup(s: Any) -> str:
    """`s` for a Rich markup string: visible, with its markup escaped."""
    from rich.markup import escape  # noqa: PLC0415

    return escape(visible(s))


def console(file: Any = None, **kw: Any) -> Any:
    """A Rich console for reports: no emoji codes, no highlighting, and a closed pipe
    raises BrokenPipeError (the command line ends quietly) instead of Rich's exit 1."""
    from rich.console import Console  # noqa: PLC0415

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    kw.setdefault("highlight", False)
    return _Console(file=file if file is not None else sys.stdout, emoji=False, **kw)


__all__ = ["visible", "visible_lines", "utf8_data", "markup", "console"]
