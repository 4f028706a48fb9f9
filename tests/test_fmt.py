"""`rubric fmt`: golden files, round-trip properties on every rubric we have, and a
Hypothesis property over generated rubrics.

Goldens: tests/golden/fmt/NAME.rubric (an ugly input) and NAME.expected.rubric (its
canonical layout); `pytest --update-goldens` rewrites the expected files.

Properties, on rubrics/*/*.rubric, every .rubric under tests/, the rubrics embedded
in tests/cases/**/*.yaml and, when the folder is there, ../shared/conformance:
- fmt is idempotent: fmt(fmt(x)) == fmt(x);
- the AST is unchanged: parse(fmt(x)) == parse(x) (spans and comments do not take
  part in the comparison). The one intended difference: an enum value of a type
  that is quoted without need (`enum {"safe"}`) is printed bare, which turns its
  `Value.kind` from "string" into "name"; `_canon` applies that to both sides;
- every comment is kept (the multiset of comment texts, trailing whitespace aside);
- `# rubric: ignore[...]` comments stay on the line of the construct they follow;
- the formatted rubric compiles with the same diagnostics (code and message).
"""
from __future__ import annotations

import copy
import dataclasses
import os
import re
from collections import Counter
from pathlib import Path

import pytest
from helpers import Ran, rubric
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from rubricdsl.language import ast
from rubricdsl.language import resolve
from rubricdsl.language import syntax
from rubricdsl.core.diagnostics import RubricError
from rubricdsl.language.limits import nesting_recursion
from rubricdsl.language.fmt import format_rubric, format_text
from rubricdsl.core.source import normalize_text

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
GOLDEN_FMT = TESTS / "golden" / "fmt"
CONFORMANCE = Path(os.environ.get("RUBRIC_CONFORMANCE", ROOT.parent / "shared" / "conformance"))
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


# ---- helpers ------------------------------------------------------------------------------------


def _parse(text: str, name: str = "<string>") -> ast.Rubric:
    tree, sink = syntax.parse(normalize_text(text), name)
    assert tree is not None and not sink.has_errors, [d.message for d in sink.items]
    return tree


def _canon(rubric: ast.Rubric) -> ast.Rubric:
    """A copy where enum values of types quoted without need count as bare names."""
    r = copy.deepcopy(rubric)

    def walk(node: object) -> None:
        if isinstance(node, ast.TypeNode):
            for v in node.values:
                if v.kind == "string" and _IDENT.match(str(v.value)) and v.value not in syntax.RESERVED:
                    v.kind = "name"
        if dataclasses.is_dataclass(node):
            for f in dataclasses.fields(node):
                walk(getattr(node, f.name))
        elif isinstance(node, list):
            for x in node:
                walk(x)

    walk(r)
    return r


def _comments(tree: ast.Rubric) -> Counter:
    return Counter(c.text.rstrip() for c in tree.comments)


def _diagnostics(text: str) -> list[tuple[str, str]]:
    tree, sink = syntax.parse(text)
    assert tree is not None
    resolve.Checker(tree, sink, text).run()
    # messages may cite a line ("used before its `let` (line 9)"): lines move
    return sorted((d.code, re.sub(r"\bline \d+", "line N", d.message)) for d in sink.items)


_SUPPRESS = re.compile(r"#\s*rubric:\s*ignore\[")


def _trailing(text: str, c: ast.Comment) -> bool:
    return text.split("\n")[c.span.line - 1][: c.span.column - 1].strip() != ""


def _check_suppressions(text: str, tree: ast.Rubric, out: str, out_tree: ast.Rubric) -> None:
    """A trailing `# rubric: ignore[...]` stays trailing; only when two of them meet on
    one output line may one go just above that line."""
    wanted = {c.text.rstrip() for c in tree.comments if _SUPPRESS.search(c.text) and _trailing(text, c)}
    lines = out.split("\n")
    for c in out_tree.comments:
        if c.text.rstrip() not in wanted or _trailing(out, c):
            continue
        k = c.span.line  # the next line that is not a comment must carry another suppression
        while lines[k].lstrip().startswith("#") or not lines[k].strip():
            k += 1
        while lines[k].lstrip().startswith('"""'):  # a docstring's comment follows its last line
            if lines[k].count('"""') % 2:
                k += 1
                while '"""' not in lines[k]:
                    k += 1
            if k + 1 < len(lines) and lines[k + 1].lstrip().startswith('"""'):
                k += 1
            else:
                break
        assert _SUPPRESS.search(lines[k]) and not lines[k].lstrip().startswith("#"), f"{c.text} left its line:\n{out}"


