"""`rubric agreement`: how far annotators agree, per label, per annotator, and per arm
of the guideline.

The records are checked as by `rubric check` (so each judgment knows which arms of each
`decide` it counted, and whether it was a violation or uncovered), grouped by item with
bounded memory (`items.Grouper`), and each item is folded into streaming
accumulators; nothing per item is kept but the multiset of values it received
(deduplicated: items with the same multiset share one entry).

Statistics, per label:
- Krippendorff's alpha, computed by the `krippendorff` package, at the level that fits
  the label's type: nominal (enum, bool), ordinal (enum ordered, scale), interval (int,
  number); sets use the Jaccard distance 1 - |A & B| / |A | B| (see `docs/cli.md`).
  For very large inputs, where the package's units x values x values arrays would not
  fit in memory, the same coincidence-matrix formula runs on the deduplicated
  multisets (tests check that both give the same alpha).
- percent agreement: the share of agreeing pairs of judgments within an item,
  averaged over the items with at least two judgments;
- Fleiss' kappa, when every such item has the same number of judgments;
- Cohen's kappa, when exactly two annotators judged the label.
Text labels are not compared.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from rubricdsl.language import ir
from rubricdsl.engine.codegen import Compiled, RowPlan, compile_rubric
from rubricdsl.engine.items import FLAG_UNCOVERED, FLAG_VIOLATION, ItemChecker, Row

LEVELS = ("nominal", "ordinal", "interval", "jaccard")
# above this many cells (units x values x values), the package's dense arrays would
# take too much memory: alpha is then computed from the deduplicated multisets
LIBRARY_CELLS = 4_000_000


def default_level(f: ir.FieldIR) -> str | None:
    t = f.type
    if t.kind in ("bool",):
        return "nominal"
    if t.kind == "enum":
        assert t.enum is not None
        return "ordinal" if t.enum.ordered else "nominal"
    if t.kind == "scale":
        return "ordinal"
    if t.kind in ("int", "number"):
        return "interval"
    if t.kind == "set":
        return "jaccard"
    return None  # text


# ---- accumulators ---------------------------------------------------------------------------------


@dataclass
class LabelStats:
    label: ir.FieldIR
    level: str
    items: int = 0  # items with at least two judgments of the label
    # the multiset of values each such item received -> how many items received it
    patterns: Counter = field(default_factory=Counter)
    pairs: float = 0.0  # sum over items of the share of agreeing pairs
    sizes: set[int] = field(default_factory=set)
    totals: Counter = field(default_factory=Counter)  # value -> judgments (items with >= 2)
    annotators: set[str] = field(default_factory=set)
    # Cohen: (value of the first annotator, value of the second) per item both judged
    pair_table: Counter = field(default_factory=Counter)
    two: tuple[str, ...] = ()


@dataclass
class AnnotatorStats:
    judgments: int = 0
    compared: int = 0
    agreed: int = 0
    violations: int = 0
    uncovered: int = 0


@dataclass
class ArmStats:
    label: str
    arm: str
    number: int = 0
    items: int = 0
    disagreed: int = 0


def _key(v: Any) -> Any:
    """A hashable, sortable stand-in for a label value."""
    if isinstance(v, frozenset):
        return tuple(sorted(v))
    return v


class AgreementCollector(ItemChecker):
    """Groups (item, row) pairs during a run, as `items.ItemChecker` does, and folds
    each item into the statistics instead of judging it."""

    def __init__(self, rubric: ir.RubricIR, plan: RowPlan, levels: dict[str, str]) -> None:
        super().__init__(rubric, plan)
        cols = {f.name: i for i, f in enumerate(plan.fields)}
        self.labels = [(cols[f.name], LabelStats(f, levels[f.name])) for f in plan.fields]
        base = len(plan.fields)
        self.decides = [(base + i, d, cols.get(d.label.name)) for i, d in enumerate(plan.decides)]
        self.arms: dict[tuple[int, int], ArmStats] = {
            (d.index, a.number): ArmStats(d.label.name, a.name, a.number) for d in plan.decides for a in d.arms}
        self.annotators: dict[str, AnnotatorStats] = {}

    def finish(self, emit: Callable[[dict], None]) -> None:
        for _, rows in self.each():
            self._item(rows)

    def _item(self, rows: list[Row]) -> None:
        for r in rows:
            ann = r[0]
            if ann is None:
                continue
            st = self.annotators.get(ann)
            if st is None:
                st = self.annotators[ann] = AnnotatorStats()
            st.judgments += 1
            if r[3] & FLAG_VIOLATION:
                st.violations += 1
            if r[3] & FLAG_UNCOVERED:
                st.uncovered += 1
        for col, ls in self.labels:
            judged = [(r[0], _key(r[4][col])) for r in rows if r[4][col] is not None]
            for ann, _ in judged:
                if ann is not None:
                    ls.annotators.add(ann)
            # agreement of each judgment with the majority of the item's other judgments
            if len(judged) >= 2:
                others = majority_of_others([v for _, v in judged])
                for (ann, v), m in zip(judged, others):
                    if ann is None or m is None:
                        continue
                    st = self.annotators[ann]
                    st.compared += 1
                    st.agreed += m == v
            if len(judged) < 2:
                continue
            vals = [v for _, v in judged]
            n = len(vals)
            counts = Counter(vals)
            ls.items += 1
            ls.sizes.add(n)
            ls.pairs += sum(c * (c - 1) for c in counts.values()) / (n * (n - 1))
            ls.totals.update(counts)
            ls.patterns[tuple(sorted(vals, key=_sort_key))] += 1
            by_ann: dict[str, Any] = {}
            for ann, v in judged:
                if ann is not None:
                    by_ann.setdefault(ann, v)
            if len(by_ann) == 2:
                (a1, v1), (a2, v2) = sorted(by_ann.items())
                ls.pair_table[(a1, a2, v1, v2)] += 1
        for col, d, label_col in self.decides:
            if label_col is None:
                continue
            vals = [r[4][label_col] for r in rows if r[4][label_col] is not None]
            disagree = len(vals) >= 2 and len({_key(v) for v in vals}) > 1
            if len(vals) < 2:
                continue
            union = 0
            for r in rows:
                m = r[4][col]
                if m:
                    union |= m
            for a in d.arms:
                if union >> a.number & 1:
                    st = self.arms[(d.index, a.number)]
                    st.items += 1
                    st.disagreed += disagree


def majority_of_others(values: list[Any]) -> list[Any]:
    """For each value, `items.majority` of all the others: the most common of them, None
    on a tie. Linear in the number of values: taking one value away lowers only its own
    count, so the answer depends on the value alone, and on the three largest counts
    (the largest count among the other values is one of the two largest besides it)."""
    counts = Counter(values)
    top = counts.most_common(3)
    by_value: dict[Any, Any] = {}
    out = []
    for v in values:
        if v in by_value:
            out.append(by_value[v])
            continue
        cands = [(w, n) for w, n in top if w != v]
        if counts[v] > 1:
            cands.append((v, counts[v] - 1))
        cands.sort(key=lambda wn: -wn[1])
        if not cands or (len(cands) > 1 and cands[0][1] == cands[1][1]):
            m = None
        else:
            m = cands[0][0]
        by_value[v] = m
        out.append(m)
    return out


def _sort_key(v: Any) -> tuple:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (0, v)
    return (1, type(v).__name__, v)


# ---- alpha ------------------------------------------------------------------------------------------


def _domain(ls: LabelStats) -> list[Any]:
    t = ls.label.type
    observed = sorted(ls.totals, key=_sort_key)
    if ls.level == "ordinal" and t.kind == "enum":
        assert t.enum is not None
        return list(t.enum.values)
    if ls.level == "ordinal" and t.kind == "scale" and t.lo is not None:
        return list(range(int(t.lo), int(t.hi) + 1))
    if ls.level == "nominal" and t.kind == "bool":
        return [False, True]
    if ls.level == "nominal" and t.kind == "enum":
        assert t.enum is not None
        return list(t.enum.values)
    return observed


def _numeric(ls: LabelStats, domain: list[Any]) -> list[float]:
    """The numbers the package's metric sees for each domain value."""
    if ls.level == "interval" or (ls.level == "ordinal" and all(isinstance(v, (int, float)) for v in domain)):
        return [float(v) for v in domain]
    return [float(i) for i in range(len(domain))]


