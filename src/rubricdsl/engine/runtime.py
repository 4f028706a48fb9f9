"""Running a compiled rubric over records: reading JSONL, accounting for every line,
and turning compact finding tuples into report findings."""
from __future__ import annotations

import difflib
import gzip
import io
import json
import os
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Iterable, Iterator

import orjson

from rubricdsl.language import ir
from rubricdsl.engine.codegen import MISSING, Compiled

KINDS = ("violation", "uncovered", "ambiguous", "invalid", "unreadable", "escalation")
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


class DataError(Exception):
    """A data file that cannot be read at all (missing, a directory, not gzip...)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during `run`: `stats` holds what was checked before it."""

    def __init__(self, stats: "Stats") -> None:
        super().__init__()
        self.stats = stats


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


# ---- values in messages ----------------------------------------------------------------


class HugeNumber:
    """A JSON number too large for a double (`1e400`), as written. The line holding it
    is valid JSON and is read; the number is an invalid value for every field type, so
    a field that reads it gets an `invalid` finding ("not a finite number")."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return other.__class__ is HugeNumber and other.text == self.text  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((HugeNumber, self.text))


def _json_text(v: Any) -> str:
    """JSON text of a value that orjson cannot write (a huge number, an int over 64 bits)."""
    if v.__class__ is HugeNumber:
        return v.text
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, list):
        return "[" + ",".join(_json_text(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(_json_text(str(k)) + ":" + _json_text(x) for k, x in v.items()) + "}"
    try:
        return orjson.dumps(v).decode()
    except TypeError:
        return repr(v)


def show(v: Any, limit: int = 60) -> str:
    """A JSON rendering of a value for messages, shortened."""
    if v is MISSING:
        return "missing"
    try:
        s = orjson.dumps(v).decode()
    except TypeError:
        s = _json_text(v)
    if len(s) > limit:
        s = s[: limit - 3] + "..."
    return s


def report_value(v: Any) -> Any:
    """A record's value as the report holds it: JSON data. A huge number becomes its
    text (a double cannot hold it), wherever it stands in the value."""
    c = v.__class__
    if c is HugeNumber:
        return v.text
    if (c is list or c is dict) and _holds_huge(v):
        return _plain(v)
    return v


def _holds_huge(v: Any) -> bool:
    stack = [v]
    while stack:
        x = stack.pop()
        c = x.__class__
        if c is HugeNumber:
            return True
        if c is list:
            stack.extend(x)
        elif c is dict:
            stack.extend(x.values())
    return False


def _plain(v: Any) -> Any:
    c = v.__class__
    if c is HugeNumber:
        return v.text
    if c is list:
        return [_plain(x) for x in v]
    if c is dict:
        return {k: _plain(x) for k, x in v.items()}
    return v


def _json_type(v: Any) -> str:
    if v is None:
        return "a null"
    if v.__class__ is HugeNumber:
        return "a number"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _num(v: Any) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def invalid_reason(f: ir.FieldIR, raw: Any) -> str:
    t = f.type
    where = f"`{f.name}`" if f.path_text == f.name else f"`{f.name}` (at {f.path_text})"
    if raw is MISSING:
        if f.required_when is not None:
            return f"{where} is missing, and it is required here"
        return f"{where} is missing"
    k = t.kind
    if raw.__class__ is HugeNumber and k in ("int", "scale", "number"):
        what = "a number" if k == "number" else "an integer"
        rng = f" in {_num(t.lo)}..{_num(t.hi)}" if t.lo is not None else ""
        return f"{where} must be {what}{rng}, got {raw.text}, not a finite number"
    if k == "bool":
        return f"{where} must be true or false, got {_json_type(raw)} {show(raw)}"
    if k in ("int", "scale"):
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and (isinstance(raw, int) or raw.is_integer()):
            return f"{where} must be an integer in {_num(t.lo)}..{_num(t.hi)}, got {show(raw)}"
        return f"{where} must be an integer{f' in {_num(t.lo)}..{_num(t.hi)}' if t.lo is not None else ''}, got {_json_type(raw)} {show(raw)}"
    if k == "number":
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return f"{where} must be a number in {_num(t.lo)}..{_num(t.hi)}, got {show(raw)}"
        return f"{where} must be a number, got {_json_type(raw)} {show(raw)}"
    if k == "text":
        return f"{where} must be a string, got {_json_type(raw)} {show(raw)}"
    assert t.enum is not None
    values = ", ".join(t.enum.values)
    if k == "enum":
        if isinstance(raw, str):
            return f"{where} is {show(raw)}, not one of: {values}{_did_you_mean(raw, t.enum.values)}"
        return f"{where} must be one of: {values}; got {_json_type(raw)} {show(raw)}"
    # set
    if not isinstance(raw, list):
        return f"{where} must be an array of distinct values from: {values}; got {_json_type(raw)} {show(raw)}"
    seen: list[Any] = []
    for x in raw:
        if not isinstance(x, str) or x not in t.enum.values:
            hint = _did_you_mean(x, t.enum.values) if isinstance(x, str) else ""
            return f"{where} holds {show(x)}, not one of: {values}{hint}"
        if x in seen:
            return f"{where} lists {show(x)} twice"
        seen.append(x)
    return f"{where} is not a valid set: {show(raw)}"


def _did_you_mean(raw: str, values: tuple[str, ...]) -> str:
    """`; did you mean V?` for a data value that is an enum value in another case
    (`Profanity`), with other spacing or punctuation (`self harm`), or a near miss
    (`profanty`); empty when nothing is close."""
    key = _fold(raw)
    folded = [v for v in values if _fold(v) == key] if key else []
    if len(folded) == 1:
        return f"; did you mean {folded[0]}?"
    if len(raw) > 200:
        return ""
    close = difflib.get_close_matches(raw.lower(), [v.lower() for v in values], n=1, cutoff=0.75)
    if close:
        return f"; did you mean {next(v for v in values if v.lower() == close[0])}?"
    return ""


def _fold(s: str) -> str:
    return "".join(ch for ch in s.casefold() if ch.isalnum())


# ---- record ids -------------------------------------------------------------------------


def follow(rec: Any, path: tuple[str | int, ...]) -> Any:
    cur = rec
    for step in path:
        if isinstance(step, int):
            if type(cur) is list and len(cur) > step:
                cur = cur[step]
            else:
                return None
        elif type(cur) is dict:
            cur = cur.get(step)
        else:
            return None
    return cur


def getter(path: tuple[str | int, ...]) -> Callable[[Any], Any]:
    """A function that follows `path` (the same result as `follow`, faster)."""
    if all(isinstance(p, str) for p in path):
        if len(path) == 1:
            (k,) = path
            return lambda rec: rec.get(k) if rec.__class__ is dict else None
        if len(path) == 2:
            k1, k2 = path

            def get2(rec: Any) -> Any:
                x = rec.get(k1) if rec.__class__ is dict else None
                return x.get(k2) if x.__class__ is dict else None

            return get2
    return lambda rec: follow(rec, path)


def id_text(v: Any) -> str | None:
    """An id or item value compared as a string: 1 and "1" are the same."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    try:
        return orjson.dumps(v).decode()
    except TypeError:  # beyond JSON's reach: an int over 64 bits, given through the Python API
        return str(v)


