"""The package's layers hold (docs/architecture.md): import-linter's contracts in
pyproject.toml pass, and no module uses another module's private names."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "rubricdsl"


def test_the_layer_contracts_hold() -> None:
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts)


def _private_uses(path: Path) -> list[str]:
    """`from rubricdsl.x import _name`, and `mod._name` where `mod` names a rubricdsl
    module imported in this file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rubricdsl"):
            for a in node.names:
                target = f"{node.module}.{a.name}"
                if (PACKAGE.parent / target.replace(".", "/")).with_suffix(".py").exists() or \
                        (PACKAGE.parent / target.replace(".", "/")).is_dir():
                    modules.add(a.asname or a.name)
                elif a.name.startswith("_") and not a.name.startswith("__"):
                    out.append(f"{path.name}:{node.lineno}: imports {a.name} from {node.module}")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("rubricdsl"):
                    modules.add(a.asname or a.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            base = node.value
            if isinstance(base, ast.Name) and base.id in modules:
                out.append(f"{path.name}:{node.lineno}: uses {base.id}.{node.attr}")
    return out


FILES = sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "tests").glob("*.py")) + sorted((ROOT / "bench").glob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_no_module_uses_another_modules_private_names(path: Path) -> None:
    assert _private_uses(path) == []
