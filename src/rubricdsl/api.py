"""The Python API: load a rubric, check records, files and iterables.

    >>> import rubricdsl
    >>> rubric = rubricdsl.loads('rubric "r" version "1"\\nlabel ok: bool\\nrule must "ok" { require ok }')
    >>> [f.kind for f in rubric.check({"ok": False})]
    ['violation']
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from rubricdsl.core.safetext import utf8_data
from rubricdsl.core.source import normalize_text
from rubricdsl.engine.codegen import Compiled, compile_rubric
from rubricdsl.language import ir
from rubricdsl.language.load import compile_text, read_rubric_file

__all__ = ["Rubric", "compile_text", "load", "loads", "read_rubric_file"]


class Rubric:
    """A compiled rubric. Compile once, check many records."""

    def __init__(self, rubric: ir.RubricIR, source_text: str) -> None:
        #: the resolved rubric (criteria, fields, decisions, rules, …) that every command reads
        self.ir = rubric
        #: the rubric's text, line endings normalised
        self.source_text = source_text
        self._compiled: Compiled | None = None

    @property
    def name(self) -> str:
        """The rubric's name, from its header."""
        return self.ir.name

    @property
    def version(self) -> str:
        """The rubric's version, from its header."""
        return self.ir.version

    @property
    def sha256(self) -> str:
        """The sha256 of the rubric file's bytes (of the text, for `loads`), in hex; of the
        rubric and the files it imports, when it imports some (`digest.combined_sha256`)."""
        return self.ir.sha256

    @property
    def compiled(self) -> Compiled:
        """The generated checker, built on first use and kept."""
        if self._compiled is None:
            self._compiled = compile_rubric(self.ir)
        return self._compiled

    def info(self) -> dict[str, str]:
        """The `rubric` object of every report: name, version, sha256 and file."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256, "file": self.ir.source_name}

    def check(self, record: Any, *, file: str = "<record>", line: int = 1) -> list["Finding"]:
        """Findings for one record (a dict). Item checks need all of an item's records:
        use `check_records` or `check_files` for them."""
        from rubricdsl.engine.report import Finding  # noqa: PLC0415
        from rubricdsl.engine.runtime import check_record  # noqa: PLC0415

        return [Finding.model_validate(utf8_data(f)) for f in check_record(self.compiled, record, file, line)]

    def check_dicts(self, record: Any, *, file: str = "<record>", line: int = 1) -> list[dict]:
        """Like `check`, as plain dicts (the JSON report's shape), without pydantic."""
        from rubricdsl.engine.runtime import check_record  # noqa: PLC0415

        return [utf8_data(f) for f in check_record(self.compiled, record, file, line)]

    def check_records(self, records: Iterable[Any], *, file: str = "<records>") -> "Report":
        """A report over an iterable of dicts; the n-th record counts as line n."""
        from rubricdsl.engine.report import build_report  # noqa: PLC0415
        from rubricdsl.engine.runtime import RecordChecker  # noqa: PLC0415

        findings: list[dict] = []
        checker = RecordChecker(self.compiled, findings.append)
        try:
            checker.records(records, file)
            checker.finish()
        finally:
            checker.close()  # the items' temporary file goes on every way out
        stats = checker.stats
        findings = [utf8_data(f) for f in findings]  # a record's strings may hold lone surrogates
        return build_report(self.info(), stats.records, stats.counts, findings, [file], stats.items,
                            stats.judgments, stats.skipped)

    def check_files(self, *paths: str | Path, input_format: str = "auto") -> "Report":
        """A report over data files: JSONL, a JSON array, CSV or TSV (`.gz` too; `-` for
        stdin), read as `rubric check --input-format` reads them (`auto`: by the
        extension, `.csv` and `.tsv`, then by the first non-blank character)."""
        from rubricdsl.engine.reading import INPUT_FORMATS  # noqa: PLC0415
        from rubricdsl.engine.report import build_report  # noqa: PLC0415
        from rubricdsl.engine.runtime import run  # noqa: PLC0415

        if input_format not in INPUT_FORMATS:
            raise ValueError(f"input_format must be one of {', '.join(INPUT_FORMATS)}, not {input_format!r}")
        findings: list[dict] = []
        stats = run(self.compiled, [str(p) for p in paths], findings.append, input_format=input_format)
        return build_report(self.info(), stats.records, stats.counts, findings, stats.files, stats.items,
                            stats.judgments, stats.skipped)

    check_file = check_files

    def check_dataframe(self, df: Any) -> "FrameReport":
        """Check every row of a pandas or polars DataFrame as a record. Returns a
        `FrameReport`: `.findings`, a DataFrame of the same library with one row per
        finding, its `row` column the input row's index label (pandas) or 0-based
        position (polars); `.summary` and `.rubric` as in a `Report`. Anything else is a
        TypeError; two columns of one name, or a column inside another, a ValueError."""
        from rubricdsl.engine.frames import check_frame, frame_library  # noqa: PLC0415

        return check_frame(self.compiled, self.info(), df, frame_library(df, "check_dataframe"))

    def check_arrow(self, table: Any) -> "FrameReport":
        """Check every row of a pyarrow Table, RecordBatch or RecordBatchReader (read a
        batch at a time) as a record. Returns a `FrameReport` whose `.findings` is a
        pyarrow Table, its `row` column the row's 0-based position."""
        from rubricdsl.engine.frames import check_frame, frame_library  # noqa: PLC0415

        return check_frame(self.compiled, self.info(), table, frame_library(table, "check_arrow"))

    def test(self) -> list["ExampleResult"]:
        """Run the worked examples (`example` blocks): one result per example, in order."""
        from rubricdsl.engine.examples import run_examples  # noqa: PLC0415

        return run_examples(self.ir, self.compiled)


def loads(text: str, name: str = "<string>") -> Rubric:
    """Compile rubric text. Raises RubricError (with `.diagnostics`) when it has errors."""
    rubric = compile_text(text, name)
    return Rubric(rubric, normalize_text(text))


def load(path: str | Path) -> Rubric:
    """Compile a rubric file. Raises OSError if unreadable, RubricError if it has errors."""
    text, sha = read_rubric_file(path)
    rubric = compile_text(text, str(path), sha)
    return Rubric(rubric, normalize_text(text))


if TYPE_CHECKING:  # pragma: no cover - type names for the annotations above
    from rubricdsl.engine.examples import ExampleResult
    from rubricdsl.engine.frames import FrameReport
    from rubricdsl.engine.report import Finding, Report
