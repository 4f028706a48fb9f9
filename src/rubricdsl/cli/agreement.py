"""`rubric agreement RUBRIC DATA...`: inter-annotator agreement, per label, per
annotator and per arm of the guideline (see `rubricdsl.agreement`).

Text for people (tables), or `--format json`:
`{"labels": {LABEL: {"alpha", "level", "items", "percent_agreement", "fleiss_kappa",
"cohen_kappa", "judgments"}}, "annotators": {ID: {"judgments",
"agreement_with_majority", "compared", "violation_rate", "uncovered_rate"}},
"arms": [{"label", "arm", "items", "disagreement"}], ...}`.
Exit status: 0 done, 2 the command could not run.
"""
from __future__ import annotations

import os
import sys
from typing import Any

import click


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def render_text(report: dict[str, Any], console: Any, hotspots: int) -> None:
    from rich.table import Table  # noqa: PLC0415

    from rubricdsl.core.safetext import markup as m  # noqa: PLC0415 - names and ids are data: never markup

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


@click.command()
@click.argument("rubric", metavar="RUBRIC")
@click.argument("data", nargs=-1, required=True, metavar="DATA...")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: tables for people; json: one object.")
@click.option("-o", "--output", type=click.Path(), default=None, metavar="FILE",
              help="Write the report to FILE instead of standard output.")
@click.option("--level", "levels", multiple=True, metavar="LABEL=LEVEL",
              help="Measure LABEL as nominal, ordinal or interval instead of the level its type implies. Repeatable.")
@click.option("--hotspots", type=click.IntRange(0), default=10, show_default=True,
              help="text format: arms shown in the hotspot table (0: all).")
@click.option("--color/--no-color", default=None, help="Colour the text report (default: on a terminal).")
@click.option("-j", "--jobs", type=click.IntRange(0), default=0, show_default=True,
              help="Processes for large plain files (0: one per CPU, at most 8).")
def agreement(rubric: str, data: tuple[str, ...], fmt: str, output: str | None, levels: tuple[str, ...],
              hotspots: int, color: bool | None, jobs: int) -> None:
    """Inter-annotator agreement of DATA under RUBRIC, whose `record` block names the item
    and the annotator.

    Per label: Krippendorff's alpha (nominal for enums and bools, ordinal for ordered
    enums and scales, interval for int and number, Jaccard distance for sets), percent
    agreement, Fleiss' kappa (every item judged equally often), Cohen's kappa (two
    annotators). Per annotator: judgments, agreement with the item majority of the
    others, violation and uncovered rates. Per decide arm: items and their disagreement
    rate, sorted: the ambiguity hotspots of the guideline.
    """
    from rubricdsl.analysis.agreement import AgreementError  # noqa: PLC0415
    from rubricdsl.analysis.agreement import agreement as compute  # noqa: PLC0415
    from rubricdsl.cli.common import color_wanted, fail, load_rubric, progress_bar  # noqa: PLC0415
    from rubricdsl.engine.reading import DataError  # noqa: PLC0415

    from rubricdsl.core.outputs import OutputError, is_stdout, output as open_output, refuse_inputs  # noqa: PLC0415
    from rubricdsl.core.safetext import console as make_console  # noqa: PLC0415

    out_file = None if is_stdout(output) else output
    try:
        refuse_inputs(out_file, [rubric, *data], "-o")
    except OutputError as e:
        fail(str(e))
    r = load_rubric(rubric, color_wanted(color, sys.stderr))
    for p in data:
        if p != "-" and not os.path.exists(p):
            fail(f"{p}: no such file")
        if os.path.isdir(p):
            fail(f"{p}: is a directory, not a JSONL file")
    if data.count("-") > 1:
        fail("standard input (-) can be read once")
    chosen: dict[str, str] = {}
    for spec in levels:
        name, sep, level = spec.partition("=")
        if not sep or not name or not level:
            fail(f"--level {spec}: write LABEL=LEVEL, e.g. --level score=nominal")
        chosen[name.strip()] = level.strip()
    if jobs == 0:
        try:
            jobs = max(1, min(len(os.sched_getaffinity(0)), 8))
        except (AttributeError, OSError):
            jobs = max(1, min(os.cpu_count() or 1, 8))
    progress_cb = progress_bar(None, data)
    try:
        report = compute(r.ir, list(data), chosen, progress_cb, jobs)
    except AgreementError as e:
        fail(str(e))
    except DataError as e:
        fail(str(e))
    finally:
        if progress_cb is not None:
            progress_cb.close()
    with open_output(out_file) as fh:
        if fmt == "json":
            import json  # noqa: PLC0415

            fh.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        elif out_file is not None:
            render_text(report, make_console(fh, no_color=True, width=120), hotspots)
        else:
            use = color_wanted(color, sys.stdout)
            render_text(report, make_console(fh, force_terminal=use, no_color=not use, width=None if use else 120),
                        hotspots)
