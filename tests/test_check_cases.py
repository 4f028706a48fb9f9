"""Semantic cases as data: tests/cases/check/*.yaml.

Each file holds a rubric and records with the findings they must produce. A record is
a JSON object (checked with `Rubric.check_dicts`) or a raw line string (written to a
JSONL file and read with `Rubric.check_files`, so that the reader's rules apply).

An expected finding is a mapping with `kind` and, optionally, `rule`, `label`,
`target` (each compared exactly, an absent key meaning null), `arms` (compared as a
sorted list, only when given) and `severity`, `record`, `criterion`, `line`, `message`
`value`, `judgment`, `annotator` and `context` (compared only when given; `null` for
`annotator` or `context` means the finding has none). Findings are compared as a multiset. A test may carry
`xfail: REASON` when the implementation contradicts the language brief; it is then
run as a strict xfail.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

import rubricdsl

CASES = Path(__file__).resolve().parent / "cases" / "check"
KINDS = {"violation", "uncovered", "ambiguous", "invalid", "unreadable", "escalation"}
EXACT_KEYS = ("kind", "rule", "label", "target")
OPTIONAL_KEYS = ("arms", "severity", "record", "criterion", "line", "message", "value", "judgment", "annotator",
                 "context")
TEST_KEYS = {"description", "record", "expect", "line", "xfail"}


def _files() -> list[Path]:
    return sorted(CASES.glob("*.yaml"))


@lru_cache(maxsize=None)
def _doc(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _rubric(path: Path) -> rubricdsl.Rubric:
    return rubricdsl.loads(_doc(path)["rubric"], name=path.name)


def _params() -> list[Any]:
    params = []
    for path in _files():
        for i, test in enumerate(_doc(path).get("tests") or []):
            marks = []
            if test.get("xfail"):
                marks.append(pytest.mark.xfail(strict=True, reason=str(test["xfail"])))
            params.append(pytest.param(path, i, id=f"{path.stem}-{i + 1}", marks=marks))
    return params


def _key(f: dict[str, Any]) -> tuple:
    return tuple(f.get(k) for k in EXACT_KEYS)


def _matches(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    if _key(expected) != _key(actual):
        return False
    for k in OPTIONAL_KEYS:
        if k not in expected:
            continue
        want, got = expected[k], actual.get(k)
        if k == "arms":
            if got is None or sorted(want) != sorted(got):
                return False
        elif want != got:
            return False
    return True


def _compare(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> tuple[list, list]:
    """Multiset matching: the more specific expectations pick their finding first."""
    left = list(actual)
    unmatched = []
    for exp in sorted(expected, key=lambda e: -sum(k in e for k in OPTIONAL_KEYS)):
        for i, act in enumerate(left):
            if _matches(exp, act):
                del left[i]
                break
        else:
            unmatched.append(exp)
    return unmatched, left


def _run(path: Path, test: dict[str, Any], tmp_path: Path) -> list[dict[str, Any]]:
    rubric = _rubric(path)
    record = test["record"]
    line = int(test.get("line", 1))
    if isinstance(record, str):
        data = tmp_path / "record.jsonl"
        data.write_bytes(b"\n" * (line - 1) + record.encode("utf-8") + b"\n")
        report = rubric.check_files(data)
        assert report.summary.records == 1
        return [f.model_dump() for f in report.findings]
    assert isinstance(record, dict), "a record is a JSON object or a raw line string"
    return rubric.check_dicts(record, line=line)


@pytest.mark.parametrize(("path", "index"), _params())
def test_case(path: Path, index: int, tmp_path: Path) -> None:
    test = _doc(path)["tests"][index]
    actual = _run(path, test, tmp_path)
    expected = test["expect"] or []
    unmatched, unexpected = _compare(expected, actual)
    if unmatched or unexpected:
        shown = [{k: f.get(k) for k in (*EXACT_KEYS, "arms", "severity", "record", "message")} for f in actual]
        pytest.fail(
            f"{path.name}: {test['description']}\n"
            f"  record:     {test['record']!r}\n"
            f"  missing:    {unmatched}\n"
            f"  unexpected: {[{k: f.get(k) for k in (*EXACT_KEYS, 'arms')} for f in unexpected]}\n"
            f"  all found:  {shown}"
        )


# ---- the case files themselves --------------------------------------------------------


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.stem)
def test_case_file_is_well_formed(path: Path) -> None:
    doc = _doc(path)
    assert set(doc) == {"description", "rubric", "tests"}, path.name
    assert isinstance(doc["description"], str) and doc["description"].strip()
    assert isinstance(doc["rubric"], str) and doc["rubric"].startswith("rubric ")
    assert doc["tests"], f"{path.name} has no tests"
    for test in doc["tests"]:
        assert set(test) <= TEST_KEYS and {"description", "record", "expect"} <= set(test), test
        assert isinstance(test["record"], (dict, str)), test
        for exp in test["expect"] or []:
            assert exp["kind"] in KINDS, exp
            assert set(exp) <= set(EXACT_KEYS) | set(OPTIONAL_KEYS), exp
    _rubric(path)  # compiles without diagnostics


def test_enough_cases() -> None:
    n = sum(len(_doc(p)["tests"]) for p in _files())
    assert len(_files()) >= 10
    assert n >= 60, n


def test_comparison_is_a_multiset() -> None:
    """The comparison itself: duplicates count, arms only when given, absent keys are null."""
    f = {"kind": "escalation", "rule": "e", "label": None, "target": "t", "arms": None}
    assert _compare([{"kind": "escalation", "rule": "e", "target": "t"}], [f, f]) == ([], [f])
    assert _compare([{"kind": "escalation", "rule": "e"}], [f])[0]  # target absent = null: no match
    d = {"kind": "violation", "rule": "v", "label": "v", "target": None, "arms": ["arm 2", "arm 1"]}
    assert _compare([{"kind": "violation", "rule": "v", "label": "v"}], [d]) == ([], [])
    assert _compare([{"kind": "violation", "rule": "v", "label": "v", "arms": ["arm 1", "arm 2"]}], [d]) == ([], [])
    assert _compare([{"kind": "violation", "rule": "v", "label": "v", "arms": ["arm 1"]}], [d])[0]
