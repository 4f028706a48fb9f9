"""The public API is what the docs say it is: every name in `rubricdsl.__all__` is
importable from the package and documented, every public method and property of the
public classes has a docstring, and the package ships `py.typed`."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from pydantic import BaseModel

import rubricdsl

PUBLIC = [n for n in rubricdsl.__all__ if n != "__version__"]


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_is_exported_and_documented(name: str) -> None:
    obj = getattr(rubricdsl, name)
    assert inspect.getdoc(obj), f"rubricdsl.{name} has no docstring"
    assert name in dir(rubricdsl)


def test_the_api_table_in_the_docs_names_only_exported_things() -> None:
    cli = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    table = cli[cli.index("## The Python API"):]
    for name in ("Finding", "Report", "Rubric", "RubricError", "load", "loads"):
        assert f"`{name}" in table or f"rubricdsl.{name}" in table
        assert hasattr(rubricdsl, name)


@pytest.mark.parametrize("cls", [n for n in PUBLIC if inspect.isclass(getattr(rubricdsl, n))])
def test_public_methods_have_docstrings(cls: str) -> None:
    klass = getattr(rubricdsl, cls)
    inherited = set(dir(BaseModel)) | set(dir(Exception)) | set(dir(object))
    missing = []
    for attr, value in vars(klass).items():
        if attr.startswith("_") or attr in inherited or attr.startswith("model_"):
            continue
        if isinstance(value, property) or inspect.isfunction(value):
            if not inspect.getdoc(value):
                missing.append(attr)
    assert not missing, f"{cls}: no docstring on {missing}"


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError):
        rubricdsl.no_such_thing  # noqa: B018


def test_the_package_is_typed() -> None:
    assert (Path(rubricdsl.__file__).parent / "py.typed").is_file()
