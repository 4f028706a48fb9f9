"""The analysis at scale: rubrics whose size once made `rubric lint` exponential,
quadratic or recursive (lets read twice per level, long let chains, long operand
chains, `first` tables of conditions that are not boxes, many fields and criteria),
the time budget (`--timeout`) and what it reports when it runs out, and agreement's
per-judgment majority against the pairwise computation it replaced.

No test here measures time: each checks what lint reports (complete, or RB209 where
the budget is deliberately too small); `bench/analysis_scale.py` shows the growth."""
from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from rubricdsl.analysis import agreement as ag
from rubricdsl.analysis.budget import Budget
from rubricdsl.analysis.checks import Analyzer
from rubricdsl.analysis.encode import Encoder
from rubricdsl.analysis.lint import lint_text
from rubricdsl.analysis.semantic import compare
from rubricdsl.cli import main
from rubricdsl.engine.items import majority
from rubricdsl.language import ir
from rubricdsl.language.load import compile_text

from helpers import cli_runner


def doubling_lets(levels: int) -> str:
    """`let l1 = l0 and l0`, `let l2 = l1 and l1`, ...: inlined, 2**levels copies of l0."""
    out = ['rubric "lets" version "1"', "input a: bool from data.a", "input t: text from data.t",
           "input n: int 0..10 from data.n", "label y: bool from labels.y",
           'let l0 = a and t contains "x" and n > 2']
    out += [f"let l{i} = l{i - 1} and l{i - 1}" for i in range(1, levels + 1)]
    out.append(f'rule r "r" {{ when l{levels} require y }}')
    out.append("decide y first {")
    out.append(f"  when l{levels} and n < 2 -> true")
    out.append(f"  when l{levels} -> false")
    out.append("  otherwise -> true, false")
    out.append("}")
    return "\n".join(out) + "\n"


def lint(tmp_path: Path, text: str, *args: str) -> tuple[int, dict]:
    path = tmp_path / "r.rubric"
    path.write_text(text, encoding="utf-8")
    res = cli_runner().invoke(main, ["lint", "--format", "json", *args, str(path)])
    assert "internal error" not in (res.stderr or "") and "Traceback" not in (res.stderr or ""), res.stderr
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res.exit_code, json.loads(res.stdout)


def codes(report: dict) -> Counter:
    return Counter(d["code"] for d in report["diagnostics"])


# ---- lets ---------------------------------------------------------------------------------------


def test_doubling_lets_are_encoded_once_each(tmp_path: Path) -> None:
    """24 levels would be 16 million copies of `l0` inlined; shared, lint decides everything:
    the first arm's `n < 2` contradicts `l0`'s `n > 2` (dead), nothing undecided."""
    rc, rep = lint(tmp_path, doubling_lets(24))
    got = codes(rep)
    assert got["RB209"] == 0, rep
    dead = [d for d in rep["diagnostics"] if d["code"] == "RB201"]
    assert [d["line"] for d in dead] == [33] and rc == 1


def test_one_z3_term_per_let() -> None:
    """The encoding of a let read twice per level is a DAG: as many distinct terms as the
    rubric has nodes, not 2**levels."""
    r = compile_text(doubling_lets(30), "lets.rubric")
    enc = Encoder(r)
    term = enc.cond(r.rules[0].when)
    seen: set[int] = set()
    stack = [term]
    while stack:
        t = stack.pop()
        if t.get_id() in seen:
            continue
        seen.add(t.get_id())
        stack.extend(t.children())
    assert len(seen) < 200
    assert enc.cond(r.rules[0].when).eq(term)  # memoized: the same term again


def test_doubling_lets_in_diff(tmp_path: Path) -> None:
    old = doubling_lets(22)
    new = old.replace("n > 2", "n > 3")
    (tmp_path / "old.rubric").write_text(old, encoding="utf-8")
    (tmp_path / "new.rubric").write_text(new, encoding="utf-8")
    res = cli_runner().invoke(main, ["diff", "--format", "json", str(tmp_path / "old.rubric"),
                                     str(tmp_path / "new.rubric")])
    assert res.exit_code == 0, res.stderr
    sem = {(c["what"], c["name"]): c for c in json.loads(res.stdout)["changes"] if c["kind"] == "semantic"}
    assert sem[("rule", "r")]["status"] == "narrower"  # n == 3 no longer applies
    assert sem[("rule", "r")]["witness"]["n"] == 3


