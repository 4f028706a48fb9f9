"""The run on its own: `RecordChecker`, the one path from a record to its findings
that `rubric check`, the Python API and `rubric diff --data` share."""
from __future__ import annotations

import collections
import dataclasses
import json
import tempfile
from pathlib import Path

import pytest

import rubricdsl
from rubricdsl.engine.codegen import compile_rubric
from rubricdsl.engine.runtime import RecordChecker, Stats, run

ROOT = Path(__file__).resolve().parents[1]
SAFETY = ROOT / "rubrics" / "response-safety"


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in _lines(path) if line.strip()]


def test_json_lines_and_python_objects_give_the_same_findings() -> None:
    """The same records as lines of JSON and as dicts: the same findings, counts and items."""
    rubric = rubricdsl.load(SAFETY / "response-safety.rubric")
    data = SAFETY / "multi-annotator.jsonl"
    from_lines: list[dict] = []
    a = RecordChecker(rubric.compiled, from_lines.append)
    last, blank = a.lines(_lines(data), "data.jsonl", 0)
    a.stats.records += last - blank
    a.finish()
    a.close()
    from_objects: list[dict] = []
    b = RecordChecker(rubric.compiled, from_objects.append)
    b.records(_records(data), "data.jsonl")
    b.finish()
    b.close()
    assert from_lines == from_objects
    assert a.stats == b.stats
    assert a.stats.items and a.stats.items == b.stats.items
    kinds = collections.Counter(f["kind"] for f in from_lines)
    assert {k: v for k, v in a.stats.counts.items() if v} == dict(kinds)
    assert any(f.get("lines") for f in from_lines)  # item findings are there, counted too


def test_the_api_the_run_and_the_checker_agree(tmp_path: Path) -> None:
    rubric = rubricdsl.load(SAFETY / "response-safety.rubric")
    data = SAFETY / "multi-annotator.jsonl"
    via_run: list[dict] = []
    stats = run(rubric.compiled, [str(data)], via_run.append)
    report = rubric.check_records(_records(data), file=str(data))
    assert [f.model_dump(exclude_none=True) for f in report.findings] == \
        [{k: v for k, v in f.items() if v is not None} for f in via_run]
    assert report.summary.records == stats.records
    assert report.summary.items == stats.items


def test_objects_that_are_not_records_are_unreadable_and_counted() -> None:
    rubric = rubricdsl.loads('rubric "r" version "1"\nlabel ok: bool\nrule must "ok" { require ok }', "r.rubric")
    found: list[dict] = []
    checker = RecordChecker(rubric.compiled, found.append)
    last = checker.records([{"ok": True}, "a string", [1, 2], None, {"ok": False}], "objects")
    assert last == 5 and checker.stats.records == 5
    assert [(f["line"], f["kind"]) for f in found] == [(2, "unreadable"), (3, "unreadable"), (4, "unreadable"),
                                                         (5, "violation")]
    assert checker.stats.counts["unreadable"] == 3 and checker.stats.with_findings == 4


def test_a_dict_of_a_subclass_is_read_as_a_record() -> None:
    rubric = rubricdsl.loads('rubric "r" version "1"\nrecord { id = key }\nlabel ok: bool\n'
                             'rule must "ok" { require ok }', "r.rubric")
    found: list[dict] = []
    RecordChecker(rubric.compiled, found.append).records([collections.OrderedDict(key="k1", ok=False)], "x")
    assert [(f["kind"], f["record"], f["fields"]) for f in found] == [("violation", "k1", {"ok": False})]


def test_item_findings_can_go_elsewhere_uncounted() -> None:
    rubric = rubricdsl.load(SAFETY / "response-safety.rubric")
    records: list[dict] = []
    items: list[dict] = []
    checker = RecordChecker(rubric.compiled, records.append)
    checker.records(_records(SAFETY / "multi-annotator.jsonl"), "data.jsonl")
    before = dict(checker.stats.counts)
    checker.finish(items.append)
    checker.close()
    assert items and all(f.get("lines") for f in items)
    assert not any(f.get("lines") for f in records)
    assert checker.stats.counts == before


def test_arm_counts_from_the_checker_and_from_rows_are_the_same() -> None:
    rubric = rubricdsl.load(ROOT / "rubrics" / "medical-labeling" / "medical-labeling.rubric")
    assert not rubric.ir.has_items
    compiled = compile_rubric(rubric.ir, all_decides=True)
    lines = _lines(ROOT / "rubrics" / "medical-labeling" / "sample.jsonl")
    counting = RecordChecker(compiled, lambda f: None, arm_counts=True)
    assert counting.counting
    counting.lines(lines, "sample.jsonl", 0)
    counting.finish()
    rows = RecordChecker(dataclasses.replace(compiled, check_count=None), lambda f: None, arm_counts=True)
    assert not rows.counting
    rows.lines(lines, "sample.jsonl", 0)
    rows.finish()
    assert counting.stats.arm_counts == rows.stats.arm_counts
    assert sum(counting.stats.decided) > 0
    # a second run counts afresh: the counters are the checker's, not the run's
    again = RecordChecker(compiled, lambda f: None, arm_counts=True)
    again.lines(lines, "sample.jsonl", 0)
    again.finish()
    assert again.stats.arm_counts == counting.stats.arm_counts


def test_arm_counts_need_a_rubric_compiled_for_them() -> None:
    rubric = rubricdsl.load(ROOT / "rubrics" / "tone-intent" / "tone-intent.rubric")
    with pytest.raises(ValueError, match="all_decides"):
        RecordChecker(compile_rubric(rubric.ir), lambda f: None, arm_counts=True)


def test_close_removes_the_items_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows spilled to disk (no row kept in memory) go with `close`, whatever happened."""
    monkeypatch.setenv("RUBRIC_ITEM_MEMORY_ROWS", "0")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    rubric = rubricdsl.load(SAFETY / "response-safety.rubric")
    checker = RecordChecker(rubric.compiled, lambda f: None)
    checker.records(_records(SAFETY / "multi-annotator.jsonl"), "data.jsonl")
    assert list(tmp_path.iterdir())  # the rows are in a temporary SQLite file
    checker.close()
    assert list(tmp_path.iterdir()) == []
    checker.close()  # twice is fine


def test_a_custom_item_collector_receives_every_row() -> None:
    rubric = rubricdsl.load(SAFETY / "response-safety.rubric")
    records = _records(SAFETY / "multi-annotator.jsonl")

    class Collector:
        items = 0

        def __init__(self) -> None:
            self.rows: list[tuple] = []
            self.finished = self.closed = False

        def add(self, key: str, row: tuple) -> None:
            self.rows.append((key, row))

        def finish(self, emit) -> None:
            self.finished = True
            self.items = len({k for k, _ in self.rows})

        def close(self) -> None:
            self.closed = True

    collector = Collector()
    checker = RecordChecker(rubric.compiled, lambda f: None, Stats(), items=collector)
    checker.records(records, "data.jsonl")
    checker.finish()
    checker.close()
    assert len(collector.rows) == sum(1 for r in records if r.get("item") is not None)
    assert collector.finished and collector.closed and checker.stats.items == collector.items > 0
