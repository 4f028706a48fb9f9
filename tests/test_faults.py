"""Fault injection: full disks, closed pipes, Ctrl-C during a parallel run, unwritable
outputs and outputs that are inputs.

For each: the exit status, one line on standard error, no traceback, no temporary file
left behind, and every file that was there before byte-identical (see
`rubricdsl.core.outputs`). What happens around the process — a closed or full standard
output, Ctrl-C — runs `python -m rubricdsl`; the rest runs in this process.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import cli_runner, rubric

from rubricdsl.core import outputs
from rubricdsl.engine import runtime
from rubricdsl.cli import main

DATA = Path(__file__).resolve().parent / "data"
AGREEMENT = DATA / "agreement"

ITEMS_RUBRIC = '''rubric "items" version "1"
record { id = id  item = item  annotator = who }
label safety: enum {safe, borderline, unsafe} from safety
consensus safety { min annotators 2  min agreement 0.6 }
'''


# ---- helpers ----------------------------------------------------------------------------------------


def env_for(tmp: Path, **extra: str) -> dict[str, str]:
    """The CLI's environment: no colour, its own TMPDIR (so that leftovers can be seen) and
    its own cache directory."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "RUBRIC_DEBUG")}
    (tmp / "tmp").mkdir(exist_ok=True)
    env.update(NO_COLOR="1", PYTHONIOENCODING="utf-8", TMPDIR=str(tmp / "tmp"), RUBRIC_CACHE_DIR=str(tmp / "cache"))
    env.update(extra)
    return env


def rubric_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "rubricdsl", *args]


def run(*args: str, cwd: Path, **env: str):  # noqa: ANN201
    """`rubric ARGS` in this process, from `cwd`, with its own TMPDIR and cache directory
    (those `env_for` gives a process)."""
    (cwd / "tmp").mkdir(exist_ok=True)
    return rubric(*args, cwd=cwd, env={"TMPDIR": str(cwd / "tmp"), "RUBRIC_CACHE_DIR": str(cwd / "cache"), **env})


def snapshot(d: Path) -> dict[str, bytes]:
    """Every file under `d` (hidden ones too) with its bytes; the tmp and cache folders aside."""
    out = {}
    for p in sorted(d.rglob("*")):
        rel = p.relative_to(d).as_posix()
        if rel.split("/")[0] in ("tmp", "cache") or not p.is_file():
            continue
        out[rel] = p.read_bytes()
    return out


def assert_one_line_error(stderr: bytes, *needles: str) -> str:
    text = stderr.decode("utf-8", "replace")
    assert "Traceback" not in text and "internal error" not in text, text
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("rubric: error: "), text
    for n in needles:
        assert n in lines[0], (n, text)
    return lines[0]


