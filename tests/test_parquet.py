"""Parquet data files: read with pyarrow (an optional dependency) a record batch at a
time, each row a record (`line` is the row's number from 1), struct columns as objects,
nulls as missing values; the findings are those of the same records in JSONL. Without
pyarrow, a Parquet file is a one-line error that says how to install it."""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from helpers import rubric
from rubricdsl.api import loads

ROOT = Path(__file__).resolve().parent.parent
SAFETY = ROOT / "rubrics" / "response-safety"
RUBRIC = SAFETY / "response-safety.rubric"

TYPES = """rubric "types" version "1"
record { id = id }
input n: int from data.n
input who: text from data.meta.who
label tags: set {a, b, c} from labels.tags
label mood: enum {calm, tense} from labels.mood
label note: text from labels.note optional
"""


def run_json(*args: str) -> tuple[int, dict, str]:
    res = rubric("check", *args, "--format", "json")
    return res.returncode, (json.loads(res.out) if res.out else {}), res.err


def without_place(findings: list[dict]) -> Counter:
    return Counter(json.dumps({k: v for k, v in f.items() if k not in ("line", "file")}, sort_keys=True)
                   for f in findings)


def write_parquet(path: Path, records: list[dict], **kw: object) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.Table.from_pylist(records), path, **kw)
    return path


def types_rubric(tmp_path: Path) -> str:
    p = tmp_path / "types.rubric"
    p.write_text(TYPES, encoding="utf-8")
    return str(p)


def rec(rid: str, n: object = 1, who: object = "ann", tags: object = ("a",), mood: object = "calm",
        note: object = None) -> dict:
    return {"id": rid, "data": {"n": n, "meta": {"who": who}},
            "labels": {"tags": list(tags) if isinstance(tags, tuple) else tags, "mood": mood, "note": note}}


# ---- the same findings as JSONL ---------------------------------------------------------------


