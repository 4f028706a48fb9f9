"""`rubric init` from a sample of records: each leaf path of the records becomes a field
typed by its values, with a TODO for each guess; for any sample, the rubric written
compiles, lints without errors, and `rubric check` of the same sample finds no
`invalid` value. Unreadable records are counted and named, never used; bad input is
one line, exit 2."""
from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from helpers import rubric
from hypothesis import HealthCheck, given, settings, strategies as st

import rubricdsl
from rubricdsl.analysis.lint import lint_text
from rubricdsl.engine.sampling import infer_fields, read_sample
from rubricdsl.language.scaffold import ENUM_MAX, MAX_FIELDS, from_sample

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {"settings.json"}  # tool configurations, not records


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def started(path: Path, *args: str) -> str:
    ran = rubric("init", str(path), *args, text=True)
    assert ran.returncode == 0, ran.err
    return ran.out


def declarations(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("label ", "input "))]


def record_block(text: str) -> dict[str, str]:
    lines = text.split("record {\n", 1)[1].split("}", 1)[0].splitlines()
    return {k.strip(): v.strip() for k, v in (line.split("=", 1) for line in lines)}


def check_summary(rubric_path: Path, data: Path, *args: str) -> dict:
    ran = rubric("check", str(rubric_path), str(data), "--format", "json", *args, text=True)
    assert ran.returncode in (0, 1), ran.err
    return json.loads(ran.out)["summary"]


def lint_errors(text: str) -> list[str]:
    return [d.code for d in lint_text(text, "started.rubric").diagnostics if d.severity == "error"]


# ---- types ------------------------------------------------------------------------------------


def test_each_leaf_path_is_a_field_typed_by_its_values(tmp_path: Path) -> None:
    records = [
        {"id": f"r{i}", "meta": {"lang": ["en", "fr"][i % 2], "weight": i / 4, "n": i}, "ok": i % 3 == 0,
         "labels": {"safety": ["safe", "unsafe"][i % 2], "harm": ["hate", "violence"][: i % 3]},
         "prompt": f"question number {i}"}
        for i in range(1, 9)
    ]
    decls = declarations(started(write_jsonl(tmp_path / "s.jsonl", records)))
    assert decls == [
        "input lang: enum {fr, en} from meta.lang",
        "input weight: number from meta.weight",
        "input n: int from meta.n",
        "input ok: bool from ok",
        "input prompt: text from prompt",
        "label safety: enum {unsafe, safe} from labels.safety",
        "label harm: set {hate, violence} from labels.harm",
    ]


def test_an_integer_range_is_a_todo_not_a_constraint(tmp_path: Path) -> None:
    text = started(write_jsonl(tmp_path / "s.jsonl", [{"rating": v} for v in (2, 4, 3)]))
    assert "label rating: int from rating" in declarations(text)
    assert "`int 2..4` if that is the range" in text


def test_a_field_missing_or_null_somewhere_is_optional(tmp_path: Path) -> None:
    text = started(write_jsonl(tmp_path / "s.jsonl", [{"a": 1, "b": {"c": "x"}}, {"a": None}, {"a": 1, "b": {}}]))
    decls = declarations(text)
    assert "input a: int from a optional" in decls  # null in one record, absent in none
    assert "input c: text from b.c optional" in decls
    assert "Missing in 1 of 3 records." in text and "Missing in 2 of 3 records." in text
    assert "The sample holds only the integer 1." in text


def test_integers_and_decimals_are_numbers_other_mixtures_are_notes(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "s.jsonl", [{"x": 1, "y": 1, "z": [1]}, {"x": 2.5, "y": "one", "z": [2]}])
    ran = rubric("init", str(src), text=True)
    assert ran.returncode == 0
    assert "input x: number from x" in declarations(ran.out)
    assert not any(" y:" in d or " z:" in d for d in declarations(ran.out))
    notes = [line for line in ran.out.splitlines() if line.startswith("# NOTE:")]
    assert any(n.startswith("# NOTE: y is not declared") and "an integer in 1 record, a string in 1 record" in n
               for n in notes)
    assert any(n.startswith("# NOTE: z is not declared") and "an array of integers" in n for n in notes)
    assert ran.err.count("rubric: note: ") == 3
    assert "no field is named like a label" in ran.err