def _assert_round_trip(text: str, name: str = "<string>") -> str:
    tree = _parse(text, name)
    once = format_text(text, name)
    once_tree = _parse(once, name)
    twice = format_rubric(once_tree, once)
    assert twice == once, "fmt is not idempotent:\n" + once
    assert _canon(once_tree) == _canon(tree), "the AST changed:\n" + once
    assert _comments(once_tree) == _comments(tree), "comments were lost or changed:\n" + once
    _check_suppressions(normalize_text(text), tree, once, once_tree)
    assert not once.endswith("\n\n") and once.endswith("\n")
    assert all(ln == ln.rstrip() for ln in once.split("\n")), "trailing whitespace"
    return once


# ---- goldens -------------------------------------------------------------------------------------


def _golden_inputs() -> list[Path]:
    return sorted(p for p in GOLDEN_FMT.glob("*.rubric") if not p.name.endswith(".expected.rubric"))


@pytest.mark.parametrize("path", _golden_inputs(), ids=lambda p: p.stem)
def test_golden(path: Path, golden) -> None:
    out = format_text(path.read_text(encoding="utf-8"), path.name)
    golden.check(f"fmt/{path.stem}.expected.rubric", out)


@pytest.mark.parametrize("path", _golden_inputs(), ids=lambda p: p.stem)
def test_golden_output_is_a_fixed_point(path: Path) -> None:
    expected = path.with_name(path.stem + ".expected.rubric")
    if not expected.is_file():
        pytest.skip("no expected file yet (run pytest --update-goldens)")
    text = expected.read_text(encoding="utf-8")
    assert format_text(text, expected.name) == text


def test_goldens_cover_every_construct() -> None:
    """The golden inputs hold every construct and every kind of expression."""
    seen: set[str] = set()
    for p in _golden_inputs():
        r = _parse(p.read_text(encoding="utf-8"), p.name)
        stack: list[object] = [r]
        while stack:
            n = stack.pop()
            if isinstance(n, list):
                stack.extend(n)
                continue
            if not dataclasses.is_dataclass(n):
                continue
            seen.add(type(n).__name__)
            for key in ("kind", "op"):
                if isinstance(getattr(n, key, None), str):
                    seen.add(f"{type(n).__name__}.{getattr(n, key)}")
            for f in dataclasses.fields(n):
                if f.name != "comments":
                    stack.append(getattr(n, f.name))
    needed = {"Header", "RecordBlock", "RecordEntry", "Field", "Let", "Level", "Criterion", "Decide", "Arm",
              "Rule", "Escalate", "Example", "GivenEntry", "SetValue", "Outcome", "Path", "Name", "Call",
              "Literal", "Unary", "Binary", "Test", "Matches", "Arm.when", "Arm.edge", "Arm.otherwise",
              "TypeNode.bool", "TypeNode.int", "TypeNode.number", "TypeNode.text", "TypeNode.enum",
              "TypeNode.set", "TypeNode.scale", "Unary.not", "Unary.-", "Test.empty", "Test.not empty",
              "Test.present", "Test.missing", "Literal.int", "Literal.number", "Literal.string", "Literal.bool"}
    needed |= {f"Binary.{op}" for op in ("and", "or", "+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=", "in",
                                         "not in", "contains", "any", "all", "none")}
    needed |= {f"Outcome.{k}" for k in ("pass", "violation", "uncovered", "ambiguous", "invalid", "escalation")}
    assert needed <= seen, sorted(needed - seen)


# ---- properties on every rubric we have --------------------------------------------------------------


