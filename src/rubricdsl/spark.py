"""`rubric check` on Spark: the same findings, from data that one machine cannot hold.

    >>> from rubricdsl import spark as rspark
    >>> session = rspark.session("local[2]")
    >>> report = rspark.check(session, "safety.rubric", ["s3a://bucket/judgments/"])
    >>> report.summary["errors"], report.findings.count()

The rubric travels to the executors as its text, with the bytes of every file it imports
(by its path relative to the rubric's directory, as the driver read them), and is
compiled once per Python worker process (cached by a sha256 of them all): an executor
never reads a rubric file from its own disk. Records are checked in Arrow batches
(`mapInArrow`) by the same loop as `rubric check` (`engine.runtime.RecordChecker`),
never one Python call per row. Where the data comes from:

- a plain JSONL file is read by Spark's text source, split at its blocks; each line's
  number is its block's first line (from a count of the lines of every block, done in
  the JVM before the check) plus its place in the block, so line numbers are exact
  whatever the partitioning;
- a `.gz` file, a JSON array file, a Parquet, CSV or TSV file is read whole by one task
  (Spark's binary file source) with `rubric check`'s own readers: the same records, the
  same line numbers and the same errors (a corrupt `.gz` stops the run with its line);
- a DataFrame of parsed rows: each row is a record (a null is a missing value, as in a
  Parquet file), its line the row's place in the DataFrame's partition order.

Records that name an item leave a row (`engine.items.RowMaker`); the rows are grouped by
item across the whole input (a shuffle on the item) and each item is judged by the same
`engine.items.Judge`, with the same `lines`.

pyspark is imported here only: the command line imports this module for
`rubric check --engine spark`, and never otherwise.
"""
from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import io
import marshal
import os
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, NamedTuple
from urllib.parse import unquote, urlsplit

import orjson
import pyarrow as pa
from pyspark import StorageLevel, TaskContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from rubricdsl.api import Rubric, load
from rubricdsl.core.diagnostics import RubricError
from rubricdsl.engine.codegen import Compiled, compile_rubric
from rubricdsl.engine.findings import KINDS, summary_dict
from rubricdsl.engine.items import Judge
from rubricdsl.engine.reading import (
    INPUT_FORMATS, DataError, ParquetReader, arrow_row, column_types, element_reader, is_parquet, read_batches,
    table_format,
)
from rubricdsl.engine.runtime import RecordChecker
from rubricdsl.language.imports import Files, read_file
from rubricdsl.language.load import compile_text

__all__ = ["FINDINGS_SCHEMA", "SparkCheckError", "SparkReport", "check", "error_line", "finding_dict", "session", "write"]


class SparkCheckError(Exception):
    """A run that cannot go on: a missing path, a file that cannot be read (a corrupt
    `.gz`), a failed Spark job. `str()` is one line naming the file and the cause."""


# ---- the findings DataFrame --------------------------------------------------------------------

#: The columns of the findings DataFrame: the report's fields (`rubric schema`). `value`,
#: `fields`, `aggregates` and `context` hold JSON text (`null` the JSON value; a null column: the
#: finding has no such field); `values` maps each value of a disputed label to its count.
FINDINGS_SCHEMA = T.StructType([
    T.StructField("kind", T.StringType(), False),
    T.StructField("line", T.LongType(), False),
    T.StructField("record", T.StringType(), False),
    T.StructField("file", T.StringType(), False),
    T.StructField("criterion", T.StringType()),
    T.StructField("rule", T.StringType()),
    T.StructField("label", T.StringType()),
    T.StructField("arms", T.ArrayType(T.StringType())),
    T.StructField("target", T.StringType()),
    T.StructField("severity", T.StringType(), False),
    T.StructField("message", T.StringType(), False),
    T.StructField("value", T.StringType()),
    T.StructField("fields", T.StringType()),
    T.StructField("cause", T.StringType()),
    T.StructField("values", T.MapType(T.StringType(), T.LongType())),
    T.StructField("aggregates", T.StringType()),
    T.StructField("judgment", T.StringType()),
    T.StructField("annotator", T.StringType()),
    T.StructField("context", T.StringType()),
    T.StructField("lines", T.ArrayType(T.StructType([T.StructField("file", T.StringType()),
                                                     T.StructField("line", T.LongType())]))),
])
_BASE = ("kind", "line", "record", "file", "criterion", "rule", "label", "arms", "target", "severity", "message")
_JSON_COLUMNS = ("value", "fields", "aggregates", "context")
_EXTRA = ("value", "fields", "cause", "values", "aggregates", "judgment", "annotator", "context", "lines")

