"""Item checks as data: tests/cases/items/*.yaml.

Each file holds a rubric with `consensus` or `per item` checks and tests, each a list
of records with the item findings they must produce (`expect`) and, optionally, the
record findings (`record_findings`; when absent, the records must have none).

An expected finding compares `kind`, `rule`, `label`, `target`, `record` exactly
(absent means null, except `record`) and, when given, `severity`, `cause`, `arms`,
`values` and `line`; `lines` lists the line numbers of the item's records.

Every test runs four ways that must agree: through the Python API, through JSONL
files in input order, with grouping forced onto disk (SQLite), and with the records
shuffled across two files (item findings then sit at the new first record).
"""
from __future__ import annotations

import json
import random
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

import rubricdsl
from rubricdsl.engine import items as items_mod
from rubricdsl.engine.runtime import run

CASES = Path(__file__).resolve().parent / "cases" / "items"
EXACT = ("kind", "rule", "label", "target", "record")
OPTIONAL = ("severity", "cause", "arms", "values", "line", "aggregates")


@lru_cache(maxsize=None)
def _doc(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _rubric(path: Path) -> rubricdsl.Rubric:
    return rubricdsl.loads(_doc(path)["rubric"], name=path.name)


def _params() -> list[Any]:
    return [pytest.param(p, i, id=f"{p.stem}-{i + 1}")
            for p in sorted(CASES.glob("*.yaml")) for i in range(len(_doc(p)["tests"]))]


def _matches(exp: dict[str, Any], got: dict[str, Any]) -> bool:
    for k in EXACT:
        if k == "record" and k not in exp:
            continue
        want = exp.get(k)
        if got.get(k) != (str(want) if k == "record" and want is not None else want):
            return False
    for k in OPTIONAL:
        if k in exp and got.get(k) != exp[k]:
            return False
    if "lines" in exp and [x["line"] for x in got["lines"]] != exp["lines"]:
        return False
    return True


def _assert_findings(expected: list[dict], got: list[dict], what: str) -> None:
    left = list(got)
    missing = []
    for exp in expected:
        hit = next((g for g in left if _matches(exp, g)), None)
        if hit is None:
            missing.append(exp)
        else:
            left.remove(hit)
    assert not missing and not left, f"{what}\n missing: {missing}\n unexpected: {left}"


def _write(tmp: Path, name: str, recs: list[dict]) -> str:
    p = tmp / name
    p.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    return str(p)


@pytest.mark.parametrize("path,index", _params())
def test_item_case(path: Path, index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    test = _doc(path)["tests"][index]
    rubric = _rubric(path)
    records = test["records"]
    expected = test["expect"]
    record_expected = test.get("record_findings", [])

    report = rubric.check_records(records)
    found = [f.model_dump(exclude_none=True) for f in report.findings]
    _assert_findings(expected, [f for f in found if "lines" in f], "API: item findings")
    _assert_findings(record_expected, [f for f in found if "lines" not in f], "API: record findings")
    assert report.summary.items == len({str(items_mod.id_text(r.get("item") or (r.get("meta") or {}).get("item")))
                                        for r in records
                                        if (r.get("item") if "item" in r else (r.get("meta") or {}).get("item"))
                                        is not None})

    data = _write(tmp_path, "data.jsonl", records)
    by_file: list[dict] = []
    stats = run(rubric.compiled, [data], by_file.append)
    _assert_findings(expected, [f for f in by_file if "lines" in f], "files: item findings")
    _assert_findings(record_expected, [f for f in by_file if "lines" not in f], "files: record findings")
    summary = report.summary.model_dump()
    assert stats.counts == {k: summary[k] for k in stats.counts}
    assert stats.items == summary["items"]

    # grouping on disk gives the very same findings, in the same order
    monkeypatch.setattr(items_mod, "MEMORY_ROWS", 1)
    spilled: list[dict] = []
    run(rubric.compiled, [data], spilled.append)
    assert spilled == by_file


@pytest.mark.parametrize("path,index", _params())
def test_item_case_shuffled(path: Path, index: int, tmp_path: Path) -> None:
    """The same records shuffled over two files: the same item findings, each at its
    item's first record in the new order."""
    test = _doc(path)["tests"][index]
    rubric = _rubric(path)
    order = list(range(len(test["records"])))
    random.Random(index).shuffle(order)
    half = len(order) // 2
    files = [_write(tmp_path, "a.jsonl", [test["records"][i] for i in order[:half]]),
             _write(tmp_path, "b.jsonl", [test["records"][i] for i in order[half:]])]
    place = {i: (files[0] if k < half else files[1], k + 1 if k < half else k - half + 1) for k, i in enumerate(order)}
    got: list[dict] = []
    run(rubric.compiled, files, got.append)
    items_got = [f for f in got if "lines" in f]
    expected = []
    for exp in test["expect"]:
        e = {k: v for k, v in exp.items() if k not in ("line", "lines")}
        expected.append(e)
    _assert_findings(expected, items_got, "shuffled: item findings")
    for f in items_got:
        locs = [(x["file"], x["line"]) for x in f["lines"]]
        assert (f["file"], f["line"]) == locs[0]
        assert len(locs) == len(set(locs))
        assert all(loc in place.values() for loc in locs)


RUBRIC = '''rubric "big" version "1"
record { id = id  item = item  annotator = who }
label harm: set {violence, hate}
label safety: enum {safe, borderline, unsafe}
decide safety {
  when harm is empty -> safe
  when harm is not empty -> borderline, unsafe
}
consensus safety { min annotators 3  min agreement 0.67 }
escalate lead split "no clear majority" per item { when agreement(safety) < 0.5 }
'''


@pytest.mark.slow
def test_parallel_and_spilled_items_give_identical_output(tmp_path: Path) -> None:
    """A shuffled file big enough to be split between processes: -j 1, -j 2 and -j 2
    with grouping on disk write the same bytes."""
    import os
    import subprocess
    import sys

    from rubricdsl.engine import runtime

    rng = random.Random(7)
    lines = []
    n_items = 12_000
    for i in range(n_items):
        for a in range(rng.choice((2, 3, 3, 3))):
            harm = rng.choice(([], [], ["hate"], ["violence", "hate"]))
            safety = rng.choice(("safe", "safe", "borderline", "unsafe")) if harm else rng.choice(("safe",) * 5 + ("unsafe",))
            lines.append(json.dumps({"id": f"{i}-{a}", "item": i, "who": f"ann{rng.randrange(6)}", "harm": harm,
                                     "safety": safety, "text": "x" * rng.randrange(300, 700)}))
    rng.shuffle(lines)
    lines.insert(len(lines) // 2, "{not json")
    big = tmp_path / "big.jsonl"
    big.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert big.stat().st_size > runtime.PARALLEL_MIN_BYTES
    rubric = tmp_path / "big.rubric"
    rubric.write_text(RUBRIC, encoding="utf-8")
    outs = {}
    for name, jobs, mem in (("seq", "1", ""), ("par", "2", ""), ("disk", "2", "5000")):
        env = dict(os.environ, RUBRIC_ITEM_MEMORY_ROWS=mem)
        out = tmp_path / f"{name}.jsonl"
        proc = subprocess.run([sys.executable, "-m", "rubricdsl", "check", str(rubric), str(big), "--format",
                               "jsonl", "-j", jobs, "-o", str(out)], capture_output=True, env=env, timeout=600)
        assert proc.returncode == 1, proc.stderr
        outs[name] = out.read_bytes()
    assert outs["seq"] == outs["par"] == outs["disk"]
    found = [json.loads(x) for x in outs["seq"].splitlines()]
    summary = found[-1]["summary"]
    assert summary["records"] == len(lines)
    assert summary["items"] == n_items
    item_findings = [f for f in found[:-1] if "lines" in f]
    assert {f["record"] for f in item_findings} <= {str(i) for i in range(n_items)}
    assert sum(len(f["lines"]) for f in item_findings if f["rule"] == "split") > 0
    # every item finding sits at its item's first record, and the item findings come in that order
    firsts = [(f["file"], f["line"]) for f in item_findings]
    assert firsts == sorted(firsts)


def test_grouping_on_an_unwritable_disk_is_a_data_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk that refuses the temporary file is a DataError (the CLI prints it on one
    line and exits 2), never a traceback."""
    import tempfile

    from rubricdsl.engine.reading import DataError

    rubric = rubricdsl.loads(RUBRIC)
    data = _write(tmp_path, "d.jsonl", [{"id": str(i), "item": i % 7, "who": f"a{i % 3}", "harm": [],
                                         "safety": "safe"} for i in range(50)])
    monkeypatch.setattr(items_mod, "MEMORY_ROWS", 5)

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setattr(tempfile, "tempdir", str(blocker))  # the temporary directory cannot be made there
    with pytest.raises(DataError, match="cannot group items"):
        run(rubric.compiled, [data], lambda f: None)


# ---- compiled item checks against the reference interpreter --------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rubricdsl.engine.evaluate import cond as reference_cond  # noqa: E402

AGG_RUBRIC = _rubric(CASES / "aggregates.yaml")

_record = st.fixed_dictionaries({
    "who": st.sampled_from(["a", "b", "c", None]),
    "safety": st.sampled_from(["safe", "unsafe", "oops", None]),
    "score": st.sampled_from([1, 2, 3, 4, 5, 9, None]),
    "level": st.sampled_from(["low", "mid", "high", None]),
    "tags": st.sampled_from([[], ["a"], ["b"], ["a", "b"], ["a", "a"], None]),
    "flag": st.sampled_from([True, False, None]),
})


@settings(max_examples=150, deadline=None)
@given(st.lists(_record, min_size=1, max_size=6))
def test_compiled_item_checks_match_the_reference(recs: list[dict]) -> None:
    rubric = AGG_RUBRIC
    records = [{"item": "x", **{k: v for k, v in r.items() if v is not None}} for r in recs]
    got = {(f.kind, f.rule) for f in rubric.check_records(records).findings if f.lines}
    # the reference: the same rows, the interpreter over the IR for every per item check
    compiled = rubric.compiled
    ic = items_mod.ItemChecker(rubric.ir, compiled.plan)
    feed = items_mod.RowMaker(rubric.ir).feeder(ic.add)
    for n, rec in enumerate(records, 1):
        res, row = compiled.check_row(rec)
        feed(rec, res, row, "f", n)
    [(key, rows)] = list(ic.each())
    view = items_mod.ItemView(items_mod.Layout(compiled.plan), rows)
    want = set()
    for r in rubric.ir.item_rules:
        if (r.when is None or reference_cond(r.when, view)) and not reference_cond(r.require, view):
            want.add(("violation", r.name))
    for e in rubric.ir.item_escalations:
        if reference_cond(e.when, view):
            want.add(("escalation", e.name))
    assert got == want
