"""The shell sessions shown in the documentation, as data for tests.

A *session* is a fenced code block (```console or ```text) whose first line starts
with `$ `: each `$ ` line is a command, and the lines up to the next command are what
it prints. In the output, a line that is only `...` or `…` stands for any number of
lines (the docs shorten long reports that way). Before a block, an HTML comment can
say where it runs or that it does not run:

    <!-- session: cwd=rubrics -->         run in that directory (relative to the repository)
    <!-- session: not run (why) -->       shown, not run (installing, a cluster, …)
    <!-- session: python -->              before a ```python block: run it with this
                                          environment's Python; the next fenced block
                                          is what it prints

Without a comment, sessions in README.md run at the repository's root, and those in
docs/*.md in docs/examples/, which holds every file the docs use. Files a doc shows in
full are marked the same way and compared with the file they show:

    <!-- file: docs/examples/rules.rubric -->
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "docs/cli.md", "docs/language.md", "docs/ci.md", "docs/security.md", "docs/annotation-tools.md")

_FENCE = re.compile(r"^(?P<indent> *)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
_DIRECTIVE = re.compile(r"<!--\s*(session|file):\s*(.*?)\s*-->\s*$")


@dataclass
class Command:
    line: int            # of the `$ ` line in its document
    command: str
    output: list[str] = field(default_factory=list)


@dataclass
class Session:
    doc: str
    line: int
    cwd: str
    commands: list[Command]
    run: bool = True
    python: bool = False      # one command: Python source, run with the tests' interpreter

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


@dataclass
class ShownFile:
    doc: str
    line: int
    path: str
    text: str


def _directive_before(text: str, start: int) -> tuple[str, str] | None:
    """The `<!-- session: … -->` or `<!-- file: … -->` comment right before a fence
    (blank lines between them allowed)."""
    before = text[:start].rstrip("\n").rsplit("\n", 1)[-1]
    m = _DIRECTIVE.search(before)
    return (m.group(1), m.group(2)) if m else None


def _default_cwd(doc: str) -> str:
    return "." if doc == "README.md" else "docs/examples"


def read(doc: str) -> tuple[list[Session], list[ShownFile]]:
    text = (ROOT / doc).read_text(encoding="utf-8")
    sessions: list[Session] = []
    files: list[ShownFile] = []
    fences = list(_FENCE.finditer(text))
    for k, m in enumerate(fences):
        body, indent = m.group("body"), m.group("indent")
        lines = [ln[len(indent):] if ln.startswith(indent) else ln for ln in body.split("\n")]
        if lines and lines[-1] == "":
            lines.pop()
        line_no = text.count("\n", 0, m.start()) + 1
        directive = _directive_before(text, m.start())
        if directive and directive[0] == "file":
            files.append(ShownFile(doc, line_no, directive[1].split()[0], "\n".join(lines) + "\n"))
            continue
        if directive == ("session", "python"):
            if m.group("info").strip() != "python" or k + 1 == len(fences):
                raise ValueError(f"{doc}:{line_no}: `session: python` needs a python block and then its output")
            shown = fences[k + 1].group("body").split("\n")
            if shown and shown[-1] == "":
                shown.pop()
            sessions.append(Session(doc, line_no, _default_cwd(doc), [Command(line_no + 1, "\n".join(lines), shown)],
                                    python=True))
            continue
        if m.group("info").strip() not in ("console", "text") or not lines or not lines[0].startswith("$ "):
            continue
        cwd, run = _default_cwd(doc), True
        if directive and directive[0] == "session":
            arg = directive[1]
            if arg.startswith("not run"):
                run = False
            elif arg.startswith("cwd="):
                cwd = arg[4:]
            else:
                raise ValueError(f"{doc}:{line_no - 1}: unknown session directive {arg!r}")
        commands: list[Command] = []
        for i, ln in enumerate(lines):
            if ln.startswith("$ "):
                commands.append(Command(line_no + 1 + i, ln[2:]))
            else:
                commands[-1].output.append(ln)
        sessions.append(Session(doc, line_no, cwd, commands, run))
    return sessions, files


def all_sessions() -> list[Session]:
    return [s for doc in DOCS if (ROOT / doc).is_file() for s in read(doc)[0]]


def all_files() -> list[ShownFile]:
    return [f for doc in DOCS if (ROOT / doc).is_file() for f in read(doc)[1]]


# ---- comparing what a command prints with what the docs show ---------------------------

_HASHES = [
    (re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])"), "<sha256>"),
    (re.compile(r"(sha256:? )[0-9a-f]{12}(?![0-9a-f])"), r"\1<sha256>"),
    (re.compile(r"(?<![0-9a-f])[0-9a-f]{12} -> [0-9a-f]{12}(?![0-9a-f])"), "<sha256> -> <sha256>"),
]
_TIMINGS = re.compile(r"\b\d+(?:\.\d+)? ?(?:s|ms|seconds)\b")


def normalize(line: str) -> str:
    """Hashes and timings vary from run to run (or from an edit of a rubric to the next);
    nothing else is normalised."""
    for rx, repl in _HASHES:
        line = rx.sub(repl, line)
    return _TIMINGS.sub("<time>", line)


def normalize_help(text: str) -> str:
    """click's help layout varies between its releases (line wrapping, and whether an
    optional argument's choices are written `[x]` or `[[x]]`); the words do not."""
    text = re.sub(r"\[\[([^\]]*)\]\]", r"[\1]", text)
    return " ".join(text.split())


