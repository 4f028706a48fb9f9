"""The text report of `rubric check`: a summary, then findings grouped by criterion
and rule with counts and the first few locations and offending values."""
from __future__ import annotations

from typing import Any

from rubricdsl.core.safetext import markup, visible
from rubricdsl.core.severity import rank
from rubricdsl.core.values import data_text, plural, shorten, show
from rubricdsl.engine.findings import ANNOTATOR_KINDS, annotator_rows
from rubricdsl.engine.runtime import Stats
from rubricdsl.language import ir

_SEV_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_KIND_ORDER = {k: i for i, k in enumerate(("unreadable", "invalid", "violation", "ambiguous", "uncovered", "escalation"))}


class TextCollector:
    """Keeps counts and a few samples per group; never every finding."""

    def __init__(self, samples: int = 3) -> None:
        self.samples = samples
        self.groups: dict[tuple, dict[str, Any]] = {}

    def __call__(self, f: dict) -> None:
        name = f["rule"] or f["label"] or ""
        crit = _ITEMS if "lines" in f else f["criterion"] if f["kind"] != "unreadable" else _LINES
        if crit == _ITEMS and name == "consensus":
            name = f"consensus on {f['label']}"
        key = (crit, f["kind"], name, f["severity"])
        g = self.groups.get(key)
        if g is None:
            g = self.groups[key] = {"count": 0, "judged": 0, "samples": [], "target": f.get("target"),
                                    "message": f["message"]}
        g["count"] += 1
        if "judgment" in f:
            g["judged"] += 1
        if len(g["samples"]) < self.samples:
            g["samples"].append(f)


_LINES = "\0lines"  # the section of lines that are not records
_ITEMS = "\0items"  # the section of item findings (several annotators on one item)


def render(console, info: dict, stats: Stats, groups: dict[tuple, dict], criteria_order: list[str],
           titles: dict[str, str]) -> None:
    c = console
    c.print(f"[bold]rubric[/bold] {markup(info['name'])} [bold]version[/bold] {markup(info['version'])}  "
            f"[dim]sha256 {info['sha256'][:12]}  {markup(info['file'])}[/dim]")
    n_files = len(stats.files)
    clean = stats.records - stats.with_findings
    c.print(f"checked [bold]{stats.records}[/bold] record{'s' if stats.records != 1 else ''} "
            f"in {n_files} file{'s' if n_files != 1 else ''}: "
            f"[green]{clean} clean[/green], {stats.with_findings} with findings")
    parts = []
    for k in ("violation", "invalid", "unreadable", "ambiguous", "uncovered", "escalation"):
        n = stats.counts.get(k, 0)
        style = "bold" if n else "dim"
        parts.append(f"[{style}]{k} {n}[/{style}]")
    c.print("  " + "  ".join(parts))
    sev = stats.by_severity
    if stats.judgments is not None:
        skipped = f", {stats.skipped} skipped (`skip when`)" if stats.skipped else ""
        c.print(f"  [bold]{stats.judgments}[/bold] judgment{'s' if stats.judgments != 1 else ''} checked"
                f" (one per element of each record's list){skipped}")
    if stats.items:
        c.print(f"  [bold]{stats.items}[/bold] item{'s' if stats.items != 1 else ''} judged "
                "(records grouped by their item)")
    elif stats.items == 0:
        c.print("  [dim]no record names an item: the item checks had nothing to judge[/dim]")
    c.print(f"  [bold red]{sev['error']} error{'s' if sev['error'] != 1 else ''}[/bold red]  "
            f"[yellow]{sev['warning']} warning{'s' if sev['warning'] != 1 else ''}[/yellow]  "
            f"[cyan]{sev['info']} info[/cyan]")
    if getattr(stats, "by_annotator", None) is not None:
        _annotator_table(c, stats)
    if not groups:
        return
    order = {name: i for i, name in enumerate(criteria_order)}
    by_crit: dict[Any, list] = {}
    for key, g in groups.items():
        by_crit.setdefault(key[0], []).append((key, g))
    for crit in sorted(by_crit, key=lambda k: (-2 if k == _LINES else -1 if k is None
                                               else 10**7 if k == _ITEMS else order.get(k, 10**6))):
        c.print()
        unit = "item" if crit == _ITEMS else "record"
        if crit == _LINES:
            c.print("[bold underline]lines that are not records[/bold underline]")
        elif crit == _ITEMS:
            c.print("[bold underline]items[/bold underline] [dim](several annotators on one item)[/dim]")
        elif crit is None:
            c.print("[bold underline]top level[/bold underline]")
        else:
            title = titles.get(crit, crit)
            c.print(f"[bold underline]criterion {markup(crit)}[/bold underline]" + (f" — {markup(title)}" if title != crit else ""))
        items = sorted(by_crit[crit], key=lambda kg: (-rank(kg[0][3]), _KIND_ORDER[kg[0][1]], -kg[1]["count"], kg[0][2]))
        for (crit_, kind, name, severity), g in items:
            style = _SEV_STYLE[severity]
            what = f"{kind} {name}".strip()
            if kind == "escalation" and g.get("target"):
                what += f" → {g['target']}"
            n = g["count"]
            noun = unit if not g["judged"] else "judgment" if g["judged"] == n else "finding"
            c.print(f"  [{style}]{markup(what)}[/{style}]  [bold]{n}[/bold] {noun}{'s' if n != 1 else ''} [dim]({severity})[/dim]")
            if crit == _ITEMS and kind in ("violation", "escalation") and not name.startswith("consensus"):
                c.print(f"    [dim]{markup(g['message'])}[/dim]")
            elif kind in ("violation", "escalation") and g["samples"] and g["samples"][0].get("fields") is not None:
                c.print(f"    [dim]{markup(g['message'])}[/dim]")
            task = None  # the record whose judgments are listed under it
            for f in g["samples"]:
                loc = f"{f['file']}:{f['line']}"
                if "judgment" in f:
                    if task != (f["file"], f["line"], f["record"]):
                        task = (f["file"], f["line"], f["record"])
                        c.print(f"    [dim]{markup(loc)} record {markup(f['record'])}[/dim]")
                    c.print(f"      [dim]judgment {markup(f['judgment'])}{_by(f)}[/dim]  {markup(_detail(f))}")
                    _context(c, f, "        ")
                    continue
                task = None
                if crit == _ITEMS:
                    k = len(f["lines"])
                    rec = f" item {f['record']} ({plural(k, 'record')})"
                else:
                    rec = f" record {f['record']}" if f["record"] != str(f["line"]) else ""
                detail = _detail(f)
                c.print(f"    [dim]{markup(loc)}{markup(rec)}{_by(f)}[/dim]  {markup(detail)}")
                _context(c, f, "      ")
            if n > len(g["samples"]):
                c.print(f"    [dim]… and {n - len(g['samples'])} more[/dim]")


