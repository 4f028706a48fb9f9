"""What the tool does not trust (docs/security.md), one reproducer per defect found by a
hostile-input campaign: outputs over inputs, outputs that are not atomic, git arguments,
record values read as markup, Ctrl-C in workers, the items' temporary database, ordinary
I/O errors reported as bugs, `doc` reading its output, the compiled-rubric cache, and
links in the Markdown guideline."""
from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import rubric

DATA = Path(__file__).resolve().parent / "data"


def env_for(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "RUBRIC_DEBUG")}
    (tmp / "tmp").mkdir(exist_ok=True)
    env.update(NO_COLOR="1", PYTHONIOENCODING="utf-8", TMPDIR=str(tmp / "tmp"), RUBRIC_CACHE_DIR=str(tmp / "cache"))
    env.update(extra)
    return env


def run(*args: str, cwd: Path, stdin: bytes | None = None):  # noqa: ANN201
    """`rubric ARGS` in this process, from `cwd`, with its own TMPDIR and cache directory."""
    (cwd / "tmp").mkdir(exist_ok=True)
    return rubric(*args, cwd=cwd, input=stdin, env={"TMPDIR": str(cwd / "tmp"), "RUBRIC_CACHE_DIR": str(cwd / "cache")})


def run_process(*args: str, cwd: Path, **kw) -> subprocess.CompletedProcess:
    """`python -m rubricdsl ARGS`: for what the process around the command does."""
    return subprocess.run([sys.executable, "-m", "rubricdsl", *args], cwd=cwd, env=env_for(cwd), capture_output=True,
                          timeout=300, **kw)


def one_line_error(proc, *needles: str) -> str:  # noqa: ANN001
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, err
    assert "Traceback" not in err and "internal error" not in err and "this is a bug" not in err, err
    assert len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err, (n, err)
    return err


@pytest.fixture
def work(tmp_path: Path) -> Path:
    shutil.copy(DATA / "cli.rubric", tmp_path / "r.rubric")
    shutil.copy(DATA / "mixed.jsonl", tmp_path / "d.jsonl")
    return tmp_path


# ---- 1. an output that is an input ---------------------------------------------------------------


def test_check_output_over_its_own_input_is_refused(work: Path) -> None:
    data = (work / "d.jsonl").read_bytes()
    proc = run("check", "r.rubric", "d.jsonl", "--format", "json", "-o", "d.jsonl", cwd=work)
    one_line_error(proc, "d.jsonl", "is also an input")
    assert (work / "d.jsonl").read_bytes() == data
    proc = run("check", "r.rubric", "d.jsonl", "--report", "d.jsonl", cwd=work)
    one_line_error(proc, "d.jsonl", "is also an input")
    assert (work / "d.jsonl").read_bytes() == data


def test_lint_and_doc_output_over_the_rubric_is_refused(work: Path) -> None:
    text = (work / "r.rubric").read_bytes()
    one_line_error(run("lint", "r.rubric", "-o", "r.rubric", cwd=work), "r.rubric", "is also an input")
    one_line_error(run("doc", "r.rubric", "--format", "md", "-o", "r.rubric", cwd=work), "r.rubric", "is also an input")
    # by device and inode, not by name
    os.link(work / "r.rubric", work / "same.md")
    one_line_error(run("doc", "r.rubric", "-o", "same.md", cwd=work), "same.md", "is also an input")
    assert (work / "r.rubric").read_bytes() == text


# ---- 2. outputs are atomic ------------------------------------------------------------------------------


