"""Item checks with several processes: the rows of items are partitioned by item and
each partition is judged by a worker. Whatever the input (items spread over many files
and parts, unreadable lines, judgments inside records, one-judgment items, item values
of different JSON types, items too large for memory), the findings, their order, their
`lines` and every count are those of one process; the temporary files go at the end,
also on an error or Ctrl-C."""
from __future__ import annotations

import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest

import rubricdsl
from rubricdsl.engine import items as items_mod
from rubricdsl.engine import runtime
from rubricdsl.engine.runtime import Interrupted

RUBRIC = '''rubric "items" version "1"
record { id = id  item = item  annotator = who }
label harm: set {violence, hate}
label safety: enum {safe, borderline, unsafe}
label score: scale 1..5 optional
decide safety {
  when harm is empty -> safe
  when harm is not empty -> borderline, unsafe
}
consensus safety { min annotators 2  min agreement 0.67 }
rule calm "scores stay within two points" per item severity warning { require spread(score) <= 2 }
escalate lead split "no clear majority" per item { when agreement(safety) < 0.5 or judgments == 1 }
'''

EACH_RUBRIC = '''rubric "each" version "1"
record {
  id        = id
  item      = task
  each      = annotations
  annotator = @who
}
label safety: enum {safe, unsafe} from @safety
label score: scale 1..5 from @score optional
consensus safety { min annotators 2  min agreement 0.67 }
rule calm "scores stay within two points" per item { require spread(score) <= 2 }
'''

# item values that are one item (`id_text`): 1, 1.0 and "1"; true and "true"
SAME_ITEMS = [[1, 1.0, "1"], [True, "true"], [[1, 2], "[1,2]"], [{"a": 1}, '{"a":1}'], [2 ** 70, str(2 ** 70)]]


def _record(rng: random.Random, i: int, item: Any) -> dict:
    harm = rng.choice(([], [], ["hate"], ["violence", "hate"]))
    safety = rng.choice(("safe", "borderline", "unsafe")) if harm or rng.random() < 0.2 else "safe"
    rec = {"id": f"r{i}", "item": item, "who": f"a{rng.randrange(5)}", "harm": harm, "safety": safety,
           "pad": "x" * rng.randrange(0, 200)}
    if rng.random() < 0.8:
        rec["score"] = rng.randrange(1, 6)
    return rec


