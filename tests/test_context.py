"""Context in findings: the `show` line of the `record` block, the `annotator` of each
finding, and `rubric check --by annotator` — in the JSON, JSONL, text and HTML reports,
with any `-j`, on every input format."""
from __future__ import annotations

import html
import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest

from helpers import rubric
from rubricdsl.api import loads
from rubricdsl.engine import runtime
from rubricdsl.engine.findings import ANNOTATOR_KINDS
from rubricdsl.engine.report import Report, report_schema
from rubricdsl.language import cache
from rubricdsl.language.load import compile_text

RUBRIC = """rubric "ctx" version "1"
record {
  id        = id
  annotator = who
  show      = data.text, meta.lead
}
input text: text from data.text
label ok: enum {yes, no} from labels.ok
rule short "a yes needs a short text" severity warning { when ok == yes  require len(text) < 12 }
escalate lead long_no "a long text said no" { when ok == no and len(text) > 20 }
"""

RECORDS = [
    {"id": "1", "who": "ann", "data": {"text": "short"}, "labels": {"ok": "yes"}},
    {"id": "2", "who": "ann", "data": {"text": "this text is far too long"}, "labels": {"ok": "yes"}, "meta": {"lead": 4}},
    {"id": "3", "who": "bob", "data": {"text": "another text that is quite long"}, "labels": {"ok": "no"}},
    {"id": "4", "data": {"text": "no one wrote this"}, "labels": {"ok": "maybe"}},
    {"id": "5", "who": "bob", "data": {"text": "fine"}, "labels": {"ok": "no"}},
    {"id": "6", "who": 17, "data": {"text": "x"}, "labels": {}},
]

EACH = """rubric "ctx-each" version "1"
record {
  id        = id
  each      = annotations
  annotator = @completed_by
  show      = data.text, @lead_time
}
label toxic: enum {yes, no} from @toxic
"""


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def jsonl(path: Path, records: list) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def check_json(*args: str) -> dict:
    res = rubric("check", *args, "--format", "json")
    assert res.returncode in (0, 1), res.err
    return json.loads(res.out)


def by_annotator_from_findings(findings: list[dict]) -> dict:
    """What the per-annotator table must say about findings, counted from the findings."""
    out: dict = {}
    for f in findings:
        if f["kind"] == "unreadable" or "lines" in f:
            continue
        row = out.setdefault(f.get("annotator"), Counter())
        row[f["kind"]] += 1
    return out


def assert_table_matches_findings(report: dict) -> None:
    rows = report["summary"]["by_annotator"]
    counted = by_annotator_from_findings(report["findings"])
    assert {r["annotator"] for r in rows} >= set(counted)
    for r in rows:
        got = counted.get(r["annotator"], Counter())
        assert {k: r[k] for k in ANNOTATOR_KINDS} == {k: got[k] for k in ANNOTATOR_KINDS}, r
        assert r["findings"] == sum(got.values())


# ---- JSON and JSONL ---------------------------------------------------------------------------


def test_findings_carry_context_and_annotator(tmp_path: Path) -> None:
    rub = write(tmp_path / "r.rubric", RUBRIC)
    data = jsonl(tmp_path / "d.jsonl", RECORDS)
    with open(data, "a", encoding="utf-8") as f:
        f.write("not json\n")
    report = check_json(rub, data)
    Report.model_validate(report)
    by_record = {}
    for f in report["findings"]:
        by_record.setdefault(f["record"], []).append(f)
    (f2,) = by_record["2"]
    assert f2["annotator"] == "ann"
    assert f2["context"] == {"data.text": "this text is far too long", "meta.lead": 4}
    (f3,) = by_record["3"]
    assert (f3["kind"], f3["annotator"], f3["context"]) == ("escalation", "bob", {
        "data.text": "another text that is quite long", "meta.lead": None})
    (f4,) = by_record["4"]
    assert "annotator" not in f4  # the record names none
    assert f4["context"] == {"data.text": "no one wrote this", "meta.lead": None}
    assert by_record["6"][0]["annotator"] == "17"  # as text, like an id
    (bad,) = by_record["7"]
    assert bad["kind"] == "unreadable" and "context" not in bad and "annotator" not in bad


def test_jsonl_output_has_the_same_findings_as_json(tmp_path: Path) -> None:
    rub = write(tmp_path / "r.rubric", RUBRIC)
    data = jsonl(tmp_path / "d.jsonl", RECORDS)
    report = check_json(rub, data)
    res = rubric("check", rub, data, "--format", "jsonl")
    lines = [json.loads(x) for x in res.out.splitlines()]
    assert lines[:-1] == report["findings"]
    assert all("context" in f for f in lines[:-1])


