"""Values read from records, as messages and reports show them: the one formatter.

`MISSING` stands for a field the record does not have; `HugeNumber` for a JSON number
beyond a double's range, kept as written. `show` is a value in a message (JSON,
shortened), `report_value` a value as the JSON report holds it, `json_type` its JSON
type in words, `number_text` a number without a needless `.0`.
"""
from __future__ import annotations

from typing import Any

import orjson


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class HugeNumber:
    """A JSON number too large for a double (`1e400`), as written. The line holding it
    is valid JSON and is read; the number is an invalid value for every field type, so
    a field that reads it gets an `invalid` finding ("not a finite number")."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return other.__class__ is HugeNumber and other.text == self.text  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((HugeNumber, self.text))


def json_text(v: Any) -> str:
    """JSON text of a value that orjson cannot write (a huge number, an int over 64 bits)."""
    if v.__class__ is HugeNumber:
        return v.text
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, list):
        return "[" + ",".join(json_text(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(json_text(str(k)) + ":" + json_text(x) for k, x in v.items()) + "}"
    try:
        return orjson.dumps(v).decode()
    except TypeError:
        return repr(v)


def show(v: Any, limit: int = 60) -> str:
    """A JSON rendering of a value for messages, shortened."""
    if v is MISSING:
        return "missing"
    try:
        s = orjson.dumps(v).decode()
    except TypeError:
        s = json_text(v)
    if len(s) > limit:
        s = s[: limit - 3] + "..."
    return s


def report_value(v: Any) -> Any:
    """A record's value as the report holds it: JSON data. A huge number becomes its
    text (a double cannot hold it), wherever it stands in the value."""
    c = v.__class__
    if c is HugeNumber:
        return v.text
    if (c is list or c is dict) and _holds_huge(v):
        return _plain(v)
    return v


def _holds_huge(v: Any) -> bool:
    stack = [v]
    while stack:
        x = stack.pop()
        c = x.__class__
        if c is HugeNumber:
            return True
        if c is list:
            stack.extend(x)
        elif c is dict:
            stack.extend(x.values())
    return False


def _plain(v: Any) -> Any:
    c = v.__class__
    if c is HugeNumber:
        return v.text
    if c is list:
        return [_plain(x) for x in v]
    if c is dict:
        return {k: _plain(x) for k, x in v.items()}
    return v


def json_type(v: Any) -> str:
    if v is None:
        return "a null"
    if v.__class__ is HugeNumber:
        return "a number"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def number_text(v: Any) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