# What the check of records and the judging of items produce, one row each: a finding
# (t "f"), an item's row (t "i"), a task's counts (t "s"), a file that cannot be read
# (t "e"), an item judged (t "n"). `g o n s` order findings as `rubric check` writes
# them: records (g 0) by file, line and place, then items (g 1) by their first record.
_OUT = T.StructType([
    T.StructField("t", T.StringType(), False),
    T.StructField("g", T.IntegerType(), False),
    T.StructField("o", T.IntegerType(), False),
    T.StructField("n", T.LongType(), False),
    T.StructField("s", T.LongType(), False),
    T.StructField("k", T.StringType()),
    T.StructField("kind", T.StringType()),
    T.StructField("sev", T.StringType()),
    T.StructField("d", T.BinaryType()),
])
_OUT_ARROW = pa.schema([("t", pa.string(), False), ("g", pa.int32(), False), ("o", pa.int32(), False),
                        ("n", pa.int64(), False), ("s", pa.int64(), False), ("k", pa.string()), ("kind", pa.string()),
                        ("sev", pa.string()), ("d", pa.binary())])
_BATCH = 8192


class SparkReport(NamedTuple):
    """What `check` returns. `findings`: a DataFrame of `FINDINGS_SCHEMA`, cached (call
    `unpersist` once written); `summary`: the report's summary (`records`, `items`, each
    kind, `errors`...); `rubric`: its name, version, sha256 and file; `files`: the data
    files, in the order their findings come."""

    findings: DataFrame
    summary: dict
    rubric: dict
    files: list[str]
    raw: DataFrame  # the findings as `rubric check --format jsonl` lines (`d`), with their order (`g o n s k`)
    cached: tuple[DataFrame, ...] = ()

    def unpersist(self) -> None:
        """Drop the cached results the findings are computed from."""
        for df in self.cached:
            df.unpersist()


# ---- the job: what every task needs --------------------------------------------------------------


@dataclass
class _File:
    index: int  # in the order of the input
    name: str  # as findings name it
    uri: str  # as Spark reads it (Hadoop's path, not %-encoded)
    path: str  # the path part, for its extension
    whole: bool  # read whole by one task (gzip, JSON array, Parquet, CSV, TSV)
    key: tuple[str, str, str] = ("", "", "")  # `_key` of its URI


@dataclass
class _Job:
    text: str  # the rubric's source text
    source: str  # its file name
    sha256: str  # the report's: of its file's bytes, and of the files it imports
    key: str  # sha256 of `text` and of the imported files: the executors' cache key
    input_format: str = "auto"
    files: dict[tuple[str, str, str], _File] = field(default_factory=dict)
    before: dict[tuple[int, int], int] = field(default_factory=dict)  # (file, block start) -> lines before
    frame_name: str = "<dataframe>"
    bundle: _Bundle | None = None  # the files the rubric imports, when it imports some


class _Bundle(Files):
    """The files a rubric imports, shipped with its text: the bytes of each (by its path
    relative to `base`, the rubric's directory) and which paths are one file (`keys`,
    as the driver's real paths said). An executor's import of the rubric reads them here."""

    def __init__(self, base: str, files: dict[str, bytes], keys: dict[str, str],
                 imports: tuple[tuple[str, str], ...]) -> None:
        super().__init__()
        self.base = base
        self.files = files
        self.keys = keys
        self.imports = imports  # (path, sha256) of each, in the digest's order: what the driver compiled

    def key(self, path: str) -> str:
        rel = _relative(path, self.base)
        return self.keys.get(rel, "path:" + rel)

    def read(self, path: str) -> bytes:
        data = self.files.get(_relative(path, self.base))
        if data is None:
            raise FileNotFoundError(errno.ENOENT, "no such file", path)
        return data


