#!/usr/bin/env python3
"""Run every command on every shipped rubric and sample, and keep what they print.

A refactoring that should change nothing a user sees is checked by taking a snapshot
before and after it and comparing the two:

    python3 bench/outputs_snapshot.py /tmp/before          # on the old code
    python3 bench/outputs_snapshot.py /tmp/after           # on the new code
    python3 bench/outputs_snapshot.py --compare /tmp/before /tmp/after

Each command's standard output, standard error and exit status go to one file named
after the command. Commands run through `python -m rubricdsl` in a scratch copy of
`rubrics/` and `docs/examples/`, so that relative paths (and so the outputs) are the
same from one run to the next; the cache of compiled rubrics is off.
"""
from __future__ import annotations

import argparse
import difflib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands(work: Path) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for rubric in sorted((work / "rubrics").glob("*/*.rubric")):
        name = rubric.parent.name
        r = str(rubric.relative_to(work))
        datas = sorted(str(p.relative_to(work)) for p in rubric.parent.glob("*.jsonl"))
        for data in datas:
            stem = Path(data).stem
            out += [
                (f"{name}.{stem}.check.txt", ["check", r, data, "--samples", "100", "-j", "1"]),
                (f"{name}.{stem}.check.json", ["check", r, data, "--format", "json", "-j", "1"]),
                (f"{name}.{stem}.check.jsonl", ["check", r, data, "--format", "jsonl", "-j", "1"]),
                (f"{name}.{stem}.report.html", ["check", r, data, "-o", "/dev/null", "--report", "report.html", "-j", "1"]),
            ]
        out += [
            (f"{name}.lint.txt", ["lint", r]),
            (f"{name}.lint.json", ["lint", r, "--format", "json"]),
            (f"{name}.lint.sarif", ["lint", r, "--format", "sarif"]),
            (f"{name}.lint.github", ["lint", r, "--format", "github"]),
            (f"{name}.test.txt", ["test", "-v", r]),
            (f"{name}.doc.md", ["doc", r]),
            (f"{name}.doc.html", ["doc", r, "--format", "html"]),
            (f"{name}.fmt.diff", ["fmt", "--diff", r]),
            (f"{name}.diff-self.txt", ["diff", r, r, *sum((["--data", d] for d in datas), [])]),
        ]
        items = [d for d in datas if "multi-annotator" in d]
        for data in items:
            out += [
                (f"{name}.agreement.txt", ["agreement", r, data, "-j", "1"]),
                (f"{name}.agreement.json", ["agreement", r, data, "--format", "json", "-j", "1"]),
            ]
    for example in sorted((work / "docs" / "examples").glob("*.rubric")):
        e = str(example.relative_to(work))
        out += [
            (f"examples.{example.stem}.lint.txt", ["lint", e]),
            (f"examples.{example.stem}.test.txt", ["test", e]),
            (f"examples.{example.stem}.fmt.diff", ["fmt", "--diff", e]),
        ]
    out += [(f"explain.{p.stem}.txt", ["explain", p.stem]) for p in sorted((ROOT / "docs" / "diagnostics").glob("RB*.md"))]
    out += [("schema.json", ["schema", "report"]), ("help.txt", ["--help"])]
    return out


def snapshot(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "rubrics", work / "rubrics")
        shutil.copytree(ROOT / "docs" / "examples", work / "docs" / "examples")
        env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS", "RUBRIC_DEBUG")}
        env.update(NO_COLOR="1", RUBRIC_NO_CACHE="1", PYTHONIOENCODING="utf-8")
        for name, args in commands(work):
            proc = subprocess.run([sys.executable, "-m", "rubricdsl", *args], cwd=work, env=env,
                                  capture_output=True, timeout=600)
            body = proc.stdout
            if "--report" in args and (work / "report.html").is_file():  # keep the HTML report itself
                body = (work / "report.html").read_bytes()
                (work / "report.html").unlink()
            (dest / name).write_bytes(b"exit %d\n--- stdout\n" % proc.returncode + body + b"\n--- stderr\n" + proc.stderr)
    print(f"{len(list(dest.iterdir()))} outputs in {dest}")


def compare(a: Path, b: Path) -> int:
    names = sorted({p.name for p in a.iterdir()} | {p.name for p in b.iterdir()})
    differ = 0
    for name in names:
        pa, pb = a / name, b / name
        if not pa.is_file() or not pb.is_file():
            print(f"only in {'the second' if pb.is_file() else 'the first'}: {name}")
            differ += 1
            continue
        x, y = pa.read_bytes(), pb.read_bytes()
        if x != y:
            differ += 1
            print(f"differs: {name}")
            for line in list(difflib.unified_diff(x.decode("utf-8", "replace").splitlines(),
                                                  y.decode("utf-8", "replace").splitlines(), lineterm="", n=1))[:20]:
                print("   ", line)
    print(f"{len(names)} outputs compared, {differ} differ")
    return 1 if differ else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--compare", action="store_true", help="compare two snapshots instead of taking one")
    args = ap.parse_args()
    if args.compare:
        if len(args.dirs) != 2:
            ap.error("--compare takes two directories")
        sys.exit(compare(*args.dirs))
    snapshot(args.dirs[0])


if __name__ == "__main__":
    main()
