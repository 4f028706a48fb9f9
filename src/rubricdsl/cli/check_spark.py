"""`rubric check --engine spark`: the same check on Spark, the findings to a directory.

This module is imported only for `--engine spark`; it imports `rubricdsl.spark` (and with
it pyspark) only once the arguments are known to be right."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import Any, Callable, NoReturn

import click

from rubricdsl.cli.common import color_wanted, exit_status, fail, load_rubric, refuse_inputs, say
from rubricdsl.core.values import plural


def check_on_spark(rubric: str, data: tuple[str, ...], fmt: str, output: str | None, fail_on: str,
                   color: bool | None, baseline: str | None, report: str | None, input_format: str, master: str,
                   check_baseline: Callable[[str, dict], None]) -> NoReturn:
    """Check DATA on Spark (`master`), write the findings to the directory `output` as
    `fmt` (jsonl or parquet) with `_summary.json`, print the summary, exit by `fail_on`."""
    if fmt not in ("jsonl", "parquet"):
        fail(f"--engine spark writes jsonl or parquet files to a directory, not {fmt}")
    if not output or output == "-":
        fail("--engine spark writes the findings to a directory: give it with -o DIR")
    if report:
        fail("--report goes without --engine spark")
    refuse_inputs(output, [rubric, *data, baseline], "-o")
    for p in data:  # a local path that is not there fails before Spark starts
        if p == "-":
            fail("--engine spark reads files, not standard input (-)")
        if "://" not in p and not p.startswith("file:") and not any(c in p for c in "*?[{") \
                and not os.path.exists(p):
            fail(f"{p}: no such file")
    if "://" not in output and os.path.lexists(output):
        fail(f"{output}: exists; name a new directory for the findings")
    r = load_rubric(rubric, color_wanted(color, sys.stderr))
    if baseline:
        check_baseline(baseline, r.info())
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        fail("--engine spark needs Java 17 or later: java on PATH, or JAVA_HOME")
    import warnings  # noqa: PLC0415

    # pyspark warns about pandas versions it has not tested: not the user's concern here
    warnings.filterwarnings("ignore", message=r".*pandas", category=FutureWarning)
    try:
        from rubricdsl import spark as rspark  # noqa: PLC0415
    except ImportError as e:
        missing = getattr(e, "name", None) or "pyspark"
        fail(f"--engine spark needs pyspark ({missing} does not import): pip install 'rubricdsl[spark]'")
    log = tempfile.NamedTemporaryFile(prefix="rubric-spark-", suffix=".log", delete=False)
    log.close()
    session = _start(rspark, master, log.name)
    try:
        result = rspark.check(session, r, list(data), input_format=input_format)
        rspark.write(result, session, output, fmt)
    except rspark.SparkCheckError as e:
        _done(session, log.name, True)
        fail(str(e))
    except BaseException:
        _done(session, log.name, True)
        raise
    _done(session, log.name, False)
    print_summary(result, output, fmt)
    exit_status((sev for sev, n in (("error", result.summary["errors"]), ("warning", result.summary["warnings"]),
                                    ("info", result.summary["infos"])) if n), fail_on)


def _start(rspark: Any, master: str, log: str) -> Any:
    """A SparkSession whose JVM (and Python workers) write their log to `log`, not to the
    terminal: a failure is one line from `rubric`, never a Java stack trace."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND)
        os.dup2(fd, 2)
        os.close(fd)
        try:
            session = rspark.session(master)
            session.sparkContext.setLogLevel("ERROR")
            return session
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
    except Exception as e:  # noqa: BLE001 - no Java, a master that does not answer
        fail(f"cannot start Spark ({master}): {rspark.error_line(e)}; "
             f"Spark's log: {log}")
    finally:
        os.close(saved)


def _done(session: Any, log: str, failed: bool) -> None:
    try:
        session.stop()
    except Exception:  # noqa: BLE001 - stopping is best effort once the result is known
        pass
    if os.environ.get("RUBRIC_DEBUG"):
        say(f"rubric: Spark's log: {log}")
    elif not failed:
        try:
            os.unlink(log)
        except OSError:
            pass


def print_summary(result: Any, output: str, fmt: str) -> None:
    """The summary of a run on Spark, on standard output: its counts, and where the
    findings are."""
    s = result.summary
    n_files = len(result.files)
    clean = s["records"] - s["with_findings"]
    click.echo(f"checked {plural(s['records'], 'record')} in {plural(n_files, 'file')} on Spark: "
               f"{clean} clean, {s['with_findings']} with findings")
    if "judgments" in s:
        click.echo(f"  {plural(s['judgments'], 'judgment')} checked, {s['skipped']} skipped (`skip when`)")
    if s.get("items"):
        click.echo(f"  {plural(s['items'], 'item')} judged (records grouped by their item)")
    elif "items" in s:  # as the text report of `rubric check` says it
        click.echo("  no record names an item: the item checks had nothing to judge")
    click.echo("  " + "  ".join(f"{k} {s[k]}" for k in ("violation", "invalid", "unreadable", "ambiguous",
                                                           "uncovered", "escalation")))
    click.echo(f"  {plural(s['errors'], 'error')}, {plural(s['warnings'], 'warning')}, {s['infos']} info; "
               f"findings in {output} ({fmt}, with _summary.json)")
