"""The HTML report of `rubric check --report FILE.html`, for leads.

Input: the stream of findings of one check (plain dicts, the JSON report's shape), the
run's `runtime.Stats` and the rubric's IR. Output: one self-contained HTML page (inline
CSS and SVG, no script, nothing loaded from the network): the rubric's name, version
and sha256; summary cards; a bar chart of findings by criterion and clause; the
guideline's coverage per `decide` (how many records each arm counted, and the
uncovered and ambiguous share); the escalation queue; sample records per clause, each
linked to its clause in the rendered guideline (`rubric doc`); and, when items have
several annotators, the arms their disagreements point at.

Memory stays bounded however large the input: `ReportCollector` keeps counts per
clause and the first few findings of each, never every finding.

Per-arm counts come from the checker (`runtime.run(..., arm_counts=True)`, which fills
`Stats.arm_counts` and `Stats.decided`). With a checker that does not count arms the
coverage section says so and shows what the findings alone tell.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

import orjson

from rubricdsl.core.safetext import visible
from rubricdsl.core.severity import SEVERITIES
from rubricdsl.core.values import data_text, shorten
from rubricdsl.engine.findings import ANNOTATOR_KINDS, annotator_rows
from rubricdsl.language import ir
from rubricdsl.language.wording import anchor, build_guide, field_anchor, finding_anchor, plain, severity_word

KIND_ORDER = ("violation", "invalid", "unreadable", "ambiguous", "uncovered", "escalation")
SAMPLES = 3
QUEUE = 100
CHART_ROWS = 30
CHART_WIDTH, CHART_BAR = 480, 420  # the SVG's width and its longest bar (labels sit above the bars)
VALUE_CHARS = 200


def clip(v: Any, limit: int = VALUE_CHARS) -> str:
    """A value as data: compact JSON with every control character visible (`\\u202e`),
    shortened: samples stay small whatever the record holds."""
    return shorten(visible(data_text(v)), limit, "…")


def _short(s: Any, limit: int) -> str:
    return shorten(str(s), limit, "…")


@dataclass
class Sample:
    file: str
    line: int
    record: str
    message: str
    arms: list[str]
    values: list[tuple[str, str]]  # (name, value as text)
    judgment: str | None = None  # with `each`: which judgment of the record
    annotator: str | None = None  # who labeled the record (judgment), where it says
    context: list[tuple[str, str]] = field(default_factory=list)  # (`show` path, value as text)


@dataclass
class Clause:
    """The findings of one clause of the guideline: a decide, a field, a rule, an
    escalation, a consensus, or the lines that are not records."""

    key: tuple
    kind: str  # decide | field | rule | escalate | consensus | lines | other
    name: str
    criterion: str | None
    anchor: str | None
    message: str
    counts: Counter = field(default_factory=Counter)
    severities: Counter = field(default_factory=Counter)
    samples: dict[str, list[Sample]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def title(self) -> str:
        if self.kind == "lines":
            return "lines that are not records"
        word = {"decide": "decision", "field": "value of", "rule": "rule", "escalate": "escalation",
                "consensus": "agreement on"}.get(self.kind, "")
        return f"{word} {self.name}".strip()


class _Route:
    """The findings of one (kind, rule, label, severity, item or record): a counter,
    the first samples, and whether a finding needs more than counting."""

    __slots__ = ("clause", "kind", "severity", "n", "samples", "open", "extra", "decide", "item", "escalation")

    def __init__(self, clause: Clause, kind: str, severity: str, item: bool, decide: bool, open_: int) -> None:
        self.clause, self.kind, self.severity = clause, kind, severity
        self.n = 0
        self.samples: list[Sample] = clause.samples.setdefault(kind, [])
        self.open = len(self.samples) < open_
        self.item = item
        self.decide = decide and kind in ("violation", "ambiguous")
        self.escalation = kind == "escalation"
        self.extra = self.decide or (item and kind == "ambiguous") or self.escalation


class ReportCollector:
    """Receives every finding of a run (`collector(finding)`); keeps counts and samples."""

    def __init__(self, rubric: ir.RubricIR, samples: int = SAMPLES, queue: int = QUEUE) -> None:
        self.rubric = rubric
        self.samples = samples
        self.queue_cap = queue
        self.clauses: dict[tuple, Clause] = {}
        self._routes: dict[tuple, _Route] = {}
        self.queue: list[Sample] = []
        self.queue_targets: list[tuple[str, str, str]] = []  # (target, escalation, reason) per queued row
        self.arm_findings: Counter = Counter()  # (label, arm, kind) -> record findings naming the arm
        self.hotspots: Counter = Counter()  # (label, arm) -> item-level ambiguous findings naming it
        self.causes: Counter = Counter()  # (label, cause) -> item-level ambiguous findings
        self.stats: Any = None
        self.arm_counts_available = False

    # ---- collecting ----

    def __call__(self, f: dict) -> None:
        key = (f["kind"], f["rule"], f["label"], f["severity"], "lines" in f)
        r = self._routes.get(key)
        if r is None:
            r = self._route(f, key)
        r.n += 1
        if r.open:
            self._keep(r, f)
        if r.extra:
            self._extra(r, f, f.get("arms"), f.get("cause"))

    add = __call__

    @staticmethod
    def encoder(encode: Callable[[dict], Any]) -> Callable[[dict], tuple]:
        """An `encode` for the checker that also gives what counting needs, so that a
        parallel run encodes in its workers and the collector (`take`) never decodes
        a finding it only counts."""
        def enc(f: dict, _e: Callable[[dict], Any] = encode) -> tuple:
            return (_e(f), (f["kind"], f["rule"], f["label"], f["severity"], "lines" in f), f.get("arms"),
                    f.get("cause"))

        return enc

    def take(self, item: tuple) -> None:
        """Count one finding given as `encoder(...)` made it (its encoded bytes are JSON)."""
        data, key, arms, cause = item
        r = self._routes.get(key)
        if r is None:
            r = self._route(orjson.loads(data), key)
        r.n += 1
        if r.open:
            self._keep(r, orjson.loads(data))
        if r.extra:
            self._extra(r, data, arms, cause)

    def _keep(self, r: _Route, f: dict) -> None:
        samples = r.samples  # may be shared by routes of one clause and kind: check the length
        if len(samples) < self.samples:
            samples.append(self._sample(f))
        r.open = len(samples) < self.samples

    def _route(self, f: dict, key: tuple) -> _Route:
        item = key[4] or "cause" in f
        c = self._clause(f, item)
        r = self._routes[key] = _Route(c, key[0], key[3], item, c.kind == "decide" and not item, self.samples)
        return r

    def _extra(self, r: _Route, f: Any, arms: list | None, cause: Any) -> None:
        """Escalations fill the queue; decisions count their arms; items their causes."""
        if r.escalation:
            if len(self.queue) < self.queue_cap:
                if not isinstance(f, dict):
                    f = orjson.loads(f)
                self.queue.append(self._sample(f))
                self.queue_targets.append((f.get("target") or "", f["rule"] or "", f["message"]))
            else:
                for x in self._routes.values():
                    if x.escalation:
                        x.extra = False
            return
        label = r.clause.name
        if r.item:
            self.causes[(label, cause)] += 1
            for arm in arms or ():
                self.hotspots[(label, arm)] += 1
        else:
            kind = r.kind
            for arm in arms or ():
                self.arm_findings[(label, arm, kind)] += 1

    def tally(self) -> None:
        """Fill each clause's counts from the routes (after the run)."""
        for c in self.clauses.values():
            c.counts.clear()
            c.severities.clear()
        for r in self._routes.values():
            r.clause.counts[r.kind] += r.n
            r.clause.severities[r.severity] += r.n

    @property
    def escalations(self) -> int:
        return sum(r.n for r in self._routes.values() if r.escalation)

    @property
    def item_findings(self) -> int:
        return sum(r.n for r in self._routes.values() if r.item)

    def decide_findings(self, label: str, kind: str) -> int:
        """Record-level findings of `decide label` of one kind."""
        return sum(r.n for r in self._routes.values()
                   if not r.item and r.kind == kind and r.clause.kind == "decide" and r.clause.name == label)

    def _clause(self, f: dict, item: bool) -> Clause:
        kind, rule, label = f["kind"], f["rule"], f["label"]
        a = finding_anchor(self.rubric, f)
        if kind == "unreadable":
            ck, name = "lines", ""
        elif a is None:
            ck, name = "other", rule or label or ""
        else:
            ck = a.split("-", 1)[0]
            ck = {"label": "field", "input": "field"}.get(ck, ck)
            name = label if ck in ("decide", "field", "consensus") else rule
        criterion = f["criterion"] if kind != "unreadable" else None
        key = (criterion, ck, name)
        c = self.clauses.get(key)
        if c is None:
            msg = f["message"] if ck in ("rule", "escalate") else ""
            c = self.clauses[key] = Clause(key, ck, name or "", criterion, a, msg)
        return c

    @staticmethod
    def _sample(f: dict) -> Sample:
        values: list[tuple[str, str]] = []
        fields = f.get("fields")
        if fields:
            values = [(k, clip(v)) for k, v in fields.items()]
        elif "value" in f and f["kind"] != "unreadable":
            values = [(f["label"] or "value", clip(f["value"]))]
        if "values" in f:
            values.append(("values", clip(f["values"])))
        if "cause" in f:
            values.append(("cause", _short(f["cause"], 80)))
        context = f.get("context") or {}
        return Sample(str(f["file"]), int(f["line"]), _short(f["record"], 80), _short(f["message"], 300),
                      [_short(a, 80) for a in (f.get("arms") or [])][:20], values[:30],
                      _short(f["judgment"], 80) if "judgment" in f else None,
                      shorten(visible(f["annotator"]), 80, "…") if f.get("annotator") is not None else None,
                      [(shorten(visible(k), 80, "…"), clip(v)) for k, v in context.items()][:30])

    def run_with(self, run: Callable[..., Any]) -> Callable[..., Any]:
        """`run` (with `runtime.run`'s signature) that also feeds every finding to this
        collector, and has the checker count the records of each decide's arms."""

        def wrapped(compiled: Any, paths: Any, emit: Callable[[Any], None], progress: Any = None, jobs: int = 1,
                    encode: Callable[[dict], Any] | None = None, input_format: str = "auto",
                    by_annotator: bool = False) -> Any:
            if encode is None:  # the consumer wants dicts: count them as they pass
                add = self.add

                def tee(f: dict) -> None:
                    add(f)
                    emit(f)
                enc = None
            else:  # encoded findings (JSON bytes), encoded where the checking happens
                take = self.take
                enc = self.encoder(encode)

                def tee(item: tuple) -> None:
                    take(item)
                    emit(item[0])
            from rubricdsl.engine.codegen import compile_rubric  # noqa: PLC0415

            # the checker counts every decide's arms (compiled for it)
            compiled = compile_rubric(compiled.rubric, all_decides=True)
            stats = run(compiled, paths, tee, progress, jobs, encode=enc, arm_counts=True, input_format=input_format,
                        by_annotator=by_annotator)
            self.stats = stats
            self.arm_counts_available = stats.arm_counts is not None
            return stats

        return wrapped

    # ---- the report ----

    def model(self, info: dict, stats: Any, guide_url: str) -> "ReportModel":
        return _build_model(self, info, stats, guide_url)

    def render(self, info: dict, stats: Any, guide_url: str) -> str:
        from rubricdsl.render.guide import environment  # noqa: PLC0415

        return environment("html").get_template("report.html.j2").render(r=self.model(info, stats, guide_url))


