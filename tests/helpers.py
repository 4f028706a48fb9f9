"""Small helpers shared by test modules."""
from __future__ import annotations

from click.testing import CliRunner


def cli_runner() -> CliRunner:
    """A CliRunner that keeps standard error apart from standard output, on every click
    release the bounds admit (before 8.2 that had to be asked for; since, it always is)."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()
