"""The IR walker (`language/walk.py`): the order it visits nodes in, reading through
lets, the operands of a chain, folding, and depth far beyond Python's recursion limit."""
from __future__ import annotations

import sys

import pytest

from rubricdsl.core.source import Span
from rubricdsl.language import ir
from rubricdsl.language.load import compile_text
from rubricdsl.language.walk import (
    Visitor, aggregates, children, conditions, fields_read, fold, names_read, operands, walk,
)

RUBRIC = '''rubric "walk" version "1"
record { id = id  item = item  annotator = who }
input src: enum {news, forum, chat}
input text: text
input score: int 0..10 optional
label safety: enum {safe, unsafe}
label tags: set {a, b}
let hot = src == news and score > 3
let hotter = hot or text contains "fire"
rule r1 "one" { when hotter and hot require safety == safe }
rule r2 "two" { require a in tags or text matches /x+/i }
rule agreeing "agree" per item { when share(safety == unsafe and hotter) > 0.5 require majority(safety) is present }
'''

SPAN = Span(0, 0, 1, 1, 1, 1)


def _rubric() -> ir.RubricIR:
    return compile_text(RUBRIC)


def _label(e) -> str:
    if isinstance(e, ir.Op):
        return e.op
    if isinstance(e, ir.FieldRef):
        return e.field.name
    if isinstance(e, ir.LetRef):
        return "let " + e.let.name
    if isinstance(e, ir.Agg):
        return e.text
    return repr(e.value)


def test_walk_is_preorder_left_to_right_and_stops_at_lets() -> None:
    r = _rubric()
    r1 = next(x for x in r.rules if x.name == "r1")
    assert [_label(e) for e in walk(r1.when)] == ["and", "truth", "let hotter", "truth", "let hot"]
    assert [_label(e) for e in walk(r1.require)] == ["==", "safety", "'safe'"]
    # several roots in order; None roots are skipped
    assert [_label(e) for e in walk(None, r1.require, None)] == ["==", "safety", "'safe'"]
    assert list(walk()) == [] and list(walk(None)) == []


def test_walk_through_lets_enters_each_let_once() -> None:
    r = _rubric()
    r1 = next(x for x in r.rules if x.name == "r1")
    got = [_label(e) for e in walk(r1.when, lets=True)]
    # hotter's expression reads hot again: hot's expression is entered the first time only
    assert got == ["and", "truth", "let hotter", "or", "truth", "let hot", "and", "==", "src", "'news'",
                   ">", "score", "3", "contains", "text", "'fire'", "truth", "let hot"]
    assert got.count("let hot") == 2 and got.count("src") == 1


def test_aggregates_are_entered_and_found() -> None:
    r = _rubric()
    rule = r.item_rules[0]
    assert [a.text for a in aggregates(rule.when, rule.require)] == [
        "share(safety == unsafe and hotter)", "majority(safety)"]
    assert fields_read(rule.when) == {"safety", "src", "score", "text"}
    assert names_read(rule.when) == {"safety", "src", "score", "text", "hot", "hotter"}
    assert fields_read(rule.require) == {"safety"}


def test_what_a_check_reads() -> None:
    r = _rubric()
    r1, r2 = r.rules
    assert fields_read(r1.when, r1.require) == {"src", "score", "text", "safety"}
    assert names_read(r1.when) == {"src", "score", "text", "hot", "hotter"}
    assert fields_read(r2.require) == {"tags", "text"} == r2.mentions
    assert fields_read(None) == frozenset()


def test_the_conditions_of_a_rubric() -> None:
    r = compile_text(RUBRIC.replace("input score: int 0..10 optional", "input score: int 0..10 required when flag")
                     .replace('rule r1 "one"', 'criterion c "C" {\n applies when src != chat\n decide safety {\n'
                              '  when tags is empty -> safe\n  otherwise -> unsafe\n }\n}\nrule r1 "one"')
                     + "input flag: bool\nescalate lead hot_one \"hot\" { when hot }\n")
    skip, *got = list(conditions(r))
    assert skip is r.record_skip is None  # no `skip when` line
    score, crit, decide = r.fields[2], r.criteria[0], r.decides[0]
    assert got[:len(r.fields)] == [f.required_when for f in r.fields] and score.required_when is not None
    rest = got[len(r.fields):]
    assert rest == [crit.applies, decide.arms[0].cond, None,
                    r.rules[0].when, r.rules[0].require, r.rules[1].when, r.rules[1].require,
                    r.item_rules[0].when, r.item_rules[0].require, r.escalations[0].when]
    assert not any(e is r.lets[0].expr for e in got)