class _Recorder(Files):
    """The file system, keeping every imported file that the driver reads: the bundle
    the executors compile from."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.files: dict[str, bytes] = {}
        self.keys: dict[str, str] = {}

    def key(self, path: str) -> str:
        real = os.path.realpath(path)
        self.keys[_relative(path, self.base)] = real
        return real

    def read(self, path: str) -> bytes:
        data = read_file(path)
        self.files[_relative(path, self.base)] = data
        return data

    def bundle(self, imports: tuple[tuple[str, str], ...]) -> _Bundle:
        ids: dict[str, str] = {}  # a real path of the driver's is no business of the executors
        keys = {rel: ids.setdefault(real, f"file:{len(ids)}") for rel, real in self.keys.items()}
        return _Bundle(self.base, dict(self.files), keys, imports)


def _relative(path: str, base: str) -> str:
    return os.path.relpath(path, base).replace(os.sep, "/")


def _base(source: str) -> str:
    """The directory a rubric's imports are relative to (as `compile_text` takes it)."""
    return (os.path.dirname(source) if not source.startswith("<") else "") or "."


def _job(rubric: Rubric, input_format: str, frame_name: str) -> _Job:
    """What every task needs of the rubric: its text and, when it imports files, their
    bytes, read again here and compared with what the rubric was compiled from (a file
    changed since is an error, not a silently different rubric)."""
    text, source = rubric.source_text, rubric.ir.source_name
    key = hashlib.sha256(text.encode("utf-8"))
    bundle = None
    if rubric.ir.imports:
        recorder = _Recorder(_base(source))
        try:
            again = compile_text(text, source, base=recorder.base, reader=recorder)
        except RubricError:
            again = None
        if again is None or again.imports != rubric.ir.imports:
            raise SparkCheckError(f"{source}: a file it imports changed since the rubric was loaded: load it again")
        bundle = recorder.bundle(rubric.ir.imports)
        for rel, sha in rubric.ir.imports:
            key.update(f"\n{rel}\0{sha}".encode("utf-8", "surrogateescape"))
    return _Job(text, source, rubric.sha256, key.hexdigest(), input_format, frame_name=frame_name, bundle=bundle)


_COMPILED: dict[str, tuple[Compiled, Judge | None]] = {}


def _compiled(job: _Job) -> tuple[Compiled, Judge | None]:
    """The rubric compiled in this process, once per rubric (its text and imported files):
    its imports are read from the job's bundle, never from this machine's disk."""
    hit = _COMPILED.get(job.key)
    if hit is None:
        if job.bundle is None:
            rubric = compile_text(job.text, job.source, job.sha256)
        else:
            rubric = compile_text(job.text, job.source, base=job.bundle.base, reader=job.bundle)
            if rubric.imports != job.bundle.imports:  # the same files, or a broken bundle
                raise RuntimeError(f"{job.source}: its imported files compiled differently on this executor")
            rubric.sha256 = job.sha256
        compiled = compile_rubric(rubric)
        judge = Judge(rubric, compiled.plan, compiled.item_check) if rubric.has_items and compiled.plan else None
        hit = _COMPILED[job.key] = (compiled, judge)
    return hit


def _key(uri: str) -> tuple[str, str, str]:
    """A file's URI as Hadoop lists it and as Spark's `_metadata` gives it, alike."""
    u = urlsplit(uri)
    return (u.scheme or "file", u.netloc, unquote(u.path))


class _Out:
    """The rows a task produces, as Arrow batches."""

    def __init__(self) -> None:
        self.cols: tuple[list, ...] = tuple([] for _ in _OUT_ARROW)
        self.seq = 0

    def add(self, t: str, g: int, o: int, n: int, k: str | None, kind: str | None, sev: str | None,
            d: bytes | None) -> None:
        c = self.cols
        c[0].append(t)
        c[1].append(g)
        c[2].append(o)
        c[3].append(n)
        c[4].append(self.seq)
        self.seq += 1
        c[5].append(k)
        c[6].append(kind)
        c[7].append(sev)
        c[8].append(d)

    def __len__(self) -> int:
        return len(self.cols[0])

    def batch(self) -> pa.RecordBatch:
        b = pa.RecordBatch.from_arrays([pa.array(c, type=f.type) for c, f in zip(self.cols, _OUT_ARROW)],
                                       schema=_OUT_ARROW)
        for c in self.cols:
            c.clear()
        return b


class _Rows:
    """The item checks of a task: each record's (item, row) goes out to be grouped."""

    items = 0

    def __init__(self, task: "_Task") -> None:
        self.task = task

    def add(self, key: str, row: tuple) -> None:
        t = self.task
        t.out.add("i", 0, t.file, row[2], key, None, None, marshal.dumps(row))

    def finish(self, emit: Callable[[dict], None]) -> None:
        pass

    def close(self) -> None:
        pass


