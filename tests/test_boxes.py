"""The box engine (`analysis/boxes.py`) against brute force.

Conditions are compiled from rubric text; every situation of the fields (each field
over all its values, and missing where it may be) is judged by the reference
interpreter (`engine/evaluate.py`). A condition's box must hold exactly the situations
where the condition holds, and on generated `first` tables `analyse_first` must find
exactly the dead arms, the shadowed arms with the arms that decide their situations,
and a gap when there is one.
"""
from __future__ import annotations

import itertools
import random
from typing import Any

import numpy as np
import pytest

from rubricdsl.analysis.boxes import BoxEngine, NotABox, analyse_first
from rubricdsl.engine.evaluate import Env, cond
from rubricdsl.language import ir
from rubricdsl.language.load import compile_text

FIELDS = '''rubric "boxes" version "1"
input src: enum {news, forum, chat} optional
input level: enum ordered {low, mid, high}
input n: int 0..2 optional
input flag: bool optional
label tags: set {a, b} optional
label keys: set {x, y}
label solo: set {z}
label outcome: enum {p, q, r}
'''
DIMENSIONS = ("src", "level", "n", "flag", "tags", "keys", "solo")


def _domain(f: ir.FieldIR) -> list[Any]:
    t = f.type
    if t.kind == "enum":
        vals: list[Any] = list(t.enum.values)
    elif t.kind == "bool":
        vals = [False, True]
    elif t.kind == "int":
        vals = list(range(int(t.lo), int(t.hi) + 1))
    else:
        members = t.enum.values
        vals = [list(c) for k in range(len(members) + 1) for c in itertools.combinations(members, k)]
    return vals + ([None] if f.may_be_missing else [])


def _situations(rubric: ir.RubricIR) -> list[dict[str, Any]]:
    fields = [f for f in rubric.fields if f.name in DIMENSIONS]
    return [dict(zip(DIMENSIONS, combo)) for combo in itertools.product(*(_domain(f) for f in fields))]


def _env(rubric: ir.RubricIR, situation: dict[str, Any]) -> Env:
    record = {k: v for k, v in situation.items() if v is not None}
    record["outcome"] = "p"
    return Env(rubric, record)


def _holds(engine: BoxEngine, box: np.ndarray, situation: dict[str, Any]) -> bool:
    """Whether the situation lies in the box. A missing set is in it when it is with
    every choice of member bits (a box never tells members of a missing set apart)."""
    answers = set()
    missing_members = sum(1 for (n, _) in engine.member_dim if situation[n] is None)
    for bits in itertools.product((False, True), repeat=missing_members):
        it = iter(bits)
        ok = True
        for i, d in enumerate(engine.dims):
            name = d.field.name
            v = situation[name]
            if d.role == "value":
                idx = d.values.index(v)
            elif d.role == "presence":
                idx = 0 if v is None else 1
            else:
                idx = int(next(it)) if v is None else int(d.member in v)
            if not (int(box[i]) >> idx) & 1:
                ok = False
        answers.add(ok)
    assert len(answers) == 1, situation
    return answers.pop()


@pytest.fixture(scope="module")
def base() -> tuple[ir.RubricIR, BoxEngine, list[dict[str, Any]], list[Env]]:
    """The fields' box engine, every situation, and each situation's values as the
    interpreter reads them (the same for every rubric over these fields)."""
    rubric = compile_text(FIELDS)
    engine = BoxEngine.build([f for f in rubric.fields if f.name in DIMENSIONS])
    assert engine is not None
    situations = _situations(rubric)
    return rubric, engine, situations, [_env(rubric, s) for s in situations]


def _compile(conditions: list[str], scope: str | None = None) -> ir.RubricIR:
    body = "".join(f"  when {c} -> {'pqr'[i % 3]}\n" for i, c in enumerate(conditions))
    decide = f"decide outcome first {{\n{body}}}\n"
    if scope is not None:
        decide = f'criterion scoped "Scoped" {{\n  applies when {scope}\n{decide}}}\n'
    return compile_text(FIELDS + decide)


