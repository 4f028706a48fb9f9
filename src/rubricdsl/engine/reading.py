"""Reading data files: plain or gzip JSONL, JSON arrays, CSV and TSV, standard input,
every line accounted for.

`open_data` opens a file, `read_batches` yields blocks of its lines, `read_line` reads a
line orjson rejected (saying why in the project's own words, or reading numbers beyond
a double), and `DataError` is a file that cannot be read at all.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import re
import sys
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any, BinaryIO

import orjson

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
        raise DataError(f"{path}: is a directory, not a data file")
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
        return None, _lone_why(lone)
    return value, None


_LONE = "a string holds a lone surrogate"


def _lone_why(lone: str) -> str:
    return f"{_LONE} \\u{ord(lone):04x} (half of a pair)"


def _why_at(text: str, pos: int) -> str:
    """Why strict JSON stops at `pos` of `text`, from the text itself."""
    col = pos + 1
    if pos >= len(text):
        return "the JSON ends early"
    ch = text[pos]
    if ch == '"' and _unclosed_string(text, pos):
        return "the JSON ends early: a string is not closed"
    if ch == "\\":
        return f"an unknown escape `{shown_name(text[pos:pos + 2])}` in a string at column {col}"
    if ch < " " and _in_string(text, pos):
        return f"a control character U+{ord(ch):04X} in a string at column {col}; write it as an escape"
    if ch == "'":
        return f"a single quote at column {col}: JSON strings and keys take double quotes"
    before = text[:pos].rstrip(_JSON_SPACE)
    if ch in "}]" and before.endswith(","):
        return f"a comma before `{ch}` at column {col}"
    return f"unexpected `{shown_name(ch)}` at column {col}"


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


def shown_name(s: str) -> str:
    """A name or text from a data file, for a message: control and invisible characters
    (and the backquotes that frame it) as U+XXXX."""
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


# ---- JSON array files ---------------------------------------------------------------------------
#
# A data file whose first non-blank character (after a byte-order mark) is `[` is one JSON
# array of records, read as a stream: a window of text is decoded element by element with
# the standard library's C scanner (which says where each element ends), the consumed text
# is dropped, and the line of each element's first character is counted as it goes. The
# memory held is one window plus the element being read, whatever the file's size.

ARRAY_WINDOW = 1 << 22  # bytes read at a time
_SHORT_TAIL = 24  # an error this close to the end of the window may be a token cut in two
_BLANK_BYTES = b" \t\r\n"


def is_json_array(stream: BinaryIO) -> bool:
    """Whether an open data file is a JSON array: its first non-blank byte (after a
    byte-order mark) is `[`. Looks ahead without consuming (the stream must `peek`)."""
    peek = getattr(stream, "peek", None)
    if peek is None:
        return False
    want = 64
    while True:
        head = peek(want)
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
        body = head.lstrip(b" \t\r\n")
        if body:
            return body[:1] == b"["
        if len(head) < want - 3:  # the stream ends before any non-blank byte
            return False
        if want >= 1 << 20:  # a megabyte of blanks: not worth looking further
            return False
        want *= 4


def array_file(stream: BinaryIO, name: str) -> bool:
    """`is_json_array`, a read error (a corrupt .gz) being a DataError that names the file."""
    try:
        return is_json_array(stream)
    except _READ_ERRORS as e:
        raise read_error(name, e) from None


class ArrayReader:
    """The elements of a JSON array file, each as (line, value, why): `why` is None for
    a readable element; otherwise the element is unreadable (`value` None) and `why` says
    so in the project's words. A syntax error ends the file with one such triple at the
    line where it occurred. `line` is the line the reader has reached (for read errors).
    Numbers and strings are read as in JSONL files (numbers beyond a double are readable
    and invalid for any field; NaN is not JSON; a lone surrogate makes the element
    unreadable); a duplicate key keeps its last value. `first_line` is the line the
    stream's first byte is on (a part of a file is read from the line where it starts);
    `stopped` tells, once read, whether a syntax error ended the reading."""

    def __init__(self, stream: BinaryIO, name: str, window: int = ARRAY_WINDOW, first_line: int = 1) -> None:
        self.stream = stream
        self.stopped = False
        self.name = name
        self.window = window
        self._decoder = _codecs_utf8()
        self._buf = ""
        self._pos = 0  # where reading resumes in _buf
        self._eof = False
        self._ref = 0  # a position of _buf ...
        self._ref_line = first_line  # ... and its line

    @property
    def line(self) -> int:
        return self._ref_line

    # -- the text window
    def _more(self) -> bool:
        """Append the next window of text (dropping what was consumed); False at the end."""
        if self._eof:
            return False
        try:
            chunk = self.stream.read(self.window)
        except _READ_ERRORS as e:
            raise read_error(self.name, e, self._ref_line) from None
        final = not chunk
        text = self._text(chunk, final)
        keep = min(self._pos, self._ref)
        if keep > (len(self._buf) >> 1):
            self._buf = self._buf[keep:]
            self._pos -= keep
            self._ref -= keep
        self._buf += text
        if final:
            self._eof = True
        return bool(text) or not final

    def _text(self, chunk: bytes, final: bool) -> str:
        try:
            return self._decoder.decode(chunk, final)
        except UnicodeDecodeError as e:
            line = self._line_at(len(self._buf)) + chunk.count(b"\n", 0, max(e.start, 0))
            raise _ArrayEnd(line, "invalid UTF-8") from None

    def _line_at(self, pos: int) -> int:
        """The line of position `pos` of the window, counted on from the last one asked."""
        if pos >= self._ref:
            self._ref_line += self._buf.count("\n", self._ref, pos)
        else:
            self._ref_line -= self._buf.count("\n", pos, self._ref)
        self._ref = pos
        return self._ref_line

    def _skip_blank(self) -> str:
        """Skip whitespace; the next character, or "" at the end of the file."""
        while True:
            buf, pos = self._buf, self._pos
            n = len(buf)
            while pos < n and buf[pos] in _JSON_SPACE:
                pos += 1
            self._pos = pos
            if pos < n:
                return buf[pos]
            if not self._more():
                return ""

    def __iter__(self) -> Iterator[tuple[int, Any, str | None]]:
        try:
            handoff = yield from self._pretty()
            if handoff is None:
                return
            rest, line, after_element = handoff
            self._ref_line = line
            self._buf = self._text(rest, self._eof)
            yield from self._elements(after_element)
        except _ArrayEnd as end:
            self.stopped = True
            yield end.line, None, f"{end.why}; {ARRAY_STOPS}"

    # -- the fast path: a pretty-printed array, over bytes
    #
    # In a pretty-printed array (`json.dump(tasks, f, indent=2)`, what annotation tools
    # write), an element that opens with `{` at the start of its line closes with `}` at
    # the start of a line with the same indentation, and strings hold no raw line breaks:
    # the first such line after the opening is where the element may end, found with one
    # search, and the element is read by orjson, as a JSONL line is. If the element does
    # not read as one object there (another layout, or an error), reading goes on with
    # the general path from that element, which finds where the element really ends.

    def _read_raw(self) -> bytes:
        if self._eof:
            return b""
        try:
            chunk = self.stream.read(self.window)
        except _READ_ERRORS as e:
            raise read_error(self.name, e, self._ref_line) from None
        if not chunk:
            self._eof = True
        return chunk

    def _pretty(self) -> Generator[tuple[int, Any, str | None], None, tuple[bytes, int, bool] | None]:
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        raw = self._read_raw()
        while len(raw) < 3 and not self._eof:
            raw += self._read_raw()
        lpos, line = 0, self._ref_line  # a position of `raw` and its line
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]

        def blank_to(i: int) -> int:
            nonlocal raw
            while True:
                n = len(raw)
                while i < n and raw[i] in _BLANK_BYTES:
                    i += 1
                if i < n or self._eof:
                    return i
                more = self._read_raw()
                raw += more

        p = blank_to(0) + 1  # past the `[` (the caller checked it is there)
        p = blank_to(p)
        if raw[p:p + 1] == b"]":
            if blank_to(p + 1) < len(raw):
                return raw[p:], line + raw.count(b"\n", 0, p), True
            return None
        indent, width, close = b"", -1, b""
        while True:
            # p: the start of an element
            if raw[p:p + 1] != b"{":
                return raw[p:], line + raw.count(b"\n", lpos, p), False
            sol = raw.rfind(b"\n", 0, p) + 1
            if p - sol != width or raw[sol:p] != indent:  # not the indentation of the element before
                indent = raw[sol:p]
                if indent.strip(b" \t"):
                    return raw[p:], line + raw.count(b"\n", lpos, p), False
                width = len(indent)
                close = b"\n" + indent + b"}"
            e = raw.find(close, p)
            while e < 0 and not self._eof:
                # drop what was read, keep the line of this element's start known
                line += raw.count(b"\n", lpos, sol)
                raw, p, lpos, sol = raw[sol:], p - sol, 0, 0
                if len(raw) > 4 * self.window:
                    # no closing line in sight: another layout (one element per line,
                    # say), whose end this search would only find at the end of the
                    # file; the general path reads it in windows
                    return raw[p:], line, False
                searched = max(len(raw) - len(close), 0)
                raw += self._read_raw()
                e = raw.find(close, searched)
            if e < 0:
                return raw[p:], line + raw.count(b"\n", lpos, p), False
            end = e + len(close)
            line += raw.count(b"\n", lpos, p)
            lpos = p
            try:
                value = loads(memoryview(raw)[p:end])
            except decode_error:
                value, why = read_line(raw[p:end])
                if why is not None and not why.startswith(_LONE):
                    return raw[p:], line, False  # the general path says where and why
                if why is not None:
                    yield line, None, why
                    value = None
            if value is not None:
                if value.__class__ is dict:
                    yield line, value, None
                else:  # cannot be: it opens with `{`
                    return raw[p:], line, False
            q = blank_to(end)
            c = raw[q:q + 1]
            if c == b",":
                p = blank_to(q + 1)
                if raw[p:p + 1] == b"]":
                    return raw[q:], line + raw.count(b"\n", lpos, q), True
                if p >= len(raw):
                    return raw[q:], line + raw.count(b"\n", lpos, q), True
            elif c == b"]" and blank_to(q + 1) >= len(raw):
                return None
            else:
                return raw[end:], line + raw.count(b"\n", lpos, end), True
            if p > self.window:  # drop what was read, keeping the line where the next element starts
                cut = raw.rfind(b"\n", 0, p) + 1
                line += raw.count(b"\n", lpos, cut)
                raw, p, lpos = raw[cut:], p - cut, 0

    def _decode(self) -> tuple[Any, int]:
        """Decode the element at _pos, growing the window while it may be cut in two."""
        decode = _DECODER.raw_decode
        while True:
            buf, start = self._buf, self._pos
            try:
                value, end = decode(buf, start)
            except _NotJson as e:
                raise _ArrayEnd(self._line_at(start), f"{e.literal} is not JSON") from None
            except json.JSONDecodeError as e:
                if not self._eof and (len(buf) - e.pos < _SHORT_TAIL or e.msg.startswith("Unterminated string")):
                    self._more()
                    continue
                at = min(e.pos, len(buf))
                raise _ArrayEnd(self._line_at(at), _why_in_line(buf, at)) from None
            except RecursionError:
                raise _ArrayEnd(self._line_at(start), "the JSON is nested too deeply") from None
            if len(buf) - end < _SHORT_TAIL and not self._eof and value.__class__ not in (dict, list):
                self._more()  # a number near the window's end may go on in the next one
                continue
            return value, end

    def _elements(self, after_element: bool) -> Iterator[tuple[int, Any, str | None]]:
        """Elements from _pos: the start of an element, or just after one."""
        ch = self._skip_blank()
        while True:
            if after_element:
                after_element = False
                if ch == ",":
                    self._pos += 1
                    ch = self._skip_blank()
                    if ch == "]":
                        raise _ArrayEnd(self._line_at(self._pos), "a comma before `]`")
                    continue
                if ch == "]":
                    self._pos += 1
                    self._after_end()
                    return
                if ch != "":
                    raise _ArrayEnd(self._line_at(self._pos),
                                    f"expected `,` or `]` after an element of the JSON array, found `{shown_name(ch)}`")
            if ch == "":
                raise _ArrayEnd(self._line_at(self._pos), "the JSON array ends early: no closing `]`")
            value, end = self._decode()
            start = self._pos
            line = self._line_at(start)
            self._pos = end
            if value.__class__ is dict:
                lone = _lone_surrogate(value) if self._buf.find("\\u", start, end) != -1 else None
                if lone is not None:
                    yield line, None, _lone_why(lone)
                else:
                    yield line, value, None
            else:
                yield line, None, not_an_object(value)
            ch = self._skip_blank()
            after_element = True

    def _after_end(self) -> None:
        ch = self._skip_blank()
        if ch:
            raise _ArrayEnd(self._line_at(self._pos),
                            "text after the end of the JSON array (a file that starts with `[` is read as one JSON array)")


def _why_in_line(buf: str, pos: int) -> str:
    """Why strict JSON stops at `pos` of `buf`, columns counted in its line."""
    start = buf.rfind("\n", 0, pos) + 1
    end = buf.find("\n", pos)
    end = len(buf) if end == -1 else end + 1
    return _why_at(buf[start:end], pos - start)


# A syntax error ends an array file (where the next element starts is unknown): the
# finding says so, so that nobody takes the elements after it for checked.
ARRAY_STOPS = "the rest of the file is not read"


class _ArrayEnd(Exception):
    def __init__(self, line: int, why: str) -> None:
        self.line = line
        self.why = why


def _codecs_utf8() -> Any:
    return codecs.getincrementaldecoder("utf-8")("strict")


# ---- a pretty-printed array file in parts (`check -j`)
#
# Annotation tools write their JSON exports pretty-printed (`json.dump(tasks, f,
# indent=2)`): each element opens with `{` at the start of a line and closes with `}`
# at the start of a line with the same indentation, followed by the comma. Such a file
# splits into parts of whole elements where a line is that indentation and `},`; each
# part is read as an array of its own (`array_part`), from the line where it starts.
# The split is a guess made without parsing: a part whose reading stops on a syntax
# error (the guess was wrong, or the file is) is read again by `array_rest`, from its
# start, which is an element's start when every part before it read cleanly, to the
# end of the file, exactly as a reading of the whole file would go on from there.


def array_parts(path: str, step: int) -> list[tuple[int, int]] | None:
    """Byte ranges of about `step` bytes of a pretty-printed JSON array file, each
    ending just after an element's comma where the next line opens an element (the last
    one at the end of the file), or None
    when the file is not laid out so (its first element does not open a line)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(1 << 16)
        p = 3 if head.startswith(b"\xef\xbb\xbf") else 0
        n = len(head)
        while p < n and head[p] in _BLANK_BYTES:
            p += 1
        if head[p:p + 1] != b"[":
            return None
        p += 1
        while p < n and head[p] in _BLANK_BYTES:
            p += 1
        if head[p:p + 1] != b"{":
            return None
        sol = head.rfind(b"\n", 0, p) + 1
        indent = head[sol:p]
        if sol == 0 or indent.strip(b" \t"):
            return None
        close = b"\n" + indent + b"},"  # an element's end, if the next line opens one
        opens = (b"\n" + indent + b"{", b"\r\n" + indent + b"{")
        out: list[tuple[int, int]] = []
        start = 0
        while start < size:
            at = start + step
            end = size
            while at < size:
                f.seek(at)
                block = f.read(1 << 16)
                i = block.find(close)
                while i >= 0 and i + len(close) + len(opens[1]) <= len(block):
                    if block.startswith(opens, i + len(close)):
                        end = at + i + len(close)
                        break
                    i = block.find(close, i + 1)
                if end < size or len(block) < (1 << 16):
                    break
                at += len(block) - len(close) - len(opens[1])
            out.append((start, end))
            start = end
    return out


