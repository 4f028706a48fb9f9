"""The typed decoder of JSONL lines (engine/decode.py) changes no finding: a line it
reads and finds nothing in is a line the general path (orjson and the strict re-read)
finds nothing in, whatever the line holds."""
from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rubricdsl
from rubricdsl.engine.codegen import compile_rubric
from rubricdsl.engine.decode import fast_path, paths_tree
from rubricdsl.engine.runtime import RecordChecker

RUBRIC = '''rubric "typed" version "1"

record { id = id  annotator = who }

input t: text from data.text
input kind: enum {a, b, "c d"} from data.kind
label sev: enum ordered {none, low, high} from labels.sev
label n: int 1..5 from labels.n
label score: number -1.5..2.5 from labels.score optional
label mood: scale -3..3 from mood optional
label ok: bool from labels.ok optional
label tags: set {x, y, z} from labels.tags optional
label note: text from labels.deep.note required when sev == high
label odd: text from "k\u00e9y"."a b" optional

rule long_note "A high severity needs a note of 5 characters" {
  when sev == high
  require len(note) >= 5
}
rule tagged "A score needs a tag" {
  when score is present
  require tags is not empty
}
rule low_n "Low n is not ok" severity warning {
  when n <= 2
  require ok
}
rule kind_b "Kind b mentions b" { when kind == b  require t contains "b" }
rule mood_n "Mood and n agree" { when mood is present and mood > 2  require n >= 3 }
'''


def _checker(text: str = RUBRIC, typed: bool = True) -> tuple[RecordChecker, list]:
    rubric = rubricdsl.loads(text, "typed.rubric")  # a fresh compile: the typed decoder is the compile's
    compiled = rubric.compiled
    if not typed:
        compiled.fast = False  # no typed decoder: every line takes the general path
    out: list = []
    return RecordChecker(compiled, out.append), out


@contextlib.contextmanager
def _recursion_limit(n: int = 1000) -> Iterator[None]:
    """The interpreter's default recursion limit, which hypothesis raises while it runs
    a test (above orjson's nesting limit, the typed decoder is not used)."""
    was = sys.getrecursionlimit()
    sys.setrecursionlimit(n)
    try:
        yield
    finally:
        sys.setrecursionlimit(was)


def _both(lines: list[bytes], text: str = RUBRIC) -> tuple[tuple, tuple]:
    results = []
    for typed in (True, False):
        checker, out = _checker(text, typed)
        last, blank = checker.lines(list(lines), "d.jsonl", 0)
        s = checker.stats
        results.append((out, last, blank, s.counts, s.by_severity, s.with_findings))
    return results[0], results[1]


CLEAN = (b'{"id": "r1", "who": "ann", "data": {"text": "abc", "kind": "b", "other": [1, {"x": 2}]}, '
         b'"labels": {"sev": "low", "n": 4, "ok": true, "tags": ["x"], "score": 1.5, "big": 1e400}, '
         b'"k\xc3\xa9y": {"a b": "hi"}, "mood": -3, "text": "not read"}\n')


def test_the_bench_like_rubric_has_a_typed_decoder_that_reads_a_clean_record() -> None:
    checker, _ = _checker()
    typed = fast_path(checker.compiled)
    assert typed is not None
    assert typed.check(typed.decode(CLEAN)) is None  # read, nothing to report: the general path is not taken
    # an invalid value, a missing field, a float for an int, an integer beyond 64 bits: not read
    for bad in (CLEAN.replace(b'"kind": "b"', b'"kind": "q"'), CLEAN.replace(b'"n": 4, ', b''),
                CLEAN.replace(b'"n": 4', b'"n": 4.0'), CLEAN.replace(b'"mood": -3', b'"mood": 99999999999999999999')):
        with pytest.raises(typed.errors):
            typed.decode(bad)