def _is_ellipsis(line: str) -> bool:
    return line.strip() in ("...", "…")


def matches(shown: list[str], actual: list[str]) -> bool:
    """Whether `actual` is `shown`, where an ellipsis line in `shown` stands for any
    number of lines (0 or more)."""
    shown = [ln if _is_ellipsis(ln) else normalize(ln.rstrip()) for ln in shown]
    actual = [normalize(ln.rstrip()) for ln in actual]
    # a small dynamic program over (position in shown, position in actual)
    memo: dict[tuple[int, int], bool] = {}

    def go(i: int, j: int) -> bool:
        key = (i, j)
        if key in memo:
            return memo[key]
        if i == len(shown):
            res = j == len(actual)
        elif _is_ellipsis(shown[i]):
            res = go(i + 1, j) or (j < len(actual) and go(i, j + 1))
        else:
            res = j < len(actual) and shown[i] == actual[j] and go(i + 1, j + 1)
        memo[key] = res
        return res

    import sys

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 4 * (len(shown) + len(actual)) + 100))
    try:
        return go(0, 0)
    finally:
        sys.setrecursionlimit(old)


# ---- rewriting shown output (python3 tests/doc_sessions.py --help) ------------------------

def _run_session(session: Session, root: Path, env: dict[str, str]) -> list[list[str]]:
    import subprocess
    import sys

    cwd = root / session.cwd
    if session.python:
        proc = subprocess.run([sys.executable, "-c", session.commands[0].command], cwd=cwd, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        return [proc.stdout.splitlines()]
    outs = []
    for cmd in session.commands:
        proc = subprocess.run(["bash", "-c", cmd.command], cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=300)
        outs.append(proc.stdout.splitlines())
    return outs


def main() -> None:
    """Rerun the sessions whose id contains one of the arguments and, where a shown output
    has no ellipsis and differs, write what the command prints into the document. Outputs
    shortened with an ellipsis are listed for editing by hand."""
    import argparse
    import os
    import shutil
    import sys
    import tempfile

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("filters", nargs="*", help="e.g. docs/cli.md:1054 or README.md (default: every session)")
    ap.add_argument("--write", action="store_true", help="rewrite the documents (default: only list)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    for name in ("rubric", "rubricdsl"):
        exe = bin_dir / name
        exe.write_text(f"#!{sys.executable}\nimport sys\nfrom rubricdsl.cli import main\nsys.exit(main())\n")
        exe.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR", "RUBRIC_DEBUG")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", NO_COLOR="1", PYTHONIOENCODING="utf-8",
               HOME=str(tmp / "home"), XDG_CACHE_HOME=str(tmp / "cache"), LC_ALL="C.UTF-8")
    edits: dict[str, list[tuple[int, int, list[str]]]] = {}
    for s in all_sessions():
        if not s.run or (args.filters and not any(f in s.id for f in args.filters)):
            continue
        root = tmp / "repo"
        shutil.rmtree(root, ignore_errors=True)
        for part in ("rubrics", "docs"):
            shutil.copytree(ROOT / part, root / part)
        for cmd, actual in zip(s.commands, _run_session(s, root, env)):
            if cmd.command.endswith("--help"):
                same = normalize_help("\n".join(actual)) == normalize_help("\n".join(cmd.output))
            else:
                same = matches(cmd.output, actual)
            if same:
                continue
            if any(_is_ellipsis(ln) for ln in cmd.output) or s.python:
                print(f"{s.doc}:{cmd.line}: `{cmd.command[:60]}` differs; edit by hand. It prints:")
                print("\n".join(actual))
                continue
            print(f"{s.doc}:{cmd.line}: `{cmd.command[:60]}` differs" + ("; rewritten" if args.write else ""))
            edits.setdefault(s.doc, []).append((cmd.line, len(cmd.output), actual))
    if args.write:
        for doc, changes in edits.items():
            path = ROOT / doc
            lines = path.read_text(encoding="utf-8").split("\n")
            for line, n, actual in sorted(changes, reverse=True):
                lines[line:line + n] = actual   # `line` is 1-based: lines[line] is the first output line
            path.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