def _corpus() -> list[tuple[str, str]]:
    out = []
    for p in sorted(ROOT.glob("rubrics/*/*.rubric")) + sorted(TESTS.rglob("*.rubric")):
        out.append((str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")))
    for p in sorted(TESTS.glob("cases/**/*.yaml")):
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and isinstance(doc.get("rubric"), str):
            out.append((str(p.relative_to(ROOT)), doc["rubric"]))
    if CONFORMANCE.is_dir():
        for p in sorted(CONFORMANCE.glob("*/rubric.rubric")):
            out.append((f"conformance/{p.parent.name}", p.read_text(encoding="utf-8")))
    return out


def _parses(text: str) -> bool:
    tree, sink = syntax.parse(text)
    return tree is not None and not sink.has_errors


CORPUS = [(name, text) for name, text in _corpus() if _parses(text)]


def test_corpus_is_not_empty() -> None:
    assert sum(1 for name, _ in CORPUS if name.startswith("rubrics/")) >= 4


@pytest.mark.parametrize("name,text", CORPUS, ids=[n for n, _ in CORPUS])
def test_round_trip(name: str, text: str) -> None:
    with nesting_recursion():  # the AST's copy and comparison recurse along chains (tests/fuzz/corpus has long ones)
        once = _assert_round_trip(text, name)
        assert _diagnostics(once) == _diagnostics(text)


# ---- specific behaviour ------------------------------------------------------------------------------


def test_syntax_errors_raise_with_diagnostics() -> None:
    with pytest.raises(RubricError) as e:
        format_text('rubric "x" version "1"\nlabel a: \n', "bad.rubric")
    assert e.value.diagnostics[0].code == "RB001"
    assert "bad.rubric:2" in e.value.render()


def test_type_errors_do_not_stop_formatting() -> None:
    text = 'rubric "x" version "1"\nrule r "m" {   require nosuch == 3 }\n'
    assert format_text(text) == 'rubric "x" version "1"\n\nrule r "m" {\n  require nosuch == 3\n}\n'


def test_crlf_and_bom_are_dropped() -> None:
    text = '\ufeffrubric "x" version "1"\r\n\r\nlabel a: bool  # c\r\n'
    assert format_text(text) == 'rubric "x" version "1"\n\nlabel a: bool  # c\n'


def test_suppression_comment_stays_on_its_construct_line() -> None:
    text = ('rubric "x" version "1"\nlabel a: bool\nrule r "m" {\n  when a and\n     a  # rubric: ignore[dead]\n'
            "  require a or  # rubric: ignore[vacuous]\n    a\n}\n")
    out = format_text(text)
    assert "  when a and a  # rubric: ignore[dead]\n" in out
    assert "  require a or a  # rubric: ignore[vacuous]\n" in out


def test_several_trailing_comments_on_one_joined_line() -> None:
    text = 'rubric "x" version "1"\nlet w = 1 +  # one\n  2 +  # rubric: ignore[RB208]\n  3  # three\n'
    out = format_text(text)
    assert out.endswith("# one\n# three\nlet w = 1 + 2 + 3  # rubric: ignore[RB208]\n")


@pytest.mark.parametrize("src,want", [
    ("not (a == b)", "not a == b"),
    ("(a or b) and c", "(a or b) and c"),
    ("a or (b and c)", "a or b and c"),
    ("(a or b) or c", "a or b or c"),
    ("a or (b or c)", "a or (b or c)"),
    ("a - (b - c)", "a - (b - c)"),
    ("(a - b) - c", "a - b - c"),
    ("a / (b * c)", "a / (b * c)"),
    ("(a + b) * c", "(a + b) * c"),
    ("-(a + b)", "-(a + b)"),
    ("- 3", "-3"),
    ("a - -3", "a - -3"),
    ("-(-a)", "--a"),
    ("(a == b) == c", "(a == b) == c"),
    ("not not a", "not not a"),
    ("(not a) and b", "not a and b"),
    ("not (a and b)", "not (a and b)"),
    ("(a + 1) in {x, y}", "a + 1 in {x, y}"),
    ("(a in b) in c", "(a in b) in c"),
    ("(t) matches /x/i", "t matches /x/i"),
    ("(a + b) is empty", "a + b is empty"),
    ("len((t)) >= 1.50", "len(t) >= 1.5"),
    ("f((a or b), {})", "f(a or b, {})"),
    ("s any of {a,b}", "s any of {a, b}"),
    ('t contains "a\\"b\\/c"', 't contains "a\\"b/c"'),
])
def test_minimal_parentheses(src: str, want: str) -> None:
    out = format_text(f'rubric "x" version "1"\nlet e = {src}\n')
    assert out == f'rubric "x" version "1"\n\nlet e = {want}\n'


def test_numbers_print_as_python_repr() -> None:
    out = format_text('rubric "x" version "1"\nlet e = 1.50 + 007 + 100000000000000000000.0 + 0.000010\n'
                      "label s: number -1.50..2.0\n")
    assert "let e = 1.5 + 7 + 100000000000000000000.0 + 0.00001\n" in out
    assert "label s: number -1.5..2.0\n" in out


# ---- the command -------------------------------------------------------------------------------------


def _run(args: list[str], cwd: Path, stdin: str | None = None) -> Ran:
    return rubric("fmt", *args, cwd=cwd, input=stdin, text=True)


def test_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from rubricdsl.cli.fmt import fmt

    assert fmt.name == "fmt"
    ugly = 'rubric "x"   version "1"\nlabel a: bool # c\n'
    pretty = format_text(ugly)
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    d = tmp_path
    u, p = Path(d, "u.rubric"), Path(d, "p.rubric")
    u.write_text(ugly)
    p.write_text(pretty)
    Path(d, "bad.rubric").write_text('rubric "x" version "1"\nlabel a:\n')
    r = runner.invoke(fmt, ["--check", "u.rubric", "p.rubric"])
    assert r.exit_code == 1 and "would reformat u.rubric" in r.output and "would reformat p" not in r.output
    assert u.read_text() == ugly
    r = runner.invoke(fmt, ["--diff", "u.rubric", "p.rubric"])
    assert r.exit_code == 0 and "-label a: bool # c\n" in r.output and "+label a: bool  # c\n" in r.output
    assert u.read_text() == ugly
    r = runner.invoke(fmt, ["u.rubric", "p.rubric"])
    assert r.exit_code == 0 and "reformatted u.rubric" in r.output and "1 file left unchanged" in r.output
    assert u.read_text() == pretty
    r = runner.invoke(fmt, ["--check", "u.rubric", "p.rubric"])
    assert r.exit_code == 0
    r = runner.invoke(fmt, ["bad.rubric"])
    assert r.exit_code == 2 and "RB001" in r.output
    r = runner.invoke(fmt, ["nosuch.rubric", "p.rubric"])
    assert r.exit_code == 2 and "nosuch.rubric: no such file" in r.output


def test_cli_stdin(tmp_path: Path) -> None:
    ugly = 'rubric "x"   version "1"\nlabel a: bool # c\n'
    r = _run(["-"], tmp_path, ugly)
    assert r.returncode == 0 and r.stdout == format_text(ugly)
    r = _run(["--check", "-"], tmp_path, ugly)
    assert r.returncode == 1 and r.stdout.startswith("would reformat <stdin>")
    r = _run(["-"], tmp_path, "rubric\n")
    assert r.returncode == 2 and r.stdout == "" and "RB001" in r.stderr


# ---- Hypothesis: generated rubrics -------------------------------------------------------------------

_NAMES = ["a", "b", "x1", "safety", "_p", "Harm", "severity", "level", "none", "item", "text", "first", "edge",
          "count", "label", "record", "empty", "missing", "pass", "ordered", "given", "expect", "when", "from",
          "optional", "applies", "decide", "rule", "otherwise", "any", "all", "contains", "matches", "of"]
_FUNCS = ["len", "words", "count", "f"]
_CHARS = st.sampled_from(list('ab yZ."\\\n\t#{}/é😀') + ["\x01"])
_ESCAPE = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\x01": "\\u0001"}


def _string(s: str, draw) -> str:
    out = []
    for ch in s:
        if ch in _ESCAPE:
            out.append(_ESCAPE[ch])
        elif ch == "/" and draw(st.booleans()):
            out.append("\\/")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


@st.composite
def _str_tok(draw) -> str:
    return _string(draw(st.text(_CHARS, max_size=8)), draw)


@st.composite
def _num_tok(draw) -> list[str]:
    n = draw(st.sampled_from(["0", "1", "3", "007", "12", "1.50", "0.0", "2.25", "100.0"]))
    return (["-"] if draw(st.integers(0, 3)) == 0 else []) + [n]


@st.composite
def _name(draw) -> str:
    return draw(st.sampled_from(_NAMES))


@st.composite
def _value(draw) -> list[str]:
    k = draw(st.integers(0, 4))
    if k == 0:
        return [draw(_name())]
    if k == 1:
        return [draw(_str_tok())]
    if k == 2:
        return [draw(st.sampled_from(["true", "false"]))]
    return draw(_num_tok())


def _commas(parts: list[list[str]], trailing: bool = False) -> list[str]:
    out: list[str] = []
    for i, p in enumerate(parts):
        if i:
            out.append(",")
        out += p
    if trailing and parts:
        out.append(",")
    return out


@st.composite
def _set_lit(draw) -> list[str]:
    vals = draw(st.lists(_value(), max_size=3))
    return ["{"] + _commas(vals, draw(st.booleans())) + ["}"]


# expressions as (tokens, strength); strengths: or 1, and 2, not 3, predicate 4, sum 5, product 6, neg 7, atom 8
def _wrap(e: tuple[list[str], int], need: int, extra: bool) -> list[str]:
    toks, strength = e
    return ["("] + toks + [")"] if strength < need or extra else toks


@st.composite
def _expr(draw, depth: int = 3) -> tuple[list[str], int]:
    if depth <= 0 or draw(st.integers(0, 3)) == 0:
        k = draw(st.integers(0, 6))
        if k == 0:
            return [draw(st.sampled_from(["true", "false"]))], 8
        if k == 1:
            return [draw(_str_tok())], 8
        if k == 2:
            toks = draw(_num_tok())
            return toks, (7 if toks[0] == "-" else 8)
        if k == 3:
            return draw(_set_lit()), 8
        if k == 4:
            args = [_wrap(a, 1, draw(st.booleans())) for a in draw(st.lists(_expr(depth - 1), max_size=2))]
            return [draw(st.sampled_from(_FUNCS)), "("] + _commas(args) + [")"], 8
        return [draw(_name())], 8
    sub = _expr(depth - 1)
    extra = st.integers(0, 4).map(lambda n: n == 0)
    k = draw(st.integers(0, 8))
    if k == 0:
        op = draw(st.sampled_from(["or", "and"]))
        s = 1 if op == "or" else 2
        return _wrap(draw(sub), s, draw(extra)) + [op] + _wrap(draw(sub), s + 1, draw(extra)), s
    if k == 1:
        return ["not"] + _wrap(draw(sub), 3, draw(extra)), 3
    if k == 2:
        op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "contains"]))
        return _wrap(draw(sub), 5, draw(extra)) + [op] + _wrap(draw(sub), 5, draw(extra)), 4
    if k == 3:
        left = _wrap(draw(sub), 5, draw(extra))
        op = draw(st.sampled_from([["not", "in"], ["any", "of"], ["all", "of"], ["none", "of"]]))
        return left + op + _wrap(draw(sub), 5, draw(extra)), 4
    if k == 4:
        test = draw(st.sampled_from([["is", "empty"], ["is", "not", "empty"], ["is", "present"], ["is", "missing"]]))
        return _wrap(draw(sub), 5, draw(extra)) + test, 4
    if k == 5:
        pattern = "".join(draw(st.lists(st.sampled_from(list("ab.*#\" ") + ["\\/", "\\d", "\\b", "(x|y)"]),
                                        min_size=1, max_size=6)))
        flags = draw(st.sampled_from(["", "i", "m", "s", "ims"]))
        return _wrap(draw(sub), 5, draw(extra)) + ["matches", f"/{pattern}/{flags}"], 4
    if k == 6:
        op = draw(st.sampled_from(["+", "-"]))
        return _wrap(draw(sub), 5, draw(extra)) + [op] + _wrap(draw(sub), 6, draw(extra)), 5
    if k == 7:
        op = draw(st.sampled_from(["*", "/"]))
        return _wrap(draw(sub), 6, draw(extra)) + [op] + _wrap(draw(sub), 7, draw(extra)), 6
    return ["-"] + _wrap(draw(sub), 7, draw(extra)), 7


