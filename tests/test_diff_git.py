"""`rubric diff REV:PATH` reads the rubric and every file it imports at REV.

A temporary git repository holds `guides/r.rubric`, which imports
`../shared/common.rubric`; the imported file's `let` changes from one commit to the
next and again in the working tree. Each side must see its own version of the import
(a semantic change only where the imported file changed), with the sha256 that
`rubric check` reports on a checkout of that revision."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import Ran, rubric

import rubricdsl

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

MAIN = '''rubric "r" version "1"
import "../shared/common.rubric"
label s: score from s
rule hi "the score is high enough" { require s >= high }
'''


def common(high: int) -> str:
    return f"type score = int 1..5\nlet high = {high}\n"


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.org", GIT_CONFIG_NOSYSTEM="1", HOME=str(repo.parent))
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Two commits (`let high` 4, then 3); the working tree as the second."""
    repo = tmp_path / "repo"
    (repo / "guides").mkdir(parents=True)
    (repo / "shared").mkdir()
    (repo / "guides" / "r.rubric").write_text(MAIN, encoding="utf-8")
    (repo / "shared" / "common.rubric").write_text(common(4), encoding="utf-8")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1")
    (repo / "shared" / "common.rubric").write_text(common(3), encoding="utf-8")
    git(repo, "commit", "-qam", "v2")
    return repo


