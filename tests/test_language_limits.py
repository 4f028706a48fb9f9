"""The language layer at its limits: long chains and deep nesting without Python's
recursion limit, numbers at the edge of a double, lone surrogates, and the shared
escaping of text that no UTF-8 output can carry."""
from __future__ import annotations

import sys

import pytest

import rubricdsl
from rubricdsl.core.diagnostics import RubricError
from rubricdsl.core.safetext import utf8_data, visible
from rubricdsl.language import cache
from rubricdsl.language.fmt import format_text
from rubricdsl.language.limits import MAX_NESTING, nesting_recursion
from rubricdsl.language.load import compile_text
from rubricdsl.language.walk import operands

HEAD = 'rubric "r" version "1"\ninput a: bool\ninput n: int\ninput t: text\n'


def _codes(text: str) -> list[tuple[str, int, int]]:
    with pytest.raises(RubricError) as info:
        compile_text(text)
    return [(d.code, d.line, d.column) for d in info.value.diagnostics]


def test_a_long_chain_compiles_to_its_operands() -> None:
    ir = compile_text(HEAD + 'rule r "m" { require ' + " and ".join(["a"] * 5000) + " }\n")
    assert len(operands(ir.rules[0].require, "and")) == 5000


def test_an_arithmetic_chain_reports_the_operand_that_is_not_a_number() -> None:
    text = HEAD + 'rule r "m" { require n + ' + " + ".join(["n"] * 3000) + ' - t > 1 }\n'
    codes = _codes(text)
    assert codes == [("RB103", 5, text.split("\n")[4].index(" t >") + 2)]


def test_each_operand_of_a_failed_chain_reports_its_own_error() -> None:
    codes = _codes(HEAD + 'rule r "m" { require a and b and a and c }\n')
    assert [c for c, _, _ in codes] == ["RB101", "RB101"]


@pytest.mark.parametrize("opener, closer, width", [("(", ")", 1), ("not ", "", 4), ("-(", ")", 2)])
def test_nesting_up_to_the_limit_compiles_and_one_more_is_rb009(opener: str, closer: str, width: int) -> None:
    levels = len(opener.strip()) if opener != "not " else 1  # `-(` opens two levels
    count = MAX_NESTING // levels
    inner = "n > 0" if opener != "-(" else "1"
    def rule(k: int) -> str:
        e = opener * k + inner + closer * k
        return HEAD + f'rule r "m" {{ require {e if opener != "-(" else "n > " + e} }}\n'
    compile_text(rule(count))
    codes = _codes(rule(count + 1))
    assert [c for c, _, _ in codes] == ["RB009"]


def test_a_too_deep_declaration_is_skipped_and_lint_checks_the_rest() -> None:
    from rubricdsl.analysis.lint import lint_text  # noqa: PLC0415

    deep = "(" * (MAX_NESTING + 1) + "a" + ")" * (MAX_NESTING + 1)
    text = HEAD + f'rule deep "m" {{ require {deep} }}\nrule other "m" {{ require nope }}\n'
    assert [c for c, _, _ in _codes(text)] == ["RB009"]  # compiling stops at the syntax
    assert sorted(d.code for d in lint_text(text, "deep.rubric").diagnostics if d.severity == "error") == [
        "RB009", "RB101"]


def test_the_formatter_keeps_long_chains_and_deep_nesting() -> None:
    nested = "not (a and " * 499 + "a" + ")" * 499  # 998 levels, every parenthesis needed
    text = HEAD + 'rule r "m" {\n  require ' + " or ".join(["a"] * 4000) + " or " + nested + "\n}\n"
    out = format_text(text)
    assert format_text(out) == out
    assert out.count(" or ") == 4000 and out.count("(") == 499


def test_nesting_recursion_raises_and_restores_the_limit() -> None:
    before = sys.getrecursionlimit()
    with nesting_recursion():
        assert sys.getrecursionlimit() >= MAX_NESTING * 20
    assert sys.getrecursionlimit() == before


@pytest.mark.parametrize("literal", ["1" + "0" * 309, "9" * 5000, "1" + "0" * 400 + ".5",
                                     str(int(sys.float_info.max) + 1)])
def test_a_literal_beyond_a_double_is_rb010(literal: str) -> None:
    assert [c for c, _, _ in _codes(HEAD + f'rule r "m" {{ require n < {literal} }}\n')] == ["RB010"]


def test_the_largest_double_is_exact() -> None:
    top = int(sys.float_info.max)
    ir = compile_text(HEAD + f'rule r "m" {{ require n < {top} and n > -{top} }}\n')
    assert ir.rules[0].require.args[0].args[1].value == top


def test_a_huge_path_index_is_rb010() -> None:
    assert [c for c, _, _ in _codes(HEAD + f"input x: int from a[{'9' * 400}]\n")] == ["RB010"]


def test_a_lone_surrogate_in_the_text_is_an_error_at_its_position() -> None:
    codes = _codes(HEAD + 'rule r "m\ud800" { require t contains "\udfff" }\n')
    assert codes == [("RB002", 5, 10), ("RB002", 5, 35)]


def test_surrogates_are_printed_escaped() -> None:
    assert visible("a\ud800b") == "a\\ud800b"
    assert visible("\U0001f600") == "\U0001f600"
    data = {"k\udfff": ["x", "\ud83d", 1, {"n": None}]}
    assert utf8_data(data) == {"k\\udfff": ["x", "\\ud83d", 1, {"n": None}]}
    same = {"k": ["x"]}
    assert utf8_data(same) is same


def test_check_records_escapes_lone_surrogates_in_findings() -> None:
    r = rubricdsl.loads('rubric "r" version "1"\nrecord { id = id }\nlabel t: text from t\n'
                        'label e: enum {a, b} from e\nrule r "m" { require t contains "x" }\n')
    report = report = r.check_records([{"id": "i\ud800", "t": "y\ud800", "e": "z\udfff"},
                                       {"id": "j", "t": "x\ud800", "e": "a"}])
    dumped = report.model_dump_json()
    assert '"record":"i\\\\ud800"' in dumped
    assert {(f.kind, f.record) for f in report.findings} == {("invalid", "i\\ud800"), ("violation", "i\\ud800")}


def test_the_cache_encodes_a_long_chain() -> None:
    ir = compile_text(HEAD + 'rule r "m" { require ' + " and ".join(["a"] * 5000) + " }\n")
    data = cache.encode(ir)
    again = cache.decode(data, ir.sha256)
    assert len(operands(again.rules[0].require, "and")) == 5000
    assert cache.encode(again) == data