@pytest.mark.parametrize("line", [
    CLEAN,
    CLEAN.replace(b'"kind": "b"', b'"kind": "q"'),                   # invalid
    CLEAN.replace(b'"n": 4', b'"n": 4.0'),                            # valid: 4.0 is 4
    CLEAN.replace(b'"n": 4', b'"n": 18446744073709551616'),           # beyond 64 bits: invalid
    CLEAN.replace(b'"big": 1e400', b'"big": NaN'),                    # NaN is not JSON: unreadable
    CLEAN.replace(b'"other"', b'"\\ud800"'),                          # a lone surrogate in a key no field reads
    CLEAN.replace(b'"not read"', b'"\\udc00"'),                       # ... in a value no field reads
    CLEAN.replace(b'"not read"', b'"\xff\xfe"'),                      # not UTF-8, in a value no field reads
    CLEAN.replace(b'"not read"', b'"\xed\xa0\x80"'),                  # a surrogate encoded as UTF-8
    CLEAN.replace(b'"not read"', b'"\\ud83d\\ude00 caf\xc3\xa9"'),    # a pair and UTF-8: fine
    CLEAN.replace(b'"not read"', b'[' * 1100 + b']' * 1100),          # nested too deeply for orjson
    CLEAN.replace(b'"not read"', b'[' * 500 + b']' * 500),
    CLEAN.replace(b'"not read"', b'123456789012345678901234567890'),  # a huge number nobody reads
    CLEAN.replace(b'"sev": "low"', b'"sev": "high", "deep": {"note": "long enough"}'),
    CLEAN.replace(b'"sev": "low"', b'"sev": "high", "deep": {"note": "short"}'),
    CLEAN.replace(b'"sev": "low"', b'"sev": "high", "deep": {"note": "long enough"}, "deep": {}'),  # the last wins
    CLEAN.replace(b'"sev": "low"', b'"sev": "high", "deep": null'),
    CLEAN.replace(b'"sev": "low"', b'"sev": "high", "deep": "text"'),
    CLEAN.replace(b'"kind": "b"', b'"kind": "a", "kind": "b"'),       # a duplicate key: the last wins
    CLEAN.replace(b'"kind": "b"', b'"k\\u0069nd": "c d"'),            # an escaped key
    CLEAN.replace(b'"data":', b'"data": {}, "data":'),
    CLEAN.replace(b'"labels": {', b'"labels": [], "x": {'),
    CLEAN.replace(b'"tags": ["x"]', b'"tags": ["x", "x"]'),           # not distinct: invalid
    CLEAN.replace(b'"tags": ["x"]', b'"tags": []'),
    CLEAN.replace(b'"score": 1.5', b'"score": 2.5000000000000001'),
    CLEAN.replace(b'"score": 1.5', b'"score": 3'),
    CLEAN.replace(b'"score": 1.5', b'"score": -0.0'),
    CLEAN.replace(b'"mood": -3', b'"mood": 3, "mood": null'),
    CLEAN.rstrip(b"\n") + b" x\n",                                    # text after the object
    CLEAN.rstrip(b"\n") + b"\r\n",
    b"  \t\n", b"[1, 2]\n", b"null\n", b'"text"\n', b"{}\n", b"{\n",
])
def test_a_line_gives_the_same_findings_on_both_paths(line: bytes) -> None:
    fast, general = _both([line, CLEAN])
    assert fast == general


# ---- generated records -----------------------------------------------------------------------

NUMBERS = [b"0", b"-0", b"1", b"2", b"3", b"5", b"6", b"-3", b"4.0", b"1.5", b"-1.5", b"2.5", b"2.5000001", b"1e2",
           b"1E400", b"-1e400", b"1e-400", b"9223372036854775807", b"9223372036854775808", b"-9223372036854775809",
           b"18446744073709551615", b"18446744073709551616", b"123456789012345678901234567890", b"0.1",
           b"NaN", b"Infinity", b"-Infinity", b"01", b"1.", b"-"]
WORDS = ["a", "b", "c d", "none", "low", "high", "x", "y", "z", "", "b b b", "long enough", "caf\u00e9",
         "\U0001f600", "line\nbreak", "\u0000", "q"]