# ---- the report's model --------------------------------------------------------------------------


@dataclass
class Segment:
    kind: str
    x: float
    width: float
    count: int


@dataclass
class ChartRow:
    label: str
    href: str | None
    y: int
    total: int
    segments: list[Segment]


@dataclass
class ArmRow:
    name: str
    kind: str  # edge | when | otherwise | uncovered | ambiguous
    href: str | None
    values: list[str]
    when: Any  # doc.Words
    counted: int | None
    share: float | None
    violations: int


@dataclass
class Coverage:
    label: str
    href: str
    criterion: str | None
    first: bool
    decided: int | None
    rows: list[ArmRow]
    uncovered: int
    ambiguous: int
    violations: int


@dataclass
class QueueRow:
    sample: Sample
    target: str
    escalation: str
    reason: str
    href: str | None


@dataclass
class ClauseView:
    clause: Clause
    href: str | None
    local: str
    criterion_title: str | None
    severity: str
    requirement: str | None


@dataclass
class ReportModel:
    info: dict
    files: list[str]
    records: int
    items: int | None
    clean: int
    with_findings: int
    counts: dict[str, int]
    severities: dict[str, int]
    kinds: tuple[str, ...]
    chart: list[ChartRow]
    chart_height: int
    chart_more: int
    chart_width: int
    clauses: list[ClauseView]
    quiet: list[tuple[str, str | None]]  # clauses with no finding: (title, guide link)
    coverage: list[Coverage]
    arm_counts: bool
    queue: list[QueueRow]
    queue_more: int
    hotspots: list[tuple[str, str, str | None, int]]  # (label, arm, link, count)
    causes: list[tuple[str, str, int]]
    item_findings: int
    disagreements: int
    guide_url: str
    samples: int
    version: str
    # `--by annotator`: the rows of `findings.annotator_rows`, each with its `rate`
    by_annotator: list[dict[str, Any]] | None = None
    by_unit: str = "judgments"
    annotator_kinds: tuple[str, ...] = ANNOTATOR_KINDS


