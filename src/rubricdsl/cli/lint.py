"""`rubric lint` and `rubric explain`: what a rubric says, checked without data."""
from __future__ import annotations

import sys

import click

from rubricdsl.cli.common import (Configs, color_wanted, config_format, config_options, fail, refuse_inputs,
                                  write_result)
from rubricdsl.core.exits import EXIT_FINDINGS, EXIT_OK
from rubricdsl.core.severity import reaches


LINT_FORMATS = ("text", "json", "sarif", "github")


def _selectors(option: str):
    """A click callback: `--select`/`--ignore` values (repeatable, comma-separated), checked."""

    def parse(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...] | None:
        from rubricdsl.core.config import parse_selectors  # noqa: PLC0415

        if not value:
            return None
        try:
            return tuple(s for v in value for s in parse_selectors(v, option))
        except ValueError as e:
            raise click.BadParameter(str(e).removeprefix(f"{option}: ")) from None

    return parse


@click.command()
@click.argument("rubrics", nargs=-1, metavar="RUBRIC...")
@click.option("--format", "fmt", type=click.Choice(list(LINT_FORMATS)), default=None,
              help="text for people (the default, or the configuration's output-format); json; SARIF 2.1.0 for "
                   "code scanning; github workflow commands.")
@click.option("--fail-level", type=click.Choice(["error", "warning", "info"]), default=None,
              help="Exit 1 when a diagnostic of this severity or higher is reported (default: the configuration's "
                   "fail-level, else warning).")
@click.option("--select", "select", multiple=True, metavar="CODES", callback=_selectors("--select"),
              help="Report only these checks: codes (RB204), prefixes (RB2), names (decision-gap), checks (gap) "
                   "or all, comma-separated; replaces the configuration's select.")
@click.option("--ignore", "ignore", multiple=True, metavar="CODES", callback=_selectors("--ignore"),
              help="Do not report these checks (as --select); replaces the configuration's ignore. Errors are "
                   "always reported.")
@config_options
@click.option("--show-config", "show_config", type=click.Path(), default=None, metavar="FILE",
              help="Print the configuration that applies to FILE (where it comes from and each setting) and exit.")
@click.option("-o", "--output", type=click.Path(), default=None, metavar="FILE",
              help="Write the report to FILE instead of standard output.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0, min_open=True), default=60.0, show_default=True,
              metavar="SECONDS",
              help="Time budget of the static analysis per rubric file; what it leaves undecided is "
                   "reported (RB209).")
@click.option("--no-assume-rules", "no_assume_rules", is_flag=True, default=False,
              help="Analyse decisions over every situation, not only those the rubric's error rules allow.")
@click.option("--color/--no-color", default=None, help="Colour the text output (default: on a terminal).")
def lint(rubrics: tuple[str, ...], fmt: str | None, fail_level: str | None, select: tuple[str, ...] | None,
         ignore: tuple[str, ...] | None, config_file: str | None, isolated: bool, show_config: str | None,
         output: str | None, timeout_s: float, no_assume_rules: bool, color: bool | None) -> None:
    """Parse, type-check and statically analyse RUBRIC files.

    Reports syntax and compile errors, unused inputs and lets, failing examples,
    and what the solver proves about the rubric: dead conditions, vacuous and
    always-violated requirements, gaps, overlaps, shadowed arms and useless edge
    cases, each with a witness. Decisions are analysed under the rubric's
    error rules: a gap or overlap that only invalid records reach is not
    reported (--no-assume-rules reports it). Every gap and overlap region is
    listed. Suppress one on its line with `# rubric: ignore[CODE]`, only the
    regions inside a condition with `# rubric: ignore[RB204] when COND`, or for
    files and projects in rubric.toml (or pyproject.toml's [tool.rubric]):
    fail-level, select, ignore, per-file-ignores, output-format; the nearest one
    above each RUBRIC applies, and options given here win over it. Errors are
    always reported. Exit 1 when a diagnostic at or above the fail level is
    reported, 2 when a file or the configuration cannot be read.
    """
    configs = Configs(config_file, isolated)
    overrides = {k: v for k, v in (("select", select), ("ignore", ignore), ("fail_level", fail_level)) if v is not None}
    if show_config is not None:
        if rubrics:
            raise click.UsageError("--show-config takes no RUBRIC: it prints the configuration of its FILE")
        _print_config(show_config, configs(show_config), overrides, fmt)
        sys.exit(EXIT_OK)
    if not rubrics:
        raise click.UsageError("Missing argument 'RUBRIC...'.")
    from rubricdsl.analysis.lint import LintRunError, lint_file  # noqa: PLC0415
    from rubricdsl.core.config import replace  # noqa: PLC0415
    from rubricdsl.core.outputs import is_stdout  # noqa: PLC0415

    refuse_inputs(output, rubrics, "-o")
    file_configs = [replace(configs(path), **overrides) for path in rubrics]
    fmt = config_format(file_configs[0], fmt, LINT_FORMATS, "lint", "text")
    results = []
    failed = False
    for path, cfg in zip(rubrics, file_configs):
        try:
            res = lint_file(path, timeout_s, assume_rules=not no_assume_rules)
        except LintRunError as e:
            fail(str(e))
        disabled = cfg.ignored_codes_for(path)
        res.diagnostics = [d for d in res.diagnostics if d.severity == "error" or d.code not in disabled]
        failed = failed or reaches((d.severity for d in res.diagnostics), cfg.fail_level or "warning")
        results.append(res)
    if fmt == "text":
        from rubricdsl.render.lint_text import render_text  # noqa: PLC0415

        text = render_text(results, color=color_wanted(color, sys.stdout) if is_stdout(output) else bool(color))
    else:
        from rubricdsl.render import github, lint_json, sarif  # noqa: PLC0415

        text = {"json": lint_json.lint_json, "sarif": sarif.sarif, "github": github.github}[fmt](results)
    write_result(output, text)
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)