class _Task:
    """One task's checker: its findings and item rows go to `out`, tagged with the file
    being read (`file`, its index)."""

    def __init__(self, job: _Job) -> None:
        compiled, _ = _compiled(job)
        self.job = job
        self.out = _Out()
        self.file = 0
        self.records = 0
        self.checker = RecordChecker(compiled, self._emit,
                                     items=_Rows(self) if compiled.rubric.has_items else None)

    def _emit(self, f: dict) -> None:
        self.out.add("f", 0, self.file, f["line"], None, f["kind"], f["severity"], orjson.dumps(f))

    def error(self, message: str) -> None:
        self.out.add("e", 0, self.file, 0, None, None, None, message.encode("utf-8", "replace"))

    def counts(self) -> pa.RecordBatch:
        st = self.checker.stats
        self.out.add("s", 0, 0, 0, None, None, None, orjson.dumps({
            "records": self.records, "counts": st.counts, "by_severity": st.by_severity,
            "with_findings": st.with_findings, "judgments": st.judgments, "skipped": st.skipped}))
        return self.out.batch()


# ---- on the executors: records ------------------------------------------------------------------


def _check_lines(job: _Job) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The check of lines of plain JSONL files (`f` the file, `b` its block, `v` the line)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        task = _Task(job)
        lines_of = task.checker.lines
        seen: dict[tuple[str, int], int] = {}
        files: dict[str, _File] = {}
        for batch in batches:
            n = batch.num_rows
            if not n:
                continue
            fcol, bcol = batch.column(0), batch.column(1)
            values = batch.column(2).to_pylist()
            f0, b0 = fcol[0].as_py(), bcol[0].as_py()
            if f0 == fcol[n - 1].as_py() and b0 == bcol[n - 1].as_py():
                runs = [(f0, b0, 0, n)]  # the usual case: a batch within one block
            else:
                runs = []
                start = 0
                fs, bs = fcol.to_pylist(), bcol.to_pylist()
                for i in range(1, n + 1):
                    if i == n or fs[i] != fs[start] or bs[i] != bs[start]:
                        runs.append((fs[start], bs[start], start, i))
                        start = i
            for uri, block, i, j in runs:
                info = files.get(uri)
                if info is None:
                    info = files[uri] = job.files[_key(uri)]
                place = seen.get((uri, block), 0)
                seen[(uri, block)] = place + (j - i)
                lines = values[i:j]
                if block == 0 and place == 0 and lines[0].startswith(b"\xef\xbb\xbf"):
                    lines[0] = lines[0][3:]
                task.file = info.index
                _, blank = lines_of(lines, info.name, job.before[(info.index, block)] + place)
                task.records += (j - i) - blank
            if len(task.out) >= _BATCH:
                yield task.out.batch()
        yield task.counts()

    return run


def _check_whole(job: _Job) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The check of whole files (`f` the file, `c` its bytes), read as `rubric check` reads them."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        task = _Task(job)
        for batch in batches:
            uris = batch.column(0).to_pylist()
            contents = batch.column(1)
            for i, uri in enumerate(uris):
                info = job.files[_key(uri)]
                task.file = info.index
                try:
                    _whole_file(task, info, contents[i].as_py())
                except DataError as e:
                    task.error(str(e))
                if len(task.out) >= _BATCH:
                    yield task.out.batch()
        yield task.counts()

    return run


def _whole_file(task: _Task, info: _File, content: bytes) -> None:
    job, checker, name = task.job, task.checker, info.name
    ext = info.path
    if is_parquet(ext, job.input_format):
        reader: Any = ParquetReader(io.BytesIO(content), name)  # type: ignore[arg-type]
        checker.elements(reader, name)
        task.records = checker.stats.records
        return
    raw = io.BytesIO(content)
    stream: Any = io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), 1 << 20) \
        if ext.endswith(".gz") or content[:2] == b"\x1f\x8b" else io.BufferedReader(raw, 1 << 20)
    types = column_types(checker.compiled.rubric.fields) if table_format(ext, job.input_format) else None
    reader = element_reader(ext, stream, name, job.input_format, types)
    if reader is not None:
        checker.elements(reader, name)
        task.records = checker.stats.records
        return
    lineno = 0
    blank = 0
    for batch in read_batches(stream, name, lambda: lineno):
        lineno, b = checker.lines(batch, name, lineno)
        blank += b
    checker.stats.records += lineno - blank
    task.records = checker.stats.records