def _escape(s: str, mode: int) -> bytes:
    if mode == 0:
        return json.dumps(s, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if mode == 1:
        return json.dumps(s).encode()  # every non-ASCII character escaped
    return b'"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else c for c in s).encode("utf-8") + b'"'


STRINGS = st.builds(_escape, st.sampled_from(WORDS) | st.text(max_size=8), st.integers(0, 2)) | st.sampled_from(
    [b'"\\ud800"', b'"\\udfff x"', b'"\xff"', b'"\xed\xa0\x80"', b'"\\ud83d\\ude00"', b'"a\\x"', b'"\x01"',
     b"'a'", b'"unclosed'])
SCALARS = st.sampled_from(NUMBERS + [b"true", b"false", b"null", b"tru"]) | STRINGS
KEYS = ["id", "who", "data", "labels", "text", "kind", "sev", "n", "score", "ok", "tags", "deep", "note", "mood",
        "k\u00e9y", "a b", "other"]
KEY_TEXT = st.builds(_escape, st.sampled_from(KEYS), st.integers(0, 2))


def _obj(pairs: list[tuple[bytes, bytes]]) -> bytes:
    return b"{" + b", ".join(k + b": " + v for k, v in pairs) + b"}"


VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4).map(lambda xs: b"[" + b", ".join(xs) + b"]")
    | st.lists(st.tuples(KEY_TEXT, inner), max_size=5).map(_obj),
    max_leaves=12)
DEEP = st.sampled_from([5, 5, 5, 200, 990, 1000, 1030, 2000]).map(lambda d: b"[" * d + b"]" * d)


@st.composite
def records(draw) -> bytes:
    """Records of valid values (in any order, keys escaped or not, with keys no field
    reads), or of fields each valid, missing, null, duplicated or nasty."""
    nasty = draw(st.booleans())

    def field(valid: list[bytes]) -> list[bytes]:
        pick = draw(st.integers(0, 11)) if nasty else 0
        if pick < 7:
            return [draw(st.sampled_from(valid))]
        if pick == 7:
            return []
        if pick == 8:
            return [b"null"]
        if pick == 9:
            return [draw(VALUES), draw(st.sampled_from(valid))]  # a duplicate key: the last wins
        return [draw(VALUES)]

    def obj(spec: list[tuple[str, Any]]) -> bytes:
        pairs = []
        for key, valid in spec:
            k = _escape(key, draw(st.integers(0, 2)))
            nested = isinstance(valid[0], tuple)  # an object of fields
            values = [obj(valid)] if nested and (not nasty or draw(st.integers(0, 9))) else \
                field([b"{}"] if nested else valid)
            pairs += [(k, v) for v in values]
        # keys that fields read (nasty records), or not; deep nesting where no field reads
        # (a field would report the value as invalid, and showing it is another matter)
        keys = KEY_TEXT if nasty else st.sampled_from([b'"other"', b'"\\u0078"', b'"\xc3\xa9"'])
        pairs += draw(st.lists(st.tuples(keys, VALUES) | st.tuples(st.just(b'"extra"'), DEEP), max_size=2))
        return _obj(draw(st.permutations(pairs)))

    words = [_escape(w, 0) for w in WORDS]
    spec = [
        ("id", [b'"r1"', b"7", b"null"]),
        ("who", [b'"ann"', b'"bob"']),
        ("data", [("text", words), ("kind", [b'"a"', b'"c d"', b'"b"'])]),
        ("labels", [("sev", [b'"none"', b'"low"', b'"high"']), ("n", [b"3", b"5", b"4", b"1", b"4.0"]),
                    ("score", [b"-1.5", b"0", b"2.5", b"1e-3"]), ("ok", [b"true", b"false"]),
                    ("tags", [b'["x"]', b'["y", "z"]', b"[]"]),
                    ("deep", [("note", [b'"long enough"', b'"no"'])])]),
        ("mood", [b"0", b"-3", b"3"]),
        ("k\u00e9y", [("a b", [b'"hi"'])]),
    ]
    line = obj(spec)
    space = draw(st.sampled_from([b"", b" ", b"\t", b"\r"]))
    return space + line + space + b"\n"



@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(records() | VALUES.map(lambda v: v + b"\n"), min_size=1, max_size=6))
def test_generated_lines_give_the_same_findings_on_both_paths(lines: list[bytes]) -> None:
    with _recursion_limit():
        fast, general = _both(lines)
    assert fast == general


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(records())
def test_a_generated_record_is_read_by_the_typed_decoder_or_left_to_the_general_path(line: bytes) -> None:
    """Not vacuous: a record the typed decoder reads has the general path's values."""
    checker, _ = _checker()
    with _recursion_limit():
        typed = fast_path(checker.compiled)
    assert typed is not None
    try:
        rec = typed.decode(line)
    except typed.errors:
        return
    if not typed.utf8(line):
        return  # bytes that are not UTF-8 where no field reads: the general path's
    plain = json.loads(line)
    assert (rec.k0.k0, rec.k0.k1) == (plain["data"]["text"], plain["data"]["kind"])
    assert type(rec.k1.k1) is type(plain["labels"]["n"]) and rec.k1.k1 == plain["labels"]["n"]