class _Prefixed:
    """A stream that reads `prefix`, then `stream`."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self.prefix = prefix
        self.stream = stream

    def read(self, n: int = -1) -> bytes:
        if self.prefix:
            out, self.prefix = self.prefix, b""
            return out
        return self.stream.read(n)


def array_part(data: bytes, name: str, first: bool, last: bool, first_line: int) -> ArrayReader:
    """The elements of one part of `array_parts` (its bytes, read whole): a part after
    the first is opened with `[`, and one before the last closed with `]` instead of its
    final comma. `first_line` is the line the part starts on."""
    if not first:
        data = b"[" + data
    if not last:
        data = data[:-1] + b"]"
    return ArrayReader(io.BytesIO(data), name, first_line=first_line)


def array_rest(stream: BinaryIO, name: str, first_line: int) -> ArrayReader:
    """The elements of an array file from an element's start (`stream` is positioned
    there, after a comma) to its end, read as the whole file's reading would go on."""
    return ArrayReader(_Prefixed(b"[", stream), name, first_line=first_line)  # type: ignore[arg-type]


# ---- CSV and TSV files ---------------------------------------------------------------------------
#
# A table file (chosen by its extension, `.csv`/`.tsv` with or without `.gz`, or by
# `--input-format`) is read with the standard `csv` module: the first row that is not
# blank names the columns, each later row is a record. A column named as a dotted path
# of identifiers (`labels.safety`) puts its cells at that nested path; any other name is
# a plain key. An empty cell is a missing value (the key is absent). A cell is text,
# converted by the declared type of the field the rubric reads at its path (`types`):
# int, number and scale from a JSON number, bool from true/false/1/0 in any case, set
# from a JSON array or a `|`-separated list; a cell that does not convert stays text (the
# checker then reports the field `invalid`). Each row is (line, record, why) as the
# elements of a JSON array file are, `line` being the physical line where the row starts.