def no_leftovers(tmp: Path) -> None:
    """No temporary output file (`.NAME.*.tmp`) anywhere under tmp, and nothing in TMPDIR."""
    stray = [p for p in tmp.rglob("*") if p.name.endswith(".tmp") and p.name.startswith(".")]
    assert not stray, stray
    assert not list((tmp / "tmp").iterdir()), list((tmp / "tmp").iterdir())


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A folder with a rubric, data, an agreement rubric and data, and a report written
    before (which no failed run may change)."""
    shutil.copy(DATA / "cli.rubric", tmp_path / "r.rubric")
    shutil.copy(DATA / "mixed.jsonl", tmp_path / "d.jsonl")
    shutil.copy(AGREEMENT / "krippendorff2011.rubric", tmp_path / "a.rubric")
    shutil.copy(AGREEMENT / "krippendorff2011.jsonl", tmp_path / "a.jsonl")
    (tmp_path / "old.txt").write_bytes(b"an earlier report\n")
    (tmp_path / "old.txt").chmod(0o640)
    return tmp_path


# ---- every command that writes a file, and how ---------------------------------------------------------

# (name, args with OUT for the output file); run from the `work` folder
WRITERS = [
    ("check-text", ["check", "r.rubric", "d.jsonl", "-o", "OUT"]),
    ("check-json", ["check", "r.rubric", "d.jsonl", "--format", "json", "-o", "OUT"]),
    ("check-jsonl", ["check", "r.rubric", "d.jsonl", "--format", "jsonl", "-o", "OUT"]),
    ("check-report", ["check", "r.rubric", "d.jsonl", "--format", "json", "--report", "OUT"]),
    ("lint", ["lint", "r.rubric", "-o", "OUT"]),
    ("lint-sarif", ["lint", "r.rubric", "--format", "sarif", "-o", "OUT"]),
    ("diff", ["diff", "r.rubric", "r.rubric", "-o", "OUT"]),
    ("diff-markdown", ["diff", "r.rubric", "r.rubric", "--data", "d.jsonl", "--format", "markdown", "-o", "OUT"]),
    ("agreement", ["agreement", "a.rubric", "a.jsonl", "-o", "OUT"]),
    ("agreement-json", ["agreement", "a.rubric", "a.jsonl", "--format", "json", "-o", "OUT"]),
    ("test-junit", ["test", "r.rubric", "--junit", "OUT"]),
    ("doc", ["doc", "r.rubric", "--format", "md", "-o", "OUT"]),
]
WRITER_IDS = [w[0] for w in WRITERS]


def _args(args: list[str], out: str) -> list[str]:
    return [out if a == "OUT" else a for a in args]


@pytest.mark.parametrize(("name", "args"), WRITERS, ids=WRITER_IDS)
def test_an_output_in_a_missing_directory_is_one_line(work: Path, name: str, args: list[str]) -> None:
    before = snapshot(work)
    proc = run(*_args(args, "no/such/dir/out.txt"), cwd=work)
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "no/such/dir/out.txt", "No such file or directory")
    assert snapshot(work) == before
    no_leftovers(work)


@pytest.mark.parametrize(("name", "args"), WRITERS, ids=WRITER_IDS)
def test_an_output_under_a_file_or_a_directory_is_one_line(work: Path, name: str, args: list[str]) -> None:
    (work / "adir").mkdir()
    before = snapshot(work)
    for out, cause in (("old.txt/x", "Not a directory"), ("adir", "directory")):
        proc = run(*_args(args, out), cwd=work)
        assert proc.returncode == 2, proc.stderr
        assert_one_line_error(proc.stderr, out, cause)
    assert snapshot(work) == before
    no_leftovers(work)


@pytest.mark.parametrize(("name", "args"), WRITERS, ids=WRITER_IDS)
def test_dev_full_is_a_full_disk_in_one_line(work: Path, name: str, args: list[str]) -> None:
    before = snapshot(work)
    proc = run(*_args(args, "/dev/full"), cwd=work)
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "/dev/full", "No space left on device")
    assert snapshot(work) == before
    no_leftovers(work)


# commands and formats that print to standard output (run from `work`)
PRINTERS = [
    ["check", "r.rubric", "d.jsonl"],
    ["check", "r.rubric", "d.jsonl", "--format", "json"],
    ["check", "r.rubric", "d.jsonl", "--format", "jsonl"],
    ["lint", "r.rubric"],
    ["lint", "r.rubric", "--format", "json"],
    ["lint", "r.rubric", "--format", "sarif"],
    ["lint", "r.rubric", "--format", "github"],
    ["diff", "r.rubric", "r.rubric", "--data", "d.jsonl"],
    ["diff", "r.rubric", "r.rubric", "--format", "json"],
    ["diff", "r.rubric", "r.rubric", "--format", "markdown"],
    ["agreement", "a.rubric", "a.jsonl"],
    ["agreement", "a.rubric", "a.jsonl", "--format", "json"],
    ["test", "r.rubric", "-v"],
    ["doc", "r.rubric"],
    ["doc", "r.rubric", "--format", "html"],
    ["doc", "r.rubric", "-o", "-"],
    ["fmt", "--diff", "ugly.rubric"],
    ["fmt", "-"],
    ["explain", "RB101"],
    ["schema"],
    ["--help"],
    ["check", "--help"],
]
PRINTER_IDS = ["-".join(a for a in args if not a.endswith((".rubric", ".jsonl"))) for args in PRINTERS]


def _ugly(work: Path) -> None:
    text = (work / "r.rubric").read_text(encoding="utf-8")
    (work / "ugly.rubric").write_text(text.replace("\n", "   \n", 3), encoding="utf-8")


@pytest.mark.parametrize("args", PRINTERS, ids=PRINTER_IDS)
def test_a_full_standard_output_is_one_line(work: Path, args: list[str]) -> None:
    _ugly(work)
    before = snapshot(work)
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(rubric_cmd(*args), cwd=work, env=env_for(work), stdout=full, stderr=subprocess.PIPE,
                              input=(work / "ugly.rubric").read_bytes(), timeout=300)
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "standard output", "No space left on device")
    assert snapshot(work) == before
    no_leftovers(work)


@pytest.mark.parametrize("args", PRINTERS, ids=PRINTER_IDS)
def test_a_closed_pipe_ends_quietly(work: Path, args: list[str]) -> None:
    """The reader went away before the first byte (`| head -0`): status 0, nothing on
    standard error, for every command and format."""
    _ugly(work)
    before = snapshot(work)
    r, w = os.pipe()
    os.close(r)
    try:
        proc = subprocess.run(rubric_cmd(*args), cwd=work, env=env_for(work), stdout=w, stderr=subprocess.PIPE,
                              input=(work / "ugly.rubric").read_bytes(), timeout=300)
    finally:
        os.close(w)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    assert snapshot(work) == before
    no_leftovers(work)


def test_a_pipe_closed_after_the_first_line_ends_quietly(work: Path) -> None:
    """`rubric check ... | head -1` on a report longer than a pipe holds: status 0 (the
    text format used to exit 1)."""
    big = work / "big.jsonl"
    big.write_bytes((work / "d.jsonl").read_bytes() * 3000)
    for fmt in ("text", "json", "jsonl"):
        p = subprocess.Popen(rubric_cmd("check", "r.rubric", "big.jsonl", "--format", fmt, "--samples", "100000"),
                             cwd=work, env=env_for(work), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert p.stdout is not None and p.stderr is not None
        assert p.stdout.readline()
        p.stdout.close()
        err = p.stderr.read()
        assert p.wait(timeout=300) == 0, err
        assert err == b""


# ---- a full disk ------------------------------------------------------------------------------------------


class _FullDisk:
    """Every output write fails with ENOSPC after `room` bytes (the one system write of
    `rubricdsl.outputs`)."""

    def __init__(self, room: int) -> None:
        self.room = room

    def __call__(self, fileobj, b) -> int:  # noqa: ANN001
        n = len(memoryview(b))
        if n > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= n
        return os.write(fileobj.fileno(), b)


@pytest.mark.parametrize(("name", "args"), WRITERS, ids=WRITER_IDS)
def test_a_full_disk_leaves_the_earlier_output_as_it_was(work: Path, name: str, args: list[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(work / "tmp"))
    (work / "tmp").mkdir()
    monkeypatch.setenv("RUBRIC_CACHE_DIR", str(work / "cache"))
    monkeypatch.setattr(outputs, "_raw_write", _FullDisk(100))
    before = snapshot(work)
    res = cli_runner().invoke(main, _args(args, "old.txt"))
    assert res.exit_code == 2, res.output
    assert_one_line_error(res.stderr.encode(), "old.txt", "No space left on device")
    assert snapshot(work) == before
    assert (work / "old.txt").stat().st_mode & 0o777 == 0o640
    no_leftovers(work)


def test_fmt_on_a_full_disk_keeps_the_rubric_whole(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _ugly(work)
    monkeypatch.chdir(work)
    monkeypatch.setattr(outputs, "_raw_write", _FullDisk(300))
    before = snapshot(work)
    res = cli_runner().invoke(main, ["fmt", "ugly.rubric"])
    assert res.exit_code == 2
    assert "ugly.rubric: cannot write: No space left on device" in res.stderr
    assert "Traceback" not in res.output + res.stderr
    assert snapshot(work) == before
    assert not [p for p in work.iterdir() if p.name.endswith(".tmp")]


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if not shutil.which("mount") or (hasattr(os, "geteuid") and os.geteuid() != 0):
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True).returncode == 0


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 256 KiB tmpfs (skipped where this process cannot mount one)."""
    where = tmp_path / "tiny"
    if not _mount_tmpfs(where, "256k"):
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _fill(disk: Path, leave: int = 0) -> None:
    """Fill `disk` but for about `leave` bytes."""
    st = os.statvfs(disk)
    free = st.f_bavail * st.f_frsize
    with open(disk / "filler", "wb") as f:
        try:
            f.write(b"\0" * max(0, free - leave))
        except OSError:
            pass