def test_enum_threshold(tmp_path: Path) -> None:
    """At most ENUM_MAX distinct short values, each seen about twice: an enum; else text."""
    few = [{"kind": f"k{i % ENUM_MAX}"} for i in range(2 * ENUM_MAX)]
    many = [{"kind": f"k{i % (ENUM_MAX + 1)}"} for i in range(4 * ENUM_MAX)]
    once = [{"kind": f"k{i}"} for i in range(5)]
    assert declarations(started(write_jsonl(tmp_path / "a.jsonl", few)))[0].startswith("input kind: enum {k0, k1,")
    assert declarations(started(write_jsonl(tmp_path / "b.jsonl", many))) == ["input kind: text from kind"]
    assert declarations(started(write_jsonl(tmp_path / "c.jsonl", once))) == ["input kind: text from kind"]
    # a label's name is enough to list its values, however few records there are
    assert declarations(started(write_jsonl(tmp_path / "d.jsonl", [{"answer": "yes"}, {"answer": "no"}]))) == [
        "label answer: enum {yes, no} from answer"]
    # long text is an input and never an enum
    long = [{"answer": "x" * 60}, {"answer": "x" * 60}]
    assert declarations(started(write_jsonl(tmp_path / "e.jsonl", long))) == ["input answer: text from answer"]


def test_arrays_that_are_no_sets_are_notes(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "s.jsonl", [{"dup": ["a", "a"], "empty": [], "objs": [{"k": 1}], "ok": ["a"]}])
    text = started(src)
    assert declarations(text) == ["input ok: set {a} from ok"]
    assert "lists a value twice" in text and "an empty array in every record" in text and "an array of objects" in text


