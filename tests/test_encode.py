"""The z3 encoding (`analysis/encode.py`) against the reference interpreter
(`engine/evaluate.py`), operator by operator, on every small situation.

For each condition, every combination of values of the fields it reads (each field
over a few values, and missing where it may be) is one situation. The encoding's
variables are fixed to the situation's values (text tests, which the encoding keeps
as opaque atoms, to what they mean for the situation's text); then the situation must
satisfy the encoding's domain exactly when the interpreter finds no field invalid (a
field missing where its `required when` holds), and the encoded condition must be
true exactly when the interpreter's is. A field that is missing keeps its value
variables (and text atoms) free: each situation is solved twice, with those variables
fixed one way and the other, and both must agree — a test that reads a missing field
is false whatever the variables behind it hold (the missing-field rule).
"""
from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import pytest
import z3

from rubricdsl.analysis.encode import Encoder
from rubricdsl.core.regex import compile_regex
from rubricdsl.engine.evaluate import Env, cond
from rubricdsl.language import ir
from rubricdsl.language.load import compile_text
from rubricdsl.language.walk import walk

FIELDS = '''rubric "encode" version "1"
input src: enum {news, forum, chat} optional
input level: enum ordered {low, mid, high}
input n: int 0..2 optional
input m: int 0..2
input x: number 0..1
input flag: bool optional
input note: enum {yes, no} required when flag
input t: text optional
input u: text
label tags: set {a, b} optional
label other: set {a, b}
'''

# a value list per field; None (missing) is added for fields that may be missing
VALUES: dict[str, list[Any]] = {
    "src": ["news", "forum", "chat"],
    "level": ["low", "mid", "high"],
    "n": [0, 1, 2],
    "m": [0, 1, 2],
    "x": [0, 0.25, 1],
    "flag": [False, True],
    "note": ["yes"],
    "t": ["", "fire", "a fire here", "FIIRE!", "xx"],
    "u": ["fire", "xx"],
    "tags": [[], ["a"], ["b"], ["a", "b"]],
    "other": [[], ["a"], ["a", "b"]],
}

# one or more conditions per operator (and per mode of an operator)
CONDITIONS = {
    "and": "src == news and n > 0",
    "or": "src == chat or flag",
    "not": "not (n >= 1)",
    "truth": "flag",
    "truth of a let": "hot",
    "present": "n is present",
    "missing": "src is missing",
    "== num": "n == m",
    "!= num": "n != 1",
    "< num": "x < 0.5",
    "<= num": "n <= m",
    "> num": "m > x",
    ">= num": "x >= 0.25",
    "== enum": "src == forum",
    "!= enum": "src != news",
    "< rank": "level < mid",
    "<= rank": "level <= high",
    "> rank": "level > low",
    ">= rank": "level >= mid",
    "== bool": "flag == true",
    "!= bool": "flag != false",
    "== text": 't == "fire"',
    "!= text": 't != "xx"',
    "== text fields": "t == u",
    "== set": "tags == {a}",
    "!= set": "tags != other",
    "in const enum": "src in {news, chat}",
    "not in const num": "n not in {0, 2}",
    "in const text": 't in {"fire", "xx"}',
    "in const bool": "flag in {true}",
    "in field": "a in tags",
    "not in field": "b not in other",
    "any": "tags any of {a}",
    "all": "other all of {a, b}",
    "none": "tags none of {b}",
    "any of a set field": "tags any of other",
    "empty": "tags is empty",
    "not empty": "other is not empty",
    "count": "count(tags) + count(other) >= 3",
    "contains": 't contains "fire"',
    "contains a field": "t contains u",
    "matches": "t matches /fi+re/i",
    "len": "len(t) > 3",
    "words": "words(t) >= 2",
    "+": "n + m == 3",
    "-": "n - m < 0",
    "*": "x * m >= 1",
    "/": "m / n > 1",
    "/ by a number": "x / m <= 0.25",
    "neg": "-n > -2",
    "a let's value": "total >= 3",
    "required when": "note == yes",
}

LETS = '''let hot = src == news and flag
let total = n + m
'''


@pytest.fixture(scope="module")
def rubric() -> ir.RubricIR:
    rules = "".join(f'rule r{i} "{name}" {{ require {text} }}\n' for i, (name, text) in enumerate(CONDITIONS.items()))
    return compile_text(FIELDS + LETS + rules)