# ---- turning tuples into findings ---------------------------------------------------------


class Expander:
    """Builds report findings (plain dicts, the JSON report's shape) from finding tuples."""

    def __init__(self, rubric: ir.RubricIR) -> None:
        self.r = rubric
        self.fields = rubric.fields
        self.decides = rubric.decides
        self.rules = rubric.rules
        self.escalations = rubric.escalations
        self.id_path = rubric.record_id
        by_name = {f.name: f for f in rubric.fields}
        self._reads = {
            ("r", r.index): [(f.name, getter(f.path)) for f in rubric.fields if f.name in r.mentions]
            for r in rubric.rules
        }
        self._reads.update({
            ("e", e.index): [(f.name, getter(f.path)) for f in rubric.fields if f.name in e.mentions]
            for e in rubric.escalations
        })
        self._id = getter(rubric.record_id) if rubric.record_id is not None else None
        self._label_get = [getter(d.label.path) for d in rubric.decides]
        del by_name
        self._messages: dict[tuple, str] = {}

    def record_id(self, rec: dict, line: int) -> str:
        if self._id is not None:
            v = self._id(rec)
            if v.__class__ is str:
                return v
            v = id_text(v)
            if v is not None:
                return v
        return str(line)

    def expand(self, tuples: list, rec: dict, file: str, line: int) -> list[dict]:
        rid = self.record_id(rec, line)
        out = []
        for t in tuples:
            code = t[0]
            if code == 0:
                f = self.fields[t[1]]
                out.append(_finding("invalid", line, rid, file, f.criterion, None, f.name, None, None, "error",
                                    invalid_reason(f, t[2]), value=None if t[2] is MISSING else report_value(t[2])))
            elif code in (1, 2, 3):
                d = self.decides[t[1]]
                label = d.label.name
                value = self._label_get[t[1]](rec)
                if code == 3 and value.__class__ in (str, int, bool):
                    cached = self._messages.get((t, value))
                    if cached is not None:
                        out.append(_finding("violation", line, rid, file, d.criterion, label, label, list(cached[1]),
                                            None, "error", cached[0], value=value))
                        continue
                arms = [d.arms[n - 1] for n in t[2]] if len(t) > 2 else []
                names = [a.name for a in arms]
                if code == 1:
                    msg = self._messages.get((1, t[1])) or self._messages.setdefault(
                        (1, t[1]), f"no arm of `decide {label}` covers this record; the guideline is silent here")
                    out.append(_finding("uncovered", line, rid, file, d.criterion, label, label, [], None, "warning", msg,
                                        value=value))
                elif code == 2:
                    msg = self._messages.get(t[:3])
                    if msg is None:
                        parts = "; ".join(f"{a.name} allows {', '.join(_val(x) for x in a.values)}" for a in arms)
                        msg = self._messages[t[:3]] = f"the guideline gives more than one answer for `{label}`: {parts}"
                    out.append(_finding("ambiguous", line, rid, file, d.criterion, label, label, names, None, "warning",
                                        msg, value=value))
                else:
                    allowed: list[Any] = []
                    for a in arms:
                        allowed += [x for x in a.values if x not in allowed]
                    which = " and ".join(a.name for a in arms)
                    verb = "allows" if len(arms) == 1 else "allow"
                    msg = (f"`{label}` is {show(value)}, but {which} of `decide {label}` {verb} "
                           f"{'only ' if len(allowed) == 1 else ''}{', '.join(_val(x) for x in allowed)}")
                    if value.__class__ in (str, int, bool) and len(self._messages) < 10_000:
                        self._messages[(t, value)] = (msg, tuple(names))
                    out.append(_finding("violation", line, rid, file, d.criterion, label, label, names, None, "error",
                                        msg, value=value))
            elif code == 4:
                r = self.rules[t[1]]
                out.append({"kind": "violation", "line": line, "record": rid, "file": file, "criterion": r.criterion,
                            "rule": r.name, "label": None, "arms": None, "target": None, "severity": r.severity,
                            "message": r.message, "fields": self._values(rec, ("r", r.index))})
            else:
                e = self.escalations[t[1]]
                out.append({"kind": "escalation", "line": line, "record": rid, "file": file, "criterion": e.criterion,
                            "rule": e.name, "label": None, "arms": None, "target": e.target, "severity": "info",
                            "message": e.reason, "fields": self._values(rec, ("e", e.index))})
        return out

    def _values(self, rec: dict, key: tuple) -> dict[str, Any]:
        out = {}
        for name, get in self._reads[key]:
            v = get(rec)
            if v.__class__ is str and len(v) > 200:
                v = v[:197] + "..."
            out[name] = v
        return out