def test_a_thousand_chained_lets(tmp_path: Path) -> None:
    out = ['rubric "chain" version "1"', "input a: bool from data.a", "input ok: bool from data.ok",
           "label y: bool from labels.y", "let l0 = a"]
    out += [f"let l{i} = l{i - 1} and ok" for i in range(1, 1001)]
    out.append('rule r "r" { when l1000 and not ok require y }')
    rc, rep = lint(tmp_path, "\n".join(out) + "\n")
    assert [(d["code"], d["line"]) for d in rep["diagnostics"]] == [("RB201", 1006)] and rc == 1


# ---- long chains, built in the IR (beyond what the parser is asked to read) -----------------------


def _chain(op: str, args: list) -> ir.Expr:
    e = args[0]
    for x in args[1:]:
        e = ir.Op(op, (e, x), ir.BOOL, x.span)
    return e


def test_three_thousand_operand_chains_meet_no_recursion_limit() -> None:
    r = compile_text('rubric "c" version "1"\ninput x: int 0..5000 from data.x\nlabel y: enum {a, b} from labels.y\n'
                     'rule r "r" { when x != 1 require y == a }\n'
                     "decide y first {\n  when x == 1 -> a\n  when x == 2 -> b\n}\n", "c.rubric")
    cmp = r.rules[0].when
    x_ref, span = cmp.args[0], cmp.span
    neq = [ir.Op("!=", (x_ref, ir.Const(i, ir.NUM, span)), ir.BOOL, span, mode="num") for i in range(3000)]
    eq = [ir.Op("==", (x_ref, ir.Const(i, ir.NUM, span)), ir.BOOL, span, mode="num") for i in range(3000)]
    big_and, big_or = _chain("and", neq), _chain("or", eq)
    nested = neq[0]
    for x in neq[1:3000]:  # `not (not ... (x != i and ...))`, 3000 levels deep
        nested = ir.Op("not", (ir.Op("not", (ir.Op("and", (nested, x), ir.BOOL, span),), ir.BOOL, span),),
                       ir.BOOL, span)
    enc = Encoder(r)
    s = z3.Solver()
    s.add(*enc.domain, enc.cond(big_and), enc.cond(nested))
    assert s.check() == z3.sat and s.model().eval(enc.vars["x"].value).as_long() >= 3000
    s2 = z3.Solver()
    s2.add(*enc.domain, enc.cond(big_and), enc.cond(big_or))
    assert s2.check() == z3.unsat  # x in 0..2999 and x not in 0..2999
    # the same chains as arms of a `first` table: the box engine reads the `or` chain flat
    from rubricdsl.analysis.boxes import BoxEngine

    engine = BoxEngine.build([f for f in r.fields if f.name == "x"])
    assert engine is None  # an int over 0..5000 is too wide for a box dimension
    d = r.decides[0]
    d.arms[0].cond, d.arms[1].cond = big_or, big_and
    r.rules[0].when = nested
    diags = Analyzer(r, "c.rubric").run()
    assert {x.code for x in diags} <= {"RB204", "RB202", "RB203"}, [x.message for x in diags]


# ---- many arms, fields and criteria ----------------------------------------------------------------


def mixed_first(n: int, seed: int = 1) -> str:
    rnd = random.Random(seed)
    out = ['rubric "mixed" version "1"', "input t: text from data.t", "input u: text from data.u",
           "input x: int from data.x", "input z: number from data.z", "label y: enum {a, b, c} from labels.y",
           "decide y first {"]
    for _ in range(n):
        k = rnd.randrange(4)
        if k == 0:
            c = f't contains "w{rnd.randrange(50)}" and x > {rnd.randrange(100)}'
        elif k == 1:
            c = f"x + {rnd.randrange(10)} * 2 < z and u matches /q{rnd.randrange(30)}/"
        elif k == 2:
            c = f"len(t) > {rnd.randrange(40)} or x == {rnd.randrange(100)}"
        else:
            c = f'z / 2 > x and not (t contains "v{rnd.randrange(40)}")'
        out.append(f"  when {c} -> {rnd.choice('abc')}")
    out.append("}")
    return "\n".join(out) + "\n"


