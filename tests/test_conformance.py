"""The shared conformance cases, when the folder that holds them sits beside the project.

The project's own suite does not need them (it has its own cases under tests/cases);
this runs them too when they are there. Cases of features still to come are expected
failures with their reason, never silent skips.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = Path(os.environ.get("RUBRIC_CONFORMANCE", ROOT.parent / "shared" / "conformance"))
# A case of a feature still being built: run, and expected to fail until the feature
# lands; once it passes, this test fails so that the entry is removed.
PENDING: dict[str, str] = {}

cases = sorted(p.parent.name for p in CONFORMANCE.glob("*/expected.json")) if CONFORMANCE.is_dir() else []


@pytest.mark.skipif(not cases, reason="no conformance folder beside the project")
@pytest.mark.parametrize("case", cases)
def test_conformance_case(case: str, tmp_path: Path) -> None:
    if shutil.which("rubric") is None:
        pytest.skip("the `rubric` command is not on PATH")
    proc = subprocess.run([sys.executable, str(CONFORMANCE / "run"), str(CONFORMANCE / case)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    if case in PENDING:
        if proc.returncode == 0:
            pytest.fail(f"{case} passes now: remove it from PENDING")
        pytest.xfail(PENDING[case])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 0 failed" in proc.stdout
