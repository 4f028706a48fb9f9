"""The code generator on its own: lets computed once per record (and no blow-up of
chained lets), the generated module's names, comments and constants, its line map,
`linecache` and tracebacks that name the rubric line, and deterministic output."""
from __future__ import annotations

import ast
import gc
import io
import linecache
import os
import re
import subprocess
import sys
import tokenize
import traceback
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rubricdsl
from rubricdsl.engine import codegen
from rubricdsl.engine.codegen import compile_rubric
from rubricdsl.engine.evaluate import evaluate
from rubricdsl.engine.findings import Code

ROOT = Path(__file__).resolve().parents[1]

# Lets read in several places: by other lets, in `required when`, `applies when`, the
# arms of both kinds of decide, rules (`when` and `require`), escalations and
# `share(...)`; lets of every type; a let read once; a let that names another.
LETS = r'''rubric "lets" version "1"
record { id = id  item = item  annotator = who }
input t: text from t
input n: number from n optional
label a: int 0..9 from a
label b: int 0..9 from b optional
label tags: set {x, y, z} from tags
label tone: enum ordered {low, mid, high} from tone
label flag: bool from flag optional

let gap = a - b
let ratio = n / gap
let loud = t matches /[A-Z]{2,}/
let quiet = not loud
let also_loud = loud
let many = count(tags) >= 2 or gap < 0
let wordy = words(t) > 3
let once = len(t) > 10
label why: text from why required when loud and gap > 2

criterion c "C" {
  applies when many or quiet
  decide tone {
    edge shout "Shouting" when loud and wordy -> high
    when gap > 1 -> mid, high
    when ratio > 1 and also_loud -> low
    otherwise -> low, mid
  }
  rule r1 "gap needs a flag" { when gap > 3 require flag or wordy }
}

decide flag first {
  when many and loud -> true
  when ratio >= 2 -> false
  when wordy -> true, false
}

rule r2 "loud needs tags" { when also_loud require many or once }
escalate lead e1 "ratio" { when ratio > 4 and not quiet }
consensus tone { min agreement 0.6 }
escalate lead e2 "often loud" per item { when share(loud and wordy) > 0.5 }
'''


def _record() -> st.SearchStrategy[dict]:
    value = {
        "t": st.sampled_from(["", "ok", "SHOUT now", "a b c d e", "NO WAY THIS IS IT", 3]),
        "n": st.sampled_from([0, 1, 2.5, 10, -4, "x"]),
        "a": st.sampled_from([0, 1, 4, 9, 12, "1"]),
        "b": st.sampled_from([0, 1, 2, 9, -1]),
        "tags": st.sampled_from([[], ["x"], ["x", "y"], ["z", "y", "x"], ["x", "x"], "x"]),
        "tone": st.sampled_from(["low", "mid", "high", "loud"]),
        "flag": st.sampled_from([True, False, 1]),
        "why": st.sampled_from(["because", 7]),
    }

    @st.composite
    def build(draw) -> dict:
        rec: dict = {"id": "r", "item": draw(st.sampled_from(["i1", "i2"])), "who": draw(st.sampled_from(["p", "q"]))}
        for k, s in value.items():
            if draw(st.integers(0, 4)):
                rec[k] = draw(s)
        return rec

    return build()


def test_lets_read_in_many_places_agree_with_the_reference() -> None:
    rubric = rubricdsl.loads(LETS, "lets.rubric")
    compiled = compile_rubric(rubric.ir, all_decides=True)
    assert "let_gap" in compiled.source and "let_loud" in compiled.source  # computed once, into locals

    @settings(max_examples=400, deadline=None, derandomize=True)
    @given(_record())
    def agree(rec: dict) -> None:
        want = evaluate(rubric.ir, rec)
        assert (compiled.check(rec) or []) == want, rec
        assert (compiled.check_count(rec) or []) == want, rec
        found, _ = compiled.check_row(rec)
        assert (found or []) == want, rec

    agree()


