"""The time budget of one analysis (`rubric lint` of one file, the semantic part of one
`rubric diff`): a deadline on the monotonic clock.

Every solver question gets what remains of the budget as its own limit, at most a
quarter of the whole (at least a second), so that one hard question (non-linear
arithmetic, say) leaves time for the others; the loops over rules and arms look at
the deadline before each question. What is not decided when the budget runs out is
reported (RB209), never skipped silently.
"""
from __future__ import annotations

import time

DEFAULT_SECONDS = 60.0


class OutOfTime(Exception):
    """The budget ran out before a question could be asked or answered."""


class Budget:
    def __init__(self, seconds: float | None = DEFAULT_SECONDS) -> None:
        self.seconds = DEFAULT_SECONDS if seconds is None else float(seconds)
        self.start = time.monotonic()
        self.deadline = self.start + self.seconds

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def check(self) -> None:
        """Raise OutOfTime once the deadline has passed."""
        if time.monotonic() >= self.deadline:
            raise OutOfTime

    def question_ms(self) -> int:
        """The time limit of the next solver question, in milliseconds (at least 1: z3
        reads 0 as no limit). Raises OutOfTime when nothing remains."""
        left = self.remaining()
        if left <= 0:
            raise OutOfTime
        return max(1, int(min(left, max(1.0, self.seconds / 4)) * 1000))

    def describe(self) -> str:
        """The budget as the command line gives it: `60 s`, `0.5 s`."""
        return f"{self.seconds:g} s"
