"""`rubric agreement` for people: the labels, the annotators and the ambiguity hotspots
(the arms annotators disagree on most) as tables. Names and ids are data: never markup."""
from __future__ import annotations

from typing import Any

from rubricdsl.core.safetext import markup as m


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def render_text(report: dict[str, Any], console: Any, hotspots: int) -> None:
    from rich.table import Table  # noqa: PLC0415

    r = report["rubric"]
    console.print(f"[bold]rubric[/bold] {m(r['name'])} [bold]version[/bold] {m(r['version'])}  "
                  f"[dim]sha256 {m(r['sha256'][:12])}  {m(r['file'])}[/dim]")
    console.print(f"{report['records']} records, {report['items']} items"
                  + (f", {report['unreadable']} unreadable lines" if report["unreadable"] else ""))
    t = Table(title="labels", title_justify="left", show_edge=False)
    for col in ("label", "level", "items", "alpha", "% agreement", "Fleiss κ", "Cohen κ"):
        t.add_column(col, justify="left" if col in ("label", "level") else "right")
    for name, s in report["labels"].items():
        t.add_row(m(name), m(s["level"]), str(s["items"]), _num(s["alpha"]), _pct(s["percent_agreement"]),
                  _num(s["fleiss_kappa"]), _num(s["cohen_kappa"]))
    console.print()
    console.print(t)
    if report["annotators"]:
        t = Table(title="annotators", title_justify="left", show_edge=False)
        for col in ("annotator", "judgments", "agree with majority", "violations", "uncovered"):
            t.add_column(col, justify="left" if col == "annotator" else "right")
        for ann, s in report["annotators"].items():
            t.add_row(m(ann), str(s["judgments"]), _pct(s["agreement_with_majority"]), _pct(s["violation_rate"]),
                      _pct(s["uncovered_rate"]))
        console.print()
        console.print(t)
    arms = report["arms"][:hotspots] if hotspots else report["arms"]
    if arms:
        console.print()
        console.print("[bold]ambiguity hotspots[/bold]: the arms whose items annotators disagree on most")
        t = Table(show_edge=False)
        for col in ("label", "arm", "items", "disagreement"):
            t.add_column(col, justify="left" if col in ("label", "arm") else "right")
        for a in arms:
            t.add_row(m(a["label"]), m(a["arm"]), str(a["items"]), _pct(a["disagreement"]))
        console.print(t)
        if len(report["arms"]) > len(arms):
            console.print(f"[dim]… and {len(report['arms']) - len(arms)} more arms (--hotspots 0 lists all)[/dim]")