def test_each_let_is_written_once() -> None:
    """A let read in several places is one function in the module, called once per
    record where a check first needs it; a let read once is written where it is read."""
    compiled = rubricdsl.loads(LETS, "lets.rubric").compiled
    src = compiled.source
    assert src.count("def LET_gap(f_a, f_b):") == 1
    assert src.count("_sub(f_a, f_b)") == 1  # `gap` is a - b: written once, in LET_gap
    assert src.count("RX_1(f_t)") == 1  # `loud`
    assert "def LET_ratio(f_n, let_gap):" in src  # a let that reads another takes its value
    # `once` is read in one place: no function, no local; its code where it is read
    check = src.split("def check(rec):")[1].split("\ndef ")[0]
    assert "LET_once" not in src and "let_once" not in src
    assert check.count("len(f_t) > 10") == 2  # in each branch: records with and without invalid fields


def test_chained_lets_stay_linear() -> None:
    """`let l1 = l0 and l0`, `let l2 = l1 and l1`, ...: written in place, level 30 would
    be 2**30 copies of `l0`; computed once each, the source grows by a line a level."""
    levels = 30
    lets = "\n".join(f"let l{k} = l{k - 1} and l{k - 1}" for k in range(1, levels + 1))
    text = (f'rubric "chain" version "1"\nlabel x: int 0..9\nlet l0 = x > 4\n{lets}\n'
            f'rule deep "Deep" {{ require not l{levels} }}\n')
    rubric = rubricdsl.loads(text, "chain.rubric")
    compiled = rubric.compiled
    assert len(compiled.source) < 20_000
    assert compiled.check({"x": 2}) is None
    assert compiled.check({"x": 7}) == [(Code.RULE_VIOLATION, 0)]


def test_a_let_named_by_another_is_computed_once() -> None:
    text = '''rubric "alias" version "1"
label x: int 0..9
let big = x * x > 20
let huge = big
rule a "A" { when huge require x != 5 }
rule b "B" { when huge require x != 6 }
'''
    compiled = rubricdsl.loads(text, "alias.rubric").compiled
    assert compiled.source.count("(f_x * f_x)") == 1
    assert "def LET_big(f_x):" in compiled.source and "LET_huge" not in compiled.source
    assert compiled.check({"x": 5}) == [(Code.RULE_VIOLATION, 0)]
    assert compiled.check({"x": 6}) == [(Code.RULE_VIOLATION, 1)]
    assert compiled.check({"x": 4}) is None


# ---- the module as text ------------------------------------------------------------------------


def test_every_check_has_a_comment_with_its_file_line_kind_and_name() -> None:
    path = ROOT / "rubrics" / "response-safety" / "response-safety.rubric"
    rubric = rubricdsl.load(path)
    src = rubric.compiled.source
    lines = path.read_text(encoding="utf-8").splitlines()
    for r in rubric.ir.rules:
        comment = f"# {path}:{r.span.line} rule {r.name}"
        assert comment in src
        assert f"rule {r.name}" in lines[r.span.line - 1]
    for d in rubric.ir.decides:
        assert f"# {path}:{d.span.line} decide {d.label.name}" in src
        assert f"decide {d.label.name}" in lines[d.span.line - 1]
    for e in rubric.ir.escalations:
        assert f"# {path}:{e.span.line} escalate {e.target} {e.name}" in src
    for r in rubric.ir.item_rules + rubric.ir.item_escalations:
        assert f":{r.span.line} " in src and f" {r.name} per item" in src


def test_names_say_what_they_hold() -> None:
    rubric = rubricdsl.load(ROOT / "rubrics" / "response-safety" / "response-safety.rubric")
    src = rubric.compiled.source
    for f in rubric.ir.fields:
        assert re.search(rf"\bf_{f.name} = ", src), f.name
    assert "RANKS_severity" in src and "VALUES_topic" in src and "ALLOWED_safety" in src
    assert "applies_satire" in src
    # no anonymous K1, E2, R3 names, no `if True:`
    assert not re.search(r"\b[KERASX]\d+\b", src)
    assert "if True:" not in src