def _check_frame(job: _Job) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The check of a DataFrame's rows, each a record; `job.before` holds the rows before
    each partition."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        task = _Task(job)
        ctx = TaskContext.get()
        line = job.before.get((0, ctx.partitionId() if ctx is not None else 0), 0)
        name = job.frame_name
        for batch in batches:
            rows = []
            for rec in batch.to_pylist():
                line += 1
                value, why = arrow_row(rec)
                rows.append((line, value, why))
            task.checker.elements(rows, name, "a DataFrame row")
            task.records = task.checker.stats.records
            if len(task.out) >= _BATCH:
                yield task.out.batch()
        yield task.counts()

    return run


# ---- on the executors: items ---------------------------------------------------------------------


def _judge_items(job: _Job) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """Judge the items of a partition of rows sorted by item, then by input order."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        _, judge = _compiled(job)
        assert judge is not None
        out = _Out()
        key: str | None = None
        rows: list[tuple] = []
        first: tuple[int, int] = (0, 0)

        def flush() -> None:
            out.add("n", 1, first[0], first[1], key, None, None, None)
            for f in judge(key, rows):
                out.add("f", 1, first[0], first[1], key, f["kind"], f["severity"], orjson.dumps(f))

        for batch in batches:
            keys = batch.column("k").to_pylist()
            files = batch.column("o").to_pylist()
            lines = batch.column("n").to_pylist()
            data = batch.column("d").to_pylist()
            for k, o, n, d in zip(keys, files, lines, data):
                if k != key:
                    if key is not None:
                        flush()
                    key, rows, first = k, [], (o, n)
                rows.append(marshal.loads(d))
            if len(out) >= _BATCH:
                yield out.batch()
        if key is not None:
            flush()
        yield out.batch()

    return run


def _to_columns(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Findings from their JSON (`d`) to the columns of FINDINGS_SCHEMA."""
    schema = _arrow_findings_schema()
    for batch in batches:
        cols: dict[str, list] = {f.name: [] for f in schema}
        for d in batch.column(0).to_pylist():
            f = orjson.loads(d)
            for k in _BASE:
                cols[k].append(f[k])
            for k in _EXTRA:
                if k not in f:
                    cols[k].append(None)
                elif k in _JSON_COLUMNS:
                    cols[k].append(orjson.dumps(f[k]).decode())
                elif k == "values":
                    cols[k].append(list(f[k].items()))
                else:
                    cols[k].append(f[k])
        yield pa.RecordBatch.from_pydict(cols, schema=schema)


def _arrow_findings_schema() -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema  # noqa: PLC0415

    return to_arrow_schema(FINDINGS_SCHEMA)


def finding_dict(row: Any) -> dict:
    """A row of the findings DataFrame (a `Row` or a dict) as the report's finding: the
    dict `rubric check --format jsonl` writes."""
    r = row.asDict(recursive=True) if hasattr(row, "asDict") else dict(row)
    f = {k: r[k] for k in _BASE}
    for k in _EXTRA:
        v = r.get(k)
        if v is None:
            continue
        if k in _JSON_COLUMNS:
            v = orjson.loads(v)
        elif k == "values":
            v = dict(v)
        elif k == "lines":
            v = [{"file": x["file"], "line": x["line"]} for x in v]
        f[k] = v
    return f


# ---- on the driver -------------------------------------------------------------------------------


def session(master: str = "local[*]", *, app_name: str = "rubric check", config: dict[str, str] | None = None
            ) -> SparkSession:
    """A SparkSession for `check`. A local master (`local`, `local[N]`, `local[*]`) runs
    without the network: the driver on 127.0.0.1, no web UI, the Python workers on this
    interpreter."""
    builder = SparkSession.builder.master(master).appName(app_name)
    opts = {"spark.ui.showConsoleProgress": "false", "spark.sql.adaptive.enabled": "true"}
    if master.startswith("local"):
        m = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\d+)?\])?", master)
        cores = os.cpu_count() or 1
        if m and m.group(1) and m.group(1) != "*":
            cores = int(m.group(1))
        elif m and not m.group(1):
            cores = 1
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers import rubricdsl from here
        opts.update({
            "spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1", "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": str(max(2, 2 * cores)), "spark.pyspark.python": sys.executable,
            "spark.pyspark.driver.python": sys.executable,
        })
    opts.update(config or {})
    for k, v in opts.items():
        builder = builder.config(k, v)
    return builder.getOrCreate()


