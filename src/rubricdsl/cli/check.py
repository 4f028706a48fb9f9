"""`rubric check`: annotation records against a rubric."""
from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import Any, BinaryIO, Iterator, NoReturn

import click

from rubricdsl.cli.common import (Configs, check_data_files, color_wanted, config_format, config_options, exit_status,
                                  fail, input_format_option, jobs_wanted, load_rubric, progress_bar, refuse_inputs, say)
from rubricdsl.core.exits import EXIT_INTERRUPTED
from rubricdsl.core.values import plural


@click.command()
@click.argument("rubric", metavar="RUBRIC")
@click.argument("data", nargs=-1, required=True, metavar="DATA...")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "jsonl", "parquet"]), default=None,
              help="text for people (the default, or the configuration's output-format); json: one report object; "
                   "jsonl: one finding per line, then a summary line. With --engine spark: jsonl (the default) or "
                   "parquet.")
@click.option("-o", "--output", type=click.Path(), default=None, metavar="FILE",
              help="Write the report to FILE instead of standard output. With --engine spark: the directory "
                   "(new) for the findings.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info", "never"]), default="error",
              show_default=True, help="Exit 1 when a finding of this severity or higher is found.")
@click.option("--samples", type=click.IntRange(0), default=3, show_default=True,
              help="text format and --report: records shown per group of findings.")
@click.option("--color/--no-color", default=None, help="Colour the text report (default: when writing to a terminal).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: for large inputs when stderr is a terminal).")
@click.option("--baseline", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A JSON (or JSONL) report of an earlier run: warn when the rubric keeps its name and "
                   "version but its content changed.")
@input_format_option
@click.option("-j", "--jobs", type=click.IntRange(0), default=0, show_default=True,
              help="Processes for large plain JSONL and JSON files (0: one per CPU, at most 8). Output is the same "
                   "for any value.")
@click.option("--report", "report", type=click.Path(), default=None, metavar="FILE",
              help="Also write an HTML report for leads to FILE: counts, coverage of each decision, the escalation "
                   "queue, sample records linked to the guideline.")
@click.option("--by", "by", type=click.Choice(["annotator"]), default=None,
              help="Add a table per annotator: judgments checked, findings by kind and findings per judgment "
                   "(text report, --report and the JSON summary's `by_annotator`). Needs `annotator` in the "
                   "rubric's `record` block.")
@click.option("--guide-url", default=None, metavar="URL",
              help="--report: where the guideline (rubric doc) is, for links. Default: GUIDE.html beside the "
                   "rubric, relative to FILE.")
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True,
              help="spark: run on Spark (needs rubricdsl[spark] and Java); DATA may then be any path Spark reads "
                   "(hdfs://, s3a://, directories, globs), and the findings go to the directory -o.")
@click.option("--master", default=None, metavar="URL",
              help="--engine spark: the Spark master (default: local[N], N from -j).")
@config_options
def check(rubric: str, data: tuple[str, ...], fmt: str | None, output: str | None, fail_on: str, samples: int,
          color: bool | None, progress: bool | None, baseline: str | None, input_format: str, jobs: int,
          report: str | None, by: str | None, guide_url: str | None, engine: str, master: str | None,
          config_file: str | None, isolated: bool) -> None:
    """Check annotation records (JSONL, a JSON array, CSV, TSV or Parquet; .gz too; -
    for stdin) against RUBRIC.

    Every non-blank line of JSONL is a record (of CSV or TSV: every row after the
    header; of Parquet: every row): one that cannot be read is an `unreadable` finding and the run goes on. Findings: invalid, unreadable,
    uncovered, ambiguous, violation, escalation. With `consensus` or `per item`
    checks, records with the same item are then judged together (items may be
    spread anywhere in DATA).

    The report's format defaults to the output-format of the rubric's
    configuration (rubric.toml, or pyproject.toml's [tool.rubric]) when it is
    text, json or jsonl; --format wins over it.
    """
    cfg = Configs(config_file, isolated)(rubric)
    if engine == "spark":
        if by is not None:
            fail("--by annotator is not available with --engine spark: group the findings' `annotator` column "
                 "in Spark instead")
        from rubricdsl.cli.check_spark import check_on_spark  # noqa: PLC0415

        check_on_spark(rubric, data, fmt or "jsonl", output, fail_on, color, baseline, report, input_format,
                       master or f"local[{jobs_wanted(jobs)}]", _check_baseline)
    if master is not None:
        fail("--master goes with --engine spark")
    fmt = config_format(cfg, fmt, ("text", "json", "jsonl"), "check", "text")
    if fmt == "parquet":
        fail("--format parquet goes with --engine spark (without it: text, json or jsonl)")
    from rubricdsl.core.outputs import is_stdout, output as open_output, same_file  # noqa: PLC0415
    from rubricdsl.engine import runtime  # noqa: PLC0415
    from rubricdsl.engine.reading import DataError  # noqa: PLC0415

    out_file = None if is_stdout(output) else output
    inputs = [rubric, *data, baseline]
    refuse_inputs(out_file, inputs, "-o")
    refuse_inputs(report, inputs, "--report")
    if out_file and report and (same_file(out_file, report) or os.path.abspath(out_file) == os.path.abspath(report)):
        fail(f"-o and --report name the same file ({report})")
    r = load_rubric(rubric, color_wanted(color, sys.stderr))
    if by == "annotator" and r.ir.record_annotator is None:
        fail(f"--by annotator: {rubric} names no annotator; add `annotator = PATH` to its `record` block")
    check_data_files(data)
    info = r.info()
    if baseline:
        _check_baseline(baseline, info)
    jobs = jobs_wanted(jobs)
    run = runtime.run
    if report:
        from rubricdsl.render.report_html import ReportCollector, check_guide_url, default_guide_url  # noqa: PLC0415

        guide_url = guide_url or default_guide_url(rubric, report)
        if (why := check_guide_url(guide_url)) is not None:
            fail(f"--guide-url {guide_url}: {why}")
        html = ReportCollector(r.ir, samples=samples)
        run = html.run_with(runtime.run)
    progress_cb = progress_bar(progress, data)
    stats: runtime.Stats | None = None
    try:
        with open_output(out_file, binary=True) as out_stream:
            with _writer(fmt, out_stream, out_file is not None, info, r.ir, samples, color) as writer:
                stats = run(r.compiled, data, writer.emit, progress_cb, jobs, encode=writer.encode,
                            input_format=input_format, by_annotator=by == "annotator")
                writer.finish(stats)
            if report:
                with open_output(report) as fh:
                    fh.write(html.render(info, stats, guide_url))
    except (DataError, KeyboardInterrupt) as e:
        if progress_cb is not None:  # the bar goes before the line is printed
            progress_cb.close()
            progress_cb = None
        if isinstance(e, DataError):
            fail(str(e))
        partial = getattr(e, "stats", None) or stats
        _interrupted(partial, [f for f in (out_file, report) if f], fmt)
    finally:
        if progress_cb is not None:
            progress_cb.close()
    assert stats is not None
    exit_status((s for s, n in stats.by_severity.items() if n), fail_on)


