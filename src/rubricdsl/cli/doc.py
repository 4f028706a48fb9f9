"""`rubric doc`: render the annotator-facing guideline of rubric files (see
`rubricdsl.language.wording` and `rubricdsl.render.guide`).

- `rubric doc RUBRIC`: the guideline as Markdown on standard output (`--format html`
  for one self-contained HTML page);
- `-o FILE` writes FILE instead; its format follows its extension (`.md`, `.html`)
  unless `--format` says otherwise. `-o` may be repeated (`-o GUIDE.md -o GUIDE.html`).
  `{dir}` and `{name}` in FILE stand for the rubric's directory and its file name
  without extension, so one command renders many rubrics:
  `rubric doc rubrics/*/*.rubric -o '{dir}/GUIDE.md' -o '{dir}/GUIDE.html'`;
- `--check`: write nothing; list each FILE that is missing or differs from what
  would be written, and exit 1 if there is one (for CI and tests). Only `--check`
  reads FILE, and only when it is a regular file.

Each FILE is written through a temporary file in its directory that is renamed over it
(`rubricdsl.core.outputs`); `-o -` is standard output. A FILE that is one of the rubrics is
refused.

Exit status: 0 done (or everything up to date), 1 `--check` found a file out of date,
2 the command could not run (usage, a rubric missing, unreadable or with errors, a
file that cannot be written).
"""
from __future__ import annotations

import os
import sys

import click

from rubricdsl.cli.common import color_wanted, fail, load_rubric, refuse_inputs
from rubricdsl.core.exits import EXIT_CHANGED, EXIT_OK
from rubricdsl.core.values import plural

_EXT = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}


def output_path(pattern: str, rubric: str) -> str:
    """FILE with `{dir}` and `{name}` replaced for one rubric."""
    directory = os.path.dirname(rubric) or "."
    name = os.path.splitext(os.path.basename(rubric))[0]
    return pattern.replace("{dir}", directory).replace("{name}", name)


def regenerate_command(rubric: str, out: str, fmt: str, explicit_format: bool) -> str:
    """The command that rebuilds `out`, run from `out`'s directory (so the note does not
    depend on where the command was run from)."""
    here = os.path.dirname(os.path.abspath(out))
    rel = os.path.relpath(os.path.abspath(rubric), here).replace(os.sep, "/")
    cmd = f"rubric doc {rel} -o {os.path.basename(out)}"
    if explicit_format:
        cmd += f" --format {fmt}"
    return cmd + " (in this file's directory)"


@click.command("doc")
@click.argument("rubrics", nargs=-1, required=True, metavar="RUBRIC...")
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default=None,
              help="md (Markdown) or html (one self-contained page). Default: from each FILE's extension; "
                   "md on standard output.")
@click.option("-o", "--output", "outputs", multiple=True, metavar="FILE",
              help="Write FILE instead of standard output (repeatable). {dir} and {name} in FILE stand for the "
                   "rubric's directory and file name without extension.")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 if a FILE is missing or differs from what would be written.")
def doc(rubrics: tuple[str, ...], fmt: str | None, outputs: tuple[str, ...], check: bool) -> None:
    """Render each RUBRIC as the guideline annotators read.

    Criteria with their guidance, labels and their values, decision tables with
    their exceptions, requirements, escalations and worked examples, with every
    condition in plain words. Every clause has a stable anchor (rule-NAME,
    decide-LABEL, ...) that `rubric check --report` links to.
    """
    from rubricdsl.core.outputs import OutputError, atomic  # noqa: PLC0415
    from rubricdsl.render.guide import render_guide  # noqa: PLC0415
    from rubricdsl.language.wording import build_guide  # noqa: PLC0415

    if not outputs:
        if check:
            fail("--check needs -o FILE: the file to compare with")
        if len(rubrics) > 1:
            fail("several rubrics need -o FILE, with {dir} or {name} in FILE")
    elif len(rubrics) > 1:
        for pattern in outputs:
            if "{dir}" not in pattern and "{name}" not in pattern:
                fail(f"-o {pattern}: with several rubrics, FILE needs {{dir}} or {{name}} so that each rubric "
                       "gets its own file")
    plan: list[tuple[str, str, str]] = []  # (rubric, output, format)
    for rubric in rubrics:
        for pattern in outputs:
            out = output_path(pattern, rubric)
            f = fmt or ("md" if out == "-" else _EXT.get(os.path.splitext(out)[1].lower()))
            if f is None:
                fail(f"-o {out}: cannot tell the format from the extension; give --format md or --format html")
            plan.append((rubric, out, f))
    seen: set[str] = set()
    for _, out, _f in plan:
        key = out if out == "-" else os.path.abspath(out)
        if key in seen:
            fail(f"-o {out}: written twice in one run")
        seen.add(key)
        if out == "-" and check:
            fail("--check compares with a file; -o - is standard output")
        refuse_inputs(out, rubrics, "-o")

    color = color_wanted(None, sys.stderr)
    if not outputs:
        r = load_rubric(rubrics[0], color)
        sys.stdout.write(render_guide(build_guide(r.ir), fmt or "md"))
        sys.stdout.flush()
        sys.exit(EXIT_OK)

    to_stderr = "-" in seen  # standard output carries a guide: messages go to standard error
    stale = written = unchanged = 0
    guides: dict[str, object] = {}
    for rubric, out, f in plan:
        if rubric not in guides:
            guides[rubric] = build_guide(load_rubric(rubric, color).ir)
        if out == "-":
            sys.stdout.write(render_guide(guides[rubric], f))  # type: ignore[arg-type]
            sys.stdout.flush()
            continue
        text = render_guide(guides[rubric], f, regenerate_command(rubric, out, f, fmt is not None))  # type: ignore[arg-type]
        if check:
            current = _current(out)
            if current == text:
                unchanged += 1
                continue
            stale += 1
            click.echo(f"{out} is not a regular file" if current is _NOT_A_FILE
                       else f"{out} is out of date" if current is not None else f"{out} is missing")
            continue
        try:
            with atomic(out) as fh:
                fh.write(text)
        except OutputError as e:
            fail(str(e))
        written += 1
        click.echo(f"wrote {out}", err=to_stderr)
    if check:
        parts = [f"{plural(stale, 'file')} out of date"] if stale else []
        parts.append(f"{plural(unchanged, 'file')} up to date")
        click.echo(", ".join(parts) + "." + (" Regenerate with the same command without --check." if stale else ""))
        sys.exit(EXIT_CHANGED if stale else EXIT_OK)
    if written:
        click.echo(f"{plural(written, 'file')} written.", err=to_stderr)
    sys.exit(EXIT_OK)


_NOT_A_FILE = object()


def _current(path: str) -> object:
    """What `path` holds now, for --check: only a regular file is read (never a device or a
    pipe, which could block or never end: `_NOT_A_FILE`); None when it is missing or
    unreadable."""
    import stat  # noqa: PLC0415

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a named pipe does not block the open
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return _NOT_A_FILE
            return fh.read().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
