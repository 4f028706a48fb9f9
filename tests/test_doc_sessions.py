"""Every command the documentation shows runs, and prints what the docs say it prints.

The sessions are read from README.md and docs/*.md by `doc_sessions` (see its
docstring for the conventions). Each runs with bash in a fresh copy of the repository's
`rubrics/` and `docs/`, with `rubric` on PATH being this environment's, no colour, and
the sandbox's own HOME and cache directory (the parser's analysis of its grammar, which
no session shows, is made once for all of them). Only hashes and timings are normalised;
`--help` output is compared word for word, ignoring click's line wrapping.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import doc_sessions as D

SESSIONS = D.all_sessions()
FILES = D.all_files()
ROOT = D.ROOT


def test_the_docs_show_sessions_and_files() -> None:
    docs = {s.doc for s in SESSIONS if s.run}
    assert {"README.md", "docs/cli.md", "docs/language.md"} <= docs
    assert sum(len(s.commands) for s in SESSIONS if s.run) >= 50
    assert len(FILES) >= 10


@pytest.mark.parametrize("shown", FILES, ids=[f"{f.doc}:{f.line}" for f in FILES])
def test_a_file_the_docs_show_is_the_file_shipped(shown: D.ShownFile) -> None:
    path = ROOT / shown.path
    assert path.is_file(), f"{shown.doc}:{shown.line} shows {shown.path}, which does not exist"
    assert path.read_text(encoding="utf-8") == shown.text, f"{shown.doc}:{shown.line} differs from {shown.path}"


@pytest.fixture(scope="module")
def grammar_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """XDG_STATE_HOME for every session: the parser analyses its grammar once."""
    return tmp_path_factory.mktemp("state")


@pytest.fixture
def sandbox(tmp_path: Path, grammar_state: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "repo"
    for part in ("rubrics", "docs"):
        shutil.copytree(ROOT / part, root / part)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("rubric", "rubricdsl"):
        exe = bin_dir / name
        exe.write_text(f"#!{sys.executable}\nimport sys\nfrom rubricdsl.cli import main\nsys.exit(main())\n",
                       encoding="utf-8")
        exe.chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if k not in ("COLUMNS", "LINES", "FORCE_COLOR", "RUBRIC_DEBUG", "CLICOLOR_FORCE")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", NO_COLOR="1", PYTHONIOENCODING="utf-8",
               HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_STATE_HOME=str(grammar_state),
               LC_ALL="C.UTF-8")
    return root, env


@pytest.mark.parametrize("session", [s for s in SESSIONS if s.run], ids=[s.id for s in SESSIONS if s.run])
def test_a_shown_session_prints_what_the_docs_show(session: D.Session, sandbox) -> None:
    root, env = sandbox
    cwd = root / session.cwd
    assert cwd.is_dir(), f"{session.id}: no directory {session.cwd}"
    if session.python:
        cmd = session.commands[0]
        proc = subprocess.run([sys.executable, "-c", cmd.command], cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=300)
        assert proc.returncode == 0 and D.matches(cmd.output, proc.stdout.splitlines()), (
            f"{session.id}: the Python example prints other than the docs show:\n{proc.stdout}")
        return
    for cmd in session.commands:
        proc = subprocess.run(["bash", "-c", cmd.command], cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=300)
        actual = proc.stdout.splitlines()
        where = f"{session.doc}:{cmd.line}: `{cmd.command}`"
        if cmd.command.endswith("--help"):
            assert proc.returncode == 0, f"{where} exited {proc.returncode}: {proc.stdout}"
            assert D.normalize_help("\n".join(actual)) == D.normalize_help("\n".join(cmd.output)), \
                f"{where} prints other help than the docs show:\n" + "\n".join(actual)
            continue
        assert D.matches(cmd.output, actual), (
            f"{where} prints other than the docs show (exit {proc.returncode}):\n" + "\n".join(actual))


def test_ellipsis_and_normalisation() -> None:
    assert D.matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert D.matches(["a", "  …", "b"], ["a", "b"])
    assert not D.matches(["a", "...", "d"], ["a", "b", "c"])
    assert not D.matches(["a", "b"], ["a", "c"])
    assert D.matches(["rubric r version 1  sha256 0123456789ab  r.rubric"],
                     ["rubric r version 1  sha256 ba9876543210  r.rubric"])
    assert not D.matches(["checked 6 records"], ["checked 7 records"])
    assert D.normalize_help("Usage: rubric schema [OPTIONS] [[report]]\n  Print") == \
        D.normalize_help("Usage: rubric schema [OPTIONS] [report]\n\n  Print")


def test_every_command_has_its_help_in_the_cli_reference() -> None:
    from rubricdsl.cli import main

    shown = {c.command for s in SESSIONS if s.doc == "docs/cli.md" for c in s.commands if c.command.endswith("--help")}
    assert "rubric --help" in shown
    for name in main.commands:
        assert f"rubric {name} --help" in shown, f"docs/cli.md does not show `rubric {name} --help`"
