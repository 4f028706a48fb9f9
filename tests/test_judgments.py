"""Exports read as they are: judgments inside a record (`each`), selectors and JSON
array files, through the run (summary counts, items, `-j`, stdin, .gz), examples, the
generated code, and against the same export flattened to one record per judgment by an
independent script."""
from __future__ import annotations

import copy
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

import rubricdsl
from rubricdsl.engine import runtime
from rubricdsl.engine.runtime import run

RUBRIC = '''rubric "export" version "1"
record {
  id        = id
  each      = annotations
  annotator = @completed_by
  judgment  = @id
  skip when cancelled
}
input text: text from data.text
input cancelled: bool from @was_cancelled optional
label sentiment: enum {positive, negative, neutral} from @result[from_name = "sentiment"].value.choices[0]
label sarcasm: bool from @result[from_name = "sarcasm"].value.checked optional
decide sentiment {
  edge sarcastic "Sarcasm may read either way" when sarcasm -> positive, negative
  when text contains "love" -> positive
  when text contains "hate" -> negative
}
rule sarcasm_flagged "Sarcasm is flagged only on negative-looking text" {
  when sarcasm
  require text contains "hate"
}
consensus sentiment { min annotators 2  min agreement 0.67 }
'''


def result(name: str, value: dict) -> dict:
    return {"from_name": name, "to_name": "text", "type": "choices", "value": value}


def ann(i: int, who: int, choice: str | None, sarcasm: bool | None = None, **extra) -> dict:
    res = [result("sentiment", {"choices": [choice]})] if choice else []
    if sarcasm is not None:
        res.append(result("sarcasm", {"checked": sarcasm}))
    return {"id": i, "completed_by": who, "result": res, **extra}


TASKS = [
    {"id": 1, "data": {"text": "I love this"},
     "annotations": [ann(101, 1, "positive"), ann(102, 2, "negative"), ann(103, 3, None, was_cancelled=True)]},
    {"id": 2, "data": {"text": "I hate Mondays"},
     "annotations": [ann(201, 1, "positive", True), ann(202, 2, "negative"), ann(203, 2, "negative")]},
    {"id": 3, "data": {"text": "mild weather"}, "annotations": [ann(301, 1, "neutral"), ann(302, 2, "neutral")]},
    {"id": 4, "data": {"text": "love and hate"}, "annotations": [ann(401, 1, "positive", True)]},
    {"id": 5, "data": {"text": "nothing"}, "annotations": []},
]


@pytest.fixture(scope="module")
def rubric() -> rubricdsl.Rubric:
    return rubricdsl.loads(RUBRIC, "export.rubric")


def write_array(path: Path, tasks: list) -> Path:
    path.write_text(json.dumps(tasks, indent=2) + "\n", encoding="utf-8")
    return path


def check(rubric: rubricdsl.Rubric, *paths: Path, jobs: int = 1) -> tuple[list[dict], runtime.Stats]:
    found: list[dict] = []
    stats = run(rubric.compiled, [str(p) for p in paths], found.append, jobs=jobs)
    return found, stats


def line_of(text: str, task_id: int) -> int:
    """The line where the task with this id starts in an `indent=2` dump."""
    lines = text.split("\n")
    k = lines.index(f'    "id": {task_id},')
    return k  # the `{` is the line before, counted from 1


# ---- the summary, items, and the run --------------------------------------------------------


def test_summary_counts_records_judgments_and_skipped(rubric, tmp_path) -> None:
    found, stats = check(rubric, write_array(tmp_path / "export.json", TASKS))
    assert stats.records == 5
    assert stats.judgments == 8  # 9 annotations, one cancelled
    assert stats.skipped == 1
    report = rubric.check_files(tmp_path / "export.json").summary.model_dump()
    assert (report["records"], report["judgments"], report["skipped"]) == (5, 8, 1)
    assert report["items"] == 4  # task 5 has no judgment: no item