def test_a_corrupt_gzip_leaves_an_earlier_report_whole(work: Path) -> None:
    """A failure after -o is opened used to truncate the earlier report to 0 bytes."""
    good = gzip.compress((work / "d.jsonl").read_bytes() * 50)
    (work / "bad.jsonl.gz").write_bytes(good[: len(good) // 2])  # cut in the middle
    (work / "report.jsonl").write_bytes(b'{"kind": "summary"}\n')
    for fmt in ("text", "json", "jsonl"):
        proc = run("check", "r.rubric", "d.jsonl", "bad.jsonl.gz", "--format", fmt, "-o", "report.jsonl",
                   "--report", "report.html", cwd=work)
        one_line_error(proc, "bad.jsonl.gz")
        assert (work / "report.jsonl").read_bytes() == b'{"kind": "summary"}\n'
        assert not (work / "report.html").exists()
    assert sorted(p.name for p in work.iterdir()) == ["bad.jsonl.gz", "cache", "d.jsonl", "r.rubric", "report.jsonl",
                                                      "tmp"]


def test_fmt_keeps_the_mode_and_the_link(work: Path) -> None:
    text = (work / "r.rubric").read_text(encoding="utf-8")
    (work / "r.rubric").write_text(text.replace("\n", "  \n", 2), encoding="utf-8")
    (work / "r.rubric").chmod(0o640)
    formatted = run("fmt", "-", cwd=work, stdin=(work / "r.rubric").read_bytes()).stdout
    assert formatted and formatted != (work / "r.rubric").read_bytes()
    os.symlink("r.rubric", work / "link.rubric")
    proc = run("fmt", "link.rubric", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert (work / "link.rubric").is_symlink()
    assert (work / "r.rubric").read_bytes() == formatted
    assert (work / "r.rubric").stat().st_mode & 0o777 == 0o640


def test_atomic_output_module(tmp_path: Path) -> None:
    from rubricdsl.core import outputs

    target = tmp_path / "out.txt"
    target.write_text("before\n")
    target.chmod(0o604)
    with pytest.raises(RuntimeError):
        with outputs.atomic(str(target)) as fh:
            fh.write("half")
            raise RuntimeError("stop")
    assert target.read_text() == "before\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    with outputs.atomic(str(target)) as fh:
        fh.write("after\n")
    assert target.read_text() == "after\n" and target.stat().st_mode & 0o777 == 0o604
    # a new file gets the usual permissions (0666 less the umask), not mkstemp's 0600
    old = os.umask(0o022)
    try:
        with outputs.atomic(str(tmp_path / "new.txt"), binary=True) as fh:
            fh.write(b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.txt", "out.txt"]


# ---- 3. git arguments -------------------------------------------------------------------------------------


@pytest.fixture
def repo(work: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("no git")
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.org")
    for cmd in (["init", "-q"], ["add", "r.rubric"], ["commit", "-qm", "r"]):
        subprocess.run(["git", *cmd], cwd=work, env=env, check=True, capture_output=True)
    env_for(work)  # its tmp and cache folders exist before the run
    return work


@pytest.mark.parametrize("spec", [
    "--output=pwned.txt:x",
    "--output=pwned.txt",
    "-O/etc/passwd:y",
    "-opwned.txt:r.rubric",
    "--textconv:r.rubric",
    "--ext-diff:r.rubric",
])
def test_a_rev_is_never_a_git_option(repo: Path, spec: str) -> None:
    before = sorted(p.name for p in repo.iterdir())
    proc = run("diff", "--", spec, "r.rubric", cwd=repo)
    # refused before git runs: git never sees it
    one_line_error(proc, spec, "does not start with `-`" if ":" in spec else "no such file")
    assert sorted(p.name for p in repo.iterdir()) == before


@pytest.mark.parametrize("path", ["--output=pwned.txt", "-O/etc/passwd", "../../../../etc/passwd", "r.rubric\nx",
                                  "$(touch pwned.txt)", "`touch pwned.txt`"])
def test_a_path_is_only_a_path(repo: Path, path: str) -> None:
    before = sorted(p.name for p in repo.iterdir())
    proc = run("diff", f"HEAD:{path}", "r.rubric", cwd=repo)
    err = one_line_error(proc, "HEAD:")
    assert "\n" not in err.rstrip("\n")
    assert sorted(p.name for p in repo.iterdir()) == before


def test_a_revision_still_works(repo: Path) -> None:
    proc = run("diff", "HEAD:r.rubric", "r.rubric", "--format", "json", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["old"]["file"] == "HEAD:r.rubric"


# ---- 4. record values and rubric strings are data ---------------------------------------------------------

HOSTILE_IDS = ["\\[/]", "[bold]x[/bold]", "a:warning:b", "esc\u001b[2Jcleared", "two\nlines", "bell\u0007",
               "right\u202eleft", "C:\\"]


def _hostile_records(path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for rid in HOSTILE_IDS:
            f.write(json.dumps({"id": rid, "data": {"domain": "general"},
                                "labels": {"safety": "unsafe", "harm": [], "confidence": 9,
                                           "rationale": "\u001b]0;title\u0007"}}) + "\n")


def _assert_data_as_data(out: str) -> None:
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b" in out
    assert "⚠" not in out


def test_check_text_prints_ids_as_data(work: Path) -> None:
    _hostile_records(work / "h.jsonl")
    for color in ("--no-color", "--color"):
        proc = run("check", "r.rubric", "h.jsonl", color, "--samples", "20", cwd=work)
        out = proc.stdout.decode("utf-8")
        assert proc.returncode == 1, proc.stderr
        if color == "--color":
            out = out.replace("\x1b[", "<CSI>")  # the report's own colours
        _assert_data_as_data(out)
        for shown in ("\\[/]", "[bold]x[/bold]", "a:warning:b", "esc\\x1b[2Jcleared", "two\\nlines", "bell\\x07",
                      "right\\u202eleft"):
            assert f"record {shown}" in out, (shown, out)


def test_a_rule_message_is_not_markup(work: Path) -> None:
    (work / "m.rubric").write_text('''rubric "m" version "1"
record { id = id }
label x: int from x
rule path "C:\\\\[/x] and [bold]\\u001b[31m" { require x > 0 }
''', encoding="utf-8")
    (work / "m.jsonl").write_text('{"id": "1", "x": 0}\n', encoding="utf-8")
    proc = run("check", "m.rubric", "m.jsonl", cwd=work)
    out = proc.stdout.decode("utf-8")
    assert proc.returncode == 1, proc.stderr
    assert "C:\\[/x] and [bold]\\x1b[31m" in out
    assert "\x1b" not in out


def test_lint_diff_agreement_and_test_print_data_as_data(work: Path) -> None:
    (work / "esc.rubric").write_text('''rubric "esc\\u001b[2J" version "1"
record { id = id  item = item  annotator = who }
label x: int from x
rule positive "x must be \\u001b[31mpositive:warning:" { require x > 0 }
example "an example \\u001b]0;title\\u0007 [bold]" {
  given { x: 0 }
  expect pass
}
''', encoding="utf-8")
    recs = [{"id": rid, "item": i // 2, "who": rid, "x": i} for i, rid in enumerate(HOSTILE_IDS)]
    (work / "e.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    lint = run("lint", "esc.rubric", cwd=work)
    assert "Traceback" not in lint.stderr.decode()
    diff = run("diff", "esc.rubric", "r.rubric", "--data", "e.jsonl", cwd=work)
    assert diff.returncode == 0, diff.stderr
    agreement = run("agreement", "esc.rubric", "e.jsonl", cwd=work)
    assert agreement.returncode == 0, agreement.stderr
    test = run("test", "esc.rubric", cwd=work)
    assert test.returncode == 1, test.stderr
    for proc in (lint, diff, agreement, test):
        out = proc.stdout.decode("utf-8") + proc.stderr.decode("utf-8")
        _assert_data_as_data(out)
    assert "record esc\\x1b[2Jcleared" in diff.stdout.decode()
    assert "[bold]x[/bold]" in agreement.stdout.decode()
    assert "an example \\x1b]0;title\\x07 [bold]" in test.stdout.decode()
    assert "esc\\x1b[2J" in lint.stdout.decode()


def test_visible() -> None:
    from rubricdsl.core.safetext import markup, visible

    assert visible("a\u001b[2Jb\nc\td\u0085e\u202ef\u2028") == "a\\x1b[2Jb\\nc\\td\\x85e\\u202ef\\u2028"
    assert visible("C:\\x [b] é ✓") == "C:\\x [b] é ✓"
    assert markup("\\[/]") != "\\[/]"  # escaped for Rich


# ---- 5. Ctrl-C in a parallel run: see test_faults.py (test_ctrl_c_in_a_parallel_run) --------------------

# ---- 6. the items' temporary database: see test_faults.py (grouping items ... and Ctrl-C) ---------------

# ---- 7. ordinary I/O errors are not bugs ------------------------------------------------------------------


@pytest.mark.parametrize("cmd", [
    ["check", "r.rubric", "d.jsonl", "-o", "/nonexistent/dir/x"],
    ["lint", "r.rubric", "-o", "/nonexistent/dir/x"],
    ["diff", "r.rubric", "r.rubric", "-o", "/nonexistent/dir/x"],
    ["test", "r.rubric", "--junit", "/nonexistent/dir/x"],
    ["agreement", str(DATA / "agreement" / "krippendorff2011.rubric"), str(DATA / "agreement" / "krippendorff2011.jsonl"),
     "-o", "/nonexistent/dir/x"],
    ["check", "r.rubric", "d.jsonl", "-o", "/dev/full"],
    ["lint", "r.rubric", "-o", "/dev/full"],
])
def test_unwritable_outputs_are_one_line(work: Path, cmd: list[str]) -> None:
    one_line_error(run(*cmd, cwd=work), cmd[-1])


def test_data_that_cannot_be_read_is_one_line(work: Path) -> None:
    raw = gzip.compress((work / "d.jsonl").read_bytes())
    bad = bytearray(raw)
    bad[20:28] = b"\xff" * 8
    (work / "corrupt.jsonl.gz").write_bytes(bytes(bad))
    one_line_error(run("check", "r.rubric", "corrupt.jsonl.gz", cwd=work), "corrupt.jsonl.gz", "gzip")
    if os.path.exists("/proc/self/mem"):
        one_line_error(run("check", "r.rubric", "/proc/self/mem", cwd=work), "/proc/self/mem")
    # a closed standard input is a matter of the process
    closed = run_process("check", "r.rubric", "-", cwd=work, preexec_fn=lambda: os.close(0))
    one_line_error(closed, "<stdin>", "closed")
    closed = run_process("fmt", "-", cwd=work, preexec_fn=lambda: os.close(0))
    err = closed.stderr.decode()  # fmt's own summary follows, as for any file it could not format
    assert closed.returncode == 2 and "Traceback" not in err and "internal error" not in err
    assert err.splitlines() == ["rubric: error: <stdin>: cannot read: standard input is closed",
                                "1 file could not be formatted."]


@pytest.mark.parametrize("baseline", [
    "[" * 100_000,
    '{"rubric": {"name": "cli-sample", "version": "1.0", "sha256": 5}}',
    '{"rubric": {"name": ["x"], "version": "1.0", "sha256": "ab"}}',
    '{"kind": "summary"}\n' * 3,
    "\udcff",
])
def test_a_baseline_that_is_not_a_report_is_one_line(work: Path, baseline: str) -> None:
    (work / "base.json").write_bytes(baseline.encode("utf-8", "surrogateescape"))
    one_line_error(run("check", "r.rubric", "d.jsonl", "--baseline", "base.json", cwd=work), "base.json")


# ---- 8. doc reads its output only for --check, and only a regular file ------------------------------------


def test_doc_to_dev_stdout_into_head_ends(work: Path) -> None:
    p = subprocess.Popen([sys.executable, "-m", "rubricdsl", "doc", "r.rubric", "-o", "/dev/stdout", "--format", "md"],
                         cwd=work, env=env_for(work), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None
    import select

    ready, _, _ = select.select([p.stdout], [], [], 60)
    if not ready:  # it used to read its own standard output, waiting for ever
        p.kill()
        p.wait()
        pytest.fail("rubric doc -o /dev/stdout wrote nothing")
    first = p.stdout.readline()
    p.stdout.close()
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        pytest.fail("rubric doc -o /dev/stdout | head did not end")
    assert first.startswith(b"<!--") or first.startswith(b"#")
    assert p.returncode == 0


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def test_doc_to_dev_zero_does_not_read_it(work: Path) -> None:
    # a process of its own, with little memory: reading /dev/zero would end it, not the tests
    proc = run_process("doc", "r.rubric", "-o", "/dev/zero", "--format", "md", cwd=work, preexec_fn=_limit_memory)
    assert proc.returncode == 0, proc.stderr[-500:]
    proc = run_process("doc", "r.rubric", "-o", "/dev/zero", "--format", "md", "--check", cwd=work,
                       preexec_fn=_limit_memory)
    assert proc.returncode == 1 and b"/dev/zero is not a regular file" in proc.stdout, proc.stderr[-500:]


# ---- 9. the compiled-rubric cache holds data, never code ----------------------------------------------------


class _Boom:
    def __reduce__(self):  # noqa: ANN204
        return (os.system, ("touch PWNED",))


def test_a_planted_cache_entry_runs_no_code(work: Path) -> None:
    import hashlib
    import pickle

    from rubricdsl.language import cache

    proc = run("check", "r.rubric", "d.jsonl", cwd=work)
    assert proc.returncode == 1
    entries = list((work / "cache").iterdir())
    assert len(entries) == 1
    # replace the entry with a pickle that runs a command when loaded
    entries[0].write_bytes(pickle.dumps(_Boom()))
    os.chmod(entries[0], 0o600)
    proc = run("check", "r.rubric", "d.jsonl", cwd=work)
    assert proc.returncode == 1, proc.stderr
    assert not (work / "PWNED").exists()
    # and at the name this version reads
    sha = hashlib.sha256((work / "r.rubric").read_bytes()).hexdigest()
    old = os.environ.get("RUBRIC_CACHE_DIR")
    os.environ["RUBRIC_CACHE_DIR"] = str(work / "cache")
    try:
        path = cache.entry_path(sha)
    finally:
        if old is None:
            del os.environ["RUBRIC_CACHE_DIR"]
        else:
            os.environ["RUBRIC_CACHE_DIR"] = old
    assert path is not None
    path.write_bytes(pickle.dumps(_Boom()))
    path.chmod(0o600)
    proc = run("check", "r.rubric", "d.jsonl", cwd=work)
    assert proc.returncode == 1, proc.stderr
    assert not (work / "PWNED").exists()


def test_cache_entries_round_trip_and_reject_what_is_not_theirs(tmp_path: Path, monkeypatch) -> None:
    import hashlib

    from rubricdsl.language import cache
    from rubricdsl.api import Rubric, compile_text
    from rubricdsl.core.source import normalize_text

    monkeypatch.setenv("RUBRIC_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("RUBRIC_NO_CACHE", raising=False)
    for path in sorted((Path(__file__).resolve().parents[1] / "rubrics").glob("*/*.rubric")):
        text = path.read_text(encoding="utf-8")
        sha = hashlib.sha256(text.encode()).hexdigest()
        fresh = compile_text(text, str(path), sha)
        loaded = cache.decode(cache.encode(fresh), sha)
        assert loaded is not fresh
        assert [f.name for f in loaded.fields] == [f.name for f in fresh.fields]
        for d in loaded.decides:  # shared objects stay shared
            assert d.label is loaded.field(d.label.name)
        # the same findings on the rubric's sample data
        records = []
        export = path.parent / "sample.json"  # a tool's export: one JSON array
        if export.is_file():
            records = json.loads(export.read_text(encoding="utf-8"))
        for line in ([] if records else (path.parent / "sample.jsonl").read_text(encoding="utf-8").splitlines()):
            try:
                records.append(json.loads(line))
            except ValueError:
                continue  # the samples hold broken lines on purpose
        a = Rubric(fresh, normalize_text(text)).check_records(records)
        b = Rubric(loaded, normalize_text(text)).check_records(records)
        assert a.model_dump() == b.model_dump() if hasattr(a, "model_dump") else a == b
        with pytest.raises(ValueError):
            cache.decode(cache.encode(fresh), "0" * 64)  # another rubric's entry
    bad = [b"not json", b'{"format": 1}', json.dumps({"format": 1, "sha256": "a", "root": 0,
                                                       "objects": [["Popen", {}]]}).encode()]
    for data in bad:
        with pytest.raises(Exception):  # noqa: B017 - any failure is a miss
            cache.decode(data, "a")


def test_a_cached_rubric_keeps_integer_literals_beyond_64_bits() -> None:
    """JSON readers take an integer beyond 64 bits for a float: the entry must not, or a
    rubric read from the cache would compare with another number than the one it wrote."""
    import hashlib

    from rubricdsl.language import cache
    from rubricdsl.api import Rubric, compile_text

    big = 10**29 + 1
    text = ('rubric "big" version "1"\nlabel x: number\n'
            f'rule r "m" {{ require x != {big} and x != -{big} and x != 9223372036854775807 }}\n')
    sha = hashlib.sha256(text.encode()).hexdigest()
    fresh = compile_text(text, "big.rubric", sha)
    loaded = cache.decode(cache.encode(fresh), sha)

    def consts(r) -> list:
        out, todo = [], [r.rules[0].require]
        while todo:
            e = todo.pop()
            if type(e).__name__ == "Const":
                out.append((type(e.value), e.value))
            todo.extend(getattr(e, "args", ()))
        return sorted(out, key=repr)

    assert consts(loaded) == consts(fresh)
    assert (int, big) in consts(loaded) and (int, -big) in consts(loaded)
    records = [{"x": 1e29}, {"x": -1e29}, {"x": 2}]  # 1e29 is a double, not 10**29 + 1
    assert (Rubric(loaded, text).check_records(records).model_dump()
            == Rubric(fresh, text).check_records(records).model_dump())


def test_a_cache_entry_others_may_write_is_ignored(work: Path) -> None:
    assert run("check", "r.rubric", "d.jsonl", cwd=work).returncode == 1
    (entry,) = list((work / "cache").iterdir())
    text = entry.read_text(encoding="utf-8")
    # an entry that says a different rubric: what it says is not used when others may write it
    tampered = text.replace('"cli-sample"', '"tampered"')
    assert tampered != text
    entry.write_text(tampered, encoding="utf-8")
    entry.chmod(0o666)
    proc = run("check", "r.rubric", "d.jsonl", "--format", "json", cwd=work)
    assert json.loads(proc.stdout)["rubric"]["name"] == "cli-sample"


# ---- 10. links in the Markdown guideline --------------------------------------------------------------------


def _links(md: str) -> list[str]:
    """Every link and image target a CommonMark reader makes of `md` (no scheme filter)."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark")
    parser.validateLink = lambda url: True  # see every link, whatever its scheme
    out = []

    def walk(tokens):  # noqa: ANN001
        for t in tokens:
            if t.type == "link_open":
                out.append(t.attrGet("href"))
            if t.type == "image":
                out.append(t.attrGet("src"))
            if t.children:
                walk(t.children)

    walk(parser.parse(md))
    return out


@pytest.mark.parametrize("doc", [
    "see [here](javascript:alert(1))",
    "see [here]( JavaScript:alert(1) \"t\")",
    "see [here](\njavascript:alert(1))",
    "see [here](javascript\\:alert(1))",
    "![x](data:text/html;base64,PHNjcmlwdD4=)",
    "see [here][x]\n\n[x]: javascript:alert(1)",
    "see [here](vbscript:msgbox(1)) and [file](file:///etc/passwd)",
])
def test_markdown_guideline_drops_unsafe_links(work: Path, doc: str) -> None:

    (work / "l.rubric").write_text(f'rubric "l" version "1"\n"""{doc}"""\nlabel x: int from x\n', encoding="utf-8")
    proc = run("doc", "l.rubric", cwd=work)
    assert proc.returncode == 0, proc.stderr
    md = proc.stdout.decode("utf-8")

    for href in _links(md):
        scheme = href.split(":", 1)[0].lower() if ":" in href.split("/", 1)[0] else ""
        assert scheme in ("", "http", "https", "mailto"), (href, md)
    assert "alert(1)" in md or "msgbox" in md or "base64" in md  # the text stays, as text


def test_markdown_guideline_keeps_safe_links(work: Path) -> None:
    doc = "see [the policy](https://example.org/p), [mail](mailto:a@example.org) and [notes](notes.md#x)"
    (work / "l.rubric").write_text(f'rubric "l" version "1"\n"""{doc}"""\nlabel x: int from x\n', encoding="utf-8")
    proc = run("doc", "l.rubric", cwd=work)
    assert proc.returncode == 0, proc.stderr
    links = _links(proc.stdout.decode("utf-8"))
    assert {"https://example.org/p", "mailto:a@example.org", "notes.md#x"} <= set(links)
