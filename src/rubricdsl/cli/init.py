"""`rubric init`: a starting rubric from a labeling tool's configuration (see
`rubricdsl.language.scaffold`).

- `rubric init SOURCE` prints the rubric; `-o FILE` writes it (atomically), never over
  a file that exists unless `--force`, and never over SOURCE;
- `--from label-studio|argilla` says which tool's configuration SOURCE is; without it,
  XML is Label Studio's labeling config and a JSON object with `fields`/`questions` is
  Argilla's dataset settings;
- what could not be mapped is a `# NOTE:` comment in the rubric and one line on
  standard error (`rubric: note: …`).

Exit status: 0 written, 2 SOURCE cannot be read or is not a configuration (one line on
standard error), or FILE exists.
"""
from __future__ import annotations

import os

import click

from rubricdsl.cli.common import fail, refuse_inputs, say, write_result


@click.command("init")
@click.argument("source", metavar="SOURCE")
@click.option("-o", "--output", metavar="FILE", help="Write the rubric to FILE instead of standard output.")
@click.option("--from", "tool", type=click.Choice(["label-studio", "argilla"]),
              help="The tool SOURCE comes from (default: XML is Label Studio, JSON is Argilla).")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def init(source: str, output: str | None, tool: str | None, force: bool) -> None:
    """Write a starting rubric from SOURCE, a labeling tool's configuration.

    SOURCE is a Label Studio labeling config (XML) or Argilla dataset settings
    (JSON). Each control or question becomes a typed label that reads the tool's
    export, each data field an input; TODO docstrings mark where the guideline's
    decisions go. Exit 2 when SOURCE cannot be read or FILE exists (see --force).
    """
    from rubricdsl.language.scaffold import MAX_CONFIG_BYTES, ScaffoldError, scaffold  # noqa: PLC0415

    if output is not None and output != "-":
        refuse_inputs(output, [source], "-o")
        if os.path.lexists(output) and not force:
            fail(f"-o {output}: exists; give --force to replace it")
    try:
        with open(source, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as e:
        fail(f"{source}: cannot read: {e.strerror or e}")
    named = output if output not in (None, "-") else source
    name = os.path.splitext(os.path.basename(named))[0] or "rubric"
    try:
        result = scaffold(data, source, name, tool)
    except ScaffoldError as e:
        fail(str(e))
    write_result(output, result.text)
    for note in result.notes:  # after the rubric: a rubric that could not be written needs no notes
        say(f"rubric: note: {source}: {note}")
