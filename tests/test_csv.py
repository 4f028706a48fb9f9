"""CSV and TSV data files: a header row names the columns (dotted names are nested
paths), each later row is a record whose cells are converted by the declared type of
the field read there; ragged rows and cells that are not UTF-8 are `unreadable` at the
line where the row starts; the findings are those of the same records in JSONL."""
from __future__ import annotations

import csv
import gzip
import io
import json
from collections import Counter
from pathlib import Path

import pytest

from helpers import rubric
from rubricdsl.api import load, loads
from rubricdsl.core.values import HugeNumber
from rubricdsl.engine.reading import TableReader, convert_cell, table_format

ROOT = Path(__file__).resolve().parent.parent
SAFETY = ROOT / "rubrics" / "response-safety"
RUBRIC = SAFETY / "response-safety.rubric"

TYPES = """rubric "types" version "1"
record { id = id }
input n: int from data.n
input x: number from data.x
input flag: bool from data.flag
label tags: set {a, b, c} from labels.tags
label mood: enum {calm, tense} from labels.mood
label note: text from labels.note optional
"""


def run_json(*args: str) -> tuple[int, dict, str]:
    res = rubric("check", *args, "--format", "json")
    return res.returncode, (json.loads(res.out) if res.out else {}), res.err


def flatten(rec: dict, prefix: str = "") -> dict[str, str]:
    """A record as CSV cells: nested objects as dotted columns, lists as JSON text."""
    out: dict[str, str] = {}
    for k, v in rec.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        elif isinstance(v, list):
            out[prefix + k] = json.dumps(v)
        elif isinstance(v, bool):
            out[prefix + k] = "true" if v else "false"
        else:
            out[prefix + k] = str(v)
    return out


def write_table(path: Path, records: list[dict], delimiter: str = ",") -> None:
    rows = [flatten(r) for r in records]
    header: list[str] = []
    for row in rows:
        header += [c for c in row if c not in header]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        for row in rows:
            w.writerow([row.get(c, "") for c in header])


def without_place(findings: list[dict]) -> Counter:
    """Findings as comparable values: the line and the file left out."""
    return Counter(json.dumps({k: v for k, v in f.items() if k not in ("line", "file")}, sort_keys=True)
                   for f in findings)


# ---- the same findings as JSONL ---------------------------------------------------------------


