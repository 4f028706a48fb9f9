"""`rubric lint` and `rubric explain`: what a rubric says, checked without data."""
from __future__ import annotations

import sys

import click

from rubricdsl.cli.common import color_wanted, exit_status, fail, refuse_inputs, write_result


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
@click.option("--no-assume-rules", "no_assume_rules", is_flag=True, default=False,
              help="Analyse decisions over every situation, not only those the rubric's error rules allow.")
@click.option("--color/--no-color", default=None, help="Colour the text output (default: on a terminal).")
def lint(rubrics: tuple[str, ...], fmt: str, fail_level: str, output: str | None, timeout_s: float,
         no_assume_rules: bool, color: bool | None) -> None:
    """Parse, type-check and statically analyse RUBRIC files.

    Reports syntax and compile errors, unused inputs and lets, failing examples,
    and what the solver proves about the rubric: dead conditions, vacuous and
    always-violated requirements, gaps, overlaps, shadowed arms and useless edge
    cases, each with a witness. Decisions are analysed under the rubric's
    error rules: a gap or overlap that only invalid records reach is not
    reported (--no-assume-rules reports it). Every gap and overlap region is
    listed. Suppress one on its line with `# rubric: ignore[CODE]`, or only the
    regions inside a condition with `# rubric: ignore[RB204] when COND`. Exit 1 when a diagnostic at or above --fail-level
    is reported, 2 when a file cannot be read.
    """
    from rubricdsl.analysis.lint import LintRunError, lint_file  # noqa: PLC0415
    from rubricdsl.core.outputs import is_stdout  # noqa: PLC0415

    refuse_inputs(output, rubrics, "-o")
    results = []
    for path in rubrics:
        try:
            results.append(lint_file(path, timeout_s, assume_rules=not no_assume_rules))
        except LintRunError as e:
            fail(str(e))
    if fmt == "text":
        from rubricdsl.render.lint_text import render_text  # noqa: PLC0415

        text = render_text(results, color=color_wanted(color, sys.stdout) if is_stdout(output) else bool(color))
    else:
        from rubricdsl.render import github, lint_json, sarif  # noqa: PLC0415

        text = {"json": lint_json.lint_json, "sarif": sarif.sarif, "github": github.github}[fmt](results)
    write_result(output, text)
    exit_status((d.severity for r in results for d in r.diagnostics), fail_level)


@click.command()
@click.argument("code", metavar="CODE")
def explain(code: str) -> None:
    """Explain a diagnostic code (RB101) or name (unknown-name)."""
    from rubricdsl.analysis.lint import explain as explain_code  # noqa: PLC0415

    text = explain_code(code)
    if text is None:
        fail(f"unknown diagnostic code `{code}`; codes look like RB101 (see docs/diagnostics/)")
    click.echo(text.rstrip("\n"))