def test_the_conditions_cover_every_operator(rubric: ir.RubricIR) -> None:
    seen = {(e.op, e.mode) for r in rubric.rules for e in walk(r.require, lets=True) if isinstance(e, ir.Op)}
    ops = {op for op, _ in seen}
    assert ops >= {"and", "or", "not", "truth", "present", "missing", "==", "!=", "<", "<=", ">", ">=", "in",
                   "not in", "any", "all", "none", "empty", "not empty", "count", "contains", "matches", "len",
                   "words", "+", "-", "*", "/", "neg"}
    assert {m for op, m in seen if op in ("==", "!=", "<")} >= {"num", "rank", "eq", "seteq"}
    assert {m for op, m in seen if op in ("in", "not in")} == {"const", "field"}


def _situations(rubric: ir.RubricIR, names: set[str]):
    fields = [f for f in rubric.fields if f.name in names]
    choices = [VALUES[f.name] + ([None] if f.may_be_missing else []) for f in fields]
    for combo in itertools.product(*choices):
        yield dict(zip((f.name for f in fields), combo))


def _defaults(rubric: ir.RubricIR) -> dict[str, Any]:
    """A valid value for every field a situation does not set (flag false: note may be
    missing)."""
    out = {f.name: VALUES[f.name][0] for f in rubric.fields}
    out["flag"] = False
    return out


def _fix(enc: Encoder, values: dict[str, Any], way: bool) -> list[Any]:
    """Constraints that set every variable of the encoding to a situation's values. The
    variables of a missing field are set to its first (`way` False) or its last value,
    except those of a missing text, left free the second way."""
    out = []
    for name, fv in enc.vars.items():
        f = fv.f
        v = values[name]
        if f.may_be_missing:
            out.append(fv.present == (v is not None))
        if v is None:
            v = VALUES[name][-1 if way else 0]
            free = True
        else:
            free = False
        k = f.type.kind
        if k == "bool":
            out.append(fv.value == v)
        elif k in ("int", "scale"):
            out.append(fv.value == v)
        elif k == "number":
            out.append(fv.value == z3.RealVal(str(Fraction(str(v)))))
        elif k == "enum":
            out.append(fv.value == enc.index(f.type.enum, v))
        elif k == "set":
            out += [b == (member in v) for member, b in zip(f.type.enum.values, fv.value)]
        elif k == "text" and not (free and way):
            # a missing text: its length, word count and tests are those of a text (one
            # way) or left to the solver (the other)
            text = v
            out += [fv.length == len(text), fv.words == len(text.split())]
            for key, atom in fv.atoms.items():
                out.append(atom == _atom_truth(key, name, {**values, name: text}))
    return out


def _atom_truth(key: tuple, owner: str, values: dict[str, Any]) -> bool:
    text = values[owner]
    kind = key[0]
    if kind == "contains":
        return key[1] in text
    if kind == "eq":
        return text == key[1]
    if kind == "matches":
        return compile_regex(ir.Regex(key[1], "")).search(text) is not None
    if kind == "contains_field":
        other = values[key[1]]
        return other is not None and other in text
    assert kind == "eq_field"
    a, b = values[key[1]], values[key[2]]
    return a is not None and b is not None and a == b


def _record(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_the_encoding_agrees_with_the_interpreter(rubric: ir.RubricIR, name: str) -> None:
    rule = next(r for r in rubric.rules if r.message == name)
    enc = Encoder(rubric)
    term = enc.cond(rule.require)  # creates the text atoms the condition reads
    reads = set(rule.mentions) | {"flag", "note"}
    checked = true = 0
    for situation in _situations(rubric, reads):
        values = {**_defaults(rubric), **situation}
        env = Env(rubric, _record(values))
        want = None if env.invalid else cond(rule.require, env)
        for way in (False, True):
            s = z3.Solver()
            s.add(*enc.domain)
            s.add(*_fix(enc, values, way))
            res = s.check()
            if env.invalid:
                # a field missing where it is required: no situation of the encoding
                assert env.invalid == {"note"} and res == z3.unsat, (name, situation)
                continue
            assert res == z3.sat, (name, situation, way)
            got = z3.is_true(s.model().eval(term, model_completion=True))
            assert got == want, (name, situation, way)
        checked += 1
        true += bool(want)
    # the condition is neither always true nor always false on these situations
    assert 0 < true < checked, (name, true, checked)


def test_a_missing_required_field_is_outside_the_domain(rubric: ir.RubricIR) -> None:
    """`note` is required when `flag` holds: the domain has no situation with flag true
    and note missing, and every other presence of the two."""
    enc = Encoder(rubric)
    flag, note = enc.vars["flag"].present, enc.vars["note"].present
    got = {}
    for fp, fv, np_ in itertools.product((False, True), repeat=3):
        s = z3.Solver()
        s.add(*enc.domain, flag == fp, enc.vars["flag"].value == fv, note == np_)
        got[(fp, fv, np_)] = s.check() == z3.sat
    assert got == {k: not (k[0] and k[1] and not k[2]) for k in got}