def test_a_parquet_copy_of_the_sample_gives_the_findings_of_the_jsonl(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    records, odd = [], set()
    for line in (SAFETY / "sample.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue  # the sample's unreadable line: a Parquet file has no such row
        if not isinstance(r, dict):
            continue
        # a column holds one type: the records that write a number or a set as a
        # string ("4", "harassment") are left out, and their findings with them
        if any(isinstance(r["labels"].get(k), str) for k in ("confidence", "harm_categories")):
            odd.add(r["id"])
            continue
        records.append(r)
    assert len(odd) == 2
    data = write_parquet(tmp_path / "sample.parquet", records, row_group_size=7)
    code, report, err = run_json(str(RUBRIC), str(data))
    assert err == "" and code == 1
    assert report["summary"]["records"] == len(records)
    assert report["summary"]["unreadable"] == 0
    _, jsonl, _ = run_json(str(RUBRIC), str(SAFETY / "sample.jsonl"))
    expected = [f for f in jsonl["findings"] if f["kind"] != "unreadable" and f.get("record") not in odd]
    assert expected and without_place(report["findings"]) == without_place(expected)
    # `line` is the row's number, counting from 1
    row_of = {r["id"]: i + 1 for i, r in enumerate(records)}
    assert [f["line"] for f in report["findings"]] == [row_of[f["record"]] for f in report["findings"]]
    assert {f["file"] for f in report["findings"]} == {str(data)}


def test_struct_columns_nulls_and_wrong_types(tmp_path: Path) -> None:
    data = write_parquet(tmp_path / "d.parquet", [
        rec("r1"),
        rec("r2", who=None),  # a null: the value is missing
        rec("r3", note="fine"),
        rec("r4", mood=None, tags=None),
    ])
    code, report, err = run_json(types_rubric(tmp_path), str(data))
    assert err == "" and code == 1
    assert report["summary"]["records"] == 4
    # the same records in JSONL with the null keys left out give the same findings
    absent = [{"id": "r1", "data": {"n": 1, "meta": {"who": "ann"}}, "labels": {"tags": ["a"], "mood": "calm"}},
              {"id": "r2", "data": {"n": 1, "meta": {}}, "labels": {"tags": ["a"], "mood": "calm"}},
              {"id": "r3", "data": {"n": 1, "meta": {"who": "ann"}}, "labels": {"tags": ["a"], "mood": "calm",
                                                                                  "note": "fine"}},
              {"id": "r4", "data": {"n": 1, "meta": {"who": "ann"}}, "labels": {}}]
    same = tmp_path / "d.jsonl"
    same.write_text("".join(json.dumps(r) + "\n" for r in absent), encoding="utf-8")
    _, jsonl, _ = run_json(types_rubric(tmp_path), str(same))
    assert report["findings"] == [{**f, "file": str(data)} for f in jsonl["findings"]]
    assert [(f["line"], f["record"]) for f in report["findings"]] == [(2, "r2"), (4, "r4"), (4, "r4")]
    assert all("missing" in f["message"] for f in report["findings"])
    # a string column where the rubric reads an int: `invalid`, as in JSONL
    data = write_parquet(tmp_path / "e.parquet", [rec("s1", n="1"), rec("s2", n="many")])
    _, report, _ = run_json(types_rubric(tmp_path), str(data))
    assert [(f["line"], f["kind"]) for f in report["findings"]] == [(1, "invalid"), (2, "invalid")]


def test_timestamps_decimals_and_binary_become_text(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import datetime
    import decimal

    from rubricdsl.engine.reading import ParquetReader
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({
        "at": pa.array([datetime.datetime(2024, 1, 2, 3, 4, 5), None], pa.timestamp("us")),
        "day": pa.array([datetime.date(2024, 1, 2), None]),
        "price": pa.array([decimal.Decimal("1.50"), None]),
        "raw": pa.array([b"text", b"\xff"]),
    })
    pq.write_table(table, tmp_path / "t.parquet")
    rows = list(ParquetReader(str(tmp_path / "t.parquet"), "t.parquet"))
    assert rows[0] == (1, {"at": "2024-01-02T03:04:05", "day": "2024-01-02", "price": "1.50", "raw": "text"}, None)
    assert rows[1][0] == 2 and rows[1][1] is None and "UTF-8" in rows[1][2]  # counted, unreadable


# ---- files that cannot be read ------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"id,n\n1,2\n", b"PAR1", b""])
def test_a_file_that_is_not_parquet_is_one_line_naming_it(tmp_path: Path, content: bytes) -> None:
    pytest.importorskip("pyarrow")
    data = tmp_path / "bad.parquet"
    data.write_bytes(content)
    res = rubric("check", types_rubric(tmp_path), str(data))
    assert res.returncode == 2
    assert res.err.count("\n") == 1 and str(data) in res.err and "Traceback" not in res.err


def test_a_truncated_parquet_file_is_one_line_naming_it(tmp_path: Path) -> None:
    good = write_parquet(tmp_path / "good.parquet", [rec(f"r{i}") for i in range(50)])
    data = tmp_path / "cut.parquet"
    data.write_bytes(good.read_bytes()[:-20])
    res = rubric("check", types_rubric(tmp_path), str(data))
    assert res.returncode == 2 and res.err.count("\n") == 1 and str(data) in res.err


def test_without_pyarrow_a_parquet_file_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "d.parquet"
    data.write_bytes(b"PAR1 not read")
    for mod in [m for m in sys.modules if m == "pyarrow" or m.startswith("pyarrow.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # `import pyarrow` fails
    res = rubric("check", types_rubric(tmp_path), str(data))
    assert res.returncode == 2
    assert res.err.count("\n") == 1 and str(data) in res.err
    assert "pip install 'rubricdsl[parquet]'" in res.err


def test_a_pyarrow_that_does_not_import_is_named_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed but broken (built for another NumPy, say): the error says so, not 'install it'."""
    data = tmp_path / "d.parquet"
    data.write_bytes(b"PAR1 not read")
    fake = tmp_path / "site" / "pyarrow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('numpy.core.multiarray failed to import')\n",
                                      encoding="utf-8")
    for mod in [m for m in sys.modules if m == "pyarrow" or m.startswith("pyarrow.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    res = rubric("check", types_rubric(tmp_path), str(data))
    assert res.returncode == 2
    assert res.err.count("\n") == 1 and str(data) in res.err
    assert "installed but does not import" in res.err and "failed to import" in res.err


def test_the_command_line_does_not_import_pyarrow_for_jsonl(tmp_path: Path) -> None:
    import subprocess
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps(rec("r1", note="x")) + "\n", encoding="utf-8")
    code = ("import sys\nfrom rubricdsl.cli import main\n"
            "try:\n    main(['check', sys.argv[1], sys.argv[2], '--format', 'json'])\nexcept SystemExit as e:\n"
            "    assert e.code == 0, e.code\nassert 'pyarrow' not in sys.modules\n")
    ran = subprocess.run([sys.executable, "-c", code, types_rubric(tmp_path), str(data)], capture_output=True)
    assert ran.returncode == 0, ran.stderr


# ---- choosing the format, and the other readers of data files ------------------------------------


def test_input_format_parquet_reads_a_file_without_the_extension(tmp_path: Path) -> None:
    data = write_parquet(tmp_path / "d.data", [rec("r1"), rec("r2", mood="wild")])
    code, report, _ = run_json(types_rubric(tmp_path), str(data), "--input-format", "parquet")
    assert code == 1 and [(f["line"], f["kind"]) for f in report["findings"]] == [(2, "invalid")]
    # without the option, the file is not read as Parquet (it is not JSON either)
    code, report, _ = run_json(types_rubric(tmp_path), str(data))
    assert report["summary"]["unreadable"] >= 1
    r = loads(TYPES)
    assert [f.label for f in r.check_files(data, input_format="parquet").findings] == ["mood"]


def test_parquet_is_read_by_one_process_with_jobs(tmp_path: Path) -> None:
    data = write_parquet(tmp_path / "d.parquet", [rec(f"r{i}", mood="wild" if i % 3 else "calm")
                                                  for i in range(300)], row_group_size=50)
    code, report, _ = run_json(types_rubric(tmp_path), str(data), "-j", "2")
    assert report["summary"]["records"] == 300
    assert [f["line"] for f in report["findings"]] == [i + 1 for i in range(300) if i % 3]


def test_diff_data_reads_a_parquet_file(tmp_path: Path) -> None:
    old = types_rubric(tmp_path)
    new = tmp_path / "new.rubric"
    new.write_text(TYPES.replace("input n: int from data.n", "input n: text from data.n"), encoding="utf-8")
    data = write_parquet(tmp_path / "d.parquet", [rec("r1", n="1"), rec("r2", n="many")])
    res = rubric("diff", old, str(new), "--data", str(data), "--format", "json")
    out = json.loads(res.out)
    assert [(r["line"], r["record"]) for r in out["records"]] == [(1, "r1"), (2, "r2")]


def test_agreement_reads_a_parquet_file(tmp_path: Path) -> None:
    ann = tmp_path / "ann.rubric"
    ann.write_text('rubric "ann" version "1"\nrecord { item = item  annotator = who }\n'
                   'label ok: bool from labels.ok\n', encoding="utf-8")
    rows = [{"item": f"i{i}", "who": w, "labels": {"ok": bool((i + (w == "b" and i == 0)) % 2)}}
            for i in range(4) for w in "ab"]
    data = write_parquet(tmp_path / "d.parquet", rows)
    same = tmp_path / "d.jsonl"
    same.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    a = rubric("agreement", str(ann), str(data), "--format", "json")
    b = rubric("agreement", str(ann), str(same), "--format", "json")
    assert a.returncode == 0 and json.loads(a.out)["labels"]["ok"]["items"] == 4
    assert json.loads(a.out)["labels"] == json.loads(b.out)["labels"]