def _jaccard(domain: list[Any]) -> Any:
    import numpy as np  # noqa: PLC0415

    sets = [frozenset(v) for v in domain]
    n = len(sets)
    d = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            u = sets[i] | sets[j]
            d[i, j] = 0.0 if not u else 1.0 - len(sets[i] & sets[j]) / len(u)
    return d


def alpha(ls: LabelStats, cells_limit: int = LIBRARY_CELLS) -> float | None:
    """Krippendorff's alpha of a label; None when it is undefined (fewer than two
    values, or no item with two judgments)."""
    import numpy as np  # noqa: PLC0415

    if ls.items == 0 or len(ls.totals) < 2:
        return None
    domain = _domain(ls)
    index = {v: i for i, v in enumerate(domain)}
    V = len(domain)  # noqa: N806
    nums = np.array(_numeric(ls, domain))
    pats = list(ls.patterns.items())
    if ls.level == "jaccard":
        dist = _jaccard(domain)

        def metric(v1, v2, i1, i2, n_v, dtype=np.float64):  # noqa: ANN001, ARG001 - krippendorff's DistanceMetric
            return dist[i1, i2].astype(dtype)

        level: Any = metric
    else:
        level = ls.level
    if ls.items * V * V <= cells_limit:
        import krippendorff  # noqa: PLC0415

        counts = np.zeros((ls.items, V), dtype=np.int64)
        row = 0
        for pat, k in pats:
            vec = np.zeros(V, dtype=np.int64)
            for v in pat:
                vec[index[v]] += 1
            counts[row:row + k] = vec
            row += k
        return float(krippendorff.alpha(value_counts=counts, value_domain=nums, level_of_measurement=level))
    return _alpha_from_patterns(ls, domain, index, nums, pats)