def test_each_constant_is_bound_once() -> None:
    """The same regex, set or table is one constant, whichever branch or function uses it."""
    rubric = rubricdsl.load(ROOT / "rubrics" / "response-safety" / "response-safety.rubric")
    compiled = compile_rubric(rubric.ir, all_decides=True)
    ns = compiled.check.__globals__
    regexes = {(e.regex.pattern, e.regex.flags) for e in _ops(rubric.ir) if e.op == "matches"}
    assert len([n for n in ns if n.startswith("RX_")]) == len(regexes)
    sets = [v for n, v in ns.items() if n.startswith(("SET_", "VALUES_"))]
    assert len(sets) == len({frozenset(s) for s in sets})
    header = compiled.source.split("\ndef ")[0]
    for name in ns:
        if name.startswith(("RX_", "SET_", "VALUES_", "RANKS_", "ALLOWED_", "BY_BIT_", "COUNTS_", "AGG_")):
            assert re.search(rf"^#   {name} ", header, re.M), name


def _ops(rubric) -> list:
    out = []

    def walk(e: Any) -> None:
        if e is None:
            return
        if hasattr(e, "op"):
            out.append(e)
            for a in e.args:
                walk(a)
        elif hasattr(e, "let"):
            walk(e.let.expr)
        elif getattr(e, "expr", None) is not None:
            walk(e.expr)

    for let in rubric.lets:
        walk(let.expr)
    for f in rubric.fields:
        walk(f.required_when)
    for c in rubric.criteria:
        walk(c.applies)
    for d in rubric.decides:
        for a in d.arms:
            walk(a.cond)
    for r in rubric.rules + rubric.item_rules:
        walk(r.when)
        walk(r.require)
    for x in rubric.escalations + rubric.item_escalations:
        walk(x.when)
    return out


def test_the_source_is_the_same_from_one_process_to_the_next(tmp_path: Path) -> None:
    """Set iteration order changes with the hash seed; the generated source must not."""
    path = ROOT / "rubrics" / "response-safety" / "response-safety.rubric"
    program = ("import sys, rubricdsl; from rubricdsl.engine.codegen import compile_rubric; "
               "r = rubricdsl.load(sys.argv[1]); sys.stdout.write(compile_rubric(r.ir, all_decides=True).source)")
    outs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", program, str(path)], capture_output=True, text=True, env=env,
                              check=True)
        outs.add(proc.stdout)
    assert len(outs) == 1


def test_the_line_map_points_at_the_rubric_lines_of_checks() -> None:
    path = ROOT / "rubrics" / "medical-labeling" / "medical-labeling.rubric"
    rubric = rubricdsl.load(path)
    compiled = rubric.compiled
    src_lines = compiled.source.splitlines()
    rubric_lines = path.read_text(encoding="utf-8").splitlines()
    rule = rubric.ir.rules[0]
    where = f"{path}:{rule.span.line} rule {rule.name}"
    generated = [n for n, w in compiled.line_map.items() if w == where]
    assert generated, where
    for n in generated:
        assert src_lines[n - 1].lstrip().startswith(("#", "if"))
    assert any(f"(RULE_VIOLATION, {rule.index})" in src_lines[n - 1] for n in generated)
    # every place in the map names a line of the rubric that holds what it says
    for w in set(compiled.line_map.values()):
        m = re.fullmatch(rf"{re.escape(str(path))}:(\d+) (\w+) (\w+).*", w)
        assert m, w
        line, kind, name = int(m[1]), m[2], m[3]
        text = rubric_lines[line - 1]
        assert name in text or kind in ("share", "aggregate", "decide"), (w, text)


# ---- tracebacks ----------------------------------------------------------------------------------


def _boom(*args: Any) -> Any:
    raise ZeroDivisionError("boom inside a helper")


