"""Provenance and CI integration: JUnit output of `rubric test`, the baseline warning of
`rubric check`, and the pre-commit hooks run against the shipped rubrics."""
from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml
from helpers import Ran, rubric

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
RUBRICS = sorted(p for p in (ROOT / "rubrics").glob("*/*.rubric") if (p.parent / "sample.jsonl").is_file())


def run(*args: str, cwd: Path | None = None) -> Ran:
    return rubric(*args, cwd=cwd or ROOT, text=True)


def test_junit_report(tmp_path: Path) -> None:
    out = tmp_path / "junit.xml"
    proc = run("test", str(RUBRICS[0]), str(DATA / "cli_failing_example.rubric"), "--junit", str(out))
    assert proc.returncode == 1
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 2
    cases = [c for s in suites for c in s.findall("testcase")]
    assert int(root.get("tests")) == len(cases)
    failed = [c for c in cases if c.find("failure") is not None]
    assert int(root.get("failures")) == len(failed) == 1
    assert "expected" in failed[0].find("failure").get("message")
    props = {p.get("name"): p.get("value") for p in suites[0].find("properties")}
    assert len(props["rubric.sha256"]) == 64 and props["rubric.version"]
    assert all(c.get("line", "").isdigit() for c in cases)


def test_baseline_warns_on_an_edit_without_a_version_bump(tmp_path: Path) -> None:
    rubric = tmp_path / "r.rubric"
    rubric.write_text((DATA / "cli.rubric").read_text(encoding="utf-8"), encoding="utf-8")
    report = tmp_path / "before.json"
    proc = run("check", str(rubric), str(DATA / "clean.jsonl"), "--format", "json", "-o", str(report))
    assert proc.returncode == 0, proc.stderr
    # unchanged: no warning
    proc = run("check", str(rubric), str(DATA / "clean.jsonl"), "--baseline", str(report), "--format", "json")
    assert "warning" not in proc.stderr
    # edited, same version: a warning naming both hashes
    rubric.write_text(rubric.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
    proc = run("check", str(rubric), str(DATA / "clean.jsonl"), "--baseline", str(report), "--format", "json")
    assert "kept its version" in proc.stderr, proc.stderr
    # a JSONL report's summary line works as a baseline too
    jsonl = tmp_path / "before.jsonl"
    run("check", str(rubric), str(DATA / "clean.jsonl"), "--format", "jsonl", "-o", str(jsonl))
    proc = run("check", str(rubric), str(DATA / "clean.jsonl"), "--baseline", str(jsonl))
    assert "warning" not in proc.stderr
    # not a report: a one-line error, exit 2
    bad = tmp_path / "bad.json"
    bad.write_text("[]", encoding="utf-8")
    proc = run("check", str(rubric), str(DATA / "clean.jsonl"), "--baseline", str(bad))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1


def test_pre_commit_hooks_run_on_the_shipped_rubrics(tmp_path: Path) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert {h["id"] for h in hooks} == {"rubric-lint", "rubric-fmt", "rubric-test"}
    work = tmp_path / "rubrics"
    shutil.copytree(ROOT / "rubrics", work)
    files = sorted(str(p) for p in work.glob("*/*.rubric"))
    before = {f: Path(f).read_text(encoding="utf-8") for f in files}
    for hook in hooks:
        assert hook["language"] == "python" and hook["files"] == r"\.rubric$"
        entry = shlex.split(hook["entry"])
        assert entry[0] == "rubric"
        # pre-commit runs the entry with the matching files appended
        proc = subprocess.run([sys.executable, "-m", "rubricdsl", *entry[1:], *files], capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, (hook["id"], proc.stdout, proc.stderr)
    # the formatter left the canonical files as they were
    assert {f: Path(f).read_text(encoding="utf-8") for f in files} == before


def test_action_is_valid_and_calls_existing_commands() -> None:
    import re

    from rubricdsl.cli import main

    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    assert all("run" in s or "uses" in s for s in steps)
    assert all(s.get("shell") == "bash" for s in steps if "run" in s)
    verbs = set(main.commands)
    called = []
    for s in steps:
        for m in re.finditer(r"\brubric (\w+)((?: --?[\w-]+)*)", s.get("run", "")):
            called.append(m.group(1))
            assert m.group(1) in verbs, m.group(0)
            command = main.commands[m.group(1)]
            known = {o for p in command.params for o in [*getattr(p, "opts", []), *getattr(p, "secondary_opts", [])]}
            for opt in m.group(2).split():
                assert opt == "--" or opt in known, (m.group(0), opt)
    assert {"lint", "fmt", "test"} <= set(called)
    # inputs reach the shell as environment variables, never pasted into a script
    assert all("${{ inputs." not in s.get("run", "") for s in steps)
    assert "github.action_path" in (ROOT / "action.yml").read_text(encoding="utf-8")
    for name in action.get("inputs", {}):
        assert name in (ROOT / "action.yml").read_text(encoding="utf-8").split("runs:", 1)[1] or name == "rubrics"


def test_every_report_names_the_rubric() -> None:
    """check, lint (text, json, sarif), test and diff all name the rubric's name, version and sha256."""
    import hashlib
    import json

    path = RUBRICS[0]
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    name = rubricdsl_name = None
    check = json.loads(run("check", str(path), str(path.parent / "sample.jsonl"), "--format", "json").stdout)
    rubricdsl_name, version = check["rubric"]["name"], check["rubric"]["version"]
    assert check["rubric"]["sha256"] == sha
    lint_json = json.loads(run("lint", str(path), "--format", "json").stdout)
    assert lint_json["rubrics"][0]["sha256"] == sha and lint_json["rubrics"][0]["version"] == version
    sarif = json.loads(run("lint", str(path), "--format", "sarif").stdout)
    assert sarif["runs"][0]["properties"]["rubrics"][0]["sha256"] == sha
    text = run("lint", str(path)).stdout
    assert f"rubric {rubricdsl_name} version {version} (sha256 {sha[:12]})" in text
    assert sha[:12] in run("test", str(path)).stdout
    diff = json.loads(run("diff", str(path), str(path), "--format", "json").stdout)
    assert diff["old"]["sha256"] == diff["new"]["sha256"] == sha
    del name