def guide_link(guide_url: str, a: str | None) -> str | None:
    return f"{guide_url}#{a}" if a else None


def check_guide_url(url: str) -> str | None:
    """None when `url` may serve as the guideline's address, else why not: a relative
    path, or an http(s) or file URL (no `javascript:` and the like)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "not a URL"
    if parts.scheme and parts.scheme.lower() not in ("http", "https", "file"):
        return f"the scheme `{parts.scheme}:` is not allowed (use a relative path, http, https or file)"
    if parts.fragment:
        return "give the guideline's address without a #fragment"
    return None


def default_guide_url(rubric_path: str, report_path: str) -> str:
    """`GUIDE.html` beside the rubric, relative to the report's directory: where
    `rubric doc RUBRIC -o '{dir}/GUIDE.html'` writes it and where shipped rubrics keep it."""
    guide = os.path.join(os.path.dirname(os.path.abspath(rubric_path)), "GUIDE.html")
    here = os.path.dirname(os.path.abspath(report_path))
    return os.path.relpath(guide, here).replace(os.sep, "/")


def _build_model(col: ReportCollector, info: dict, stats: Any, guide_url: str) -> ReportModel:
    from rubricdsl.core.version import __version__  # noqa: PLC0415

    rubric = col.rubric
    col.tally()
    guide = build_guide(rubric)
    titles = {c.name: c.title or c.name for c in rubric.criteria}
    order = {c.name: i for i, c in enumerate(rubric.criteria)}
    counts = {k: int(stats.counts.get(k, 0)) for k in KIND_ORDER}
    sev = {k: int(stats.by_severity.get(k, 0)) for k in SEVERITIES}

    def crit_order(c: Clause) -> tuple:
        return (-2 if c.kind == "lines" else -1 if c.criterion is None else order.get(c.criterion, 10**6),)

    clauses = sorted(col.clauses.values(), key=lambda c: (-c.total, crit_order(c), c.title))

    # chart: one stacked bar per clause, largest first
    shown = clauses[:CHART_ROWS]
    top = max((c.total for c in shown), default=0) or 1
    rows, y = [], 0
    for c in shown:
        x = 0.0
        segs = []
        for k in KIND_ORDER:
            n = c.counts.get(k, 0)
            if n:
                w = CHART_BAR * n / top
                segs.append(Segment(k, round(x, 2), round(max(w, 1.0), 2), n))
                x += w
        label = _short((f"{c.criterion} · " if c.criterion else "") + c.title, 66)
        rows.append(ChartRow(label, guide_link(guide_url, c.anchor), y, c.total, segs))
        y += 36

    # sections per clause, in guideline order
    def severity_of(c: Clause) -> str:
        for s in SEVERITIES:
            if c.severities.get(s):
                return s
        return "info"

    requirement = {r.name: plain(r.require) for s in guide.sections for r in s.rules}
    requirement.update({r.name: plain(r.require) for r in guide.item_rules})
    views = []
    for c in sorted(col.clauses.values(), key=lambda c: (crit_order(c), _CLAUSE_ORDER.get(c.kind, 9), c.title)):
        local = "clause-" + "-".join(str(p) for p in (c.criterion or "top", c.kind, c.name) if p != "")
        views.append(ClauseView(c, guide_link(guide_url, c.anchor), _local_id(local),
                                titles.get(c.criterion, c.criterion) if c.criterion else None, severity_of(c),
                                requirement.get(c.name) if c.kind == "rule" else None))

    # clauses that found nothing: worth knowing too
    hit = {(c.kind, c.name) for c in col.clauses.values()}
    quiet = []
    for d in rubric.decides:
        if ("decide", d.label.name) not in hit:
            quiet.append((f"decision {d.label.name}", guide_link(guide_url, anchor("decide", d.label.name))))
    for r in rubric.rules:
        if ("rule", r.name) not in hit:
            quiet.append((f"rule {r.name}", guide_link(guide_url, anchor("rule", r.name))))
    for e in rubric.escalations:
        if ("escalate", e.name) not in hit:
            quiet.append((f"escalation {e.name}", guide_link(guide_url, anchor("escalate", e.name))))

    coverage = [_coverage(col, d, stats, guide_url) for d in rubric.decides]

    queue = [QueueRow(s, t, n, why, guide_link(guide_url, anchor("escalate", n) if n else None))
             for s, (t, n, why) in zip(col.queue, col.queue_targets)]
    hotspots = sorted(((label, arm, guide_link(guide_url, anchor("arm", arm, label)), n)
                       for (label, arm), n in col.hotspots.items()), key=lambda t: (-t[3], t[0], t[1]))
    causes = sorted(((label, str(cause), n) for (label, cause), n in col.causes.items()),
                    key=lambda t: (-t[2], t[0], t[1]))
    by_annotator = None
    if getattr(stats, "by_annotator", None) is not None:
        by_annotator = [{**row, "name": None if row["annotator"] is None else shorten(visible(row["annotator"]), 80, "…"),
                         "rate": row["findings"] / row["judgments"] if row["judgments"] else None}
                        for row in annotator_rows(stats.by_annotator)]
    return ReportModel(
        info=info, files=list(stats.files), records=stats.records, items=getattr(stats, "items", None), clean=stats.records - stats.with_findings,
        with_findings=stats.with_findings, counts=counts, severities=sev, kinds=KIND_ORDER,
        chart=rows, chart_height=max(y, 36), chart_more=max(0, len(clauses) - len(shown)), clauses=views,
        chart_width=CHART_WIDTH, quiet=quiet, coverage=coverage, arm_counts=col.arm_counts_available, queue=queue,
        queue_more=max(0, col.escalations - len(queue)), hotspots=hotspots, causes=causes,
        item_findings=col.item_findings, disagreements=sum(col.causes.values()), guide_url=guide_url, samples=col.samples, version=__version__,
        by_annotator=by_annotator, by_unit="judgments" if getattr(stats, "judgments", None) is not None else "records")


_CLAUSE_ORDER = {"lines": 0, "field": 1, "decide": 2, "rule": 3, "escalate": 4, "consensus": 5, "other": 6}


def _local_id(s: str) -> str:
    import re  # noqa: PLC0415

    return re.sub(r"[^A-Za-z0-9_-]+", "-", s)


def _coverage(col: ReportCollector, d: ir.DecideIR, stats: Any, guide_url: str) -> Coverage:
    label = d.label.name
    decided: int | None = None
    per_arm: dict[int, int] | None = None
    if col.arm_counts_available:
        try:
            per_arm = dict(stats.arm_counts[d.index])
            decided = int(stats.decided[d.index])
        except (AttributeError, IndexError, KeyError, TypeError):
            per_arm = decided = None
    rows = []
    for a in d.arms:
        counted = per_arm.get(a.number, 0) if per_arm is not None else None
        share = (counted / decided) if counted is not None and decided else None
        viol = col.arm_findings.get((label, a.name, "violation"), 0)
        rows.append(ArmRow(a.name, a.kind, guide_link(guide_url, anchor("arm", a.name, label)),
                           [str(v).lower() if isinstance(v, bool) else str(v) for v in a.values],
                           _arm_words(col.rubric, a), counted, share, viol))
    unc = per_arm.get(0, 0) if per_arm is not None else col.decide_findings(label, "uncovered")
    amb = col.decide_findings(label, "ambiguous")
    return Coverage(label, guide_link(guide_url, anchor("decide", label)) or "", d.criterion, d.first, decided,
                    rows, unc, amb, col.decide_findings(label, "violation"))


def _arm_words(rubric: ir.RubricIR, a: ir.ArmIR):
    from rubricdsl.language.wording import T, Wording  # noqa: PLC0415

    if a.cond is None:
        return (T("otherwise"),)
    return Wording(rubric).say(a.cond)


__all__ = ["ReportCollector", "check_guide_url", "clip", "default_guide_url", "field_anchor", "severity_word"]
