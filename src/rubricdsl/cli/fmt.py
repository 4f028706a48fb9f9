"""`rubric fmt`: rewrite rubric files in the canonical layout (see `rubricdsl.language.fmt`).

- default: rewrite each file that is not in canonical layout (through a temporary
  file renamed over it, so a failure leaves the file as it was; its permissions are
  kept), print
  `reformatted FILE` for each and a summary (`1 file reformatted, 2 files left
  unchanged`);
- `--check`: write nothing, print `would reformat FILE` for each file that would
  change, exit 1 if any would;
- `--diff`: write nothing, print a unified diff of each change (exit 0; with
  `--check` too, exit 1 if any file would change);
- `-` reads standard input and writes the formatted rubric to standard output
  (with `--check` or `--diff`, only the status or the diff).

Messages go to standard output, or to standard error when standard output carries
a formatted rubric (`-` without `--check`/`--diff`). Exit status: 0 done (or
nothing to change), 1 `--check` found a file to reformat, 2 a file could not be
formatted: missing, unreadable, not UTF-8, or with syntax errors (rendered as
diagnostics on standard error). Other files are still processed.
"""
from __future__ import annotations

import difflib
import sys

import click

from rubricdsl.cli.common import color_wanted, fail, say
from rubricdsl.core.exits import EXIT_CHANGED, EXIT_ERROR, EXIT_OK
from rubricdsl.core.values import plural


def _read(path: str) -> str | None:
    """The text of a rubric file (or of standard input for `-`); None, once the line that
    says why is printed, when it cannot be read."""
    from rubricdsl.language.load import RubricFileError, decode_rubric, read_rubric_file  # noqa: PLC0415

    try:
        if path != "-":
            return read_rubric_file(path)[0]
        if sys.stdin is None:
            say("rubric: error: <stdin>: cannot read: standard input is closed")
            return None
        try:
            data = sys.stdin.buffer.read()
        except OSError as e:
            say(f"rubric: error: <stdin>: cannot read: {e.strerror}")
            return None
        return decode_rubric(data, path)
    except RubricFileError as e:
        say(f"rubric: error: {e}")
        return None


@click.command("fmt")
@click.argument("rubrics", nargs=-1, required=True, metavar="RUBRIC...")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any file would be reformatted, and list them.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print a unified diff of the changes.")
@click.option("--color/--no-color", default=None, help="Colour diagnostics (default: when stderr is a terminal).")
def fmt(rubrics: tuple[str, ...], check: bool, show_diff: bool, color: bool | None) -> None:
    """Rewrite each RUBRIC in the canonical layout, keeping every comment.

    `-` reads a rubric from standard input and writes it, formatted, to standard
    output. Files with syntax errors are left alone (exit 2).
    """
    from rubricdsl.core.diagnostics import RubricError  # noqa: PLC0415
    from rubricdsl.core.outputs import OutputError, atomic  # noqa: PLC0415
    from rubricdsl.language.fmt import format_text  # noqa: PLC0415

    if rubrics.count("-") > 1:
        fail("standard input (-) can be read once")
    write_mode = not check and not show_diff
    msg_err = write_mode and "-" in rubrics  # stdout carries the formatted rubric
    changed = unchanged = errors = 0
    for path in rubrics:
        text = _read(path)
        if text is None:
            errors += 1
            continue
        name = "<stdin>" if path == "-" else path
        try:
            out = format_text(text, name)
        except RubricError as e:
            click.echo(e.render(color=color_wanted(color, sys.stderr)), err=True, nl=False)
            errors += 1
            continue
        if out == text:
            unchanged += 1
            if path == "-" and write_mode:
                sys.stdout.write(out)
                sys.stdout.flush()  # a full or closed standard output shows here, before the summary
            continue
        changed += 1
        if show_diff:
            click.echo("".join(difflib.unified_diff(
                text.splitlines(keepends=True), out.splitlines(keepends=True),
                fromfile=f"{name}\t(original)", tofile=f"{name}\t(formatted)")), nl=False)
        if check:
            click.echo(f"would reformat {name}", err=msg_err)
        elif write_mode:
            if path == "-":
                sys.stdout.write(out)
                sys.stdout.flush()  # a full or closed standard output shows here, before the summary
                continue
            try:
                with atomic(path) as f:  # a temporary file renamed over it: never half a rubric
                    f.write(out)
            except OutputError as e:
                say(f"rubric: error: {e}")
                errors += 1
                changed -= 1
                continue
            click.echo(f"reformatted {name}", err=msg_err)
    if check or show_diff:
        parts = [f"{plural(changed, 'file')} would be reformatted"] if changed else []
        parts += [f"{plural(unchanged, 'file')} would be left unchanged"] if unchanged else []
    else:
        parts = [f"{plural(changed, 'file')} reformatted"] if changed else []
        parts += [f"{plural(unchanged, 'file')} left unchanged"] if unchanged else []
    if errors:
        parts.append(f"{plural(errors, 'file')} could not be formatted")
    click.echo(", ".join(parts) + ".", err=msg_err or show_diff)
    if errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_CHANGED if check and changed else EXIT_OK)