def _val(x: Any) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    return str(x)


def _finding(kind, line, record, file, criterion, rule, label, arms, target, severity, message, **extra) -> dict:
    d = {"kind": kind, "line": line, "record": record, "file": file, "criterion": criterion, "rule": rule,
         "label": label, "arms": arms, "target": target, "severity": severity, "message": message}
    d.update(extra)
    return d


def unreadable_finding(file: str, line: int, why: str) -> dict:
    return _finding("unreadable", line, str(line), file, None, None, None, None, None, "error",
                    f"line {line} is not a JSON object: {why}")


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
    return f"a JSON {_json_type(v).split(' ', 1)[1]}, not an object"


@dataclass
class Stats:
    records: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KINDS})
    by_severity: dict[str, int] = field(default_factory=lambda: {"error": 0, "warning": 0, "info": 0})
    with_findings: int = 0
    files: list[str] = field(default_factory=list)
    items: int | None = None  # items judged, when the rubric has item checks
    # with arm counts: per decide, records counted per arm bitmask (0 = uncovered)
    masks: list[dict[int, int]] | None = None

    @property
    def arm_counts(self) -> list[dict[int, int]] | None:
        """Per decide (by index): arm number -> records in which that arm counted; 0 -> uncovered records."""
        if self.masks is None:
            return None
        out = []
        for per in self.masks:
            counts: dict[int, int] = {}
            for m, n in per.items():
                if m == 0:
                    counts[0] = counts.get(0, 0) + n
                    continue
                arm = 0
                while m:
                    if m & 1 and arm:
                        counts[arm] = counts.get(arm, 0) + n
                    m >>= 1
                    arm += 1
            out.append(counts)
        return out

    @property
    def decided(self) -> list[int] | None:
        """Per decide (by index): records in which it ran."""
        return None if self.masks is None else [sum(per.values()) for per in self.masks]


