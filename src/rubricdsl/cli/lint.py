"""`rubric lint` and `rubric explain`: what a rubric says, checked without data."""
from __future__ import annotations

import sys

import click

from rubricdsl.cli.common import EXIT_FINDINGS, EXIT_OK, fail, color_wanted


@click.command()
@click.argument("rubrics", nargs=-1, required=True, metavar="RUBRIC...")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github"]), default="text",
              show_default=True, help="text for people; json; SARIF 2.1.0 for code scanning; github workflow commands.")
@click.option("--fail-level", type=click.Choice(["error", "warning", "info"]), default="warning", show_default=True,
              help="Exit 1 when a diagnostic of this severity or higher is reported.")
@click.option("-o", "--output", type=click.Path(), default=None, metavar="FILE",
              help="Write the report to FILE instead of standard output.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0, min_open=True), default=60.0, show_default=True,
              metavar="SECONDS",
              help="Time budget of the static analysis per rubric file; what it leaves undecided is "
                   "reported (RB209).")
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
        fail(str(e))
    results = []
    for path in rubrics:
        try:
            results.append(L.lint_file(path, timeout_s))
        except L.LintRunError as e:
            fail(str(e))
    if fmt == "json":
        text = json.dumps(L.to_json(results), indent=2, ensure_ascii=False) + "\n"
    elif fmt == "sarif":
        text = json.dumps(L.to_sarif(results), indent=2, ensure_ascii=False) + "\n"
    elif fmt == "github":
        text = L.to_github(results)
    else:
        text = L.render_text(results, color=color_wanted(color, sys.stdout) if is_stdout(output) else bool(color))
    if is_stdout(output):
        click.echo(text, nl=False)
    else:
        write_text(output, text)
    threshold = {"error": 2, "warning": 1, "info": 0}[fail_level]
    sys.exit(EXIT_FINDINGS if L.worst(results) >= threshold else EXIT_OK)



@click.command()
@click.argument("code", metavar="CODE")
def explain(code: str) -> None:
    """Explain a diagnostic code (RB101) or name (unknown-name)."""
    from rubricdsl.analysis.lint import explain as explain_code  # noqa: PLC0415

    text = explain_code(code)
    if text is None:
        fail(f"unknown diagnostic code `{code}`; codes look like RB101 (see docs/diagnostics/)")
    click.echo(text.rstrip("\n"))