NO_ANNOTATOR = "(no annotator)"
CONTEXT_CHARS = 80  # a context value in the text report: shortened (the JSON report holds it whole)
NAME_CHARS = 40


def _by(f: dict) -> str:
    """` (annotator NAME)` after a sample's place, when the finding names one (markup);
    not after a judgment named by its annotator already."""
    if "annotator" not in f or f.get("judgment") == f["annotator"]:
        return ""
    return f" (annotator {markup(shorten(visible(f['annotator']), NAME_CHARS, '…'))})"


def _context(c, f: dict, indent: str) -> None:
    """The line under a sample with the values of the rubric's `show` paths, as data."""
    ctx = f.get("context")
    if ctx:
        c.print(f"{indent}[dim]" + ", ".join(f"{markup(k)}={markup(shorten(visible(data_text(v)), CONTEXT_CHARS))}"
                                             for k, v in ctx.items()) + "[/dim]")


def _annotator_table(c, stats: Stats) -> None:
    """`--by annotator`: per annotator, the judgments checked, their findings by kind, and
    findings per judgment. Unreadable lines and item findings are in no row."""
    rows = annotator_rows(stats.by_annotator or {})
    unit = "judgments" if stats.judgments is not None else "records"
    head = ["annotator", unit, *ANNOTATOR_KINDS, "findings", f"per {unit[:-1]}"]
    table = []
    for r in rows:
        name = NO_ANNOTATOR if r["annotator"] is None else shorten(visible(r["annotator"]), NAME_CHARS, "…")
        rate = f"{r['findings'] / r['judgments']:.2f}" if r["judgments"] else "—"
        table.append([name, str(r["judgments"]), *(str(r[k]) for k in ANNOTATOR_KINDS), str(r["findings"]), rate])
    widths = [max(len(row[i]) for row in [head, *table]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        first = markup(cells[0]) + " " * (widths[0] - len(cells[0]))
        return "  " + "  ".join([first, *(cell.rjust(w) for cell, w in zip(cells[1:], widths[1:]))])

    c.print()
    c.print(f"[bold underline]by annotator[/bold underline] [dim](per {unit[:-1]}: findings / {unit} checked; "
            "unreadable lines and item findings are in no row)[/dim]")
    c.print(f"[bold]{line(head)}[/bold]")
    for r, cells in zip(rows, table):
        text = line(cells)
        c.print(f"[dim]{text}[/dim]" if r["annotator"] is None else text)


def _detail(f: dict) -> str:
    kind = f["kind"]
    if "lines" in f:
        if f.get("cause"):
            values = ", ".join(f"{v} {n}" for v, n in f["values"].items())
            return f"{f['cause']}: {values}" + (f"; arms {', '.join(f['arms'])}" if f.get("arms") else "")
        if f.get("aggregates"):
            return ", ".join(f"{k}={show(v, 40)}" for k, v in f["aggregates"].items())
        return "" if kind == "escalation" or f["rule"] != "consensus" else f["message"]
    if kind in ("violation", "escalation") and f.get("fields") is not None:
        vals = ", ".join(f"{k}={show(v, 40)}" for k, v in f["fields"].items())
        return vals
    return f["message"]


class TextWriter:
    """`--format text`, the writer `rubric check` hands findings to (see `check_json`):
    counts and samples while the run goes, the report at its end."""

    encode = None  # findings as dicts

    def __init__(self, console: Any, info: dict, rubric: ir.RubricIR, samples: int) -> None:
        self.console = console
        self.info = info
        self.rubric = rubric
        self.emit = TextCollector(samples)

    def finish(self, stats: Stats) -> None:
        criteria = self.rubric.criteria
        render(self.console, self.info, stats, self.emit.groups, [c.name for c in criteria],
               {c.name: c.title for c in criteria})