def test_record_block_from_names(tmp_path: Path) -> None:
    records = [{"id": i, "task_id": i // 2, "annotator": "ab"[i % 2], "label": "ab"[i % 2]} for i in range(6)]
    text = started(write_jsonl(tmp_path / "s.jsonl", records))
    assert record_block(text) == {"id": "id", "item": "task_id", "annotator": "annotator"}
    assert declarations(text) == ["label label: enum {a, b} from label"]


def test_an_id_whose_values_repeat_is_the_item(tmp_path: Path) -> None:
    records = [{"id": i // 2, "annotation_id": i, "worker_id": "w"} for i in range(4)]
    assert record_block(started(write_jsonl(tmp_path / "s.jsonl", records))) == {
        "id": "annotation_id", "item": "id", "annotator": "worker_id"}


def test_names_are_identifiers_once_each_and_paths_keep_the_keys(tmp_path: Path) -> None:
    records = [{"in": 1, "a b": 1, "9lives": 1, "x": {"score": 1}, "y": {"score": 2}, "": 1, "z\n\u0001": 1,
                "k" * 300: 1}]
    text = started(write_jsonl(tmp_path / "s.jsonl", records))
    decls = declarations(text)
    assert "input in_: int from in" in decls or 'input in_: int from "in"' in decls
    assert 'input a_b: int from "a b"' in decls
    assert 'input _9lives: int from "9lives"' in decls
    assert "label score: int from x.score" in decls and "label y_score: int from y.score" in decls
    assert 'input field: int from ""' in decls
    assert 'input z: int from "z\\n\\u0001"' in decls
    assert f"input {'k' * 40}: int from {'k' * 300}" in decls
    rubricdsl.loads(text)


# ---- every record accounted for ---------------------------------------------------------------


def test_unreadable_records_are_counted_and_named_not_used(tmp_path: Path) -> None:
    src = tmp_path / "s.jsonl"
    src.write_text('{"a": 1}\nnot json\n[1]\n\n{"a": 2}\n{"a": "x"\n"text"\n', encoding="utf-8")
    ran = rubric("init", str(src), text=True)
    assert ran.returncode == 0
    assert declarations(ran.out) == ["input a: int from a"]
    note = ran.err.splitlines()[0]
    assert note.startswith(f"rubric: note: {src}: 4 of the 6 records read are unreadable and not used")
    one = tmp_path / "one.jsonl"
    one.write_text('{"a": 1}\n{"a": \n', encoding="utf-8")
    assert "1 of the 2 records read is unreadable" in rubric("init", str(one), text=True).err
    assert f"{src}:2:" in note and f"{src}:3: a JSON array, not an object" in note and f"{src}:5:" not in note
    assert note.endswith(", …)")
    assert "(4 unreadable, not used)" in ran.out


def test_sample_reads_the_first_n_records(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "s.jsonl", [{"a": 1}, {"a": 2}, {"a": "text"}])
    text = started(src, "--sample", "2")
    assert declarations(text) == ["input a: int from a"]
    assert "from the first 2 records of s.jsonl" in text
    sample = read_sample(str(src), 2)
    assert (sample.read, sample.more, len(sample.records)) == (2, True, 2)
    assert read_sample(str(src), 3).more is False


# ---- formats ---------------------------------------------------------------------------------------


def test_csv_columns_are_typed_by_how_check_converts_cells(tmp_path: Path) -> None:
    src = tmp_path / "t.csv"
    src.write_text("id,labels.sure,labels.stars,labels.topics,n,flag,note\n"
                   "a,TRUE,5,price|service,1,1,x\n"
                   "b,false,,\"[\"\"price\"\"]\",0,0,\n"
                   "c,true,2.5,quality,1,0,y\n", encoding="utf-8")
    text = started(src)
    assert declarations(text) == [
        "input n: int from n",
        "input flag: int from flag",
        "input note: text from note optional",
        "label sure: bool from labels.sure",
        "label stars: number from labels.stars optional",
        "label topics: set {price, service, quality} from labels.topics",
    ]
    out = tmp_path / "t.rubric"
    out.write_text(text, encoding="utf-8")
    assert check_summary(out, src)["invalid"] == 0


def test_input_format_reads_a_table_of_another_name(tmp_path: Path) -> None:
    src = tmp_path / "t.txt"
    src.write_text("a\tb\n1\tx\n2\ty\n", encoding="utf-8")
    assert declarations(started(src, "--input-format", "tsv")) == [
        "input a: int from a", "input b: text from b"]


def test_parquet_sample(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    src = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": "a", "labels": {"ok": True, "tags": ["x"]}, "v": 1.5},
                                         {"id": "b", "labels": {"ok": False, "tags": []}, "v": None}]), src)
    text = started(src)
    assert declarations(text) == ["input v: number from v optional", "label ok: bool from labels.ok",
                                  "label tags: set {x} from labels.tags"]
    out = tmp_path / "t.rubric"
    out.write_text(text, encoding="utf-8")
    assert check_summary(out, src)["invalid"] == 0
    # without an extension, the file's first bytes say it is Parquet
    bare = tmp_path / "export"
    bare.write_bytes(src.read_bytes())
    assert declarations(started(bare)) == declarations(text)


def test_gzip_and_standard_input(tmp_path: Path) -> None:
    import gzip  # noqa: PLC0415

    data = b'{"a": 1}\n{"a": 2}\n'
    for name in ("s.jsonl.gz", "export"):  # by the extension, by the magic bytes
        (tmp_path / name).write_bytes(gzip.compress(data))
        assert declarations(started(tmp_path / name)) == ["input a: int from a"]
    ran = rubric("init", "-", input=data, text=True)
    assert ran.returncode == 0
    assert ran.out.startswith('rubric "rubric" version "0.1"\n')
    assert declarations(ran.out) == ["input a: int from a"]


def test_numbers_that_are_not_finite_are_notes(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    src = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist([{"x": float("nan"), "y": 1.5}, {"x": 1.0, "y": 2.0}]), src)
    text = started(src)
    assert declarations(text) == ["input y: number from y"]
    assert "# NOTE: x is not declared" in text and "not finite" in text
    out = tmp_path / "t.rubric"
    out.write_text(text, encoding="utf-8")
    assert check_summary(out, src)["invalid"] == 0


def test_a_jsonl_or_json_array_without_extension_is_detected(tmp_path: Path) -> None:
    jsonl = tmp_path / "export"
    jsonl.write_text('{"a": 1}\n{"a": 2}\n', encoding="utf-8")
    assert declarations(started(jsonl)) == ["input a: int from a"]
    array = tmp_path / "export.json"
    array.write_text('[\n  {"a": 1},\n  {"a": 2}\n]\n', encoding="utf-8")
    assert declarations(started(array)) == ["input a: int from a"]
    one = tmp_path / "one.json"
    one.write_text('{"a": 1}\n', encoding="utf-8")
    assert "--from" in rubric("init", str(one), text=True).err
    assert declarations(started(one, "--from", "records")) == ["input a: int from a"]


# ---- every shipped sample --------------------------------------------------------------------


def shipped_samples() -> list[Path]:
    found = [p for p in sorted((ROOT / "rubrics").glob("*/*")) + sorted((ROOT / "docs" / "examples").glob("*"))
             if p.suffix in (".jsonl", ".json", ".csv") and p.name not in CONFIGS]
    assert len(found) >= 20
    return found


def _check_started(tmp_path: Path, sample: Path, *args: str) -> None:
    out = tmp_path / f"{sample.name}.rubric"
    ran = rubric("init", str(sample), "-o", str(out), *args, text=True)
    assert ran.returncode == 0, ran.err
    text = out.read_text(encoding="utf-8")
    assert declarations(text)
    assert lint_errors(text) == []
    summary = check_summary(out, sample, *args)
    assert summary["invalid"] == 0
    assert summary["records"] > 0


@pytest.mark.parametrize("sample", shipped_samples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_sample_gives_a_rubric_that_lints_and_checks_it_without_invalid(tmp_path: Path, sample: Path) -> None:
    _check_started(tmp_path, sample)


def test_parquet_copies_of_the_shipped_samples(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    copied = 0
    for sample in shipped_samples():
        if sample.suffix == ".csv":
            continue
        records = read_sample(str(sample), 10_000).records
        try:
            table = pa.Table.from_pylist(records)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            continue  # a column of mixed types has no Parquet type
        if table.num_columns == 0 or any(pa.types.is_null(t) for t in table.schema.types):
            continue
        copy = tmp_path / f"{sample.parent.name}-{sample.stem}.parquet"
        try:
            pq.write_table(table, copy)
        except pa.ArrowNotImplementedError:
            continue  # an empty object has no Parquet type

        _check_started(tmp_path, copy)
        copied += 1
    assert copied >= 8


# ---- any sample --------------------------------------------------------------------------------

_key = st.one_of(st.sampled_from(["id", "label", "answer", "in", "text", "a b", "", "item", "annotator", "x.y",
                                  "tags", "score"]),
                 st.text(string.ascii_letters + "_-. 0123456789\n\u00e9", min_size=0, max_size=8))
_scalar = st.one_of(st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from(["yes", "no", "maybe", "", "true", "x" * 50, "a\nb"]),
                    st.text(max_size=12).filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s)),
                    st.none())
_value = st.recursive(
    st.one_of(_scalar, st.lists(st.sampled_from(["a", "b", "c", "hate speech", "true"]), max_size=3)),
    lambda inner: st.one_of(st.dictionaries(_key, inner, max_size=4), st.lists(inner, max_size=3)),
    max_leaves=12,
)
_record = st.dictionaries(_key, _value, max_size=6)


@pytest.mark.exhaustive
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(_record, min_size=1, max_size=8))
def test_any_sample_gives_a_rubric_that_checks_it_without_invalid(tmp_path_factory, records: list[dict]) -> None:
    src = write_jsonl(tmp_path_factory.mktemp("s") / "s.jsonl", records)
    sample = read_sample(str(src), 1000)
    assert sample.read == len(records) and sample.unreadable == 0
    fields, notes = infer_fields(sample)
    text = from_sample(fields, notes, "s", file_name="s.jsonl", read=sample.read, unreadable=0, more=False).text
    r = rubricdsl.loads(text)
    assert [f for rec in records for f in r.check(rec) if f.kind == "invalid"] == []


@pytest.mark.exhaustive
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(_record, min_size=1, max_size=5))
def test_any_sample_gives_a_rubric_that_lints_without_errors(records: list[dict]) -> None:
    from rubricdsl.engine.sampling import Sample  # noqa: PLC0415

    sample = Sample("s.jsonl", records=records, read=len(records))
    fields, notes = infer_fields(sample)
    text = from_sample(fields, notes, "s", file_name="s.jsonl", read=sample.read, unreadable=0, more=False).text
    assert lint_errors(text) == []


