"""Items: several annotators on one item.

While records are checked, each record that names an item leaves a compact *row*
(its annotator, file and line, whether it had a violation or was uncovered, and
the values `compile.RowPlan` asks for). Rows are grouped by item with bounded
memory: in a dict while they are few, then in a temporary SQLite file. Once
every record is read, each item is judged: `consensus` thresholds, then `per
item` rules and escalations, evaluated over the item's aggregates.

Item findings follow the spec: `file` and `line` of the item's first record,
`record` = the item value, `lines` = every record of the item.
"""
from __future__ import annotations

import marshal
import os
import secrets
import shutil
import sqlite3
import tempfile
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
            flags = 0
            if findings:
                for t in findings:
                    c = t[0]
                    if c == DECIDE_VIOLATION or c == RULE_VIOLATION:
                        flags |= FLAG_VIOLATION
                    elif c == UNCOVERED:
                        flags |= FLAG_UNCOVERED
            add(key, (ann, file, line, flags, values))

        return feed


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
    """Where each value sits in a row's values (see `compile.RowPlan`); one per run."""

    def __init__(self, plan: RowPlan) -> None:
        self.plan = plan
        self.field_col = {f.name: i for i, f in enumerate(plan.fields)}
        base = len(plan.fields)
        self.decide_col = {d.index: base + i for i, d in enumerate(plan.decides)}
        base += len(plan.decides)
        self.share_col = {id(a): base + i for i, a in enumerate(plan.shares)}


class ItemView:
    """An item's judgments, answering the aggregates of `per item` checks."""

    __slots__ = ("layout", "rows")

    def __init__(self, layout: Layout, rows: list[Row]) -> None:
        self.layout = layout
        self.rows = rows

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
        col = self.layout.field_col[f.name]
        return [v for r in self.rows if (v := r[4][col]) is not None]

    def masks(self, d: ir.DecideIR) -> list[int | None]:
        col = self.layout.decide_col[d.index]
        return [r[4][col] for r in self.rows]

    def agg(self, e: ir.Agg) -> Any:
        k = e.kind
        if k == "annotators":
            return self.annotators
        if k == "judgments":
            return len(self.rows)
        if k == "share":
            col = self.layout.share_col[id(e)]
            vals = [v for r in self.rows if (v := r[4][col]) is not None]
            return sum(1 for v in vals if v) / len(vals) if vals else None
        assert e.field is not None
        vals = self.values(e.field)
        if not vals:
            return None
        if k == "agreement":
            top = max(map(vals.count, set(vals))) if len(vals) < 16 else max(Counter(vals).values())
            return top / len(vals)
        if k == "majority":
            return majority(vals)
        if k == "distinct":
            return len(set(vals))
        if k == "spread":
            t = e.field.type
            if t.kind == "enum":
                assert t.enum is not None
                ranks = [t.enum.values.index(v) for v in vals]
                return max(ranks) - min(ranks)
            return max(vals) - min(vals)
        raise AssertionError(k)


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


def disagreement_cause(rubric: ir.RubricIR, view: ItemView, label: ir.FieldIR) -> tuple[str, list[str], str]:
    """(cause, arms, explanation) for an item whose annotators disagree on `label`."""
    d = next((x for x in rubric.decides if x.label is label), None)
    name = label.name
    if d is None:
        return "undecided", [], f"`{name}` has no `decide`: the guideline does not say which value to choose"
    col = view.layout.field_col[name]
    masks = [m for r, m in zip(view.rows, view.masks(d)) if r[4][col] is not None]
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
        # thresholds as exact fractions: `agreement < X` compares top * den < num * n
        self.consensus = [(c, Fraction(repr(c.min_agreement)) if c.min_agreement is not None else None)
                          for c in rubric.consensus]
        self.reads = {("r", r.index): _aggs(r.when, r.require) for r in rubric.item_rules}
        self.reads.update({("e", e.index): _aggs(e.when) for e in rubric.item_escalations})
        self.order = sorted([(c.span.start, "c", i) for i, c in enumerate(rubric.consensus)]
                            + [(r.span.start, "r", r.index) for r in rubric.item_rules]
                            + [(e.span.start, "e", e.index) for e in rubric.item_escalations])

    def __call__(self, key: str, rows: list[Row]) -> list[dict]:
        view = ItemView(self.layout, rows)
        found: dict[tuple[str, int], list[dict]] | None = None
        for i, (c, threshold) in enumerate(self.consensus):
            if c.min_annotators is not None:
                n = view.annotators
                if n < c.min_annotators:
                    found = found or {}
                    found[("c", i)] = [self._finding(
                        key, rows, "violation", "consensus", c.label.name, None, None, "error",
                        f"item `{key}` has {n} annotator{'s' if n != 1 else ''}; the consensus on "
                        f"`{c.label.name}` needs at least {c.min_annotators}")]
            if threshold is None:
                continue
            vals = view.values(c.label)
            if not vals:
                continue
            top = max(map(vals.count, set(vals))) if len(vals) < 16 else max(Counter(vals).values())
            if top * threshold.denominator >= threshold.numerator * len(vals):
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
        counts = Counter(vals)
        cause, arms, why = disagreement_cause(self.rubric, view, c.label)
        values = {value_text(v): k for v, k in sorted(counts.items(), key=lambda p: (-p[1], value_text(p[0])))}
        shown = ", ".join(f"{v} {k}" for v, k in values.items())
        return self._finding(
            key, rows, "ambiguous", "consensus", label, arms, None, "warning",
            f"annotators agree on `{label}` at {_share(top, len(vals))}, below the "
            f"{value_text(c.min_agreement)} the consensus asks ({shown}); {cause}: {why}",
            cause=cause, values=values)


# ---- the whole run ------------------------------------------------------------------------------


class ItemChecker:
    """Collects rows during a run; `finish` judges every item and emits its findings
    (`check`: the compiled rubric's `item_check`, when there is one)."""

    def __init__(self, rubric: ir.RubricIR, plan: RowPlan, memory_rows: int | None = None,
                 check: Callable[[Any], list | None] | None = None) -> None:
        self.rubric = rubric
        self.plan = plan
        self.check = check
        self.grouper = Grouper(memory_rows if memory_rows is not None else memory_limit())
        self.add = self.grouper.add  # (key, row), called once per record: no extra layer
        self.items = 0

    def add_rows(self, rows: Iterable[tuple[str, tuple]]) -> None:
        add = self.grouper.add
        for key, row in rows:
            add(key, row)

    def each(self) -> Iterator[tuple[str, list[Row]]]:
        try:
            for key, rows in self.grouper.groups():
                self.items += 1
                yield key, rows
        finally:
            self.grouper.close()

    def close(self) -> None:
        """Drop the grouped rows and their temporary file (if any); safe to call twice."""
        self.grouper.close()

    def finish(self, emit: Callable[[dict], None]) -> None:
        judge = Judge(self.rubric, self.plan, self.check)
        for key, rows in self.each():
            for f in judge(key, rows):
                emit(f)
