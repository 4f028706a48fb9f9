"""Severities of findings and diagnostics, and the one order between them:
info < warning < error.

`rubric check --fail-on` and `rubric lint --fail-level` compare with it, the text
reports list the most severe first, and the summaries count per severity in
`SEVERITIES` order. A diagnostic without a severity counts as an error.
"""
from __future__ import annotations

from typing import Iterable

SEVERITIES = ("error", "warning", "info")  # most severe first: the order reports list them in
RANK = {"info": 0, "warning": 1, "error": 2}
NEVER = "never"  # a failure threshold no severity reaches


def rank(severity: str | None) -> int:
    """0 for info, 1 for warning, 2 for error (and for no severity)."""
    return RANK[severity or "error"]


def worst(severities: Iterable[str | None]) -> int:
    """The rank of the most severe of `severities`; -1 when there is none."""
    return max((rank(s) for s in severities), default=-1)


def reaches(severities: Iterable[str | None], threshold: str) -> bool:
    """Whether one of `severities` is at or above `threshold` (a severity, or `never`)."""
    return threshold != NEVER and worst(severities) >= RANK[threshold]


def tally() -> dict[str, int]:
    """A count per severity, all zero, in `SEVERITIES` order."""
    return dict.fromkeys(SEVERITIES, 0)
