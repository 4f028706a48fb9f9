"""`rubric diff`: what changed between two versions of a rubric."""
from __future__ import annotations

import sys

import click

from rubricdsl.cli.common import (Configs, check_data_files, color_wanted, config_options, fail, input_format_option,
                                  refuse_inputs, show_diagnostics, write_result)
from rubricdsl.core.exits import EXIT_FINDINGS, EXIT_OK


@click.command()
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option("--data", "data", multiple=True, metavar="FILE",
              help="Run both versions over these data files (JSONL, a JSON array, CSV, TSV or Parquet) and list every "
                   "record whose findings differ (repeatable). Default: the configuration's data.")
@input_format_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True,
              help="markdown fits a pull-request comment.")
@click.option("-o", "--output", type=click.Path(), default=None, metavar="FILE",
              help="Write the report to FILE instead of standard output.")
@click.option("--fail-on-change", type=click.Choice(["structure", "semantic", "records"]), default=None,
              help="Exit 1 when the rubric changed structurally, when a decision, rule or escalation "
                   "changed in meaning, or when a record's findings changed.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0, min_open=True), default=60.0, show_default=True,
              metavar="SECONDS",
              help="Time budget of the comparison of meanings; what it leaves undecided is reported as "
                   "`undecided` (RB209).")
@config_options
def diff(old: str, new: str, data: tuple[str, ...], input_format: str, fmt: str, output: str | None,
         fail_on_change: str | None, timeout_s: float, config_file: str | None, isolated: bool) -> None:
    """What changed between two versions of a rubric, and which records it flips.

    OLD and NEW are paths or REV:PATH (read from git at REV, imports included).
    Reports structural changes (fields, enum values, criteria, decisions and arms,
    rules, escalations, examples), what each decision, rule and escalation now means
    (equivalent, narrower, broader or changed, with a witness), and, with --data,
    every record whose findings differ. Without --data, the data files of NEW's configuration
    (rubric.toml, or pyproject.toml's [tool.rubric]) are used.
    """
    import json  # noqa: PLC0415

    from rubricdsl.analysis import diff as D  # noqa: PLC0415
    from rubricdsl.core.diagnostics import RubricError  # noqa: PLC0415
    from rubricdsl.engine.reading import DataError  # noqa: PLC0415

    cfg = Configs(config_file, isolated)(new)
    if not data and cfg.data:
        data = tuple(str(p) for p in cfg.data)
        line = cfg.line_of("data")
        for p in cfg.data:  # said as the configuration's, not as an argument the user never gave
            if not p.is_file():
                fail(f"{cfg.path}{f':{line}' if line else ''}: data file {p}: "
                     f"{'is a directory, not a data file' if p.is_dir() else 'no such file'}")
    refuse_inputs(output, [old, new, *data], "-o")
    check_data_files(data)
    try:
        res = D.diff(old, new, list(data), timeout_s, input_format)
    except (D.DiffError, DataError) as e:
        fail(str(e))
    except RubricError as e:
        show_diagnostics(e, color_wanted(None, sys.stderr))
    if fmt == "json":
        text = json.dumps(res.to_dict(), indent=2, ensure_ascii=False) + "\n"
    else:
        from rubricdsl.render.diff_report import render_markdown, render_text  # noqa: PLC0415

        text = render_markdown(res) if fmt == "markdown" else render_text(res)
    write_result(output, text)
    changed = (fail_on_change == "structure" and bool(res.changes)) or (
        fail_on_change == "records" and bool(res.records)) or (
        fail_on_change == "semantic" and any(c.status != "equivalent" for c in res.semantic))
    sys.exit(EXIT_FINDINGS if changed else EXIT_OK)
