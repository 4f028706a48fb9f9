"""DataFrames and Arrow tables checked from Python: `Rubric.check_dataframe` (pandas,
polars) and `Rubric.check_arrow` (pyarrow) read each row as a record through the same
checker as `rubric check`, and give the findings as a frame of the input's library,
each joined to its row (`row`: the pandas index label, else the 0-based position),
with the summary beside them. A frame made from a shipped sample gives the findings
`rubric check` gives on the file, row for line."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from enum import Enum
from io import StringIO
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest

import rubricdsl
from rubricdsl.engine import frames
from rubricdsl.engine.frames import FrameRows

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")

ROOT = Path(__file__).resolve().parent.parent
RUBRICS = ROOT / "rubrics"

# every shipped rubric with each of its data files
SAMPLES = [
    ("argilla-feedback", "sample.json"),
    ("label-studio-toxicity", "sample.json"),
    ("medical-labeling", "sample.jsonl"),
    ("pairwise-preference", "sample.jsonl"),
    ("response-safety", "multi-annotator.jsonl"),
    ("response-safety", "sample.jsonl"),
    ("tone-intent", "multi-annotator.jsonl"),
    ("tone-intent", "sample.jsonl"),
]
# those whose every column holds one type (polars and Arrow need that to build a frame)
TYPED = [s for s in SAMPLES if s[0] in ("argilla-feedback", "label-studio-toxicity") or s[1] == "multi-annotator.jsonl"]

TYPES = """rubric "types" version "1"
record { id = id }
label n: int 1..5 from n
label x: number from x optional
label ok: bool from ok optional
label t: text from t optional
label tags: set {a, b, c} from tags optional
label when: text from when optional
rule n_at_least_3 "n is 3 or more" { require n >= 3 }
"""

SHOW = """rubric "show" version "1"
label v: text from v optional
rule show "shows v" { require len(v) < 0 }
"""


def _rubric_of(name: str) -> rubricdsl.Rubric:
    return rubricdsl.load(RUBRICS / name / f"{name}.rubric")


def _sample(name: str, data: str) -> tuple[list[dict], list[int], Any]:
    """The records of a shipped data file that `rubric check` reads as records, the
    line of each in the file (None for the elements of a JSON array), and the report
    of `check_files` on it."""
    path = RUBRICS / name / data
    report = _rubric_of(name).check_files(path)
    if data.endswith(".json"):
        assert not [f for f in report.findings if f.kind == "unreadable"]
        return json.loads(path.read_text(encoding="utf-8")), [], report
    unreadable = {f.line for f in report.findings if f.kind == "unreadable"}
    recs, lines = [], []
    for n, line in enumerate(path.read_bytes().splitlines(), 1):
        if line.strip() and n not in unreadable:
            recs.append(orjson.loads(line))
            lines.append(n)
    return recs, lines, report


def _finding_key(f: dict) -> tuple:
    """A finding as the frames give it, without where it is."""
    return (f["record"], f["kind"], f["severity"], f["criterion"], f["rule"], f["label"], f["judgment"], f["message"],
            f["value"], f["fields"], tuple(f["arms"]) if f["arms"] is not None else None, f["target"], f["cause"],
            f["values"], f["aggregates"])


def _as_json(v: Any) -> str | None:
    return None if v is None else orjson.dumps(v).decode()


def _expected(report: Any, lines: list[int]) -> Counter:
    """The findings of `rubric check` (unreadable lines left out), each with the 0-based
    position of its record among the records read (None for a JSON array file) and, for
    an item finding, of every record of the item."""
    pos = {line: i for i, line in enumerate(lines)}
    out: Counter = Counter()
    for f in report.findings:
        if f.kind == "unreadable":
            continue
        d = f.model_dump()
        for k in ("value", "fields", "values", "aggregates"):
            d[k] = _as_json(d[k])
        d.setdefault("judgment", None)
        where = None
        if lines:
            rows = None if f.lines is None else tuple(pos[x["line"]] for x in f.lines)
            where = (pos[f.line], rows)
        out[(where, _finding_key(d))] += 1
    return out


def _got(rows: list[dict], positional: bool) -> Counter:
    out: Counter = Counter()
    for f in rows:
        where = (f["row"], None if f["rows"] is None else tuple(f["rows"])) if positional else None
        out[(where, _finding_key(f))] += 1
    return out


def _summary_without_unreadable(report: Any) -> dict:
    s = report.summary.model_dump()
    bad = s["unreadable"]
    s["records"] -= bad
    s["errors"] -= bad
    s["unreadable"] = 0
    return s


def _rows(findings: Any) -> list[dict]:
    """The findings frame of any library as a list of dicts (NaN in pandas as None)."""
    if isinstance(findings, pa.Table):
        return findings.to_pylist()
    if isinstance(findings, pl.DataFrame):
        return findings.to_dicts()
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in findings.to_dict("records")]


# ---- the shipped samples give the findings of `rubric check` -----------------------------------------


def _pandas_frames(recs: list[dict], name: str, data: str) -> dict[str, Any]:
    text = "\n".join(json.dumps(r) for r in recs)
    return {
        "DataFrame(records)": pd.DataFrame(recs),
        "json_normalize": pd.json_normalize(recs),
        "read_json": pd.read_json(StringIO(text), lines=True),
    }


@pytest.mark.parametrize("name,data", SAMPLES, ids=[f"{n}/{d}" for n, d in SAMPLES])
def test_a_pandas_frame_of_a_sample_gives_the_findings_of_rubric_check(name: str, data: str) -> None:
    recs, lines, report = _sample(name, data)
    want = _expected(report, lines)
    assert sum(want.values()) > 5
    for how, df in _pandas_frames(recs, name, data).items():
        res = _rubric_of(name).check_dataframe(df)
        assert isinstance(res.findings, pd.DataFrame)
        assert _got(_rows(res.findings), bool(lines)) == want, how
        assert res.summary.model_dump() == _summary_without_unreadable(report), how
        assert res.rubric == report.rubric


@pytest.mark.parametrize("name,data", TYPED, ids=[f"{n}/{d}" for n, d in TYPED])
def test_polars_and_arrow_frames_of_a_sample_give_the_findings_of_rubric_check(name: str, data: str) -> None:
    recs, lines, report = _sample(name, data)
    want = _expected(report, lines)
    rubric = _rubric_of(name)
    table = pa.Table.from_pylist(recs)
    results = {
        "polars": rubric.check_dataframe(pl.DataFrame(recs, infer_schema_length=None)),
        "arrow Table": rubric.check_arrow(table),
        "arrow RecordBatch": rubric.check_arrow(table.combine_chunks().to_batches()[0]),
        "arrow RecordBatchReader": rubric.check_arrow(
            pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=7))),
    }
    for how, res in results.items():
        assert isinstance(res.findings, pl.DataFrame if how == "polars" else pa.Table), how
        assert _got(_rows(res.findings), bool(lines)) == want, how
        assert res.summary.model_dump() == _summary_without_unreadable(report), how


def test_rows_are_read_a_block_at_a_time_with_the_same_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    recs, lines, report = _sample("response-safety", "multi-annotator.jsonl")
    monkeypatch.setattr(frames, "FRAME_BLOCK", 4)
    rubric = _rubric_of("response-safety")
    want = _expected(report, lines)
    assert _got(_rows(rubric.check_dataframe(pd.DataFrame(recs)).findings), True) == want
    assert _got(_rows(rubric.check_dataframe(pl.DataFrame(recs)).findings), True) == want
    assert _got(_rows(rubric.check_arrow(pa.Table.from_pylist(recs)).findings), True) == want


# ---- joined to the rows ------------------------------------------------------------------------------------


def test_item_findings_name_every_row_of_the_item_by_its_index_label() -> None:
    recs, _, _ = _sample("response-safety", "multi-annotator.jsonl")
    df = pd.DataFrame(recs)
    df.index = [f"row-{i}" for i in range(len(df))]
    res = _rubric_of("response-safety").check_dataframe(df)
    found = res.findings
    items = found[found["rows"].notna()]
    assert len(items) > 0 and res.summary.items > 0
    for _, f in items.iterrows():
        labels = f["rows"]
        assert labels[0] == f["row"]
        assert set(df.loc[labels, "item"]) == {f["record"]}  # `record` is the item's value
    for _, f in found[found["rows"].isna()].iterrows():
        assert df.loc[f["row"], "id"] == f["record"]


def test_the_row_column_is_the_index_label_whatever_its_type() -> None:
    rubric = rubricdsl.loads(TYPES)
    rows = [{"n": 1}, {"n": 4}, {"n": 2}]
    for index in (pd.Index(["a", "b", "c"]), pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-03"]),
                  pd.Index([10, 20, 30]), pd.MultiIndex.from_tuples([(1, "x"), (1, "y"), (2, "x")])):
        df = pd.DataFrame(rows, index=index)
        found = rubric.check_dataframe(df).findings
        assert found["row"].tolist() == [index[0], index[2]]
        joined = df.loc[found["row"].tolist()]
        assert joined["n"].tolist() == [1, 2]


def test_duplicate_index_labels_are_kept_as_given() -> None:
    df = pd.DataFrame({"n": [1, 4, 2, 5]}, index=[7, 7, 8, 8])
    found = rubricdsl.loads(TYPES).check_dataframe(df).findings
    assert found["row"].tolist() == [7, 8]
    assert found["line"].tolist() == [1, 3]  # the row's position from 1 tells the two 7s apart


def test_each_judgment_in_a_list_column_is_checked_and_named() -> None:
    recs, _, report = _sample("argilla-feedback", "sample.json")
    rubric = _rubric_of("argilla-feedback")
    res = rubric.check_dataframe(pd.DataFrame(recs))
    assert res.summary.judgments == report.summary.judgments and res.summary.judgments > len(recs)
    named = res.findings[res.findings["judgment"].notna()]
    assert len(named) > 0
    for _, f in named.iterrows():
        users = [j["user_id"] for j in recs[f["row"]]["responses"]["sentiment"]]
        assert f["judgment"] in users


def test_the_result_has_the_same_columns_in_every_library_and_an_empty_one_has_them_too() -> None:
    rubric = rubricdsl.loads(TYPES)
    results = [rubric.check_dataframe(pd.DataFrame({"n": [1]})), rubric.check_dataframe(pl.DataFrame({"n": [1]})),
               rubric.check_arrow(pa.table({"n": [1]}))]
    empties = [rubric.check_dataframe(pd.DataFrame({"n": []})), rubric.check_dataframe(pl.DataFrame({"n": []})),
               rubric.check_arrow(pa.table({"n": pa.array([], pa.int64())}))]
    names = [list(r.findings.columns) if not isinstance(r.findings, pa.Table) else r.findings.column_names
             for r in results + empties]
    assert all(n == names[0] for n in names)
    assert names[0][:3] == ["row", "line", "record"] and "message" in names[0] and "file" not in names[0]
    assert all(len(r.findings) == 1 for r in results)
    for r in empties:
        assert len(r.findings) == 0
        assert r.summary.records == 0 and r.summary.errors == r.summary.warnings == r.summary.infos == 0
        assert sum(getattr(r.summary, k) for k in ("unreadable", "violation", "uncovered", "ambiguous", "invalid",
                                                   "escalation")) == 0
    assert empties[2].findings.schema == results[2].findings.schema
    assert empties[1].findings.schema == results[1].findings.schema


def test_nested_values_are_json_text_and_arms_a_list() -> None:
    rubric = _rubric_of("response-safety")
    recs, _, _ = _sample("response-safety", "sample.jsonl")
    res = rubric.check_dataframe(pd.DataFrame(recs))
    with_fields = res.findings[res.findings["fields"].notna()]
    assert len(with_fields) > 0
    for text in with_fields["fields"]:
        assert isinstance(json.loads(text), dict)
    arms = res.findings[res.findings["kind"] == "ambiguous"]["arms"]
    assert len(arms) > 0 and all(isinstance(a, list) and len(a) >= 2 for a in arms)


# ---- values -------------------------------------------------------------------------------------------------


def test_missing_values_of_every_kind_are_missing_keys() -> None:
    """None, NaN, pd.NA and NaT give what an absent key gives: nothing for an optional
    label, `is missing` for a required one."""
    rubric = rubricdsl.loads(TYPES)
    df = pd.DataFrame({
        "n": pd.array([None, 3, pd.NA, 4], dtype="Int64"),
        "x": [np.nan, None, 1.5, np.nan],
        "ok": [pd.NA, True, None, np.nan],
        "t": [None, pd.NaT, "x", np.nan],
        "when": [pd.NaT, pd.NaT, pd.NaT, pd.NaT],
    })
    plain = [{}, {"n": 3}, {"x": 1.5, "t": "x"}, {"n": 4}]
    got = _rows(rubric.check_dataframe(df).findings)
    want = rubric.check_records(plain).findings
    assert [(f["line"], f["message"]) for f in got] == [(f.line, f.message) for f in want]
    assert [f["message"] for f in got] == ["`n` is missing", "`n` is missing"]
    for lib in (pl.DataFrame({"n": [None, 3], "t": [None, "x"]}), pa.table({"n": [None, 3], "x": [float("nan"), None]})):
        res = rubric.check_arrow(lib) if isinstance(lib, pa.Table) else rubric.check_dataframe(lib)
        assert [(f["row"], f["message"]) for f in _rows(res.findings)] == [(0, "`n` is missing")]


def test_numpy_scalars_and_arrays_are_their_python_values() -> None:
    rubric = rubricdsl.loads(TYPES)
    df = pd.DataFrame({
        "id": [np.str_("a"), "b", "c", "d"],
        "n": np.array([3, 9, 4, 2], dtype=np.int64).astype(object),
        "x": [np.float64(0.5), np.float32(2.0), np.int32(7), 1],
        "ok": [np.bool_(True), np.bool_(False), True, "yes"],
        "t": [np.str_("hi"), "x", np.int64(3), "y"],
        "tags": [np.array(["a", "b"]), ["c"], ("a", "z"), np.array(["b", "b"])],
    })
    plain = [{"id": "a", "n": 3, "x": 0.5, "ok": True, "t": "hi", "tags": ["a", "b"]},
             {"id": "b", "n": 9, "x": 2.0, "ok": False, "t": "x", "tags": ["c"]},
             {"id": "c", "n": 4, "x": 7, "ok": True, "t": 3, "tags": ["a", "z"]},
             {"id": "d", "n": 2, "x": 1, "ok": "yes", "t": "y", "tags": ["b", "b"]}]
    got = [(f["line"], f["kind"], f["message"]) for f in _rows(rubric.check_dataframe(df).findings)]
    want = [(f.line, f.kind, f.message) for f in rubric.check_records(plain).findings]
    assert got == want
    assert {m for _, _, m in got} >= {"`n` must be an integer in 1..5, got 9", "`t` must be a string, got an integer 3"}


class Mood(Enum):
    CALM = "calm"


class Tone(str, Enum):
    WARM = "warm"


def _shown_value(rubric: rubricdsl.Rubric, cells: list) -> list:
    """The value of each cell of column `v` as the record holds it: what the `show` rule
    reads (text), or the value of the `invalid` finding (anything else)."""
    df = pd.DataFrame({"v": pd.Series(cells, dtype=object)})
    found = _rows(rubric.check_dataframe(df).findings)
    assert [f["row"] for f in found] == list(range(len(cells)))
    return [json.loads(f["fields"])["v"] if f["kind"] == "violation" else json.loads(f["value"]) for f in found]


def test_times_decimals_durations_uuids_and_sets_become_text_and_lists() -> None:
    rubric = rubricdsl.loads(SHOW)
    cells = [pd.Timestamp("2024-01-02 03:04:05"), dt.date(2024, 1, 1), np.datetime64("2024-05-06T07:08:09"),
             dt.time(12, 30), Decimal("1.50"), pd.Timedelta(hours=1, minutes=30), dt.timedelta(seconds=5),
             {"b", "a"}, b"bytes", {"k": np.int64(1), "n": np.nan}, (1, pd.NA),
             UUID("12345678-1234-5678-1234-567812345678"), Mood.CALM, Tone.WARM]
    assert _shown_value(rubric, cells) == [
        "2024-01-02T03:04:05", "2024-01-01", "2024-05-06T07:08:09", "12:30:00", "1.50", "1:30:00", "0:00:05",
        ["a", "b"], "bytes", {"k": 1, "n": None}, [1, None],
        "12345678-1234-5678-1234-567812345678", "calm", "warm"]


def test_a_datetime_column_is_iso_text_in_every_library() -> None:
    rubric = rubricdsl.loads(SHOW)
    when = [dt.datetime(2024, 3, 4, 5, 6, 7), None]
    want = ["2024-03-04T05:06:07"]
    for res in (rubric.check_dataframe(pd.DataFrame({"v": pd.to_datetime(when)})),
                rubric.check_dataframe(pl.DataFrame({"v": when})), rubric.check_arrow(pa.table({"v": when}))):
        rows = [r for r in _rows(res.findings) if r["fields"] is not None and json.loads(r["fields"])["v"] is not None]
        assert [json.loads(r["fields"])["v"] for r in rows] == want


def test_arrow_structs_lists_and_scalars_are_read_as_their_python_values() -> None:
    rubric = _rubric_of("response-safety")
    recs, _, report = _sample("response-safety", "multi-annotator.jsonl")
    table = pa.Table.from_pylist(recs)
    assert pa.types.is_struct(table.schema.field("labels").type)
    # the same records as Arrow scalars in a pandas object column
    scalars = pd.DataFrame({name: list(table.column(name)) for name in table.column_names})
    assert isinstance(scalars.iloc[0, 0], pa.Scalar)
    got = _got(_rows(rubric.check_dataframe(scalars).findings), True)
    assert got == _got(_rows(rubric.check_arrow(table).findings), True)


def test_dotted_columns_are_nested_paths() -> None:
    rubric = _rubric_of("response-safety")
    recs, lines, report = _sample("response-safety", "sample.jsonl")
    flat = pd.json_normalize(recs)
    assert "labels.safety" in flat.columns
    assert _got(_rows(rubric.check_dataframe(flat).findings), True) == _expected(report, lines)


# ---- bad input --------------------------------------------------------------------------------------------


class Thing:
    """An object that is no data."""


def test_a_cell_the_rubric_cannot_read_is_invalid_and_one_that_is_no_data_unreadable() -> None:
    rubric = rubricdsl.loads(TYPES)
    df = pd.DataFrame({"n": pd.Series([{"a": 1}, b"3", [1, 2], b"\xff", Thing(), 3], dtype=object),
                       "t": pd.Series([1, 2, 3, 4, 5, 6], dtype=object)})
    res = rubric.check_dataframe(df)
    got = [(f["row"], f["kind"], f["label"], f["message"]) for f in _rows(res.findings)]
    assert got[:3] == [
        (0, "invalid", "n", '`n` must be an integer in 1..5, got an object {"a":1}'),
        (0, "invalid", "t", "`t` must be a string, got an integer 1"),
        (1, "invalid", "n", '`n` must be an integer in 1..5, got a string "3"'),
    ]
    unreadable = [(row, msg) for row, kind, _, msg in got if kind == "unreadable"]
    assert unreadable == [
        (3, "line 4 is not a record: column `n` holds binary data that is not UTF-8 text"),
        (4, f"line 5 is not a record: column `n` holds a value of type `{__name__}.Thing`, which is not data"),
    ]
    assert res.summary.records == 6 and res.summary.unreadable == 2


def test_a_cell_that_holds_itself_is_unreadable_not_a_hang() -> None:
    loop: dict = {"a": 1}
    loop["self"] = loop
    res = rubricdsl.loads(TYPES).check_dataframe(pd.DataFrame({"n": [3, 3], "t": pd.Series([loop, "x"], dtype=object)}))
    assert [(f["row"], f["kind"], f["message"]) for f in _rows(res.findings)] == [
        (0, "unreadable", "line 1 is not a record: column `t` is nested too deeply")]


def test_anything_but_a_frame_is_a_type_error_that_says_what_would_do() -> None:
    rubric = rubricdsl.loads(TYPES)
    cases = [([{"n": 1}], "check_records"), (None, "NoneType"), (pd.Series([1]), ".to_frame()"),
             (pl.DataFrame({"n": [1]}).lazy(), ".collect()"), (pa.table({"n": [1]}), "check_arrow")]
    for obj, hint in cases:
        with pytest.raises(TypeError, match="check_dataframe takes a pandas or polars DataFrame") as e:
            rubric.check_dataframe(obj)
        assert hint in str(e.value)
    with pytest.raises(TypeError, match="check_arrow takes a pyarrow Table") as e:
        rubric.check_arrow(pd.DataFrame({"n": [1]}))
    assert "check_dataframe" in str(e.value)


def test_two_columns_of_one_name_or_one_inside_another_are_a_value_error() -> None:
    rubric = rubricdsl.loads(TYPES)
    with pytest.raises(ValueError, match="two columns named `n`"):
        rubric.check_dataframe(pd.DataFrame([[1, 2]], columns=["n", "n"]))
    with pytest.raises(ValueError, match="a column `labels.n` inside the column `labels`"):
        rubric.check_dataframe(pd.DataFrame({"labels": [{}], "labels.n": [1]}))
    with pytest.raises(ValueError, match="two columns named `n`"):
        rubric.check_arrow(pa.table([pa.array([1]), pa.array([2])], names=["n", "n"]))


def test_a_frame_without_columns_has_records_without_keys() -> None:
    res = rubricdsl.loads(TYPES).check_dataframe(pd.DataFrame(index=["a", "b"]))
    assert [(f["row"], f["message"]) for f in _rows(res.findings)] == [("a", "`n` is missing"), ("b", "`n` is missing")]


def test_frame_rows_give_json_like_records() -> None:
    df = pd.DataFrame({"a.b": [np.int64(1), None], "a.c": ["x", "y"], "d": [np.array([1.5, np.nan]), None]})
    assert list(FrameRows(df, "pandas")) == [(1, {"a": {"b": 1, "c": "x"}, "d": [1.5, None]}, None),
                                             (2, {"a": {"c": "y"}}, None)]


# ---- optional imports ---------------------------------------------------------------------------------------


def test_neither_the_package_nor_the_command_line_imports_pandas_or_polars(tmp_path: Path) -> None:
    sample = RUBRICS / "response-safety" / "multi-annotator.jsonl"
    csv_file = tmp_path / "d.csv"
    csv_file.write_text("id,labels.safety\nr1,safe\n", encoding="utf-8")
    parquet = tmp_path / "d.parquet"
    import pyarrow.parquet as pq
    pq.write_table(pa.Table.from_pylist([json.loads(line) for line in sample.read_text().splitlines()]), parquet)
    rubric = str(RUBRICS / "response-safety" / "response-safety.rubric")
    code = (
        "import sys\nimport rubricdsl\n"
        "assert 'pandas' not in sys.modules and 'polars' not in sys.modules, 'import rubricdsl'\n"
        "from rubricdsl.cli import main\n"
        "for args in (['check', sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], '--format', 'json'],\n"
        "             ['lint', sys.argv[1]], ['test', sys.argv[1]]):\n"
        "    try:\n        main(args)\n    except SystemExit as e:\n        assert e.code in (0, 1), (args, e.code)\n"
        "r = rubricdsl.load(sys.argv[1])\nr.check_records([{}])\n"
        "assert rubricdsl.FrameReport\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pandas', 'polars')))\n")
    ran = subprocess.run([sys.executable, "-c", code, rubric, str(sample), str(csv_file), str(parquet)],
                         capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.strip().splitlines()[-1] == "[]"


def test_checking_leaves_the_frame_as_it_was() -> None:
    recs, _, _ = _sample("argilla-feedback", "sample.json")
    df = pd.DataFrame(recs)
    df.loc[0, "metadata"]["extra"] = np.int64(3)  # a cell that is converted, not passed on as it is
    before = df.to_json()
    _rubric_of("argilla-feedback").check_dataframe(df)
    assert df.to_json() == before and df.loc[0, "metadata"]["extra"].__class__ is np.int64