def readable_sample() -> list[dict]:
    out = []
    for line in (SAFETY / "sample.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # the sample's unreadable line: a table has no such row
        if isinstance(rec, dict):
            out.append(rec)
    return out


@pytest.mark.parametrize("suffix,delimiter", [(".csv", ","), (".tsv", "\t")])
def test_a_table_copy_of_the_sample_gives_the_findings_of_the_jsonl(tmp_path: Path, suffix: str,
                                                                      delimiter: str) -> None:
    records = readable_sample()
    table = tmp_path / f"sample{suffix}"
    write_table(table, records, delimiter)
    code, report, err = run_json(str(RUBRIC), str(table))
    assert err == "" and code == 1
    assert report["summary"]["records"] == len(records)
    assert report["summary"]["unreadable"] == 0

    code_j, jsonl, _ = run_json(str(RUBRIC), str(SAFETY / "sample.jsonl"))
    expected = [f for f in jsonl["findings"] if f["kind"] != "unreadable"]
    # A cell is text: where the sample writes a number or a set as a JSON string ("4",
    # "harassment"), a table cannot tell it from the number or the one-element set.
    # Those records' findings are those of the records with the number and the set.
    table_reads = {("confidence", "4"): 4, ("harm_categories", "harassment"): ["harassment"]}
    odd = [r for r in records
           if any(isinstance(r["labels"].get(k), str) for k in ("confidence", "harm_categories"))]
    assert len(odd) == 2
    r = load(RUBRIC)
    for rec in odd:
        assert any(f["record"] == rec["id"] and f["kind"] == "invalid" for f in expected)
        fixed = json.loads(json.dumps(rec))
        for k in ("confidence", "harm_categories"):
            v = fixed["labels"].get(k)
            if isinstance(v, str):
                fixed["labels"][k] = table_reads[k, v]
        expected = [f for f in expected if f["record"] != rec["id"]] + r.check_dicts(fixed)
    assert without_place(report["findings"]) == without_place(expected)
    # the lines are the rows' lines: the header is line 1, each record one line (no cell
    # of the sample holds a line break)
    by_id = {rec["id"]: i + 2 for i, rec in enumerate(records)}
    assert [f["line"] for f in report["findings"]] == [by_id[f["record"]] for f in report["findings"]]


# ---- rows that cannot be read -------------------------------------------------------------------


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


GOOD = 'id,data.n,data.x,data.flag,labels.tags,labels.mood\n'


def row(rid: str, n: str = "1", x: str = "0.5", flag: str = "true", tags: str = "a", mood: str = "calm") -> str:
    return f"{rid},{n},{x},{flag},{tags},{mood}\n"


def types_rubric(tmp_path: Path) -> str:
    return str(write(tmp_path / "types.rubric", TYPES))


def test_a_ragged_row_is_unreadable_at_its_line_and_the_run_goes_on(tmp_path: Path) -> None:
    data = write(tmp_path / "d.csv", GOOD + row("r1") + "r2,1,0.5\n" + row("r3").rstrip("\n") + ",extra\n"
                 + row("r4", n="x"))
    code, report, err = run_json(types_rubric(tmp_path), str(data))
    assert code == 1 and err == ""
    assert report["summary"]["records"] == 4
    bad = [(f["kind"], f["line"]) for f in report["findings"]]
    assert bad == [("unreadable", 3), ("unreadable", 4), ("invalid", 5)]
    messages = [f["message"] for f in report["findings"]]
    assert "3 cells" in messages[0] and "6 columns" in messages[0]
    assert "7 cells" in messages[1]
    assert report["findings"][2]["record"] == "r4"  # the run went on to the last row


def test_broken_quoting_is_unreadable_and_never_swallows_rows_silently(tmp_path: Path) -> None:
    # text after a closing quote: that row is unreadable, the next one is read
    data = write(tmp_path / "d.csv", GOOD + row("r1", mood='"calm"x') + row("r2", mood="wild"))
    _, report, _ = run_json(types_rubric(tmp_path), str(data))
    assert report["summary"]["records"] == 2
    assert [(f["kind"], f["line"]) for f in report["findings"]] == [("unreadable", 2), ("invalid", 3)]
    # a quote never closed: the rows after it are inside its cell, and the finding says so
    data = write(tmp_path / "e.csv", GOOD + row("r1") + row("r2", mood='"calm') + row("r3") + row("r4"))
    _, report, _ = run_json(types_rubric(tmp_path), str(data))
    assert report["summary"]["records"] == 2
    assert [(f["kind"], f["line"]) for f in report["findings"]] == [("unreadable", 3)]
    assert "not closed before the end of the file" in report["findings"][0]["message"]
    # a quote inside an unquoted cell is text
    data = write(tmp_path / "f.csv", GOOD.rstrip("\n") + ",labels.note\n" + row("r1").rstrip("\n") + ',5" long\n')
    _, report, _ = run_json(types_rubric(tmp_path), str(data))
    assert report["summary"] == {**report["summary"], "records": 1, "unreadable": 0}


def test_a_long_cell_is_read_whole(tmp_path: Path) -> None:
    long = "word " * 60_000  # longer than the csv module's default limit of a cell
    data = write(tmp_path / "d.csv", GOOD.rstrip("\n") + ",labels.note\n"
                 + row("r1").rstrip("\n") + f',"{long}"\n' + row("r2", mood="wild").rstrip("\n") + ",x\n")
    r = loads(TYPES)
    report = r.check_files(data)
    assert report.summary.records == 2
    assert [(f.kind, f.line, f.record) for f in report.findings] == [("invalid", 3, "r2")]


def test_a_cell_that_is_not_utf8_is_unreadable_at_its_line(tmp_path: Path) -> None:
    data = write(tmp_path / "d.csv", (GOOD + row("r1")).encode() + b"r2,1,0.5,true,a,ca\xfflm\n"
                 + row("r3", mood="wild").encode())
    code, report, _ = run_json(types_rubric(tmp_path), str(data))
    assert code == 1 and report["summary"]["records"] == 3
    found = [(f["kind"], f["line"], f["record"]) for f in report["findings"]]
    assert found == [("unreadable", 3, "3"), ("invalid", 4, "r3")]
    assert "UTF-8" in report["findings"][0]["message"] and "labels.mood" in report["findings"][0]["message"]


def test_an_empty_cell_is_a_missing_value_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    data = write(tmp_path / "d.csv", "\n" + GOOD + "\n" + row("r1", tags="") + "\n\n" + row("r2", mood=""))
    code, report, _ = run_json(types_rubric(tmp_path), str(data))
    assert report["summary"]["records"] == 2
    found = [(f["kind"], f["line"], f["label"], f["value"]) for f in report["findings"]]
    assert found == [("invalid", 4, "tags", None), ("invalid", 7, "mood", None)]
    assert all("is missing" in f["message"] for f in report["findings"])


def test_a_quoted_line_break_keeps_the_line_where_the_row_starts(tmp_path: Path) -> None:
    header = GOOD.rstrip("\n") + ",labels.note\n"
    data = write(tmp_path / "d.csv", header + row("r1").rstrip("\n") + ',"two\nlines"\n'
                 + row("r2", mood="wild").rstrip("\n") + ",x\n")
    code, report, _ = run_json(types_rubric(tmp_path), str(data))
    assert report["summary"]["records"] == 2
    assert [(f["line"], f["record"]) for f in report["findings"]] == [(4, "r2")]
    rec = TableReader(io.BufferedReader(io.BytesIO(data.read_bytes())), "d.csv")
    assert [(line, value["labels"]["note"]) for line, value, _ in rec] == [(2, "two\nlines"), (4, "x")]


# ---- conversions by declared type -----------------------------------------------------------------

CONVERSIONS = [
    # (declared type, cell, value read)
    ("int", "42", 42), ("int", " -7 ", -7), ("int", "4.0", 4.0), ("int", "x", "x"), ("int", "1,5", "1,5"),
    ("scale", "3", 3), ("number", "2.5", 2.5), ("number", "1e3", 1000.0), ("number", "0.5x", "0.5x"),
    ("number", "1e400", HugeNumber("1e400")), ("number", "NaN", "NaN"),
    ("bool", "true", True), ("bool", "FALSE", False), ("bool", "True", True), ("bool", "1", True),
    ("bool", "0", False), ("bool", "yes", "yes"),
    ("set", '["a","b"]', ["a", "b"]), ("set", "[]", []), ("set", "a|b", ["a", "b"]), ("set", "a | c", ["a", "c"]),
    ("set", "a", ["a"]), ("set", '["a",', '["a",'), ("set", '{"a": 1}', ['{"a": 1}']),
    ("enum", "calm", "calm"), ("enum", "1", "1"), ("text", "007", "007"), (None, "12", "12"),
]


@pytest.mark.parametrize("kind,cell,value", CONVERSIONS)
def test_a_cell_is_converted_by_the_declared_type(kind: str | None, cell: str, value: object) -> None:
    got = convert_cell(kind, cell)
    assert got == value and type(got) is type(value)


def test_cells_are_read_at_their_paths_by_the_rubrics_types(tmp_path: Path) -> None:
    data = write(tmp_path / "d.csv", GOOD.rstrip("\n") + ",meta.batch,Free Text\n"
                 + row("r1", n="3", x="2.5", flag="FALSE", tags='"[""a"",""c""]"').rstrip("\n") + ",7,hello\n")
    r = loads(TYPES)
    from rubricdsl.engine.reading import column_types  # noqa: PLC0415

    reader = TableReader(io.BufferedReader(io.BytesIO(data.read_bytes())), "d.csv", "csv", column_types(r.ir.fields))
    (line, rec, why), = list(reader)
    assert (line, why) == (2, None)
    assert rec == {"id": "r1", "data": {"n": 3, "x": 2.5, "flag": False}, "labels": {"tags": ["a", "c"], "mood": "calm"},
                   "meta": {"batch": "7"}, "Free Text": "hello"}
    assert r.check_files(data).findings == []


def test_a_cell_that_does_not_convert_is_invalid_with_the_usual_message(tmp_path: Path) -> None:
    data = write(tmp_path / "d.csv", GOOD + row("r1", n="many", flag="maybe", tags="a|z"))
    lines = [json.dumps({"id": "r1", "data": {"n": "many", "x": 0.5, "flag": "maybe"},
                         "labels": {"tags": ["a", "z"], "mood": "calm"}})]
    same = write(tmp_path / "d.jsonl", "\n".join(lines) + "\n")
    _, from_csv, _ = run_json(types_rubric(tmp_path), str(data))
    _, from_jsonl, _ = run_json(types_rubric(tmp_path), str(same))
    assert sorted(f["label"] for f in from_csv["findings"]) == ["flag", "n", "tags"]
    assert without_place(from_csv["findings"]) == without_place(from_jsonl["findings"])


# ---- choosing the reader ------------------------------------------------------------------------


@pytest.mark.parametrize("path,fmt,expected", [
    ("a.csv", "auto", "csv"), ("a.TSV", "auto", "tsv"), ("a.csv.gz", "auto", "csv"), ("a.tsv.gz", "auto", "tsv"),
    ("a.jsonl", "auto", None), ("a.json", "auto", None), ("-", "auto", None), ("a.txt", "csv", "csv"),
    ("a.csv", "jsonl", None), ("-", "tsv", "tsv"),
])
def test_the_format_goes_by_the_option_then_the_extension(path: str, fmt: str, expected: str | None) -> None:
    assert table_format(path, fmt) == expected


def test_input_format_csv_reads_a_file_without_the_extension(tmp_path: Path) -> None:
    data = write(tmp_path / "export.txt", GOOD + row("r1") + row("r2", mood="wild"))
    code, report, _ = run_json(types_rubric(tmp_path), str(data), "--input-format", "csv")
    assert report["summary"]["records"] == 2
    assert [(f["kind"], f["line"]) for f in report["findings"]] == [("invalid", 3)]
    # without the option the same file is JSONL: every line unreadable
    _, as_jsonl, _ = run_json(types_rubric(tmp_path), str(data))
    assert as_jsonl["summary"]["records"] == 3 and as_jsonl["summary"]["unreadable"] == 3


def test_a_tsv_file_and_standard_input(tmp_path: Path) -> None:
    text = (GOOD + row("r1") + row("r2", mood="wild")).replace(",", "\t")
    data = write(tmp_path / "d.tsv", text)
    _, report, _ = run_json(types_rubric(tmp_path), str(data))
    assert [(f["kind"], f["line"], f["record"]) for f in report["findings"]] == [("invalid", 3, "r2")]
    res = rubric("check", types_rubric(tmp_path), "-", "--input-format", "tsv", "--format", "json", input=text)
    assert [(f["line"], f["record"]) for f in json.loads(res.out)["findings"]] == [(3, "r2")]


def test_input_format_jsonl_and_json_force_the_reader(tmp_path: Path) -> None:
    rec = {"id": "r1", "data": {"n": 1, "x": 0.5, "flag": True}, "labels": {"tags": ["a"], "mood": "calm"}}
    data = write(tmp_path / "records.csv", json.dumps(rec) + "\n")
    _, report, _ = run_json(types_rubric(tmp_path), str(data), "--input-format", "jsonl")
    assert report["summary"] == {**report["summary"], "records": 1, "invalid": 0, "unreadable": 0}
    res = rubric("check", types_rubric(tmp_path), str(data), "--input-format", "json")
    assert res.returncode == 2 and "not a JSON array" in res.err and "Traceback" not in res.err


def test_a_gzip_csv_file(tmp_path: Path) -> None:
    data = tmp_path / "d.csv.gz"
    data.write_bytes(gzip.compress((GOOD + row("r1") + row("r2", n="x")).encode()))
    code, report, _ = run_json(types_rubric(tmp_path), str(data), "-j", "2")
    assert report["summary"]["records"] == 2
    assert [(f["kind"], f["line"], f["label"]) for f in report["findings"]] == [("invalid", 3, "n")]


@pytest.mark.parametrize("header,why", [("id,data.n,id", "`id` twice"),
                                        ("id,labels,labels.mood", "`labels.mood` inside the column `labels`")])
def test_a_bad_header_is_a_one_line_error_naming_the_file(tmp_path: Path, header: str, why: str) -> None:
    data = write(tmp_path / "d.csv", "\n" + header + "\nr1,1,2\n")
    res = rubric("check", types_rubric(tmp_path), str(data))
    assert res.returncode == 2 and res.out == ""
    assert res.err.count("\n") == 1 and str(data) in res.err and "line 2" in res.err and why in res.err


def test_a_rubric_with_each_reads_a_row_as_a_record_without_judgments(tmp_path: Path) -> None:
    data = write(tmp_path / "d.csv", "id,annotations\nt1,x\nt2,\n")
    code, report, _ = run_json(str(ROOT / "docs" / "examples" / "export.rubric"), str(data))
    assert code == 1
    assert report["summary"]["records"] == 2 and report["summary"]["judgments"] == 0
    assert [(f["kind"], f["line"], f["value"]) for f in report["findings"]] == [("invalid", 2, "x"),
                                                                                  ("invalid", 3, None)]


# ---- the other readers of data files ---------------------------------------------------------------


def test_diff_data_reads_a_table_by_each_versions_types(tmp_path: Path) -> None:
    old = types_rubric(tmp_path)
    new = write(tmp_path / "new.rubric", TYPES.replace("input n: int from data.n", "input n: text from data.n"))
    data = write(tmp_path / "d.csv", GOOD + row("r1") + row("r2", n="many"))
    res = rubric("diff", old, str(new), "--data", str(data), "--format", "json")
    out = json.loads(res.out)
    flipped = [(r["line"], r["record"]) for r in out["records"]]
    assert flipped == [(3, "r2")]  # invalid under the old version (int), fine under the new (text)


def test_the_api_reads_tables_and_refuses_an_unknown_format(tmp_path: Path) -> None:
    r = loads(TYPES)
    data = write(tmp_path / "d.data", GOOD + row("r1", flag="nope"))
    assert [f.label for f in r.check_files(data, input_format="csv").findings] == ["flag"]
    with pytest.raises(ValueError):
        r.check_files(data, input_format="xlsx")


def test_agreement_reads_a_csv_file(tmp_path: Path) -> None:
    ann = write(tmp_path / "ann.rubric", 'rubric "ann" version "1"\nrecord { item = item  annotator = who }\n'
                'label ok: bool from labels.ok\n')
    rows = "item,who,labels.ok\n" + "".join(f"i{i},{w},{'true' if (i + (w == 'b' and i == 0)) % 2 else 'false'}\n"
                                            for i in range(4) for w in "ab")
    table = write(tmp_path / "d.csv", rows)
    lines = [json.dumps({"item": r[0], "who": r[1], "labels": {"ok": r[2] == "true"}})
             for r in csv.reader(io.StringIO(rows))][1:]
    same = write(tmp_path / "d.jsonl", "\n".join(lines) + "\n")
    a = rubric("agreement", str(ann), str(table), "--format", "json")
    b = rubric("agreement", str(ann), str(same), "--format", "json")
    assert a.returncode == 0 and json.loads(a.out)["labels"]["ok"]["items"] == 4
    assert json.loads(a.out)["labels"] == json.loads(b.out)["labels"]