# ---- when there is no typed decoder ------------------------------------------------------------


def test_rubrics_the_typed_decoder_cannot_describe_have_none() -> None:
    for text in (
        'rubric "r" version "1"\nlabel a: text from x[0]\n',                     # an index
        'rubric "r" version "1"\nlabel a: text from x\nlabel b: text from x.y\n',  # a value and an object
        'rubric "r" version "1"\nlabel a: text from x\nlabel b: enum {p} from x\n',  # one path, two fields
        'rubric "r" version "1"\nlabel a: text from ' + ".".join(["k"] * 65) + "\n",  # 65 keys
    ):
        rubric = rubricdsl.loads(text, "r.rubric")
        assert paths_tree(rubric.ir.fields) is None
        assert fast_path(rubric.compiled) is None
    each = ('rubric "r" version "1"\nrecord { each = judgments }\nlabel a: enum {p, q} from @a\n'
            'rule r "R" { require a == p }\n')
    rubric = rubricdsl.loads(each, "r.rubric")
    found: list = []
    RecordChecker(rubric.compiled, found.append).lines([b'{"judgments": [{"a": "p"}, {"a": "q"}]}'], "d.jsonl", 0)
    assert [f["rule"] for f in found] == ["r"]


def test_with_a_raised_recursion_limit_every_line_takes_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    checkers = [_checker(typed=typed) for typed in (True, False)]  # compiled before the limit is faked
    assert fast_path(checkers[0][0].compiled) is not None
    monkeypatch.setattr(sys, "getrecursionlimit", lambda: 5000)
    assert fast_path(checkers[0][0].compiled) is None
    for checker, _ in checkers:
        checker.lines([CLEAN.replace(b'"not read"', b'[' * 1500 + b']' * 1500), CLEAN], "d.jsonl", 0)
    assert checkers[0][1] == checkers[1][1]


def test_without_msgspec_every_line_takes_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [CLEAN, CLEAN.replace(b'"kind": "b"', b'"kind": "q"'), b"{\n"]
    with_typed = _both(lines)[0]
    monkeypatch.setitem(sys.modules, "msgspec", None)  # `import msgspec` fails
    checker, out = _checker()
    assert fast_path(checker.compiled) is None
    checker.lines(list(lines), "d.jsonl", 0)
    assert out == with_typed[0]


# ---- arm counts (`rubric check --report`) -------------------------------------------------------

DECIDES = RUBRIC + '''
decide sev {
  edge weak "n is low and not ok" when n <= 2 and not ok -> high
  when kind == b -> low, high
  when ok -> none, low
  when tags is not empty -> low
}
decide ok first {
  when sev == high -> false
  when score is present and score > 1 -> true, false
  otherwise -> true
}
'''


def _counted(lines: list[bytes], typed: bool) -> tuple:
    rubric = rubricdsl.loads(DECIDES, "typed.rubric")
    compiled = compile_rubric(rubric.ir, all_decides=True)
    if not typed:
        compiled.fast = False
    out: list = []
    checker = RecordChecker(compiled, out.append, arm_counts=True)
    last, blank = checker.lines(list(lines), "d.jsonl", 0)
    s = checker.stats
    return out, last, blank, s.counts, s.arm_counts, s.decided


def test_arm_counts_use_the_typed_decoder() -> None:
    rubric = rubricdsl.loads(DECIDES, "typed.rubric")
    compiled = compile_rubric(rubric.ir, all_decides=True)
    checker = RecordChecker(compiled, [].append, arm_counts=True)
    got = checker._typed()
    assert got is not None and got[1] is fast_path(compiled).check_count
    checker.lines([CLEAN, CLEAN], "d.jsonl", 0)
    assert checker.stats.decided == [2, 2]  # each record counted once, by the typed checker


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(records() | VALUES.map(lambda v: v + b"\n"), min_size=1, max_size=6))
def test_generated_lines_give_the_same_findings_and_arm_counts_on_both_paths(lines: list[bytes]) -> None:
    with _recursion_limit():
        fast, general = _counted(lines, True), _counted(lines, False)
    assert fast == general


