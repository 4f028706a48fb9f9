"""`rubric check` on Spark (local[2]) finds what `rubric check` finds: the same multiset of
findings, line numbers included, and the same summary, on every shipped sample and on
generated data with items, unreadable lines and several files of every format; bad
input is the same error as one line, never a Java stack trace.

These tests need pyspark (`pip install 'rubricdsl[spark]'`) and Java; the tests a pytest
worker runs share one SparkSession. `xdist_group` asks for one worker for them all, but
pytest 9.2 makes pytest-xdist's `--dist loadgroup` ignore the mark (pytest-xdist issue
1386): each worker then starts its own session, which is slower to start, not wrong."""
from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="the Spark engine needs pyspark: pip install 'rubricdsl[spark]'")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("the Spark engine needs Java", allow_module_level=True)

import rubricdsl  # noqa: E402
from rubricdsl import spark as rspark  # noqa: E402
from rubricdsl.engine.findings import summary_dict  # noqa: E402
from rubricdsl.engine.reading import DataError  # noqa: E402
from rubricdsl.engine.runtime import run  # noqa: E402

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted(p for d in (ROOT / "rubrics").iterdir() if d.is_dir()
                 for p in [*d.glob("*.jsonl"), *d.glob("sample.json")])


@pytest.fixture(scope="module")
def spark():
    # small file blocks, so that one generated file is split between tasks
    session = rspark.session("local[2]", app_name="rubricdsl tests",
                             config={"spark.sql.files.maxPartitionBytes": str(64 << 10),
                                     "spark.sql.shuffle.partitions": "3"})
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def local(rubric: Path | str, paths: list) -> tuple[list[dict], dict]:
    """`rubric check`'s findings (as its JSONL writes them) and summary."""
    r = rubricdsl.load(rubric)
    found: list[dict] = []
    stats = run(r.compiled, [str(p) for p in paths], found.append)
    summary = summary_dict(stats.records, stats.counts, stats.by_severity, stats.items, stats.judgments,
                                  stats.skipped)
    return found, summary


def on_spark(spark, rubric: Path | str, data, **kw) -> tuple[list[dict], dict]:
    report = rspark.check(spark, rubric, data, **kw)
    try:
        found = [rspark.finding_dict(r) for r in report.findings.collect()]
    finally:
        report.unpersist()
    summary = {k: v for k, v in report.summary.items() if k != "with_findings"}
    return found, summary


def multiset(findings: list[dict]) -> list[str]:
    return sorted(json.dumps(f, sort_keys=True) for f in findings)