@st.composite
def _e(draw, depth: int = 3) -> list[str]:
    toks, _ = draw(_expr(depth))
    return toks


@st.composite
def _doc(draw) -> list[str]:
    text = "".join(draw(st.lists(st.sampled_from(list("ab \n\t\"'\\#{}") + ["  ", "\n    "]), max_size=20)))
    while '"""' in text:
        text = text.replace('"""', '""')
    if text.endswith('"'):
        text += "."
    return ['"""' + text + '"""']


@st.composite
def _docs(draw) -> list[str]:
    return [t for d in draw(st.lists(_doc(), max_size=2)) for t in d]


@st.composite
def _path(draw) -> list[str]:
    segs = []
    for _ in range(draw(st.integers(1, 3))):
        seg = draw(_name()) if draw(st.booleans()) else draw(_str_tok())
        segs.append([seg] + [t for i in draw(st.lists(st.integers(0, 12), max_size=2)) for t in ("[", str(i), "]")])
    out: list[str] = []
    for i, s in enumerate(segs):
        out += ([] if i == 0 else ["."]) + s
    return out


@st.composite
def _type(draw) -> list[str]:
    k = draw(st.integers(0, 6))
    rng = [t for t in draw(_num_tok())] + [".."] + [t for t in draw(_num_tok())]
    if k == 0:
        return [draw(st.sampled_from(["bool", "text", "int", "number"]))]
    if k in (1, 2):
        return [draw(st.sampled_from(["int", "number", "scale"]))] + rng
    enum_vals = st.one_of(_name().map(lambda n: [n]), _str_tok().map(lambda s: [s]),
                          st.sampled_from(['"true"', '"not"', '"a"', '"self-harm"', '"0"']).map(lambda s: [s]))
    vals = draw(st.lists(enum_vals, max_size=4))
    body = ["{"] + _commas(vals, draw(st.booleans())) + ["}"]
    if k == 3:
        return ["set"] + body
    return ["enum"] + (["ordered"] if draw(st.booleans()) else []) + body