def summary_dict(records: int, counts: dict[str, int], by_severity: dict[str, int] | None = None,
                 items: int | None = None) -> dict:
    """The report's `summary`: records, unreadable, one count per finding kind, and per severity
    (and `items` when the rubric has item checks)."""
    s: dict[str, Any] = {"records": records}
    if items is not None:
        s["items"] = items
    for k in ("unreadable", "violation", "uncovered", "ambiguous", "invalid", "escalation"):
        s[k] = counts.get(k, 0)
    sev = by_severity or {}
    s["errors"] = sev.get("error", 0)
    s["warnings"] = sev.get("warning", 0)
    s["infos"] = sev.get("info", 0)
    return s


class _LineChecker:
    """Checks lines of one file; shared by the sequential and the parallel paths.

    `emit` receives each finding, passed through `encode` when one is given (the
    parallel path encodes in the worker processes, so the output is the same)."""

    def __init__(self, compiled: Compiled, stats: Stats, emit: Callable[[Any], None],
                 encode: Callable[[dict], Any] | None = None,
                 on_row: Callable[[dict, Any, tuple, str, int], None] | None = None, count: bool = False) -> None:
        self.check = compiled.check if not count else compiled.check_count
        self.check_row = compiled.check_row
        self.on_row = on_row
        self.expander = Expander(compiled.rubric)
        self.stats = stats
        self.emit = emit if encode is None else (lambda f, _e=emit, _c=encode: _e(_c(f)))

    def _unreadable(self, name: str, lineno: int, why: str) -> None:
        stats = self.stats
        stats.with_findings += 1
        stats.counts["unreadable"] += 1
        stats.by_severity["error"] += 1
        self.emit(unreadable_finding(name, lineno, why))

    def lines(self, batch: list[bytes], name: str, lineno: int) -> tuple[int, int]:
        """Check a batch whose first line is `lineno + 1`; returns (last line number, blank lines)."""
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        check = self.check
        stats = self.stats
        counts = stats.counts
        sev = stats.by_severity
        emit = self.emit
        expand = self.expander.expand
        on_row = self.on_row
        check_row = self.check_row
        blank = 0
        for line in batch:
            lineno += 1
            try:
                rec = loads(line)
            except decode_error:
                if not line.strip():
                    blank += 1
                    continue
                rec, why = read_line(line)  # the slow path: say why, or read numbers beyond a double
                if why is not None:
                    self._unreadable(name, lineno, why)
                    continue
            if rec.__class__ is dict:
                if on_row is None:
                    res = check(rec)
                else:
                    res, row = check_row(rec)
                    on_row(rec, res, row, name, lineno)
                if res:
                    stats.with_findings += 1
                    for f in expand(res, rec, name, lineno):
                        counts[f["kind"]] += 1
                        sev[f["severity"]] += 1
                        emit(f)
                continue
            self._unreadable(name, lineno, not_an_object(rec))
        return lineno, blank


