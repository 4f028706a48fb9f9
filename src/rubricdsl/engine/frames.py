"""Checking DataFrames and Arrow tables: each row of a pandas or polars DataFrame, or of
a pyarrow Table, record batch or record batch reader, is a record that goes through the
same `RecordChecker` as a line of JSONL; the findings come back as a frame of the same
library, each finding joined to its row.

Rows are read a block of `FRAME_BLOCK` rows at a time, column by column. A cell
becomes a JSON-like value (`cell_data`): a missing value (None, NaN, `pd.NA`, `NaT`,
an Arrow or polars null) leaves the key out, as an empty CSV cell does; numpy scalars
and arrays become Python numbers, booleans, strings and lists; a mapping is an object,
a list, tuple or array an array (a missing value inside either is null, which the
checker reads as missing, as in JSONL), a set a sorted array; a timestamp, date or time becomes its ISO
8601 text (`isoformat()`), a decimal its exact text, a duration its text (`1:30:00`),
binary data its UTF-8 text, a UUID its text, an enum member its value. A pandas float column whose every value is a whole number
gives integers (pandas makes an integer column float when it holds a missing value).
A column named as a dotted path of identifiers (`labels.safety`, as `pd.json_normalize`
names them) puts its cells at that nested path, as a CSV header does. A cell that is no
data at all (binary data that is not UTF-8, an object of another type) makes its row
`unreadable`, naming the column.

pandas and polars are imported in this module only (an import-linter contract), and
here only once a frame of theirs is given, as pyarrow once an Arrow table is: a frame
of a library exists only when the library is already imported.
"""
from __future__ import annotations

import datetime as _dt
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, Iterable, Iterator
from uuid import UUID

import orjson

from rubricdsl.engine.codegen import Compiled
from rubricdsl.engine.findings import summary_dict
from rubricdsl.engine.reading import column_inside, column_path, shown_name

FRAME_BLOCK = 1 << 14  # rows converted at a time
FRAME_FILE = {"pandas": "<dataframe>", "polars": "<dataframe>", "arrow": "<arrow>"}

# the finding columns of the result, in this order, and their kind of values: "text",
# "int", "texts" (a list of text), "json" (JSON text of any value), "labels" (the row
# labels of an item finding's records); the report's `file` and `lines` are left out
# (`row` and `rows` say where), and any field the report's Finding model adds is
# appended after them
COLUMNS: dict[str, str] = {
    "row": "label", "line": "int", "record": "text", "kind": "text", "severity": "text", "criterion": "text",
    "rule": "text", "label": "text", "judgment": "text", "message": "text", "value": "json", "fields": "json",
    "arms": "texts", "target": "text", "cause": "text", "values": "json", "aggregates": "json", "rows": "labels",
}
_LEFT_OUT = frozenset({"file", "lines"})


class _NotData(Exception):
    """A cell that is not data: why, for the row's `unreadable` finding."""


