"""Running a compiled rubric over records: reading JSONL, accounting for every line,
and turning compact finding tuples into report findings."""
from __future__ import annotations

import gzip
import io
import os
import sys
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Iterable, Iterator

import orjson

from . import ir
from .compile import MISSING, Compiled

KINDS = ("violation", "uncovered", "ambiguous", "invalid", "unreadable", "escalation")
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


class DataError(Exception):
    """A data file that cannot be read at all (missing, a directory, not gzip...)."""


# ---- values in messages ----------------------------------------------------------------


def show(v: Any, limit: int = 60) -> str:
    """A JSON rendering of a value for messages, shortened."""
    if v is MISSING:
        return "missing"
    try:
        s = orjson.dumps(v).decode()
    except TypeError:
        s = repr(v)
    if len(s) > limit:
        s = s[: limit - 3] + "..."
    return s


def _json_type(v: Any) -> str:
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
            return f"{where} is {show(raw)}, not one of: {values}"
        return f"{where} must be one of: {values}; got {_json_type(raw)} {show(raw)}"
    # set
    if not isinstance(raw, list):
        return f"{where} must be an array of distinct values from: {values}; got {_json_type(raw)} {show(raw)}"
    seen: list[Any] = []
    for x in raw:
        if not isinstance(x, str) or x not in t.enum.values:
            return f"{where} holds {show(x)}, not one of: {values}"
        if x in seen:
            return f"{where} lists {show(x)} twice"
        seen.append(x)
    return f"{where} is not a valid set: {show(raw)}"


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


def id_text(v: Any) -> str | None:
    """An id or item value compared as a string: 1 and "1" are the same."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return orjson.dumps(v).decode()


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

    def record_id(self, rec: dict, line: int) -> str:
        if self.id_path is not None:
            v = id_text(follow(rec, self.id_path))
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
                                    invalid_reason(f, t[2]), value=None if t[2] is MISSING else t[2]))
            elif code in (1, 2, 3):
                d = self.decides[t[1]]
                label = d.label.name
                value = follow(rec, d.label.path)
                arms = [d.arms[n - 1] for n in t[2]] if len(t) > 2 else []
                names = [a.name for a in arms]
                if code == 1:
                    msg = f"no arm of `decide {label}` covers this record; the guideline is silent here"
                    out.append(_finding("uncovered", line, rid, file, d.criterion, label, label, [], None, "warning", msg,
                                        value=value))
                elif code == 2:
                    parts = "; ".join(f"{a.name} allows {', '.join(_val(x) for x in a.values)}" for a in arms)
                    msg = f"the guideline gives more than one answer for `{label}`: {parts}"
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
                    out.append(_finding("violation", line, rid, file, d.criterion, label, label, names, None, "error",
                                        msg, value=value))
            elif code == 4:
                r = self.rules[t[1]]
                out.append(_finding("violation", line, rid, file, r.criterion, r.name, None, None, None, r.severity,
                                    r.message, fields=self._values(rec, r.mentions)))
            else:
                e = self.escalations[t[1]]
                out.append(_finding("escalation", line, rid, file, e.criterion, e.name, None, None, e.target, "info",
                                    e.reason, fields=self._values(rec, e.mentions)))
        return out

    def _values(self, rec: dict, names: frozenset[str]) -> dict[str, Any]:
        out = {}
        for f in self.fields:
            if f.name in names:
                v = follow(rec, f.path)
                if isinstance(v, str) and len(v) > 200:
                    v = v[:197] + "..."
                out[f.name] = v
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
        return sys.stdin.buffer, "<stdin>", None, None
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, not a JSONL file")
    try:
        raw = open(path, "rb")
    except OSError as e:
        raise DataError(f"{path}: cannot open: {e.strerror}") from None
    size = os.fstat(raw.fileno()).st_size
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if path.endswith(".gz") or head == b"\x1f\x8b":
        stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        return io.BufferedReader(stream, 1 << 20), path, raw.tell, size  # type: ignore[arg-type]
    return raw, path, raw.tell, size


def _why_unreadable(line: bytes, err: Exception) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid UTF-8"
    msg = str(err)
    try:
        val = orjson.loads(line)
    except orjson.JSONDecodeError:
        return msg.split(": line")[0] if ": line" in msg else msg
    return f"a JSON {_json_type(val).split(' ', 1)[1]}, not an object"


@dataclass
class Stats:
    records: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KINDS})
    by_severity: dict[str, int] = field(default_factory=lambda: {"error": 0, "warning": 0, "info": 0})
    with_findings: int = 0
    files: list[str] = field(default_factory=list)


def summary_dict(records: int, counts: dict[str, int], by_severity: dict[str, int] | None = None) -> dict:
    """The report's `summary`: records, unreadable, one count per finding kind, and per severity."""
    s: dict[str, Any] = {"records": records}
    for k in ("unreadable", "violation", "uncovered", "ambiguous", "invalid", "escalation"):
        s[k] = counts.get(k, 0)
    sev = by_severity or {}
    s["errors"] = sev.get("error", 0)
    s["warnings"] = sev.get("warning", 0)
    s["infos"] = sev.get("info", 0)
    return s


def run(compiled: Compiled, paths: Iterable[str], emit: Callable[[dict], None],
        progress: Callable[[int, int | None, str], None] | None = None) -> Stats:
    """Check every record of every file. `emit` receives each finding. Every non-blank
    line is counted in `records`; unreadable lines are findings, never skipped."""
    stats = Stats()
    check = compiled.check
    expander = Expander(compiled.rubric)
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    counts = stats.counts
    sev = stats.by_severity
    for path in paths:
        stream, name, tell, size = open_data(path)
        stats.files.append(name)
        lineno = 0
        blank = 0
        try:
            first = True
            while True:
                try:
                    batch = stream.readlines(1 << 22)
                except (OSError, EOFError, gzip.BadGzipFile) as e:
                    raise DataError(f"{name}: cannot read after line {lineno}: {e}") from None
                if not batch:
                    break
                if first:
                    first = False
                    if batch[0].startswith(b"\xef\xbb\xbf"):
                        batch[0] = batch[0][3:]
                for line in batch:
                    lineno += 1
                    try:
                        rec = loads(line)
                    except decode_error as e:
                        if not line.strip():
                            blank += 1
                            continue
                        f = unreadable_finding(name, lineno, _why_unreadable(line, e))
                        stats.with_findings += 1
                        counts["unreadable"] += 1
                        sev["error"] += 1
                        emit(f)
                        continue
                    if rec.__class__ is not dict:
                        f = unreadable_finding(name, lineno, _why_unreadable(line, ValueError()))
                        stats.with_findings += 1
                        counts["unreadable"] += 1
                        sev["error"] += 1
                        emit(f)
                        continue
                    res = check(rec)
                    if res:
                        stats.with_findings += 1
                        for f in expander.expand(res, rec, name, lineno):
                            counts[f["kind"]] += 1
                            sev[f["severity"]] += 1
                            emit(f)
                if progress is not None:
                    progress(tell() if tell else 0, size, name)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
        n = lineno - blank
        stats.records += n
    return stats


def check_record(compiled: Compiled, rec: Any, file: str = "<record>", line: int = 1) -> list[dict]:
    """Findings for one record (a dict; anything else is unreadable)."""
    if not isinstance(rec, dict):
        return [unreadable_finding(file, line, f"a JSON {_json_type(rec).split(' ', 1)[1]}, not an object")]
    return Expander(compiled.rubric).expand(compiled.check(rec), rec, file, line)