def test_children_of_each_node() -> None:
    r = _rubric()
    r2 = r.rules[1]
    assert children(r2.require) == r2.require.args
    field, const = r2.require.args[0].args[::-1]
    assert children(field) == () and children(const) == ()
    let_ref = r.rules[0].when.args[0].args[0]
    assert isinstance(let_ref, ir.LetRef) and children(let_ref) == ()
    share = r.item_rules[0].when.args[0]
    assert isinstance(share, ir.Agg) and children(share) == (share.expr,)
    majority = r.item_rules[0].require.args[0]
    assert isinstance(majority, ir.Agg) and children(majority) == ()


class _Counter(Visitor):
    through_lets = True

    def __init__(self) -> None:
        self.seen: list[str] = []

    def visit_FieldRef(self, e) -> None:
        self.seen.append("field " + e.field.name)

    def visit_Op(self, e):
        if e.op == "contains":
            return False  # do not enter
        return None

    def generic_visit(self, e) -> None:
        self.seen.append(type(e).__name__)


def test_visitor_dispatches_by_node_and_can_skip_children() -> None:
    r = _rubric()
    v = _Counter()
    v.visit(r.rules[0].when)
    assert v.seen == ["LetRef", "LetRef", "field src", "Const", "field score", "Const", "LetRef"]


def test_operands_of_a_chain_in_order() -> None:
    r = _rubric()
    hotter = r.lets[1].expr  # hot or text contains "fire"
    assert [_label(x) for x in operands(hotter, "or")] == ["truth", "contains"]
    assert operands(hotter, "and") == [hotter]
    # a chain nested either way reads left to right
    leaves = [ir.Const(i, ir.NUM, SPAN) for i in range(6)]
    left = leaves[0]
    for x in leaves[1:]:
        left = ir.Op("and", (left, x), ir.BOOL, SPAN)
    right = leaves[-1]
    for x in reversed(leaves[:-1]):
        right = ir.Op("and", (x, right), ir.BOOL, SPAN)
    assert [c.value for c in operands(left, "and")] == list(range(6))
    assert [c.value for c in operands(right, "and")] == list(range(6))
    # an operand that is another operator stays whole
    mixed = ir.Op("and", (ir.Op("or", (leaves[0], leaves[1]), ir.BOOL, SPAN), leaves[2]), ir.BOOL, SPAN)
    assert [_label(x) for x in operands(mixed, "and")] == ["or", "2"]


def test_fold_computes_from_the_leaves_up() -> None:
    r = _rubric()

    def text(e, kids: list[str]) -> str:
        return f"{e.op}({', '.join(kids)})" if isinstance(e, ir.Op) else _label(e)

    assert fold(r.lets[0].expr, text) == "and(==(src, 'news'), >(score, 3))"
    assert fold(r.rules[1].require.args[0], text) == "in('a', tags)"
    leaf = ir.Const(1, ir.NUM, SPAN)
    assert fold(leaf, lambda e, kids: (e.value, kids)) == (1, [])


def _deep_chain(n: int) -> ir.Op:
    """`x0 and x1 and ... and xn`, nested to the left as the parser builds it."""
    e: ir.Expr = ir.Const(True, ir.BOOL, SPAN)
    for _ in range(n):
        e = ir.Op("and", (e, ir.Const(True, ir.BOOL, SPAN)), ir.BOOL, SPAN)
    return e


def _deep_nesting(n: int) -> ir.Op:
    """`not not not ... x`, n levels deep."""
    e: ir.Expr = ir.Const(True, ir.BOOL, SPAN)
    for _ in range(n):
        e = ir.Op("not", (e,), ir.BOOL, SPAN)
    return e


@pytest.mark.parametrize("build", [_deep_chain, _deep_nesting])
def test_depth_beyond_the_recursion_limit(build) -> None:
    n = sys.getrecursionlimit() * 5
    e = build(n)
    assert sum(1 for _ in walk(e)) == (2 * n + 1 if build is _deep_chain else n + 1)
    assert len(operands(e, "and")) == (n + 1 if build is _deep_chain else 1)
    assert fold(e, lambda x, kids: 1 + sum(kids)) == sum(1 for _ in walk(e))
    v = _Counter()
    v.visit(e)
    assert v.seen.count("Const") == (n + 1 if build is _deep_chain else 1)
    assert fields_read(e) == frozenset()


def test_a_let_chain_deeper_than_the_recursion_limit() -> None:
    n = sys.getrecursionlimit() * 3
    f = ir.FieldIR(0, "x", "input", ir.FieldType("bool"), ("x",), False, None, None, SPAN)
    e: ir.Expr = ir.FieldRef(f, ir.BOOL, SPAN, frozenset({"x"}))
    for i in range(n):
        let = ir.LetIR(f"l{i}", e, None, SPAN)
        e = ir.LetRef(let, ir.BOOL, SPAN, frozenset({"x"}))
    assert fields_read(e) == {"x"}
    assert len(names_read(e)) == n + 1
