"""Differential test: the compiled checker against the reference interpreter
(`rubricdsl.evaluate`, written from the language brief) on random records, for every
shipped rubric and for a rubric that uses every type and operator."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rubricdsl
from rubricdsl.core.paths import judgment_of, put
from rubricdsl.engine import codegen
from rubricdsl.engine.evaluate import SKIP, evaluate

ROOT = Path(__file__).resolve().parents[1]

EVERYTHING = r'''rubric "everything" version "1"
record { id = id }
input t: text from d.t
input u: text from d.u optional
input dom: enum {a, b, c} from d.dom
input n: number 0..10 from d.n optional
label s: set {x, y, z} from l.s
label o: enum ordered {low, mid, high} from l.o
label i: int 1..5 from l.i
label flag: bool from l.flag optional
label sc: scale 1..3 from l.sc optional
label note: text from l.note required when o == high
let ratio = n / (i - 3)
let shouty = t matches /\b[A-Z]{3,}\b/
label p: text from l.p required when q is missing
label q: int 1..3 from l.q required when p is missing or not (i == 2)
label why: text from l.why required when shouty or ratio > 1
let both = flag and x in s

criterion main "Main" {
  applies when dom != c
  decide o {
    edge big "Big sets" when count(s) >= 2 and not flag -> high, mid
    when s is empty -> low
    when y in s -> mid
    when s any of {x, z} -> high
    when shouty -> low, mid
  }
  rule r1 "ratio" { when ratio > 1 require i >= 4 }
  rule r2 "words" severity warning { when words(t) > 3 require len(t) < 40 }
}

decide i first {
  edge two "Two" when sc == 2 -> 2
  when o >= mid -> 3, 4, 5
  when u contains "k" or t contains u -> 1
  otherwise -> 1, 2
}

decide flag {
  when both -> true
  when s all of {x, y} -> false
}

rule r3 "not in" severity info { when dom not in {a} require o != low }
rule r4 "missing" { when u is missing require sc is present or -n < 0 }
rule r5 "three words" severity info { require words(t) != 3 }
rule r6 "u not k" severity info { when u not in {"k"} require n != 1 }
escalate lead e1 "esc" { when not (o == high) and s none of {z} }
'''


def _texts() -> st.SearchStrategy[str]:
    return st.sampled_from(["", "k", "kk ok", "ABC then more", "a\u001cb c d", "x y z w v", "one two three four",
                            "the BIG dog", "ük", "a" * 50])


def _value_for(f) -> st.SearchStrategy[Any]:
    t = f.type
    junk = st.sampled_from([None, True, "3", 3.5, [], {}, -1, 99])
    if t.kind == "bool":
        good = st.booleans()
    elif t.kind in ("int", "scale"):
        lo, hi = int(t.lo) if t.lo is not None else -3, int(t.hi) if t.hi is not None else 9
        good = st.one_of(st.integers(lo, hi), st.integers(lo, hi).map(float))
    elif t.kind == "number":
        lo, hi = t.lo if t.lo is not None else -5, t.hi if t.hi is not None else 5
        good = st.one_of(st.integers(int(lo), int(hi)), st.floats(lo, hi, allow_nan=False))
    elif t.kind == "text":
        good = _texts()
    elif t.kind == "enum":
        good = st.sampled_from(list(t.enum.values))
    else:
        good = st.lists(st.sampled_from(list(t.enum.values)), max_size=len(t.enum.values) + 1)
    return st.one_of(good, good, good, junk)


def _record(rubric) -> st.SearchStrategy[dict]:
    fields = rubric.ir.fields

    @st.composite
    def build(draw) -> dict:
        rec: dict = {"id": "r"}
        for f in fields:
            if draw(st.integers(0, 9)) == 0:
                continue  # missing
            v = draw(_value_for(f))
            put(rec, f.path, v, rubric.ir.record_each)  # `@` paths go into the record's one judgment
        return rec

    return build()


RUBRICS = {p.parent.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "rubrics").glob("*/*.rubric"))}
RUBRICS["everything"] = EVERYTHING


@pytest.mark.parametrize("name", sorted(RUBRICS))
def test_compiled_checker_agrees_with_the_reference(name: str) -> None:
    rubric = rubricdsl.loads(RUBRICS[name], name)
    check = rubric.compiled.check

    each = rubric.ir.record_each

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(_record(rubric))
    def agree(rec: dict) -> None:
        if each is None:
            assert (check(rec) or []) == evaluate(rubric.ir, rec), rec
            return
        # a rubric with `each`: the checker and the reference read one judgment
        jud = judgment_of(rec, each)
        got, want = check(rec, jud), evaluate(rubric.ir, rec, jud)
        assert (got is codegen.SKIP) == (want is SKIP), rec
        if want is not SKIP:
            assert (got or []) == want, rec

    agree()