def test_summary_has_no_judgment_keys_without_each(tmp_path) -> None:
    plain = rubricdsl.loads('rubric "p" version "1"\nlabel ok: bool\n', "p.rubric")
    data = tmp_path / "d.jsonl"
    data.write_text('{"ok": true}\n', encoding="utf-8")
    rub = tmp_path / "p.rubric"
    rub.write_text('rubric "p" version "1"\nlabel ok: bool\n', encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "rubricdsl", "check", str(rub), str(data), "--format", "json"],
                         capture_output=True, text=True)
    summary = json.loads(out.stdout)["summary"]
    assert "judgments" not in summary and "skipped" not in summary
    assert all("judgment" not in f for f in plain.check_dicts({"ok": 1}))


def test_items_are_tasks_and_their_lines_list_each_record_once(rubric, tmp_path) -> None:
    path = write_array(tmp_path / "export.json", TASKS)
    text = path.read_text()
    found, stats = check(rubric, path)
    items = [f for f in found if "lines" in f]
    # task 1: 101 positive, 102 negative (103 cancelled takes no part): agreement 1/2
    # task 2: 202 and 203 by one annotator, 201 by another; all valid, 2 of 3 negative
    # task 4: one annotator only
    assert sorted((f["kind"], f["record"]) for f in items) == [("ambiguous", "1"), ("ambiguous", "2"),
                                                               ("violation", "4")]
    for f in items:
        assert "judgment" not in f
        assert f["lines"] == [{"file": str(path), "line": line_of(text, int(f["record"]))}]
    one = next(f for f in items if f["record"] == "1")
    assert one["values"] == {"negative": 1, "positive": 1}


def test_skipped_judgments_take_no_part_in_items(rubric) -> None:
    task = {"id": "s", "data": {"text": "I love it"},
            "annotations": [ann(1, "a", "positive"), ann(2, "b", "negative", was_cancelled=True)]}
    report = rubric.check_records([task])
    kinds = [(f.kind, f.rule) for f in report.findings]
    # the cancelled judgment's violation and its annotator do not count
    assert kinds == [("violation", "consensus")]
    assert report.summary.judgments == 1 and report.summary.skipped == 1


def test_an_item_line_names_the_item_across_records(tmp_path) -> None:
    text = RUBRIC.replace("  id        = id\n", "  id        = id\n  item      = data.doc\n")
    r = rubricdsl.loads(text, "items.rubric")
    tasks = [{"id": 1, "data": {"doc": "d", "text": "meh"}, "annotations": [ann(1, 1, "neutral")]},
             {"id": 2, "data": {"doc": "d", "text": "meh"}, "annotations": [ann(2, 2, "positive")]}]
    path = write_array(tmp_path / "t.json", tasks)
    found, _ = check(r, path)
    dis = [f for f in found if f["kind"] == "ambiguous" and "lines" in f]
    text = path.read_text()
    assert [(f["record"], [x["line"] for x in f["lines"]]) for f in dis] == [
        ("d", [line_of(text, 1), line_of(text, 2)])]


def test_jsonl_gzip_stdin_and_jobs_read_the_same_findings(rubric, tmp_path) -> None:
    array = write_array(tmp_path / "export.json", TASKS)
    gz = tmp_path / "export.json.gz"
    gz.write_bytes(gzip.compress(array.read_bytes()))
    base, _ = check(rubric, array)
    assert json.dumps(check(rubric, gz)[0]) == json.dumps(base).replace(json.dumps(str(array))[1:-1],
                                                                         json.dumps(str(gz))[1:-1])
    # JSONL: one task per line, each a record at its own line
    jsonl = tmp_path / "export.jsonl"
    jsonl.write_text("".join(json.dumps(t) + "\n" for t in TASKS), encoding="utf-8")
    by_line, stats = check(rubric, jsonl)
    assert stats.records == 5 and stats.judgments == 8
    key = lambda f: (f["kind"], f["record"], f.get("judgment"), f["rule"], f["label"])  # noqa: E731
    assert sorted(map(key, by_line)) == sorted(map(key, base))
    # several processes: an array file smaller than a part is read in one; the findings are the same
    old = runtime.PARALLEL_MIN_BYTES
    runtime.PARALLEL_MIN_BYTES = 1
    try:
        assert check(rubric, array, jobs=2)[0] == base
        assert sorted(map(key, check(rubric, jsonl, jobs=2)[0])) == sorted(map(key, base))
    finally:
        runtime.PARALLEL_MIN_BYTES = old
    rub = tmp_path / "export.rubric"
    rub.write_text(RUBRIC, encoding="utf-8")
    with array.open("rb") as stdin:
        out = subprocess.run([sys.executable, "-m", "rubricdsl", "check", str(rub), "-", "--format", "json"],
                             capture_output=True, stdin=stdin)
    got = json.loads(out.stdout)
    assert got["summary"]["judgments"] == 8
    assert sorted(map(key, got["findings"])) == sorted(map(key, base))


