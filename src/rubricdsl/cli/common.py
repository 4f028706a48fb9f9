"""What every command shares: loading a rubric file, colour, the progress bar, and the
policy for failures and exit statuses (one line on standard error, never a traceback)."""
from __future__ import annotations

import os
import sys
from typing import Any, Iterable, NoReturn

import click

from rubricdsl.core.exits import EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK
from rubricdsl.core.severity import reaches


def fail(message: str) -> NoReturn:
    """The one line of a command that cannot run (names and causes shown as data), exit 2."""
    say(f"rubric: error: {message}")
    sys.exit(EXIT_ERROR)


def exit_status(severities: Iterable[str | None], threshold: str) -> NoReturn:
    """Exit 1 when one of `severities` is at or above `threshold` (`never`: none is), else 0."""
    sys.exit(EXIT_FINDINGS if reaches(severities, threshold) else EXIT_OK)


def color_wanted(opt: bool | None, stream) -> bool:
    if opt is not None:
        return opt
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def refuse_inputs(output: str | None, inputs: Iterable[str | None], option: str = "-o") -> None:
    """Exit 2 when `output` is one of `inputs` (see `core.outputs.refuse_inputs`)."""
    from rubricdsl.core.outputs import OutputError, refuse_inputs as refuse  # noqa: PLC0415

    try:
        refuse(output, inputs, option)
    except OutputError as e:
        fail(str(e))


def check_data_files(data: Iterable[str]) -> None:
    """Exit 2 unless each DATA argument can be opened as data: `-` (once) or a file that
    exists and is not a directory."""
    data = list(data)
    for p in data:
        if p == "-":
            continue
        if not os.path.exists(p):
            fail(f"{p}: no such file")
        if os.path.isdir(p):
            fail(f"{p}: is a directory, not a data file")
    if data.count("-") > 1:
        fail("standard input (-) can be read once")


# how data files are read (`engine.reading.INPUT_FORMATS`, not imported here: the
# command line starts without the readers)
INPUT_FORMATS = ("auto", "jsonl", "json", "csv", "tsv", "parquet")


def input_format_option(f: Any) -> Any:
    """The `--input-format` option of the commands that read data files."""
    return click.option(
        "--input-format", type=click.Choice(list(INPUT_FORMATS)), default="auto", show_default=True,
        help="How the data files are read. auto: .csv and .tsv files (.gz too) as tables with a header row, "
             ".parquet files as Parquet (needs pyarrow), others as a JSON array when the first non-blank character is [, else as JSONL.")(f)


def jobs_wanted(jobs: int) -> int:
    """`-j N`: N processes; 0 is one per CPU this process may use, at most 8."""
    if jobs:
        return jobs
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


def config_options(f: Any) -> Any:
    """`--config FILE` and `--isolated`, on the commands that read the project's
    configuration (`core.config`)."""
    f = click.option("--isolated", is_flag=True, default=False,
                     help="Read no configuration file: the defaults and the command line only.")(f)
    return click.option("--config", "config_file", type=click.Path(), default=None, metavar="FILE",
                        help="Read the configuration from FILE (a rubric.toml, or a pyproject.toml's [tool.rubric] "
                             "table) instead of the nearest one above the rubric.")(f)