# ---- item checks: each record's row ------------------------------------------------------------

ITEMS = DECIDES.replace("record { id = id  annotator = who }", "record { id = id  item = id  annotator = who }") + \
    '''
consensus sev {
  min annotators 2
  min agreement 0.6
}
rule calm "Scores of one item stay within two points" per item severity warning {
  require spread(n) <= 2
}
escalate lead split "Split on a high n, or on the severity" per item {
  when share(n >= 3) == 0.5 or agreement(sev) < 1
}
'''
ITEMS_NESTED = ITEMS.replace("item = id  annotator = who", "item = labels.item  annotator = labels.who")


def _items(lines: list[bytes], typed: bool, text: str = ITEMS, arms: bool = False, by: bool = False) -> tuple:
    """The findings (the items' last) and counts of a run with item checks, by the typed
    decoder that reads items and annotators or by the general path alone; with `arms`,
    arm counts (`--report`), with `by`, counts by annotator."""
    rubric = rubricdsl.loads(text, "typed.rubric")
    compiled = compile_rubric(rubric.ir, all_decides=True) if arms else rubric.compiled
    if not typed:
        compiled.fast_rows = False
    out: list = []
    checker = RecordChecker(compiled, out.append, arm_counts=arms, by_annotator=by)
    try:
        last, blank = checker.lines(list(lines), "d.jsonl", 0)
        checker.finish()
    finally:
        checker.close()
    s = checker.stats
    return out, last, blank, s.counts, s.with_findings, s.items, s.arm_counts, s.decided, s.by_annotator


def _item_lines(who_item: list[tuple[bytes, bytes]]) -> list[bytes]:
    out = []
    for k, (who, item) in enumerate(who_item):
        line = CLEAN.replace(b'"who": "ann"', b'"who": ' + who).replace(b'"id": "r1"', b'"id": ' + item)
        out.append(line.replace(b'"n": 4', b'"n": 1').replace(b'"sev": "low"', b'"sev": "none"')
                   if k % 3 == 2 else line)
    return out


def test_item_rows_use_the_typed_decoder_that_reads_items() -> None:
    compiled = rubricdsl.loads(ITEMS, "typed.rubric").compiled
    checker = RecordChecker(compiled, [].append)
    got = checker._typed()
    assert got is not None and got[0] is fast_path(compiled, rows=True)
    assert got[0] is not fast_path(compiled) and got[1] is got[0].check  # its check gives rows
    lines = _item_lines([(b'"ann"', b'"i1"'), (b'"bob"', b'"i1"'), (b'"eve"', b'"i1"'), (b'"ann"', b"7"),
                         (b'"ann"', b"7"), (b'"ann"', b'"solo"')])  # item 7: one annotator twice
    fast = _items(lines, True)
    assert fast == _items(lines, False)
    found, _, _, _, _, items, *_ = fast
    assert items == 3
    assert {f["rule"] for f in found if "lines" in f} >= {"consensus", "split", "calm"}
    assert any(f["record"] == "7" and "1 annotator" in f["message"] for f in found)
    # with arm counts and counts by annotator too, each record counted once
    for arms, by in ((True, False), (False, True), (True, True)):
        checker = RecordChecker(compile_rubric(compiled.rubric, all_decides=True) if arms else compiled, [].append,
                                arm_counts=arms, by_annotator=by)
        assert checker._typed() is not None
        fast = _items(lines, True, arms=arms, by=by)
        assert fast == _items(lines, False, arms=arms, by=by)
        if arms:
            assert fast[7] == [6, 6]
        if by:
            assert {a: row["judgments"] for a, row in fast[8].items()} == {"ann": 4, "bob": 1, "eve": 1}
    # an item at a field's path or the annotator's, or through a field: no typed decoder reads it
    for text in (ITEMS.replace("item = id", "item = labels.sev"), ITEMS.replace("item = id", "item = who"),
                 ITEMS.replace("item = id", "item = labels.n.x")):
        assert fast_path(rubricdsl.loads(text, "typed.rubric").compiled, rows=True) is None