INPUT_FORMATS = ("auto", "jsonl", "json", "csv", "tsv", "parquet")
_TABLE_EXTENSIONS = {".csv": "csv", ".tsv": "tsv"}


def table_format(path: str, input_format: str = "auto") -> str | None:
    """"csv" or "tsv" when the file is read as a table (by `input_format`, else by the
    file's extension: `.csv`, `.tsv`, with or without `.gz`), else None."""
    if input_format in ("csv", "tsv"):
        return input_format
    if input_format != "auto" or path == "-":
        return None
    low = path.lower()
    if low.endswith(".gz"):
        low = low[:-3]
    return _TABLE_EXTENSIONS.get(os.path.splitext(low)[1])


def column_types(fields: Iterable[Any]) -> dict[tuple[str, ...], str]:
    """The declared type (`FieldType.kind`) of the field read at each path of keys, from
    a compiled rubric's fields (`RubricIR.fields`); paths with indexes, selectors or `@`
    are left out (a table's cells are not inside judgments). The first field wins."""
    out: dict[tuple[str, ...], str] = {}
    for f in fields:
        path = f.path
        if path and all(s.__class__ is str for s in path):
            out.setdefault(tuple(path), f.type.kind)
    return out


_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # what `surrogateescape` makes of bytes that are not UTF-8