def test_a_real_full_disk(work: Path, tiny_disk: Path) -> None:
    """On a tmpfs filled up: `fmt`, `check -o` and `doc -o` fail in one line and leave
    every file as it was."""
    shutil.copy(work / "r.rubric", tiny_disk / "r.rubric")
    text = (work / "r.rubric").read_text(encoding="utf-8")
    (tiny_disk / "ugly.rubric").write_text(text.replace("\n", "   \n", 3), encoding="utf-8")
    (tiny_disk / "ugly.rubric").chmod(0o604)
    (tiny_disk / "report.json").write_bytes(b'{"earlier": true}\n')
    _fill(tiny_disk)
    before = snapshot(tiny_disk)
    (work / "tmp").mkdir(exist_ok=True)
    env = {"TMPDIR": str(work / "tmp"), "RUBRIC_CACHE_DIR": str(work / "cache")}
    proc = rubric("fmt", "ugly.rubric", cwd=tiny_disk, env=env)
    assert proc.returncode == 2
    assert "ugly.rubric: cannot write: No space left on device" in proc.stderr.decode()
    assert "Traceback" not in proc.stderr.decode()
    proc = rubric("check", "r.rubric", str(work / "d.jsonl"), "--format", "json", "-o", "report.json", cwd=tiny_disk,
                  env=env)
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "report.json", "No space left on device")
    proc = rubric("doc", "r.rubric", "-o", "GUIDE.md", cwd=tiny_disk, env=env)
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "GUIDE.md", "No space left on device")
    assert snapshot(tiny_disk) == before
    assert (tiny_disk / "ugly.rubric").stat().st_mode & 0o777 == 0o604
    assert not [p for p in tiny_disk.iterdir() if p.name.endswith(".tmp")]


