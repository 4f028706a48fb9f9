"""The `rubric` command line (alias `rubricdsl`): one module per command, and
`common` for what they share."""
from __future__ import annotations

import click

from rubricdsl.cli.agreement import agreement
from rubricdsl.cli.check import check
from rubricdsl.cli.common import Group
from rubricdsl.cli.compile import compile_rubric
from rubricdsl.cli.diff import diff
from rubricdsl.cli.doc import doc
from rubricdsl.cli.fmt import fmt
from rubricdsl.cli.init import init
from rubricdsl.cli.lint import explain, lint
from rubricdsl.cli.lsp import lsp
from rubricdsl.cli.schema import schema
from rubricdsl.cli.test import test
from rubricdsl.core.version import __version__


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="rubric")
def main() -> None:
    """rubric: labeling guidelines as checkable rubrics.

    A rubric file states a guideline's criteria, decisions, edge cases, rules,
    escalations and worked examples, and how annotators of one item should agree.
    `rubric check` validates annotation records against it; `rubric test` runs its
    examples; `rubric agreement` measures how far annotators agree; `rubric doc`
    renders it as the guideline annotators read; `rubric init` starts a rubric
    from a labeling tool's configuration.

    `lint`, `check` and `diff` read the project's settings from the nearest
    rubric.toml (or pyproject.toml's [tool.rubric]) above the rubric; options
    given on the command line win over them.

    Exit status: 0 nothing at or above the failure threshold, 1 findings at or
    above it, 2 the command could not run (usage, unreadable or invalid rubric,
    missing data file, unusable configuration).
    """


for _command in (check, test, lint, explain, fmt, doc, diff, agreement, schema, compile_rubric, init, lsp):
    main.add_command(_command)

__all__ = ["main"]
