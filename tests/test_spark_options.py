"""`rubric check`'s Spark options, without Spark: the command line never imports pyspark
unless `--engine spark` is given, and arguments that cannot work fail with one line before
Spark starts (so these tests run without pyspark or Java). Nor does any command but
`rubric lsp` import the language server's libraries (pygls, lsprotocol)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUBRIC = ROOT / "rubrics" / "response-safety" / "response-safety.rubric"
DATA = ROOT / "rubrics" / "response-safety" / "sample.jsonl"

PROBE = """
import sys
from click.testing import CliRunner
from rubricdsl.cli import main
r = CliRunner().invoke(main, sys.argv[1:])
print(r.exit_code, "pyspark" in sys.modules, "py4j" in sys.modules, "rubricdsl.spark" in sys.modules,
      "pygls" in sys.modules, "lsprotocol" in sys.modules, "rubricdsl.lsp" in sys.modules)
print(r.output, file=sys.stderr)
"""


def probe(*args: str) -> tuple[list[str], str]:
    p = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    return p.stdout.split(), p.stderr


@pytest.mark.parametrize("args", [
    ["check", str(RUBRIC), str(DATA), "--format", "jsonl"],
    ["check", str(RUBRIC), str(DATA), "-j", "2"],
    ["check", "--help"],
], ids=["jsonl", "text", "help"])
def test_the_command_line_does_not_import_pyspark_without_engine_spark(args: list[str]) -> None:
    (status, pyspark, py4j, module, *_), _ = probe(*args)
    assert status in ("0", "1")
    assert (pyspark, py4j, module) == ("False", "False", "False")


@pytest.mark.parametrize("args", [
    ["check", str(RUBRIC), str(DATA), "--format", "jsonl"],
    ["lint", str(RUBRIC)],
    ["fmt", "--check", str(RUBRIC)],
    ["lsp", "--help"],
    ["--help"],
], ids=["check", "lint", "fmt", "lsp-help", "help"])
def test_the_command_line_imports_the_language_server_only_to_run_it(args: list[str]) -> None:
    (status, *_, pygls, lsprotocol, module), _ = probe(*args)
    assert status in ("0", "1")
    assert (pygls, lsprotocol, module) == ("False", "False", "False")


def test_the_help_names_the_spark_options() -> None:
    _, out = probe("check", "--help")
    for option in ("--engine [local|spark]", "--master URL", "parquet"):
        assert option in out


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rubricdsl", "check", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("args, message", [
    (["--engine", "spark", str(RUBRIC), str(DATA)], "rubric: error: --engine spark writes the findings to a "
                                                    "directory: give it with -o DIR\n"),
    (["--engine", "spark", "--format", "text", str(RUBRIC), str(DATA), "-o", "{out}"],
     "rubric: error: --engine spark writes jsonl or parquet files to a directory, not text\n"),
    (["--engine", "spark", str(RUBRIC), "{missing}", "-o", "{out}"], "rubric: error: {missing}: no such file\n"),
    (["--engine", "spark", str(RUBRIC), "-", "-o", "{out}"],
     "rubric: error: --engine spark reads files, not standard input (-)\n"),
    (["--engine", "spark", str(RUBRIC), str(DATA), "-o", "{here}"],
     "rubric: error: {here}: exists; name a new directory for the findings\n"),
    (["--format", "parquet", str(RUBRIC), str(DATA)],
     "rubric: error: --format parquet goes with --engine spark (without it: text, json or jsonl)\n"),
    (["--master", "local[2]", str(RUBRIC), str(DATA)], "rubric: error: --master goes with --engine spark\n"),
    (["--engine", "spark", "--by", "annotator", str(RUBRIC), str(DATA), "-o", "{out}"],
     "rubric: error: --by annotator is not available with --engine spark: group the findings' `annotator` "
     "column in Spark instead\n"),
], ids=["no-output", "text", "missing", "stdin", "exists", "parquet-local", "master-local", "by-spark"])
def test_arguments_that_cannot_work_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    names = {"out": str(tmp_path / "out"), "missing": str(tmp_path / "nowhere.jsonl"), "here": str(tmp_path)}
    p = run(*[a.format(**names) for a in args])
    assert p.returncode == 2
    assert p.stderr == message.format(**names)
    assert not (tmp_path / "out").exists()


def _summary(**extra: int) -> dict:
    s = {"records": 5, "with_findings": 2, "violation": 1, "invalid": 1, "unreadable": 0, "ambiguous": 0,
         "uncovered": 0, "escalation": 0, "errors": 2, "warnings": 0, "infos": 0}
    s.update(extra)
    return s


@pytest.mark.parametrize("extra, line", [
    ({"items": 3}, "  3 items judged (records grouped by their item)"),
    ({"items": 1}, "  1 item judged (records grouped by their item)"),
    ({"items": 0}, "  no record names an item: the item checks had nothing to judge"),
    ({}, None),
], ids=["items", "one-item", "no-item", "no-item-checks"])
def test_the_spark_summary_speaks_of_items_as_the_text_report_does(capsys: pytest.CaptureFixture[str],
                                                                   extra: dict, line: str | None) -> None:
    """What `rubric check --engine spark` prints after the run (no Spark needed to print
    it): items in the words of `rubric check`'s text report, and no line about items for
    a rubric without item checks."""
    from types import SimpleNamespace

    from rubricdsl.cli.check_spark import print_summary

    print_summary(SimpleNamespace(summary=_summary(**extra), files=["a.jsonl"]), "out", "jsonl")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "checked 5 records in 1 file on Spark: 3 clean, 2 with findings"
    about_items = [ln for ln in lines if "item" in ln]
    assert about_items == ([line] if line else [])