@st.composite
def _field(draw) -> list[str]:
    kind = draw(st.sampled_from(["input", "label"]))
    toks = [kind, draw(_name()), ":"] + draw(_type())
    if draw(st.booleans()):
        toks += ["from"] + draw(_path())
    p = draw(st.integers(0, 2))
    if p == 1:
        toks += ["optional"]
    elif p == 2:
        toks += ["required", "when"] + draw(_e(2))
    toks += draw(_docs())
    if kind == "label":
        for _ in range(draw(st.integers(0, 2))):
            toks += ["level"] + draw(_value()) + [draw(_str_tok())] + draw(_docs())
    return toks


@st.composite
def _let(draw) -> list[str]:
    return ["let", draw(_name()), "="] + draw(_e()) + draw(_docs())


@st.composite
def _decide(draw) -> list[str]:
    toks = ["decide", draw(_name())] + (["first"] if draw(st.booleans()) else []) + ["{"] + draw(_docs())
    for _ in range(draw(st.integers(0, 3))):
        vals = _commas(draw(st.lists(_value(), min_size=1, max_size=3)))
        if draw(st.booleans()):
            toks += ["edge", draw(_name())] + ([draw(_str_tok())] if draw(st.booleans()) else [])
        toks += ["when"] + draw(_e()) + ["->"] + vals + draw(_docs())
    if draw(st.booleans()):
        toks += ["otherwise", "->"] + _commas(draw(st.lists(_value(), min_size=1, max_size=2))) + draw(_docs())
    return toks + ["}"]