def check(spark: SparkSession, rubric: Rubric | str | Path, data: str | Path | Iterable[str | Path] | DataFrame, *,
          input_format: str = "auto", name: str = "<dataframe>") -> SparkReport:
    """Check `data` against `rubric` (a `Rubric`, or the path of a rubric file) on Spark.

    `data`: paths Spark reads (files, directories, globs; local, `hdfs://`, `s3a://`),
    checked in the order given (a directory's files in the order of their paths, those
    whose name starts with `_` or `.` left out), or a DataFrame of parsed rows (named
    `name` in findings). Returns a `SparkReport`: the findings as a DataFrame (the same
    multiset as `rubric check`'s, line numbers included) and the summary. Raises
    `SparkCheckError` (one line) for a path that does not exist, a file that cannot be
    read, or a failed Spark job."""
    if input_format not in INPUT_FORMATS:
        raise ValueError(f"input_format must be one of {', '.join(INPUT_FORMATS)}, not {input_format!r}")
    if not isinstance(rubric, Rubric):
        rubric = load(rubric)
    job = _job(rubric, input_format, name)
    _compiled(job)  # the rubric compiles here first: an error in it is the caller's, not a task's
    cached: list[DataFrame] = []
    try:
        with _quiet():
            return _check(spark, rubric, job, data, cached)
    except SparkCheckError:
        for df in cached:
            df.unpersist()
        raise
    except Exception as e:  # noqa: BLE001 - a failed job is one line, never a JVM stack trace
        for df in cached:
            df.unpersist()
        if not _is_spark_error(e):
            raise
        raise SparkCheckError(f"the Spark job failed: {error_line(e)}") from None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pyspark's check of the pandas version warns about versions it has not tested: not
    ours to print."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*pandas", category=FutureWarning)
        yield


def _check(spark: SparkSession, rubric: Rubric, job: _Job, data: Any, cached: list[DataFrame]) -> SparkReport:
    parts: list[DataFrame] = []
    if isinstance(data, DataFrame):
        counts = data.groupBy(F.spark_partition_id().alias("p")).count().collect()
        before = 0
        for p, n in sorted((r[0], r[1]) for r in counts):
            job.before[(0, p)] = before
            before += n
        files = [job.frame_name]
        parts.append(data.mapInArrow(_check_frame(job), _OUT))
    else:
        paths = [str(data)] if isinstance(data, (str, Path)) else [str(p) for p in data]
        listed = _list_files(spark, paths, job.input_format)
        files = []
        for f in listed:
            job.files[f.key] = f
            files.append(f.name)
        lines = [f for f in listed if not f.whole]
        whole = [f for f in listed if f.whole]
        if lines:
            text = spark.read.option("lineSep", "\n").text([_escape_glob(f.uri) for f in lines])
            text = text.select(F.col("_metadata.file_path").alias("f"), F.col("_metadata.file_block_start").alias("b"),
                               F.col("value").cast("binary").alias("v"))
            blocks: dict[int, list[tuple[int, int]]] = {}
            for r in text.groupBy("f", "b").count().collect():
                blocks.setdefault(job.files[_key(r[0])].index, []).append((r[1], r[2]))
            for index, bs in blocks.items():
                before = 0
                for start, n in sorted(bs):
                    job.before[(index, start)] = before
                    before += n
            parts.append(text.mapInArrow(_check_lines(job), _OUT))
        if whole:
            binary = spark.read.format("binaryFile").load([_escape_glob(f.uri) for f in whole])
            binary = binary.select(F.col("_metadata.file_path").alias("f"), F.col("content").alias("c"))
            parts.append(binary.mapInArrow(_check_whole(job), _OUT))
    if not parts:
        raise SparkCheckError("no data files to check")
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    out = out.persist(StorageLevel.MEMORY_AND_DISK)
    cached.append(out)

    # the counts of every task, and the first file (in input order) that cannot be read
    records, counts, by_sev, with_findings = 0, {k: 0 for k in KINDS}, {"error": 0, "warning": 0, "info": 0}, 0
    judgments: int | None = None
    skipped: int | None = None
    errors = []
    for t, o, d in out.where(F.col("t").isin("s", "e")).select("t", "o", "d").collect():
        if t == "e":
            errors.append((o, bytes(d).decode("utf-8")))
            continue
        s = orjson.loads(d)
        records += s["records"]
        with_findings += s["with_findings"]
        for k, v in s["counts"].items():
            counts[k] += v
        for k, v in s["by_severity"].items():
            by_sev[k] += v
        if s["judgments"] is not None:
            judgments = (judgments or 0) + s["judgments"]
            skipped = (skipped or 0) + (s["skipped"] or 0)
    if errors:
        raise SparkCheckError(min(errors)[1])
    if judgments is None and rubric.ir.record_each is not None:
        judgments, skipped = 0, 0

    raw = out.where(F.col("t") == "f").select("g", "o", "n", "s", "k", "d")
    items: int | None = None
    if rubric.ir.has_items:
        rows = out.where(F.col("t") == "i").select("k", "o", "n", "s", "d")
        grouped = rows.repartition("k").sortWithinPartitions("k", "o", "n", "s")
        judged = grouped.mapInArrow(_judge_items(job), _OUT).persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(judged)
        items = 0
        for t, kind, sev, n in judged.groupBy("t", "kind", "sev").count().collect():
            if t == "n":
                items += n
            else:
                counts[kind] += n
                by_sev[sev] += n
        raw = raw.unionByName(judged.where(F.col("t") == "f").select("g", "o", "n", "s", "k", "d"))
    findings = raw.select("d").mapInArrow(_to_columns, FINDINGS_SCHEMA)
    summary = summary_dict(records, counts, by_sev, items, judgments, skipped)
    summary["with_findings"] = with_findings
    return SparkReport(findings, summary, rubric.info(), files, raw, tuple(cached))


