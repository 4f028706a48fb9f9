"""Reading data files: plain or gzip JSONL, standard input, every line accounted for.

`open_data` opens a file, `read_batches` yields blocks of its lines, `read_line` reads a
line orjson rejected (saying why in the project's own words, or reading numbers beyond
a double), and `DataError` is a file that cannot be read at all.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import sys
import zlib
from typing import Any, BinaryIO, Callable, Iterator

from rubricdsl.core.values import HugeNumber, json_type


class DataError(Exception):
    """A data file that cannot be read at all (missing, a directory, not gzip...)."""


# what reading a data file (plain or gzip) can raise besides OSError: a truncated or corrupt gzip
_READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, gzip.BadGzipFile, zlib.error)


def read_error(name: str, e: BaseException, after: int | None = None) -> DataError:
    """One line for a data file that cannot be read: its name, where, and the cause."""
    if isinstance(e, OSError) and not isinstance(e, gzip.BadGzipFile) and e.strerror:
        cause = e.strerror
    elif isinstance(e, EOFError):
        cause = "the compressed file ends early (truncated gzip)"
    elif isinstance(e, (zlib.error, gzip.BadGzipFile)):
        cause = f"corrupt gzip data ({e})"
    else:
        cause = str(e) or type(e).__name__
    where = "cannot read" if after is None else f"cannot read after line {after}"
    return DataError(f"{name}: {where}: {cause}")


# ---- reading data -----------------------------------------------------------------------------


def open_data(path: str) -> tuple[BinaryIO, str, Callable[[], int] | None, int | None]:
    """Open a data file for binary line reading. Returns (stream, display name, position fn, size)."""
    if path == "-":
        if sys.stdin is None:
            raise DataError("<stdin>: cannot read: standard input is closed")
        stdin = sys.stdin.buffer
        try:
            head = stdin.peek(2)[:2] if hasattr(stdin, "peek") else b""
        except _READ_ERRORS as e:
            raise read_error("<stdin>", e) from None
        if head == b"\x1f\x8b":
            return io.BufferedReader(gzip.GzipFile(fileobj=stdin, mode="rb"), 1 << 20), "<stdin>", None, None  # type: ignore[arg-type]
        return stdin, "<stdin>", None, None
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, not a JSONL file")
    try:
        raw = open(path, "rb")
    except OSError as e:
        raise DataError(f"{path}: cannot open: {e.strerror}") from None
    try:
        size = os.fstat(raw.fileno()).st_size
        head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    except _READ_ERRORS as e:
        raw.close()
        raise read_error(path, e) from None
    if path.endswith(".gz") or head == b"\x1f\x8b":
        stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        return io.BufferedReader(stream, 1 << 20), path, raw.tell, size  # type: ignore[arg-type]
    return raw, path, raw.tell, size


def read_batches(stream: BinaryIO, name: str, first_line: Callable[[], int]) -> Iterator[list[bytes]]:
    """Blocks of lines of an open data file (a leading UTF-8 byte-order mark dropped); a
    read error is a DataError naming the file and the last line read (`first_line()`)."""
    first = True
    while True:
        try:
            batch = stream.readlines(1 << 22)
        except _READ_ERRORS as e:
            raise read_error(name, e, first_line()) from None
        if not batch:
            return
        if first:
            first = False
            if batch[0].startswith(b"\xef\xbb\xbf"):
                batch[0] = batch[0][3:]
        yield batch


# A line orjson cannot read is read again by a strict parser of the standard library,
# which says why in the project's words (never a parser's own wording), and which
# reads numbers beyond the range of a double: such a line is valid JSON.
_I64_MIN, _U64_MAX = -(1 << 63), (1 << 64) - 1
_JSON_SPACE = " \t\r\n"


class _NotJson(Exception):
    def __init__(self, literal: str) -> None:
        self.literal = literal


def _parse_constant(literal: str) -> Any:
    raise _NotJson(literal)  # NaN, Infinity, -Infinity: not JSON


def _parse_float(text: str) -> Any:
    v = float(text)
    return HugeNumber(text) if v in (_INF, -_INF) else v


def _parse_int(text: str) -> Any:
    # as orjson reads them: 64-bit integers exactly, larger ones as doubles
    if len(text) <= 21:
        n = int(text)
        if _I64_MIN <= n <= _U64_MAX:
            return n
    return _parse_float(text)


_INF = float("inf")
_DECODER = json.JSONDecoder(parse_float=_parse_float, parse_int=_parse_int, parse_constant=_parse_constant)


def read_line(line: bytes) -> tuple[Any, str | None]:
    """A line orjson rejected, read strictly: (value, None), or (None, why it is unreadable)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, f"invalid UTF-8 at byte {e.start + 1}"
    text = text.rstrip(_JSON_SPACE)
    start = len(text) - len(text.lstrip(_JSON_SPACE))
    try:
        value, end = _DECODER.raw_decode(text, start)
    except _NotJson as e:
        return None, f"{e.literal} is not JSON"
    except json.JSONDecodeError as e:
        return None, _why_at(text, e.pos)
    except RecursionError:
        return None, "the JSON is nested too deeply"
    if end < len(text):
        what = "object" if value.__class__ is dict else "JSON value"
        at = len(text) - len(text[end:].lstrip(_JSON_SPACE))
        return None, f"unexpected text after the {what} at column {at + 1}"
    lone = _lone_surrogate(value)
    if lone is not None:
        return None, f"a string holds a lone surrogate \\u{ord(lone):04x} (half of a pair)"
    return value, None


def _why_at(text: str, pos: int) -> str:
    """Why strict JSON stops at `pos` of `text`, from the text itself."""
    col = pos + 1
    if pos >= len(text):
        return "the JSON ends early"
    ch = text[pos]
    if ch == '"' and _unclosed_string(text, pos):
        return "the JSON ends early: a string is not closed"
    if ch == "\\":
        return f"an unknown escape `{_shown(text[pos:pos + 2])}` in a string at column {col}"
    if ch < " " and _in_string(text, pos):
        return f"a control character U+{ord(ch):04X} in a string at column {col}; write it as an escape"
    if ch == "'":
        return f"a single quote at column {col}: JSON strings and keys take double quotes"
    before = text[:pos].rstrip(_JSON_SPACE)
    if ch in "}]" and before.endswith(","):
        return f"a comma before `{ch}` at column {col}"
    return f"unexpected `{_shown(ch)}` at column {col}"


def _unclosed_string(text: str, pos: int) -> bool:
    i = pos + 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return False
        i += 1
    return True


def _in_string(text: str, pos: int) -> bool:
    inside = False
    i = 0
    while i < pos:
        c = text[i]
        if inside and c == "\\":
            i += 2
            continue
        if c == '"':
            inside = not inside
        i += 1
    return inside


def _shown(s: str) -> str:
    """Text from a data line, for a message: control and invisible characters as U+XXXX."""
    return "".join(c if c.isprintable() and c != "`" else f"U+{ord(c):04X}" for c in s)


def _lone_surrogate(v: Any) -> str | None:
    stack = [v]
    while stack:
        x = stack.pop()
        c = x.__class__
        if c is str:
            try:
                x.encode("utf-8")
            except UnicodeEncodeError as e:
                return x[e.start]
        elif c is list:
            stack.extend(x)
        elif c is dict:
            stack.extend(x)
            stack.extend(x.values())
    return None


def not_an_object(v: Any) -> str:
    """Why a JSON value that is no object is unreadable: `a JSON array, not an object`."""
    return f"a JSON {json_type(v).split(' ', 1)[1]}, not an object"
