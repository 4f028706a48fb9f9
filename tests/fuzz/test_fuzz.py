"""The fuzzing harness: generated rubrics, strings from the grammar, corrupted data files
and command lines. Each property is about failing well: a rubric compiles or gets
positioned diagnostics, lint reports without an internal error, checking never raises,
every line of a data file is accounted for, and nothing hangs.

CI runs a few examples of each; `tests/fuzz/run.py` runs them at length on every core.
The environment sets the counts per part (`RUBRIC_FUZZ_RUBRICS`, `_GRAMMAR`, `_DATA`,
`_CLI`), the number of parts (`RUBRIC_FUZZ_PARTS`, independent runs that pytest-xdist
spreads over the cores), how large generated rubrics get (`RUBRIC_FUZZ_SIZE`) and how
often lint runs on one (`RUBRIC_FUZZ_LINT_EVERY`).
"""
from __future__ import annotations

import contextlib
import functools
import gzip
import json
import os
import signal
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import rubricdsl
from rubricdsl.core.diagnostics import RubricError
from rubricdsl.core.source import normalize_text
from rubricdsl.engine.reading import DataError

from .strategies import corrupt, records_for, rubrics

RUBRICS = int(os.environ.get("RUBRIC_FUZZ_RUBRICS", "12"))
GRAMMAR = int(os.environ.get("RUBRIC_FUZZ_GRAMMAR", "12"))
DATA = int(os.environ.get("RUBRIC_FUZZ_DATA", "15"))
CLI = int(os.environ.get("RUBRIC_FUZZ_CLI", "8"))
SIZE = int(os.environ.get("RUBRIC_FUZZ_SIZE", "1"))
PARTS = int(os.environ.get("RUBRIC_FUZZ_PARTS", "1"))  # independent runs, so that -n spreads them
HANG_SECONDS = float(os.environ.get("RUBRIC_FUZZ_HANG_SECONDS", "60"))
LINT_EVERY = int(os.environ.get("RUBRIC_FUZZ_LINT_EVERY", "5"))
KINDS = {"violation", "uncovered", "ambiguous", "invalid", "unreadable", "escalation"}

# no shrinking: a failing example is printed as found (shrinking grammar-made text can
# take Hypothesis many minutes), and a fuzzing run should report, not linger
def fuzz(examples: int) -> Any:
    if examples <= 0:
        return pytest.mark.skip(reason="no examples asked for")
    return settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck),
                    phases=[Phase.explicit, Phase.generate])


class Hang(Exception):
    pass


_COUNTS: dict[str, int] = {}


def _count(what: str) -> None:
    """Examples run per property, written at exit where `RUBRIC_FUZZ_COUNTS` says (run.py sums them)."""
    if not _COUNTS and os.environ.get("RUBRIC_FUZZ_COUNTS"):
        import atexit

        atexit.register(_write_counts)
    _COUNTS[what] = _COUNTS.get(what, 0) + 1


def _write_counts() -> None:
    path = Path(os.environ["RUBRIC_FUZZ_COUNTS"]) / f"counts-{os.getpid()}.json"
    path.write_text(json.dumps(_COUNTS), encoding="utf-8")