@pytest.mark.parametrize("data", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_sample_gives_the_same_findings(spark, data: Path) -> None:
    rubric = next(data.parent.glob("*.rubric"))
    want, want_summary = local(rubric, [data])
    got, got_summary = on_spark(spark, rubric, [str(data)])
    assert want, "the sample has findings"
    assert multiset(got) == multiset(want)
    assert got_summary == want_summary


ITEMS_RUBRIC = '''rubric "spark-items" version "1"
record {
  id        = id
  item      = item
  annotator = annotator
}
input prompt: text from data.prompt
label harm: set {violence, hate, self_harm} from labels.harm
label safety: enum {safe, borderline, unsafe} from labels.safety
label helpfulness: scale 1..5 from labels.helpfulness

decide safety {
  when harm is empty -> safe
  when harm any of {violence, self_harm} -> unsafe
  when harm is not empty -> borderline, unsafe
}

rule short_unsafe "Unsafe answers are rarely one word" severity info {
  when safety == unsafe
  require words(prompt) > 1
}

consensus safety {
  min annotators 3
  min agreement 0.67
}

rule calm_scores "Helpfulness scores of one item stay within two points" per item severity warning {
  require spread(helpfulness) <= 2
}

escalate adjudicator no_majority "No clear majority on safety" per item {
  when agreement(safety) < 0.5
}
'''

BAD_LINES = [b'{"id": "bad", "item": ', b"[1, 2]", b"\xff\xfe not text", b'"a string"', b"   ", b"",
             b'{"id": "nan", "labels": NaN}', b'{"id": 12345678901234567890123, "item": "it-1"}']


def records(rng: random.Random, n: int) -> list[bytes]:
    """`n` lines: records of items (three annotators each, shuffled), some invalid, and
    lines that are not records."""
    harms = [[], [], ["violence"], ["hate"], ["self_harm"], ["hate", "violence"]]
    out = []
    for k in range(n):
        item = rng.randrange(n // 3 + 1)
        harm = rng.choice(harms)
        rec = {"id": f"r{k}", "item": f"it-{item}", "annotator": f"ann{rng.randrange(5)}",
               "data": {"prompt": " ".join(rng.choice(["how", "why", "x", "é", "\u2028"]) for _ in range(rng.randrange(1, 4)))},
               "labels": {"harm": harm, "safety": rng.choice(["safe", "borderline", "unsafe", "Safe"]),
                          "helpfulness": rng.choice([1, 2, 3, 4, 5, 6, "3"])}}
        if rng.random() < 0.05:
            del rec["item"]
        out.append(json.dumps(rec, ensure_ascii=rng.random() < 0.5).encode())
        if rng.random() < 0.03:
            out.append(rng.choice(BAD_LINES))
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, list[Path]]:
    """A rubric with items and five files: a large plain JSONL file (several blocks), with a
    byte-order mark, CRLF line ends and no final newline; a .gz; a JSON array; a Parquet
    file; a small plain file."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    d = tmp_path_factory.mktemp("spark-data")
    rng = random.Random(7)
    rubric = d / "items.rubric"
    rubric.write_text(ITEMS_RUBRIC, encoding="utf-8")
    big = d / "big.jsonl"
    lines = records(rng, 6000)
    big.write_bytes(b"\xef\xbb\xbf" + b"\n".join(ln + (b"\r" if i % 7 == 0 else b"") for i, ln in enumerate(lines)))
    gz = d / "more.jsonl.gz"
    gz.write_bytes(gzip.compress(b"\n".join(records(rng, 700)) + b"\n"))
    arr = d / "export.json"
    arr.write_text("[\n" + ",\n".join("  " + ln.decode("utf-8", "replace") for ln in records(rng, 300)
                                       if ln.startswith(b"{")) + "\n]\n", encoding="utf-8")
    parquet = d / "rows.parquet"
    rows = [json.loads(ln) for ln in records(rng, 400) if ln.startswith(b'{"id": "r')]
    pq.write_table(pa.Table.from_pylist([{"id": r["id"], "item": r.get("item"), "annotator": r["annotator"],
                                          "data": r["data"], "labels": {"harm": r["labels"]["harm"],
                                                                        "safety": r["labels"]["safety"]}}
                                         for r in rows]), parquet)
    small = d / "small.jsonl"
    small.write_bytes(b"\n".join(records(rng, 90)) + b"\n\n")
    return rubric, [big, gz, arr, parquet, small]


def test_generated_files_with_items_and_unreadable_lines(spark, generated) -> None:
    rubric, paths = generated
    # the large file is read by several tasks: line numbers must carry across them
    assert spark.read.text(str(paths[0])).rdd.getNumPartitions() > 2
    want, want_summary = local(rubric, paths)
    got, got_summary = on_spark(spark, rubric, [str(p) for p in paths])
    kinds = {f["kind"] for f in want}
    assert {"unreadable", "invalid", "violation", "ambiguous", "escalation"} <= kinds
    assert any("lines" in f for f in want) and want_summary["items"] > 1000
    assert multiset(got) == multiset(want)
    assert got_summary == want_summary


def test_a_directory_is_read_in_the_order_of_its_files(spark, generated, tmp_path) -> None:
    rubric, paths = generated
    for p in (paths[4], paths[1]):
        shutil.copy(p, tmp_path / p.name)
    (tmp_path / "_SUCCESS").write_text("not data")
    want, want_summary = local(rubric, [tmp_path / paths[1].name, tmp_path / paths[4].name])
    got, got_summary = on_spark(spark, rubric, [str(tmp_path)])
    assert multiset(got) == multiset(want)
    assert got_summary == want_summary


def test_a_dataframe_of_parsed_rows(spark, generated) -> None:
    rubric, paths = generated
    want, want_summary = local(rubric, [paths[3]])
    for f in want:
        f["file"] = "rows"
        for where in f.get("lines", ()):
            where["file"] = "rows"
    got, got_summary = on_spark(spark, rubric, spark.read.parquet(str(paths[3])), name="rows")
    assert multiset(got) == multiset(want)
    assert got_summary == want_summary


def test_a_corrupt_gz_is_the_same_one_line_error(spark, tmp_path) -> None:
    rubric = ROOT / "rubrics" / "response-safety" / "response-safety.rubric"
    data = ROOT / "rubrics" / "response-safety" / "sample.jsonl"
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(data.read_bytes())[:-200])
    with pytest.raises(DataError) as want:
        local(rubric, [data, broken])
    with pytest.raises(rspark.SparkCheckError) as got:
        rspark.check(spark, rubric, [str(data), str(broken)])
    assert str(got.value) == str(want.value)
    assert "\n" not in str(got.value)


def test_a_missing_path_is_one_line(spark, tmp_path) -> None:
    rubric = ROOT / "rubrics" / "response-safety" / "response-safety.rubric"
    missing = tmp_path / "nowhere.jsonl"
    with pytest.raises(rspark.SparkCheckError) as got:
        rspark.check(spark, rubric, [str(missing)])
    assert str(got.value) == f"{missing}: no such file"


def test_parquet_output_holds_the_same_findings(spark, generated, tmp_path) -> None:
    rubric, paths = generated
    report = rspark.check(spark, rubric, [str(paths[4]), str(paths[1])])
    out = tmp_path / "findings"
    try:
        rspark.write(report, spark, str(out), "parquet")
    finally:
        report.unpersist()
    back = [rspark.finding_dict(r) for r in spark.read.parquet(str(out)).collect()]
    want, want_summary = local(rubric, [paths[4], paths[1]])
    assert multiset(back) == multiset(want)
    assert json.loads((out / "_summary.json").read_text(encoding="utf-8"))["summary"] == want_summary
    with pytest.raises(rspark.SparkCheckError, match="exists"):
        rspark.write(report, spark, str(out), "parquet")


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("RUBRIC_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "rubricdsl", "check", *args], capture_output=True, text=True,
                          env=env, timeout=600)


def test_the_command_line_writes_rubric_checks_lines_in_its_order(generated, tmp_path) -> None:
    rubric, paths = generated
    data = [str(paths[4]), str(paths[1]), str(paths[2])]
    out = tmp_path / "out"
    p = _cli("--engine", "spark", "--master", "local[2]", str(rubric), *data, "-o", str(out))
    assert p.returncode == 1, p.stderr
    assert p.stderr == ""
    want = _cli(str(rubric), *data, "--format", "jsonl").stdout.splitlines()
    parts = sorted(out.glob("part-*"))
    got = [ln for part in parts for ln in part.read_text(encoding="utf-8").splitlines()]
    assert got == want[:-1]
    assert json.loads((out / "_summary.json").read_text(encoding="utf-8")) == json.loads(want[-1])
    summary = json.loads(want[-1])["summary"]
    assert f"checked {summary['records']} records in 3 files on Spark" in p.stdout


def test_the_command_line_fails_on_a_corrupt_gz_with_one_line(tmp_path) -> None:
    rubric = ROOT / "rubrics" / "response-safety" / "response-safety.rubric"
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(b'{"id": "a"}\n' * 5000)[:-100])
    want = _cli(str(rubric), str(broken))
    got = _cli("--engine", "spark", "-j", "2", str(rubric), str(broken), "-o", str(tmp_path / "out"))
    assert got.returncode == want.returncode == 2
    assert got.stderr == want.stderr and got.stderr.count("\n") == 1, got.stderr
    assert not (tmp_path / "out").exists()


# ---- a rubric that imports files: the executors read them from the job, not from a disk --------------

SHARED = '''type score = int 1..5
type verdict = enum {ok, unsure, bad}
let high = 4
let low = high - 2
'''
IMPORTING = '''rubric "imports" version "1"
import "../shared/common.rubric"
label s: score from s
label v: verdict from v
rule hi "a firm verdict comes with a high score" { when v != unsure  require s >= high }
rule bad_low "a bad verdict has a low score" severity warning { when v == bad  require s <= low }
'''


@pytest.fixture
def importing(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "guides").mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "guides" / "r.rubric").write_text(IMPORTING, encoding="utf-8")
    (tmp_path / "shared" / "common.rubric").write_text(SHARED, encoding="utf-8")
    rnd = random.Random(17)
    lines = []
    for i in range(600):
        rec = {"s": rnd.choice([1, 2, 3, 4, 5, 9, "x"]), "v": rnd.choice(["ok", "unsure", "bad", "maybe"])}
        if i % 97 == 0:
            del rec["s"]
        lines.append(json.dumps(rec) if i % 151 else "{not json")
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path / "guides" / "r.rubric", tmp_path / "d.jsonl"


def test_a_rubric_with_imports_checks_the_same(spark, importing, tmp_path, monkeypatch) -> None:
    rubric, data = importing
    want, want_summary = local(rubric, [data])
    assert {f["rule"] for f in want if f["kind"] == "violation"} == {"hi", "bad_low"}
    assert {f["kind"] for f in want} >= {"invalid", "unreadable"}
    sha = rubricdsl.load(rubric).sha256
    # from another directory, by a relative path: the rubric and its import are read by
    # the driver only (the executors' working directory is the JVM's, where neither is)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    report = rspark.check(spark, "../guides/r.rubric", [str(data)])
    try:
        got = [rspark.finding_dict(r) for r in report.findings.collect()]
    finally:
        report.unpersist()
    assert report.rubric["sha256"] == sha
    assert multiset(got) == multiset(want)
    assert {k: v for k, v in report.summary.items() if k != "with_findings"} == want_summary


def test_an_import_changed_after_loading_is_one_line(spark, importing, tmp_path) -> None:
    rubric, data = importing
    loaded = rubricdsl.load(rubric)
    (tmp_path / "shared" / "common.rubric").write_text(SHARED.replace("high = 4", "high = 2"), encoding="utf-8")
    with pytest.raises(rspark.SparkCheckError) as got:
        rspark.check(spark, loaded, [str(data)])
    assert str(got.value) == f"{rubric}: a file it imports changed since the rubric was loaded: load it again"


def test_the_command_line_checks_a_rubric_with_imports_the_same(importing, tmp_path) -> None:
    rubric, data = importing
    out = tmp_path / "out"
    p = _cli("--engine", "spark", "--master", "local[2]", str(rubric), str(data), "-o", str(out))
    assert p.returncode == 1, p.stderr
    want = _cli(str(rubric), str(data), "--format", "jsonl").stdout.splitlines()
    got = [ln for part in sorted(out.glob("part-*")) for ln in part.read_text(encoding="utf-8").splitlines()]
    assert got == want[:-1]
    summary = json.loads((out / "_summary.json").read_text(encoding="utf-8"))
    assert summary == json.loads(want[-1])
    assert summary["rubric"]["sha256"] == rubricdsl.load(rubric).sha256
