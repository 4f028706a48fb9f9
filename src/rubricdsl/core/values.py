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


def data_text(v: Any, spaced: bool = False, limit: int | None = None) -> str:
    """A value as JSON text for people: strings quoted, numbers as `number_text` writes
    them. Compact (`{"a":1,"b":[2,3]}`), or `spaced` as witnesses and records are shown
    (`{"a": 1, "b": [2, 3]}`). A field the record does not have is `missing`. With
    `limit`, the text may stop soon after that many characters (a message shortens it).
    Iterative: a record's value may nest as deep as its JSON parser allows."""
    comma, colon = (", ", ": ") if spaced else (",", ":")
    out: list[str] = []
    size = 0
    todo: list[Any] = [v]  # values, and the punctuation between them as _Text
    while todo:
        x = todo.pop()
        c = x.__class__
        if c is _Text:
            piece = x.text
        elif c is str or c is int or x is None:
            try:
                piece = orjson.dumps(x).decode()
            except TypeError:  # an int over 64 bits, or a string with a lone surrogate
                piece = str(x) if c is int else json.dumps(x, ensure_ascii=False)
        elif c is bool or c is float or c is HugeNumber:
            piece = number_text(x)
        elif x is MISSING:
            piece = "missing"
        elif c is list or c is tuple:
            todo.append(_CLOSE_LIST)
            for i in range(len(x) - 1, -1, -1):
                todo.append(x[i])
                if i:
                    todo.append(_Text(comma))
            piece = "["
        elif c is frozenset or c is set:  # rubric values: flat
            piece = "[" + comma.join(sorted(data_text(y, spaced) for y in x)) + "]"
        elif isinstance(x, dict):
            todo.append(_CLOSE_DICT)
            items = list(x.items())
            for i in range(len(items) - 1, -1, -1):
                k, y = items[i]
                todo.append(y)
                todo.append(_Text(data_text(str(k)) + colon))
                if i:
                    todo.append(_Text(comma))
            piece = "{"
        else:
            piece = number_text(x) if isinstance(x, (int, float)) else str(x)
        out.append(piece)
        size += len(piece)
        if limit is not None and size > limit:
            break
    return "".join(out)


class _Text:
    """Punctuation in `data_text`'s work list."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


_CLOSE_LIST = _Text("]")
_CLOSE_DICT = _Text("}")


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
    return shorten(data_text(v, limit=limit), limit)


# how deep a value the reports hold as data: a JSON writer stops at some depth (orjson at
# 255 levels, with the report's own levels above the value); a record's value nested
# deeper is reported as its JSON text instead (a string)
REPORT_DEPTH = 200


def report_value(v: Any) -> Any:
    """A record's value as the report holds it: JSON data. A huge number becomes its
    text (a double cannot hold it), wherever it stands in the value; a value nested
    deeper than REPORT_DEPTH levels becomes its JSON text (`data_text`)."""
    c = v.__class__
    if c is HugeNumber:
        return v.text
    if c is list or c is dict:
        huge, deep = _scan(v)
        if deep:
            return data_text(v)
        if huge:
            return _plain(v)
    return v


def _scan(v: Any) -> tuple[bool, bool]:
    """(holds a huge number, nests deeper than REPORT_DEPTH)."""
    huge = False
    stack = [(v, 1)]
    while stack:
        x, depth = stack.pop()
        c = x.__class__
        if c is HugeNumber:
            huge = True
        elif c is list or c is dict:
            if depth > REPORT_DEPTH:
                return huge, True
            stack.extend((y, depth + 1) for y in (x if c is list else x.values()))
    return huge, False


def _plain(v: Any) -> Any:
    """`v` with each huge number as its text (iterative: values nest deep)."""
    if v.__class__ is HugeNumber:
        return v.text
    root: list[Any] = [v]
    todo: list[tuple[Any, Any, Any]] = [(root, 0, v)]  # (container, key, value to copy into it)
    while todo:
        into, key, x = todo.pop()
        c = x.__class__
        if c is HugeNumber:
            into[key] = x.text
        elif c is list:
            copy: Any = list(x)
            into[key] = copy
            todo.extend((copy, i, y) for i, y in enumerate(x) if y.__class__ in (list, dict, HugeNumber))
        elif c is dict:
            copy = dict(x)
            into[key] = copy
            todo.extend((copy, k, y) for k, y in x.items() if y.__class__ in (list, dict, HugeNumber))
    return root[0]


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

