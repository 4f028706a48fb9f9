"""Report models (pydantic): the JSON report of `rubric check` and its JSON Schema.

The CLI writes reports from plain dicts for speed; these models describe the very
same shape, validate it in tests, and are what the Python API returns.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rubricdsl.engine.findings import summary_dict

Kind = Literal["violation", "uncovered", "ambiguous", "invalid", "unreadable", "escalation"]
Severity = Literal["error", "warning", "info"]


class Finding(BaseModel):
    """One finding about one record (or one line that is not a record)."""

    model_config = ConfigDict(extra="allow")

    kind: Kind
    line: int = Field(description="1-based line of the record in its file")
    record: str = Field(description="the record's id, or its line number as a string")
    file: str
    criterion: str | None = Field(description="the criterion the finding belongs to; null at top level")
    rule: str | None = Field(description="rule, escalation or decided label name")
    label: str | None = Field(description="the field the finding is about, where there is one")
    arms: list[str] | None = Field(default=None, description="decisions: the arms involved (`arm N` when unnamed)")
    target: str | None = Field(default=None, description="escalations: the role the record goes to")
    severity: Severity
    message: str
    value: Any = Field(default=None, description="the field's value as found in the record, where one applies")
    fields: dict[str, Any] | None = Field(default=None, description="rules and escalations: the values they read")
    cause: Literal["undecided", "uncovered", "split", "open", "deviation"] | None = Field(
        default=None, description="item disagreement (ambiguous with rule `consensus`): where the guideline lets "
                                  "annotators part")
    values: dict[str, int] | None = Field(
        default=None, description="item disagreement: each value of the label and how many judgments gave it")
    aggregates: dict[str, Any] | None = Field(
        default=None, description="per item rules and escalations: the value of each aggregate they read, "
                                  "by its text (`agreement(safety)`); null when it has no value")
    judgment: str | None = Field(
        default=None, description="rubrics with `each`: the judgment the finding is about (the value at the "
                                  "`judgment` path as text, or its position in the list from 1); absent for a "
                                  "finding about the record's list itself and for item findings")
    lines: list[dict[str, Any]] | None = Field(
        default=None, description="item findings: {file, line} of every record of the item; `record` is then "
                                  "the item value and `file`/`line` its first record")
    annotator: str | None = Field(
        default=None, description="who labeled the record (with `each`, the judgment): the value at the "
                                  "`record` block's `annotator` path, as text; absent when the rubric names no "
                                  "annotator or the record has none, and for unreadable lines and item findings")
    context: dict[str, Any] | None = Field(
        default=None, description="rubrics with a `show` line: each of its paths, as written, and the value it "
                                  "finds in the record (`@` paths: in the judgment), whole; null where the path "
                                  "finds nothing. Absent for unreadable lines and item findings")


class AnnotatorRow(BaseModel):
    """One annotator's row of `rubric check --by annotator`."""

    annotator: str | None = Field(description="the annotator, as text; null for the records that name none")
    judgments: int = Field(description="the records (with `each`: the judgments) checked that have this annotator")
    violation: int
    uncovered: int
    ambiguous: int
    invalid: int
    escalation: int
    findings: int = Field(description="the findings of these records: the sum of the kinds")


class RubricInfo(BaseModel):
    """Which rubric a report is about: its header's name and version, and its file."""

    name: str
    version: str
    sha256: str = Field(description="sha256 of the rubric file's bytes; with imports, of one line per file "
                        "(the rubric, then each imported file), each its own sha256 (language.md, 4.13)")
    file: str


class Summary(BaseModel):
    """Counts over the whole run: records, items, each finding kind and each severity."""

    model_config = ConfigDict(extra="allow")

    records: int = Field(description="every non-blank line (or element of a JSON array file) read, unreadable "
                                     "ones included")
    items: int | None = Field(default=None, description="items judged (rubrics with item checks only)")
    judgments: int | None = Field(default=None, description="rubrics with `each`: the judgments checked")
    skipped: int | None = Field(default=None, description="rubrics with `each`: the judgments `skip when` left out")
    unreadable: int
    violation: int
    uncovered: int
    ambiguous: int
    invalid: int
    escalation: int
    errors: int = 0
    warnings: int = 0
    infos: int = 0
    by_annotator: list[AnnotatorRow] | None = Field(
        default=None, description="`rubric check --by annotator` only: one row per annotator, in the order of "
                                  "their names, the records without an annotator last; unreadable lines and item "
                                  "findings are in no row")


class Report(BaseModel):
    """The report of `rubric check --format json`: the rubric, the summary, the data files and every finding."""

    rubric: RubricInfo
    summary: Summary
    files: list[str] = Field(default_factory=list)
    findings: list[Finding]


def build_report(info: dict, records: int, counts: dict[str, int], findings: list[dict], files: list[str],
                 items: int | None = None, judgments: int | None = None, skipped: int | None = None) -> Report:
    sev = {"error": 0, "warning": 0, "info": 0}
    for f in findings:
        sev[f["severity"]] += 1
    return Report.model_validate({"rubric": info, "summary": summary_dict(records, counts, sev, items, judgments, skipped),
                                  "files": files, "findings": findings})


def report_schema() -> dict:
    schema = Report.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "rubric check report"
    return schema