def convert_cell(kind: str | None, cell: str) -> Any:
    """A cell's text as the value of a field of type `kind` (None: no field reads it);
    text that does not convert is returned as it is."""
    if kind is None or kind in ("text", "enum"):
        return cell
    t = cell.strip(" ")
    if kind in ("int", "number", "scale"):
        m = _NUMBER.fullmatch(t)
        if m is None:
            return cell
        return _parse_int(t) if m.group(1) is None and m.group(2) is None else _parse_float(t)
    if kind == "bool":
        low = t.lower()
        return True if low in _TRUE else False if low in _FALSE else cell
    if kind == "set":
        if t.startswith("["):
            value, why = read_line(t.encode("utf-8", "surrogatepass"))
            return value if why is None and value.__class__ is list else cell
        return [s.strip(" ") for s in cell.split("|")]
    return cell


# A cell may be as long as a JSONL line may be: the csv module's default limit (131072
# characters) would make a long response unreadable. The limit is the module's, for the
# whole process.
_CELL_LIMIT = (1 << 31) - 1


def column_path(name: str) -> tuple[str, ...]:
    """The path in a record of a table's column: a dotted name of identifiers
    (`labels.safety`) is a nested path, any other name one key."""
    parts = name.split(".")
    if all(p.isidentifier() and p.isascii() for p in parts):
        return tuple(parts)
    return (name,)