class Configs:
    """The configuration of each rubric file: `--config`'s for all, the defaults with
    `--isolated`, else the nearest one above the file (found once per directory). A
    configuration that cannot be used exits 2 with its file and line."""

    def __init__(self, config_file: str | None, isolated: bool) -> None:
        from rubricdsl.core.config import ConfigError, load_config  # noqa: PLC0415

        if config_file is not None and isolated:
            fail("--config and --isolated cannot go together")
        self.isolated = isolated
        self.fixed = None
        self.found: dict[str, Any] = {}
        if config_file is not None:
            try:
                self.fixed = load_config(config_file)
            except ConfigError as e:
                fail(str(e))

    def __call__(self, path: str) -> Any:
        """The configuration that applies to `path` (`-`: the current directory's; a path
        that does not exist, such as `REV:PATH`, that of its nearest existing directory)."""
        from rubricdsl.core.config import ConfigError, default_config, find_config  # noqa: PLC0415

        if self.fixed is not None:
            return self.fixed
        where = os.path.abspath(path if path != "-" else ".")
        where = where if os.path.isdir(where) else os.path.dirname(where)
        if where not in self.found:
            try:
                self.found[where] = default_config(where) if self.isolated else find_config(where)
            except ConfigError as e:
                fail(str(e))
        return self.found[where]


def config_format(cfg: Any, fmt: str | None, formats: tuple[str, ...], command: str, default: str) -> str:
    """The report format: `--format`, else the configuration's `output-format` (exit 2
    when it is not one of this command's `formats`), else `default`."""
    if fmt is not None:
        return fmt
    if cfg.output_format is None:
        return default
    if cfg.output_format not in formats:
        line = cfg.line_of("output-format")
        fail(f"{cfg.path}{f':{line}' if line else ''}: output-format \"{cfg.output_format}\" is not a format of "
             f"`rubric {command}` ({', '.join(formats)}); give --format")
    return cfg.output_format


def write_result(output: str | None, text: str) -> None:
    """A command's whole result, to standard output or (atomically) to the file `output`."""
    from rubricdsl.core.outputs import is_stdout, write_text  # noqa: PLC0415

    if is_stdout(output):
        click.echo(text, nl=False)
    else:
        write_text(output, text)


def load_rubric(path: str, color: bool):
    """Compile a rubric file, or exit 2 with its diagnostics."""
    from rubricdsl.api import Rubric, compile_text  # noqa: PLC0415
    from rubricdsl.core.diagnostics import RubricError  # noqa: PLC0415
    from rubricdsl.core.source import normalize_text  # noqa: PLC0415
    from rubricdsl.language.load import RubricFileError, read_rubric_file  # noqa: PLC0415

    try:
        text, sha = read_rubric_file(path)
    except RubricFileError as e:
        fail(str(e))
    try:
        rubric = compile_text(text, path, sha, use_cache=True)
    except RubricError as e:
        show_diagnostics(e, color)
    return Rubric(rubric, normalize_text(text))


def show_diagnostics(error: Any, color: bool) -> NoReturn:
    """A rubric's errors (a `RubricError`) on standard error, exit 2."""
    click.echo(error.render(color=color), err=True, nl=False)
    sys.exit(EXIT_ERROR)


class Group(click.Group):
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
            say(f"rubric: error: {e}")
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
            say(f"rubric: error: {e}")
            sys.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            say("rubric: interrupted")
            sys.exit(EXIT_INTERRUPTED)
        except Exception as e:  # noqa: BLE001 - never a traceback for users
            import traceback  # noqa: PLC0415

            if os.environ.get("RUBRIC_DEBUG"):
                traceback.print_exc()
            say(f"rubric: internal error: {type(e).__name__}: {e}")
            say("this is a bug in rubricdsl; please report it (set RUBRIC_DEBUG=1 for a traceback)")
            sys.exit(EXIT_ERROR)


def say(line: str) -> None:
    """A line on standard error, whatever state standard error is in; a file name or a cause
    that holds a control character cannot make it two lines or drive the terminal."""
    from rubricdsl.core.safetext import visible  # noqa: PLC0415

    try:
        click.echo(visible(line), err=True)
    except (OSError, ValueError):
        pass


class Progress:
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


def progress_bar(opt: bool | None, data: tuple[str, ...]):
    if opt is False:
        return None
    total = sum(os.path.getsize(p) for p in data if p != "-" and os.path.isfile(p))
    if opt is None and (not sys.stderr.isatty() or total < 32 << 20):
        return None
    return Progress(total)
