"""Files shipped with the package: the grammar, the diagnostic pages, the templates.

In an installed wheel they sit inside the package (`rubricdsl/grammars/`,
`rubricdsl/docs/diagnostics/`, `rubricdsl/render/templates/`); in a source checkout
the grammar and the pages are at the repository's root, where they are edited.
"""
from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # …/rubricdsl
SOURCE_TREE = PACKAGE.parents[1]  # the repository, when running from a checkout


def _shipped(*parts: str) -> Path | None:
    for base in (PACKAGE, SOURCE_TREE):
        candidate = base.joinpath(*parts)
        if candidate.exists():
            return candidate
    return None


def grammar_path() -> Path:
    """The canonical grammar, `rubric.lark`."""
    path = _shipped("grammars", "rubric.lark")
    if path is None:
        raise FileNotFoundError("rubric.lark not found in the package or in the source tree")
    return path


def diagnostic_page(code: str) -> Path | None:
    """The documentation page of a diagnostic code (`docs/diagnostics/RB204.md`), if shipped."""
    path = _shipped("docs", "diagnostics", f"{code}.md")
    return path if path is not None and path.is_file() else None


def package_files() -> list[Path]:
    """The package's Python files and grammar: what a compiled rubric depends on."""
    files = sorted(PACKAGE.rglob("*.py"))
    grammar = _shipped("grammars", "rubric.lark")
    return files + ([grammar] if grammar is not None else [])