def column_inside(columns: list[str], paths: list[tuple[str, ...]]) -> tuple[str, str] | None:
    """The first column whose path lies inside another column's (`labels.safety` inside
    `labels`), with the name of that other column; None when no column does."""
    known = set(paths)
    for col, path in zip(columns, paths):
        for i in range(1, len(path)):
            if path[:i] in known:
                return col, ".".join(path[:i])
    return None


def _cells(n: int) -> str:
    return f"{n} cell" if n == 1 else f"{n} cells"


class TableReader:
    """The rows of a CSV or TSV file, each as (line, record, why) like `ArrayReader`'s
    elements: `why` is None for a readable row, else it says why the row is unreadable
    (a row with more or fewer cells than the header, a cell that is not UTF-8, a
    quoted cell not closed at the end of the file, text after a closing quote). Blank
    lines are skipped. A header that names a column twice, or a column inside another,
    is a DataError naming the file. `rows()` gives the cells before they become a
    record, for readers that build records by more than one rubric (`record`)."""

    def __init__(self, stream: BinaryIO, name: str, kind: str = "csv",
                 types: dict[tuple[str, ...], str] | None = None) -> None:
        self.stream = stream
        self.name = name
        self.kind = kind
        self.delimiter = "\t" if kind == "tsv" else ","
        self.what = f"a {kind.upper()} row"  # for the message of an unreadable row
        self.types = types or {}
        self.columns: list[tuple[str, ...]] = []
        self.header: list[str] = []
        self._read = 0  # physical lines read
        self._eof = False
        if csv.field_size_limit() < _CELL_LIMIT:
            csv.field_size_limit(_CELL_LIMIT)

    def _lines(self) -> Iterator[str]:
        first = True
        while True:
            try:
                raw = self.stream.readline()
            except _READ_ERRORS as e:
                raise read_error(self.name, e, self._read) from None
            if not raw:
                self._eof = True
                return
            self._read += 1
            if first:
                first = False
                if raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
            yield raw.decode("utf-8", "surrogateescape")

    def rows(self) -> Iterator[tuple[int, list[str] | None, str | None]]:
        """(line, cells, None) for each row after the header, or (line, None, why)."""
        # strict: a quoted cell still open at the end of the file, or text after a closing
        # quote, is an error (an unreadable row), not a cell that swallows the lines after it
        reader = csv.reader(self._lines(), delimiter=self.delimiter, strict=True)
        header = True
        while True:
            line = self._read + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                if self._eof:
                    why = "a quoted cell is not closed before the end of the file"
                else:
                    why = f"the row is not valid {self.kind.upper()} ({e})"
                yield line, None, why
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if header:
                header = False
                self._header(row, line)
                continue
            if len(row) != len(self.header):
                yield line, None, (f"it has {_cells(len(row))} where the header (line {self._header_line}) names "
                                   f"{len(self.header)} column{'' if len(self.header) == 1 else 's'}")
                continue
            for col, cell in zip(self.header, row):
                if _NOT_UTF8.search(cell):
                    yield line, None, f"invalid UTF-8 in column `{shown_name(col)}`"
                    break
            else:
                yield line, row, None

    def _header(self, row: list[str], line: int) -> None:
        self._header_line = line
        where = f"{self.name}: line {line}: the header"
        seen: set[str] = set()
        for col in row:
            if _NOT_UTF8.search(col):
                raise DataError(f"{where} is not valid UTF-8")
            if col in seen:
                raise DataError(f"{where} names the column `{shown_name(col)}` twice")
            seen.add(col)
        columns = [column_path(c) for c in row]
        inside = column_inside(row, columns)
        if inside is not None:
            raise DataError(f"{where} has a column `{shown_name(inside[0])}` inside the column "
                            f"`{shown_name(inside[1])}`")
        self.header, self.columns = row, columns

    def record(self, cells: list[str], types: dict[tuple[str, ...], str] | None = None) -> dict:
        """A row's cells as a record, converted by `types` (by default the reader's own)."""
        types = self.types if types is None else types
        rec: dict = {}
        for path, cell in zip(self.columns, cells):
            if cell == "":
                continue  # an empty cell: the value is missing
            value = convert_cell(types.get(path), cell)
            at = rec
            for step in path[:-1]:
                at = at.setdefault(step, {})
            at[path[-1]] = value
        return rec

    def __iter__(self) -> Iterator[tuple[int, Any, str | None]]:
        for line, cells, why in self.rows():
            yield (line, None, why) if cells is None else (line, self.record(cells), None)