def test_a_syntax_error_ends_that_array_file_and_the_run_goes_on(rubric, tmp_path) -> None:
    bad = tmp_path / "bad.json"
    good = json.dumps(TASKS[2])
    bad.write_text(f"[\n{good},\n{{\"id\": 9,\n  oops\n}},\n{good}\n]\n", encoding="utf-8")
    nxt = write_array(tmp_path / "next.json", [TASKS[2]])
    found, stats = check(rubric, bad, nxt)
    unreadable = [f for f in found if f["kind"] == "unreadable"]
    assert [(f["file"], f["line"]) for f in unreadable] == [(str(bad), 4)]
    assert [(f["file"], f["judgment"]) for f in found if f["kind"] == "uncovered"] == [
        (str(bad), "301"), (str(bad), "302"), (str(nxt), "301"), (str(nxt), "302")]
    assert stats.records == 3  # a task, the unreadable end, the next file's task


# ---- examples, generated code ------------------------------------------------------------------


def test_examples_are_single_judgments(tmp_path) -> None:
    text = RUBRIC + '''
example "a loving text read as positive" {
  given { text: "I love it", sentiment: positive }
  expect pass
}
example "a sarcastic judgment may say negative" {
  given { text: "I love it", sentiment: negative, sarcasm: true }
  expect violation sarcasm_flagged
}
example "a cancelled judgment is left out" {
  given { text: "I love it", sentiment: negative, cancelled: true }
  expect pass
}
example "the label missing from the judgment" {
  given { text: "I love it" }
  expect invalid sentiment
}
'''
    results = rubricdsl.loads(text, "ex.rubric").test()
    assert [(r.title, r.passed) for r in results] == [(r.title, True) for r in results]
    assert results[0].record == {"data": {"text": "I love it"},
                                 "annotations": [{"result": [{"from_name": "sentiment",
                                                              "value": {"choices": ["positive"]}}]}]}


def test_a_selector_scans_its_list_once_however_many_fields_read_through_it() -> None:
    text = '''rubric "s" version "1"
record { each = annotations }
label a: text from @result[from_name = "x"].value.a
label b: text from @result[from_name = "x"].value.b optional
label c: text from @result[from_name = "x"].c optional
label d: text from @result[from_name = "y"].c optional
'''
    src = rubricdsl.loads(text, "s.rubric").compiled.source
    assert src.count("_select(") == 2
    assert "def check(rec, jud):" in src


# ---- the export flattened by hand gives the same findings ---------------------------------------


def flatten(tasks: list) -> list[dict]:
    """One JSONL record per annotation, with the task's fields copied beside it, as a
    conversion script would do; cancelled annotations left out, as `skip when` does."""
    out = []
    for task in tasks:
        for a in task.get("annotations") or []:
            if a.get("was_cancelled"):
                continue
            rec = {k: copy.deepcopy(v) for k, v in task.items() if k != "annotations"}
            rec["task"] = task["id"]
            rec["annotation"] = copy.deepcopy(a)
            out.append(rec)
    return out


FLAT_RUBRIC = (RUBRIC.replace("  each      = annotations\n", "  item      = task\n")
               .replace("  judgment  = @id\n", "").replace("  skip when cancelled\n", "")
               .replace("@", "annotation."))


