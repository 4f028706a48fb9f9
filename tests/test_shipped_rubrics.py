"""The example rubrics in rubrics/: their examples pass, they lint clean (deliberate
warnings suppressed with a reason), they are in canonical layout, and each sample
exercises every kind of finding with at least 60 records."""
from __future__ import annotations

from pathlib import Path

import pytest
from helpers import rubric

import rubricdsl
from rubricdsl.language.fmt import format_text
from rubricdsl.analysis.lint import lint_text

ROOT = Path(__file__).resolve().parents[1]
RUBRICS = sorted((ROOT / "rubrics").glob("*/*.rubric"))
KINDS = {"violation", "uncovered", "ambiguous", "invalid", "unreadable", "escalation"}


def test_there_are_four_example_rubrics() -> None:
    assert {p.parent.name for p in RUBRICS} == {"response-safety", "pairwise-preference", "medical-labeling",
                                                "tone-intent"}


@pytest.mark.parametrize("path", RUBRICS, ids=lambda p: p.parent.name)
def test_examples_pass(path: Path) -> None:
    results = rubricdsl.load(path).test()
    assert len(results) >= 4
    assert all(r.passed for r in results), [(r.title, r.expected, r.got) for r in results if not r.passed]


@pytest.mark.parametrize("path", RUBRICS, ids=lambda p: p.parent.name)
def test_lints_clean_with_reasoned_suppressions(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    res = lint_text(text, str(path))
    assert res.diagnostics == [], [(d.code, d.line, d.message) for d in res.diagnostics]
    for line in text.splitlines():
        if "rubric: ignore[" in line:
            reason = line.split("]", 1)[1].strip()
            assert len(reason.split()) >= 4, f"a suppression without a reason: {line.strip()}"


@pytest.mark.parametrize("path", RUBRICS, ids=lambda p: p.parent.name)
def test_canonical_layout(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert format_text(text, str(path)) == text


@pytest.mark.parametrize("path", RUBRICS, ids=lambda p: p.parent.name)
def test_sample_exercises_every_finding_kind(path: Path) -> None:
    sample = path.parent / "sample.jsonl"
    report = rubricdsl.load(path).check_files(sample)
    assert report.summary.records >= 60
    lines = [ln for ln in sample.read_text(encoding="utf-8").splitlines() if ln.strip()]
    assert report.summary.records == len(lines)
    assert {f.kind for f in report.findings} == KINDS
    assert {f.severity for f in report.findings if f.kind == "violation"} >= {"error", "warning"}


def test_readme_first_command_runs_on_the_shipped_example() -> None:
    proc = rubric("check", "rubrics/response-safety/response-safety.rubric", "rubrics/response-safety/sample.jsonl",
                  "--no-color", cwd=ROOT, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "checked 68 records in 1 file" in proc.stdout


def test_readme_rubric_blocks_compile_and_their_examples_pass() -> None:
    import re

    blocks = re.findall(r"```rubric\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    assert blocks
    for block in blocks:
        rubric = rubricdsl.loads(block, "README.md")
        assert all(r.passed for r in rubric.test())


MULTI = sorted((ROOT / "rubrics").glob("*/multi-annotator.jsonl"))


def test_two_rubrics_ship_multi_annotator_data() -> None:
    assert len(MULTI) >= 2


@pytest.mark.parametrize("path", MULTI, ids=lambda p: p.parent.name)
def test_multi_annotator_sample_and_its_readme_agree(path: Path) -> None:
    """Every item finding of the multi-annotator sample is in the README's table, with
    its cause; the sample shows a consensus violation, per item escalations and several
    causes of disagreement."""
    rubric = rubricdsl.load(next(path.parent.glob("*.rubric")))
    assert rubric.ir.consensus and rubric.ir.item_escalations
    report = rubric.check_files(path)
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    assert report.summary.records == len(lines)
    items = [f for f in report.findings if f.lines]
    assert {f.kind for f in items} == {"violation", "ambiguous", "escalation"}
    assert len({f.cause for f in items if f.cause}) >= 3
    assert any(f.rule == "consensus" and f.kind == "violation" for f in items)
    rows = {}
    for line in (path.parent / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| ") and line.count("|") >= 4:
            key = line.split("|")[1].strip()
            rows[key] = line
    for f in items:
        row = rows.get(f.record)
        assert row is not None, f"item {f.record} ({f.kind} {f.rule}) is not in the README table"
        if f.cause:
            assert f.cause in row and (f.label or "") in row, (f.record, f.cause, f.label)
        elif f.kind == "escalation":
            assert f.rule in row, (f.record, f.rule)
    finding_items = {f.record for f in items}
    for key in rows:
        if key.startswith(("it-", "msg-")):
            assert key in finding_items, f"README lists {key}, which has no item finding"
