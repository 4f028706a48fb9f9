"""`rubric lsp`: the language server, over standard input and output."""
from __future__ import annotations

import click


@click.command("lsp")
@click.option("--stdio", is_flag=True, help="Talk over standard input and output (the default and only way).")
def lsp(stdio: bool) -> None:
    """Run the rubric language server (LSP) over standard input and output.

    Editors start it for `*.rubric` files: diagnostics as you type (what `rubric
    lint` reports), hover, go to definition, references, completion, the outline,
    formatting (`rubric fmt`) and quick fixes. See docs/cli.md for editor setup.
    """
    from rubricdsl.lsp.server import main  # noqa: PLC0415 - pygls only for this command

    main()
