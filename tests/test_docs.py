"""The language reference's examples are real: every complete rubric in
docs/language.md compiles and its worked examples pass."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import rubricdsl

ROOT = Path(__file__).resolve().parents[1]
LANGUAGE = ROOT / "docs" / "language.md"
BLOCKS = [b for b in re.findall(r"```rubric\n(.*?)```", LANGUAGE.read_text(encoding="utf-8"), re.S)
          if b.startswith('rubric "')]


def test_the_reference_has_complete_examples() -> None:
    assert len(BLOCKS) >= 20
    assert any("consensus" in b and "per item" in b for b in BLOCKS)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_reference_rubric_compiles_and_its_examples_pass(index: int) -> None:
    rubric = rubricdsl.loads(BLOCKS[index], f"language.md#{index}")
    failed = [(r.title, r.expected, r.got) for r in rubric.test() if not r.passed]
    assert not failed
