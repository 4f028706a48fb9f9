"""A Label Studio export gone wrong, as users' files do: a truncated array, elements
that are not objects, a task without `annotations`, a control answered twice in one
annotation, and a file that starts with `[` but holds one object per line. Each gives
the finding the language names (or the run goes on), never a traceback, and every
element read is counted in `summary.records`."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import rubric

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "rubrics" / "label-studio-toxicity"
RUBRIC = SAMPLE / "label-studio-toxicity.rubric"
TASKS = json.loads((SAMPLE / "sample.json").read_text(encoding="utf-8"))


def pretty(items: list) -> str:
    return json.dumps(items, indent=2) + "\n"


def truncated() -> tuple[str, int]:
    text = pretty(TASKS[:5])
    cut = text.index('"annotations"', text.index('"id": %d' % TASKS[3]["id"]))
    return text[:cut], 4  # three whole tasks, then the unreadable end


def not_objects() -> tuple[str, int]:
    return pretty([TASKS[0], 5, "text", None, [1], TASKS[1]]), 6


def no_annotations() -> tuple[str, int]:
    task = {k: v for k, v in TASKS[2].items() if k != "annotations"}
    return pretty([TASKS[0], task, TASKS[1]]), 3


def answered_twice() -> tuple[str, int]:
    task = json.loads(json.dumps(TASKS[0]))
    result = task["annotations"][0]["result"]
    toxic = next(r for r in result if r["from_name"] == "toxic")
    result.append({**toxic, "id": "again", "value": {"choices": ["yes" if toxic["value"]["choices"] == ["no"] else "no"]}})
    return pretty([task, TASKS[1]]), 2


def really_jsonl() -> tuple[str, int]:
    return "[\n" + "".join(json.dumps(t) + "\n" for t in TASKS[:4]), 2  # the first task, then where it stops


CASES = {
    "a truncated array": (truncated, "unreadable", "the rest of the file is not read"),
    "elements that are not objects": (not_objects, "unreadable", "not an object"),
    "a task without annotations": (no_annotations, "invalid", "`annotations` (the list of judgments) is missing"),
    "a control answered twice": (answered_twice, "invalid", "2 elements of `result` have `from_name` = \"toxic\""),
    "a [ file that is JSONL": (really_jsonl, "unreadable", "the rest of the file is not read"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_broken_export_gives_the_named_finding_and_counts_every_element(case: str, tmp_path: Path) -> None:
    make, kind, words = CASES[case]
    text, records = make()
    data = tmp_path / "export.json"
    data.write_text(text, encoding="utf-8")
    ran = rubric("check", str(RUBRIC), str(data), "--format", "json")
    assert ran.returncode == 1, ran.err  # findings, not a failure to run
    assert "Traceback" not in ran.err and "internal error" not in ran.err
    report = json.loads(ran.out)
    assert report["summary"]["records"] == records
    named = [f for f in report["findings"] if f["kind"] == kind and words in f["message"]]
    assert named, [f["message"] for f in report["findings"]]
    for f in named:
        assert f["file"] == str(data) and f["line"] >= 1
    # the text report says the same, in one line per finding
    text_run = rubric("check", str(RUBRIC), str(data))
    assert text_run.returncode == 1 and "Traceback" not in text_run.err
    assert words in text_run.out