@contextlib.contextmanager
def _writer(fmt: str, out_stream: BinaryIO, to_file: bool, info: dict, rubric: Any, samples: int,
            color: bool | None) -> Iterator[Any]:
    """The writer of the report in `fmt` (see `render.check_json`), on `out_stream` (binary);
    the text report goes to standard output itself when there is no file, coloured for a
    terminal."""
    if fmt == "json":
        from rubricdsl.render.check_json import JsonWriter  # noqa: PLC0415

        yield JsonWriter(out_stream, info)
        return
    if fmt == "jsonl":
        from rubricdsl.render.check_json import JsonlWriter  # noqa: PLC0415

        yield JsonlWriter(out_stream, info)
        return
    from rubricdsl.core.safetext import console as make_console  # noqa: PLC0415
    from rubricdsl.render.check_text import TextWriter  # noqa: PLC0415

    text_out = io.TextIOWrapper(out_stream, encoding="utf-8", newline="\n", write_through=True) if to_file \
        else sys.stdout
    use_color = bool(color) if to_file else color_wanted(color, text_out)
    console = make_console(text_out, force_terminal=use_color, no_color=not use_color, soft_wrap=True,
                           width=200 if not use_color else None)
    yield TextWriter(console, info, rubric, samples)
    text_out.flush()
    if to_file:
        text_out.detach()  # the binary stream is the caller's to close


def _interrupted(stats: Any, files: list[str], fmt: str) -> NoReturn:
    """Ctrl-C during `rubric check`: one line with what was checked so far, exit 130."""
    if stats is None:
        line = "rubric: interrupted"
    else:
        sev = stats.by_severity
        line = (f"rubric: interrupted after {plural(stats.records, 'record')}: "
                f"{plural(sev['error'], 'error')}, {plural(sev['warning'], 'warning')}, {sev['info']} info so far")
    if files:
        line += f"; {' and '.join(files)} left as {'they were' if len(files) > 1 else 'it was'}"
    elif fmt == "jsonl":
        line += "; the findings written have no summary line"
    else:
        line += "; no report written"
    say(line)
    sys.exit(EXIT_INTERRUPTED)


def _check_baseline(path: str, info: dict) -> None:
    """Warn when the rubric kept its name and version but its content changed: a guideline
    edited without a version bump silently re-labels what was checked before."""
    import json  # noqa: PLC0415

    not_report = f"{path}: not a rubric check report (json, or jsonl with its summary line)"
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"{path}: not UTF-8 text (byte {e.start})")
    except OSError as e:
        fail(f"{path}: cannot read: {e.strerror}")
    try:
        try:
            old = json.loads(text)["rubric"]
        except (ValueError, KeyError, TypeError):
            lines = [json.loads(ln) for ln in text.splitlines() if ln.strip()]
            old = next(d["rubric"] for d in reversed(lines) if isinstance(d, dict) and d.get("kind") == "summary")
        name, version, sha = old["name"], old["version"], old["sha256"]
    except (ValueError, KeyError, TypeError, StopIteration, RecursionError):
        fail(not_report)
    if not all(isinstance(x, str) for x in (name, version, sha)):
        fail(f"{not_report}: its rubric's name, version and sha256 must be strings")
    from rubricdsl.core.safetext import visible  # noqa: PLC0415

    if name != info["name"]:
        click.echo(f"rubric: warning: the baseline report is for rubric `{visible(name)}`, "
                   f"not `{visible(info['name'])}`", err=True)
    elif version == info["version"] and sha != info["sha256"]:
        click.echo(f"rubric: warning: rubric `{visible(name)}` version {visible(version)} changed since the baseline "
                   f"report (sha256 {visible(sha[:12])} -> {info['sha256'][:12]}) but kept its version; "
                   "bump the version when the guideline changes", err=True)
