"""Items: several annotators on one item.

While records are checked, each record that names an item leaves a compact *row*
(its annotator, file and line, whether it had a violation or was uncovered, and
the values `compile.RowPlan` asks for). Rows are grouped by item with bounded
memory: in a dict while they are few, then in a temporary SQLite file. Once
every record is read, each item is judged: `consensus` thresholds, then `per
item` rules and escalations, evaluated over the item's aggregates.

With several processes (`ItemChecker.use_partitions`), rows are split by item into
partitions, written to files by the processes that read them (`Blocks`); each
partition is grouped and judged by a worker (`_judge_partition`) and the main
process merges their findings by each item's first record: the same findings, in
the same order, as one process.

Item findings follow the spec: `file` and `line` of the item's first record,
`record` = the item value, `lines` = every record of the item.
"""
from __future__ import annotations

import heapq
import itertools
import marshal
import os
import pickle
import secrets
import shutil
import sqlite3
import struct
import tempfile
import zlib
from collections import Counter
from fractions import Fraction
from typing import Any, Callable, Iterable, Iterator

from rubricdsl.core.values import value_text
from rubricdsl.language import ir
from rubricdsl.language.walk import aggregates
from rubricdsl.engine.codegen import RowPlan
from rubricdsl.engine.findings import (DECIDE_VIOLATION, RULE_VIOLATION, UNCOVERED, Expander, getter, id_text,
                                       judgment_getter)

FLAG_VIOLATION = 1
FLAG_UNCOVERED = 2

# rows held in memory before grouping moves to a temporary SQLite file
MEMORY_ROWS = 200_000
# with partitions, the fewest rows the main process writes at once (however low MEMORY_ROWS)
MIN_BLOCK_ROWS = 1_000


def memory_limit() -> int:
    """MEMORY_ROWS, or the environment's RUBRIC_ITEM_MEMORY_ROWS."""
    raw = os.environ.get("RUBRIC_ITEM_MEMORY_ROWS")
    if raw:
        try:
            return max(0, int(raw))
        except ValueError:
            pass
    return MEMORY_ROWS


# A row, one record of an item: (annotator, file, line, flags, values), a plain tuple.
Row = tuple


# ---- collecting rows while records are checked ------------------------------------------


class RowMaker:
    """Turns (record, check_row result) into (item key, row); None for a record without an item."""

    def __init__(self, rubric: ir.RubricIR) -> None:
        if rubric.record_item is not None:
            get = getter(rubric.record_item)
            self._item: Callable[[dict, int], Any] = lambda rec, line: get(rec)
        else:
            # judgments inside a record (`each`) and no `item` line: the record is the item,
            # named by its id
            assert rubric.record_each is not None
            self._item = Expander(rubric).record_id
        self._ann = judgment_getter(rubric.record_annotator) if rubric.record_annotator is not None else None

    def feeder(self, add: Callable[[str, tuple], None]) -> Callable[..., None]:
        """A function that hands each record (or judgment, `jud`) with an item to
        `add(key, row)` (the hot path)."""
        item, ann_of = self._item, self._ann

        def feed(rec: dict, findings: Any, values: tuple, file: str, line: int, jud: Any = None) -> None:
            key = item(rec, line)
            if key is None:
                return
            if key.__class__ is not str:
                key = id_text(key)
            ann = ann_of(rec, jud) if ann_of is not None else None
            if ann is not None and ann.__class__ is not str:
                ann = id_text(ann)
            add(key, (ann, file, line, row_flags(findings) if findings else 0, values))

        return feed


def row_flags(findings: list) -> int:
    """A row's flags: whether the record's finding tuples hold a violation, an uncovered
    decide."""
    flags = 0
    for t in findings:
        c = t[0]
        if c == DECIDE_VIOLATION or c == RULE_VIOLATION:
            flags |= FLAG_VIOLATION
        elif c == UNCOVERED:
            flags |= FLAG_UNCOVERED
    return flags


