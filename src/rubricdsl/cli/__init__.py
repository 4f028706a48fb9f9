"""The `rubric` command line (alias `rubricdsl`)."""
from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import click

from rubricdsl import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FAIL_LEVELS = {"error": 2, "warning": 1, "info": 0, "never": 99}
SEV = {"error": 2, "warning": 1, "info": 0}


def _fail(message: str) -> NoReturn:
    """The one line of a command that cannot run (names and causes shown as data), exit 2."""
    _say(f"rubric: error: {message}")
    sys.exit(EXIT_ERROR)


def _color(opt: bool | None, stream) -> bool:
    if opt is not None:
        return opt
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def _load(path: str, color: bool):
    """Compile a rubric file, or exit 2 with its diagnostics."""
    from rubricdsl.api import Rubric, compile_text, read_rubric_file  # noqa: PLC0415
    from rubricdsl.core.diagnostics import RubricError  # noqa: PLC0415
    from rubricdsl.core.source import normalize_text  # noqa: PLC0415

    if not os.path.exists(path):
        _fail(f"{path}: no such file")
    if os.path.isdir(path):
        _fail(f"{path}: is a directory, not a rubric file")
    try:
        text, sha = read_rubric_file(path)
    except UnicodeDecodeError as e:
        _fail(f"{path}: not UTF-8 text (byte {e.start})")
    except OSError as e:
        _fail(f"{path}: cannot read: {e.strerror}")
    try:
        rubric = compile_text(text, path, sha, use_cache=True)
    except RubricError as e:
        click.echo(e.render(color=color), err=True, nl=False)
        sys.exit(EXIT_ERROR)
    return Rubric(rubric, normalize_text(text))