def _print_config(file: str, cfg, overrides: dict, fmt: str | None) -> None:
    """`--show-config FILE`: where the configuration of FILE comes from, and each setting in
    force with where it was set (the command line, a line of the file, or the default)."""
    import json  # noqa: PLC0415

    from rubricdsl.core.config import replace  # noqa: PLC0415
    from rubricdsl.core.safetext import visible  # noqa: PLC0415

    used = replace(cfg, **overrides)
    settings = used.settings()
    if settings["fail-level"] is None:
        settings["fail-level"] = "warning"
    if settings["output-format"] is None:
        settings["output-format"] = "text"
    option = {"fail-level": "fail_level", "select": "select", "ignore": "ignore"}
    source = {}
    for key in settings:
        line = cfg.line_of(key)
        if option.get(key) in overrides:
            source[key] = "command line"
        elif cfg.path is not None and line is not None:
            source[key] = f"{cfg.path.name}:{line}"
        else:
            source[key] = "default"
    matching = used.matching_globs(file)
    disabled = sorted(used.ignored_codes_for(file))
    if (fmt or cfg.output_format) == "json":
        doc = {"file": file, "config": str(cfg.path) if cfg.path else None, "root": str(cfg.root),
               "settings": settings, "sources": source, "matching_per_file_ignores": list(matching),
               "disabled": disabled}
        write_result(None, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return
    lines = [f"file: {visible(file)}",
             f"config: {visible(cfg.path) if cfg.path else 'none (the defaults)'}",
             f"root: {visible(cfg.root)}"]
    for key, value in settings.items():
        shown = visible(json.dumps(value, ensure_ascii=False))
        if key == "per-file-ignores":
            shown = "{" + ", ".join(f"{visible(json.dumps(g, ensure_ascii=False))} = "
                                    f"{visible(json.dumps(v, ensure_ascii=False))}" for g, v in value.items()) + "}"
        lines.append(f"{key} = {shown}  # {source[key]}")
    if matching:
        lines.append("per-file-ignores matching this file: " + ", ".join(visible(json.dumps(g, ensure_ascii=False))
                                                                         for g in matching))
    lines.append(f"disabled for this file: {', '.join(disabled) if disabled else 'nothing'} (errors are always "
                 "reported)")
    write_result(None, "\n".join(lines) + "\n")


@click.command()
@click.argument("code", metavar="CODE")
def explain(code: str) -> None:
    """Explain a diagnostic code (RB101) or name (unknown-name)."""
    from rubricdsl.analysis.lint import explain as explain_code  # noqa: PLC0415

    text = explain_code(code)
    if text is None:
        fail(f"unknown diagnostic code `{code}`; codes look like RB101 (see docs/diagnostics/)")
    click.echo(text.rstrip("\n"))