@st.composite
def _rule(draw) -> list[str]:
    toks = ["rule", draw(_name()), draw(_str_tok())]
    if draw(st.booleans()):
        toks += ["severity", draw(st.sampled_from(["error", "warning", "info", "level"]))]
    toks += ["{"] + draw(_docs())
    if draw(st.booleans()):
        toks += ["when"] + draw(_e()) + draw(_docs())
    return toks + ["require"] + draw(_e()) + draw(_docs()) + ["}"] + draw(_docs())


@st.composite
def _escalate(draw) -> list[str]:
    return (["escalate", draw(_name()), draw(_name()), draw(_str_tok()), "{"] + draw(_docs()) + ["when"] + draw(_e())
            + draw(_docs()) + ["}"])


@st.composite
def _example(draw) -> list[str]:
    clauses = []
    if draw(st.booleans()):
        entries = [[draw(_name()), ":"] + (draw(_set_lit()) if draw(st.integers(0, 3)) == 0 else draw(_value()))
                   for _ in range(draw(st.integers(0, 6)))]
        clauses.append(["given", "{"] + _commas(entries, draw(st.booleans())) + ["}"])
    for _ in range(draw(st.integers(1, 2))):
        outs = draw(st.lists(st.one_of(st.just(["pass"]), st.tuples(
            st.sampled_from(["violation", "uncovered", "ambiguous", "invalid", "escalation"]), _name()).map(list)),
            min_size=1, max_size=3))
        clauses.append(["expect"] + _commas(outs))
    clauses = draw(st.permutations(clauses))
    toks = ["example", draw(_str_tok()), "{"] + draw(_docs())
    for c in clauses:
        toks += c + draw(_docs())
    return toks + ["}"]