def test_a_traceback_through_generated_code_names_the_rubric_line(monkeypatch: pytest.MonkeyPatch) -> None:
    text = '''rubric "tb" version "1"
label t: text
label n: int 0..9

rule short "Short" { require n < 5 }
rule wordy "Wordy" {
  require words(t) < 3
}
'''
    rubric = rubricdsl.loads(text, "tb.rubric")
    compiled = rubric.compiled
    # the helper `words(t)` compiles to, in the generated module's namespace
    monkeypatch.setitem(compiled.check.__globals__, "_wordsx", _boom)
    with pytest.raises(ZeroDivisionError) as info:
        rubric.check_records([{"t": "a b", "n": 1}])
    shown = "".join(traceback.format_exception(info.value))
    assert "tb.rubric:6 rule wordy" in shown  # the note: the rubric's file, line and check
    assert compiled.filename in shown  # the generated module's frame ...
    assert "_wordsx(f_t) < 3" in shown  # ... with its line of source, from linecache
    # the same from one record and from lines of JSON
    with pytest.raises(ZeroDivisionError) as info:
        rubric.check({"t": "a b", "n": 1})
    assert "tb.rubric:6 rule wordy" in "".join(traceback.format_exception(info.value))
    from rubricdsl.engine.decode import fast_path
    from rubricdsl.engine.runtime import RecordChecker

    # lines of JSON are read by the typed decoder, whose checker is a module of its own
    typed = fast_path(compiled)
    if typed is not None:
        monkeypatch.setitem(typed.check.__globals__, "_wordsx", _boom)
    with pytest.raises(ZeroDivisionError) as info:
        RecordChecker(compiled, lambda f: None).lines([b'{"t": "a b", "n": 1}'], "data.jsonl", 0)
    assert "tb.rubric:6 rule wordy" in "".join(traceback.format_exception(info.value))
    assert codegen.locate(info.value) is not None


def test_an_item_check_traceback_names_its_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    text = '''rubric "items" version "1"
record { item = item }
label v: enum {a, b} from v

rule split "Split" per item { require distinct(v) < 2 }
'''
    rubric = rubricdsl.loads(text, "items.rubric")

    def broken(self, e):
        raise RuntimeError("no aggregate")

    from rubricdsl.engine import items

    monkeypatch.setattr(items.ItemView, "agg", broken)
    with pytest.raises(RuntimeError) as info:
        rubric.check_records([{"item": 1, "v": "a"}])
    assert "items.rubric:5 aggregate distinct(v)" in "".join(traceback.format_exception(info.value))


def test_the_source_leaves_linecache_with_the_checker() -> None:
    rubric = rubricdsl.loads('rubric "gone" version "1"\nlabel x: bool\nrule r "R" { require x }\n', "gone.rubric")
    compiled = compile_rubric(rubric.ir)
    name = compiled.filename
    assert linecache.getline(name, 1).startswith("# Generated by rubricdsl")
    del compiled
    gc.collect()
    assert name not in linecache.cache


def test_two_different_sources_do_not_share_a_file_name() -> None:
    a = rubricdsl.loads('rubric "same" version "1"\nlabel x: bool\nrule r "R" { require x }\n', "same.rubric")
    b = rubricdsl.loads('rubric "same" version "1"\nlabel x: bool\nrule r "R" { require not x }\n', "same.rubric")
    ca, cb = a.compiled, b.compiled
    assert ca.filename != cb.filename
    assert "".join(linecache.getlines(ca.filename)) == ca.source
    assert "".join(linecache.getlines(cb.filename)) == cb.source


# ---- rubric compile --emit python --------------------------------------------------------------


def _compile_cli(*args: str):
    from helpers import cli_runner

    from rubricdsl.cli import main

    return cli_runner().invoke(main, ["compile", *args])


def test_rubric_compile_prints_the_checker_module(tmp_path: Path) -> None:
    path = tmp_path / "lets.rubric"
    path.write_text(LETS, encoding="utf-8")
    result = _compile_cli(str(path), "--emit", "python")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    compiled = rubricdsl.load(path).compiled
    assert result.stdout == compiled.source
    assert "def check(rec):" in result.stdout and "def check_row(rec):" in result.stdout
    assert "def item_check(view):" in result.stdout
    compile(result.stdout, "printed", "exec")  # it is Python
    assert _compile_cli(str(path)).stdout == result.stdout  # python is the default


