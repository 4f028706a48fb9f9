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


# rubrics that read a tool's export as it is (`each`): their sample is `sample.json`
EXPORTS = {"label-studio-toxicity", "argilla-feedback"}


def test_there_are_six_example_rubrics() -> None:
    assert {p.parent.name for p in RUBRICS} == {"response-safety", "pairwise-preference", "medical-labeling",
                                                "tone-intent", *EXPORTS}


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


@pytest.mark.parametrize("path", [p for p in RUBRICS if p.parent.name not in EXPORTS], ids=lambda p: p.parent.name)
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


# ---- exports read as they are -------------------------------------------------------------

EXPORT_RUBRICS = [p for p in RUBRICS if p.parent.name in EXPORTS]

# How each tool's export holds its judgments, written out here, independently of the
# rubric: the list, what names a judgment, and which judgments the tool marks as not given.
TOOLS = {
    "label-studio-toxicity": (("annotations",), lambda j: str(j["id"]), lambda j: j.get("was_cancelled") is True),
    "argilla-feedback": (("responses", "sentiment"), lambda j: j["user_id"],
                         lambda j: j.get("status") in ("discarded", "draft")),
}


@pytest.mark.parametrize("path", EXPORT_RUBRICS, ids=lambda p: p.parent.name)
def test_export_sample_exercises_every_finding_kind(path: Path) -> None:
    import json

    sample = path.parent / "sample.json"
    tasks = json.loads(sample.read_text(encoding="utf-8"))
    report = rubricdsl.load(path).check_files(sample)
    assert report.summary.records == len(tasks) >= 40
    each, _, skipped = TOOLS[path.parent.name]
    judgments = [j for t in tasks for j in _follow(t, each)]
    assert all(2 <= len(_follow(t, each)) <= 4 for t in tasks)
    assert report.summary.skipped == sum(1 for j in judgments if skipped(j)) >= 2
    assert report.summary.judgments == len(judgments) - report.summary.skipped
    kinds = {f.kind for f in report.findings}
    assert kinds == KINDS - {"unreadable"}  # a tool writes no element that is not an object
    items = {(f.kind, f.rule) for f in report.findings if f.lines}
    assert {("violation", "consensus"), ("ambiguous", "consensus")} <= items
    assert all(f.judgment is not None for f in report.findings if not f.lines)


def test_label_studio_sample_answers_a_control_twice() -> None:
    path = ROOT / "rubrics" / "label-studio-toxicity" / "label-studio-toxicity.rubric"
    report = rubricdsl.load(path).check_files(path.parent / "sample.json")
    twice = [f for f in report.findings if f.kind == "invalid" and "2 elements of `result`" in f.message]
    assert [(f.label, f.record) for f in twice] == [("toxic", "24")]


@pytest.mark.parametrize("path", EXPORT_RUBRICS, ids=lambda p: p.parent.name)
def test_export_readme_explains_every_finding(path: Path) -> None:
    """Each record (task) with a finding has a row in the README's table, and the
    README shows the output of `rubric check` as the command prints it now."""
    report = rubricdsl.load(path).check_files(path.parent / "sample.json")
    readme = (path.parent / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip() for line in readme.splitlines() if line.startswith("| ")}
    assert {f.record for f in report.findings} <= rows
    proc = rubric("check", path.name, "sample.json", "--samples", "10", "--no-color", cwd=path.parent, text=True)
    assert proc.returncode == 1
    assert proc.stdout.strip() in readme


@pytest.mark.parametrize("path", EXPORT_RUBRICS, ids=lambda p: p.parent.name)
def test_export_findings_equal_those_of_a_flattened_copy(path: Path, tmp_path: Path) -> None:
    """The export checked as it is gives the findings that the same rubric gives on the
    export flattened by this test to one JSONL record per judgment (skipped judgments
    left out), with `@` paths rewritten to the judgment's key."""
    import json
    import re

    each, name_of, skipped = TOOLS[path.parent.name]
    tasks = json.loads((path.parent / "sample.json").read_text(encoding="utf-8"))
    flat_lines: list[str] = []
    judgment_at: dict[int, str] = {}
    for task in tasks:
        for j in _follow(task, each):
            if skipped(j):
                continue
            flat_lines.append(json.dumps({**task, "the_judgment": j}))
            judgment_at[len(flat_lines)] = name_of(j)
    flat = tmp_path / "flat.jsonl"
    flat.write_text("\n".join(flat_lines) + "\n", encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^  (each|judgment) += .*\n|^  skip when .*\n", "", text, flags=re.M)
    text = text.replace("  id        = id\n", "  id        = id\n  item      = id\n").replace("@", "the_judgment.")
    flat_rubric = rubricdsl.loads(text, "flat.rubric")
    assert flat_rubric.ir.record_each is None

    def key(f) -> tuple:
        return (f.kind, f.rule, f.label, tuple(f.arms or ()), f.target, f.severity, json.dumps(f.value),
                f.cause, json.dumps(f.values, sort_keys=True))

    as_is = rubricdsl.load(path).check_files(path.parent / "sample.json")
    flattened = flat_rubric.check_files(flat)
    got = sorted(((f.record, f.judgment, *key(f)) for f in as_is.findings), key=repr)
    want = sorted(((f.record, None if f.lines else judgment_at[f.line], *key(f)) for f in flattened.findings), key=repr)
    assert got == want
    assert as_is.summary.judgments == flattened.summary.records


def _follow(obj, path: tuple) -> list:
    for k in path:
        obj = obj[k]
    return obj