PARALLEL_MIN_BYTES = 16 << 20
CHUNK_BYTES = 4 << 20


def _row_handler(compiled: Compiled, stats: Stats, item_rows: Callable[[str, tuple], None] | None,
                 arm_counts: bool) -> Callable[[dict, Any, tuple, str, int], None] | None:
    """What to do with each record's row: hand (item, row) to `item_rows`, count decide arms."""
    if item_rows is None and not arm_counts:
        return None
    assert compiled.check_row is not None and compiled.plan is not None
    feed = None
    if item_rows is not None:
        from rubricdsl.engine.items import RowMaker  # noqa: PLC0415

        feed = RowMaker(compiled.rubric).feeder(item_rows)
        if not arm_counts:
            return feed
    cols: list[tuple[int, dict[int, int]]] = []
    base = len(compiled.plan.fields)
    stats.masks = [{} for _ in compiled.rubric.decides]
    for i, d in enumerate(compiled.plan.decides):
        cols.append((base + i, stats.masks[d.index]))

    def on_row(rec: dict, res: Any, row: tuple, file: str, line: int) -> None:
        for col, per in cols:
            m = row[col]
            if m is not None:
                per[m] = per.get(m, 0) + 1
        if feed is not None:
            feed(rec, res, row, file, line)

    return on_row


