"""Reading data lines: the strict reader behind the fast one, its messages for lines that
are not JSON objects, and numbers beyond the range of a double, through every path that
reads records (sequential, parallel, items, the reference interpreter).

The per-record semantics are cases (tests/cases/check/raw_lines.yaml, huge_numbers.yaml);
this file covers the reader itself and the paths around the checker.
"""
from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

import rubricdsl
from rubricdsl.core import values
from rubricdsl.engine import findings, runtime
from rubricdsl.engine.evaluate import evaluate
from rubricdsl.core.values import HugeNumber
from rubricdsl.engine.reading import read_line

RUBRIC = '''rubric "huge" version "1"
record { id = id  item = item  annotator = who }
label score: int 1..5 from score
label tone: enum {calm, angry} from tone
rule calm_when_high "a high score needs calm" { when score >= 4 require tone == calm }
consensus tone { min annotators 2 }
'''


@pytest.mark.parametrize(("line", "why"), [
    (b'{"a": 1', "the JSON ends early"),
    (b'{"a": "x', "the JSON ends early: a string is not closed"),
    (b"", "the JSON ends early"),
    (b'{"a": 1} {"b": 2}', "unexpected text after the object at column 10"),
    (b'[1] 2', "unexpected text after the JSON value at column 5"),
    (b'{"a": NaN}', "NaN is not JSON"),
    (b'{"a": Infinity}', "Infinity is not JSON"),
    (b'{"a": "\xff"}', "invalid UTF-8 at byte 8"),
    (b'{"a": "\xed\xa0\x80"}', "invalid UTF-8 at byte 8"),  # a surrogate encoded in UTF-8
    (b'{"a": "\\udc4d"}', "a string holds a lone surrogate \\udc4d (half of a pair)"),
    (b'{"\\ud83d": 1}', "a string holds a lone surrogate \\ud83d (half of a pair)"),
    (b'{"a": "\\x41"}', "an unknown escape `\\x` in a string at column 8"),
    (b'{"a": "b\nc"}', "a control character U+000A in a string at column 9; write it as an escape"),
    (b'{"a": [1, 2,]}', "a comma before `]` at column 13"),
    (b"{'a': 1}", "a single quote at column 2: JSON strings and keys take double quotes"),
    (b'{a: 1}', "unexpected `a` at column 2"),
    (b'{"a": 1}\x01', "unexpected text after the object at column 9"),
    (b'{"a" \x7f: 1}', "unexpected `U+007F` at column 6"),
    (b"[" * 5000, "the JSON is nested too deeply"),
])
def test_unreadable_lines_say_why_in_the_projects_words(line: bytes, why: str) -> None:
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(line)  # the reader is only asked about lines the fast reader rejects
    value, got = read_line(line)
    assert (value, got) == (None, why)


def test_the_strict_reader_reads_what_orjson_reads() -> None:
    """On lines the fast reader accepts, the strict one gives the same value."""
    lines = [b'{"a": 1, "a": 2}', b'{"s": "\\ud83d\\udc4d \\u00e9 \\n"}', b' {"n": -0.5e3, "i": 18446744073709551615,'
             b' "j": 18446744073709551616, "k": -9223372036854775809} ', b'{"deep": [[[[{"x": null}]]]]}',
             b'{"t": true, "f": false, "e": [], "o": {}}', b'{"z": 1e-400}']
    for line in lines:
        assert read_line(line) == (orjson.loads(line), None), line


def test_huge_numbers_are_read_as_written() -> None:
    rec, why = read_line(b'{"a": 1e400, "b": [-1E+999, 2], "c": {"d": 1' + b"0" * 400 + b'}}')
    assert why is None
    assert rec["a"] == HugeNumber("1e400") and rec["b"] == [HugeNumber("-1E+999"), 2]
    assert rec["c"]["d"].text == "1" + "0" * 400
    assert values.show(rec["b"]) == "[-1E+999,2]"
    assert values.report_value(rec["c"]) == {"d": "1" + "0" * 400}
    assert findings.id_text(rec["a"]) == "1e400"


@pytest.mark.parametrize("depth", [3, values.REPORT_DEPTH, values.REPORT_DEPTH + 1, 1000])
def test_a_deeply_nested_value_is_shown_and_reported(depth: int) -> None:
    v = orjson.loads(b"[" * depth + b"1" + b"]" * depth)
    text = "[" * depth + "1" + "]" * depth
    assert values.data_text(v) == text and values.data_text(v, spaced=True) == text
    assert values.show(v) == text[:57] + "..." if depth > 30 else values.show(v) == text
    got = values.report_value(v)
    assert got == (v if depth <= values.REPORT_DEPTH else text)
    orjson.dumps({"findings": [{"value": got}]})  # what the JSON report writes


