"""Malformed rubrics with inline expectations: tests/cases/diagnostics/*.rubric.

Each offending line ends with `# expect: CODE` or `# expect: CODE:COLUMN` (several may
follow one `expect:`); compiling the file must raise RubricError whose diagnostics are
exactly the expected (code, line[, column]) set, all in one run. A marker naming one
code may end with `help: TEXT`: that diagnostic's help line must contain TEXT. A file starting with
`# xfail: REASON` documents a known discrepancy and runs as a strict xfail.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import rubricdsl
from rubricdsl.core.codes import CODES
from rubricdsl.core.diagnostics import RubricError

CASES = Path(__file__).resolve().parent / "cases" / "diagnostics"
MARKER = re.compile(r"#\s*expect:\s*(?P<items>.+?)(?:\s+help:\s*(?P<help>.+?))?\s*$")
ITEM = re.compile(r"^(?P<code>RB\d{3})(?::(?P<col>\d+))?$")
XFAIL = re.compile(r"^#\s*xfail:\s*(?P<reason>.+)$", re.M)

# Codes no rubric compilation can produce: RB110 and the RB2xx analysis warnings belong
# to `rubric lint`, RB900 is an internal error.
NOT_FROM_COMPILATION = {"RB110", "RB900"}


def _compile_codes() -> set[str]:
    return {c for c in CODES if c[:3] in ("RB0", "RB1")} - NOT_FROM_COMPILATION

SPEC_CHECKS = {"syntax", "unknown_name", "type_error", "unknown_value", "duplicate_name", "unused_field",
               "bad_regex", "dead", "vacuous", "always_violated", "gap", "overlap", "shadowed", "useless_edge",
               "example_failed"}


def _files() -> list[Path]:
    return sorted(CASES.glob("*.rubric"))


def _xfail(text: str) -> str | None:
    m = XFAIL.search(text)
    return m.group("reason") if m else None


def parse_expectations(text: str) -> list[tuple[str, int, int | None]]:
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        m = MARKER.search(line)
        if not m:
            continue
        for item in re.split(r"[\s,]+", m.group("items")):
            im = ITEM.match(item)
            assert im, f"line {lineno}: bad expectation {item!r}"
            out.append((im.group("code"), lineno, int(im.group("col")) if im.group("col") else None))
    return out


def parse_helps(text: str) -> list[tuple[str, int, int | None, str]]:
    """(code, line, column, TEXT) of every marker that ends with `help: TEXT`."""
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        m = MARKER.search(line)
        if not m or not m.group("help"):
            continue
        items = re.split(r"[\s,]+", m.group("items"))
        assert len(items) == 1, f"line {lineno}: `help:` follows a marker naming one code"
        im = ITEM.match(items[0])
        assert im, f"line {lineno}: bad expectation {items[0]!r}"
        out.append((im.group("code"), lineno, int(im.group("col")) if im.group("col") else None, m.group("help")))
    return out


def _diagnostics(path: Path) -> list:
    text = path.read_text(encoding="utf-8")
    with pytest.raises(RubricError) as info:
        rubricdsl.loads(text, name=path.name)
    return info.value.diagnostics


def _params():
    out = []
    for p in _files():
        reason = _xfail(p.read_text(encoding="utf-8"))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(p, id=p.stem, marks=marks))
    return out


@pytest.mark.parametrize("path", _params())
def test_diagnostics_file(path: Path) -> None:
    expected = parse_expectations(path.read_text(encoding="utf-8"))
    assert expected, f"{path.name} has no `# expect:` markers"
    diags = _diagnostics(path)
    actual = [(d.code, d.line, d.column) for d in diags]
    left = list(expected)
    unexpected = []
    for code, line, col in actual:
        for i, (c, ln, cl) in enumerate(left):
            if c == code and ln == line and (cl is None or cl == col):
                del left[i]
                break
        else:
            unexpected.append((code, line, col))
    details = "\n".join(f"  {d.code} {d.line}:{d.column} {d.message}" for d in diags)
    assert not left and not unexpected, (
        f"{path.name}\n missing:    {left}\n unexpected: {unexpected}\n all:\n{details}")


@pytest.mark.parametrize("path", [p for p in _files() if parse_helps(p.read_text(encoding="utf-8"))], ids=lambda p: p.stem)
def test_help_lines(path: Path) -> None:
    diags = _diagnostics(path)
    for code, line, col, text in parse_helps(path.read_text(encoding="utf-8")):
        hits = [d for d in diags if d.code == code and d.line == line and (col is None or d.column == col)]
        assert len(hits) == 1, f"{path.name}:{line}: {code} not reported once"
        assert text in (hits[0].help or ""), f"{path.name}:{line}: help {hits[0].help!r} lacks {text!r}"


def test_every_producible_code_is_covered() -> None:
    covered = set()
    for p in _files():
        text = p.read_text(encoding="utf-8")
        if _xfail(text):
            continue
        covered |= {code for code, _, _ in parse_expectations(text)}
    producible = _compile_codes()
    assert len(producible) >= 17
    assert producible <= covered, f"no diagnostics case for {sorted(producible - covered)}"


def test_marker_parser() -> None:
    text = ('label a: bool  # expect: RB101\nx\nrule r "m" { }  # expect: RB007:6 RB101:2\n'
            'x == True  # expect: RB101:6 help: write `true`\n')
    assert parse_expectations(text) == [("RB101", 1, None), ("RB007", 3, 6), ("RB101", 3, 2), ("RB101", 4, 6)]
    assert parse_helps(text) == [("RB101", 4, 6, "write `true`")]


# ---- messages, fields and rendering -------------------------------------------------------


def _by_code_line(path: str) -> dict[tuple[str, int], object]:
    return {(d.code, d.line): d for d in _diagnostics(CASES / path)}


def test_unknown_value_suggests_the_nearest_value() -> None:
    d = _by_code_line("values.rubric")[("RB102", 4)]
    assert "unknown value 'usafe'" in d.message
    assert "did you mean 'unsafe'?" in d.message
    assert d.check == "unknown_value"


def test_unknown_name_suggests_the_nearest_name() -> None:
    diags = _by_code_line("names.rubric")
    assert "safty" in diags[("RB101", 6)].message and "safety" in diags[("RB101", 6)].message
    assert "did you mean" not in diags[("RB101", 7)].message  # nothing close to `qqqqqqqq`
    assert "len" in diags[("RB109", 10)].message


def test_syntax_messages() -> None:
    diags = _by_code_line("syntax_tokens.rubric")
    assert "chain" in diags[("RB001", 6)].message
    assert "unterminated string" in diags[("RB002", 7)].message
    assert diags[("RB001", 6)].check == "syntax"
    unclosed = _diagnostics(CASES / "unclosed_block.rubric")
    assert len(unclosed) == 1 and "line 3, column 43" in (unclosed[0].help or "")


def test_diagnostic_dicts_have_the_documented_fields() -> None:
    for p in _files():
        if _xfail(p.read_text(encoding="utf-8")):
            continue
        for d in _diagnostics(p):
            dd = d.to_dict()
            assert {"check", "code", "severity", "file", "line", "column", "message"} <= set(dd)
            assert dd["check"] in SPEC_CHECKS
            assert dd["severity"] == "error"
            assert dd["file"] == p.name
            assert dd["line"] >= 1 and dd["column"] >= 1
            assert dd["message"]


def test_rubric_error_text_names_the_first_diagnostic() -> None:
    with pytest.raises(RubricError) as info:
        rubricdsl.loads((CASES / "values.rubric").read_text(encoding="utf-8"), name="values.rubric")
    text = str(info.value)
    assert text.startswith("values.rubric:4:50: RB102")
    assert f"(and {len(info.value.diagnostics) - 1} more)" in text


def test_color_rendering_only_adds_escapes() -> None:
    with pytest.raises(RubricError) as info:
        rubricdsl.loads((CASES / "values.rubric").read_text(encoding="utf-8"), name="values.rubric")
    plain = info.value.render(color=False)
    colored = info.value.render(color=True)
    assert "\x1b[" not in plain and "\x1b[" in colored
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == plain


@pytest.mark.parametrize("name", ["values", "syntax_tokens", "names", "unclosed_block"])
def test_golden_rendering(name: str, golden) -> None:
    path = CASES / f"{name}.rubric"
    with pytest.raises(RubricError) as info:
        rubricdsl.loads(path.read_text(encoding="utf-8"), name=path.name)
    golden.check(f"diagnostics_{name}.txt", info.value.render(color=False))


@pytest.mark.parametrize(("pattern", "why"), [
    (r"(a)\1", r"`\1` is not an escape RE2 knows (it has no backreferences and no `\Z`)"),
    (r"(?<!x)a", "`(?<!` is a group RE2 does not have (no lookaround, no atomic groups)"),
    (r"[z-a]", "`z-a` is not a valid character range or class"),
    (r"[abc", "a `[` is not closed"),
    (r"(abc", "a `(` is not closed"),
    (r"abc)", "a `)` closes no `(`"),
    (r"*a", "`*` repeats nothing"),
    (r"a{1001}", "`{1001}`: a repetition count is at most 1000, and its minimum at most its maximum"),
])
def test_regex_errors_are_said_in_our_words(pattern: str, why: str) -> None:
    """RB105 says why RE2 rejects a regex without quoting RE2's own message."""
    text = f'rubric "r" version "1"\ninput t: text\nrule r "m" {{ require t matches /{pattern}/ }}\n'
    with pytest.raises(RubricError) as info:
        rubricdsl.loads(text)
    (d,) = info.value.diagnostics
    assert (d.code, d.message) == ("RB105", f"the regex is not accepted: {why}")