_GLOB = re.compile(r"([\\\[\]{}*?])")


def _escape_glob(uri: str) -> str:
    """A file's path as Spark reads it literally (its glob characters escaped)."""
    return _GLOB.sub(r"\\\1", uri)


def _list_files(spark: SparkSession, paths: list[str], input_format: str) -> list[_File]:
    """Every file of `paths` (files, directories, globs), in order, each with how it is read."""
    jvm = spark._jvm  # type: ignore[attr-defined]
    conf = spark._jsc.hadoopConfiguration()  # type: ignore[attr-defined]
    out: list[_File] = []
    seen: set[tuple[str, str, str]] = set()
    for arg in paths:
        path = jvm.org.apache.hadoop.fs.Path(arg)
        try:
            fs = path.getFileSystem(conf)
            statuses = fs.globStatus(path)
        except Exception as e:  # noqa: BLE001 - no file system for the scheme, no access
            if not _is_spark_error(e):
                raise
            raise SparkCheckError(f"{arg}: cannot list: {error_line(e)}") from None
        if not statuses:
            raise SparkCheckError(f"{arg}: no such file")
        found = []
        for st in sorted(statuses, key=lambda s: s.getPath().toString()):
            if st.isDirectory():
                listing = fs.listFiles(st.getPath(), True)
                base = st.getPath().toUri().getPath().rstrip("/")
                inside = []
                while listing.hasNext():
                    f = listing.next()
                    rel = f.getPath().toUri().getPath()[len(base) + 1:]
                    if not any(part.startswith(("_", ".")) for part in rel.split("/")):
                        inside.append((f.getPath().toString(), f, arg.rstrip("/") + "/" + rel))
                found += [(f, name) for _, f, name in sorted(inside, key=lambda x: x[0])]
            else:
                found.append((st, arg if not _has_glob(arg) else _shown_path(arg, st)))
        if not found:
            raise SparkCheckError(f"{arg}: no data files (the directory is empty)")
        for st, name in found:
            k = _key(st.getPath().toUri().toString())
            if k in seen:
                continue
            seen.add(k)
            out.append(_File(len(out), name, st.getPath().toString(), st.getPath().toUri().getPath(),
                             _read_whole(fs, st, input_format), k))
    return out


def _has_glob(arg: str) -> bool:
    return any(c in arg for c in "*?[{")


def _shown_path(arg: str, st: Any) -> str:
    """The name of a file a glob found: its path, with the scheme when the glob had one."""
    return st.getPath().toString() if "://" in arg or arg.startswith("file:") else st.getPath().toUri().getPath()