def run(compiled: Compiled, paths: Iterable[str], emit: Callable[[Any], None],
        progress: Callable[[int, int | None, str], None] | None = None, jobs: int = 1,
        encode: Callable[[dict], Any] | None = None, arm_counts: bool = False, items: Any = None) -> Stats:
    """Check every record of every file.

    `emit` receives each finding (as a dict, or as `encode(dict)`), in file and line
    order, then the item findings in the order of each item's first record. Every
    non-blank line is counted in `records`; unreadable lines are findings, never
    skipped. With jobs > 1, large plain files are split between processes; the
    findings and their order are the same as with one.

    `arm_counts` (the rubric compiled with `all_decides=True`) fills `Stats.masks`.
    `items` replaces the default judging of items (an `items.ItemChecker`)."""
    stats = Stats()
    rubric = compiled.rubric
    if items is None and rubric.has_items:
        from rubricdsl.engine.items import ItemChecker  # noqa: PLC0415

        assert compiled.plan is not None
        items = ItemChecker(rubric, compiled.plan)
    if arm_counts and (compiled.plan is None or len(compiled.plan.decides) != len(rubric.decides)):
        raise ValueError("arm counts need the rubric compiled with all_decides=True")
    # arm counts without items: the checker counts them itself (no row per record)
    count = arm_counts and items is None and compiled.check_count is not None
    on_row = _row_handler(compiled, stats, items.add if items is not None else None, arm_counts and not count)
    if count:
        _reset(compiled.counters)
        stats.masks = compiled.counters
    lc = _LineChecker(compiled, stats, emit, encode, on_row, count)
    import gc  # noqa: PLC0415

    gc_was_on = gc.isenabled()
    gc.disable()  # records are trees (no cycles): reference counting frees them; saves GC passes
    try:
        _run_files(paths, jobs, compiled, stats, lc, emit, encode, progress, items, arm_counts)
        if count:
            stats.masks = [dict(c) for c in stats.masks or ()]  # this run's, whatever runs next
        if items is not None:
            out = emit if encode is None else (lambda f, _e=emit, _c=encode: _e(_c(f)))
            counts, sev = stats.counts, stats.by_severity

            def emit_item(f: dict) -> None:
                counts[f["kind"]] += 1
                sev[f["severity"]] += 1
                out(f)

            items.finish(emit_item)
            stats.items = items.items
    except KeyboardInterrupt:
        raise Interrupted(stats) from None
    finally:
        if items is not None:
            items.close()  # its temporary file goes on every way out
        if gc_was_on:
            gc.enable()
    return stats


def _reset(counters: list[dict[int, int]] | None) -> None:
    for c in counters or ():
        c.clear()


def _run_files(paths, jobs, compiled, stats, lc, emit, encode, progress, items, arm_counts) -> None:
    for path in paths:
        if jobs > 1 and path != "-" and _splittable(path):
            _run_parallel(compiled, path, stats, emit, encode, progress, jobs, items, arm_counts)
            continue
        stream, name, tell, size = open_data(path)
        stats.files.append(name)
        lineno = 0
        blank = 0
        try:
            for batch in read_batches(stream, name, lambda: lineno):
                lineno, b = lc.lines(batch, name, lineno)
                blank += b
                if progress is not None:
                    progress(tell() if tell else 0, size, name)
        finally:
            stats.records += lineno - blank  # an interrupted run reports what it read
            if path != "-":
                stream.close()


def _splittable(path: str) -> bool:
    try:
        if not os.path.isfile(path) or os.path.getsize(path) < PARALLEL_MIN_BYTES:
            return False
        with open(path, "rb") as f:
            return f.read(2) != b"\x1f\x8b" and not path.endswith(".gz")
    except OSError:
        return False


_WORKER: tuple[Compiled, Callable[[dict], Any] | None, bool, bool, Any] | None = None


def _boundaries(path: str, step: int) -> list[tuple[int, int]]:
    """Byte ranges of about `step` bytes that end at line boundaries."""
    size = os.path.getsize(path)
    out = []
    with open(path, "rb") as f:
        start = 0
        while start < size:
            end = start + step
            if end >= size:
                end = size
            else:
                f.seek(end)
                while True:
                    block = f.read(1 << 16)
                    if not block:
                        end = size
                        break
                    nl = block.find(b"\n")
                    if nl >= 0:
                        end += nl + 1
                        break
                    end += len(block)
            out.append((start, end))
            start = end
    return out