# ---- the operator table ----------------------------------------------------------------------

BOXES = {
    "and": "src == news and n >= 2 and flag",
    "and of one dimension": "n >= 1 and n <= 2",
    "or of one dimension": "src == news or src == chat",
    "not": "not (level == mid)",
    "not of nothing": "not true",
    "truth": "flag",
    "present (value)": "n is present",
    "missing (value)": "src is missing",
    "present (set)": "tags is present",
    "missing (set)": "tags is missing",
    "present (a required set)": "keys is present",
    "missing (a required set)": "keys is missing",
    "== enum": "src == forum",
    "!= enum": "src != forum",
    "< rank": "level < high",
    "<= rank": "level <= mid",
    "> rank": "high > level",
    ">= rank": "level >= mid",
    "== int": "n == 2",
    "< int, mirrored": "1 < n",
    "== bool": "flag == false",
    "in const": "src in {news, chat}",
    "not in const": "n not in {0, 3}",
    "in field": "a in tags",
    "not in field": "x not in keys",
    "any (one member)": "tags any of {b}",
    "all": "tags all of {a, b}",
    "none": "keys none of {x, y}",
    "empty": "tags is empty",
    "not empty (one member)": "solo is not empty",
    "empty (one member)": "solo is empty",
    "const": "true",
    "false": "false",
}

NOT_BOXES = {
    "or across fields": "src == news or flag",
    "not of two dimensions": "not (src == news and flag)",
    "any of two members": "tags any of {a, b}",
    "not empty of two members": "keys is not empty",
    "arithmetic": "n + 1 > 2",
    "two fields": "level == level",
    "set equality": "tags == {a}",
    "count": "count(tags) > 1",
}


def test_the_table_names_every_operator_a_box_can_express() -> None:
    assert set(BoxEngine.OPS) == {"and", "or", "not", "truth", "present", "missing", "==", "!=", "<", "<=", ">",
                                  ">=", "in", "not in", "all", "none", "any", "empty", "not empty"}


@pytest.mark.parametrize("name", list(BOXES))
def test_a_box_holds_exactly_where_its_condition_does(base, name: str) -> None:
    _, engine, situations, envs = base
    rubric = _compile([BOXES[name]])
    c = rubric.decides[0].arms[0].cond
    box = engine.box(c)
    inside = 0
    for s, env in zip(situations, envs):
        want = cond(c, env)
        assert _holds(engine, box, s) == want, (name, s)
        inside += want
    if name in ("const", "present (a required set)"):
        assert inside == len(situations)
    elif name in ("false", "not of nothing", "missing (a required set)"):
        assert inside == 0
    else:
        assert 0 < inside < len(situations), name


@pytest.mark.parametrize("name", list(NOT_BOXES))
def test_what_is_not_a_box(base, name: str) -> None:
    engine = base[1]
    rubric = _compile([NOT_BOXES[name]])
    with pytest.raises(NotABox):
        engine.box(rubric.decides[0].arms[0].cond)


def test_fields_that_are_not_dimensions() -> None:
    rubric = compile_text('rubric "d" version "1"\ninput t: text\ninput k: int 0..100\ninput w: int\n'
                          'input f: bool required when t contains "x"\n')
    for f in rubric.fields:
        assert BoxEngine.build([f]) is None, f.name


# ---- first tables against brute force ------------------------------------------------------------