def test_long_values_are_whole_in_json(tmp_path: Path) -> None:
    long = "word " * 400
    rub = write(tmp_path / "r.rubric", RUBRIC)
    data = jsonl(tmp_path / "d.jsonl", [{"id": "1", "who": "ann", "data": {"text": long}, "labels": {"ok": "yes"}}])
    (f,) = check_json(rub, data)["findings"]
    assert f["context"]["data.text"] == long
    assert f["fields"]["text"] != long  # a rule's fields stay shortened, as before


def test_without_show_or_annotator_findings_have_neither(tmp_path: Path) -> None:
    plain = RUBRIC.replace("  annotator = who\n", "").replace("  show      = data.text, meta.lead\n", "")
    rub = write(tmp_path / "r.rubric", plain)
    data = jsonl(tmp_path / "d.jsonl", RECORDS)
    findings = check_json(rub, data)["findings"]
    assert findings
    assert not any("context" in f or "annotator" in f for f in findings)


def test_item_findings_carry_no_context(tmp_path: Path) -> None:
    rub = write(tmp_path / "r.rubric", """rubric "items" version "1"
record { id = id  item = item  annotator = who  show = text }
label ok: enum {yes, no}
consensus ok { min annotators 3 }
""")
    data = jsonl(tmp_path / "d.jsonl", [{"id": "1", "item": "i", "who": "a", "text": "t", "ok": "yes"},
                                        {"id": "2", "item": "i", "who": "b", "text": "t", "ok": "yes"}])
    (f,) = check_json(rub, data)["findings"]
    assert "lines" in f
    assert "context" not in f and "annotator" not in f


def test_each_reads_at_paths_in_the_judgment_and_others_in_the_task(tmp_path: Path) -> None:
    rub = write(tmp_path / "r.rubric", EACH)
    data = jsonl(tmp_path / "d.jsonl", [
        {"id": "t1", "data": {"text": "hello"}, "annotations": [
            {"completed_by": "ann", "lead_time": 2, "toxic": "nope"},
            {"completed_by": "bob", "toxic": "yes"},
            {"toxic": 3}]},
    ])
    findings = check_json(rub, data, "--by", "annotator")["findings"]
    assert [(f["judgment"], f.get("annotator"), f["context"]) for f in findings] == [
        ("1", "ann", {"data.text": "hello", "@lead_time": 2}),
        ("3", None, {"data.text": "hello", "@lead_time": None}),
    ]


# ---- -j N, JSON arrays, CSV, Parquet --------------------------------------------------------------


def many_records(n: int) -> list[dict]:
    out = []
    for i in range(n):
        who = ("ann", "bob", "cy\u202e", None)[i % 4]
        rec = {"id": str(i), "data": {"text": "t" * (i % 30)}, "labels": {"ok": ("yes", "no", "maybe")[i % 3]},
               "meta": {"lead": i}}
        if who is not None:
            rec["who"] = who
        out.append(rec)
    return out