def _work(args: tuple[str, int, int, int]) -> tuple[list, Stats, int, int, list]:
    path, start, end, k = args
    assert _WORKER is not None
    compiled, encode, want_rows, arm_counts, offsets = _WORKER
    stats = Stats()
    found: list = []
    rows: list = []
    count = arm_counts and not want_rows and compiled.check_count is not None
    on_row = _row_handler(compiled, stats, (lambda k, r, _a=rows.append: _a((k, r))) if want_rows else None,
                          arm_counts and not count)
    if count:
        _reset(compiled.counters)  # this process's counters: this chunk's counts only
    lc = _LineChecker(compiled, stats, found.append, encode, on_row, count)
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    batch = data.split(b"\n")
    del data
    if batch and batch[-1] == b"":
        batch.pop()
    if start == 0 and batch and batch[0].startswith(b"\xef\xbb\xbf"):
        batch[0] = batch[0][3:]
    # This chunk's first line number is the previous chunk's plus its line count, which
    # that chunk's worker publishes as soon as it has split its lines (chunks are handed
    # out in order, so it is already being read): no process reads the file twice.
    first_line = offsets[k]
    while first_line < 0:
        time.sleep(0.0002)
        first_line = offsets[k]
    offsets[k + 1] = first_line + len(batch)
    last, blank = lc.lines(batch, path, first_line)
    if count:
        stats.masks = [dict(c) for c in compiled.counters]  # type: ignore[union-attr]
    return found, stats, last - first_line, blank, rows


def _ignore_sigint() -> None:
    import signal  # noqa: PLC0415

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pool(ctx: Any, jobs: int) -> Any:
    """A pool of workers that ignore Ctrl-C: the main process alone stops the run (and
    ends them), so an interrupt prints no worker's traceback. SIGINT is ignored while the
    workers are forked too, so none can catch it before its initializer runs."""
    import signal  # noqa: PLC0415

    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals are not ours to set
        return ctx.Pool(jobs, initializer=_ignore_sigint)
    try:
        return ctx.Pool(jobs, initializer=_ignore_sigint)
    finally:
        signal.signal(signal.SIGINT, previous)


def _run_parallel(compiled: Compiled, path: str, stats: Stats, emit: Callable[[Any], None],
                  encode: Callable[[dict], Any] | None, progress, jobs: int, items: Any = None,
                  arm_counts: bool = False) -> None:
    import multiprocessing  # noqa: PLC0415

    global _WORKER
    stats.files.append(path)
    ranges = _boundaries(path, CHUNK_BYTES)
    size = os.path.getsize(path)
    ctx = multiprocessing.get_context("fork")
    # first line number of each chunk, -1 until known; shared with the workers
    offsets = ctx.Array("q", [0] + [-1] * len(ranges), lock=False)
    _WORKER = (compiled, encode, items is not None, arm_counts, offsets)
    # At most a few chunks in flight: when the main process is the slower side (grouping
    # items, writing), finished chunks do not pile up in its memory.
    slots = threading.Semaphore(2 * jobs + 2)
    stop = threading.Event()

    def tasks() -> Iterator[tuple[str, int, int, int]]:
        for k, (s, e) in enumerate(ranges):
            while not slots.acquire(timeout=0.1):
                if stop.is_set():
                    return
            yield (path, s, e, k)

    try:
        with _pool(ctx, jobs) as pool:
            try:
                for (found, st, n, blank, rows), (s, e) in zip(pool.imap(_work, tasks()), ranges):
                    slots.release()
                    for f in found:
                        emit(f)
                    if items is not None:
                        items.add_rows(rows)
                    if st.masks is not None and stats.masks is not None:
                        for mine, theirs in zip(stats.masks, st.masks):
                            for m, k in theirs.items():
                                mine[m] = mine.get(m, 0) + k
                    for k, v in st.counts.items():
                        stats.counts[k] += v
                    for k, v in st.by_severity.items():
                        stats.by_severity[k] += v
                    stats.with_findings += st.with_findings
                    stats.records += n - blank
                    if progress is not None:
                        progress(e, size, path)
            finally:
                stop.set()  # the task feeder stops before the pool is torn down
    finally:
        _WORKER = None


def check_record(compiled: Compiled, rec: Any, file: str = "<record>", line: int = 1) -> list[dict]:
    """Findings for one record (a dict; anything else is unreadable)."""
    if not isinstance(rec, dict):
        return [unreadable_finding(file, line, not_an_object(rec))]
    return Expander(compiled.rubric).expand(compiled.check(rec) or [], rec, file, line)
