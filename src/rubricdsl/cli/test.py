"""`rubric test`: a rubric's worked examples."""
from __future__ import annotations

import sys
from typing import Any

import click

from rubricdsl.cli.common import color_wanted, load_rubric, refuse_inputs
from rubricdsl.core.exits import EXIT_FINDINGS, EXIT_OK


@click.command()
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
    from rubricdsl.core.outputs import write_text  # noqa: PLC0415
    from rubricdsl.core.safetext import visible  # noqa: PLC0415
    from rubricdsl.engine.examples import describe, run_examples  # noqa: PLC0415

    refuse_inputs(junit, rubrics, "--junit")
    use_color = color_wanted(color, sys.stdout)
    passed = failed = 0
    suites: list[tuple[Any, list]] = []

    def style(s: str, **kw: Any) -> str:
        return click.style(s, **kw) if use_color else s

    for path in rubrics:
        r = load_rubric(path, color_wanted(color, sys.stderr))
        results = run_examples(r.ir, r.compiled)
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
