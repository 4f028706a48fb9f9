"""Values read from records and written in rubrics, as people and reports see them:
the one formatter.

`MISSING` stands for a field the record does not have; `HugeNumber` for a JSON number
beyond a double's range, kept as written. For people: `number_text` (a number, without
a needless `.0`), `data_text` (a value as JSON text), `show` (the same, shortened, in a
message), `value_text` (a value as a rubric writes it: enum values bare, sets in
braces) and `json_type` (a value's JSON type in words), `plural` (a count and its noun). For machines: `report_value`
(a value as the JSON report holds it).
"""
from __future__ import annotations

import json
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


# ---- values as people read them: the one formatter ------------------------------------------------
#
# One rule for every message, text report, lint note, guideline and HTML page: a number
# is written as JSON writes it, except that an integer-valued number has no decimal
# point (`2.0` is written `2`, as the language reads it: `3.0` is the integer 3), up to
# 1e16, beyond which it keeps JSON's exponent (`1e+20`). Booleans are `true` and
# `false`, null is `null`, a huge number is written as it was read. The JSON outputs
# hold the values themselves (`report_value`), not this text.

_EXACT = 1e16  # beyond this, integer-valued doubles are not written digit by digit


def number_text(v: Any) -> str:
    """A number (or a boolean) as people read it: `2`, `2.5`, `-1`, `true`."""
    c = v.__class__
    if c is bool:
        return "true" if v else "false"
    if c is int:
        return str(v)
    if c is HugeNumber:
        return v.text
    if isinstance(v, float):
        if v.is_integer() and -_EXACT < v < _EXACT:
            return str(int(v))
        if v != v or v in (_INF, -_INF):  # no JSON spelling: never read from data
            return str(v)
        return orjson.dumps(v).decode()
    return str(v)


_INF = float("inf")


def data_text(v: Any, spaced: bool = False) -> str:
    """A value as JSON text for people: strings quoted, numbers as `number_text` writes
    them. Compact (`{"a":1,"b":[2,3]}`), or `spaced` as witnesses and records are shown
    (`{"a": 1, "b": [2, 3]}`). A field the record does not have is `missing`."""
    c = v.__class__
    if c is str or c is int or v is None:
        try:
            return orjson.dumps(v).decode()
        except TypeError:  # an int over 64 bits, or a string with a lone surrogate
            return str(v) if c is int else json.dumps(v, ensure_ascii=False)
    if c is bool or c is float or c is HugeNumber:
        return number_text(v)
    if v is MISSING:
        return "missing"
    comma, colon = (", ", ": ") if spaced else (",", ":")
    if c is list or c is tuple:
        return "[" + comma.join(data_text(x, spaced) for x in v) + "]"
    if c is frozenset or c is set:
        return "[" + comma.join(sorted(data_text(x, spaced) for x in v)) + "]"
    if isinstance(v, dict):
        return "{" + comma.join(data_text(str(k)) + colon + data_text(x, spaced) for k, x in v.items()) + "}"
    return number_text(v) if isinstance(v, (int, float)) else str(v)


def value_text(v: Any) -> str:
    """A value as a rubric writes it and a guideline reads it: enum values and strings as
    they are, numbers as `number_text`, a set as `{a, b}`."""
    c = v.__class__
    if c is str:
        return v
    if v is None:
        return "null"
    if c is frozenset or c is set:
        return "{" + ", ".join(sorted(value_text(x) for x in v)) + "}"
    if c is list or c is tuple:
        return "{" + ", ".join(value_text(x) for x in v) + "}"
    if c is dict:
        return data_text(v)
    return number_text(v)


def plural(n: int, word: str) -> str:
    """A count and its noun: `1 file`, `2 files`, `0 errors`."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def shorten(text: str, limit: int, mark: str = "...") -> str:
    """`text`, cut to at most `limit` characters with `mark` at the end when it is longer."""
    return text if len(text) <= limit else text[: limit - len(mark)] + mark


def show(v: Any, limit: int = 60) -> str:
    """A record's value in a message: `data_text`, shortened."""
    return shorten(data_text(v), limit)


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