def test_rubric_compile_of_a_bad_rubric_is_its_diagnostics(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rubric"
    bad.write_text('rubric "bad" version "1"\nlabel x: bool\nrule r "R" { require y }\n', encoding="utf-8")
    result = _compile_cli(str(bad), "--no-color")
    assert result.exit_code == 2 and result.stdout == ""
    assert "bad.rubric:3" in result.stderr and "RB" in result.stderr
    missing = _compile_cli(str(tmp_path / "nothere.rubric"))
    assert missing.exit_code == 2 and missing.stdout == "" and "no such file" in missing.stderr
    other = _compile_cli(str(bad), "--emit", "c")
    assert other.exit_code == 2 and other.stdout == ""


# ---- no limit of Python's compiler is reached ----------------------------------------------------
#
# Long operand chains, deep nesting, thousands of arms, fields and criteria, long paths and
# large enums: each compiles (at the default recursion limit) and checks records as the
# reference interpreter does.


def _agree(rubric: Any, records: list[dict], expect_some: bool = True) -> None:
    compiled = rubric.compiled
    got = [compiled.check(rec) or [] for rec in records]
    assert got == [evaluate(rubric.ir, rec) for rec in records]
    if expect_some:
        assert any(got) and not all(got)  # the records tell right from wrong


BOOLS = [{"ok": True, "no": False}, {"ok": False, "no": False}, {"ok": True, "no": True}, {"ok": True},
         {"ok": "yes", "no": False}]


@pytest.mark.parametrize("op", ["and", "or"])
def test_a_long_and_or_chain_compiles_and_checks(op: str) -> None:
    """201 `and`s were `SyntaxError: too many nested parentheses`; the chain is computed
    into temporaries now, none of its lines nesting deeply."""
    other = "no" if op == "and" else "ok"
    operands = ["ok"] * 150 + [f"not {other}"] + ["ok"] * 150  # the parser reads ~400 at most today
    text = (f'rubric "chain" version "1"\nlabel ok: bool\nlabel no: bool optional\n'
            f'rule r "m" {{ require {f" {op} ".join(operands)} }}\n')
    rubric = rubricdsl.loads(text, "chain.rubric")
    _agree(rubric, BOOLS)
    assert max(line.count("(") for line in rubric.compiled.source.splitlines()) < 100


COSTLY = r'''rubric "costly" version "1"
input t: text from t
label flag: bool from flag
label tone: enum {calm, loud} from tone
rule shouted "Shouted text labeled loud needs the flag" {
  when t matches /[A-Z]{3,}/ and tone == loud
  require flag or words(t) > 2 and tone == loud
}
escalate lead shouting "Shouting, or a loud label" { when t matches /!!/ or tone == loud }
'''


def test_a_regex_runs_only_where_the_cheap_side_does_not_decide() -> None:
    """`and` and `or` evaluate their cheaper side first (a regex match costs about as
    much as the rest of a record's checks): the rule above matches its regex only for
    records labeled loud, the escalation only for the others, on the general path and
    on the typed decoder's, with the reference interpreter's findings."""
    from rubricdsl.engine.decode import fast_path

    rubric = rubricdsl.loads(COSTLY, "costly.rubric")
    records = [{"t": "SO LOUD!!" if k % 3 else "calm words here", "flag": k % 4 == 0,
                "tone": "loud" if k % 5 == 0 else "calm"} for k in range(100)]
    loud = sum(r["tone"] == "loud" for r in records)
    typed = fast_path(rubric.compiled)
    assert typed is not None
    for check, read in ((rubric.compiled.check, lambda r: r), (typed.check, lambda r: typed.decode(orjson.dumps(r)))):
        calls = {}
        names = [n for n in check.__globals__ if n.startswith("RX_")]
        assert len(names) == 2
        saved = {n: check.__globals__[n] for n in names}

        def counting(name: str) -> Any:
            def matches(text: str) -> bool:
                calls[name] = calls.get(name, 0) + 1
                return saved[name](text)
            return matches

        try:
            check.__globals__.update({n: counting(n) for n in names})
            for rec in records:
                assert (check(read(rec)) or []) == evaluate(rubric.ir, rec), rec
        finally:
            check.__globals__.update(saved)
        assert sorted(calls.values()) == [loud, len(records) - loud]


def test_a_long_arithmetic_chain_compiles_and_checks() -> None:
    text = ('rubric "sum" version "1"\nlabel x: int 0..9\nlabel y: int 0..9 optional\n'
            f'rule r "m" {{ require {" + ".join(["x"] * 150 + ["y"] + ["x"] * 150)} - x * 2 > 600 }}\n')
    rubric = rubricdsl.loads(text, "sum.rubric")
    _agree(rubric, [{"x": 1, "y": 1}, {"x": 2, "y": 9}, {"x": 3}, {"x": 5, "y": 0}])


def test_a_thousand_chained_lets_compile_and_check() -> None:
    lets = "".join(f"let l{k} = l{k - 1} and ok\n" for k in range(1, 1001))
    text = f'rubric "lets" version "1"\nlabel ok: bool\nlabel no: bool optional\nlet l0 = not no\n{lets}' \
           'rule r "m" { require l1000 }\n'
    _agree(rubricdsl.loads(text, "lets.rubric"), BOOLS)
    # read twice each: a function per let, in order
    twice = "".join(f"let l{k} = l{k - 1} and ok\nlet u{k} = l{k - 1} or no\n" for k in range(1, 1001))
    text = f'rubric "lets" version "1"\nlabel ok: bool\nlabel no: bool optional\nlet l0 = not no\n{twice}' \
           'rule r "m" { require l1000 or not u1000 }\n'
    _agree(rubricdsl.loads(text, "lets.rubric"), BOOLS)


def _deep_ir(rubric: Any, depth: int, make: Any) -> None:
    """Put a deep expression into the only rule of `rubric` (the parser limits the depth
    it reads; the generator and the interpreter take any)."""
    rule = rubric.ir.rules[0]
    rule.require = make(rule.require, depth)
    rubric._compiled = None  # noqa: SLF001 - the expression changed after compiling


def _op(op: str, args: tuple, like: Any, type_: Any = None) -> Any:
    from rubricdsl.language import ir

    return ir.Op(op, args, type_ if type_ is not None else like.type, like.span,
                 frozenset().union(*(a.mentions for a in args)))


@pytest.mark.parametrize("shape", ["left", "right", "mixed"])
def test_a_condition_nested_a_thousand_deep_compiles_and_checks(shape: str) -> None:
    """`(ok and (no or (not (ok and ...))))`, 1,000 levels; and 5,000-operand chains."""
    text = 'rubric "deep" version "1"\nlabel ok: bool\nlabel no: bool optional\nrule r "m" { require ok and no }\n'
    rubric = rubricdsl.loads(text, "deep.rubric")
    ok, no = rubric.ir.rules[0].require.args

    def make(e: Any, depth: int) -> Any:
        acc = ok
        for k in range(depth if shape == "mixed" else 5000):
            if shape == "left":
                acc = _op("and", (acc, ok if k % 7 else _op("not", (no,), e)), e)
            elif shape == "right":
                acc = _op("or", (no if k % 5 else ok, acc), e)
            else:
                acc = [_op("and", (ok, acc), e), _op("or", (no, acc), e), _op("not", (acc,), e)][k % 3]
        return acc

    _deep_ir(rubric, 1000, make)
    _agree(rubric, BOOLS, expect_some=shape != "mixed")


def test_arithmetic_nested_a_thousand_deep_compiles_and_checks() -> None:
    """((x + y) * 1 - x ...) a thousand levels deep, with an optional field: no value
    anywhere in it is no value at the top."""
    text = ('rubric "deep" version "1"\nlabel x: int 0..9\nlabel y: int 0..9 optional\n'
            'rule r "m" { require x + y < 5 }\n')
    rubric = rubricdsl.loads(text, "deep.rubric")
    cmp_ = rubric.ir.rules[0].require
    plus = cmp_.args[0]
    x, y = plus.args

    def make(e: Any, depth: int) -> Any:
        acc = plus
        for k in range(depth):
            acc = _op(["+", "-", "*", "+"][k % 4], (acc, [x, y, x, x][k % 4]) if k % 4 != 2 else (acc, x), plus)
        return _op("<", (acc, cmp_.args[1]), cmp_)

    _deep_ir(rubric, 1000, make)
    _agree(rubric, [{"x": 0, "y": 0}, {"x": 1, "y": 0}, {"x": 0}, {"x": 2, "y": 3}, {"x": 1, "y": 9}])


@pytest.mark.parametrize("first", [True, False])
def test_a_decide_of_thousands_of_arms_compiles_and_checks(first: bool) -> None:
    """3,000 arms failed with RecursionError (an `elif` chain nests)."""
    arms = "".join(f"  when a == {k} -> {'p' if k % 3 else 'q'}\n" for k in range(3000))
    extra = "  when a >= 2998 -> p\n" if not first else ""
    text = (f'rubric "arms" version "1"\ninput a: int 0..5000\nlabel y: enum {{p, q}}\n'
            f'decide y{" first" if first else ""} {{\n{arms}{extra}  otherwise -> q\n}}\n')
    rubric = rubricdsl.loads(text, "arms.rubric")
    records = [{"a": a, "y": y} for a in (0, 1, 2, 1234, 2998, 2999, 3000, 4999) for y in ("p", "q")]
    _agree(rubric, records)
    assert rubric.check({"a": 2999, "y": "q"}) and not rubric.check({"a": 2999, "y": "p"})


def test_thousands_of_fields_and_criteria_compile_and_check() -> None:
    n = 3000
    fields = "".join(f"label f{k}: int 0..9 optional\n" for k in range(n))
    crits = "".join(f'criterion c{k} "C{k}" {{\n  applies when f{k} > 0\n'
                    f'  rule r{k} "m{k}" {{ require f{k} != 5 and f{(k * 7) % n} != 6 }}\n}}\n'
                    for k in range(0, n, 3))
    rubric = rubricdsl.loads(f'rubric "wide" version "1"\n{fields}{crits}', "wide.rubric")
    assert re.search(r"\d{21}", rubric.compiled.source) is None  # no mask written as a number of 900 digits
    records = [{}, {"f0": 5}, {"f2999": 5, "f2997": 5}, {"f2997": 1, "f2997" : 3, "f20979": 1},
               {"f2997": "bad", "f1": 1, f"f{(2997 * 7) % n}": 6}, {f"f{k}": k % 10 for k in range(n)}]
    _agree(rubric, records)


def test_a_path_of_fifty_thousand_steps_compiles_and_checks() -> None:
    """It took over a minute and 8 GB: every prefix was a tuple and a name."""
    steps = [f"s{k}" for k in range(50_000)]
    text = f'rubric "path" version "1"\nlabel ok: bool from {".".join(steps)}\nrule r "m" {{ require ok }}\n'
    rubric = rubricdsl.loads(text, "path.rubric")

    def record(leaf: Any) -> dict:
        rec: Any = leaf
        for s in reversed(steps):
            rec = {s: rec}
        return rec

    recs = [record(True), record(False), record("x"), {"s0": {"s1": 3}}, {}]
    _agree(rubric, recs)
    assert [[f["kind"] for f in rubric.check_dicts(r)] for r in recs] == \
        [[], ["violation"], ["invalid"], ["invalid"], ["invalid"]]


def test_a_large_enum_is_one_set() -> None:
    """Its values are one frozenset in the namespace, tested with one `in` (a large enum
    is slow to load today: 5,000 values keep the test short; bench/compile_scale.py
    compiles 100,000)."""
    n = 5000
    values = [f"v{k}" for k in range(n)]
    text = (f'rubric "big" version "1"\nlabel e: enum {{{", ".join(values)}}}\n'
            f'rule r "m" {{ require e != v{n - 1} and e not in {{v3, v4}} }}\n')
    rubric = rubricdsl.loads(text, "big.rubric")
    check = rubric.compiled.source.split("def check(rec):")[1]
    assert "in VALUES_e" in check and "v2500" not in check
    _agree(rubric, [{"e": "v0"}, {"e": f"v{n - 1}"}, {"e": "v4"}, {"e": f"v{n}"}, {"e": "v2500"}])


# ---- rubric text is data, never code ---------------------------------------------------------------
#
# In the manner of fastjsonschema's tests: strings that would end a string literal or a
# comment, or run code, if pasted into the source; each must stay a value.

PAYLOADS = ['"""', "'''", "\\", "\\'", "#", "'); import os; os.system('x') #",
            "\"); __import__('sys').modules.__setitem__('rubric_pwned', 1) #",
            "\n__import__('sys').modules.__setitem__('rubric_pwned', 1)\n", "\u2028x = 1", "\u0085#", "\r# x",
            "\x0c", "\x00", "\u202e#", "{0}", "%s", "\\n", "}", "é\u200b"]


def _q(s: str) -> str:
    """`s` as a rubric string literal."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable() and ch.isascii():
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}")
    return '"' + "".join(out) + '"'


def _pwned() -> bool:
    return "rubric_pwned" in sys.modules


@pytest.mark.parametrize("payload", PAYLOADS, ids=[ascii(p) for p in PAYLOADS])
def test_strings_names_messages_and_paths_are_inert(payload: str) -> None:
    p = payload
    text = f'''rubric {_q("r" + p)} version {_q(p + "1")}
label t: text from {_q(p)}.{_q("k" + p)}
label e: enum {{{_q("v" + p)}, plain}} from {_q("e" + p)}
rule r {_q("message " + p)} {{
  when t contains {_q(p)}
  require e == {_q("v" + p)}
}}
'''
    rubric = rubricdsl.loads(text, f"in{p}.rubric")
    source = rubric.compiled.source
    assert not _pwned()
    # no line break but "\n": linecache and the compiler see the same lines, and
    # every comment ends where it seems to
    assert source.splitlines() == source.split("\n")[:-1]
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            assert tok.line.lstrip().startswith("#") or tok.start[1] > 0
    strings = {n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert p in strings  # the value of `contains`, as a literal

    def rec(t: Any, e: Any) -> dict:
        return {p: {"k" + p: t}, "e" + p: e}

    found = [rubric.check_dicts(r) for r in (rec("a" + p + "b", "v" + p), rec("a" + p + "b", "plain"),
                                             rec("ab", "plain"), rec(p, "v" + p + "x"), {})]
    assert [[f["kind"] for f in fs] for fs in found] == [[], ["violation"], [], ["invalid"], ["invalid", "invalid"]]
    assert found[1][0]["message"] == "message " + p and found[3][0]["value"] == "v" + p + "x"
    assert not _pwned()


@pytest.mark.parametrize("payload", PAYLOADS[:8], ids=[ascii(p) for p in PAYLOADS[:8]])
def test_a_regex_is_inert(payload: str) -> None:
    # the pattern matches the payload itself, taken literally (a regex escape per character)
    pattern = "".join(f"\\x{{{ord(ch):x}}}" if not ch.isalnum() else ch for ch in payload)
    text = f'rubric "rx" version "1"\nlabel t: text\nrule r "no payload" {{ require not (t matches /{pattern}/) }}\n'
    rubric = rubricdsl.loads(text, "rx.rubric")
    assert not _pwned()
    assert [f["kind"] for f in rubric.check_dicts({"t": "<" + payload + ">"})] == ["violation"]
    assert rubric.check_dicts({"t": "nothing"}) == []
    assert rubric.compiled.source.splitlines() == rubric.compiled.source.split("\n")[:-1]
    assert not _pwned()


def test_names_that_collide_with_the_generated_code_are_data() -> None:
    """Fields and lets named like Python keywords, builtins or the generated code's own
    names (`rec`, `out`, `bad`, `m`, `check`, `len`, `import`, `class`)."""
    text = ('rubric "n" version "1"\nlabel rec: bool\nlabel out: bool optional\nlabel bad: int 0..9\n'
            'label m: int 0..9\nlabel import: bool optional\nlabel class: text optional\n'
            'let check = rec and not out\nlet len = bad + m\nlet f_rec = import\n'
            'rule r "m" { when check require len < 9 and not f_rec }\nrule s "s" { require len(class) < 3 or check }\n')
    rubric = rubricdsl.loads(text, "n.rubric")
    compiled = compile_rubric(rubric.ir)
    assert compiled.source.count("def check(rec):") == 1
    records = [{"rec": True, "bad": 4, "m": 4}, {"rec": True, "bad": 5, "m": 4}, {"rec": True, "bad": 1, "m": 1,
               "import": True}, {"rec": False, "bad": 1, "m": 1, "class": "long"}, {"rec": "x", "bad": 1, "m": 1}]
    assert [compiled.check(r) or [] for r in records] == [evaluate(rubric.ir, r) for r in records]
    assert [[f["kind"] for f in rubric.check_dicts(r)] for r in records] == \
        [[], ["violation"], ["violation"], ["violation"], ["invalid"]]