# ---- bad input ------------------------------------------------------------------------------------


def one_line_error(ran) -> str:
    assert ran.returncode == 2
    assert ran.out == ""
    assert ran.err.count("\n") == 1 and ran.err.startswith("rubric: error: ")
    return ran.err


@pytest.mark.parametrize(("name", "content", "says"), [
    ("empty.jsonl", b"", "no record"),
    ("blank.jsonl", b"\n  \n", "no record"),
    ("bad.jsonl", b"nope\n{\"a\": \n", "no readable record in the 2 read"),
    ("numbers.json", b"[1, 2, 3]", "a JSON integer, not an object"),
    ("strings.jsonl", b'"a"\n"b"\n', "a JSON string, not an object"),
    ("header.csv", b"a,b\n", "no record"),
    ("twice.csv", b"a,a\n1,2\n", "twice"),
    ("notparquet.parquet", b"not parquet at all", "Parquet"),
], ids=lambda v: v if isinstance(v, str) and v.count(".") == 1 else None)
def test_what_holds_no_readable_record_is_one_line_error(tmp_path: Path, name: str, content: bytes, says: str) -> None:
    src = tmp_path / name
    src.write_bytes(content)
    out = tmp_path / "out.rubric"
    err = one_line_error(rubric("init", str(src), "-o", str(out), text=True))
    assert says in err and str(src) in err
    assert not out.exists()