class _Absent:
    """A missing cell: its key is left out of the record."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Any = _Absent()


# ---- which library -------------------------------------------------------------------------------


def _loaded(module: str, *names: str) -> tuple[Any, ...]:
    """Classes of a library that is already imported (a frame of it can exist only then);
    empty when it is not."""
    mod = sys.modules.get(module)
    if mod is None:
        return ()
    out = []
    for n in names:
        got: Any = mod
        for part in n.split("."):
            got = getattr(got, part, None)
            if got is None:
                break
        if isinstance(got, type):
            out.append(got)
    return tuple(out)


WANTED = {"check_dataframe": ("pandas", "polars"), "check_arrow": ("arrow",)}
_WHAT = {"check_dataframe": "a pandas or polars DataFrame",
         "check_arrow": "a pyarrow Table, RecordBatch or RecordBatchReader"}


def frame_library(obj: Any, method: str) -> str:
    """"pandas", "polars" or "arrow": the library of a frame that `method` (a key of
    WANTED) takes; a TypeError for anything else, saying what would do."""
    library = None
    if _loaded("pandas", "DataFrame") and isinstance(obj, _loaded("pandas", "DataFrame")):
        library = "pandas"
    elif _loaded("polars", "DataFrame") and isinstance(obj, _loaded("polars", "DataFrame")):
        library = "polars"
    elif _loaded("pyarrow", "Table", "RecordBatch", "RecordBatchReader") and \
            isinstance(obj, _loaded("pyarrow", "Table", "RecordBatch", "RecordBatchReader")):
        library = "arrow"
    if library in WANTED[method]:
        return library  # type: ignore[return-value]
    cls = type(obj)
    what = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__.split('.')[0]}.{cls.__qualname__}"
    hint = ""
    if library == "arrow":
        hint = "; check an Arrow table with Rubric.check_arrow"
    elif library is not None:
        hint = "; check a DataFrame with Rubric.check_dataframe"
    elif any(_loaded(m, "Series") and isinstance(obj, _loaded(m, "Series")) for m in ("pandas", "polars")):
        hint = "; a Series is one column: make it a frame with .to_frame()"
    elif _loaded("polars", "LazyFrame") and isinstance(obj, _loaded("polars", "LazyFrame")):
        hint = "; call .collect() on a LazyFrame first"
    elif isinstance(obj, (list, tuple, dict)) or hasattr(obj, "__next__"):
        hint = "; records as dicts go to Rubric.check_records"
    raise TypeError(f"{method} takes {_WHAT[method]}, not {what}{hint}")


# ---- cells as data ---------------------------------------------------------------------------------


def _bad_object(v: Any) -> str:
    cls = type(v)
    name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    return f"a value of type `{shown_name(name)}`, which is not data"


def cell_data(v: Any) -> Any:
    """A value inside a cell as JSON-like data (see the module's docstring): None for a
    missing value; raises _NotData for a value that is no data. A dict or list that is
    JSON data already is returned as it is."""
    c = v.__class__
    if c is str or c is int or c is bool:
        return v
    if c is float:
        return v if v == v else None
    if v is None:
        return None
    if c is dict:
        if _is_json(v):
            return v
        return {k if k.__class__ is str else _key(k): cell_data(x) for k, x in v.items()}
    if c is list:
        if _is_json(v):
            return v
        return [cell_data(x) for x in v]
    if c is tuple:
        return [cell_data(x) for x in v]
    return _other(v, c)


_DEEP = 200  # containers deeper than this are rebuilt by `cell_data`, which finds a cycle


def _is_json(v: dict | list) -> bool:
    """Whether a dict or list holds only JSON data: text keys; strings, integers,
    booleans, numbers that are not NaN, null, and dicts and lists of the same (at most
    `_DEEP` deep: a deeper one, or a cycle, is not taken as it is)."""
    stack = [(v, 0)]
    while stack:
        x, depth = stack.pop()
        if depth > _DEEP:
            return False
        if x.__class__ is dict:
            for k in x:
                if k.__class__ is not str:
                    return False
            x = x.values()
        for y in x:
            c = y.__class__
            if c is str or c is int or c is bool or y is None:
                continue
            if c is float:
                if y != y:
                    return False
            elif c is dict or c is list:
                stack.append((y, depth + 1))
            else:
                return False
    return True


def _key(k: Any) -> str:
    k = cell_data(k)
    return k if k.__class__ is str else orjson.dumps(k).decode() if k is not None else "null"


def _other(v: Any, c: type) -> Any:
    """`cell_data` for values other than plain JSON ones."""
    module = c.__module__
    if module == "numpy":
        return _numpy(v, c)
    if module.startswith("pandas"):
        name = c.__name__
        if name in ("NAType", "NaTType"):
            return None
        if name == "Timedelta":
            return str(v.to_pytimedelta())
    if isinstance(v, str):  # np.str_, a str-valued enum: the text itself
        return str.__str__(v)
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        f = float(v)
        return f if f == f else None
    if isinstance(v, Mapping):
        return cell_data(dict(v))
    if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
        return v.isoformat()
    if isinstance(v, _dt.timedelta):
        return str(_dt.timedelta(days=v.days, seconds=v.seconds, microseconds=v.microseconds))
    if isinstance(v, UUID):
        return str(v)
    if isinstance(v, Enum):
        return cell_data(v.value)
    if isinstance(v, Decimal):
        return str(v) if v.is_finite() else None if v.is_nan() else _not_data(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        try:
            return bytes(v).decode("utf-8")
        except UnicodeDecodeError:
            raise _NotData("binary data that is not UTF-8 text") from None
    if isinstance(v, (list, tuple)):
        return [cell_data(x) for x in v]
    if isinstance(v, (set, frozenset)):
        items = [cell_data(x) for x in v]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=lambda x: orjson.dumps(x, option=orjson.OPT_SORT_KEYS))
    as_py = getattr(v, "as_py", None)
    if module.startswith("pyarrow") and callable(as_py):  # an Arrow scalar
        return cell_data(as_py())
    if module.startswith("polars") and c.__name__ == "Series":  # a polars list cell, kept as a Series
        return cell_data(v.to_list())
    return _not_data(v)


def _not_data(v: Any) -> Any:
    raise _NotData(_bad_object(v))


def _numpy(v: Any, c: type) -> Any:
    """A numpy scalar or array as data (numpy itself is not imported: the value has it)."""
    name = c.__name__
    if name == "ndarray":
        if v.dtype.kind in "mMO":  # dates, durations, objects: element by element
            return [cell_data(x) for x in v.reshape(-1)] if v.ndim == 1 else cell_data(v.tolist())
        return cell_data(v.tolist())
    if name == "datetime64":
        x = v.astype("datetime64[us]").item()
        return None if x is None else x.isoformat() if not isinstance(x, int) else str(v)
    if name == "timedelta64":
        x = v.astype("timedelta64[us]").item()
        return None if x is None else str(x) if isinstance(x, _dt.timedelta) else str(v)
    item = getattr(v, "item", None)
    if item is None:
        return _not_data(v)
    x = item()
    if x.__class__ is c:  # an item that is the scalar itself: no plain value to give
        return _not_data(v)
    return cell_data(x)


def _column_cells(values: list, column: str, bad: dict[int, str]) -> list:
    """A column's values (a list, changed in place) as data: ABSENT for a missing value;
    a cell that is no data marks its row in `bad` (row number from 0 within the block)."""
    for i, v in enumerate(values):
        c = v.__class__
        if c is str or c is int or c is bool:
            continue
        if c is float:
            if v != v:
                values[i] = ABSENT
            continue
        if v is None:
            values[i] = ABSENT
            continue
        try:
            x = cell_data(v)
        except _NotData as e:
            bad.setdefault(i, f"column `{shown_name(column)}` holds {e}")
            x = None
        except RecursionError:
            bad.setdefault(i, f"column `{shown_name(column)}` is nested too deeply")
            x = None
        values[i] = ABSENT if x is None else x
    return values


_EXACT = float(1 << 53)  # beyond it, a double is not the integer it was


def _whole(column: Any) -> bool:
    """Whether every value of a pandas float column that is not NaN is a whole number
    a double holds exactly (and there is one)."""
    values = column.dropna()
    if len(values) == 0:
        return False
    return bool(((values % 1 == 0) & (values.abs() <= _EXACT)).all())


# ---- columns as record keys --------------------------------------------------------------------------


def column_paths(names: list[Any]) -> list[tuple[str, ...]]:
    """The path in a record of each column (a name that is not text is its text, `str`);
    a name given twice, or a column inside another (`labels` and `labels.safety`), is a
    ValueError."""
    texts = [n if isinstance(n, str) else str(n) for n in names]
    seen: set[str] = set()
    for t in texts:
        if t in seen:
            raise ValueError(f"the frame has two columns named `{shown_name(t)}`; a record has one value per key")
        seen.add(t)
    paths = [column_path(t) for t in texts]
    inside = column_inside(texts, paths)
    if inside is not None:
        raise ValueError(f"the frame has a column `{shown_name(inside[0])}` inside the column `{shown_name(inside[1])}`")
    return paths


class _Node:
    """The columns under one key of a record: those that are its keys (`leaves`: key,
    column index) and the nested objects (`children`: key, node)."""

    __slots__ = ("leaves", "children")

    def __init__(self) -> None:
        self.leaves: list[tuple[str, int]] = []
        self.children: list[tuple[str, _Node]] = []

    def build(self, cells: tuple) -> dict:
        out = {k: cells[i] for k, i in self.leaves if cells[i] is not ABSENT}
        for k, child in self.children:
            d = child.build(cells)
            if d:  # an object whose every cell is missing is missing itself
                out[k] = d
        return out


def _tree(paths: list[tuple[str, ...]]) -> _Node:
    root = _Node()
    nodes: dict[tuple[str, ...], _Node] = {(): root}
    for i, p in enumerate(paths):
        for depth in range(1, len(p)):
            if p[:depth] not in nodes:
                nodes[p[:depth]] = node = _Node()
                nodes[p[:depth - 1]].children.append((p[depth - 1], node))
        nodes[p[:-1]].leaves.append((p[-1], i))
    return root


def _records(paths: list[tuple[str, ...]], columns: list[list], n: int, bad: dict[int, str]) -> list:
    """The records of a block of `n` rows (None for a row in `bad`)."""
    if not paths:
        return [None if i in bad else {} for i in range(n)]
    if all(len(p) == 1 for p in paths):
        keys = [p[0] for p in paths]
        out = [{k: v for k, v in zip(keys, cells) if v is not ABSENT} for cells in zip(*columns)]
    else:
        build = _tree(paths).build
        out = [build(cells) for cells in zip(*columns)]
    for i in bad:
        out[i] = None
    return out


# ---- reading each library's rows -------------------------------------------------------------------------


class FrameRows:
    """The rows of a frame as (line, record, why), `line` being the row's position from
    1, read a block at a time; `labels(positions)` gives the rows' labels afterwards
    (pandas: the index's values; the others: the 0-based positions). The columns are
    checked when it is made (`column_paths`: a ValueError before any row is read)."""

    what = "a record"

    def __init__(self, frame: Any, library: str, block: int | None = None) -> None:
        self.frame = frame
        self.library = library
        self.block = block or FRAME_BLOCK
        if library == "arrow":
            self.names = list(frame.schema.names)
        else:
            self.names = list(frame.columns)
        self.paths = column_paths(self.names)
        self.texts = [n if isinstance(n, str) else str(n) for n in self.names]

    def blocks(self) -> Iterator[tuple[int, list, dict[int, str]]]:
        """(first line, records, bad) for each block of rows: the records in order (None
        for an unreadable row), and why each unreadable row is so, by its index in the block."""
        read = {"pandas": self._pandas, "polars": self._polars, "arrow": self._arrow}[self.library]()
        done = 0
        for columns, n in read:
            bad: dict[int, str] = {}
            cells = [_column_cells(col, name, bad) for name, col in zip(self.texts, columns)]
            yield done + 1, _records(self.paths, cells, n, bad), bad
            done += n

    def __iter__(self) -> Iterator[tuple[int, Any, str | None]]:
        for first, records, bad in self.blocks():
            for i, rec in enumerate(records):
                yield first + i, rec, bad.get(i)

    def _pandas(self) -> Iterator[tuple[list[list], int]]:
        df = self.frame
        width = len(self.names)
        # a float column whose every value is a whole number: integers, made floats by
        # pandas because the column holds a missing value
        whole = [df.dtypes.iloc[j].kind == "f" and _whole(df.iloc[:, j]) for j in range(width)]
        for start in range(0, len(df), self.block):
            part = df.iloc[start:start + self.block]
            columns = [part.iloc[:, j].tolist() for j in range(width)]
            for j in range(width):
                if whole[j]:
                    columns[j] = [v if v != v else int(v) for v in columns[j]]
            yield columns, len(part)

    def _polars(self) -> Iterator[tuple[list[list], int]]:
        df = self.frame
        for start in range(0, df.height, self.block):
            part = df.slice(start, self.block)
            yield [s.to_list() for s in part.get_columns()], part.height

    def _arrow(self) -> Iterator[tuple[list[list], int]]:
        import pyarrow as pa  # noqa: PLC0415  (the caller gave an Arrow object: pyarrow is there)

        obj = self.frame
        if isinstance(obj, pa.Table):
            batches: Iterable[Any] = obj.to_batches(max_chunksize=self.block)
        elif isinstance(obj, pa.RecordBatch):
            batches = [obj.slice(s, self.block) for s in range(0, obj.num_rows, self.block)]
        else:  # a RecordBatchReader: its batches as they come, each of one schema
            batches = obj
        for batch in batches:
            yield [batch.column(j).to_pylist() for j in range(batch.num_columns)], batch.num_rows

    def labels(self, positions: list[int]) -> list:
        """The labels of rows at 0-based positions: pandas index values (a tuple for a
        MultiIndex), or the positions themselves."""
        if self.library != "pandas":
            return positions
        taken = self.frame.index.take(positions)
        if getattr(taken, "nlevels", 1) > 1:
            taken = taken.to_flat_index()
        return taken.tolist()


# ---- the result ----------------------------------------------------------------------------------------


@dataclass
class FrameReport:
    """What `Rubric.check_dataframe` and `Rubric.check_arrow` return: `findings`, a frame
    of the input's library (a pandas DataFrame, a polars DataFrame, a pyarrow Table)
    with one row per finding, `row` first (the input row's index label for pandas, its
    0-based position otherwise); `summary` (the report's `Summary`); `rubric` (its
    `RubricInfo`)."""

    findings: Any
    summary: Any
    rubric: Any

    def __repr__(self) -> str:
        s = self.summary
        return (f"FrameReport(rubric={self.rubric.name!r}, records={s.records}, findings={len(self.findings)}, "
                f"errors={s.errors}, warnings={s.warnings}, infos={s.infos})")


def finding_columns() -> dict[str, str]:
    """The result's columns and their kinds: `COLUMNS`, then any other field of the
    report's Finding model (text, int, list of text or JSON, by its annotation)."""
    from rubricdsl.engine.report import Finding  # noqa: PLC0415

    out = dict(COLUMNS)
    for name, info in Finding.model_fields.items():
        if name in out or name in _LEFT_OUT:
            continue
        ann = info.annotation
        out[name] = ("text" if ann in (str, str | None) else "int" if ann in (int, int | None)
                     else "texts" if ann in (list[str], list[str] | None) else "json")
    return out


def _json_text(v: Any) -> str | None:
    if v is None:
        return None
    try:
        return orjson.dumps(v).decode()
    except TypeError:  # beyond orjson's reach (an int over 64 bits)
        return json.dumps(v, ensure_ascii=False, default=str)


def check_frame(compiled: Compiled, info: dict, frame: Any, library: str) -> FrameReport:
    """Check every row of a frame with a compiled rubric: the findings as a frame of the
    same library, joined to the rows, and the summary."""
    from rubricdsl.core.safetext import utf8_data  # noqa: PLC0415
    from rubricdsl.engine.report import RubricInfo, Summary  # noqa: PLC0415
    from rubricdsl.engine.runtime import RecordChecker  # noqa: PLC0415

    rows = FrameRows(frame, library)
    name = FRAME_FILE[library]
    findings: list[dict] = []
    checker = RecordChecker(compiled, findings.append)
    import gc  # noqa: PLC0415

    gc_was_on = gc.isenabled()
    gc.disable()  # records are trees (no cycles): reference counting frees them, as in `run`
    try:
        for first, records, bad in rows.blocks():
            if bad:  # a block with an unreadable row: row by row, each as an element of a file
                checker.elements(((first + i, rec, bad.get(i)) for i, rec in enumerate(records)), name, rows.what)
            else:
                checker.records(records, name, first - 1)
        checker.finish()
    finally:
        checker.close()
        if gc_was_on:
            gc.enable()
    stats = checker.stats
    findings = [utf8_data(f) for f in findings]
    summary = Summary.model_validate(summary_dict(stats.records, stats.counts, stats.by_severity, stats.items,
                                                  stats.judgments, stats.skipped))
    table = _findings_table(findings, rows)
    return FrameReport(_build(library, table, rows), summary, RubricInfo.model_validate(info))


def _findings_table(findings: list[dict], rows: FrameRows) -> dict[str, tuple[str, list]]:
    """The result's columns as Python lists, by name: (kind, values)."""
    cols = finding_columns()
    table: dict[str, tuple[str, list]] = {}
    positions = [f["line"] - 1 for f in findings]
    for col, kind in cols.items():
        if col == "row":
            values: list = positions
        elif col == "rows":
            values = [None if f.get("lines") is None else [x["line"] - 1 for x in f["lines"]] for f in findings]
        elif kind == "json":
            values = [_json_text(f.get(col)) for f in findings]
        elif kind == "texts":
            values = [None if f.get(col) is None else list(f[col]) for f in findings]
        else:
            values = [f.get(col) for f in findings]
        table[col] = (kind, values)
    return table


def _build(library: str, table: dict[str, tuple[str, list]], rows: FrameRows) -> Any:
    return {"pandas": _pandas_frame, "polars": _polars_frame, "arrow": _arrow_table}[library](table, rows)


def _pandas_frame(table: dict[str, tuple[str, list]], rows: FrameRows) -> Any:
    import pandas as pd  # noqa: PLC0415

    data: dict[str, Any] = {}
    for col, (kind, values) in table.items():
        if kind == "label":  # of the index's own type (a datetime index gives timestamps)
            taken = rows.frame.index.take(values)
            data[col] = pd.Series(taken.to_flat_index() if taken.nlevels > 1 else taken)
        elif kind == "labels":
            data[col] = pd.Series([None if v is None else rows.labels(v) for v in values], dtype=object)
        elif kind == "int":
            data[col] = pd.Series(values, dtype="int64" if None not in values else "Int64")
        else:
            data[col] = pd.Series(values, dtype=object)
    return pd.DataFrame(data)


def _polars_frame(table: dict[str, tuple[str, list]], rows: FrameRows) -> Any:
    import polars as pl  # noqa: PLC0415

    types = {"label": pl.Int64, "int": pl.Int64, "text": pl.Utf8, "json": pl.Utf8, "texts": pl.List(pl.Utf8),
             "labels": pl.List(pl.Int64)}
    return pl.DataFrame([pl.Series(col, values, dtype=types[kind]) for col, (kind, values) in table.items()])


def _arrow_table(table: dict[str, tuple[str, list]], rows: FrameRows) -> Any:
    import pyarrow as pa  # noqa: PLC0415

    types = {"label": pa.int64(), "int": pa.int64(), "text": pa.string(), "json": pa.string(),
             "texts": pa.list_(pa.string()), "labels": pa.list_(pa.int64())}
    return pa.table({col: pa.array(values, type=types[kind]) for col, (kind, values) in table.items()})
