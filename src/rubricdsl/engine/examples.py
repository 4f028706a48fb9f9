"""`rubric test`: run a rubric's worked examples and compare with their `expect`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rubricdsl.engine.codegen import Compiled
from rubricdsl.engine.runtime import check_record
from rubricdsl.language import ir


def outcome_key(f: dict) -> tuple[str, str]:
    """A finding as the (kind, name) pair an `expect` line names."""
    kind = f["kind"]
    if kind == "violation":
        return kind, f["rule"]
    if kind == "escalation":
        return kind, f["target"]
    return kind, f["label"] or ""


@dataclass
class ExampleResult:
    """The outcome of one worked example: its title and line, whether it passed, the
    expected and the actual (kind, name) pairs, the findings and the record it built."""

    title: str
    line: int
    passed: bool
    expected: list[tuple[str, str]]
    got: list[tuple[str, str]]
    findings: list[dict] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def missing(self) -> list[tuple[str, str]]:
        """Expected outcomes the example did not produce."""
        return sorted(set(self.expected) - set(self.got))

    @property
    def unexpected(self) -> list[tuple[str, str]]:
        """Outcomes the example produced but did not expect."""
        return sorted(set(self.got) - set(self.expected))


def run_examples(rubric: ir.RubricIR, compiled: Compiled) -> list[ExampleResult]:
    """Check the record each example's `given` builds and compare with its `expect`."""
    out = []
    for ex in rubric.examples:
        findings = check_record(compiled, ex.record, rubric.source_name, ex.span.line)
        got = {outcome_key(f) for f in findings}
        out.append(ExampleResult(ex.title, ex.span.line, got == set(ex.expect), sorted(ex.expect), sorted(got),
                                 findings, ex.record))
    return out


def describe(keys: list[tuple[str, str]]) -> str:
    if not keys:
        return "pass (no finding)"
    return ", ".join(f"{k} {n}" for k, n in keys)