def element_reader(path: str, stream: BinaryIO, name: str, input_format: str = "auto",
                   types: dict[tuple[str, ...], str] | None = None) -> TableReader | ArrayReader | ParquetReader | None:
    """The reader of an open data file whose records come as (line, value, why): a
    Parquet file, a table (CSV, TSV) or a JSON array; None for a JSONL file (read in
    blocks of lines). `input_format` is one of INPUT_FORMATS; "auto" goes by the
    extension, then by the first non-blank character (`[`: a JSON array)."""
    if is_parquet(path, input_format):
        if path == "-":
            raise DataError(f"{name}: a Parquet file cannot be read from standard input; give its path")
        return ParquetReader(path, name)
    table = table_format(path, input_format)
    if table is not None:
        return TableReader(stream, name, table, types)
    if input_format == "jsonl":
        return None
    if array_file(stream, name):
        return ArrayReader(stream, name)
    if input_format == "json":
        raise DataError(f"{name}: not a JSON array (its first character that is not blank is not `[`)")
    return None


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:200] or type(e).__name__


# ---- Parquet files -------------------------------------------------------------------------------
#
# A `.parquet` file (or any file with `--input-format parquet`) is read with pyarrow, an
# optional dependency (`pip install 'rubricdsl[parquet]'`) imported only when such a file
# is read. The file is read one record batch at a time, never whole. Each row is a record:
# a struct column is an object, a list column an array, so paths read it as they read
# JSON; `line` is the row's number, counting from 1. A null is a missing value (the key
# is absent, as for an empty CSV cell; a null inside a list stays null). Values keep
# their Parquet types; a timestamp, date or time becomes its ISO 8601 text, a decimal
# its exact decimal text, a duration its text (`1:30:00`), binary its UTF-8 text (a row
# whose binary value is not UTF-8 is unreadable).