class _Group(click.Group):
    """Every command's way out: a closed output pipe ends quietly (status 0), an output
    that cannot be written and other ordinary I/O problems are one line (status 2),
    Ctrl-C is one line (status 130), and only a real bug is an internal error."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from rubricdsl.core.outputs import OutputError, discard_stdout, guard_stdout  # noqa: PLC0415

        guarded = guard_stdout()
        try:
            try:
                return super().main(*args, **kwargs)
            finally:
                if guarded:  # what is still buffered fails here, not at exit
                    sys.stdout.flush()
        except BrokenPipeError:
            discard_stdout()
            sys.exit(EXIT_OK)
        except OutputError as e:
            discard_stdout()
            _say(f"rubric: error: {e}")
            sys.exit(EXIT_ERROR)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        from rubricdsl.core.outputs import discard_stdout  # noqa: PLC0415

        try:  # `rubric --help` and `--version` print here
            return super().make_context(*args, **kwargs)
        except BrokenPipeError:
            discard_stdout()
            sys.exit(EXIT_OK)

    def invoke(self, ctx: click.Context) -> Any:
        from rubricdsl.core.outputs import OutputError, discard_stdout  # noqa: PLC0415

        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except BrokenPipeError:
            discard_stdout()
            sys.exit(EXIT_OK)
        except OutputError as e:
            discard_stdout()
            _say(f"rubric: error: {e}")
            sys.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            _say("rubric: interrupted")
            sys.exit(130)
        except Exception as e:  # noqa: BLE001 - never a traceback for users
            import traceback  # noqa: PLC0415

            if os.environ.get("RUBRIC_DEBUG"):
                traceback.print_exc()
            _say(f"rubric: internal error: {type(e).__name__}: {e}")
            _say("this is a bug in rubricdsl; please report it (set RUBRIC_DEBUG=1 for a traceback)")
            sys.exit(EXIT_ERROR)


def _say(line: str) -> None:
    """A line on standard error, whatever state standard error is in; a file name or a cause
    that holds a control character cannot make it two lines or drive the terminal."""
    from rubricdsl.core.safetext import visible  # noqa: PLC0415

    try:
        click.echo(visible(line), err=True)
    except (OSError, ValueError):
        pass


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="rubric")
def main() -> None:
    """rubric: labeling guidelines as checkable rubrics.

    A rubric file states a guideline's criteria, decisions, edge cases, rules,
    escalations and worked examples, and how annotators of one item should agree.
    `rubric check` validates annotation records against it; `rubric test` runs its
    examples; `rubric agreement` measures how far annotators agree; `rubric doc`
    renders it as the guideline annotators read.

    Exit status: 0 nothing at or above the failure threshold, 1 findings at or
    above it, 2 the command could not run (usage, unreadable or invalid rubric,
    missing data file).
    """


# ---- check ------------------------------------------------------------------------------


@main.command()
@click.argument("rubric", metavar="RUBRIC")
@click.argument("data", nargs=-1, required=True, metavar="DATA...")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "jsonl"]), default="text", show_default=True,
              help="text for people; json: one report object; jsonl: one finding per line, then a summary line.")
@click.option("-o", "--output", type=click.Path(), default=None, metavar="FILE",
              help="Write the report to FILE instead of standard output.")
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
@click.option("-j", "--jobs", type=click.IntRange(0), default=0, show_default=True,
              help="Processes for large plain files (0: one per CPU, at most 8). Output is the same for any value.")
@click.option("--report", "report", type=click.Path(), default=None, metavar="FILE",
              help="Also write an HTML report for leads to FILE: counts, coverage of each decision, the escalation "
                   "queue, sample records linked to the guideline.")
@click.option("--guide-url", default=None, metavar="URL",
              help="--report: where the guideline (rubric doc) is, for links. Default: GUIDE.html beside the "
                   "rubric, relative to FILE.")
def check(rubric: str, data: tuple[str, ...], fmt: str, output: str | None, fail_on: str, samples: int,
          color: bool | None, progress: bool | None, baseline: str | None, jobs: int, report: str | None,
          guide_url: str | None) -> None:
    """Check annotation records (JSONL; .jsonl.gz too; - for stdin) against RUBRIC.

    Every non-blank line is a record: a line that is not a JSON object is an
    `unreadable` finding and the run goes on. Findings: invalid, unreadable,
    uncovered, ambiguous, violation, escalation. With `consensus` or `per item`
    checks, records with the same item are then judged together (items may be
    spread anywhere in DATA).
    """
    from rubricdsl.engine import runtime  # noqa: PLC0415
    from rubricdsl.core.outputs import OutputError, is_stdout, output as open_output, refuse_inputs, same_file  # noqa: PLC0415

    err_color = _color(color, sys.stderr)
    out_file = None if is_stdout(output) else output
    inputs = [rubric, *data, baseline]
    try:
        refuse_inputs(out_file, inputs, "-o")
        refuse_inputs(report, inputs, "--report")
    except OutputError as e:
        _fail(str(e))
    if out_file and report and (same_file(out_file, report) or os.path.abspath(out_file) == os.path.abspath(report)):
        _fail(f"-o and --report name the same file ({report})")
    r = _load(rubric, err_color)
    for p in data:
        if p == "-":
            continue
        if not os.path.exists(p):
            _fail(f"{p}: no such file")
        if os.path.isdir(p):
            _fail(f"{p}: is a directory, not a JSONL file")
    if data.count("-") > 1:
        _fail("standard input (-) can be read once")
    compiled = r.compiled
    info = r.info()
    if baseline:
        _check_baseline(baseline, info)
    if jobs == 0:
        try:
            jobs = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            jobs = os.cpu_count() or 1
        jobs = max(1, min(jobs, 8))
    run = runtime.run
    if report:
        from rubricdsl.render.report_html import ReportCollector, check_guide_url, default_guide_url  # noqa: PLC0415

        guide_url = guide_url or default_guide_url(rubric, report)
        if (why := check_guide_url(guide_url)) is not None:
            _fail(f"--guide-url {guide_url}: {why}")
        html = ReportCollector(r.ir, samples=samples)
        run = html.run_with(runtime.run)
    progress_cb = _progress(progress, data)
    stats: runtime.Stats | None = None
    try:
        with open_output(out_file, binary=True) as out_stream:
            stats = _check_report(fmt, run, compiled, data, progress_cb, jobs, info, out_stream, color, r, samples,
                                  to_file=out_file is not None)
            if report:
                with open_output(report) as fh:
                    fh.write(html.render(info, stats, guide_url))
    except (runtime.DataError, KeyboardInterrupt) as e:
        if progress_cb is not None:  # the bar goes before the line is printed
            progress_cb.close()
            progress_cb = None
        if isinstance(e, runtime.DataError):
            _fail(str(e))
        partial = getattr(e, "stats", None) or stats
        _interrupted(partial, [f for f in (out_file, report) if f], fmt)
    finally:
        if progress_cb is not None:
            progress_cb.close()
    assert stats is not None
    threshold = FAIL_LEVELS[fail_on]
    worst = max((SEV[s] for s, n in stats.by_severity.items() if n), default=-1)
    sys.exit(EXIT_FINDINGS if worst >= threshold else EXIT_OK)


def _check_report(fmt: str, run: Any, compiled: Any, data: tuple[str, ...], progress_cb: Any, jobs: int, info: dict,
                  out_stream: Any, color: bool | None, r: Any, samples: int, to_file: bool) -> Any:
    """Run the check, writing the report in `fmt` to `out_stream` (binary); returns the Stats."""
    from rubricdsl.engine.runtime import summary_dict  # noqa: PLC0415

    if fmt == "jsonl":
        import orjson  # noqa: PLC0415

        dumps = orjson.dumps
        write = out_stream.write
        buf: list[bytes] = []

        def emit(b: bytes) -> None:
            buf.append(b)
            if len(buf) >= 4096:
                write(b"\n".join(buf) + b"\n")
                buf.clear()

        stats = run(compiled, data, emit, progress_cb, jobs, encode=dumps)
        if buf:
            write(b"\n".join(buf) + b"\n")
        write(dumps({"kind": "summary", "rubric": info, "files": stats.files,
                     "summary": summary_dict(stats.records, stats.counts, stats.by_severity, stats.items)}) + b"\n")
        return stats
    if fmt == "json":
        import orjson  # noqa: PLC0415

        encoded: list[bytes] = []
        stats = run(compiled, data, encoded.append, progress_cb, jobs, encode=orjson.dumps)
        # one finding per line inside the document: readable, and streamable from encoded pieces
        head = {"rubric": info, "summary": summary_dict(stats.records, stats.counts, stats.by_severity, stats.items),
                "files": stats.files}
        w = out_stream.write
        w(orjson.dumps(head, option=orjson.OPT_INDENT_2)[:-2] + b',\n  "findings": [')
        for i in range(0, len(encoded), 4096):
            part = encoded[i:i + 4096]
            w((b"\n    " if i == 0 else b",\n    ") + b",\n    ".join(part))
        w(b"\n  ]\n}\n" if encoded else b"]\n}\n")
        return stats
    import io  # noqa: PLC0415

    from rubricdsl.render.check_text import TextCollector, render  # noqa: PLC0415
    from rubricdsl.core.safetext import console as make_console  # noqa: PLC0415

    collector = TextCollector(samples)
    stats = run(compiled, data, collector, progress_cb, jobs)
    text_out = io.TextIOWrapper(out_stream, encoding="utf-8", newline="\n", write_through=True) if to_file \
        else sys.stdout
    use_color = bool(color) if to_file else _color(color, text_out)
    console = make_console(text_out, force_terminal=use_color, no_color=not use_color, soft_wrap=True,
                           width=200 if not use_color else None)
    render(console, info, stats, collector.groups, [c.name for c in r.ir.criteria],
           {c.name: c.title for c in r.ir.criteria})
    text_out.flush()
    if to_file:
        text_out.detach()  # the binary stream is the caller's to close
    return stats


def _interrupted(stats: Any, files: list[str], fmt: str) -> NoReturn:
    """Ctrl-C during `rubric check`: one line with what was checked so far, exit 130."""
    if stats is None:
        line = "rubric: interrupted"
    else:
        sev = stats.by_severity
        line = (f"rubric: interrupted after {stats.records} record{'s' if stats.records != 1 else ''}: "
                f"{sev['error']} error{'s' if sev['error'] != 1 else ''}, "
                f"{sev['warning']} warning{'s' if sev['warning'] != 1 else ''}, {sev['info']} info so far")
    if files:
        line += f"; {' and '.join(files)} left as {'they were' if len(files) > 1 else 'it was'}"
    elif fmt == "jsonl":
        line += "; the findings written have no summary line"
    else:
        line += "; no report written"
    _say(line)
    sys.exit(130)


def _check_baseline(path: str, info: dict) -> None:
    """Warn when the rubric kept its name and version but its content changed: a guideline
    edited without a version bump silently re-labels what was checked before."""
    import json  # noqa: PLC0415

    not_report = f"{path}: not a rubric check report (json, or jsonl with its summary line)"
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8")
    except UnicodeDecodeError as e:
        _fail(f"{path}: not UTF-8 text (byte {e.start})")
    except OSError as e:
        _fail(f"{path}: cannot read: {e.strerror}")
    try:
        try:
            old = json.loads(text)["rubric"]
        except (ValueError, KeyError, TypeError):
            lines = [json.loads(ln) for ln in text.splitlines() if ln.strip()]
            old = next(d["rubric"] for d in reversed(lines) if isinstance(d, dict) and d.get("kind") == "summary")
        name, version, sha = old["name"], old["version"], old["sha256"]
    except (ValueError, KeyError, TypeError, StopIteration, RecursionError):
        _fail(not_report)
    if not all(isinstance(x, str) for x in (name, version, sha)):
        _fail(f"{not_report}: its rubric's name, version and sha256 must be strings")
    from rubricdsl.core.safetext import visible  # noqa: PLC0415

    if name != info["name"]:
        click.echo(f"rubric: warning: the baseline report is for rubric `{visible(name)}`, "
                   f"not `{visible(info['name'])}`", err=True)
    elif version == info["version"] and sha != info["sha256"]:
        click.echo(f"rubric: warning: rubric `{visible(name)}` version {visible(version)} changed since the baseline "
                   f"report (sha256 {visible(sha[:12])} -> {info['sha256'][:12]}) but kept its version; "
                   "bump the version when the guideline changes", err=True)


class _Progress:
    """A rich progress bar on stderr, updated once per block of lines."""

    def __init__(self, total: int) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: PLC0415

        self.p = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                          transient=True)
        self.p.start()
        self.tasks: dict[str, Any] = {}
        self.total = total

    def __call__(self, pos: int, size: int | None, name: str) -> None:
        t = self.tasks.get(name)
        if t is None:
            t = self.tasks[name] = self.p.add_task(os.path.basename(name), total=size)
        self.p.update(t, completed=pos)

    def close(self) -> None:
        self.p.stop()


def _progress(opt: bool | None, data: tuple[str, ...]):
    if opt is False:
        return None
    total = sum(os.path.getsize(p) for p in data if p != "-" and os.path.isfile(p))
    if opt is None and (not sys.stderr.isatty() or total < 32 << 20):
        return None
    return _Progress(total)


# ---- test -------------------------------------------------------------------------------


@main.command()
@click.argument("rubrics", nargs=-1, required=True, metavar="RUBRIC...")
@click.option("--color/--no-color", default=None, help="Colour the output (default: on a terminal).")
@click.option("-v", "--verbose", is_flag=True, help="List passing examples too.")
@click.option("--junit", "junit", type=click.Path(), default=None, metavar="FILE",
              help="Also write a JUnit XML report (one testcase per example) to FILE.")
def test(rubrics: tuple[str, ...], color: bool | None, verbose: bool, junit: str | None) -> None:
    """Run the worked examples of each RUBRIC; exit 1 if any fails.

    An example passes when its findings, as a set of (kind, name), equal its
    `expect` (`pass` means no finding at all).
    """
    from rubricdsl.engine.examples import describe, run_examples  # noqa: PLC0415
    from rubricdsl.core.outputs import OutputError, refuse_inputs, write_text  # noqa: PLC0415
    from rubricdsl.core.safetext import visible  # noqa: PLC0415

    try:
        refuse_inputs(junit, rubrics, "--junit")
    except OutputError as e:
        _fail(str(e))
    use_color = _color(color, sys.stdout)
    passed = failed = 0
    suites: list[tuple[Any, list]] = []

    def style(s: str, **kw: Any) -> str:
        return click.style(s, **kw) if use_color else s

    for path in rubrics:
        r = _load(path, _color(color, sys.stderr))
        results = run_examples(r)
        suites.append((r, results))
        click.echo(visible(f"{path}: rubric {r.name} version {r.version} (sha256 {r.sha256[:12]}), "
                           f"{len(results)} example{'s' if len(results) != 1 else ''}"))
        for res in results:
            if res.passed:
                passed += 1
                if verbose:
                    click.echo(f"  {style('ok', fg='green')}    {visible(res.title)}")
                continue
            failed += 1
            click.echo(f"  {style('FAIL', fg='red', bold=True)}  {visible(res.title)}  ({visible(path)}:{res.line})")
            click.echo(f"        expected: {visible(describe(res.expected))}")
            click.echo(f"        got:      {visible(describe(res.got))}")
            for f in res.findings:
                click.echo(visible(f"          - {f['kind']} {f['rule'] or f['label'] or ''}: {f['message']}"))
    if junit:
        from rubricdsl.render.junit import junit_xml  # noqa: PLC0415

        write_text(junit, junit_xml(suites))
    summary = f"{passed} example{'s' if passed != 1 else ''} passed, {failed} failed"
    click.echo(style(summary, fg="red" if failed else "green"))
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)


# ---- lint -------------------------------------------------------------------------------


@main.command()
@click.argument("rubrics", nargs=-1, required=True, metavar="RUBRIC...")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github"]), default="text",
              show_default=True, help="text for people; json; SARIF 2.1.0 for code scanning; github workflow commands.")
@click.option("--fail-level", type=click.Choice(["error", "warning", "info"]), default="warning", show_default=True,
              help="Exit 1 when a diagnostic of this severity or higher is reported.")
@click.option("-o", "--output", type=click.Path(), default=None, metavar="FILE",
              help="Write the report to FILE instead of standard output.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.1), default=20.0, show_default=True,
              help="Solver time limit per question, in seconds; a question that runs out is reported (RB209).")
@click.option("--color/--no-color", default=None, help="Colour the text output (default: on a terminal).")
def lint(rubrics: tuple[str, ...], fmt: str, fail_level: str, output: str | None, timeout_s: float,
         color: bool | None) -> None:
    """Parse, type-check and statically analyse RUBRIC files.

    Reports syntax and compile errors, unused inputs and lets, failing examples,
    and what the solver proves about the rubric: dead conditions, vacuous and
    always-violated requirements, gaps, overlaps, shadowed arms and useless edge
    cases, each with a witness. Suppress one on its line with
    `# rubric: ignore[CODE]`. Exit 1 when a diagnostic at or above --fail-level
    is reported, 2 when a file cannot be read.
    """
    import json  # noqa: PLC0415

    from rubricdsl.analysis import lint as L  # noqa: PLC0415

    from rubricdsl.core.outputs import OutputError, is_stdout, refuse_inputs, write_text  # noqa: PLC0415

    try:
        refuse_inputs(output, rubrics, "-o")
    except OutputError as e:
        _fail(str(e))
    results = []
    for path in rubrics:
        try:
            results.append(L.lint_file(path, int(timeout_s * 1000)))
        except L.LintRunError as e:
            _fail(str(e))
    if fmt == "json":
        text = json.dumps(L.to_json(results), indent=2, ensure_ascii=False) + "\n"
    elif fmt == "sarif":
        text = json.dumps(L.to_sarif(results), indent=2, ensure_ascii=False) + "\n"
    elif fmt == "github":
        text = L.to_github(results)
    else:
        text = L.render_text(results, color=_color(color, sys.stdout) if is_stdout(output) else bool(color))
    if is_stdout(output):
        click.echo(text, nl=False)
    else:
        write_text(output, text)
    threshold = {"error": 2, "warning": 1, "info": 0}[fail_level]
    sys.exit(EXIT_FINDINGS if L.worst(results) >= threshold else EXIT_OK)


@main.command()
@click.argument("code", metavar="CODE")
def explain(code: str) -> None:
    """Explain a diagnostic code (RB101) or name (unknown-name)."""
    from rubricdsl.analysis.lint import explain as explain_code  # noqa: PLC0415

    text = explain_code(code)
    if text is None:
        _fail(f"unknown diagnostic code `{code}`; codes look like RB101 (see docs/diagnostics/)")
    click.echo(text.rstrip("\n"))


# ---- diff -------------------------------------------------------------------------------


@main.command()
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option("--data", "data", multiple=True, metavar="FILE",
              help="Run both versions over these JSONL files and list every record whose findings differ "
                   "(repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True,
              help="markdown fits a pull-request comment.")
@click.option("-o", "--output", type=click.Path(), default=None, metavar="FILE",
              help="Write the report to FILE instead of standard output.")
@click.option("--fail-on-change", type=click.Choice(["structure", "semantic", "records"]), default=None,
              help="Exit 1 when the rubric changed structurally, when a decision, rule or escalation "
                   "changed in meaning, or when a record's findings changed.")
def diff(old: str, new: str, data: tuple[str, ...], fmt: str, output: str | None, fail_on_change: str | None) -> None:
    """What changed between two versions of a rubric, and which records it flips.

    OLD and NEW are paths or REV:PATH (read with `git show`). Reports structural
    changes (fields, enum values, criteria, decisions and arms, rules, escalations,
    examples), what each decision, rule and escalation now means (equivalent,
    narrower, broader or changed, with a witness), and, with --data, every record
    whose findings differ.
    """
    import json  # noqa: PLC0415

    from rubricdsl.analysis import diff as D  # noqa: PLC0415
    from rubricdsl.core.diagnostics import RubricError  # noqa: PLC0415
    from rubricdsl.engine.runtime import DataError  # noqa: PLC0415

    from rubricdsl.core.outputs import OutputError, is_stdout, refuse_inputs, write_text  # noqa: PLC0415

    try:
        refuse_inputs(output, [old, new, *data], "-o")
    except OutputError as e:
        _fail(str(e))
    for p in data:
        if p != "-" and not os.path.isfile(p):
            _fail(f"{p}: no such file" if not os.path.exists(p) else f"{p}: is a directory, not a JSONL file")
    try:
        res = D.diff(old, new, list(data))
    except D.DiffError as e:
        _fail(str(e))
    except RubricError as e:
        click.echo(e.render(color=_color(None, sys.stderr)), err=True, nl=False)
        sys.exit(EXIT_ERROR)
    except DataError as e:
        _fail(str(e))
    if fmt == "json":
        text = json.dumps(res.to_dict(), indent=2, ensure_ascii=False) + "\n"
    elif fmt == "markdown":
        text = D.render_markdown(res)
    else:
        text = D.render_text(res)
    if is_stdout(output):
        click.echo(text, nl=False)
    else:
        write_text(output, text)
    changed = (fail_on_change == "structure" and bool(res.changes)) or (
        fail_on_change == "records" and bool(res.records)) or (
        fail_on_change == "semantic" and any(c.status != "equivalent" for c in res.semantic))
    sys.exit(EXIT_FINDINGS if changed else EXIT_OK)


# ---- schema -----------------------------------------------------------------------------


@main.command()
@click.argument("what", type=click.Choice(["report"]), default="report")
def schema(what: str) -> None:
    """Print the JSON Schema of the `rubric check --format json` report."""
    import json  # noqa: PLC0415

    from rubricdsl.engine.report import report_schema  # noqa: PLC0415

    click.echo(json.dumps(report_schema(), indent=2))


def _register_fmt() -> None:
    from rubricdsl.cli.fmt import fmt  # noqa: PLC0415 - the formatter's command lives beside its module

    main.add_command(fmt)
    from rubricdsl.cli.doc import doc  # noqa: PLC0415 - `rubric doc` lives beside its modules too

    main.add_command(doc)


_register_fmt()


def _register_agreement() -> None:
    from rubricdsl.cli.agreement import agreement  # noqa: PLC0415 - the statistics' command lives beside its module

    main.add_command(agreement)


_register_agreement()

if __name__ == "__main__":  # pragma: no cover
    main()
