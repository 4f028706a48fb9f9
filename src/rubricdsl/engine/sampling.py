"""A sample of records, and the type of each field in it (`rubric init` from records).

`read_sample` reads up to N records of a data file with the readers `rubric check`
uses (JSONL, a JSON array, CSV, TSV, Parquet; `.gz`; the same `--input-format`), every
record accounted for: a record that cannot be read is counted, and the first few are
kept with their line and why, never used. `infer_fields` walks the readable records
and says, for each leaf path (nested objects give dotted paths), which type of the
language reads every value seen there — the rubric `language/scaffold.py` writes from
it must find no `invalid` value in the same sample:

- `bool`, `int` (only integers), `number` (integers and decimals), `text`/`enum` (only
  strings: `enum` when few distinct short values, see `scaffold.ENUM_MAX`), `set` (only
  arrays of distinct short strings, few distinct in all);
- a field missing or null in some record is optional;
- a path whose values no one type reads (a number in some records, a string in
  others; an array of numbers or objects; a number beyond a double) is not a field:
  it is a `SampledField` with `kind = None` and the reason, for a note.

A CSV or TSV cell is text until a rubric gives its column a type: a column is typed
`bool`, `int`, `number` or `set` when every cell converts to such a value by the same
conversion `rubric check` makes (`reading.convert_cell`), else it is text.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterator

import orjson

from rubricdsl.core.values import HugeNumber
from rubricdsl.engine.reading import (DataError, element_reader, not_an_object, open_data, read_batches, read_line,
                                      table_format)
from rubricdsl.language.scaffold import ENUM_MAX, ENUM_VALUE_LEN, MAX_DEPTH, RECORD_NAMES, SampledField

DEFAULT_SAMPLE = 1000
UNREADABLE_SHOWN = 3  # unreadable records kept with their line and why


@dataclass
class Sample:
    """The records read from one file: `records` the readable ones, `read` every record
    read (readable or not), `unreadable` how many could not be read and the first
    few as (line, why); `more` whether the file has records after the sample; `table`
    "csv" or "tsv" when the records' values are a table's cells (text)."""

    name: str
    records: list[dict] = field(default_factory=list)
    read: int = 0
    unreadable: int = 0
    first_unreadable: list[tuple[int, str]] = field(default_factory=list)
    more: bool = False
    table: str | None = None
    what: str = "a JSON object"


def _jsonl(stream: Any, name: str) -> Iterator[tuple[int, Any, str | None]]:
    """The records of a JSONL file as (line, value, why), as `ArrayReader` gives them."""
    lineno = 0
    for batch in read_batches(stream, name, lambda: lineno):
        for line in batch:
            lineno += 1
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                if not line.strip():
                    continue
                rec, why = read_line(line)
                if why is not None:
                    yield lineno, None, why
                    continue
            yield lineno, rec, None


def read_sample(path: str, limit: int = DEFAULT_SAMPLE, input_format: str = "auto") -> Sample:
    """Up to `limit` records of the data file `path` (`-`: standard input); a file that
    cannot be read at all is a DataError."""
    stream, name, _, _ = open_data(path)
    sample = Sample(name)
    try:
        reader = element_reader(path, stream, name, input_format)
        if reader is None:
            elements: Iterator[tuple[int, Any, str | None]] = _jsonl(stream, name)
        else:
            sample.what = getattr(reader, "what", sample.what)
            elements = iter(reader)
        sample.table = table_format(path, input_format) if reader is not None else None
        for line, value, why in elements:
            if sample.read == limit:
                sample.more = True
                break
            sample.read += 1
            if why is None and value.__class__ is not dict:
                why = not_an_object(value)
            if why is not None:
                sample.unreadable += 1
                if len(sample.first_unreadable) < UNREADABLE_SHOWN:
                    sample.first_unreadable.append((line, why))
                continue
            sample.records.append(value)
    finally:
        if path != "-":
            stream.close()
    return sample


# ---- types ---------------------------------------------------------------------------------------


class _Path:
    """What was seen at one path of keys."""

    __slots__ = ("present", "kinds", "strings", "long", "lo", "hi", "items", "bad_list", "distinct",
                 "cells")

    def __init__(self, keep_distinct: bool) -> None:
        self.present = 0
        self.kinds: dict[str, int] = {}
        self.strings: dict[str, None] = {}  # distinct strings, up to ENUM_MAX + 1
        self.long = False  # a string longer than an enum value may be, or over lines
        self.lo: float | int | None = None
        self.hi: float | int | None = None
        self.items: dict[str, None] = {}  # distinct elements of arrays of strings, up to ENUM_MAX + 1
        self.bad_list: str | None = None  # why the arrays here are no sets
        self.distinct: set | None = set() if keep_distinct else None
        self.cells: list[str] | None = None

    def see_string(self, s: str) -> None:
        if len(self.strings) <= ENUM_MAX:
            self.strings.setdefault(s, None)
        if not self.long and _long(s):
            self.long = True

    def see_number(self, v: float | int) -> None:
        self.lo = v if self.lo is None or v < self.lo else self.lo
        self.hi = v if self.hi is None or v > self.hi else self.hi


def _long(s: str) -> bool:
    return len(s) > ENUM_VALUE_LEN or any(c < " " or c == "\x7f" for c in s)


def _kind(v: Any) -> str:
    c = v.__class__
    if c is bool:
        return "bool"
    if c is int:
        return "int"
    if c is float:
        return "number" if math.isfinite(v) else "non-finite"
    if c is str:
        return "string"
    if c is list:
        return "array"
    if c is dict:
        return "object"
    if c is HugeNumber:
        return "huge"
    return "other"


def _see_list(p: _Path, v: list) -> None:
    if p.bad_list is not None:
        return
    if v and any(x.__class__ is not str for x in v):
        kinds = sorted({_kind(x) for x in v if x.__class__ is not str})
        p.bad_list = f"an array of {_WHAT_ITEMS.get(kinds[0], kinds[0])}"
        return
    if len(set(v)) != len(v):
        p.bad_list = "an array that lists a value twice (a set lists each once)"
        return
    for x in v:
        if _long(x):
            p.bad_list = f"an array of long texts (over {ENUM_VALUE_LEN} characters, or over lines)"
            return
        if len(p.items) <= ENUM_MAX:
            p.items.setdefault(x, None)
    if len(p.items) > ENUM_MAX:
        p.bad_list = f"an array of more than {ENUM_MAX} distinct texts"


_WHAT_ITEMS = {"object": "objects", "int": "integers", "number": "numbers", "bool": "booleans",
               "array": "arrays", "huge": "numbers", "non-finite": "numbers", "other": "values"}


def _walk(records: list[dict], table: bool) -> tuple[dict[tuple[str, ...], _Path], int]:
    """The paths of every record, with what was seen there; and how many records had
    objects nested deeper than MAX_DEPTH (whose deeper keys are left out)."""
    paths: dict[tuple[str, ...], _Path] = {}
    too_deep = 0
    id_names = {n for names in RECORD_NAMES.values() for n in names}
    for rec in records:
        deep = False
        # depth first, in the order of the keys: each object's keys come where the object is
        stack: list[tuple[tuple[str, ...], Iterator[tuple[str, Any]]]] = [((), iter(rec.items()))]
        while stack:
            prefix, keys = stack[-1]
            for key, v in keys:
                if v is None:
                    continue  # null is missing
                path = (*prefix, key)
                p = paths.get(path)
                if p is None:
                    p = paths[path] = _Path(len(path) == 1 and key.lower() in id_names)
                p.present += 1
                k = "cell" if table and v.__class__ is str else _kind(v)
                p.kinds[k] = p.kinds.get(k, 0) + 1
                if p.distinct is not None and k in ("string", "int", "cell"):
                    p.distinct.add(v)
                if k == "object":
                    if len(path) < MAX_DEPTH:
                        stack.append((path, iter(v.items())))
                        break
                    if v:
                        deep = True
                elif k in ("string", "cell"):
                    p.see_string(v)
                    if k == "cell":
                        if p.cells is None:
                            p.cells = []
                        p.cells.append(v)
                elif k in ("int", "number"):
                    p.see_number(v)
                elif k == "array":
                    _see_list(p, v)
            else:
                stack.pop()
        too_deep += deep
    return paths, too_deep


_NAMES = {"bool": "a boolean", "int": "an integer", "number": "a decimal number", "string": "a string",
          "array": "an array", "object": "an object", "huge": "a number beyond the range of a double",
          "non-finite": "a number that is not finite (NaN or infinity)", "other": "another value",
          "cell": "text"}


def _times(n: int) -> str:
    return "1 record" if n == 1 else f"{n} records"


def _mixed(kinds: dict[str, int]) -> str:
    return ", ".join(f"{_NAMES[k]} in {_times(n)}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))


def _table_type(cells: list[str]) -> tuple[str, Any] | None:
    """The type every cell of a table's column converts to, as `rubric check` converts
    cells: ("bool", None), ("int", (lo, hi)), ("number", (lo, hi)), ("set", values);
    None when the column is text."""
    from rubricdsl.engine.reading import convert_cell  # noqa: PLC0415

    words = False
    for c in cells:
        v = convert_cell("bool", c)
        if v.__class__ is not bool:
            break
        words = words or c.strip(" ").lower() in ("true", "false")
    else:
        if words:  # a column of 0 and 1 alone is integers
            return "bool", None
    for kind in ("int", "number"):
        lo = hi = None
        for c in cells:
            v = convert_cell(kind, c)
            if v.__class__ is not int and not (kind == "number" and v.__class__ is float and math.isfinite(v)):
                break
            lo = v if lo is None or v < lo else lo
            hi = v if hi is None or v > hi else hi
        else:
            return kind, (lo, hi)
    if any("|" in c or c.lstrip(" ").startswith("[") for c in cells):
        p = _Path(False)
        for c in cells:
            v = convert_cell("set", c)
            if v.__class__ is not list:
                return None
            _see_list(p, v)
        if p.bad_list is None and p.items:
            return "set", list(p.items)
    return None


def infer_fields(sample: Sample) -> tuple[list[SampledField], list[str]]:
    """The fields of a sample's records, in the order their paths first appear; and
    notes on what was left out."""
    notes: list[str] = []
    records = sample.records
    paths, too_deep = _walk(records, sample.table is not None)
    if too_deep:
        notes.append(f"{_times(too_deep)} nest objects more than {MAX_DEPTH} levels deep: the keys below that "
                     "depth are not declared")
    total = len(records)
    out: list[SampledField] = []
    for path, p in paths.items():
        kinds = dict(p.kinds)
        unique = p.distinct is not None and len(p.distinct) == p.present
        base = SampledField(path=path, kind=None, present=p.present, records=total, unique=unique)
        objects = kinds.pop("object", 0)
        if not kinds:
            continue  # an object: its keys are fields of their own
        if objects:
            kinds["object"] = objects
            base.why = f"no one type reads its values: {_mixed(kinds)}"
            out.append(base)
            continue
        if len(kinds) == 2 and set(kinds) == {"int", "number"}:
            kinds = {"number": kinds["int"] + kinds["number"]}
        if len(kinds) > 1:
            base.why = f"no one type reads its values: {_mixed(kinds)}"
            out.append(base)
            continue
        (k,) = kinds
        if k == "cell":
            got = _table_type(p.cells or [])
            if got is None:
                k = "string"
            else:
                base.kind = got[0]
                if got[0] in ("int", "number"):
                    base.lo, base.hi = got[1]
                elif got[0] == "set":
                    base.values = got[1]
                out.append(base)
                continue
        if k in ("bool", "int", "number"):
            base.kind = k
            base.lo, base.hi = p.lo, p.hi
        elif k == "string":
            base.kind = "text"
            base.long = p.long
            if not p.long and len(p.strings) <= ENUM_MAX:
                base.values = list(p.strings)
        elif k == "array":
            if p.bad_list is not None:
                base.why = f"{p.bad_list}: no type reads it (read one element with `[0]`, or use `each`)"
            elif not p.items:
                base.why = "an empty array in every record: its values cannot be known"
            else:
                base.kind = "set"
                base.values = list(p.items)
        else:
            base.why = f"{_NAMES[k]} in {_times(p.present)}: no type reads it"
        out.append(base)
    return out, notes
