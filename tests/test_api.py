"""The Python API: load / loads, Rubric.check (pydantic findings), check_records,
check_files, examples, RubricError.diagnostics, and the grammar itself."""
from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest
from pydantic import BaseModel

import rubricdsl
from rubricdsl.language import syntax
from rubricdsl.core.diagnostics import Diagnostic, RubricError
from rubricdsl.engine.report import Finding, Report

DATA = Path(__file__).resolve().parent / "data"
RUBRIC = DATA / "cli.rubric"

SMALL = '''rubric "small" version "2"
record { id = id }
label ok: bool
label score: int 1..5
rule ok_when_high "a high score needs ok" { when score >= 4 require ok }
'''


def test_load_reads_a_file() -> None:
    r = rubricdsl.load(RUBRIC)
    assert r.name == "cli-sample" and r.version == "1.0"
    assert r.sha256 == hashlib.sha256(RUBRIC.read_bytes()).hexdigest()
    assert r.info()["file"] == str(RUBRIC)
    assert rubricdsl.load(str(RUBRIC)).sha256 == r.sha256


def test_load_missing_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        rubricdsl.load(tmp_path / "missing.rubric")


def test_loads_and_check_returns_pydantic_findings() -> None:
    r = rubricdsl.loads(SMALL)
    assert r.name == "small" and r.version == "2"
    findings = r.check({"id": "x1", "ok": False, "score": 5})
    assert len(findings) == 1
    f = findings[0]
    assert isinstance(f, Finding) and isinstance(f, BaseModel)
    assert (f.kind, f.rule, f.record, f.severity, f.line) == ("violation", "ok_when_high", "x1", "error", 1)
    assert f.message == "a high score needs ok"
    dumped = f.model_dump()
    assert dumped["kind"] == "violation" and dumped["label"] is None
    assert r.check({"id": "x2", "ok": True, "score": 5}) == []


def test_check_passes_file_and_line() -> None:
    r = rubricdsl.loads(SMALL)
    (f,) = r.check({"ok": "no", "score": 1}, file="batch.jsonl", line=12)
    assert (f.kind, f.label, f.file, f.line, f.record) == ("invalid", "ok", "batch.jsonl", 12, "12")


def test_check_dicts_matches_check() -> None:
    r = rubricdsl.loads(SMALL)
    rec = {"id": 3, "ok": False, "score": 4.0}
    assert [f.model_dump(exclude_none=True) for f in r.check(rec)] == [
        {k: v for k, v in d.items() if v is not None} for d in r.check_dicts(rec)]


def test_check_records_numbers_records_from_one() -> None:
    r = rubricdsl.loads(SMALL)
    report = r.check_records([{"ok": True, "score": 5}, ["not", "an", "object"], {"ok": False, "score": 4}])
    assert isinstance(report, Report)
    assert report.summary.records == 3
    assert report.summary.unreadable == 1 and report.summary.violation == 1
    assert [(f.kind, f.line, f.record) for f in report.findings] == [("unreadable", 2, "2"), ("violation", 3, "3")]


def test_check_files(tmp_path: Path) -> None:
    r = rubricdsl.load(RUBRIC)
    gz = tmp_path / "clean.jsonl.gz"
    gz.write_bytes(gzip.compress((DATA / "clean.jsonl").read_bytes()))
    report = r.check_files(DATA / "mixed.jsonl", gz)
    assert report.files == [str(DATA / "mixed.jsonl"), str(gz)]
    assert report.summary.records == 9 + 2
    counts = {k: getattr(report.summary, k) for k in ("violation", "uncovered", "ambiguous", "invalid",
                                                        "unreadable", "escalation")}
    assert counts == {"violation": 3, "uncovered": 1, "ambiguous": 1, "invalid": 2, "unreadable": 1, "escalation": 1}
    assert all(f.file == str(DATA / "mixed.jsonl") for f in report.findings)
    assert report.rubric.name == "cli-sample"


def test_rubric_error_carries_every_diagnostic() -> None:
    text = SMALL + 'rule a "x" { require scor > 1 }\nrule b "y" { require ok == maybe }\n'
    with pytest.raises(RubricError) as info:
        rubricdsl.loads(text, name="two.rubric")
    diags = info.value.diagnostics
    assert all(isinstance(d, Diagnostic) for d in diags)
    assert [(d.code, d.line) for d in diags] == [("RB101", 6), ("RB101", 7)]
    assert diags[0].file == "two.rubric" and diags[0].column == 22
    assert "did you mean `score`?" in diags[0].message
    assert "two.rubric:6:22" in info.value.render()


def test_rubric_error_is_exported() -> None:
    assert rubricdsl.RubricError is RubricError
    assert issubclass(RubricError, Exception)