def diff(repo: Path, old: str, new: str, cwd: Path | None = None) -> dict:
    proc = rubric("diff", old, new, "--format", "json", cwd=cwd or repo, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def semantic(doc: dict) -> list[tuple[str, str]]:
    return [(c["name"], c["status"]) for c in doc["changes"] if c["kind"] == "semantic" and c["status"] != "equivalent"]


def sha_at(repo: Path, rev: str) -> str:
    """The sha256 `rubric check` reports on a checkout of REV."""
    where = repo.parent / f"at-{rev.replace('~', '-')}"
    if not where.exists():
        git(repo, "worktree", "add", "-q", "--detach", str(where), rev)
    proc = rubric("check", "guides/r.rubric", "-", "--format", "json", cwd=where, input="", text=True)
    assert proc.returncode == 0, proc.stderr
    sha = json.loads(proc.stdout)["rubric"]["sha256"]
    assert sha == rubricdsl.load(where / "guides" / "r.rubric").sha256
    return sha


def test_each_revision_reads_its_own_import(repo: Path) -> None:
    # the imported file changed between the two commits: `high` 4 -> 3 admits a score of 3
    doc = diff(repo, "HEAD~1:guides/r.rubric", "HEAD:guides/r.rubric")
    assert semantic(doc) == [("hi", "narrower")]
    assert doc["old"]["sha256"] == sha_at(repo, "HEAD~1")
    assert doc["new"]["sha256"] == sha_at(repo, "HEAD")
    assert doc["old"]["sha256"] != doc["new"]["sha256"]
    # the working tree is HEAD: nothing changed
    same = diff(repo, "HEAD:guides/r.rubric", "guides/r.rubric")
    assert semantic(same) == [] and same["old"]["sha256"] == same["new"]["sha256"]
    # the imported file changes in the working tree only: REV sides still read the commits
    (repo / "shared" / "common.rubric").write_text(common(2), encoding="utf-8")
    edited = diff(repo, "HEAD:guides/r.rubric", "guides/r.rubric")
    assert semantic(edited) == [("hi", "narrower")]
    assert edited["old"]["sha256"] == sha_at(repo, "HEAD")
    assert edited["new"]["sha256"] == rubricdsl.load(repo / "guides" / "r.rubric").sha256
    again = diff(repo, "HEAD~1:guides/r.rubric", "HEAD:guides/r.rubric")
    assert semantic(again) == [("hi", "narrower")] and again["new"]["sha256"] == sha_at(repo, "HEAD")
    between = diff(repo, "HEAD~1:guides/r.rubric", "HEAD~1:guides/r.rubric")
    assert semantic(between) == []


def test_a_path_from_a_subdirectory(repo: Path) -> None:
    # `./PATH` is relative to the current directory, as git reads it; the import stays
    # relative to the rubric's directory in the repository
    doc = diff(repo, "HEAD~1:./r.rubric", "HEAD:./r.rubric", cwd=repo / "guides")
    assert semantic(doc) == [("hi", "narrower")]
    assert doc["new"]["sha256"] == sha_at(repo, "HEAD")
    proc = rubric("diff", "HEAD:r.rubric", "r.rubric", cwd=repo / "guides", text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "HEAD:r.rubric: no such file at HEAD" in proc.stderr and "`./PATH`" in proc.stderr


def error_lines(proc: Ran) -> list[str]:
    assert proc.returncode == 2, proc.stdout
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    return proc.stderr.splitlines()


def test_an_import_missing_at_the_revision(repo: Path) -> None:
    # committed with an import of a file that was never committed
    text = MAIN.replace('import "../shared/common.rubric"',
                        'import "../shared/common.rubric"\nimport "extra.rubric"')
    (repo / "guides" / "r.rubric").write_text(text, encoding="utf-8")
    git(repo, "commit", "-qam", "v3")
    (repo / "guides" / "extra.rubric").write_text("let low = 1\n", encoding="utf-8")
    assert rubric("diff", "guides/r.rubric", "guides/r.rubric", cwd=repo).returncode == 0  # on disk it is there
    at_rev = error_lines(rubric("diff", "HEAD:guides/r.rubric", "guides/r.rubric", cwd=repo, text=True))
    (repo / "guides" / "extra.rubric").unlink()
    on_disk = error_lines(rubric("diff", "guides/r.rubric", "guides/r.rubric", cwd=repo, text=True))
    # the same diagnostic as a missing file on disk, naming the file at REV, at the import's line
    assert at_rev[0] == on_disk[0].replace("(guides/extra.rubric)", "(HEAD:guides/extra.rubric)")
    assert at_rev[0].startswith("error[RB117]: cannot import `extra.rubric`: no such file")
    assert at_rev[1].strip() == "--> HEAD:guides/r.rubric:3:8"
    assert on_disk[1].strip() == "--> guides/r.rubric:3:8"


def test_an_import_may_not_leave_the_repository(repo: Path) -> None:
    # a file next to the repository: on disk the import reads it, at a revision it is outside
    (repo.parent / "outside.rubric").write_text(common(4), encoding="utf-8")
    (repo / "top.rubric").write_text(MAIN.replace("../shared/common.rubric", "../outside.rubric"), encoding="utf-8")
    (repo / "guides" / "deep.rubric").write_text(MAIN.replace("../shared/common.rubric", "../../outside.rubric"),
                                                 encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "outside")
    assert rubric("diff", "top.rubric", "guides/deep.rubric", cwd=repo).returncode == 0
    for path in ("top.rubric", "guides/deep.rubric"):
        lines = error_lines(rubric("diff", f"HEAD:{path}", path, cwd=repo, text=True))
        assert lines[0].startswith("error[RB117]: cannot import `")
        assert "../outside.rubric is outside the repository" in lines[0]
        assert lines[1].strip() == f"--> HEAD:{path}:2:8"
    # `..` that stays inside the repository is a path like any other
    assert diff(repo, "HEAD:guides/r.rubric", "guides/r.rubric")["new"]["sha256"] == sha_at(repo, "HEAD")


def test_the_rubric_itself_may_not_leave_the_repository(repo: Path) -> None:
    (repo.parent / "outside.rubric").write_text(MAIN, encoding="utf-8")
    lines = error_lines(rubric("diff", "HEAD:../outside.rubric", "guides/r.rubric", cwd=repo, text=True))
    assert lines == ["rubric: error: HEAD:../outside.rubric: ../outside.rubric is outside the repository"]


@pytest.mark.parametrize("spec", ["-HEAD:guides/r.rubric", "--output=x:guides/r.rubric", "-O/etc/passwd:y"])
def test_a_revision_starting_with_a_dash_is_refused(repo: Path, spec: str) -> None:
    before = sorted(p.name for p in repo.iterdir())
    lines = error_lines(rubric("diff", "--", spec, "guides/r.rubric", cwd=repo, text=True))
    assert len(lines) == 1 and "a git revision does not start with `-`" in lines[0]
    assert sorted(p.name for p in repo.iterdir()) == before


def test_an_unknown_revision_and_a_cycle(repo: Path) -> None:
    lines = error_lines(rubric("diff", "nope:guides/r.rubric", "guides/r.rubric", cwd=repo, text=True))
    assert lines == ["rubric: error: nope:guides/r.rubric: `nope` is not a revision of this repository"]
    # an imported file that imports the rubric back is a cycle at the revision too
    (repo / "shared" / "common.rubric").write_text('import "../guides/r.rubric"\n' + common(4), encoding="utf-8")
    git(repo, "commit", "-qam", "cycle")
    lines = error_lines(rubric("diff", "HEAD:guides/r.rubric", "HEAD~1:guides/r.rubric", cwd=repo, text=True))
    assert lines[0] == ("error[RB118]: import cycle: HEAD:guides/r.rubric -> HEAD:shared/common.rubric "
                        "-> HEAD:guides/r.rubric")