@st.composite
def _criterion(draw) -> list[str]:
    items = draw(st.lists(st.one_of(_field(), _let(), _decide(), _rule(), _escalate()), max_size=4))
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), ["applies", "when"] + draw(_e()))
    toks = ["criterion", draw(_name())] + ([draw(_str_tok())] if draw(st.booleans()) else []) + ["{"] + draw(_docs())
    for it in items:
        toks += it
    return toks + ["}"]


@st.composite
def _record(draw) -> list[str]:
    toks = ["record", "{"]
    for _ in range(draw(st.integers(0, 3))):
        toks += [draw(st.sampled_from(["id", "item", "annotator", "x"])), "="] + draw(_path())
    if draw(st.booleans()):  # `show`: a list of paths
        toks += ["show", "="] + _commas([draw(_path()) for _ in range(draw(st.integers(1, 3)))])
    return toks + ["}"] + draw(_docs())


@st.composite
def _rubric_tokens(draw) -> list[str]:
    toks = ["rubric", draw(_str_tok()), "version", draw(_str_tok())] + draw(_docs())
    items = draw(st.lists(st.one_of(_field(), _let(), _record(), _criterion(), _decide(), _rule(), _escalate(),
                                    _example()), max_size=5))
    for it in items:
        toks += it
    return toks


_COMMENTS = ["# c{n}", "#{n}", "# rubric: ignore[dead] {n}", "#  spaced {n}  ", "# {{not code}} {n}",
             '# """not a doc""" {n}']


@st.composite
def rubric_texts(draw) -> str:
    """Random valid rubric text: random tokens of every construct, joined by random
    layout (spaces, newlines, blank lines, indentation, comments anywhere)."""
    toks = draw(_rubric_tokens())
    seps = st.sampled_from([" ", " ", " ", "  ", "\n", "\n\n", "\n    ", "\t", "c_trail", "c_own", "\n\n\n"])
    out = []
    n = 0
    for i, t in enumerate(toks):
        if i:
            s = draw(seps)
            if s.startswith("c_"):
                n += 1
                text = draw(st.sampled_from(_COMMENTS)).format(n=n)
                s = f"  {text}\n" if s == "c_trail" else f"\n{text}\n"
            out.append(s)
        out.append(t)
    if draw(st.booleans()):
        out.append(f"\n# the end {n + 1}")
    return "".join(out) + "\n"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rubric_texts())
def test_generated_rubrics_round_trip(text: str) -> None:
    note(text)
    assert _parses(text), "the generator made an invalid rubric"
    _assert_round_trip(text)