def test_a_mixed_first_table_is_decided(tmp_path: Path) -> None:
    rc, rep = lint(tmp_path, mixed_first(120))
    got = codes(rep)
    # shadowing and the gap are decided; the gap's regions are too many to list them all,
    # and what is left unlisted is RB209 of the gap check
    left = [d for d in rep["diagnostics"] if d["code"] == "RB209"]
    assert all(d["check"] == "gap" and "beyond the 100 regions listed" in d["message"] for d in left), left
    assert got["RB206"] > 0 and got["RB204"] == 1 and rc == 1, got
    for d in rep["diagnostics"]:
        if d["code"] == "RB206":
            assert "never decides" in d["message"] and d["witness"] is not None


def test_a_tiny_budget_reports_what_is_undecided(tmp_path: Path) -> None:
    """`--timeout 0.001`: nothing can be decided; each declaration is named in an RB209
    (the first 20 one by one, the rest in one more), and lint exits as for a warning."""
    text = mixed_first(30) + "".join(
        f'rule r{i} "r" {{ when x > {i} require z > {i} or y == a }}\n' for i in range(40))
    rc, rep = lint(tmp_path, text, "--timeout", "0.001")
    diags = sorted(rep["diagnostics"], key=lambda d: d["line"])
    assert {d["code"] for d in diags} == {"RB209"} and rc == 1
    assert len(diags) == 21
    assert all("the time budget (0.001 s) ran out" in d["message"] for d in diags)
    assert "rule `r0`" in diags[0]["message"] and "whether its `when` can hold" in diags[0]["message"]
    assert diags[0]["check"] == "dead"
    last = diags[-1]
    assert "could not analyse 21 more declarations" in last["message"]
    assert "rule `r20`" in last["message"] and "and 11 more" in last["message"]
    # a decision alone: the checks it did not get to
    rc, rep = lint(tmp_path, mixed_first(30), "--timeout", "0.001")
    (decide,) = rep["diagnostics"]
    assert "`decide y`" in decide["message"] and "which arms can match" in decide["message"]
    assert "which arms are shadowed" in decide["message"] and "whether it has a gap" in decide["message"]
    assert decide["check"] == "dead" and rc == 1


def test_the_budget_runs_out_inside_a_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    """A budget that runs out after some questions: what was decided is reported, and the
    RB209 of the decision names the checks left."""
    r = compile_text(mixed_first(60), "m.rubric")
    asked = {"n": 0}
    budget = Budget(3600)

    def question_ms() -> int:
        asked["n"] += 1
        if asked["n"] > 70:  # the dead-arm pass (60 questions) is done, the shadowing pass not
            from rubricdsl.analysis.budget import OutOfTime

            raise OutOfTime
        return 60_000

    monkeypatch.setattr(budget, "question_ms", question_ms)
    diags = Analyzer(r, "m.rubric", budget).run()
    undecided = [d for d in diags if d.code == "RB209"]
    assert len(undecided) == 1
    assert "which arms are shadowed" in undecided[0].message and "whether it has a gap" in undecided[0].message
    assert "which arms can match" not in undecided[0].message
    assert undecided[0].check == "shadowed"


def test_the_default_budget_and_help(tmp_path: Path) -> None:
    res = cli_runner().invoke(main, ["lint", "--help"])
    assert "--timeout SECONDS" in res.stdout and "60.0" in res.stdout
    res = cli_runner().invoke(main, ["diff", "--help"])
    assert "--timeout SECONDS" in res.stdout
    path = tmp_path / "r.rubric"
    path.write_text(mixed_first(3), encoding="utf-8")
    res = cli_runner().invoke(main, ["lint", "--timeout", "0", str(path)])
    assert res.exit_code == 2 and "Traceback" not in (res.stderr or "")


