"""Running a compiled rubric over data files: every line accounted for, findings
emitted in input order, large files split between processes with the same output,
items grouped and judged at the end."""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import orjson

from rubricdsl.core.values import show
from rubricdsl.engine.codegen import SKIP, Compiled, annotate
from rubricdsl.engine.findings import (
    CODE_KINDS, KINDS, Expander, annotator_row, each_finding, getter, id_text, judgment_getter, unreadable_finding,
)
from rubricdsl.engine.reading import (
    ArrayReader, array_part, array_parts, array_rest, column_types, element_reader, is_json_array,
    is_parquet, not_an_object, open_data, read_batches, read_line, table_format,
)


NOT_READ = object()  # a line the typed decoder did not read


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during `run`: `stats` holds what was checked before it."""

    def __init__(self, stats: "Stats") -> None:
        super().__init__()
        self.stats = stats


@dataclass
class Stats:
    records: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KINDS})
    by_severity: dict[str, int] = field(default_factory=lambda: {"error": 0, "warning": 0, "info": 0})
    with_findings: int = 0
    files: list[str] = field(default_factory=list)
    items: int | None = None  # items judged, when the rubric has item checks
    # with `each`: judgments checked and judgments `skip when` left out
    judgments: int | None = None
    skipped: int | None = None
    # with arm counts: per decide, records counted per arm bitmask (0 = uncovered)
    masks: list[dict[int, int]] | None = None
    # with `by_annotator`: per annotator (None: records without one), the judgments
    # checked and their findings by kind (`findings.annotator_row`)
    by_annotator: dict[str | None, dict[str, int]] | None = None

    def add_by_annotator(self, other: dict[str | None, dict[str, int]] | None) -> None:
        """Add another part's per-annotator counts to this run's."""
        if other is None or self.by_annotator is None:
            return
        for name, row in other.items():
            mine = self.by_annotator.get(name)
            if mine is None:
                self.by_annotator[name] = dict(row)
            else:
                for k, n in row.items():
                    mine[k] += n

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


# The typed decoder (`engine.decode`) costs a second code generation, about as long as
# the checker's own, and saves about a microsecond per line: a rubric whose generated
# checker is at most TYPED_FREE characters long (every rubric written by hand) builds it
# before its first line; a longer one reads a line on the general path for every
# TYPED_RATE characters beyond that first, so that a short file checked with a rubric
# of thousands of fields or arms never pays for it. The findings are the same either way.
TYPED_FREE = 200_000
TYPED_RATE = 1
# a parallel run guesses a file's lines from its size, as lines of at least this many bytes
TYPED_LINE_BYTES = 100


class RecordChecker:
    """The one path from a record to its findings, shared by `run`, the Python API's
    `check_records` and `rubric diff --data`: each record (a line of JSON, or a Python
    object) goes through the generated checker; its findings are expanded, counted in
    `stats` and handed to `emit` (through `encode` when one is given: the parallel path
    encodes in the worker processes, so the output is the same); its row goes to the
    item checks and the arm counts; `finish` judges the items at the end.

    `items`: what receives each record's (item, row) and judges the items at the end
    (`add`, `finish`, `close`, `items`); by default an `items.ItemChecker` when the
    rubric has item checks. `arm_counts` (the rubric compiled with `all_decides=True`)
    fills `Stats.masks`: the checker counts them itself when there are no items, else
    they are counted from the rows. `by_annotator` fills `Stats.by_annotator`: the
    judgments and findings of each annotator."""

    def __init__(self, compiled: Compiled, emit: Callable[[Any], None], stats: Stats | None = None, *,
                 encode: Callable[[dict], Any] | None = None, items: Any = None, arm_counts: bool = False,
                 by_annotator: bool = False) -> None:
        rubric = compiled.rubric
        if arm_counts and (compiled.plan is None or len(compiled.plan.decides) != len(rubric.decides)):
            raise ValueError("arm counts need the rubric compiled with all_decides=True")
        self.compiled = compiled
        self.stats = stats = stats if stats is not None else Stats()
        self.sink = emit  # what receives findings already encoded (by the workers of a parallel run)
        self.encode = encode
        self.emit = emit if encode is None else (lambda f, _e=emit, _c=encode: _e(_c(f)))
        if items is None and rubric.has_items:
            from rubricdsl.engine.items import ItemChecker  # noqa: PLC0415

            assert compiled.plan is not None
            items = ItemChecker(rubric, compiled.plan, check=compiled.item_check)
        self.items = items
        # arm counts without items: the checker counts them itself (no row per record)
        self.counting = arm_counts and items is None and compiled.check_count is not None
        self.check = compiled.check_count if self.counting else compiled.check
        self.check_row = compiled.check_row
        # what receives each (item, row); what counts arms from the rows, when they do
        self._item_rows = items.add if items is not None else None
        self._count_arms = arm_counter(compiled, stats) if arm_counts and not self.counting else None
        self.on_row = row_handler(compiled, stats, self._item_rows, self._count_arms)
        if self.counting:
            _reset(compiled.counters)
            stats.masks = compiled.counters
        self.expander = Expander(rubric)
        # judgments inside a record (`each`): the list, and what names each judgment
        self.each = rubric.record_each
        if self.each is not None:
            self._each_get = getter(self.each)
            self._each_text = ".".join(str(s) for s in self.each if isinstance(s, (str, int)))
            self._judgment_name = judgment_getter(rubric.record_judgment) if rubric.record_judgment else None
            stats.judgments = stats.judgments or 0
            stats.skipped = stats.skipped or 0
        self.by_annotator: dict[str | None, dict[str, int]] | None = None
        if by_annotator:
            self._count_by_annotator()
        # lines to read on the general path before the typed decoder is built (see `lines`);
        # none when it is built already (a parallel run's main process built it)
        built = compiled.fast_by if by_annotator else compiled.fast
        self._typed_after = 0 if built is not None else max(0, len(compiled.source) - TYPED_FREE) // TYPED_RATE

    def _count_by_annotator(self) -> None:
        """Count each annotator's judgments and findings (`Stats.by_annotator`) by wrapping
        the checker's functions: a run without it pays nothing for it. Each finding
        tuple is one finding of its kind (`CODE_KINDS`)."""
        stats = self.stats
        if stats.by_annotator is None:
            stats.by_annotator = {}
        table = self.by_annotator = stats.by_annotator
        ann_of = self.expander.annotator
        kinds = CODE_KINDS

        def tally_name(a: str | None, res: Any) -> None:
            row = table.get(a)
            if row is None:
                row = table[a] = annotator_row()
            row["judgments"] += 1
            for t in res or ():
                row[kinds[t[0]]] += 1

        def tally(rec: Any, jud: Any, res: Any) -> None:
            tally_name(ann_of(rec, jud), res)

        self._tally = tally_name  # for the typed decoder, which reads the annotator itself

        check, check_row = self.check, self.check_row
        if self.each is None:
            def counted(rec: dict, _c: Any = check) -> Any:
                res = _c(rec)
                tally(rec, None, res)
                return res

            def counted_row(rec: dict, _c: Any = check_row) -> Any:
                got = _c(rec)
                tally(rec, None, got[0])
                return got
        else:
            def counted(rec: dict, jud: dict, _c: Any = check) -> Any:  # type: ignore[misc]
                res = _c(rec, jud)
                if res is not SKIP:
                    tally(rec, jud, res)
                return res

            def counted_row(rec: dict, jud: dict, _c: Any = check_row) -> Any:  # type: ignore[misc]
                got = _c(rec, jud)
                if got is not SKIP:
                    tally(rec, jud, got[0])
                return got
        self.check = counted
        if check_row is not None:
            self.check_row = counted_row

    def _unreadable(self, name: str, lineno: int, why: str, what: str = "a JSON object") -> None:
        stats = self.stats
        stats.with_findings += 1
        stats.counts["unreadable"] += 1
        stats.by_severity["error"] += 1
        self.emit(unreadable_finding(name, lineno, why, what))

    def lines(self, batch: list[bytes], name: str, lineno: int) -> tuple[int, int]:
        """Check a batch of JSON lines whose first is line `lineno + 1`; returns (last line
        number, blank lines). Every line that is not blank is a record: one that is not
        a JSON object is an `unreadable` finding."""
        try:
            if self.each is not None:
                return self._loop_each(batch, name, lineno, orjson.loads)
            typed = self._typed() if self._typed_after <= 0 else None
            if typed is None:
                got = self._loop(batch, name, lineno, orjson.loads)
                self._typed_after -= got[0] - lineno
                return got
            if self.on_row is not None:
                return self._loop_typed_rows(batch, name, lineno, typed)
            return self._loop_typed(batch if batch.__class__ is list else list(batch), name, lineno, typed)
        except Exception as e:
            annotate(e)
            raise

    def _typed(self) -> Any:
        """The rubric's typed decoder (`engine.decode`), the check to run on what it reads
        (with arm counts, the check that counts them; with item checks, `check_row`) and,
        with counts by annotator, what counts a record's judgment and findings by its
        annotator's name. None when there is none."""
        from rubricdsl.engine.decode import fast_path  # noqa: PLC0415

        by = self.by_annotator is not None
        if self.on_row is not None:
            if self._item_rows is None:
                return None
            typed = fast_path(self.compiled, rows=True)
            return None if typed is None else (typed, typed.check, self._tally if by else None)
        typed = fast_path(self.compiled, annotator=by)
        if typed is None:
            return None
        check = typed.check_count if self.counting else typed.check
        return None if check is None else (typed, check, self._tally if by else None)

    def records(self, records: Iterable[Any], name: str, lineno: int = 0) -> int:
        """Check Python objects, the n-th as line `lineno + n`: a dict is a record,
        anything else is an `unreadable` finding. Counts them in `stats.records`;
        returns the last line number."""
        try:
            last, _ = (self._loop if self.each is None else self._loop_each)(records, name, lineno, _as_record)
        except Exception as e:
            annotate(e)
            raise
        self.stats.records += last - lineno
        return last

    def _loop(self, batch: Iterable[Any], name: str, lineno: int, loads: Callable[[Any], Any]) -> tuple[int, int]:
        """The loop over records, each line read by `loads` (orjson, or `_as_record` for
        Python objects) and checked by the rubric's checker; returns (last line number,
        blank lines)."""
        decode_error = orjson.JSONDecodeError
        check = self.check
        on_row = self.on_row
        check_row = self.check_row
        found = self._found
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
                    found(res, rec, name, lineno)
                continue
            self._unreadable(name, lineno, not_an_object(rec))
        return lineno, blank

    def _found(self, res: list, rec: dict, name: str, lineno: int) -> None:
        """A record's finding tuples: expanded, counted and emitted."""
        stats = self.stats
        stats.with_findings += 1
        counts = stats.counts
        sev = stats.by_severity
        emit = self.emit
        for f in self.expander.expand(res, rec, name, lineno):
            counts[f["kind"]] += 1
            sev[f["severity"]] += 1
            emit(f)

    def _loop_typed(self, batch: list[bytes], name: str, lineno: int, typed: Any) -> tuple[int, int]:
        """`_loop` with the rubric's typed decoder (`_typed()`: a `decode.FastPath` and its
        check), the hot path of `rubric check`, in two passes over the batch. The first
        reads each line with the typed decoder and checks it: a record read with nothing
        to report (nearly all of them) is done there, at the cost of a decode and a
        check. The second takes the other lines in order. A line the typed decoder read
        is read again by orjson (or the strict reader, for numbers beyond a double), for
        its findings' values, but not checked again: the typed check's findings are the
        checker's (`codegen.compile_fast_check`), and its arms and its annotator's counts
        are counted once, in the first pass. Every other line (the typed decoder rejected
        it, or it is not UTF-8 where the typed decoder skipped) takes the general path,
        `_loop`."""
        fast, fast_check, tally = typed
        decode, errors, utf8 = fast.decode, fast.errors, fast.utf8
        rest: list[tuple[int, Any]] = []  # (index in the batch, the typed check's findings or NOT_READ)
        keep = rest.append
        if tally is None:
            for i, line in enumerate(batch):
                try:
                    rec = decode(line)
                except errors:
                    keep((i, NOT_READ))
                    continue
                if not (line.isascii() or utf8(line)):
                    keep((i, NOT_READ))
                    continue
                res = fast_check(rec)
                if res:
                    keep((i, res))
        else:  # counts by annotator: each record the typed decoder reads is counted here
            annotator = fast.annotator
            for i, line in enumerate(batch):
                try:
                    rec = decode(line)
                except errors:
                    keep((i, NOT_READ))
                    continue
                if not (line.isascii() or utf8(line)):
                    keep((i, NOT_READ))
                    continue
                res = fast_check(rec)
                tally(annotator(rec), res)
                if res:
                    keep((i, res))
        if not rest:
            return lineno + len(batch), 0
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        found = self._found
        general = self._loop
        blank = 0
        for i, res in rest:
            line = batch[i]
            if res is not NOT_READ:
                try:
                    rec = loads(line)
                    why = None
                except decode_error:
                    rec, why = read_line(line)  # a number beyond a double where no field reads
                if why is None and rec.__class__ is dict:
                    found(res, rec, name, lineno + i + 1)
                    continue
            blank += general((line,), name, lineno + i, loads)[1]
        return lineno + len(batch), blank

    def _loop_typed_rows(self, batch: Iterable[bytes], name: str, lineno: int, typed: Any) -> tuple[int, int]:
        """`_loop` with the typed decoder that also reads the item and the annotator
        (`decode.fast_path(rows=True)`), for a rubric with item checks: one pass, in input
        order, as rows carry their place in the input. A line the decoder reads gives its
        findings and its row (`check_row`) and, with the item and annotator it read, the
        row the general path would give (its arms counted, with arm counts; its judgment
        and findings counted by annotator, with those counts); a line with findings is
        read again by orjson for the values they show. Every other line takes the
        general path, `_loop`."""
        from rubricdsl.engine.items import row_flags  # noqa: PLC0415

        fast, check_row, tally = typed
        decode, errors, utf8 = fast.decode, fast.errors, fast.utf8
        item_of, ann_of = fast.item, fast.annotator
        add = self._item_rows
        count_arms = self._count_arms
        assert add is not None and item_of is not None
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        found = self._found
        general = self._loop
        blank = 0
        for line in batch:
            try:
                rec = decode(line)
            except errors:
                rec = NOT_READ
            if rec is NOT_READ or not (line.isascii() or utf8(line)):
                blank += general((line,), name, lineno, loads)[1]
                lineno += 1
                continue
            lineno += 1
            res, row = check_row(rec)
            if res:
                try:
                    obj = loads(line)
                    why = None
                except decode_error:
                    obj, why = read_line(line)  # a number beyond a double where no field reads
                if why is not None or obj.__class__ is not dict:
                    blank += general((line,), name, lineno - 1, loads)[1]
                    continue
            ann = None if ann_of is None else ann_of(rec)
            if tally is not None:
                tally(ann, res)
            if count_arms is not None:
                count_arms(row)
            key = item_of(rec)
            if key is not None:
                add(key, (ann, name, lineno, row_flags(res) if res else 0, row))
            if res:
                found(res, obj, name, lineno)
        return lineno, blank

    def elements(self, elements: Iterable[tuple[int, Any, str | None]], name: str, what: str | None = None) -> int:
        """Check the elements of a JSON array file or the rows of a table, each (line,
        value, why) as `ArrayReader` and `TableReader` give them: `why` says why an
        element is unreadable, and `what` (by default the reader's) what a record is
        there, for the message. Counts them in `stats.records`; returns how many there were."""
        what = what or getattr(elements, "what", "a JSON object")
        loop = self._loop if self.each is None else self._loop_each
        n = 0
        try:
            for line, value, why in elements:
                n += 1
                self.stats.records += 1
                if why is not None:
                    self._unreadable(name, line, why, what)
                else:
                    loop((value,), name, line - 1, _as_record)
        except Exception as e:
            annotate(e)
            raise
        return n

    def _loop_each(self, batch: Iterable[Any], name: str, lineno: int, loads: Callable[[Any], Any]) -> tuple[int, int]:
        """`_loop` for a rubric with `each`: every record is a list of judgments."""
        decode_error = orjson.JSONDecodeError
        blank = 0
        judge = self._judge
        for line in batch:
            lineno += 1
            try:
                rec = loads(line)
            except decode_error:
                if not line.strip():
                    blank += 1
                    continue
                rec, why = read_line(line)
                if why is not None:
                    self._unreadable(name, lineno, why)
                    continue
            if rec.__class__ is dict:
                judge(rec, name, lineno)
                continue
            self._unreadable(name, lineno, not_an_object(rec))
        return lineno, blank

    def _judge(self, rec: dict, name: str, lineno: int) -> None:
        """Check every judgment of one record, each as a record of its own."""
        stats = self.stats
        found: list[dict] = []
        lst = self._each_get(rec)
        if lst.__class__ is not list:
            what = "missing" if lst is None else f"not a list: got {show(lst)}"
            found.append(each_finding(name, lineno, self.expander.record_id(rec, lineno), self._each_text,
                                      f"`{self._each_text}` (the list of judgments) is {what}", None, lst))
            self._about_list(found, rec)
        else:
            check, check_row, on_row = self.check, self.check_row, self.on_row
            rid = None
            for pos, jud in enumerate(lst, 1):
                if jud.__class__ is not dict:
                    rid = rid or self.expander.record_id(rec, lineno)
                    found.append(each_finding(name, lineno, rid, self._each_text,
                                              f"element {pos} of `{self._each_text}` is not an object: {show(jud)}",
                                              str(pos), jud))
                    self._about_list(found[-1:], rec)
                    continue
                if on_row is None:
                    res = check(rec, jud)
                    if res is SKIP:
                        stats.skipped += 1
                        continue
                else:
                    got = check_row(rec, jud)
                    if got is SKIP:
                        stats.skipped += 1
                        continue
                    res, row = got
                    on_row(rec, res, row, name, lineno, jud)
                stats.judgments += 1
                if res:
                    found += self.expander.expand(res, rec, name, lineno, jud, self._name(jud, pos))
        if found:
            stats.with_findings += 1
            counts, sev, emit = stats.counts, stats.by_severity, self.emit
            for f in found:
                counts[f["kind"]] += 1
                sev[f["severity"]] += 1
                emit(f)

    def _about_list(self, found: list[dict], rec: dict) -> None:
        """Findings about the list of judgments (no judgment): the record's annotator and
        context, where their paths start at the record's root; counted for that annotator."""
        if self.expander.describes:
            self.expander.describe(found, rec, None)
        table = self.by_annotator
        if table is not None:
            for f in found:
                a = f.get("annotator")
                row = table.get(a)
                if row is None:
                    row = table[a] = annotator_row()
                row[f["kind"]] += 1

    def _name(self, jud: dict, pos: int) -> str:
        """A judgment's name in findings: the value at the `judgment` path, as text, or
        else its position in the list, from 1."""
        if self._judgment_name is not None:
            v = id_text(self._judgment_name(None, jud))
            if v is not None:
                return v
        return str(pos)

    def finish(self, emit: Callable[[dict], None] | None = None) -> None:
        """The end of the input: keep this run's arm counts, and judge the items; their
        findings go to `emit` when given, else where the records' went, counted in `stats`."""
        stats = self.stats
        if self.counting:
            stats.masks = [dict(c) for c in self.compiled.counters or ()]  # this run's, whatever runs next
        items = self.items
        if items is None:
            return
        encoded = None
        if emit is None:
            out, counts, sev = self.emit, stats.counts, stats.by_severity

            def emit(f: dict) -> None:
                counts[f["kind"]] += 1
                sev[f["severity"]] += 1
                out(f)

            if self.encode is not None and getattr(items, "partitions", 0):
                # items judged in other processes: they encode their findings, as the
                # workers that check records do
                sink = self.sink

                def sink_encoded(kind: str, severity: str, data: Any) -> None:
                    counts[kind] += 1
                    sev[severity] += 1
                    sink(data)

                encoded = (self.encode, sink_encoded)
        try:
            if encoded is not None:
                items.finish(emit, encoded)
            else:
                items.finish(emit)
        except Exception as e:
            annotate(e)
            raise
        stats.items = items.items

    def close(self) -> None:
        """Drop the items' rows and their temporary file, if any; safe to call twice."""
        if self.items is not None:
            self.items.close()


