"""Judgments in the outputs of every command that names a record: the text and HTML
reports of `rubric check`, `rubric agreement` on an export, and `rubric doc`'s words for
where a field is read."""
from __future__ import annotations

import json
from pathlib import Path

from helpers import rubric

import rubricdsl
from rubricdsl.language.wording import path_words, plain, singular

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"


def test_text_report_lists_judgments_under_their_record() -> None:
    proc = rubric("check", "label-studio.rubric", "label-studio.json", "--no-color", cwd=EXAMPLES, text=True)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert "  3 judgments checked (one per element of each record's list), 1 skipped (`skip when`)" in lines
    k = lines.index("  violation toxic_has_category  1 judgment (error)")
    assert lines[k + 2] == "    label-studio.json:2 record 1"
    assert lines[k + 3].startswith("      judgment 12 (annotator 2)  ")  # and who gave it
    # an item finding names the item, not a judgment
    assert any(ln.startswith("    label-studio.json:31 item 2 (1 record)") for ln in lines)


def test_text_report_groups_several_judgments_of_one_record_once(tmp_path: Path) -> None:
    tasks = json.loads((EXAMPLES / "label-studio.json").read_text(encoding="utf-8"))
    for a in tasks[0]["annotations"]:  # both annotations of task 1 lose their category
        a["result"] = [r for r in a["result"] if r["from_name"] != "category"]
    data = tmp_path / "t.json"
    data.write_text(json.dumps(tasks, indent=2), encoding="utf-8")
    proc = rubric("check", str(EXAMPLES / "label-studio.rubric"), str(data), "--no-color", text=True)
    lines = proc.stdout.splitlines()
    k = lines.index("  violation toxic_has_category  2 judgments (error)")
    assert lines[k + 2].endswith("t.json:2 record 1")
    assert [ln.strip().split("  ")[0] for ln in lines[k + 3:k + 5]] == ["judgment 11 (annotator 1)",
                                                                              "judgment 12 (annotator 2)"]


def test_text_report_without_each_names_records_as_before() -> None:
    proc = rubric("check", "label-studio-min.rubric", "label-studio-min.json", "--no-color", cwd=EXAMPLES, text=True)
    assert "judgment" not in proc.stdout
    assert "  violation toxic_has_category  1 record (error)" in proc.stdout.splitlines()


def test_html_report_names_the_judgment(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    proc = rubric("check", "label-studio.rubric", "label-studio.json", "-o", str(tmp_path / "f.json"),
                  "--format", "json", "--report", str(out), cwd=EXAMPLES, text=True)
    assert proc.returncode == 1, proc.stderr
    html = out.read_text(encoding="utf-8")
    assert "<code>1</code> judgment <code>12</code>" in html


def test_agreement_reads_an_export_items_are_tasks(tmp_path: Path) -> None:
    path = ROOT / "rubrics" / "label-studio-toxicity"
    out = tmp_path / "a.json"
    proc = rubric("agreement", "label-studio-toxicity.rubric", "sample.json", "--format", "json", "-o", str(out),
                  cwd=path, text=True)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    tasks = json.loads((path / "sample.json").read_text(encoding="utf-8"))
    judged = [[a for a in t["annotations"] if not a["was_cancelled"]] for t in tasks]
    # an item of `toxic`: a task with two valid judgments of it or more (one `toxic`
    # result, with a value of the label)
    def valid(a: dict) -> bool:
        answers = [r["value"]["choices"][0] for r in a["result"] if r["from_name"] == "toxic"]
        return len(answers) == 1 and answers[0] in ("yes", "no")

    assert report["labels"]["toxic"]["items"] == sum(1 for js in judged if sum(map(valid, js)) >= 2)
    annotators = {str(a["completed_by"]) for js in judged for a in js}
    assert set(report["annotators"]) == annotators
    assert sum(a["judgments"] for a in report["annotators"].values()) == sum(len(js) for js in judged)


def test_agreement_without_item_or_each_says_what_to_add(tmp_path: Path) -> None:
    r = tmp_path / "r.rubric"
    r.write_text('rubric "r" version "1"\nlabel ok: bool from ok\n', encoding="utf-8")
    d = tmp_path / "d.jsonl"
    d.write_text('{"ok": true}\n', encoding="utf-8")
    proc = rubric("agreement", str(r), str(d), text=True)
    assert proc.returncode == 2
    assert "each = PATH" in proc.stderr and "item = PATH" in proc.stderr


def test_doc_says_where_a_field_is_read() -> None:
    r = rubricdsl.load(ROOT / "rubrics" / "label-studio-toxicity" / "label-studio-toxicity.rubric").ir
    where = {f.name: plain(path_words(f.path, r.record_each)) for f in r.fields}
    assert where["toxic"] == "the `toxic` control's first choice, in each annotation"
    assert where["severity"] == "the `severity` control's `rating`, in each annotation"
    assert where["cancelled"] == "`was_cancelled`, in each annotation"
    assert where["text"] == "`text` of `data`, in the record (shared by its judgments)"
    proc = rubric("doc", "label-studio-toxicity.rubric", cwd=ROOT / "rubrics" / "label-studio-toxicity", text=True)
    assert ("- **in the data:** `@result[from_name = \"toxic\"].value.choices[0]`: "
            "the `toxic` control's first choice, in each annotation") in proc.stdout


def test_path_words_for_other_shapes() -> None:
    def words(text: str, each: str | None = None) -> str | None:
        head = f'record {{ id = id  each = {each} }}\n' if each else ""
        r = rubricdsl.loads(f'rubric "w" version "1"\n{head}label x: int from {text}\n', "w.rubric").ir
        w = path_words(r.fields[0].path, r.record_each)
        return None if w is None else plain(w)

    assert words("a.b") is None  # a plain path in a rubric without `each`: no words needed
    assert words('items[kind = "x"].n') == "`n` of the element of `items` whose `kind` is “x”"
    assert words("@scores[1]", "responses") == "the second of `scores`, in each response"
    assert words("@n", "data.entries") == "`n`, in each entry"
    assert words("@n", "batch") == "`n`, in each element of `batch`"
    assert [singular(w) for w in ("annotations", "entries", "status", "class", "data")] == \
        ["annotation", "entry", "status", "class", "data"]
