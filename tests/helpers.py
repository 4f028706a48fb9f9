"""Small helpers shared by test modules."""
from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from click.testing import CliRunner


def cli_runner() -> CliRunner:
    """A CliRunner that keeps standard error apart from standard output, on every click
    release the bounds admit (before 8.2 that had to be asked for; since, it always is)."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


@dataclass
class Ran:
    """What a command did, in the shape of `subprocess.CompletedProcess` (`stdout` and
    `stderr` are bytes, or text when asked for)."""

    args: list[str]
    returncode: int
    stdout: Any
    stderr: Any

    @property
    def out(self) -> str:
        return self.stdout if isinstance(self.stdout, str) else self.stdout.decode("utf-8")

    @property
    def err(self) -> str:
        return self.stderr if isinstance(self.stderr, str) else self.stderr.decode("utf-8")


@contextlib.contextmanager
def _inside(cwd: str | Path | None, env: dict[str, str]) -> Iterator[None]:
    """This process in `cwd`, with `env` set (None removes a variable), as it was after."""
    here = os.getcwd()
    saved = {k: os.environ.get(k) for k in env}
    tempdir = tempfile.tempdir
    try:
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if "TMPDIR" in env:
            tempfile.tempdir = None  # read TMPDIR again
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(here)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        tempfile.tempdir = tempdir


def rubric(*args: str, cwd: str | Path | None = None, env: dict[str, str | None] | None = None,
           input: bytes | str | None = None, text: bool = False) -> Ran:
    """`rubric ARGS` run in this process through click's CliRunner (standard error kept
    apart), from `cwd`, with `env`'s changes to the environment and `input` as standard
    input; no colour; what it printed as bytes, or as `text`. For tests of what a command
    does, not of the process around it (signals, pipes, a closed standard output, the
    console scripts): those start `python -m rubricdsl`."""
    from rubricdsl.cli import main

    changes = {"NO_COLOR": "1", "FORCE_COLOR": None, "RUBRIC_DEBUG": None, **(env or {})}
    with _inside(cwd, changes):
        res = cli_runner().invoke(main, list(args), input=input)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    ran = Ran(list(args), res.exit_code, res.stdout_bytes, res.stderr_bytes)
    return Ran(ran.args, ran.returncode, ran.out, ran.err) if text else ran
