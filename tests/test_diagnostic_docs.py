"""The diagnostic code pages, docs/diagnostics/RBxxx.md, and `rubric explain`.

Every code of the code table has a page. A page's `### Avoid` rubric triggers its code
and its `### Prefer` rubric does not (and lints clean); the `rubric lint` output shown on
the page matches what lint prints today; the suppression the page documents for a
warning works; `rubric explain` prints the page; docs/diagnostics/README.md lists every
code.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import Ran, rubric

from rubricdsl.core.codes import CODES
from rubricdsl.analysis.lint import explain, lint_text
from rubricdsl.render.lint_text import render_text

DOCS = Path(__file__).resolve().parents[1] / "docs" / "diagnostics"
ALL_CODES = sorted(CODES)
# RB900 is an internal error: no rubric triggers it, so its page has no Avoid/Prefer.
EXAMPLE_CODES = [c for c in ALL_CODES if c != "RB900"]
SECTIONS = ("## What it does", "## Why it matters", "## How to suppress", "## Related")
HEADER = re.compile(r'^rubric\s+"[^"\n]*"\s+version\s+"[^"\n]*"')
DIAG_HEAD = re.compile(r"^(error|warning|info)\[(RB\d{3})\]: .*$", re.M)


def _page(code: str) -> str:
    return (DOCS / f"{code}.md").read_text(encoding="utf-8")


def _block(page: str, heading: str, lang: str) -> str:
    """The first ```lang fenced block under the Markdown heading `heading` (before the next
    heading; a `#` comment inside a code block is not a heading)."""
    lines = page.split("\n")
    assert heading in lines, f"no heading {heading!r}"
    fence: list[str] | None = None
    in_code = False
    for line in lines[lines.index(heading) + 1 :]:
        if fence is not None:
            if line == "```":
                return "\n".join(fence) + "\n"
            fence.append(line)
        elif in_code:
            in_code = line != "```"
        elif line == "```" + lang:
            fence = []
        elif line.startswith("```"):
            in_code = True
        elif re.match(r"#{1,6} ", line):
            break
    raise AssertionError(f"no ```{lang} block under {heading!r}")


def _codes(text: str) -> list[str]:
    return [d.code for d in lint_text(text, "avoid.rubric").diagnostics]


# ---- every code has a page ------------------------------------------------------------------


@pytest.mark.parametrize("code", ALL_CODES)
def test_page_exists_with_title_and_sections(code: str) -> None:
    path = DOCS / f"{code}.md"
    assert path.is_file(), f"{code} has no page {path}"
    page = _page(code)
    assert page.splitlines()[0] == f"# {code} {CODES[code].name}"
    for section in SECTIONS:
        assert section in page, f"{code}: missing section {section!r}"
    if code in EXAMPLE_CODES:
        assert "## Example" in page
        assert page.index("## Example") < page.index("### Avoid") < page.index("### Prefer")


def test_no_page_without_a_code() -> None:
    pages = {p.stem for p in DOCS.glob("RB*.md")}
    assert pages == set(CODES)


# ---- Avoid / Prefer ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", EXAMPLE_CODES)
def test_avoid_triggers_the_code(code: str) -> None:
    avoid = _block(_page(code), "### Avoid", "rubric")
    if code != "RB004":  # the one example whose point is the missing header
        assert HEADER.match(avoid), f"{code}: the Avoid block does not start with a header"
    codes = _codes(avoid)
    assert code in codes, f"{code}: the Avoid block does not produce {code}"
    assert set(codes) == {code}, f"{code}: the Avoid block also produces {sorted(set(codes) - {code})}"


@pytest.mark.parametrize("code", EXAMPLE_CODES)
def test_prefer_is_clean(code: str) -> None:
    prefer = _block(_page(code), "### Prefer", "rubric")
    assert HEADER.match(prefer), f"{code}: the Prefer block does not start with a header"
    codes = _codes(prefer)
    assert code not in codes, f"{code}: the Prefer block still produces {code}"
    assert codes == [], f"{code}: the Prefer block is not lint-clean: {codes}"