@contextlib.contextmanager
def no_hang(what: str) -> Iterator[None]:
    """Fail (instead of waiting forever) when one example takes longer than HANG_SECONDS."""
    def on_alarm(signum, frame):  # noqa: ANN001
        raise Hang(f"{what} took more than {HANG_SECONDS} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _assert_positioned(e: RubricError, text: str) -> None:
    assert e.diagnostics, "a RubricError without diagnostics"
    lines = normalize_text(text).count("\n") + 1
    for d in e.diagnostics:
        assert d.code.startswith("RB") and d.code != "RB900", d
        assert 1 <= d.line <= lines + 1 and d.column >= 1, d


def _check_findings(findings: list[dict]) -> None:
    for f in findings:
        assert f["kind"] in KINDS, f
        assert f["severity"] in ("error", "warning", "info"), f
        json.dumps(f, ensure_ascii=False, default=str)


_counter = {"n": 0}


@pytest.mark.parametrize("part", range(PARTS))
@fuzz(RUBRICS)
@given(data=st.data())
def test_a_generated_rubric_compiles_formats_lints_and_checks(part: int, data: st.DataObject) -> None:
    spec = data.draw(rubrics(size=SIZE), label="rubric")
    _count("generated rubrics")
    with no_hang("one generated rubric"):
        try:
            rubric = rubricdsl.loads(spec.text, "fuzz.rubric")
        except RubricError as e:  # the generator writes valid rubrics: a diagnostic here is a finding
            raise AssertionError(f"a valid rubric was refused:\n{e.render()}\n---\n{spec.text}") from None
        from rubricdsl.language.fmt import format_text

        _counter["n"] += 1
        pretty = format_text(spec.text, "fuzz.rubric")
        if _counter["n"] % 4 == 0:  # idempotent (each parse costs; a quarter of the rubrics show it)
            assert format_text(pretty, "fuzz.rubric") == pretty
        recs = [data.draw(records_for(spec), label="record") for _ in range(3)]
        for rec in recs:
            _check_findings(rubric.check_dicts(rec))
        report = rubric.check_records(recs + ["not an object"], file="fuzz.jsonl")
        assert report.summary.records == len(recs) + 1 and report.summary.unreadable == 1
        if _counter["n"] % LINT_EVERY == 0:
            _count("generated rubrics linted")
            from rubricdsl.analysis.lint import lint_text

            result = lint_text(spec.text, "fuzz.rubric", timeout=30)
            assert not [d for d in result.diagnostics if d.code == "RB900"]
            assert not [d for d in result.diagnostics if d.severity == "error"], \
                [d.message for d in result.diagnostics if d.severity == "error"]


@functools.lru_cache(maxsize=1)
def _grammar_strings() -> st.SearchStrategy[str]:
    """Built once: making the parser and the strategy costs far more than drawing a string."""
    from hypothesis.extra.lark import from_lark
    from lark import Lark

    from rubricdsl.core.resources import grammar_path

    parser = Lark(grammar_path().read_text(encoding="utf-8"), parser="lalr", lexer="contextual")
    return from_lark(parser, start="start")


@pytest.mark.parametrize("part", range(PARTS))
@fuzz(GRAMMAR)
@given(data=st.data())
def test_a_string_from_the_grammar_compiles_or_gets_positioned_diagnostics(part: int, data: st.DataObject) -> None:
    text = data.draw(_grammar_strings(), label="text")
    _count("strings from the grammar")
    with no_hang("a string from the grammar"):
        try:
            rubricdsl.loads(text, "grammar.rubric")
        except RubricError as e:
            _assert_positioned(e, text)
        from rubricdsl.analysis.lint import lint_text

        result = lint_text(text, "grammar.rubric", timeout=30, analysis=False)
        assert not [d for d in result.diagnostics if d.code == "RB900"]


SAMPLE = (Path(__file__).resolve().parents[2] / "rubrics" / "response-safety")


@pytest.fixture(scope="module")
def sample() -> tuple[rubricdsl.Rubric, bytes]:
    return rubricdsl.load(SAMPLE / "response-safety.rubric"), (SAMPLE / "sample.jsonl").read_bytes()


def _lines_accounted(data: bytes) -> int | None:
    """Non-blank lines: what `records` must count (the file's own BOM aside); None for a
    file the corruption turned into a JSON array (its first non-blank byte is `[`),
    whose records are its elements."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.lstrip(b" \t\r\n").startswith(b"["):
        return None
    return sum(1 for ln in data.split(b"\n") if ln.strip())


@pytest.mark.parametrize("part", range(PARTS))
@fuzz(DATA)
@given(data=st.data())
def test_a_corrupted_data_file_loses_no_line(part: int, data: st.DataObject, sample, tmp_path_factory) -> None:
    rubric, clean = sample
    broken = data.draw(corrupt(clean), label="data")
    _count("corrupted data files")
    path = tmp_path_factory.mktemp("fuzz") / "broken.jsonl"
    path.write_bytes(broken)
    with no_hang("a corrupted data file"):
        report = rubric.check_files(path)
    lines = _lines_accounted(broken)
    if lines is not None:
        assert report.summary.records == lines
    else:  # elements of an array, each after a comma but the first
        assert report.summary.records <= broken.count(b",") + 1
    _check_findings([f.model_dump() for f in report.findings])
    unreadable = sum(1 for f in report.findings if f.kind == "unreadable")
    assert unreadable == report.summary.unreadable


@pytest.mark.parametrize("part", range(PARTS))
@fuzz(max(5, DATA // 5))
@given(data=st.data())
def test_a_corrupted_gzip_file_is_counted_or_refused_in_one_line(part: int, data: st.DataObject, sample,
                                                                  tmp_path_factory) -> None:
    rubric, clean = sample
    packed = gzip.compress(clean[: 20_000])
    broken = data.draw(corrupt(packed), label="gzip")
    _count("corrupted gzip files")
    path = tmp_path_factory.mktemp("fuzz") / "broken.jsonl.gz"
    path.write_bytes(broken)
    with no_hang("a corrupted gzip file"):
        try:
            report = rubric.check_files(path)
        except DataError as e:
            assert "\n" not in str(e) and "broken.jsonl.gz" in str(e)
            return
    assert report.summary.records >= 0


ARGS = st.lists(st.sampled_from(["--format", "json", "jsonl", "text", "sarif", "github", "markdown", "-o", "-",
                                 "--fail-on", "never", "warning", "-j", "0", "1", "2", "--samples", "--color",
                                 "--no-color", "--fail-level", "info", "--check", "--diff", "-v", "--report",
                                 "out.html", "--level", "safety=ordinal", "R", "D", "--", "--help", "x", "",
                                 "--timeout", "0.5"]), max_size=7)
COMMANDS = ["check", "lint", "test", "fmt", "doc", "diff", "agreement", "explain", "schema", "nosuch"]


@pytest.mark.parametrize("part", range(PARTS))
@fuzz(CLI)
@given(command=st.sampled_from(COMMANDS), args=ARGS)
def test_any_command_line_ends_in_a_status_not_a_traceback(part: int, command: str, args: list[str],
                                                            tmp_path_factory) -> None:
    from click.testing import CliRunner

    from rubricdsl.cli import main

    _count("command lines")
    work = tmp_path_factory.mktemp("cli")
    (work / "R").write_text(SAMPLE.joinpath("response-safety.rubric").read_text(encoding="utf-8"), encoding="utf-8")
    (work / "D").write_bytes(SAMPLE.joinpath("multi-annotator.jsonl").read_bytes())
    old = os.getcwd()
    os.chdir(work)
    try:
        with no_hang(f"rubric {command} {' '.join(args)}"):
            res = CliRunner().invoke(main, [command, *args], catch_exceptions=True)
    finally:
        os.chdir(old)
    assert res.exit_code in (0, 1, 2), (command, args, res.exit_code, res.output)
    assert "internal error" not in res.output and "Traceback" not in res.output, (command, args, res.output)
    assert res.exception is None or isinstance(res.exception, SystemExit), (command, args, repr(res.exception))