def _read_whole(fs: Any, st: Any, input_format: str) -> bool:
    """Whether a file is read whole by one task: anything but plain JSONL (which Spark splits)."""
    p = st.getPath().toUri().getPath()
    if input_format not in ("auto", "jsonl") or is_parquet(p, input_format) or table_format(p, input_format):
        return True
    if p.endswith(".gz"):
        return True
    want = 64
    stream = fs.open(st.getPath())
    try:
        while True:
            head = bytes(stream.readNBytes(want)) if want == 64 else head + bytes(stream.readNBytes(want - len(head)))
            if head[:2] == b"\x1f\x8b":
                return True
            if input_format == "jsonl":
                return False
            body = (head[3:] if head.startswith(b"\xef\xbb\xbf") else head).lstrip(b" \t\r\n")
            if body:
                return body[:1] == b"["
            if len(head) < want or want >= 1 << 20:
                return False
            want *= 4
    finally:
        stream.close()


def _is_spark_error(e: BaseException) -> bool:
    mod = type(e).__module__ or ""
    return mod.startswith(("pyspark", "py4j"))


_EXCEPTION_LINE = re.compile(r"^\s*(?:Caused by: )?((?:[\w$]+\.)*([\w$]+(?:Exception|Error)))(?::\s*(.*))?$")


def error_line(e: BaseException) -> str:
    """The deepest cause a Spark error names, as one line: `FileNotFoundException: ...`."""
    text = str(e)
    found = None
    for line in text.splitlines():
        m = _EXCEPTION_LINE.match(line)
        if m:
            found = f"{m.group(2)}: {m.group(3)}" if m.group(3) else m.group(2)
    if found is None:
        found = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(e).__name__)
    return " ".join(found.split())[:300]


# ---- writing the findings --------------------------------------------------------------------------


def write(report: SparkReport, spark: SparkSession, out_dir: str, fmt: str = "jsonl") -> None:
    """Write the findings to the directory `out_dir`, which must not exist: `jsonl` (the
    lines of `rubric check --format jsonl`, in its order across the part files) or
    `parquet` (FINDINGS_SCHEMA), and `_summary.json` (the JSONL report's summary line;
    Spark's readers leave out files whose name starts with `_`). The directory appears
    once complete (written beside it, then renamed)."""
    with _quiet():
        _write(report, spark, out_dir, fmt)


def _write(report: SparkReport, spark: SparkSession, out_dir: str, fmt: str) -> None:
    import secrets  # noqa: PLC0415

    jvm = spark._jvm  # type: ignore[attr-defined]
    conf = spark._jsc.hadoopConfiguration()  # type: ignore[attr-defined]
    target = jvm.org.apache.hadoop.fs.Path(out_dir)
    fs = target.getFileSystem(conf)
    if fs.exists(target):
        raise SparkCheckError(f"{out_dir}: exists; name a new directory for the findings")
    tmp = jvm.org.apache.hadoop.fs.Path(target.getParent(), f".{target.getName()}.tmp-{secrets.token_hex(6)}")
    try:
        ordered = report.raw.orderBy("g", "o", "n", "s", "k")
        if fmt == "jsonl":
            ordered.select(F.col("d").cast("string")).write.text(tmp.toString())
        elif fmt == "parquet":
            ordered.select("d").mapInArrow(_to_columns, FINDINGS_SCHEMA).write.parquet(tmp.toString())
        else:
            raise ValueError(f"fmt must be jsonl or parquet, not {fmt!r}")
        line = orjson.dumps({"kind": "summary", "rubric": report.rubric, "files": report.files,
                             "summary": {k: v for k, v in report.summary.items() if k != "with_findings"}}) + b"\n"
        stream = fs.create(jvm.org.apache.hadoop.fs.Path(tmp, "_summary.json"), False)
        try:
            stream.write(bytearray(line))
        finally:
            stream.close()
        if fs.exists(target) or not fs.rename(tmp, target):
            raise SparkCheckError(f"{out_dir}: cannot be written (it appeared during the run, or the rename failed)")
    except Exception as e:
        try:
            fs.delete(tmp, True)
        except Exception:  # noqa: BLE001 - the first failure is the one to report
            pass
        if isinstance(e, SparkCheckError) or not _is_spark_error(e):
            raise
        raise SparkCheckError(f"{out_dir}: cannot write the findings: {error_line(e)}") from None