def _alpha_from_patterns(ls: LabelStats, domain: list[Any], index: dict, nums: Any, pats: list) -> float | None:
    """The coincidence-matrix formula of `krippendorff.alpha`, on deduplicated multisets."""
    import numpy as np  # noqa: PLC0415

    if ls.level == "interval":
        # sum over units of sum_{i != j} (x_i - x_j)^2 / (m - 1), without a values x values matrix
        num = 0.0
        n = 0
        s1 = s2 = 0.0
        for pat, k in pats:
            xs = [float(v) for v in pat]
            m = len(xs)
            a, b = sum(xs), sum(x * x for x in xs)
            num += k * 2 * (m * b - a * a) / (m - 1)
            n += k * m
            s1 += k * a
            s2 += k * b
        den = 2 * (n * s2 - s1 * s1) / (n - 1)
        return None if den == 0 else 1 - num / den
    V = len(domain)  # noqa: N806
    o = np.zeros((V, V))
    for pat, k in pats:
        c = np.zeros(V)
        for v in pat:
            c[index[v]] += 1
        m = c.sum()
        o += k * (np.outer(c, c) - np.diag(c)) / (m - 1)
    n_v = o.sum(axis=0)
    e = (np.outer(n_v, n_v) - np.diag(n_v)) / (n_v.sum() - 1)
    if ls.level == "nominal":
        d = 1.0 - np.eye(V)
    elif ls.level == "ordinal":
        d = np.zeros((V, V))
        cum = np.concatenate([[0.0], np.cumsum(n_v)])
        for i in range(V):
            for j in range(V):
                lo, hi = min(i, j), max(i, j)
                d[i, j] = (cum[hi + 1] - cum[lo] - (n_v[i] + n_v[j]) / 2) ** 2
    else:
        d = _jaccard(domain)
    den = (e * d).sum()
    return None if den == 0 else float(1 - (o * d).sum() / den)


def fleiss_kappa(ls: LabelStats) -> float | None:
    """Fleiss' kappa (1971), when every item with two or more judgments has the same number."""
    if ls.items == 0 or len(ls.sizes) != 1:
        return None
    total = sum(ls.totals.values())
    p_e = sum((c / total) ** 2 for c in ls.totals.values())
    if p_e == 1:
        return None
    p_bar = ls.pairs / ls.items
    return (p_bar - p_e) / (1 - p_e)


