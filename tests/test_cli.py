"""The command line: `rubric check`, `test` and `schema`, run in this process (click's
CliRunner); the console scripts and a parallel run as real processes."""
from __future__ import annotations

import dataclasses
import gzip
import json
import os
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import jsonschema
import pytest
from helpers import rubric

import rubricdsl

from rubricdsl.engine import runtime

DATA = Path(__file__).resolve().parent / "data"
RUBRIC = DATA / "cli.rubric"
MIXED = DATA / "mixed.jsonl"
KINDS = ("violation", "uncovered", "ambiguous", "invalid", "unreadable", "escalation")


def run(*args: str, input: bytes | None = None, cwd: Path | None = None):  # noqa: ANN201
    return rubric(*args, input=input, cwd=cwd)


def run_process(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rubricdsl", *args], capture_output=True, env=env, timeout=120)


def jsonl_lines(out: bytes) -> list[dict]:
    return [json.loads(line) for line in out.decode("utf-8").splitlines()]


def strip_file(findings: list[dict]) -> list[dict]:
    return [{k: v for k, v in f.items() if k != "file"} for f in findings]


@pytest.fixture(scope="module")
def report_schema() -> dict:
    proc = run("schema", "report")
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    jsonschema.validators.validator_for(schema).check_schema(schema)
    return schema


# ---- exit status ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fail_on", "code"),
    [
        ("clean.jsonl", None, 0),
        ("clean.jsonl", "info", 0),
        ("error_only.jsonl", None, 1),
        ("error_only.jsonl", "never", 0),
        ("warning_only.jsonl", None, 0),
        ("warning_only.jsonl", "error", 0),
        ("warning_only.jsonl", "warning", 1),
        ("warning_only.jsonl", "info", 1),
        ("info_only.jsonl", "warning", 0),
        ("info_only.jsonl", "info", 1),
        ("mixed.jsonl", None, 1),
        ("mixed.jsonl", "never", 0),
    ],
)
def test_exit_status_and_fail_on(data: str, fail_on: str | None, code: int) -> None:
    args = ["check", str(RUBRIC), str(DATA / data), "--format", "jsonl"]
    if fail_on:
        args += ["--fail-on", fail_on]
    proc = run(*args)
    assert proc.returncode == code, proc.stderr
    assert b"Traceback" not in proc.stderr


def test_usage_error_exits_2() -> None:
    proc = run("check", str(RUBRIC), str(MIXED), "--format", "xml")
    assert proc.returncode == 2
    proc = run("check", str(RUBRIC))  # no data file
    assert proc.returncode == 2


# ---- report formats ------------------------------------------------------------------------