class Grouper:
    """Groups rows by item with bounded memory; `groups()` yields items in the order
    of their first record, each item's rows in input order."""

    def __init__(self, memory_rows: int | None = None) -> None:
        self.memory_rows = memory_rows if memory_rows is not None else memory_limit()
        self._mem: dict[str, list] = {}
        self._n = 0
        self._db: sqlite3.Connection | None = None
        self._dir: str | None = None
        self._pending: list[tuple[str, int, bytes]] = []
        # Python finds the temporary directory by writing and removing a probe file in it;
        # do that now, before any record is read, not in the middle of a run, where a
        # Ctrl-C between the two steps would leave the probe behind
        self._tmp = tempfile.gettempdir()

    def add(self, key: str, row: tuple) -> None:
        try:
            self._add(key, row)
        except (sqlite3.Error, OSError) as e:
            raise _disk_error(e) from None

    def add_many(self, pairs: list[tuple[str, tuple]]) -> None:
        """`add` each (key, row) of `pairs` (a block of rows, bounded in size)."""
        try:
            if self._db is None:
                mem = self._mem
                for key, row in pairs:
                    rows = mem.get(key)
                    if rows is None:
                        mem[key] = [row]
                    else:
                        rows.append(row)
                self._n += len(pairs)
                if self._n > self.memory_rows:
                    self._spill()
                return
            add = self._add
            for key, row in pairs:
                add(key, row)
        except (sqlite3.Error, OSError) as e:
            raise _disk_error(e) from None

    def _add(self, key: str, row: tuple) -> None:
        if self._db is None:
            rows = self._mem.get(key)
            if rows is None:
                self._mem[key] = [row]
            else:
                rows.append(row)
            self._n += 1
            if self._n > self.memory_rows:
                self._spill()
            return
        self._pending.append((key, self._n, marshal.dumps(row)))
        self._n += 1
        if len(self._pending) >= 20_000:
            self._flush()

    def _spill(self) -> None:
        # `close` removes the directory, whatever fails from here on. Its name is known
        # before it exists: a Ctrl-C between creating it and remembering it (inside
        # tempfile.mkdtemp) would otherwise leave it behind.
        self._dir = os.path.join(self._tmp, f"rubric-items-{secrets.token_hex(8)}")
        os.mkdir(self._dir, 0o700)
        db = self._db = sqlite3.connect(os.path.join(self._dir, "items.sqlite"), isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE", "cache_size=-32768"):
            db.execute(f"PRAGMA {pragma}")
        db.execute("CREATE TABLE rows (item TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL)")
        # Items in the dict are in order of first record; numbering their rows item by
        # item keeps that order (MIN(seq) per item) and each item's own row order.
        seq = 0
        batch = []
        for key, rows in self._mem.items():
            for row in rows:
                batch.append((key, seq, marshal.dumps(row)))
                seq += 1
            if len(batch) >= 20_000:
                self._insert(batch)
                batch = []
        self._insert(batch)
        self._mem = {}

    def _insert(self, batch: list) -> None:
        assert self._db is not None
        if batch:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO rows VALUES (?, ?, ?)", batch)
            self._db.execute("COMMIT")

    def _flush(self) -> None:
        self._insert(self._pending)
        self._pending = []

    def groups(self) -> Iterator[tuple[str, list[Row]]]:
        try:
            yield from self._groups()
        except (sqlite3.Error, OSError) as e:
            raise _disk_error(e) from None

    def _groups(self) -> Iterator[tuple[str, list[Row]]]:
        if self._db is None:
            yield from self._mem.items()
            return
        self._flush()
        db = self._db
        # each item's first record, then one sorted scan: SQLite sorts on disk, in bounded memory
        db.execute("CREATE TABLE firsts (item TEXT PRIMARY KEY, first INTEGER NOT NULL) WITHOUT ROWID")
        db.execute("INSERT INTO firsts SELECT item, MIN(seq) FROM rows GROUP BY item")
        cur = db.execute("SELECT r.item, r.data FROM rows r JOIN firsts f ON f.item = r.item "
                         "ORDER BY f.first, r.seq")
        key: str | None = None
        rows: list[Row] = []
        loads = marshal.loads
        for item, data in cur:
            if item != key:
                if key is not None:
                    yield key, rows
                key, rows = item, []
            rows.append(loads(data))
        if key is not None:
            yield key, rows

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self._mem = {}

    def __enter__(self) -> "Grouper":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _disk_error(e: Exception) -> Exception:
    from rubricdsl.engine.reading import DataError  # noqa: PLC0415

    return DataError(f"cannot group items in a temporary file under {tempfile.gettempdir()}: {e} "
                     "(set TMPDIR to a directory with free space, or RUBRIC_ITEM_MEMORY_ROWS to group more in memory)")


# ---- one item's aggregates -----------------------------------------------------------------


class Layout:
    """Where each value sits in a row's values (see `compile.RowPlan`); one per run.
    `aggs` holds, by aggregate, the function that computes it over an `ItemView`
    (`aggregate`), made on first use."""

    def __init__(self, plan: RowPlan) -> None:
        self.plan = plan
        self.field_col = {f.name: i for i, f in enumerate(plan.fields)}
        base = len(plan.fields)
        self.decide_col = {d.index: base + i for i, d in enumerate(plan.decides)}
        base += len(plan.decides)
        self.share_col = {id(a): base + i for i, a in enumerate(plan.shares)}
        self.aggs: dict[int, Callable[["ItemView"], Any]] = {}
        self._kept: list[ir.Agg] = []  # the aggregates of `aggs`: their ids are not reused

    def aggregate(self, e: ir.Agg) -> Callable[["ItemView"], Any]:
        """The function of an item's view that computes aggregate `e` (one item's
        judgments: each the hot path of a `per item` check)."""
        fn = self.aggs.get(id(e))
        if fn is None:
            fn = self.aggs[id(e)] = self._aggregate(e)
            self._kept.append(e)
        return fn

    def _aggregate(self, e: ir.Agg) -> Callable[["ItemView"], Any]:
        k = e.kind
        if k == "annotators":
            return lambda view: view.annotators
        if k == "judgments":
            return lambda view: len(view.rows)
        if k == "share":
            scol = self.share_col[id(e)]

            def share(view: ItemView) -> Any:
                n = yes = 0
                for r in view.rows:
                    v = r[4][scol]
                    if v is not None:
                        n += 1
                        if v:
                            yes += 1
                return yes / n if n else None

            return share
        assert e.field is not None
        col = self.field_col[e.field.name]
        if k == "agreement":
            def agreement(view: ItemView) -> Any:
                vals = view.column(col)
                return top_count(vals) / len(vals) if vals else None

            return agreement
        if k == "majority":
            return lambda view: majority(view.column(col)) if view.column(col) else None
        if k == "distinct":
            return lambda view: len(set(vals)) if (vals := view.column(col)) else None
        if k == "spread":
            t = e.field.type
            if t.kind == "enum":
                assert t.enum is not None
                rank = {v: i for i, v in reversed(list(enumerate(t.enum.values)))}

                def spread_ranks(view: ItemView) -> Any:
                    vals = view.column(col)
                    if not vals:
                        return None
                    ranks = [rank[v] for v in vals]
                    return max(ranks) - min(ranks)

                return spread_ranks
            return lambda view: max(vals) - min(vals) if (vals := view.column(col)) else None
        raise AssertionError(k)


class ItemView:
    """An item's judgments, answering the aggregates of `per item` checks."""

    __slots__ = ("layout", "rows", "_values")

    def __init__(self, layout: Layout, rows: list[Row]) -> None:
        self.layout = layout
        self.rows = rows
        self._values: dict[int, list[Any]] = {}  # by column: read once, by a consensus and aggregates

    @property
    def annotators(self) -> int:
        named = {r[0] for r in self.rows}
        if None not in named:
            return len(named)
        return len(named) - 1 + sum(1 for r in self.rows if r[0] is None)

    @property
    def judgments(self) -> int:
        return len(self.rows)

    def values(self, f: ir.FieldIR) -> list[Any]:
        """The valid values of `f` among the item's records (missing and invalid ones do not count)."""
        return self.column(self.layout.field_col[f.name])

    def column(self, col: int) -> list[Any]:
        """The valid values in column `col` of the rows' values (`values`, by column)."""
        vals = self._values.get(col)
        if vals is None:
            vals = self._values[col] = [v for r in self.rows if (v := r[4][col]) is not None]
        return vals

    def masks(self, d: ir.DecideIR) -> list[int | None]:
        col = self.layout.decide_col[d.index]
        return [r[4][col] for r in self.rows]

    def agg(self, e: ir.Agg) -> Any:
        """The value of aggregate `e` over the item's judgments (None where it has no
        value: no valid value to aggregate)."""
        fn = self.layout.aggs.get(id(e))
        return (fn or self.layout.aggregate(e))(self)


def top_count(vals: list[Any]) -> int:
    """How many times the most common of `vals` (not empty) occurs."""
    top = vals.count(vals[0])
    if top == len(vals):  # all agree: the common case, without a set
        return top
    return max(map(vals.count, set(vals))) if len(vals) < 16 else max(Counter(vals).values())


def majority(vals: list[Any]) -> Any:
    """The most common value; None on a tie or when there is none."""
    top = Counter(vals).most_common(2)
    if not top or (len(top) == 2 and top[0][1] == top[1][1]):
        return None
    return top[0][0]


# ---- judging an item ---------------------------------------------------------------------------


def _share(n: int, d: int) -> str:
    return f"{n}/{d} ({round(100 * n / d)}%)"


def _arm_names(d: ir.DecideIR, mask: int) -> list[str]:
    return [a.name for a in d.arms if mask >> a.number & 1]


def _allowed(d: ir.DecideIR, mask: int) -> list[Any]:
    out: list[Any] = []
    for a in d.arms:
        if mask >> a.number & 1:
            out += [v for v in a.values if v not in out]
    return out


def judgment_masks(view: ItemView, label: ir.FieldIR, d: ir.DecideIR) -> tuple[int | None, ...]:
    """The arms `decide` `d` counted for each judgment with a valid `label` (None where the
    decide did not apply), in input order."""
    col = view.layout.field_col[label.name]
    dcol = view.layout.decide_col[d.index]
    return tuple(r[4][dcol] for r in view.rows if r[4][col] is not None)


def cause_of(d: ir.DecideIR | None, name: str, masks: tuple[int | None, ...] | None) -> tuple[str, list[str], str]:
    """(cause, arms, explanation) for an item whose annotators disagree on the label
    `name` of decide `d` (None: the label has no decide), from the judgments' arms
    (`judgment_masks`): a function of them alone, so that a caller may keep its answers."""
    if d is None or masks is None:
        return "undecided", [], f"`{name}` has no `decide`: the guideline does not say which value to choose"
    ran = [m for m in masks if m is not None]
    if not ran:
        return "undecided", [], f"`decide {name}` did not apply to these judgments"
    union = 0
    for m in ran:
        union |= m
    if any(m == 0 for m in ran):
        n = sum(1 for m in ran if m == 0)
        return "uncovered", _arm_names(d, union), (
            f"{n} of {len(masks)} judgments fall where no arm of `decide {name}` applies: the guideline is silent there")
    distinct = sorted(set(masks), key=lambda m: -1 if m is None else m)
    if len(distinct) > 1:
        names = _arm_names(d, union)
        out_of_scope = " (some outside its scope)" if None in distinct else ""
        return "split", names, (
            f"the judgments counted different arms{out_of_scope}: {', '.join(names)}; "
            "the annotators' other labels or the inputs differ")
    mask = ran[0]
    names = _arm_names(d, mask)
    allowed = _allowed(d, mask)
    which = " and ".join(names)
    if len(allowed) > 1:
        return "open", names, (
            f"every judgment counted {which}, which allows {', '.join(value_text(v) for v in allowed)}: "
            "the guideline leaves the choice open there")
    return "deviation", names, (
        f"every judgment counted {which}, which allows only {value_text(allowed[0])}; "
        "the annotators who chose otherwise departed from the guideline")


def _aggs(*exprs: Any) -> list[ir.Agg]:
    out: list[ir.Agg] = []
    seen: set[str] = set()

    for a in aggregates(*exprs):
        if a.text not in seen:
            seen.add(a.text)
            out.append(a)
    return out


class Judge:
    """Judges one item at a time: its consensus thresholds, then its `per item` checks
    (`check`, the generated `item_check`; generated here when not given)."""

    def __init__(self, rubric: ir.RubricIR, plan: RowPlan, check: Callable[[Any], list | None] | None = None) -> None:
        self.rubric = rubric
        self.layout = Layout(plan)
        if check is None and (rubric.item_rules or rubric.item_escalations):
            from rubricdsl.engine.codegen import compile_item_checks  # noqa: PLC0415

            check = compile_item_checks(rubric)
        self.check = check
        # each consensus's decide (of its label) and threshold as the message shows it; the
        # causes of disagreements found so far, by consensus and arms by judgment
        self._about = {id(c): (next((x for x in rubric.decides if x.label is c.label), None),
                               value_text(c.min_agreement)) for c in rubric.consensus}
        self._causes: dict[tuple[int, Any], tuple[str, list[str], str]] = {}
        # thresholds as exact fractions: `agreement < X` compares top * den < num * n
        self.consensus = []
        for i, c in enumerate(rubric.consensus):
            frac = Fraction(repr(c.min_agreement)) if c.min_agreement is not None else None
            self.consensus.append((i, c, c.min_annotators, self.layout.field_col[c.label.name],
                                   None if frac is None else frac.numerator, None if frac is None else frac.denominator))
        self.reads = {("r", r.index): _aggs(r.when, r.require) for r in rubric.item_rules}
        self.reads.update({("e", e.index): _aggs(e.when) for e in rubric.item_escalations})
        self.order = sorted([(c.span.start, "c", i) for i, c in enumerate(rubric.consensus)]
                            + [(r.span.start, "r", r.index) for r in rubric.item_rules]
                            + [(e.span.start, "e", e.index) for e in rubric.item_escalations])

    def __call__(self, key: str, rows: list[Row]) -> list[dict]:
        view = ItemView(self.layout, rows)
        found: dict[tuple[str, int], list[dict]] | None = None
        for i, c, min_annotators, col, num, den in self.consensus:
            if min_annotators is not None:
                n = view.annotators
                if n < min_annotators:
                    found = found or {}
                    found[("c", i)] = [self._finding(
                        key, rows, "violation", "consensus", c.label.name, None, None, "error",
                        f"item `{key}` has {n} annotator{'s' if n != 1 else ''}; the consensus on "
                        f"`{c.label.name}` needs at least {min_annotators}")]
            if num is None:
                continue
            vals = view.column(col)
            if not vals:
                continue
            top = top_count(vals)
            if top * den >= num * len(vals):
                continue
            found = found or {}
            found.setdefault(("c", i), []).append(self._disagreement(key, rows, view, c, vals, top))
        if self.check is not None:
            res = self.check(view)
            if res:
                found = found or {}
                for t in res:
                    if t[0] == RULE_VIOLATION:
                        r = self.rubric.item_rules[t[1]]
                        found[("r", r.index)] = [self._finding(
                            key, rows, "violation", r.name, None, None, None, r.severity, r.message,
                            aggregates=self._aggregates(view, ("r", r.index)))]
                    else:
                        e = self.rubric.item_escalations[t[1]]
                        found[("e", e.index)] = [self._finding(
                            key, rows, "escalation", e.name, None, None, e.target, "info", e.reason,
                            aggregates=self._aggregates(view, ("e", e.index)))]
        if not found:
            return []
        return [f for _, kind, i in self.order for f in found.get((kind, i), ())]

    def _aggregates(self, view: ItemView, key: tuple[str, int]) -> dict[str, Any]:
        """The value of every aggregate a per item check reads, by its text."""
        out: dict[str, Any] = {}
        for a in self.reads[key]:
            v = view.agg(a)
            out[a.text] = sorted(v) if isinstance(v, frozenset) else round(v, 6) if isinstance(v, float) else v
        return out

    @staticmethod
    def _finding(key: str, rows: list[Row], kind: str, rule: str | None, label: str | None, arms: list[str] | None,
                 target: str | None, severity: str, message: str, **extra: Any) -> dict:
        f = {"kind": kind, "line": rows[0][2], "record": key, "file": rows[0][1], "criterion": None, "rule": rule,
             "label": label, "arms": arms, "target": target, "severity": severity, "message": message}
        f.update(extra)
        # every record of the item once (with `each`, a record holds several judgments)
        f["lines"] = [{"file": fl, "line": ln} for fl, ln in dict.fromkeys((r[1], r[2]) for r in rows)]
        return f

    def _disagreement(self, key: str, rows: list[Row], view: ItemView, c: ir.ConsensusIR, vals: list[Any],
                      top: int) -> dict:
        label = c.label.name
        d, threshold = self._about[id(c)]
        masks = None if d is None else judgment_masks(view, c.label, d)
        causes = self._causes
        got = causes.get((id(c), masks))
        if got is None:
            if len(causes) >= 4096:  # arms by judgment repeat across items: a few answers, kept
                causes.clear()
            got = causes[(id(c), masks)] = cause_of(d, label, masks)
        cause, arms, why = got
        counts = Counter(vals)
        values = {value_text(v): k for v, k in sorted(counts.items(), key=lambda p: (-p[1], value_text(p[0])))}
        shown = ", ".join(f"{v} {k}" for v, k in values.items())
        return self._finding(
            key, rows, "ambiguous", "consensus", label, list(arms), None, "warning",
            f"annotators agree on `{label}` at {_share(top, len(vals))}, below the "
            f"{threshold} the consensus asks ({shown}); {cause}: {why}",
            cause=cause, values=values)


# ---- the whole run ------------------------------------------------------------------------------


# Rows of a run split between processes carry a sixth element, their place in the
# input: the part they were read in (in input order: a file split between processes has one
# part per chunk, the rest of the input one part per stretch between such files), shifted
# by PART_SHIFT, plus their index in that part.
PART_SHIFT = 40
_BLOB = struct.Struct("<QQ")  # a block of a partition file: (first row's place, length)


def partition_of(key: str, partitions: int) -> int:
    """The partition of an item, the same in every process and every run (Python's own
    `hash` of a string differs between processes). `key` is the item as text (`id_text`),
    so 1, 1.0 and "1" meet in one partition, as they are one item."""
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % partitions


class Blocks:
    """Rows split by partition as they come (`add(key, row)`), each row given its place
    in the input from `place` on; `write` appends each partition's rows, a block, to the
    partition files `p<n>.<writer>` of a directory."""

    def __init__(self, partitions: int, place: int) -> None:
        self.parts: list[list[tuple[str, tuple]]] = [[] for _ in range(partitions)]
        parts = self.parts
        crc = zlib.crc32
        seq = itertools.count(place).__next__

        def add(key: str, row: tuple) -> None:  # partition_of, inline: once per record
            parts[crc(key.encode("utf-8", "surrogatepass")) % partitions].append((key, row + (seq(),)))

        self.add = add

    def rows(self) -> list[tuple[str, tuple]]:
        """Every row, in input order."""
        return sorted((p for part in self.parts for p in part), key=lambda p: p[1][-1])

    def write(self, directory: str, writer: str) -> None:
        try:
            for n, part in enumerate(self.parts):
                if part:
                    data = marshal.dumps(part)
                    with open(os.path.join(directory, f"p{n}.{writer}"), "ab") as f:
                        f.write(_BLOB.pack(part[0][1][-1], len(data)))
                        f.write(data)
                    part.clear()
        except OSError as e:
            raise _disk_error(e) from None


def private_dir(parent: str) -> str:
    """A new directory under `parent` that only this user can read, for a run's temporary
    files. The caller remembers the name before it exists (see `Grouper._spill`)."""
    return os.path.join(parent, f"rubric-items-{secrets.token_hex(8)}")


class ItemChecker:
    """Collects rows during a run; `finish` judges every item and emits its findings
    (`check`: the compiled rubric's `item_check`, when there is one).

    A run with several processes (`use_partitions`) splits the rows by item into
    partitions, written to files in a private temporary directory by whichever process
    read them; `finish` then judges each partition in a process of its own and merges
    their findings into the same order as one process gives: by each item's first record."""

    def __init__(self, rubric: ir.RubricIR, plan: RowPlan, memory_rows: int | None = None,
                 check: Callable[[Any], list | None] | None = None) -> None:
        self.rubric = rubric
        self.plan = plan
        self.check = check
        self.memory_rows = memory_rows if memory_rows is not None else memory_limit()
        self.grouper = Grouper(self.memory_rows)
        self.add = self.grouper.add  # (key, row), called once per record: no extra layer
        self.items = 0
        # partitioned runs (`use_partitions`)
        self.jobs = 1
        self.partitions = 0
        self.pool: Callable[[int], Any] | None = None
        self.dir: str | None = None
        self._made = False  # rows were written to partition files
        self._blocks: Blocks | None = None  # rows read by this process, not yet written
        self._pending = 0
        self._part = 0  # the part the rows read by this process belong to
        self.dropped: set[int] = set()  # parts whose rows do not count (re-read by this process)

    def partitionable(self) -> bool:
        """Whether items can be judged in partitions: only by this class's own judging."""
        return type(self).finish is ItemChecker.finish and type(self).each is ItemChecker.each

    def use_partitions(self, jobs: int, partitions: int, pool: Callable[[int], Any]) -> None:
        """Judge items in `partitions` partitions with `jobs` processes of `pool(jobs)` (a
        `multiprocessing` pool of forked workers), once the rows are more than fit in
        memory (or a file is read by several processes). Call before the first row: rows
        now carry their place in the input."""
        self.pool = pool
        self.jobs = jobs
        self.partitions = partitions
        self._blocks = Blocks(partitions, 0)
        self._block_rows = max(self.memory_rows, MIN_BLOCK_ROWS)
        self.add = self._add_placed

    def _add_placed(self, key: str, row: tuple) -> None:
        assert self._blocks is not None
        self._blocks.add(key, row)
        self._pending += 1
        if self._pending >= self._block_rows:
            self._write_pending()

    def _ensure_dir(self) -> str:
        if self.dir is None:
            tmp = self.grouper._tmp
            d = self.dir = private_dir(tmp)  # remembered first: `close` removes it whatever happens
            try:
                os.mkdir(d, 0o700)
            except OSError as e:
                self.dir = None
                raise _disk_error(e) from None
        return self.dir

    def _write_pending(self) -> None:
        if self._pending:
            assert self._blocks is not None
            self._blocks.write(self._ensure_dir(), str(os.getpid()))
            self._made = True
            self._pending = 0

    def start_parts(self, n: int) -> tuple[str, int, int]:
        """Before a file is split into `n` parts between processes: (the directory, the
        number of partitions, the first part's number) for the processes that read it,
        which write their rows there themselves."""
        self._write_pending()  # each block holds rows of one stretch of the input
        first = self._part + 1
        self._part += n + 1
        self._blocks = Blocks(self.partitions, self._part << PART_SHIFT)
        self._made = True
        return self._ensure_dir(), self.partitions, first

    def drop_part(self, part: int) -> None:
        """Rows of this part (numbered as `start_parts` gave it) do not count."""
        self.dropped.add(part)

    def add_rows(self, rows: Iterable[tuple[str, tuple]]) -> None:
        add = self.add
        for key, row in rows:
            add(key, row)

    def each(self) -> Iterator[tuple[str, list[Row]]]:
        try:
            if self.partitions:
                assert not self._made and self._blocks is not None, "partitioned rows are judged by `finish`"
                self.grouper.add_many(self._blocks.rows())
                self._blocks = None
            for key, rows in self.grouper.groups():
                self.items += 1
                yield key, rows
        finally:
            self.grouper.close()

    def close(self) -> None:
        """Drop the grouped rows and their temporary files (if any); safe to call twice."""
        self.grouper.close()
        self._blocks = None
        self._pending = 0
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def finish(self, emit: Callable[[dict], None],
               encoded: tuple[Callable[[dict], Any], Callable[[str, str, Any], None]] | None = None) -> None:
        """Judge every item: its findings go to `emit`. `encoded` = (encode, sink): a
        partitioned run may instead encode findings where they are judged and hand
        `sink(kind, severity, encoded)` each of them."""
        if self._made:
            self._finish_partitions(emit, encoded)
            return
        judge = Judge(self.rubric, self.plan, self.check)
        for key, rows in self.each():
            for f in judge(key, rows):
                emit(f)

    def _finish_partitions(self, emit: Callable[[dict], None],
                           encoded: tuple[Callable[[dict], Any], Callable[[str, str, Any], None]] | None) -> None:
        global _JUDGING
        self._write_pending()
        assert self.dir is not None
        _JUDGING = (self, encoded[0] if encoded is not None else None)
        try:
            assert self.pool is not None
            with self.pool(min(self.jobs, self.partitions)) as pool:
                for n in pool.imap_unordered(_judge_partition, range(self.partitions)):
                    self.items += n
        finally:
            _JUDGING = None
        # every partition's findings are in the order of their items' first records: merge them
        streams = [_read_findings(os.path.join(self.dir, f"f{n}")) for n in range(self.partitions)]
        merged = heapq.merge(*streams, key=lambda t: t[0])
        if encoded is not None:
            sink = encoded[1]
            for _, kind, severity, data in merged:
                sink(kind, severity, data)
        else:
            for t in merged:
                emit(t[3])


# the item checker of a partitioned run and the findings' encoder, for the processes that judge
_JUDGING: tuple[ItemChecker, Callable[[dict], Any] | None] | None = None


def _judge_partition(n: int) -> int:
    """In a worker: group and judge the items of partition `n`; their findings go to the
    file `f<n>` as (first record's place, kind, severity, finding), in the order of their
    items' first records. Returns how many items there were."""
    assert _JUDGING is not None
    checker, encode = _JUDGING
    d = checker.dir
    assert d is not None
    dropped = checker.dropped
    try:
        blocks = []
        prefix = f"p{n}."
        for name in os.listdir(d):
            if not name.startswith(prefix):
                continue
            with open(os.path.join(d, name), "rb") as f:
                pos = 0
                while True:
                    head = f.read(_BLOB.size)
                    if not head:
                        break
                    place, size = _BLOB.unpack(head)
                    pos += _BLOB.size
                    if place >> PART_SHIFT not in dropped:
                        blocks.append((place, name, pos, size))
                    pos += size
                    f.seek(pos)
        # blocks of one partition hold disjoint stretches of the input: in order of their
        # first row, they give the rows in input order
        blocks.sort()
        grouper = Grouper(checker.memory_rows)
        grouper._tmp = d
        items = 0
        with grouper, open(os.path.join(d, f"f{n}"), "wb") as out:
            add = grouper.add_many
            for _, name, pos, size in blocks:
                with open(os.path.join(d, name), "rb") as f:
                    f.seek(pos)
                    add(marshal.loads(f.read(size)))
            judge = Judge(checker.rubric, checker.plan, checker.check)
            batch: list[tuple] = []
            for key, rows in grouper.groups():
                items += 1
                found = judge(key, rows)
                if found:
                    place = rows[0][-1]
                    for fd in found:
                        batch.append((place, fd["kind"], fd["severity"], encode(fd) if encode is not None else fd))
                    if len(batch) >= 2000:
                        pickle.dump(batch, out, pickle.HIGHEST_PROTOCOL)
                        batch = []
            if batch:
                pickle.dump(batch, out, pickle.HIGHEST_PROTOCOL)
        return items
    except OSError as e:
        raise _disk_error(e) from None


def _read_findings(path: str) -> Iterator[tuple]:
    try:
        with open(path, "rb") as f:
            while True:
                try:
                    batch = pickle.load(f)
                except EOFError:
                    return
                yield from batch
    except OSError as e:
        raise _disk_error(e) from None