def cohen_kappa(ls: LabelStats) -> float | None:
    """Cohen's kappa, when exactly two annotators judged the label (over the items both judged)."""
    if len(ls.annotators) != 2 or not ls.pair_table:
        return None
    n = sum(ls.pair_table.values())
    agree = sum(k for (_, _, v1, v2), k in ls.pair_table.items() if v1 == v2)
    first: Counter = Counter()
    second: Counter = Counter()
    for (_, _, v1, v2), k in ls.pair_table.items():
        first[v1] += k
        second[v2] += k
    p_o = agree / n
    p_e = sum(first[v] * second[v] for v in first) / (n * n)
    if p_e == 1:
        return None
    return (p_o - p_e) / (1 - p_e)


# ---- the command ------------------------------------------------------------------------------------


def _allowed_levels(f: ir.FieldIR) -> tuple[str, ...]:
    """The levels of measurement a label's values support (nominal always, order when ranked)."""
    t = f.type
    if t.kind == "set":
        return ("jaccard",)
    if t.kind in ("int", "number", "scale"):
        return ("nominal", "ordinal", "interval")
    if t.kind == "enum" and t.enum is not None and t.enum.ordered:
        return ("nominal", "ordinal")
    return ("nominal",)


class AgreementError(Exception):
    pass


def compile_for_agreement(rubric: ir.RubricIR) -> Compiled:
    labels = [f for f in rubric.fields if f.kind == "label" and default_level(f) is not None]
    return compile_rubric(rubric, RowPlan(labels, list(rubric.decides), []))


def agreement(rubric: ir.RubricIR, paths: list[str], levels: dict[str, str] | None = None,
              progress: Any = None, jobs: int = 1, input_format: str = "auto") -> dict[str, Any]:
    """The agreement report (a JSON-ready dict); `input_format` says how the files are
    read (`reading.INPUT_FORMATS`)."""
    from rubricdsl.engine.runtime import run  # noqa: PLC0415

    if rubric.record_item is None and rubric.record_each is None:
        raise AgreementError("agreement needs to know which records belong to one item: "
                             "name it in the rubric's `record` block (`record { item = PATH  annotator = PATH }`), "
                             "or read the judgments inside each record (`record { each = PATH  annotator = @PATH }`)")
    compiled = compile_for_agreement(rubric)
    assert compiled.plan is not None
    chosen = {f.name: default_level(f) for f in compiled.plan.fields}
    for name, level in (levels or {}).items():
        if name not in chosen:
            known = ", ".join(chosen) or "none"
            raise AgreementError(f"--level {name}={level}: `{name}` is not a label compared here (labels: {known})")
        allowed = _allowed_levels(compiled.plan.fields[list(chosen).index(name)])
        if level not in allowed:
            raise AgreementError(f"--level {name}={level}: `{name}` can be measured as {' or '.join(allowed)}")
        chosen[name] = level
    collector = AgreementCollector(rubric, compiled.plan, chosen)  # type: ignore[arg-type]
    stats = run(compiled, paths, lambda f: None, progress, jobs, items=collector, input_format=input_format)
    labels: dict[str, Any] = {}
    for _, ls in collector.labels:
        a = alpha(ls)
        labels[ls.label.name] = {
            "alpha": _r(a), "level": ls.level, "items": ls.items,
            "percent_agreement": _r(ls.pairs / ls.items) if ls.items else None,
            "fleiss_kappa": _r(fleiss_kappa(ls)), "cohen_kappa": _r(cohen_kappa(ls)),
            "judgments": sum(ls.totals.values()),
        }
    annotators = {
        ann: {"judgments": st.judgments,
              "agreement_with_majority": _r(st.agreed / st.compared) if st.compared else None,
              "compared": st.compared,
              "violation_rate": _r(st.violations / st.judgments) if st.judgments else None,
              "uncovered_rate": _r(st.uncovered / st.judgments) if st.judgments else None}
        for ann, st in sorted(collector.annotators.items())
    }
    ranked = sorted((a for a in collector.arms.values() if a.items),
                    key=lambda a: (-a.disagreed / a.items, -a.items, a.label, a.number))
    arms = [{"label": a.label, "arm": a.arm, "items": a.items, "disagreement": _r(a.disagreed / a.items)}
            for a in ranked]
    return {"rubric": {"name": rubric.name, "version": rubric.version, "sha256": rubric.sha256,
                       "file": rubric.source_name},
            "records": stats.records, "items": collector.items, "unreadable": stats.counts["unreadable"],
            "labels": labels, "annotators": annotators, "arms": arms}


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)