def _as_record(obj: Any) -> Any:
    """A Python object as a record: a dict of a subclass is read as a plain dict."""
    if obj.__class__ is not dict and isinstance(obj, dict):
        return dict(obj)
    return obj


class _WorkerRows(list):
    """A worker process's stand-in for the item checks: it keeps (item, row) pairs for
    the main process, which groups and judges them."""

    items = 0

    def add(self, key: str, row: tuple) -> None:
        self.append((key, row))

    def finish(self, emit: Callable[[dict], None]) -> None:
        pass

    def close(self) -> None:
        pass


PARALLEL_MIN_BYTES = 16 << 20
CHUNK_BYTES = 4 << 20
# input bytes per partition of item rows: a partition's rows fit in memory when judged
PARTITION_BYTES = 48 << 20


def partitions_for(paths: list[str], jobs: int) -> int:
    """How many partitions the item rows of a run over `paths` are split into: a few per
    process (so that they share the work evenly), more for larger inputs (so that each
    partition's rows fit in memory: `items.MEMORY_ROWS`), at most 256 (the main process
    keeps a file of each open while it merges their findings)."""
    size = 0
    for p in paths:
        try:
            if p != "-" and os.path.isfile(p):
                size += os.path.getsize(p)
        except OSError:
            pass
    n = max(4 * jobs, -(-size // PARTITION_BYTES))
    return min(256, -(-n // jobs) * jobs)


class _PartitionRows:
    """A worker process's stand-in for the item checks of a partitioned run: it splits
    (item, row) pairs by partition, each row with its place in the input
    (`items.PART_SHIFT`), and `write` appends them to the partition files."""

    items = 0

    def __init__(self, partitions: int, part: int) -> None:
        from rubricdsl.engine.items import PART_SHIFT, Blocks  # noqa: PLC0415

        self.blocks = Blocks(partitions, part << PART_SHIFT)
        self.add = self.blocks.add

    def write(self, directory: str) -> None:
        self.blocks.write(directory, str(os.getpid()))

    def finish(self, emit: Callable[[dict], None]) -> None:
        pass

    def close(self) -> None:
        pass


def row_handler(compiled: Compiled, stats: Stats, item_rows: Callable[[str, tuple], None] | None,
                count_arms: Callable[[tuple], None] | None) -> Callable[[dict, Any, tuple, str, int], None] | None:
    """What to do with each record's row: count decide arms (`count_arms`, from
    `arm_counter`), hand (item, row) to `item_rows`."""
    if item_rows is None and count_arms is None:
        return None
    assert compiled.check_row is not None and compiled.plan is not None
    feed = None
    if item_rows is not None:
        from rubricdsl.engine.items import RowMaker  # noqa: PLC0415

        feed = RowMaker(compiled.rubric).feeder(item_rows)
        if count_arms is None:
            return feed

    def on_row(rec: dict, res: Any, row: tuple, file: str, line: int, jud: Any = None) -> None:
        count_arms(row)
        if feed is not None:
            feed(rec, res, row, file, line, jud)

    return on_row


def arm_counter(compiled: Compiled, stats: Stats) -> Callable[[tuple], None]:
    """What counts, from each record's row, the records per arm bitmask of every decide
    (into `Stats.masks`, made here)."""
    assert compiled.plan is not None
    cols: list[tuple[int, dict[int, int]]] = []
    base = len(compiled.plan.fields)
    stats.masks = [{} for _ in compiled.rubric.decides]
    for i, d in enumerate(compiled.plan.decides):
        cols.append((base + i, stats.masks[d.index]))

    def count_arms(row: tuple) -> None:
        for col, per in cols:
            m = row[col]
            if m is not None:
                per[m] = per.get(m, 0) + 1

    return count_arms


def run(compiled: Compiled, paths: Iterable[str], emit: Callable[[Any], None],
        progress: Callable[[int, int | None, str], None] | None = None, jobs: int = 1,
        encode: Callable[[dict], Any] | None = None, arm_counts: bool = False, items: Any = None,
        input_format: str = "auto", by_annotator: bool = False) -> Stats:
    """Check every record of every file.

    `emit` receives each finding (as a dict, or as `encode(dict)`), in file and line
    order, then the item findings in the order of each item's first record. Every
    non-blank line is counted in `records`; unreadable lines are findings, never
    skipped. With jobs > 1, large plain files are split between processes; the
    findings and their order are the same as with one (CSV and TSV files are read by
    this process).

    `input_format` (one of `reading.INPUT_FORMATS`) says how files are read: "auto" goes
    by the extension (`.csv`, `.tsv`), then by the first non-blank character.

    `arm_counts` (the rubric compiled with `all_decides=True`) fills `Stats.masks`.
    `items` replaces the default judging of items (see `RecordChecker`). `by_annotator`
    fills `Stats.by_annotator` (the same counts for any `jobs`).

    With jobs > 1 and item checks, the rows of items are split by item into partitions
    (`items.ItemChecker.use_partitions`), which are judged in parallel at the end."""
    paths = list(paths)
    if jobs > 1 and compiled.rubric.has_items:
        if items is None:
            from rubricdsl.engine.items import ItemChecker  # noqa: PLC0415

            assert compiled.plan is not None
            items = ItemChecker(compiled.rubric, compiled.plan, check=compiled.item_check)
        if getattr(items, "partitionable", None) is not None and items.partitionable():
            items.use_partitions(jobs, partitions_for(paths, jobs), _fork_pool)
    checker = RecordChecker(compiled, emit, encode=encode, items=items, arm_counts=arm_counts,
                            by_annotator=by_annotator)
    stats = checker.stats
    import gc  # noqa: PLC0415

    gc_was_on = gc.isenabled()
    gc.disable()  # records are trees (no cycles): reference counting frees them; saves GC passes
    try:
        _run_files(paths, jobs, checker, encode, progress, arm_counts, input_format)
        checker.finish()
    except KeyboardInterrupt:
        raise Interrupted(stats) from None
    finally:
        checker.close()  # the items' temporary file goes on every way out
        if gc_was_on:
            gc.enable()
    return stats


def _reset(counters: list[dict[int, int]] | None) -> None:
    for c in counters or ():
        c.clear()


def _run_files(paths: Iterable[str], jobs: int, checker: RecordChecker, encode: Callable[[dict], Any] | None,
               progress: Callable[[int, int | None, str], None] | None, arm_counts: bool,
               input_format: str = "auto") -> None:
    stats = checker.stats
    types: dict[tuple[str, ...], str] | None = None
    for path in paths:
        table = table_format(path, input_format)
        if table is not None and types is None:
            types = column_types(checker.compiled.rubric.fields)
        if jobs > 1 and path != "-" and table is None and not is_parquet(path, input_format):
            kind = _splittable(path, input_format)
            parts = _boundaries(path, CHUNK_BYTES) if kind == "lines" else \
                array_parts(path, CHUNK_BYTES) if kind == "array" else None
            if parts is not None and len(parts) > 1:
                _run_parallel(checker, path, parts, kind == "array", encode, progress, jobs, arm_counts)
                continue
        stream, name, tell, size = open_data(path)
        stats.files.append(name)
        try:
            reader = element_reader(path, stream, name, input_format, types)
        except BaseException:
            if path != "-":
                stream.close()
            raise
        if reader is not None:
            # a table, or one JSON array of records, read as a stream (an array that
            # splits went to _run_parallel)
            try:
                checker.elements(reader, name)
                if progress is not None:
                    progress(tell() if tell else 0, size, name)
            finally:
                if path != "-":
                    stream.close()
            continue
        lineno = 0
        blank = 0
        try:
            for batch in read_batches(stream, name, lambda: lineno):
                lineno, b = checker.lines(batch, name, lineno)
                blank += b
                if progress is not None:
                    progress(tell() if tell else 0, size, name)
        finally:
            stats.records += lineno - blank  # an interrupted run reports what it read
            if path != "-":
                stream.close()


def _splittable(path: str, input_format: str = "auto") -> str | None:
    """How a file splits between processes: "lines" (a large plain JSONL file), "array"
    (a large plain JSON array file: split if pretty-printed) or None (gzip, small, not
    a regular file, a table)."""
    try:
        if not os.path.isfile(path) or os.path.getsize(path) < PARALLEL_MIN_BYTES:
            return None
        with open(path, "rb") as f:
            if f.peek(2)[:2] == b"\x1f\x8b" or path.endswith(".gz"):
                return None
            if input_format == "jsonl":
                return "lines"
            if is_json_array(f):
                return "array"
            return None if input_format == "json" else "lines"
    except OSError:
        return None


# what the workers of a split file share: (compiled rubric, encode, whether records give
# item rows, arm counts, first line of each part, by annotator, (directory, partitions,
# first part) when item rows go to partition files)
_WORKER: tuple[Compiled, Callable[[dict], Any] | None, bool, bool, Any, bool, tuple[str, int, int] | None] | None = None


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


def _start_part(path: str, start: int, end: int, k: int) -> tuple[RecordChecker, list, "_WorkerRows | None", bytes, Any]:
    """In a worker: a checker with this part's own counters, where its findings and item
    rows go, the part's bytes, and the shared first-line table."""
    assert _WORKER is not None
    compiled, encode, want_rows, arm_counts, offsets, by_annotator, parts = _WORKER
    found: list = []
    rows: Any = None
    if want_rows:
        rows = _WorkerRows() if parts is None else _PartitionRows(parts[1], parts[2] + k)
    checker = RecordChecker(compiled, found.append, encode=encode, items=rows, arm_counts=arm_counts,
                            by_annotator=by_annotator)
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    return checker, found, rows, data, offsets


def _lines_before(offsets: Any, k: int, lines: int) -> int:
    """The lines before part k, and publish those before part k + 1 (this part has
    `lines`). Each part's count is the previous part's plus its own, which that part's
    worker publishes as soon as it has read its bytes (parts are handed out in order, so
    it is already being read): no process reads the file twice."""
    before = offsets[k]
    while before < 0:
        time.sleep(0.0002)
        before = offsets[k]
    offsets[k + 1] = before + lines
    return before


def _rows_out(rows: Any) -> list:
    """A part's item rows for the main process; none when they went to partition files."""
    if isinstance(rows, _PartitionRows):
        assert _WORKER is not None and _WORKER[6] is not None
        rows.write(_WORKER[6][0])
        return []
    return list(rows or ())


def _work(args: tuple[str, int, int, int]) -> tuple[list, Stats, int, int, list]:
    path, start, end, k = args
    checker, found, rows, data, offsets = _start_part(path, start, end, k)
    batch = data.split(b"\n")
    del data
    if batch and batch[-1] == b"":
        batch.pop()
    if start == 0 and batch and batch[0].startswith(b"\xef\xbb\xbf"):
        batch[0] = batch[0][3:]
    first_line = _lines_before(offsets, k, len(batch))
    last, blank = checker.lines(batch, path, first_line)
    checker.finish()
    return found, checker.stats, last - first_line, blank, _rows_out(rows)


def _work_array(args: tuple[str, int, int, int, bool]) -> tuple[list, Stats, int, int, list] | None:
    """`_work` for a part of a pretty-printed JSON array file (`array_parts`); None when a
    part before the last stops on a syntax error: the main process reads on from there."""
    path, start, end, k, last = args
    checker, found, rows, data, offsets = _start_part(path, start, end, k)
    before = _lines_before(offsets, k, data.count(b"\n"))
    reader = array_part(data, path, k == 0, last, before + 1)
    del data
    n = checker.elements(reader, path)
    if reader.stopped and not last:
        return None
    checker.finish()
    return found, checker.stats, n, 0, _rows_out(rows)


def _ignore_sigint() -> None:
    import signal  # noqa: PLC0415

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked while forked (`_pool`)


def _pool(ctx: Any, jobs: int) -> Any:
    """A pool of workers that ignore Ctrl-C: the main process alone stops the run (and
    ends them), so an interrupt prints no worker's traceback. SIGINT is ignored while the
    workers are forked too, so none can catch it before its initializer runs; it is also
    blocked then, so that a Ctrl-C in that moment is not lost for the main process: it
    comes once the pool is made, as a KeyboardInterrupt (the pool ended)."""
    import signal  # noqa: PLC0415

    if threading.current_thread() is not threading.main_thread():  # signals are not ours to set
        return ctx.Pool(jobs, initializer=_ignore_sigint)
    # blocked first: a blocked signal stays pending even while it is ignored
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            pool = ctx.Pool(jobs, initializer=_ignore_sigint)
        finally:
            signal.signal(signal.SIGINT, previous)
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        raise
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a pending Ctrl-C is raised here
    except BaseException:
        pool.terminate()
        raise
    return pool


def _fork_pool(jobs: int) -> Any:
    """`_pool` of forked workers: they share what the main process holds (the compiled
    rubric, the module state that names their work)."""
    import multiprocessing  # noqa: PLC0415

    return _pool(multiprocessing.get_context("fork"), jobs)


def _run_parallel(checker: RecordChecker, path: str, ranges: list[tuple[int, int]], array: bool,
                  encode: Callable[[dict], Any] | None, progress, jobs: int, arm_counts: bool) -> None:
    import multiprocessing  # noqa: PLC0415

    global _WORKER
    compiled, stats, items, emit = checker.compiled, checker.stats, checker.items, checker.sink
    stats.files.append(path)
    size = os.path.getsize(path)
    last = len(ranges) - 1
    ctx = multiprocessing.get_context("fork")
    # first line number of each chunk, -1 until known; shared with the workers
    offsets = ctx.Array("q", [0] + [-1] * len(ranges), lock=False)
    # with partitions, the workers write their item rows to the partition files themselves
    parts = items.start_parts(len(ranges)) if getattr(items, "partitions", 0) else None
    _WORKER = (compiled, encode, items is not None, arm_counts, offsets, checker.by_annotator is not None, parts)
    if not array and checker.each is None and checker._typed_after <= size // TYPED_LINE_BYTES:
        # the typed decoder is built once, here, and the workers inherit it; for a long
        # checker, only when the file holds lines enough to earn it (each part is checked
        # by a checker of its own, which cannot count the lines of the parts before it)
        checker._typed()
    # At most a few chunks in flight: when the main process is the slower side (grouping
    # items, writing), finished chunks do not pile up in its memory.
    slots = threading.Semaphore(2 * jobs + 2)
    stop = threading.Event()

    def tasks() -> Iterator[tuple[str, int, int, int]]:
        for k, (s, e) in enumerate(ranges):
            while not slots.acquire(timeout=0.1):
                if stop.is_set():
                    return
            yield (path, s, e, k, k == last) if array else (path, s, e, k)

    rest: tuple[int, int] | None = None  # (part, start) of an array part that stopped early
    try:
        with _pool(ctx, jobs) as pool:
            try:
                for part, (result, (s, e)) in enumerate(zip(pool.imap(_work_array if array else _work, tasks()),
                                                            ranges)):
                    slots.release()
                    if rest is not None or result is None:
                        if parts is not None:
                            items.drop_part(parts[2] + part)  # its rows, if written, do not count
                    if rest is not None:
                        continue  # a part after one that stopped: its reading is not the file's
                    if result is None:
                        # Read on from its start in this process once the pool is done: the
                        # parts handed out finish (none more is), and the pool ends as usual.
                        rest = (part, s)
                        stop.set()
                        continue
                    found, st, n, blank, rows = result
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
                    stats.add_by_annotator(st.by_annotator)
                    if st.judgments is not None and stats.judgments is not None:
                        stats.judgments += st.judgments
                        stats.skipped = (stats.skipped or 0) + (st.skipped or 0)
                    stats.records += n - blank
                    if progress is not None:
                        progress(e, size, path)
            finally:
                stop.set()  # the task feeder stops before the pool is torn down
        if rest is not None:
            part, start = rest
            _read_rest(checker, path, start, part, offsets[part] + 1, progress, size)
    finally:
        _WORKER = None


def _read_rest(checker: RecordChecker, path: str, start: int, k: int, first_line: int, progress, size: int) -> None:
    with open(path, "rb") as f:
        f.seek(start)
        reader = ArrayReader(f, path) if k == 0 else array_rest(f, path, first_line)
        checker.elements(reader, path)
    if progress is not None:
        progress(size, size, path)


def check_record(compiled: Compiled, rec: Any, file: str = "<record>", line: int = 1) -> list[dict]:
    """Findings for one record (a dict; anything else is unreadable)."""
    if not isinstance(rec, dict):
        return [unreadable_finding(file, line, not_an_object(rec))]
    if compiled.rubric.record_each is not None:
        out: list[dict] = []
        RecordChecker(compiled, out.append, items=_WorkerRows() if compiled.rubric.has_items else None).records([rec], file, line - 1)
        return out
    try:
        found = compiled.check(rec)
    except Exception as e:
        annotate(e)
        raise
    return Expander(compiled.rubric).expand(found or [], rec, file, line)
