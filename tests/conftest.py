"""Shared pytest configuration: the `--update-goldens` option and the `slow` and `browser` markers."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
GOLDEN = TESTS / "golden"
DATA = TESTS / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite tests/golden/*.txt from the current output instead of comparing with them",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds and installs a wheel, or processes large data (still run by default)")
    config.addinivalue_line("markers", "spark: runs Spark in local mode (needs rubricdsl[spark] and Java; skipped without)")
    config.addinivalue_line("markers", "exhaustive: the same check over more inputs of a kind (CI's lowest-versions "
                            "pass runs one of each, the first pass all)")
    config.addinivalue_line("markers", "browser: loads the HTML pages in headless Chromium (skipped without it, "
                            "unless RUBRIC_REQUIRE_BROWSER=1)")


class Golden:
    """Compare text with a golden file, or rewrite it under --update-goldens."""

    def __init__(self, update: bool) -> None:
        self.update = update

    def check(self, name: str, actual: str) -> None:
        path = GOLDEN / name
        if self.update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8", newline="\n")
            return
        assert path.is_file(), f"golden file {path} is missing; run pytest --update-goldens"
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"output differs from {path} (run pytest --update-goldens if the change is intended)"


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    return Golden(request.config.getoption("--update-goldens"))


@pytest.fixture
def cli_env() -> dict[str, str]:
    """Environment for CLI subprocesses: no colour, no terminal-dependent behaviour."""
    env = dict(os.environ)
    env.pop("FORCE_COLOR", None)
    env.pop("RUBRIC_DEBUG", None)
    env["NO_COLOR"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


@pytest.fixture
def python() -> str:
    return sys.executable