def _lines(n_items: int, seed: int) -> list[str]:
    """Records of items shuffled: items of one to four judgments, the values of
    `SAME_ITEMS` each spread over several records, a large item, unreadable lines,
    records without an item, and invalid values."""
    rng = random.Random(seed)
    recs: list[Any] = []
    for k in range(n_items):
        for _ in range(rng.choice((1, 1, 2, 3, 3, 4))):
            recs.append(_record(rng, len(recs), f"item-{k}" if k % 3 else k))
    for group in SAME_ITEMS:
        for n, v in enumerate(group):
            recs.append(_record(rng, len(recs), v))
            recs[-1]["score"] = 5 if n else 1  # a spread of 4: a finding for the item
    for _ in range(300):
        recs.append(_record(rng, len(recs), "big"))
    for _ in range(5):
        recs.append(_record(rng, len(recs), None))
    bad = _record(rng, len(recs), "item-2")
    bad["safety"] = "maybe"
    recs.append(bad)
    rng.shuffle(recs)
    lines = [json.dumps(r) for r in recs]
    for at in range(1, len(lines), max(1, len(lines) // 7)):  # not first: a file starting with [ is an array
        lines.insert(at, rng.choice(("{not json", "[1, 2]", '"text"')))
    return lines


def _write(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def parts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[int]:
    """Files split into many small parts; temporary files under the test's own
    directory. Returns the list that counts partitioned judgings in this process."""
    monkeypatch.setattr(runtime, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(runtime, "CHUNK_BYTES", 8 << 10)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    judged: list[int] = []
    real = items_mod.ItemChecker._finish_partitions

    def counted(self: items_mod.ItemChecker, *a: Any) -> None:
        judged.append(self.partitions)
        real(self, *a)

    monkeypatch.setattr(items_mod.ItemChecker, "_finish_partitions", counted)
    return judged


def _check(rubric: rubricdsl.Rubric, paths: list[str], jobs: int, encode: Any = None) -> tuple[list, tuple]:
    found: list = []
    stats = runtime.run(rubric.compiled, paths, found.append, jobs=jobs, encode=encode)
    return found, (stats.records, dict(stats.counts), dict(stats.by_severity), stats.with_findings, stats.items,
                   stats.files, stats.judgments)


def _leftovers(tmp_path: Path) -> list[str]:
    return sorted(os.listdir(tmp_path / "tmp"))


def test_items_over_many_files_and_parts_are_judged_as_in_one_process(parts, tmp_path: Path) -> None:
    rubric = rubricdsl.loads(RUBRIC, "items.rubric")
    lines = _lines(400, 1)
    third = len(lines) // 3
    paths = [_write(tmp_path / "a.jsonl", lines[:third]),
             _write(tmp_path / "small.jsonl", lines[third:third + 40]),  # below a part: read by the main process
             _write(tmp_path / "b.jsonl", lines[third + 40:])]
    one = _check(rubric, paths, 1)
    assert parts == []  # one process: no partitions
    for jobs in (2, 3):
        assert _check(rubric, paths, jobs) == one
    assert parts and all(n >= 4 for n in parts)  # judged in partitions, each time
    found, (records, counts, _, _, items, _, _) = one
    assert records == len(lines) and counts["unreadable"] >= 7
    item_findings = [f for f in found if "lines" in f]
    assert {f["rule"] for f in item_findings} >= {"consensus", "calm", "split"}
    # the order: by each item's first record, every record of the item in `lines`
    firsts = [(paths.index(f["file"]), f["line"]) for f in item_findings]
    assert firsts == sorted(firsts)
    assert all((f["file"], f["line"]) == (f["lines"][0]["file"], f["lines"][0]["line"]) for f in item_findings)
    big = [f for f in item_findings if f["record"] == "big"]
    assert big and len(big[0]["lines"]) == 300
    assert len({x["file"] for x in big[0]["lines"]}) == 3
    # item values of different types that are one item stay one item
    for group in SAME_ITEMS:
        key = items_mod.id_text(group[0])
        got = [f for f in item_findings if f["record"] == key]
        assert got and all(len(f["lines"]) == len(group) for f in got), key
    assert items == 400 + len(SAME_ITEMS) + 1


def test_a_file_of_many_parts_without_other_files(parts, tmp_path: Path) -> None:
    rubric = rubricdsl.loads(RUBRIC, "items.rubric")
    path = _write(tmp_path / "one.jsonl", _lines(300, 2))
    one = _check(rubric, [path], 1)
    assert _check(rubric, [path], 2) == one
    assert _check(rubric, [path, path], 3) == _check(rubric, [path, path], 1)  # a file given twice: twice the rows
    assert len(parts) == 2


def test_encoded_findings_are_counted_and_ordered_as_in_one_process(parts, tmp_path: Path) -> None:
    """`encode` (as `rubric check` gives it): partitions encode their findings where they
    are judged, and the counts are those of the findings."""
    rubric = rubricdsl.loads(RUBRIC, "items.rubric")
    path = _write(tmp_path / "one.jsonl", _lines(300, 3))
    one = _check(rubric, [path], 1, orjson.dumps)
    two = _check(rubric, [path], 2, orjson.dumps)
    assert two == one and parts
    assert all(isinstance(b, bytes) for b in two[0])
    decoded = [orjson.loads(b) for b in two[0]]
    assert sum(two[1][1].values()) == len(decoded)
    assert sum("lines" in f for f in decoded) > 20


def test_rows_beyond_memory_are_spilled_and_judged_the_same(parts, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Few rows held in memory: the main process writes its rows to partition files as it
    goes, and each partition's grouping moves to a temporary SQLite file."""
    rubric = rubricdsl.loads(RUBRIC, "items.rubric")
    lines = _lines(300, 4)
    paths = [_write(tmp_path / "a.jsonl", lines[:40]), _write(tmp_path / "b.jsonl", lines[40:])]
    one = _check(rubric, paths, 1)
    spills: list[int] = []
    real = items_mod.Grouper._spill
    monkeypatch.setattr(items_mod.Grouper, "_spill", lambda self: spills.append(1) or real(self))
    monkeypatch.setattr(items_mod, "MEMORY_ROWS", 25)
    monkeypatch.setattr(items_mod, "MIN_BLOCK_ROWS", 10)
    assert _check(rubric, paths, 1) == one
    assert spills  # -j 1: on disk too
    assert _check(rubric, paths, 2) == one
    assert _check(rubric, [paths[0]], 2) == _check(rubric, [paths[0]], 1)  # read by the main process alone
    assert len(parts) == 2
    assert _leftovers(tmp_path) == []


def test_judgments_inside_records(parts, tmp_path: Path) -> None:
    rubric = rubricdsl.loads(EACH_RUBRIC, "each.rubric")
    rng = random.Random(5)
    lines = []
    for i in range(600):
        anns = [{"who": f"a{rng.randrange(4)}", "safety": rng.choice(("safe", "safe", "unsafe", "oops")),
                 "score": rng.randrange(1, 6)} for _ in range(rng.randrange(0, 4))]
        lines.append(json.dumps({"id": i, "task": rng.choice((rng.randrange(150), str(rng.randrange(150)))),
                                 "annotations": anns if rng.random() > 0.02 else "none"}))
    lines.insert(100, "{oops")
    path = _write(tmp_path / "tasks.jsonl", lines)
    one = _check(rubric, [path], 1)
    for jobs in (2, 3):
        assert _check(rubric, [path], jobs) == one
    assert parts
    found = one[0]
    assert one[1][6] > 600  # judgments
    # a record holds several judgments of an item: it is in `lines` once
    multi = [f for f in found if "lines" in f and len(f["lines"]) != len({(x["file"], x["line"]) for x in f["lines"]})]
    assert multi == []
    assert any("lines" in f for f in found)


def test_temporary_files_go_at_the_end_on_an_error_and_on_ctrl_c(parts, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    rubric = rubricdsl.loads(RUBRIC, "items.rubric")
    path = _write(tmp_path / "one.jsonl", _lines(300, 6))
    made: list[str] = []
    real = items_mod.private_dir

    def spy(parent: str) -> str:
        made.append(real(parent))
        return made[-1]

    monkeypatch.setattr(items_mod, "private_dir", spy)
    if True:
        _check(rubric, [path], 2)
        assert len(made) == 1 and not os.path.exists(made[0])
        assert _leftovers(tmp_path) == []

        def failing(f: Any) -> None:
            if "lines" in f:  # an item finding: the partitions are judged
                raise OSError("disk full")

        with pytest.raises(OSError, match="disk full"):
            runtime.run(rubric.compiled, [path], failing, jobs=2)
        assert len(made) == 2 and _leftovers(tmp_path) == []

        def interrupted(f: Any) -> None:
            if "lines" in f:
                raise KeyboardInterrupt

        with pytest.raises(Interrupted):
            runtime.run(rubric.compiled, [path], interrupted, jobs=2)
        assert len(made) == 3 and _leftovers(tmp_path) == []

        n = [0]

        def early(f: Any) -> None:  # while records are read: rows are on disk already
            n[0] += 1
            if n[0] == 200:
                raise KeyboardInterrupt

        with pytest.raises(Interrupted):
            runtime.run(rubric.compiled, [path], early, jobs=2)
        assert len(made) == 4 and _leftovers(tmp_path) == []


def test_the_temporary_directory_is_private_and_apart_from_inputs(parts, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Partition files go in a new directory only this user can read, under the
    temporary directory: a data file named like them is never touched."""
    rubric = rubricdsl.loads(RUBRIC, "items.rubric")
    decoy = tmp_path / "tmp" / "p0.1"
    decoy.write_text("not mine")
    path = _write(tmp_path / "tmp" / "f0", _lines(200, 7))
    seen: list[tuple[str, int]] = []
    real = items_mod.ItemChecker.start_parts

    def spy(self: items_mod.ItemChecker, n: int) -> tuple[str, int, int]:
        got = real(self, n)
        seen.append((got[0], os.stat(got[0]).st_mode & 0o777))
        return got

    monkeypatch.setattr(items_mod.ItemChecker, "start_parts", spy)
    assert _check(rubric, [path], 2) == _check(rubric, [path], 1)
    assert seen and all(Path(d).parent == tmp_path / "tmp" and mode == 0o700 for d, mode in seen)
    assert decoy.read_text() == "not mine"
    assert _leftovers(tmp_path) == ["f0", "p0.1"]


def test_a_disk_that_refuses_partition_files_is_a_data_error(parts, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from rubricdsl.engine.reading import DataError

    rubric = rubricdsl.loads(RUBRIC, "items.rubric")
    path = _write(tmp_path / "one.jsonl", _lines(200, 8))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setattr(tempfile, "tempdir", str(blocker))
    with pytest.raises(DataError, match="cannot group items"):
        runtime.run(rubric.compiled, [path], lambda f: None, jobs=2)


def test_the_partition_of_an_item_does_not_depend_on_the_process() -> None:
    """Not Python's `hash` (salted per process): the same text, the same partition."""
    import subprocess
    import sys

    keys = ["item-1", "1", "true", "é", "\ud800", '{"a":1}']
    code = ("import sys, json; from rubricdsl.engine.items import partition_of; "
            "print(json.dumps([partition_of(k, 7) for k in json.loads(sys.argv[1])]))")
    runs = {subprocess.run([sys.executable, "-c", code, json.dumps(keys)], capture_output=True, text=True,
                           env=dict(os.environ, PYTHONHASHSEED=seed), check=True).stdout
            for seed in ("1", "2")}
    assert runs == {json.dumps([items_mod.partition_of(k, 7) for k in keys]) + "\n"}


def test_a_partition_whose_grouping_fails_on_disk_is_a_data_error(parts, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that groups a partition too large for memory, on a disk that refuses the
    temporary SQLite file: one DataError, and no temporary file left."""
    import sqlite3

    from rubricdsl.engine.reading import DataError

    rubric = rubricdsl.loads(RUBRIC, "items.rubric")
    path = _write(tmp_path / "one.jsonl", _lines(300, 9))
    monkeypatch.setattr(items_mod, "MEMORY_ROWS", 20)

    def full(self: items_mod.Grouper, batch: list) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(items_mod.Grouper, "_insert", full)  # the forked workers have it too
    with pytest.raises(DataError, match="cannot group items.*database or disk is full"):
        runtime.run(rubric.compiled, [path], lambda f: None, jobs=2)
    assert parts and _leftovers(tmp_path) == []
