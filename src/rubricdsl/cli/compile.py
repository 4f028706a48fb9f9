"""`rubric compile`: the Python module that `rubric check` runs for a rubric, printed."""
from __future__ import annotations

import sys

import click


@click.command("compile")
@click.argument("rubric_file", metavar="RUBRIC")
@click.option("--emit", type=click.Choice(["python"]), default="python", show_default=True,
              help="What to print: python, the generated checker module.")
@click.option("--color/--no-color", default=None, help="Colour the diagnostics of an invalid rubric (default: on a terminal).")
def compile_rubric(rubric_file: str, emit: str, color: bool | None) -> None:
    """Print the Python module generated from RUBRIC: the checker `rubric check` runs.

    Each check starts with a comment naming its rubric line (`# FILE:LINE KIND
    NAME`); constants are listed at the top. For reading and debugging: the
    module runs only with the namespace rubricdsl gives it. Exit 2 when RUBRIC
    cannot be read or compiled.
    """
    from rubricdsl.cli.common import color_wanted, load_rubric  # noqa: PLC0415

    rubric = load_rubric(rubric_file, color_wanted(color, sys.stderr))
    click.echo(rubric.compiled.source, nl=False)