@pytest.mark.parametrize("text", [ITEMS, ITEMS_NESTED])
@pytest.mark.parametrize("item", [b'"i1"', b'"caf\xc3\xa9"', b"7", b"7.0", b"-7", b"7.5", b"true", b"null", b"[]",
                                  b'{"x": 1}', b"18446744073709551616", b'"\\u0069\\u0031"', b'""'])
def test_an_item_of_any_kind_is_grouped_the_same_on_both_paths(text: str, item: bytes) -> None:
    """`7`, `7.0` and `"7"` are one item; an item that is not text or a whole number
    takes the general path, which says what it is."""
    lines = _item_lines([(b'"ann"', item), (b'"bob"', item), (b"3", b'"7"'), (b'"eve"', item), (b"null", b"7")])
    if text is ITEMS_NESTED:
        lines = [ln.replace(b'"labels": {', b'"labels": {"item": ' + item + b', "who": "w%d", ' % k)
                 for k, ln in enumerate(lines)]
    assert _items(lines, True, text) == _items(lines, False, text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(records() | VALUES.map(lambda v: v + b"\n"), min_size=1, max_size=8), st.booleans(), st.booleans())
def test_generated_lines_give_the_same_findings_and_items_on_both_paths(lines: list[bytes], arms: bool,
                                                                        by: bool) -> None:
    with _recursion_limit():
        fast, general = _items(lines, True, arms=arms, by=by), _items(lines, False, arms=arms, by=by)
    assert fast == general


# ---- counts by annotator (`rubric check --by annotator`) ----------------------------------------

NESTED_WHO = RUBRIC.replace("annotator = who", "annotator = labels.who")


def _by_annotator(lines: list[bytes], typed: bool, text: str = RUBRIC, counts: bool = False) -> tuple:
    rubric = rubricdsl.loads(text, "typed.rubric")
    compiled = compile_rubric(rubric.ir, all_decides=True) if counts else rubric.compiled
    if not typed:
        compiled.fast = compiled.fast_by = False
    out: list = []
    checker = RecordChecker(compiled, out.append, by_annotator=True, arm_counts=counts)
    last, blank = checker.lines(list(lines), "d.jsonl", 0)
    s = checker.stats
    return out, last, blank, s.counts, s.by_annotator, s.arm_counts


def test_counts_by_annotator_use_the_typed_decoder_that_reads_the_annotator() -> None:
    rubric = rubricdsl.loads(RUBRIC, "typed.rubric")
    checker = RecordChecker(rubric.compiled, [].append, by_annotator=True)
    got = checker._typed()
    assert got is not None and got[0] is fast_path(rubric.compiled, annotator=True)
    assert got[0] is not fast_path(rubric.compiled)  # the plain decoder does not read it
    checker.lines([CLEAN, CLEAN.replace(b'"who": "ann"', b'"who": 7')], "d.jsonl", 0)
    assert {a: row["judgments"] for a, row in checker.stats.by_annotator.items()} == {"ann": 1, "7": 1}
    # an annotator at a field's path, or none: no typed decoder reads it
    for text in (RUBRIC.replace("annotator = who", "annotator = labels.sev"),
                 RUBRIC.replace("record { id = id  annotator = who }", "record { id = id }"),
                 RUBRIC.replace("annotator = who", "annotator = labels.n.x")):
        assert fast_path(rubricdsl.loads(text, "typed.rubric").compiled, annotator=True) is None


@pytest.mark.parametrize("text", [RUBRIC, NESTED_WHO])
@pytest.mark.parametrize("who", [b'"ann"', b'"caf\xc3\xa9"', b"7", b"-7", b"7.0", b"7.5", b"true", b"null", b"[]",
                                 b'{"x": 1}', b"18446744073709551616", b"9223372036854775808", b'"\\u0061nn"'])
def test_an_annotator_of_any_kind_is_counted_the_same_on_both_paths(text: str, who: bytes) -> None:
    lines = [CLEAN.replace(b'"who": "ann"', b'"who": ' + who),
             CLEAN.replace(b'"who": "ann"', b'"who": ' + who).replace(b'"kind": "b"', b'"kind": "a"'),
             CLEAN.replace(b'"labels": {', b'"labels": {"who": ' + who + b", "),
             CLEAN.replace(b'"who": "ann", ', b"")]
    assert _by_annotator(lines, True, text) == _by_annotator(lines, False, text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(records() | VALUES.map(lambda v: v + b"\n"), min_size=1, max_size=6), st.booleans(),
       st.booleans())