def _random_test(rng: random.Random) -> str:
    kind = rng.choice(["src", "level", "n", "flag", "tags", "keys", "presence"])
    if kind == "src":
        vals = rng.sample(["news", "forum", "chat"], rng.randint(1, 2))
        return f"src in {{{', '.join(vals)}}}" if len(vals) > 1 or rng.random() < 0.5 else f"src == {vals[0]}"
    if kind == "level":
        return f"level {rng.choice(['<', '<=', '>', '>=', '==', '!='])} {rng.choice(['low', 'mid', 'high'])}"
    if kind == "n":
        lo = rng.randint(0, 2)
        return rng.choice([f"n >= {lo}", f"n <= {lo}", f"n == {lo}", f"n not in {{{lo}}}",
                           f"n >= {min(lo, 1)} and n <= {min(lo + 1, 2)}"])
    if kind == "flag":
        return rng.choice(["flag", "not flag", "flag == false"])
    if kind == "tags":
        m = rng.choice("ab")
        return rng.choice([f"{m} in tags", f"{m} not in tags", f"tags any of {{{m}}}", "tags is empty",
                           "tags none of {a, b}", f"tags all of {{{m}}}", "solo is not empty"])
    if kind == "keys":
        return rng.choice(["x in keys", "y not in keys", "keys all of {x, y}", "keys is empty"])
    return rng.choice(["src is missing", "n is present", "flag is missing", "tags is present"])


def _table(rng: random.Random, arms: int) -> list[str]:
    out: list[str] = []
    for _ in range(arms):
        if out and rng.random() < 0.25:  # a narrowing of an earlier arm: often shadowed
            out.append(rng.choice(out) + " and " + _random_test(rng))
        else:
            out.append(" and ".join(_random_test(rng) for _ in range(rng.randint(1, 3))))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_first_tables_against_brute_force(base, seed: int) -> None:
    _, engine, situations, envs = base
    rng = random.Random(seed)
    scope = "level != low" if seed % 3 == 2 else None
    rubric = _compile(_table(rng, rng.randint(4, 14)), scope)
    d = rubric.decides[0]
    applies = rubric.criteria[0].applies if scope else None
    order = list(d.arms)
    res = analyse_first(engine, order, engine.box(applies))

    inside = [applies is None or cond(applies, e) for e in envs]
    match = [[inside[i] and cond(a.cond, envs[i]) for i in range(len(envs))] for a in order]
    first = [next((k for k in range(len(order)) if match[k][i]), None) for i in range(len(envs))]

    dead = [a for k, a in enumerate(order) if not any(match[k])]
    shadowed = {k: sorted({first[i] for i in range(len(envs)) if match[k][i]})
                for k in range(len(order)) if any(match[k]) and all(first[i] != k for i in range(len(envs)) if match[k][i])}
    assert [a.number for a in res.dead] == [a.number for a in dead]
    assert {order.index(a): [order.index(c) for c in cover] for a, cover, _ in res.shadowed} == shadowed
    for a, cover, values in res.shadowed:
        env = _env(rubric, values)
        assert cond(a.cond, env) and (applies is None or cond(applies, env))
        assert next(b for b in order if cond(b.cond, env)) is cover[0]
    gaps = [i for i in range(len(envs)) if inside[i] and first[i] is None]
    assert (res.gap is not None) == bool(gaps)
    if res.gap is not None:
        env = _env(rubric, res.gap)
        assert (applies is None or cond(applies, env)) and not any(cond(a.cond, env) for a in order)


def test_generated_tables_have_what_the_brute_force_is_for(base) -> None:
    """The seeds above give tables with dead, shadowed and covering arms, and gaps."""
    engine = base[1]
    dead = shadowed = union = gaps = 0
    for seed in range(12):
        rng = random.Random(seed)
        scope = "level != low" if seed % 3 == 2 else None
        rubric = _compile(_table(rng, rng.randint(4, 14)), scope)
        applies = rubric.criteria[0].applies if scope else None
        res = analyse_first(engine, list(rubric.decides[0].arms), engine.box(applies))
        dead += len(res.dead)
        shadowed += len(res.shadowed)
        union += sum(1 for _, cover, _ in res.shadowed if len(cover) > 1)
        gaps += res.gap is not None
    assert dead and shadowed and union and gaps and gaps < 12