def test_many_fields_rules_and_criteria(tmp_path: Path) -> None:
    n = 600
    out = ['rubric "many" version "1"'] + [f"input f{i}: int 0..9 from data.f{i}" for i in range(n)]
    out.append("label y: bool from labels.y")
    out += [f'rule r{i} "r" {{ when f{i} > 3 require f{i + 1} < 5 or y }}' for i in range(0, n - 1, 2)]
    out += [f'criterion c{i} "c" {{\n  applies when f{i} > {i % 9}\n  rule k{i} "k" {{ require y or f{i} < 9 }}\n}}'
            for i in range(0, n, 3)]
    out.append('rule bad "b" { when f7 > 9 require y }')  # f7 is at most 9: dead
    rc, rep = lint(tmp_path, "\n".join(out) + "\n")
    assert [(d["code"], d["message"]) for d in rep["diagnostics"]] == [
        ("RB201", "the `when` of rule `bad` can never hold")] and rc == 1


def test_witnesses_of_a_sliced_question_are_valid_records(tmp_path: Path) -> None:
    """A question reads a few fields; the others (outside its slice of the domain) get a
    valid default in the witness record, which `rubric check` accepts."""
    text = ('rubric "w" version "1"\ninput a: int 5..9 from data.a\ninput b: int -3..-1 from data.b\n'
            "input c: enum {p, q} from data.c optional\ninput d: text from data.d\n"
            "label y: bool from labels.y\n"
            'rule r "r" { when a > 6 require a > 5 }\n')
    rc, rep = lint(tmp_path, text)
    (d,) = [x for x in rep["diagnostics"] if x["code"] == "RB202"]  # and RB208: b, c and d are unread
    assert d["witness"]["a"] > 6
    rec = d["record"]
    assert 5 <= rec["data"]["a"] <= 9 and -3 <= rec["data"]["b"] <= -1 and isinstance(rec["data"]["d"], str)
    (tmp_path / "w.jsonl").write_text(json.dumps(rec | {"labels": {"y": True}}) + "\n", encoding="utf-8")
    res = cli_runner().invoke(main, ["check", "--format", "json", str(tmp_path / "r.rubric"),
                                     str(tmp_path / "w.jsonl")])
    assert json.loads(res.stdout)["findings"] == [] and res.exit_code == 0, res.stdout


# ---- text atoms --------------------------------------------------------------------------------


def test_two_fields_with_the_same_text_test_keep_their_own_atoms() -> None:
    r = compile_text('rubric "t" version "1"\ninput t: text from data.t\ninput v: text from data.v\n'
                     "input u: text from data.u\nlabel y: bool from labels.y\n"
                     'rule r "r" { when t contains u and not (v contains u) require y }\n'
                     'rule s "s" { when t contains "k" and v contains "k" require y }\n', "t.rubric")
    enc = Encoder(r)
    for rule in r.rules:
        enc.cond(rule.when)
    keys = set(enc.text_atoms)
    assert {("t", ("contains_field", "u")), ("v", ("contains_field", "u")),
            ("t", ("contains", "k")), ("v", ("contains", "k"))} <= keys
    assert len({a.get_id() for a in enc.text_atoms.values()}) == len(keys)


def test_a_witness_relying_on_a_field_test_says_it_is_not_exact() -> None:
    """`t contains u` is not synthesised: the witness carries the note, even though
    another field's test of the same kind (`v contains u`) is false in it."""
    text = ('rubric "t" version "1"\ninput t: text from data.t\ninput v: text from data.v\n'
            "input u: text from data.u\nlabel y: bool from labels.y\n"
            'rule r "r" { when t contains u and not (v contains u) require t contains u }\n')
    (d,) = lint_text(text, "t.rubric").diagnostics
    assert d.code == "RB202"
    assert any("could not be made to satisfy every text test" in n for n in d.notes)