@pytest.mark.parametrize("code", EXAMPLE_CODES)
def test_shown_output_matches_lint(code: str) -> None:
    """The diagnostic lines of the `rubric lint avoid.rubric` output shown on the page are
    the ones lint prints (witnesses may vary with the solver, so only the headers count)."""
    page = _page(code)
    shown = _block(page, "### Avoid", "text")
    assert shown.startswith("$ rubric lint avoid.rubric\n")
    actual = render_text([lint_text(_block(page, "### Avoid", "rubric"), "avoid.rubric")])
    heads = [m.group(0) for m in DIAG_HEAD.finditer(shown)]
    assert heads, f"{code}: no diagnostic shown"
    assert heads == [m.group(0) for m in DIAG_HEAD.finditer(actual)]


@pytest.mark.parametrize("code", [c for c in EXAMPLE_CODES if CODES[c].severity == "warning"])
def test_documented_suppression_works(code: str) -> None:
    """`# rubric: ignore[CODE]` on the reported line removes the warning (and is counted)."""
    avoid = _block(_page(code), "### Avoid", "rubric")
    res = lint_text(avoid, "avoid.rubric")
    diag = next(d for d in res.diagnostics if d.code == code)
    lines = avoid.split("\n")
    lines[diag.span.line - 1] += f"  # rubric: ignore[{code}]"
    suppressed = lint_text("\n".join(lines), "avoid.rubric")
    assert code not in [d.code for d in suppressed.diagnostics]
    assert suppressed.suppressed >= 1
    assert f"# rubric: ignore[{code}]" in _page(code)


@pytest.mark.parametrize("code", [c for c in EXAMPLE_CODES if CODES[c].severity == "error"])
def test_errors_are_documented_as_not_suppressible(code: str) -> None:
    """The pages say an error ignores `# rubric: ignore[...]`; check that it does."""
    avoid = _block(_page(code), "### Avoid", "rubric")
    diag = next(d for d in lint_text(avoid, "avoid.rubric").diagnostics if d.code == code)
    lines = avoid.split("\n")
    lines[diag.span.line - 1] += f"  # rubric: ignore[{code}, all]"
    assert code in _codes("\n".join(lines))
    assert "cannot be suppressed" in _page(code)


# ---- rubric explain -----------------------------------------------------------------------------


def _explain(arg: str) -> Ran:
    return rubric("explain", arg, text=True)


@pytest.mark.parametrize("arg", ["RB201", "dead-condition", "rb201"])
def test_explain_prints_the_page(arg: str) -> None:
    proc = _explain(arg)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip("\n") == _page("RB201").rstrip("\n")


def test_explain_unknown_code_exits_2_with_one_line() -> None:
    proc = _explain("RB999")
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "RB999" in lines[0]


@pytest.mark.parametrize("code", ALL_CODES)
def test_explain_api_returns_every_page(code: str) -> None:
    assert explain(code) == _page(code)
    assert explain(CODES[code].name) == _page(code)


# ---- README ---------------------------------------------------------------------------------------


def test_readme_table_lists_every_code() -> None:
    readme = (DOCS / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in readme.splitlines():
        m = re.match(r"^\| \[(RB\d{3})\]\((RB\d{3})\.md\) \| `([^`]+)` \| `([^`]+)` \| (\w+) \| (.+) \|$", line)
        if m:
            assert m.group(1) == m.group(2), line
            rows[m.group(1)] = m.groups()[2:]
    assert sorted(rows) == ALL_CODES
    for code, (name, check, severity, summary) in rows.items():
        c = CODES[code]
        assert (name, check, severity) == (c.name, c.check, c.severity), code
        assert summary.replace("\\|", "|").rstrip(".") == c.summary.rstrip("."), code
        assert (DOCS / f"{code}.md").is_file()


def test_related_links_resolve() -> None:
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\((RB\d{3})\.md\)", page.read_text(encoding="utf-8")):
            assert (DOCS / f"{target}.md").is_file(), f"{page.name} links to a missing {target}.md"