def test_generated_lines_give_the_same_counts_by_annotator_on_both_paths(lines: list[bytes], nested: bool,
                                                                         counts: bool) -> None:
    text = NESTED_WHO if nested else DECIDES if counts else RUBRIC
    with _recursion_limit():
        fast, general = _by_annotator(lines, True, text, counts), _by_annotator(lines, False, text, counts)
    assert fast == general


# a rubric whose generated checker is long, at the scale a test affords: 300 fields, and
# the typed decoder's thresholds lowered to match (`wide_thresholds`)
WIDE_N = 300
WIDE = ('rubric "wide" version "1"\n'
        + "".join(f"label f{k}: int 0..9 from labels.f{k} optional\n" for k in range(WIDE_N))
        + f'rule r "m" {{ require f0 != 3 and f{WIDE_N - 1} != 4 }}\n')


def wide_line(k: int) -> str:
    """Record `k` for WIDE: some with a violation, one in 11 with an invalid field."""
    return json.dumps({"labels": {"f0": k % 5, f"f{WIDE_N - 1}": k % 7, "f7": "x" if k % 11 == 0 else 1}})


def wide_thresholds(monkeypatch) -> None:
    from rubricdsl.engine import runtime

    monkeypatch.setattr(runtime, "TYPED_FREE", 1000)
    monkeypatch.setattr(runtime, "TYPED_RATE", 100)


def test_a_long_checker_builds_its_typed_decoder_only_for_a_long_file(monkeypatch) -> None:
    """The typed decoder is a second code generation: a short file checked with a rubric
    whose checker is long reads every line on the general path (no decoder is built), a
    long one switches after a line per TYPED_RATE characters of the checker beyond
    TYPED_FREE, and the findings are the same as on the general path alone."""
    wide_thresholds(monkeypatch)
    text = WIDE
    lines = [wide_line(k).encode() for k in range(400)]

    def run(batches: list[list[bytes]], typed: bool) -> tuple[list, bool]:
        checker, out = _checker(text, typed)
        lineno = 0
        for batch in batches:
            lineno, _ = checker.lines(batch, "d.jsonl", lineno)
        return out, checker.compiled.fast not in (None, False)

    checker, _ = _checker(text)
    wait = checker._typed_after
    assert wait == (len(checker.compiled.source) - 1000) // 100 > 200
    short, built = run([lines[:50]], True)
    assert not built  # fifty lines: no second code generation
    size = max(1, wait // 4)
    batches = [lines[i:i + size] for i in range(0, len(lines), size)] * (wait // len(lines) + 2)
    long_, built = run(batches, True)
    assert built  # enough lines: the typed decoder was built and used for the rest
    assert short == run([lines[:50]], False)[0]
    assert long_ == run(batches, False)[0]


def test_a_parallel_run_builds_a_long_checkers_typed_decoder_only_for_a_file_long_enough(
        monkeypatch, tmp_path) -> None:
    """With -j, each part has a checker of its own: the main process decides, from the
    file's size, whether to build the typed decoder for the workers, and a checker made
    once it is built uses it from its first line. The findings are those of one process."""
    from rubricdsl.engine import runtime

    wide_thresholds(monkeypatch)
    monkeypatch.setattr(runtime, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(runtime, "CHUNK_BYTES", 4096)
    text = WIDE
    wait = _checker(text)[0]._typed_after
    for lines, built in ((wait // 4, False), (wait * 4, True)):  # lines of about 60 bytes
        data = tmp_path / f"d{lines}.jsonl"
        data.write_text("".join(wide_line(k) + "\n" for k in range(lines)), encoding="utf-8")
        assert (data.stat().st_size // runtime.TYPED_LINE_BYTES >= wait) is built
        found = {}
        for jobs in (1, 2):
            compiled = rubricdsl.loads(text, "wide.rubric").compiled
            out: list = []
            runtime.run(compiled, [str(data)], out.append, jobs=jobs)
            found[jobs] = out
            if jobs == 2:
                assert (compiled.fast not in (None, False)) is built
                if built:  # the decoder is there: a new checker takes it at once
                    assert RecordChecker(compiled, [].append)._typed_after == 0
        assert found[1] == found[2] and found[1]
