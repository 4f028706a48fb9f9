"""`rubric agreement RUBRIC DATA...`: inter-annotator agreement, per label, per
annotator and per arm of the guideline (see `rubricdsl.analysis.agreement`).

Text for people (tables, `rubricdsl.render.agreement_text`), or `--format json`:
`{"labels": {LABEL: {"alpha", "level", "items", "percent_agreement", "fleiss_kappa",
"cohen_kappa", "judgments"}}, "annotators": {ID: {"judgments",
"agreement_with_majority", "compared", "violation_rate", "uncovered_rate"}},
"arms": [{"label", "arm", "items", "disagreement"}], ...}`.
Exit status: 0 done, 2 the command could not run.
"""
from __future__ import annotations

import json
import sys

import click

from rubricdsl.cli.common import (check_data_files, color_wanted, fail, input_format_option, jobs_wanted, load_rubric,
                                  progress_bar, refuse_inputs)


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
@input_format_option
@click.option("-j", "--jobs", type=click.IntRange(0), default=0, show_default=True,
              help="Processes for large plain JSONL and JSON files (0: one per CPU, at most 8).")
def agreement(rubric: str, data: tuple[str, ...], fmt: str, output: str | None, levels: tuple[str, ...],
              hotspots: int, color: bool | None, input_format: str, jobs: int) -> None:
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
    from rubricdsl.core.outputs import is_stdout, output as open_output  # noqa: PLC0415
    from rubricdsl.core.safetext import console as make_console  # noqa: PLC0415
    from rubricdsl.engine.reading import DataError  # noqa: PLC0415

    out_file = None if is_stdout(output) else output
    refuse_inputs(out_file, [rubric, *data], "-o")
    r = load_rubric(rubric, color_wanted(color, sys.stderr))
    check_data_files(data)
    chosen: dict[str, str] = {}
    for spec in levels:
        name, sep, level = spec.partition("=")
        if not sep or not name or not level:
            fail(f"--level {spec}: write LABEL=LEVEL, e.g. --level score=nominal")
        chosen[name.strip()] = level.strip()
    progress_cb = progress_bar(None, data)
    try:
        report = compute(r.ir, list(data), chosen, progress_cb, jobs_wanted(jobs), input_format)
    except (AgreementError, DataError) as e:
        fail(str(e))
    finally:
        if progress_cb is not None:
            progress_cb.close()
    with open_output(out_file) as fh:
        if fmt == "json":
            fh.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
            return
        from rubricdsl.render.agreement_text import render_text  # noqa: PLC0415

        if out_file is not None:
            render_text(report, make_console(fh, no_color=True, width=120), hotspots)
        else:
            use = color_wanted(color, sys.stdout)
            render_text(report, make_console(fh, force_terminal=use, no_color=not use, width=None if use else 120),
                        hotspots)