def test_json_report_validates_and_counts(report_schema: dict) -> None:
    proc = run("check", str(RUBRIC), str(MIXED), "--format", "json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    jsonschema.validate(doc, report_schema)
    assert doc["rubric"]["name"] == "cli-sample" and doc["rubric"]["version"] == "1.0"
    findings = doc["findings"]
    summary = doc["summary"]
    for kind in KINDS:
        assert summary[kind] == sum(f["kind"] == kind for f in findings), kind
    non_blank = [ln for ln in MIXED.read_text(encoding="utf-8").splitlines() if ln.strip()]
    assert summary["records"] == len(non_blank) == 9
    assert summary["unreadable"] == 1
    for f in findings:
        assert {"kind", "line", "record", "file", "criterion", "rule", "label", "arms", "target", "severity",
                "message"} <= set(f)
        assert f["file"] == str(MIXED)
    by = {(f["kind"], f["line"]): f for f in findings}
    assert by[("violation", 2)]["arms"] == ["arm 2"] and by[("violation", 2)]["record"] == "r2"
    assert by[("ambiguous", 3)]["arms"] == ["arm 2", "arm 3"] and by[("ambiguous", 3)]["severity"] == "warning"
    assert by[("violation", 4)]["rule"] == "rationale_for_borderline" and by[("violation", 4)]["severity"] == "warning"
    assert by[("uncovered", 6)]["criterion"] == "harm_crit"
    assert by[("escalation", 6)]["target"] == "senior_reviewer" and by[("escalation", 6)]["severity"] == "info"
    assert by[("unreadable", 8)]["record"] == "8"
    assert by[("violation", 10)]["record"] == "1"  # the JSON number 1
    assert sorted(f["label"] for f in findings if f["kind"] == "invalid") == ["confidence", "safety"]


def test_jsonl_report_ends_with_a_summary() -> None:
    jl = run("check", str(RUBRIC), str(MIXED), "--format", "jsonl")
    js = run("check", str(RUBRIC), str(MIXED), "--format", "json")
    lines = jsonl_lines(jl.stdout)
    summary = lines[-1]
    assert summary["kind"] == "summary"
    assert all(f["kind"] in KINDS for f in lines[:-1])
    doc = json.loads(js.stdout)
    assert lines[:-1] == doc["findings"]
    assert summary["summary"] == doc["summary"]
    assert summary["summary"]["records"] == 9


def test_stdin() -> None:
    from_file = jsonl_lines(run("check", str(RUBRIC), str(MIXED), "--format", "jsonl").stdout)
    proc = run("check", str(RUBRIC), "-", "--format", "jsonl", input=MIXED.read_bytes())
    assert proc.returncode == 1
    from_stdin = jsonl_lines(proc.stdout)
    assert strip_file(from_stdin[:-1]) == strip_file(from_file[:-1])
    assert from_stdin[-1]["summary"] == from_file[-1]["summary"]


def test_gzip(tmp_path: Path) -> None:
    gz = tmp_path / "mixed.jsonl.gz"
    gz.write_bytes(gzip.compress(MIXED.read_bytes()))
    plain = jsonl_lines(run("check", str(RUBRIC), str(MIXED), "--format", "jsonl").stdout)
    proc = run("check", str(RUBRIC), str(gz), "--format", "jsonl")
    assert proc.returncode == 1, proc.stderr
    zipped = jsonl_lines(proc.stdout)
    assert strip_file(zipped[:-1]) == strip_file(plain[:-1])
    assert zipped[-1]["summary"] == plain[-1]["summary"]


def test_bom_and_crlf(tmp_path: Path) -> None:
    crlf = tmp_path / "crlf.jsonl"
    crlf.write_bytes(b"\xef\xbb\xbf" + MIXED.read_bytes().replace(b"\n", b"\r\n"))
    plain = jsonl_lines(run("check", str(RUBRIC), str(MIXED), "--format", "jsonl").stdout)
    proc = run("check", str(RUBRIC), str(crlf), "--format", "jsonl")
    got = jsonl_lines(proc.stdout)
    assert strip_file(got[:-1]) == strip_file(plain[:-1])  # r1 on the BOM line is clean, not unreadable
    assert got[-1]["summary"] == plain[-1]["summary"]


def test_unreadable_lines_and_the_run_goes_on(tmp_path: Path) -> None:
    good = b'{"id": "g%d", "data": {"domain": "general"}, "labels": {"safety": "safe", "harm": [], "confidence": 4}}'
    bad_conf = b'{"id": "late", "data": {"domain": "general"}, "labels": {"safety": "safe", "harm": [], "confidence": 7}}'
    lines = [
        good % 1,
        b'{"id": "nan", "x": NaN}',
        b"",
        b"[1, 2, 3]",
        b'{"id": "bad-utf8", "data": "\xff\xfe"}',
        b"   ",
        good % 2 + b" trailing",
        b'"just a string"',
        bad_conf,
    ]
    data = tmp_path / "bad.jsonl"
    data.write_bytes(b"\n".join(lines) + b"\n")
    proc = run("check", str(RUBRIC), str(data), "--format", "json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    unreadable = [(f["line"], f["record"]) for f in doc["findings"] if f["kind"] == "unreadable"]
    assert unreadable == [(2, "2"), (4, "4"), (5, "5"), (7, "7"), (8, "8")]
    assert [(f["kind"], f["line"], f["record"], f["label"]) for f in doc["findings"] if f["kind"] != "unreadable"] \
        == [("invalid", 9, "late", "confidence")]
    assert doc["summary"]["records"] == sum(1 for ln in lines if ln.strip()) == 7
    assert doc["summary"]["unreadable"] == 5


def test_a_null_line_is_unreadable() -> None:
    data = (DATA / "clean.jsonl").read_bytes()
    proc = run("check", str(RUBRIC), "-", "--format", "jsonl", input=b"null\n" + data)
    assert proc.returncode == 1, proc.stderr
    lines = jsonl_lines(proc.stdout)
    assert [(f["kind"], f["line"]) for f in lines[:-1]] == [("unreadable", 1)]
    assert lines[-1]["summary"]["records"] == 3


@pytest.mark.parametrize("what", ["missing", "directory"])
def test_unusable_data_file(what: str, tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl" if what == "missing" else tmp_path
    proc = run("check", str(RUBRIC), str(MIXED), str(path))
    assert proc.returncode == 2
    err = proc.stderr.decode("utf-8")
    assert len(err.strip().splitlines()) == 1, err
    assert str(path) in err
    assert "Traceback" not in err


UNUSABLE = ["missing", "directory", "not-utf8", "unreadable"]


def _unusable(what: str, tmp_path: Path) -> tuple[Path, str]:
    """A rubric file that cannot be read, and the line every command prints for it."""
    if what == "unreadable":
        if not os.path.exists("/proc/self/mem"):
            pytest.skip("needs /proc/self/mem, which exists and cannot be read")
        return Path("/proc/self/mem"), "/proc/self/mem: cannot read: Input/output error"
    path = {"missing": tmp_path / "none.rubric", "directory": tmp_path, "not-utf8": tmp_path / "latin1.rubric"}[what]
    if what == "not-utf8":
        path.write_bytes('rubric "caf\u00e9" version "1"\n'.encode("latin-1"))
    why = {"missing": "no such file", "directory": "is a directory, not a rubric file",
           "not-utf8": "not UTF-8 text (byte 11)"}[what]
    return path, f"{path}: {why}"


@pytest.mark.parametrize("what", UNUSABLE)
def test_unusable_rubric_file(what: str, tmp_path: Path) -> None:
    path, line = _unusable(what, tmp_path)
    proc = run("check", str(path), str(MIXED))
    assert proc.returncode == 2
    assert proc.err == f"rubric: error: {line}\n"
    assert proc.stdout == b""


@pytest.mark.parametrize("command", ["check", "agreement"])
def test_a_directory_given_as_data_is_named_so(command: str, tmp_path: Path) -> None:
    """Data may be JSONL, a JSON array, CSV, TSV or Parquet: a directory is none of them."""
    proc = run(command, str(RUBRIC), str(tmp_path))
    assert proc.returncode == 2
    assert proc.err == f"rubric: error: {tmp_path}: is a directory, not a data file\n"


@pytest.mark.parametrize("what", UNUSABLE)
def test_every_command_reads_a_rubric_file_alike(what: str, tmp_path: Path) -> None:
    """One reader of rubric files: the same line for the same problem, whichever command
    reads the file (and the same message from the Python API)."""
    path, line = _unusable(what, tmp_path)
    p = str(path)
    for args in (["test", p], ["lint", p], ["doc", p], ["diff", p, str(RUBRIC)], ["diff", str(RUBRIC), p],
                 ["agreement", p, str(MIXED)], ["fmt", p], ["fmt", "--check", p]):
        proc = run(*args)
        assert proc.returncode == 2, args
        assert proc.err == f"rubric: error: {line}\n", args
        assert proc.out == ("1 file could not be formatted.\n" if args[0] == "fmt" else ""), args
    with pytest.raises(UnicodeDecodeError if what == "not-utf8" else OSError) as e:
        rubricdsl.load(path)
    assert str(e.value) == line


def test_malformed_rubric() -> None:
    proc = run("check", "broken.rubric", "mixed.jsonl", cwd=DATA)
    assert proc.returncode == 2
    assert proc.stdout == b""
    err = proc.stderr.decode("utf-8")
    assert "broken.rubric:3:50" in err
    assert "RB102" in err and "did you mean 'unsafe'?" in err
    assert "Traceback" not in err


def test_output_option(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    proc = run("check", str(RUBRIC), str(MIXED), "--format", "json", "--output", str(out))
    assert proc.returncode == 1
    assert proc.stdout == b""
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["summary"]["records"] == 9
    text_out = tmp_path / "report.txt"
    proc = run("check", str(RUBRIC), str(MIXED), "-o", str(text_out))
    assert proc.returncode == 1 and proc.stdout == b""
    assert "\x1b[" not in text_out.read_text(encoding="utf-8")
    assert "checked 9 records" in text_out.read_text(encoding="utf-8")


def test_text_report_golden(golden) -> None:
    proc = run("check", "cli.rubric", "mixed.jsonl", "--no-color", cwd=DATA)
    assert proc.returncode == 1
    text = proc.stdout.decode("utf-8")
    assert "\x1b[" not in text
    golden.check("cli_text_report.txt", text)


def test_text_report_samples_option() -> None:
    proc = run("check", "cli.rubric", "mixed.jsonl", "--no-color", "--samples", "1", cwd=DATA)
    text = proc.stdout.decode("utf-8")
    assert "violation safety  2 records" in text
    assert "… and 1 more" in text


@pytest.mark.slow
def test_parallel_output_is_identical(tmp_path: Path, cli_env) -> None:
    """Worker processes: run as a real process."""
    block = MIXED.read_bytes()
    clean = (DATA / "clean.jsonl").read_bytes()
    unit = block + clean * 40
    big = tmp_path / "big.jsonl"
    n = (runtime.PARALLEL_MIN_BYTES + (1 << 20)) // len(unit) + 1
    big.write_bytes(unit * n)
    assert big.stat().st_size > runtime.PARALLEL_MIN_BYTES
    outs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}.jsonl"
        proc = run_process("check", str(RUBRIC), str(big), "--format", "jsonl", "-j", jobs, "-o", str(out),
                           env=cli_env)
        assert proc.returncode == 1, proc.stderr
        outs[jobs] = out.read_bytes()
    assert outs["1"] == outs["2"]
    summary = json.loads(outs["1"].splitlines()[-1])["summary"]
    assert summary["records"] == n * (9 + 80)
    assert summary["unreadable"] == n
    last = json.loads(outs["2"].splitlines()[-2])
    assert last["line"] == (n - 1) * unit.count(b"\n") + 10  # line numbers run on across chunks


# ---- rubric test, schema, entry points ------------------------------------------------------------


def test_rubric_test_passes() -> None:
    proc = run("test", str(RUBRIC))
    assert proc.returncode == 0, proc.stdout
    assert b"2 examples passed, 0 failed" in proc.stdout


def test_rubric_test_fails_with_expected_and_got() -> None:
    proc = run("test", "cli.rubric", "cli_failing_example.rubric", "--no-color", cwd=DATA)
    assert proc.returncode == 1
    out = proc.stdout.decode("utf-8")
    assert "FAIL" in out and "expects the wrong outcome" in out
    assert "cli_failing_example.rubric:9" in out
    assert "expected: pass" in out
    assert "got:      violation ok_when_high" in out
    assert "3 examples passed, 1 failed" in out


def test_rubric_test_on_a_malformed_rubric() -> None:
    proc = run("test", "broken.rubric", cwd=DATA)
    assert proc.returncode == 2
    assert b"broken.rubric:3:50" in proc.stderr and b"Traceback" not in proc.stderr


def test_schema_describes_the_findings(report_schema: dict) -> None:
    text = json.dumps(report_schema)
    for key in ("findings", "summary", "rubric"):
        assert key in report_schema.get("properties", {}), key
    for kind in KINDS:
        assert kind in text


def test_console_scripts() -> None:
    eps = {ep.name: ep.value for ep in metadata.entry_points(group="console_scripts")}
    assert eps.get("rubric") == "rubricdsl.cli:main"
    assert eps.get("rubricdsl") == "rubricdsl.cli:main"
    # the scripts of the environment running the tests, whatever PATH says
    exe = Path(sysconfig.get_path("scripts")) / "rubricdsl"
    if not exe.is_file():
        pytest.skip(f"the package is not installed in this environment (no {exe}); `pip install -e .` installs it")
    proc = subprocess.run([exe, "--version"], capture_output=True, timeout=60)
    assert proc.returncode == 0 and b"0.1.0" in proc.stdout


def test_rubric_diff_exists() -> None:
    proc = run("diff", "--help")
    assert proc.returncode == 0


@pytest.mark.slow
def test_arm_counts_are_the_same_sequential_parallel_and_from_rows(tmp_path: Path) -> None:
    """The per-arm counts the HTML report shows: the checker counting them itself, in
    one process and split between two, equals counting them from each record's row."""
    from rubricdsl.api import load
    from rubricdsl.engine.codegen import compile_rubric

    block = MIXED.read_bytes()
    clean = (DATA / "clean.jsonl").read_bytes()
    unit = block + clean * 40
    big = tmp_path / "big.jsonl"
    big.write_bytes(unit * ((runtime.PARALLEL_MIN_BYTES + (1 << 20)) // len(unit) + 1))
    rubric = load(RUBRIC).ir
    compiled = compile_rubric(rubric, all_decides=True)
    seq = runtime.run(compiled, [str(big)], lambda f: None, jobs=1, arm_counts=True)
    par = runtime.run(compiled, [str(big)], lambda f: None, jobs=2, arm_counts=True)
    assert seq.arm_counts == par.arm_counts and seq.decided == par.decided
    assert sum(seq.decided) > 0
    # the row path (what item rubrics use) counts the same
    slow = runtime.RecordChecker(dataclasses.replace(compiled, check_count=None), lambda f: None, arm_counts=True)
    slow.lines(big.read_bytes().split(b"\n")[:-1], str(big), 0)
    assert slow.stats.arm_counts == seq.arm_counts


@pytest.mark.slow
def test_parallel_run_stops_cleanly_when_the_consumer_fails(tmp_path: Path) -> None:
    """A failing consumer (a closed pipe, a full disk) ends a parallel run with its error,
    without hanging on the chunks still to be handed out."""
    import threading

    from rubricdsl.api import load

    unit = MIXED.read_bytes() + (DATA / "clean.jsonl").read_bytes() * 40
    big = tmp_path / "big.jsonl"
    big.write_bytes(unit * ((runtime.PARALLEL_MIN_BYTES + (1 << 20)) // len(unit) + 1))
    compiled = load(RUBRIC).compiled
    seen = []

    def emit(f: dict) -> None:
        seen.append(f)
        if len(seen) == 50:
            raise BrokenPipeError("consumer went away")

    result: list = []

    def target() -> None:
        try:
            runtime.run(compiled, [str(big)], emit, jobs=2)
        except BrokenPipeError as e:
            result.append(e)

    t = threading.Thread(target=target)
    t.start()
    t.join(timeout=60)
    assert not t.is_alive(), "the run hung after its consumer failed"
    assert result and len(seen) == 50