def _items_data(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"id": str(i), "item": i // 3, "who": f"a{i % 3}", "safety": "safe",
                                "pad": "x" * 200}) + "\n")


def test_grouping_items_on_a_full_temporary_disk(work: Path, tiny_disk: Path) -> None:
    """Items grouped on disk, in a TMPDIR that fills up: one line, exit 2, and the
    temporary database is gone (it used to stay and keep the disk full)."""
    (work / "i.rubric").write_text(ITEMS_RUBRIC, encoding="utf-8")
    _items_data(work / "i.jsonl", 20_000)
    proc = run("check", "i.rubric", "i.jsonl", "--format", "jsonl", "-o", "old.txt", cwd=work, TMPDIR=str(tiny_disk),
               RUBRIC_ITEM_MEMORY_ROWS="100")
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "cannot group items")
    assert list(tiny_disk.iterdir()) == []
    assert (work / "old.txt").read_bytes() == b"an earlier report\n"


def test_grouping_items_when_the_database_fails(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same without a tmpfs: the temporary database refuses a write."""
    import sqlite3

    from rubricdsl.engine import items as items_mod

    (work / "i.rubric").write_text(ITEMS_RUBRIC, encoding="utf-8")
    _items_data(work / "i.jsonl", 3_000)
    (work / "tmp").mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(work / "tmp"))
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.setattr(items_mod, "MEMORY_ROWS", 100)
    monkeypatch.delenv("RUBRIC_ITEM_MEMORY_ROWS", raising=False)
    real = items_mod.Grouper._insert
    calls = []

    def full(self, batch):  # noqa: ANN001
        calls.append(len(batch))
        if len(calls) > 1:
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, batch)

    monkeypatch.setattr(items_mod.Grouper, "_insert", full)
    # one process, which counts the calls (with -j, workers group: test_items_parallel.py)
    res = cli_runner().invoke(main, ["check", "i.rubric", "i.jsonl", "--format", "jsonl", "-o", "old.txt", "-j", "1"])
    assert res.exit_code == 2
    assert_one_line_error(res.stderr.encode(), "cannot group items", "database or disk is full")
    assert len(calls) > 1  # it did spill to disk
    assert list((work / "tmp").iterdir()) == []
    assert (work / "old.txt").read_bytes() == b"an earlier report\n"


# ---- outputs that are inputs -------------------------------------------------------------------------------

SAME = [
    ("check -o DATA", ["check", "r.rubric", "d.jsonl", "--format", "json", "-o", "d.jsonl"], "d.jsonl"),
    ("check -o RUBRIC", ["check", "r.rubric", "d.jsonl", "-o", "r.rubric"], "r.rubric"),
    ("check --report DATA", ["check", "r.rubric", "d.jsonl", "--report", "d.jsonl"], "d.jsonl"),
    ("check -o = --report", ["check", "r.rubric", "d.jsonl", "-o", "old.txt", "--report", "old.txt"], "old.txt",
     "-o and --report"),
    ("check -o BASELINE", ["check", "r.rubric", "d.jsonl", "--baseline", "base.json", "-o", "base.json"], "base.json"),
    ("check -o hard link", ["check", "r.rubric", "d.jsonl", "--format", "jsonl", "-o", "hard.jsonl"], "hard.jsonl"),
    ("check -o symlink", ["check", "r.rubric", "d.jsonl", "--format", "jsonl", "-o", "link.jsonl"], "link.jsonl"),
    ("lint -o RUBRIC", ["lint", "r.rubric", "-o", "r.rubric"], "r.rubric"),
    ("diff -o OLD", ["diff", "r.rubric", "a.rubric", "-o", "r.rubric"], "r.rubric"),
    ("diff -o DATA", ["diff", "r.rubric", "r.rubric", "--data", "d.jsonl", "-o", "d.jsonl"], "d.jsonl"),
    ("agreement -o DATA", ["agreement", "a.rubric", "a.jsonl", "-o", "a.jsonl"], "a.jsonl"),
    ("test --junit RUBRIC", ["test", "r.rubric", "--junit", "r.rubric"], "r.rubric"),
    ("doc -o RUBRIC", ["doc", "r.rubric", "--format", "md", "-o", "r.rubric"], "r.rubric"),
    ("doc -o {dir}/{name}.rubric", ["doc", "r.rubric", "a.rubric", "--format", "md", "-o", "{dir}/{name}.rubric"],
     "r.rubric"),
]


@pytest.mark.parametrize(("name", "args", "victim", "why"), [s if len(s) == 4 else (*s, "is also an input")
                                                         for s in SAME], ids=[s[0] for s in SAME])
def test_an_output_that_is_an_input_is_refused(work: Path, name: str, args: list[str], victim: str, why: str) -> None:
    proc = run("check", "r.rubric", "d.jsonl", "--format", "json", "-o", "base.json", cwd=work)
    assert proc.returncode == 1, proc.stderr
    os.link(work / "d.jsonl", work / "hard.jsonl")
    os.symlink("d.jsonl", work / "link.jsonl")
    before = snapshot(work)
    proc = run(*args, cwd=work)
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, victim, why)
    assert snapshot(work) == before
    assert (work / "link.jsonl").is_symlink()
    no_leftovers(work)


# ---- Ctrl-C ---------------------------------------------------------------------------------------------------


def _big(path: Path, unit: bytes, size: int) -> None:
    with open(path, "wb") as f:
        block = unit * max(1, (1 << 20) // len(unit))
        while f.tell() < size:
            f.write(block)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _has_read(pid: int) -> bool:
    """Whether a worker has read anything: it got a task, so the pool is up and running."""
    try:
        with open(f"/proc/{pid}/io", encoding="ascii") as f:
            return any(line.startswith("rchar:") and int(line.split()[1]) > 0 for line in f)
    except (OSError, ValueError):
        return False


def _sigint_as_in_a_terminal() -> None:
    """In the child before it runs: Ctrl-C does what it does for a command typed at a
    terminal. A shell that runs the tests in the background has it ignored, and an
    ignored signal stays ignored in every process started from there."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt_when(p: subprocess.Popen, ready) -> None:  # noqa: ANN001
    """Ctrl-C to the whole process group (as a terminal sends it) once `ready()` holds."""
    deadline = time.monotonic() + 120
    while not ready():
        assert p.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline, "the run never got ready"
        time.sleep(0.005)
    os.killpg(p.pid, signal.SIGINT)


@pytest.fixture(scope="module")
def big_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("big")
    unit = (DATA / "mixed.jsonl").read_bytes() + (DATA / "clean.jsonl").read_bytes() * 40
    _big(d / "big.jsonl", unit, 4 * runtime.PARALLEL_MIN_BYTES)
    return d / "big.jsonl"


@pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="needs /proc to see the workers read")
@pytest.mark.parametrize("fmt", ["text", "json", "jsonl", "jsonl-o", "json-report"])
def test_ctrl_c_in_a_parallel_run(work: Path, big_data: Path, fmt: str) -> None:
    """Workers ignore Ctrl-C; the main process stops them, prints one line with the
    partial summary (records checked so far and the findings by severity) and exits 130.
    A file given with -o or --report is left as it was."""
    extra = {"text": [], "json": ["--format", "json"], "jsonl": ["--format", "jsonl"],
             "jsonl-o": ["--format", "jsonl", "-o", "old.txt"],
             "json-report": ["--format", "json", "--report", "old.txt"]}[fmt]
    before = snapshot(work)
    p = subprocess.Popen(rubric_cmd("check", "r.rubric", str(big_data), "-j", "2", *extra), cwd=work,
                         env=env_for(work), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                         preexec_fn=_sigint_as_in_a_terminal)
    try:
        _interrupt_when(p, lambda: sum(_has_read(c) for c in _children(p.pid)) >= 1)
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    text = err.decode("utf-8", "replace")
    assert p.returncode == 130, text
    assert "Traceback" not in text + out.decode("utf-8", "replace")
    assert "KeyboardInterrupt" not in text
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("rubric: interrupted after ") and " records: " in lines[0], text
    assert "errors," in lines[0] and "so far" in lines[0]
    if fmt in ("jsonl-o", "json-report"):
        assert "old.txt left as it was" in lines[0]
    if fmt in ("text", "json"):
        assert out == b""  # these formats write at the end: nothing was written
    if fmt == "jsonl":  # what was written is whole findings, without the summary line
        found = [json.loads(x) for x in out.splitlines()]
        assert all(f.get("kind") != "summary" for f in found)
    assert snapshot(work) == before
    no_leftovers(work)


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs /proc")
def test_ctrl_c_while_items_are_on_disk_removes_the_database(work: Path) -> None:
    (work / "i.rubric").write_text(ITEMS_RUBRIC, encoding="utf-8")
    _items_data(work / "i.jsonl", 150_000)
    env = env_for(work, RUBRIC_ITEM_MEMORY_ROWS="1000")
    p = subprocess.Popen(rubric_cmd("check", "i.rubric", "i.jsonl", "--format", "jsonl", "-o", "old.txt"), cwd=work,
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                         preexec_fn=_sigint_as_in_a_terminal)
    try:
        _interrupt_when(p, lambda: any((work / "tmp").iterdir()))
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err
    assert len(err.decode().splitlines()) == 1 and "Traceback" not in err.decode()
    assert list((work / "tmp").iterdir()) == []
    assert (work / "old.txt").read_bytes() == b"an earlier report\n"


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc to see the run's CPU time")
def test_ctrl_c_while_lint_is_solving(work: Path) -> None:
    """z3 catches Ctrl-C while it solves and answers `unknown`; lint must stop anyway,
    not go on to the next question."""
    arms = "\n".join(f'  when t contains "w{i % 40}" and n * {2 + i % 7} + m * k > {100 + 37 * i % 4900} '
                     f'and m - n * k < {(i * 53) % 1000 - 500} -> {"abc"[i % 3]}' for i in range(1500))
    (work / "slow.rubric").write_text(
        'rubric "slow" version "1"\nlabel t: text\nlabel n: int 0..100000\nlabel m: int 0..100000\n'
        f'label k: number\nlabel out: enum {{a, b, c}}\ndecide out first {{\n{arms}\n}}\n', encoding="utf-8")
    p = subprocess.Popen(rubric_cmd("lint", "slow.rubric"), cwd=work, env=env_for(work), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True,
                         preexec_fn=_sigint_as_in_a_terminal)
    try:
        _interrupt_when(p, lambda: _cpu_seconds(p.pid) > 4.0)  # parsed, and well into the solver's questions
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    text = err.decode("utf-8", "replace")
    assert p.returncode == 130, text
    assert text.splitlines() == ["rubric: interrupted"], text
    assert "Traceback" not in text + out.decode("utf-8", "replace")