def test_thousands_of_fields_give_a_rubric_of_at_most_the_limit_and_a_note(tmp_path: Path) -> None:
    record = {f"f{i}": i for i in range(3000)}
    src = write_jsonl(tmp_path / "wide.jsonl", [record, record])
    text = started(src)
    assert len(declarations(text)) == MAX_FIELDS
    assert f"# NOTE: {3000 - MAX_FIELDS} more fields not declared" in text
    rubricdsl.loads(text)


def test_deep_nesting_is_cut_with_a_note(tmp_path: Path) -> None:
    rec: dict = {"leaf": 1}
    for _ in range(200):
        rec = {"k": rec}
    text = started(write_jsonl(tmp_path / "deep.jsonl", [rec]))
    assert "nest objects more than" in text
    rubricdsl.loads(text)


def test_existing_output_is_refused_and_the_sample_never_overwritten(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "s.jsonl", [{"a": 1}])
    out = tmp_path / "mine.rubric"
    out.write_text("mine\n")
    assert "--force" in one_line_error(rubric("init", str(src), "-o", str(out), text=True))
    assert out.read_text() == "mine\n"
    one_line_error(rubric("init", str(src), "-o", str(src), "--force", text=True))
    assert src.read_text() == '{"a": 1}\n'
    assert rubric("init", str(src), "-o", str(out), "--force").returncode == 0
    assert out.read_text().startswith('rubric "mine" version "0.1"\n')


def test_sample_options_are_refused_with_a_tool_config(tmp_path: Path) -> None:
    cfg = ROOT / "rubrics" / "label-studio-toxicity" / "labeling-config.xml"
    assert "--sample" in one_line_error(rubric("init", str(cfg), "--from", "label-studio", "--sample", "5",
                                               text=True))


_cell = st.one_of(st.sampled_from(["", "1", "0", "-2", " 3 ", "2.5", "1e3", "1e400", "true", "FALSE", "yes", "a|b",
                                   "a|a", "b|", '["a"]', '["a", 1]', "[", "x,y", 'say "hi"', "line\nbreak", "NaN"]),
                  st.text(string.ascii_letters + string.digits + " |[],.\"-", max_size=6))
_columns = st.lists(st.sampled_from(["id", "item", "annotator", "label", "labels.a", "labels.b", "data.text", "n",
                                     "Free text", "in", "x.1"]), min_size=1, max_size=6, unique=True)


@pytest.mark.exhaustive
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(columns=_columns, data=st.data())
def test_any_table_gives_a_rubric_that_checks_it_without_invalid(tmp_path: Path, columns: list[str], data) -> None:
    import csv  # noqa: PLC0415
    import io  # noqa: PLC0415

    rows = data.draw(st.lists(st.lists(_cell, min_size=len(columns), max_size=len(columns)), min_size=1, max_size=6))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([columns, *rows])
    src = tmp_path / "t.csv"
    src.write_text(buf.getvalue(), encoding="utf-8")
    out = tmp_path / "t.rubric"
    ran = rubric("init", str(src), "-o", str(out), "--force", text=True)
    if all(not any(c.strip() for c in row) for row in rows):
        assert ran.returncode in (0, 2)  # rows of empty cells: a rubric without fields, or no record
        return
    assert ran.returncode == 0, ran.err
    summary = check_summary(out, src)
    assert summary["invalid"] == 0
    assert summary["records"] == sum(1 for row in rows if len(row) > 1 or row[0].strip())  # blank lines skipped