PARQUET_BATCH = 1 << 14  # rows per record batch
_PLAIN = frozenset({str, int, float, bool})


def is_parquet(path: str, input_format: str = "auto") -> bool:
    """Whether a data file is read as Parquet: by `input_format`, else by its extension."""
    if input_format == "parquet":
        return True
    return input_format == "auto" and path != "-" and path.lower().endswith(".parquet")


class _NotUtf8(Exception):
    pass


def _as_data(v: Any) -> Any:
    """A value pyarrow gives, as a JSON-like value (see above); nulls in objects dropped."""
    c = v.__class__
    if c in _PLAIN or v is None:
        return v
    if c is dict:
        return {k: _as_data(x) for k, x in v.items() if x is not None}
    if c is list:
        return [_as_data(x) for x in v]
    if c is bytes:
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            raise _NotUtf8 from None
    iso = getattr(v, "isoformat", None)
    if iso is not None:
        return iso()
    if isinstance(v, (tuple, list)):  # a map column: a list of (key, value) pairs
        return [_as_data(x) for x in v]
    return str(v)  # a decimal, a duration


def arrow_row(rec: dict) -> tuple[Any, str | None]:
    """A row as pyarrow gives it (`to_pylist`), as a record (see above): (record, None), or
    (None, why) for a row that is not one. Parquet files and Spark DataFrames go through it."""
    try:
        return {k: _as_data(x) for k, x in rec.items() if x is not None}, None
    except _NotUtf8:
        return None, "a binary value is not UTF-8 text"
    except RecursionError:
        return None, "the row is nested too deeply"


class ParquetReader:
    """The rows of a Parquet file, each as (line, record, why) like `TableReader`'s rows,
    `line` being the row's number from 1. A file pyarrow cannot read (not Parquet,
    truncated, corrupt), or pyarrow not installed, is a DataError naming the file."""

    what = "a Parquet row"

    def __init__(self, path: str, name: str, batch_rows: int = PARQUET_BATCH) -> None:
        self.path = path
        self.name = name
        self.batch_rows = batch_rows

    def __iter__(self) -> Iterator[tuple[int, Any, str | None]]:
        try:
            import pyarrow  # noqa: PLC0415  (optional: only for Parquet files)
            import pyarrow.parquet as pq  # noqa: PLC0415
        except ModuleNotFoundError:
            raise DataError(f"{self.name}: reading Parquet files needs pyarrow: "
                            "pip install 'rubricdsl[parquet]'") from None
        except ImportError as e:  # installed, but does not load (say, built for another NumPy)
            raise DataError(f"{self.name}: reading Parquet files needs pyarrow, which is installed but does not "
                            f"import ({_one_line(e)}): pip install --upgrade 'rubricdsl[parquet]'") from None
        errors = (pyarrow.ArrowException, OSError, ValueError)
        row = 0
        try:
            pf = pq.ParquetFile(self.path)
            for batch in pf.iter_batches(batch_size=self.batch_rows, use_threads=False):
                for rec in batch.to_pylist():
                    row += 1
                    value, why = arrow_row(rec)
                    yield row, value, why
        except errors as e:
            cause = " ".join(str(e).split()) or type(e).__name__
            where = "cannot read" if row == 0 else f"cannot read after row {row}"
            raise DataError(f"{self.name}: {where}: not a readable Parquet file ({cause})") from None