def test_data_text_keeps_its_layout_iteratively() -> None:
    v = {"a": [1, 2.0, None, True, {"b": "x\ny"}], "c": {}, "d": [], "e": HugeNumber("1e400")}
    assert values.data_text(v) == '{"a":[1,2,null,true,{"b":"x\\ny"}],"c":{},"d":[],"e":1e400}'
    assert values.data_text(v, spaced=True) == '{"a": [1, 2, null, true, {"b": "x\\ny"}], "c": {}, "d": [], "e": 1e400}'
    assert values.data_text(frozenset({"b", "a"})) == '["a","b"]'
    assert values.data_text(values.MISSING) == "missing"


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl"])
def test_a_record_whose_value_nests_deep_is_invalid_not_a_crash(tmp_path: Path, fmt: str) -> None:
    """The value of a field nested as deep as the reader allows (1,000 levels): an
    invalid finding in every format, with the value shown, never an internal error."""
    from helpers import rubric as run_rubric

    rub = tmp_path / "r.rubric"
    rub.write_text('rubric "d" version "1"\nlabel tone: enum {calm, angry} from tone\n', encoding="utf-8")
    deep = b"[" * 990 + b"]" * 990
    data = _write(tmp_path / "d.jsonl", [b'{"tone": "calm"}', b'{"tone": ' + deep + b'}', b'{"tone": "x"}'])
    res = run_rubric("check", str(rub), data, "--format", fmt, text=True)
    assert res.returncode == 1, res.stderr
    assert "internal error" not in res.stderr
    if fmt == "text":
        assert "invalid 2" in res.stdout
        return
    found = ([json.loads(x) for x in res.stdout.splitlines() if x.strip()] if fmt == "jsonl"
             else json.loads(res.stdout)["findings"])
    found = [f for f in found if f.get("kind") == "invalid"]
    assert [f["line"] for f in found] == [2, 3]
    assert found[0]["value"] == "[" * 990 + "]" * 990


def _write(path: Path, lines: list[bytes]) -> str:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return str(path)


def test_the_reference_interpreter_agrees_on_huge_numbers() -> None:
    rubric = rubricdsl.loads(RUBRIC.replace("consensus tone { min annotators 2 }\n", "").replace(
        "record { id = id  item = item  annotator = who }", "record { id = id }"))
    for line in (b'{"id": "a", "score": 1e400, "tone": "angry"}', b'{"id": "b", "score": 5, "tone": -1e400}',
                 b'{"id": "c", "score": 1e400, "tone": 1e400}', b'{"id": "d", "score": 4.0, "tone": "angry",'
                 b' "x": 1e400}'):
        rec, why = read_line(line)
        assert why is None
        assert evaluate(rubric.ir, rec) == (rubric.compiled.check(rec) or []), line


def test_huge_numbers_in_parallel_and_sequential_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rubric = rubricdsl.loads(RUBRIC)
    lines = []
    for i in range(3000):
        score = b"1e400" if i % 7 == 0 else str(1 + i % 5).encode()
        lines.append(b'{"id": "r%d", "item": %d, "who": "a%d", "score": %s, "tone": "%s"}'
                     % (i, i // 2, i % 2, score, b"angry" if i % 3 else b"calm"))
        if i % 500 == 0:
            lines.append(b'{"id": "bad", "score": NaN}')
    data = _write(tmp_path / "huge.jsonl", lines)
    outs = {}
    for jobs in (1, 2):
        monkeypatch.setattr(runtime, "PARALLEL_MIN_BYTES", 1)
        monkeypatch.setattr(runtime, "CHUNK_BYTES", 16 << 10)
        found: list[bytes] = []
        stats = runtime.run(rubric.compiled, [data], found.append, jobs=jobs, encode=orjson.dumps)
        outs[jobs] = (found, stats.counts, stats.records, stats.items)
    assert outs[1] == outs[2]
    found, counts, records, items = outs[1]
    invalid = [json.loads(f) for f in found if json.loads(f)["kind"] == "invalid"]
    assert len(invalid) == sum(1 for i in range(3000) if i % 7 == 0)
    assert {f["value"] for f in invalid} == {"1e400"}
    assert counts["unreadable"] == 6 and records == 3006
    assert items == 1500  # records with a huge score still belong to their item


def test_an_item_whose_label_is_huge_counts_the_record_but_not_the_judgment(tmp_path: Path) -> None:
    rubric = rubricdsl.loads(RUBRIC)
    data = _write(tmp_path / "item.jsonl", [
        b'{"id": "a", "item": 1e400, "who": "x", "score": 1, "tone": "calm"}',
        b'{"id": "b", "item": 1e400, "who": "y", "score": 1, "tone": 1e400}',
        b'{"id": "c", "item": 2, "who": "x", "score": 1, "tone": "calm"}',
    ])
    report = rubric.check_files(data)
    got = sorted((f.kind, f.record, f.label) for f in report.findings)
    assert got == [("invalid", "b", "tone"), ("violation", "2", "tone")]
    assert report.summary.items == 2