def test_a_decisions_own_text_tests_bound_lengths() -> None:
    """`contains "abc"` implies a length of at least 3, also for a test first met in the
    decision being checked: arm 2 is shadowed by `len(t) > 2`."""
    text = ('rubric "t" version "1"\ninput t: text from data.t\nlabel y: enum {a, b, c} from labels.y\n'
            "decide y first {\n  when len(t) > 2 -> a\n  when t contains \"abc\" -> b\n  otherwise -> c\n}\n")
    diags = lint_text(text, "t.rubric").diagnostics
    assert [(d.code, d.line) for d in diags] == [("RB206", 6)]


# ---- diff -----------------------------------------------------------------------------------------


def test_diff_with_a_tiny_budget_says_undecided(tmp_path: Path) -> None:
    old = mixed_first(20)
    new = old.replace("-> a\n", "-> b\n", 1)
    (tmp_path / "old.rubric").write_text(old, encoding="utf-8")
    (tmp_path / "new.rubric").write_text(new, encoding="utf-8")
    res = cli_runner().invoke(main, ["diff", "--timeout", "0.001", "--format", "json",
                                     str(tmp_path / "old.rubric"), str(tmp_path / "new.rubric")])
    assert res.exit_code == 0 and "Traceback" not in (res.stderr or "")
    (sem,) = [c for c in json.loads(res.stdout)["changes"] if c["kind"] == "semantic"]
    assert sem["status"] == "undecided" and "RB209" in sem["reason"] and "0.001 s" in sem["reason"]
    res = cli_runner().invoke(main, ["diff", "--timeout", "0.001", "--fail-on-change", "semantic",
                                     str(tmp_path / "old.rubric"), str(tmp_path / "new.rubric")])
    assert res.exit_code == 1  # undecided is not "equivalent"


def test_diff_of_a_large_first_table() -> None:
    old = compile_text(mixed_first(300), "o.rubric")
    new_text = mixed_first(300).replace("-> c\n", "-> a\n", 1)
    new = compile_text(new_text, "n.rubric")
    (c,) = compare(old, new)
    assert c.status in ("narrower", "broader", "changed") and c.witness is not None
    (same,) = compare(old, compile_text(mixed_first(300), "o2.rubric"))
    assert same.status == "equivalent"


# ---- agreement ------------------------------------------------------------------------------------


def pairwise_majority_of_others(values: list) -> list:
    """The computation `majority_of_others` replaced: the others' majority, one by one."""
    return [majority(values[:i] + values[i + 1:]) for i in range(len(values))]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "d", 1, 2, True, (0, 1)]), min_size=0, max_size=40))
def test_majority_of_others_is_the_pairwise_one(values: list) -> None:
    assert ag.majority_of_others(values) == pairwise_majority_of_others(values)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["p", "q", "r", "s"]), st.sampled_from(["x", "y", "z"])),
                min_size=1, max_size=60))
def test_agreement_per_annotator_matches_the_pairwise_reference(judgments: list) -> None:
    """The per-annotator agreement with the majority, through the collector, against the
    reference computed pair by pair."""
    rubric = compile_text('rubric "g" version "1"\nrecord { item = item  annotator = who }\n'
                          "label v: enum {x, y, z} from v\n", "g.rubric")
    compiled = ag.compile_for_agreement(rubric)
    collector = ag.AgreementCollector(rubric, compiled.plan, {"v": "nominal"})  # type: ignore[arg-type]
    by_item: dict[int, list] = {}
    for item, who, v in judgments:
        by_item.setdefault(item, []).append((who, 0, 0, 0, (v,)))
    for rows in by_item.values():
        collector._item(rows)
    want: dict[str, tuple[int, int]] = {}
    for rows in by_item.values():
        vals = [r[4][0] for r in rows]
        if len(vals) < 2:
            continue
        for (who, *_), v, m in zip(rows, vals, pairwise_majority_of_others(vals)):
            if m is not None:
                compared, agreed = want.get(who, (0, 0))
                want[who] = (compared + 1, agreed + (m == v))
    got = {who: (st_.compared, st_.agreed) for who, st_ in collector.annotators.items() if st_.compared}
    assert got == want