def test_bom_and_crlf_rubric_text() -> None:
    text = "\ufeff" + SMALL.replace("\n", "\r\n")
    r = rubricdsl.loads(text)
    assert [f.kind for f in r.check({"ok": False, "score": 4})] == ["violation"]
    with pytest.raises(RubricError) as info:
        rubricdsl.loads(text + 'rule c "z" { require nope }\r\n')
    assert [(d.line, d.column) for d in info.value.diagnostics] == [(6, 22)]


def test_examples_compare_sets_of_kind_and_name() -> None:
    text = '''rubric "examples" version "1"
input domain: enum {general, medical} optional
label safety: enum {safe, unsafe}
label a: bool optional
label b: bool optional
label n: int 1..3 optional
decide safety {
  when a -> safe
  when b -> unsafe
}
rule n_needs_a "n needs a" { when n is present require a }
escalate clinician medical "medical" { when domain == medical }
example "pass" { given { safety: safe, a: true } expect pass }
example "uncovered" { given { safety: safe } expect uncovered safety }
example "ambiguous" { given { safety: safe, a: true, b: true } expect ambiguous safety }
example "decision and rule" { given { safety: safe, a: false, b: true, n: 2 } expect violation safety, violation n_needs_a }
example "invalid and escalation" { given { safety: safe, a: true, n: 7, domain: medical }
  expect invalid n
  expect escalation clinician }
example "wrong" { given { safety: safe, a: true } expect violation safety }
'''
    results = {res.title: res for res in rubricdsl.loads(text).test()}
    assert {t: res.passed for t, res in results.items()} == {
        "pass": True, "uncovered": True, "ambiguous": True, "decision and rule": True,
        "invalid and escalation": True, "wrong": False}
    wrong = results["wrong"]
    assert wrong.expected == [("violation", "safety")] and wrong.got == []


def test_regexes_run_on_a_linear_time_engine() -> None:
    """Patterns that make a backtracking engine explode give the right answers on long
    input, and a pattern only a backtracking engine can run (a backreference) is refused
    when the rubric compiles: the engine is RE2's automaton, linear in the text. How the
    time grows with the text is measured in bench/regex_scale.py."""
    r = rubricdsl.loads('rubric "re" version "1"\nlabel t: text\n'
                        'escalate e slow "x" { when t matches /^(a+)+$/ or t matches /(a|aa)*c/ }\n')
    assert r.check({"t": "a" * 50_000 + "!"}) == []
    assert [f.rule for f in r.check({"t": "a" * 50_000})] == ["slow"]
    assert [f.rule for f in r.check({"t": "a" * 50_000 + "c"})] == ["slow"]
    with pytest.raises(rubricdsl.RubricError) as caught:
        rubricdsl.loads('rubric "re" version "1"\nlabel t: text\n'
                        'escalate e slow "x" { when t matches /(a+)\\1/ }\n')
    assert [d.code for d in caught.value.diagnostics] == ["RB105"]


def test_grammar_builds_with_strict_true() -> None:
    parser = syntax.build_parser(strict=True)
    tree = parser.parse(SMALL)
    assert tree.data == "start"


def test_grammar_path_in_the_source_tree() -> None:
    path = syntax.grammar_path()
    assert path.name == "rubric.lark" and path.is_file()
    assert "start:" in path.read_text(encoding="utf-8")


def test_version() -> None:
    assert rubricdsl.__version__ == "0.1.0"


def test_item_level_constructs_compile_and_check() -> None:
    r = rubricdsl.loads('''rubric "items" version "1"
record { id = id  item = item_id  annotator = annotator }
label safety: enum {safe, unsafe}
consensus safety { min annotators 2  min agreement 0.67 }
rule agree "annotators agree" per item { require agreement(safety) >= 0.5 }
''')
    recs = [{"id": "1", "item_id": "x", "annotator": "a", "safety": "safe"},
            {"id": "2", "item_id": "x", "annotator": "b", "safety": "unsafe"},
            {"id": "3", "item_id": "y", "annotator": "a", "safety": "safe"}]
    report = r.check_records(recs)
    got = sorted((f.kind, f.record, f.rule, getattr(f, "cause", None)) for f in report.findings)
    # x: 1/2 agree (below 0.67, undecided: no decide), and 0.5 >= 0.5 holds; y: one annotator
    assert got == [("ambiguous", "x", "consensus", "undecided"), ("violation", "y", "consensus", None)]
    assert report.summary.model_dump()["items"] == 2


def test_ids_and_items_beyond_64_bits_from_python() -> None:
    """JSON files cannot hold them (orjson reads them as floats), but Python dicts can."""
    r = rubricdsl.loads('rubric "x" version "1"\nrecord { id = id  item = item }\nlabel v: bool\n'
                        'consensus v { min annotators 2 }\n')
    assert r.check_dicts({"id": 2**70, "v": 1})[0]["record"] == str(2**70)
    report = r.check_records([{"id": 1, "item": 2**80, "v": True}])
    assert [(f.record, f.rule) for f in report.findings] == [(str(2**80), "consensus")]