@pytest.mark.parametrize("array", [False, True], ids=["jsonl", "json-array"])
def test_jobs_give_the_same_findings_and_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               array: bool) -> None:
    rub = write(tmp_path / "r.rubric", RUBRIC)
    records = many_records(3000)
    if array:
        data = tmp_path / "d.json"
        data.write_text(json.dumps(records, indent=2), encoding="utf-8")  # pretty-printed: it splits
        assert len(runtime.array_parts(str(data), 16 << 10) or ()) > 4
    else:
        data = Path(jsonl(tmp_path / "d.jsonl", records))
    monkeypatch.setattr(runtime, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(runtime, "CHUNK_BYTES", 16 << 10)  # many parts
    one = check_json(rub, str(data), "--by", "annotator", "-j", "1")
    pids = tmp_path / "pids"

    class Checker(runtime.RecordChecker):  # notes which processes check records
        def __init__(self, *a, **kw) -> None:
            super().__init__(*a, **kw)
            with open(pids, "a", encoding="utf-8") as f:
                f.write(f"{os.getpid()}\n")

    monkeypatch.setattr(runtime, "RecordChecker", Checker)
    two = check_json(rub, str(data), "--by", "annotator", "-j", "2")
    assert len(set(pids.read_text(encoding="utf-8").split())) > 1  # the file was split between processes
    assert one == two
    rows = {r["annotator"]: r for r in one["summary"]["by_annotator"]}
    assert set(rows) == {"ann", "bob", "cy\u202e", None}
    assert sum(r["judgments"] for r in rows.values()) == 3000
    assert rows[None]["judgments"] == 750
    assert_table_matches_findings(one)


def test_csv_gives_context_and_table(tmp_path: Path) -> None:
    rub = write(tmp_path / "r.rubric", RUBRIC)
    data = tmp_path / "d.csv"
    data.write_text("id,who,data.text,labels.ok,meta.lead\n"
                    "1,ann,this text is far too long,yes,3\n"
                    "2,,another text that is quite long,no,\n"
                    "3,bob,ok,maybe,x\n", encoding="utf-8")
    report = check_json(rub, str(data), "--by", "annotator")
    got = [(f["record"], f["kind"], f.get("annotator"), f["context"]) for f in report["findings"]]
    assert got == [
        ("1", "violation", "ann", {"data.text": "this text is far too long", "meta.lead": "3"}),
        ("2", "escalation", None, {"data.text": "another text that is quite long", "meta.lead": None}),
        ("3", "invalid", "bob", {"data.text": "ok", "meta.lead": "x"}),
    ]
    rows = {r["annotator"]: r["judgments"] for r in report["summary"]["by_annotator"]}
    assert rows == {"ann": 1, "bob": 1, None: 1}
    assert_table_matches_findings(report)


def test_parquet_gives_context_and_table(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    records = [{"id": str(i), "who": w, "data": {"text": t}, "labels": {"ok": ok}}
               for i, (w, t, ok) in enumerate([("ann", "this text is far too long", "yes"), (None, "x", "maybe"),
                                               ("bob", "a long text, and it said no", "no")])]
    path = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pylist(records), path)
    rub = write(tmp_path / "r.rubric", RUBRIC)
    report = check_json(rub, str(path), "--by", "annotator")
    assert [(f.get("annotator"), f["context"]["data.text"]) for f in report["findings"]] == [
        ("ann", "this text is far too long"), (None, "x"), ("bob", "a long text, and it said no")]
    assert_table_matches_findings(report)
    jsonl_report = check_json(rub, jsonl(tmp_path / "d.jsonl", records), "--by", "annotator")
    assert report["summary"]["by_annotator"] == jsonl_report["summary"]["by_annotator"]


# ---- --by annotator ---------------------------------------------------------------------------------


def test_by_annotator_table_counts_the_findings(tmp_path: Path) -> None:
    rub = write(tmp_path / "r.rubric", RUBRIC)
    data = jsonl(tmp_path / "d.jsonl", RECORDS)
    with open(data, "a", encoding="utf-8") as f:
        f.write("[1]\n")
    report = check_json(rub, data, "--by", "annotator")
    Report.model_validate(report)
    rows = report["summary"]["by_annotator"]
    assert [r["annotator"] for r in rows] == ["17", "ann", "bob", None]  # by name, no annotator last
    assert [r["judgments"] for r in rows] == [1, 2, 2, 1]  # the unreadable line is in no row
    assert_table_matches_findings(report)

    # the text report's table says the same
    text = rubric("check", rub, data, "--by", "annotator").out
    table = text.split("by annotator", 1)[1].split("\n\n", 1)[0].splitlines()
    head = table[1].split()
    assert head[:8] == ["annotator", "records", *ANNOTATOR_KINDS, "findings"]
    body = {}
    for line in table[2:]:
        cells = line.rsplit(None, 8)
        body[cells[0].strip()] = cells[1:]
    for r in rows:
        name = "(no annotator)" if r["annotator"] is None else r["annotator"]
        cells = body[name]
        assert [int(c) for c in cells[:7]] == [r["judgments"], *(r[k] for k in ANNOTATOR_KINDS), r["findings"]]
        assert cells[7] == f"{r['findings'] / r['judgments']:.2f}"


def test_by_annotator_in_html(tmp_path: Path) -> None:
    rub = write(tmp_path / "r.rubric", RUBRIC)
    data = jsonl(tmp_path / "d.jsonl", RECORDS)
    out = tmp_path / "report.html"
    res = rubric("check", rub, data, "--by", "annotator", "--report", str(out), "--format", "json")
    rows = json.loads(res.out)["summary"]["by_annotator"]
    page = out.read_text(encoding="utf-8")
    table = page.split('<table id="annotator-table">', 1)[1].split("</table>", 1)[0]
    trs = re.findall(r"<tr(?: class=\"no-annotator\")?><td>(.*?)</td>(.*?)</tr>", table)
    assert len(trs) == len(rows)
    for (name_cell, cells), r in zip(trs, rows):
        if r["annotator"] is None:
            assert "no annotator" in name_cell
        else:
            assert html.unescape(re.sub(r"<[^>]+>", "", name_cell)) == r["annotator"]
        judgments = re.search(r'data-key="judgments">(\d+)<', cells).group(1)
        assert int(judgments) == r["judgments"]
        for k in ANNOTATOR_KINDS:
            assert int(re.search(rf'data-kind="{k}">(\d+)<', cells).group(1)) == r[k]


def test_without_by_there_is_no_table(tmp_path: Path) -> None:
    rub = write(tmp_path / "r.rubric", RUBRIC)
    data = jsonl(tmp_path / "d.jsonl", RECORDS)
    out = tmp_path / "report.html"
    res = rubric("check", rub, data, "--report", str(out), "--format", "json")
    assert "by_annotator" not in json.loads(res.out)["summary"]
    assert 'id="annotator-table"' not in out.read_text(encoding="utf-8")
    assert "by annotator" not in rubric("check", rub, data).out


def test_by_rejects_other_values(tmp_path: Path) -> None:
    rub = write(tmp_path / "r.rubric", RUBRIC)
    data = jsonl(tmp_path / "d.jsonl", RECORDS)
    res = rubric("check", rub, data, "--by", "item")
    assert res.returncode == 2
    assert "--by" in res.err and "annotator" in res.err


def test_by_annotator_needs_an_annotator_line(tmp_path: Path) -> None:
    rub = write(tmp_path / "r.rubric", RUBRIC.replace("  annotator = who\n", ""))
    data = jsonl(tmp_path / "d.jsonl", RECORDS)
    res = rubric("check", rub, data, "--by", "annotator")
    assert res.returncode == 2
    assert res.out == ""
    (line,) = res.err.strip().splitlines()
    assert "annotator" in line and "record" in line


def test_by_annotator_with_each_counts_judgments(tmp_path: Path) -> None:
    rub = write(tmp_path / "r.rubric", EACH)
    data = jsonl(tmp_path / "d.jsonl", [
        {"id": "t1", "data": {"text": "a"}, "annotations": [{"completed_by": "ann", "toxic": "yes"},
                                                             {"completed_by": "bob", "toxic": "bad"}, 7]},
        {"id": "t2", "annotations": [{"completed_by": "ann", "toxic": "bad"}, {"completed_by": "ann", "toxic": "no"}]},
        {"id": "t3", "annotations": None},
    ])
    report = check_json(rub, data, "--by", "annotator")
    rows = {r["annotator"]: r for r in report["summary"]["by_annotator"]}
    assert {a: r["judgments"] for a, r in rows.items()} == {"ann": 3, "bob": 1, None: 0}
    assert report["summary"]["judgments"] == 4
    # the findings about lists (a non-object element, a missing list) have no annotator:
    # their row has findings and no judgment
    assert (rows["ann"]["invalid"], rows["bob"]["invalid"], rows[None]["invalid"]) == (1, 1, 2)
    assert_table_matches_findings(report)
    text = rubric("check", rub, data, "--by", "annotator").out
    assert "judgments  violation" in text and "per judgment" in text
    none_row = next(ln for ln in text.splitlines() if ln.strip().startswith("(no annotator)"))
    assert none_row.split()[-1] == "—"  # no judgment: no rate


# ---- the text and HTML reports show values as data ---------------------------------------------------


HOSTILE = "[bold red]x[/bold red] \u202e <script>alert(1)</script> \x1b[31m\x07 end"


def hostile_data(tmp_path: Path) -> tuple[str, str]:
    rub = write(tmp_path / "r.rubric", RUBRIC)
    data = jsonl(tmp_path / "d.jsonl", [
        {"id": "1", "who": "<b>ann</b>\x1b]0;t\x07", "data": {"text": HOSTILE + " " + "long " * 100},
         "labels": {"ok": "no"}},
    ])
    return rub, data


def test_text_report_prints_context_as_data(tmp_path: Path) -> None:
    rub, data = hostile_data(tmp_path)
    out = rubric("check", rub, data).out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    lines = out.splitlines()
    at = next(i for i, ln in enumerate(lines) if "data.text=" in ln)
    line = lines[at]
    assert "(annotator <b>ann</b>\\x1b]0;t\\x07)" in lines[at - 1]  # beside the place of the sample
    assert '"[bold red]x[/bold red] \\u202e <script>alert(1)</script> \\u001b[31m\\u0007 end' in line  # as data
    assert "meta.lead=null" in line
    shown = line.split("data.text=", 1)[1].split(", meta.lead=")[0]
    assert len(shown) <= 80 and shown.endswith("...")  # long text shortened


def test_html_report_escapes_context(tmp_path: Path) -> None:
    rub, data = hostile_data(tmp_path)
    out = tmp_path / "report.html"
    rubric("check", rub, data, "--report", str(out))
    page = out.read_text(encoding="utf-8")
    assert "<script>alert" not in page and "<b>ann</b>" not in page
    assert "\x1b" not in page and "\x07" not in page and "\u202e" not in page
    queue = page.split('<table id="queue">', 1)[1].split("</table>", 1)[0]
    cell = re.search(r'<td data-key="annotator">(.*?)</td>', queue).group(1)
    assert html.unescape(re.sub(r"<[^>]+>", "", cell)) == "<b>ann</b>\\x1b]0;t\\x07"
    ctx = re.search(r'<td data-key="context">(.*?)</td>', queue, re.S).group(1)
    text = html.unescape(re.sub(r"<[^>]+>", "", ctx))
    assert text.startswith('data.text = "[bold red]x[/bold red] \\u202e <script>alert(1)</script> \\u001b[31m\\u0007')
    assert "meta.lead = null" in text
    assert len(text) < 300 and "…" in text  # shortened


# ---- the language around it: fmt, diff, cache, schema -------------------------------------------------


def test_fmt_round_trips_show(tmp_path: Path) -> None:
    src = 'rubric "f" version "1"\nrecord {\n  id=id\n  show = data . text ,@"lead time",meta.tags[0]  # why\n}\nlabel ok: bool\n'
    p = tmp_path / "f.rubric"
    p.write_text(src, encoding="utf-8")
    res = rubric("fmt", str(p))
    assert res.returncode == 0, res.err
    formatted = p.read_text(encoding="utf-8")
    assert '  show = data.text, @"lead time", meta.tags[0]  # why\n' in formatted
    assert rubric("fmt", "--check", str(p)).returncode == 0


def test_diff_reports_a_changed_show_line(tmp_path: Path) -> None:
    old = write(tmp_path / "old.rubric", RUBRIC)
    new = write(tmp_path / "new.rubric", RUBRIC.replace("show      = data.text, meta.lead", "show = data.text"))
    gone = write(tmp_path / "gone.rubric", RUBRIC.replace("  show      = data.text, meta.lead\n", ""))
    res = rubric("diff", old, new, "--format", "json")

    def structural(res) -> list[tuple]:
        return [(c["what"], c["name"], c["change"], c["detail"]) for c in json.loads(res.out)["changes"]
                if c["kind"] == "structural"]

    assert structural(res) == [("record", "show", "changed", "data.text, meta.lead -> data.text")]
    assert rubric("diff", old, new, "--fail-on-change", "structure").returncode == 1
    assert structural(rubric("diff", gone, old, "--format", "json")) == [
        ("record", "show", "added", "data.text, meta.lead")]
    assert structural(rubric("diff", old, gone, "--format", "json")) == [
        ("record", "show", "removed", "data.text, meta.lead")]
    same = write(tmp_path / "same.rubric", RUBRIC.replace("data.text, meta.lead", 'data."text", meta.lead'))
    assert structural(rubric("diff", old, same, "--format", "json")) == []
    assert rubric("diff", old, same, "--fail-on-change", "structure").returncode == 0


def test_diff_data_is_not_flipped_by_context(tmp_path: Path) -> None:
    old = write(tmp_path / "old.rubric", RUBRIC)
    new = write(tmp_path / "new.rubric", RUBRIC.replace("data.text, meta.lead", "meta.lead"))
    data = jsonl(tmp_path / "d.jsonl", RECORDS)
    res = rubric("diff", old, new, "--data", data, "--format", "json")
    assert json.loads(res.out)["records"] == []


def test_the_ir_cache_keeps_show(tmp_path: Path) -> None:
    rub = compile_text(EACH, "each.rubric")
    back = cache.decode(cache.encode(rub), rub.sha256)
    assert back.record_show == rub.record_show
    assert [t for t, _ in back.record_show] == ["data.text", "@lead_time"]


def test_schema_describes_the_new_fields() -> None:
    schema = report_schema()
    finding = schema["$defs"]["Finding"]["properties"]
    assert {"annotator", "context"} <= set(finding)
    assert "by_annotator" in schema["$defs"]["Summary"]["properties"]
    res = rubric("schema", "report")
    assert json.loads(res.out) == json.loads(json.dumps(schema))


def test_python_api_findings_carry_context() -> None:
    r = loads(RUBRIC)
    (f,) = r.check_dicts(RECORDS[1])
    assert f["annotator"] == "ann" and f["context"] == {"data.text": "this text is far too long", "meta.lead": 4}