def test_findings_equal_those_of_the_export_flattened(rubric, tmp_path) -> None:
    export = write_array(tmp_path / "export.json", TASKS)
    text = export.read_text()
    flat = flatten(TASKS)
    flat_path = tmp_path / "flat.jsonl"
    flat_path.write_text("".join(json.dumps(r) + "\n" for r in flat), encoding="utf-8")
    flat_rubric = rubricdsl.loads(FLAT_RUBRIC, "flat.rubric")
    got, _ = check(rubric, export)
    want, _ = check(flat_rubric, flat_path)
    # a flat line stands for (task, annotation); the export's findings name (task line, judgment)
    line_of_flat = {n + 1: (line_of(text, r["task"]), str(r["annotation"]["id"])) for n, r in enumerate(flat)}

    def as_export(f: dict) -> tuple:
        if "lines" in f:
            lines = sorted({line_of_flat[x["line"]][0] for x in f["lines"]})
            return (f["kind"], f["rule"], f["label"], f.get("values"), f.get("cause"), str(f["record"]), None,
                    tuple(lines))
        line, judgment = line_of_flat[f["line"]]
        return (f["kind"], f["rule"], f["label"], f.get("value"), f["message"], line, judgment, None)

    def own(f: dict) -> tuple:
        if "lines" in f:
            return (f["kind"], f["rule"], f["label"], f.get("values"), f.get("cause"), f["record"], None,
                    tuple(x["line"] for x in f["lines"]))
        return (f["kind"], f["rule"], f["label"], f.get("value"), f["message"], f["line"], f["judgment"], None)

    assert sorted(map(str, map(own, got))) == sorted(map(str, map(as_export, want)))
    assert len(got) >= 6


# ---- the compiled checker agrees with the reference interpreter ---------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rubricdsl.engine import codegen  # noqa: E402
from rubricdsl.engine.evaluate import SKIP, evaluate  # noqa: E402

_values = st.one_of(st.none(), st.booleans(), st.integers(-1, 2), st.sampled_from(["positive", "negative", "meh"]))
_results = st.lists(st.one_of(
    st.fixed_dictionaries({"from_name": st.sampled_from(["sentiment", "sarcasm", "other", 1]),
                           "value": st.fixed_dictionaries({}, optional={"choices": st.lists(_values, max_size=2),
                                                                        "checked": _values})}),
    _values), max_size=4)
_judgments = st.fixed_dictionaries({}, optional={"result": st.one_of(_results, _values),
                                                 "was_cancelled": _values, "id": _values})
_texts = st.sampled_from(["I love it", "I hate it", "love and hate", "meh", 3])


@settings(max_examples=300, deadline=None)
@given(text=_texts, jud=_judgments)
def test_compiled_judgments_match_the_reference(text, jud) -> None:
    r = rubricdsl.loads(RUBRIC, "export.rubric")
    rec = {"id": 1, "data": {"text": text}, "annotations": [jud]}
    got = r.compiled.check(rec, jud)
    want = evaluate(r.ir, rec, jud)
    if want == SKIP:
        assert got is codegen.SKIP
    else:
        assert list(got or []) == want


# ---- lint ---------------------------------------------------------------------------------------


def test_lint_reads_skip_when_and_analyses_only_judgments_it_keeps() -> None:
    from rubricdsl.analysis.lint import lint_text

    text = '''rubric "lint" version "1"
record { id = id  each = annotations  skip when cancelled }
input cancelled: bool from @was_cancelled optional
input lang: enum {en, fr} from @meta[key = "lang"].value
label toxic: enum {yes, no} from @result[from_name = "toxic"].value
decide toxic {
  when cancelled -> yes
  when lang == en -> no
  when lang == fr -> yes
}
'''
    diags = [(d.code, d.span.line) for d in lint_text(text, "lint.rubric").diagnostics]
    # `cancelled` is read by `skip when`; a judgment where it holds is never checked
    assert diags == [("RB201", 7)]
    without = text.replace("  skip when cancelled }", " }")
    assert ("RB201", 7) not in [(d.code, d.span.line) for d in lint_text(without, "lint.rubric").diagnostics]
