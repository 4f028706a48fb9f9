"""JSON paths in records: reading a field's value (`follow`) and placing one (`put`,
for examples and witnesses). A path is a tuple of steps, as the IR holds it: keys
(str), indexes (int) and selectors (`Select`), optionally led by `AT` (the path starts
at the judgment, not at the record's root)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class _At:
    """The first step of a path that starts at the judgment (`@` in a rubric)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "AT"

    def __reduce__(self) -> str:
        return "AT"


AT = _At()


@dataclass(frozen=True, slots=True)
class Select:
    """A selector step `[KEY = "VALUE"]`: of the list there, the one element that is an
    object whose KEY holds exactly the string VALUE. `name` is the list's key (for
    messages)."""

    key: str
    value: str
    name: str = ""

    def text(self) -> str:
        return f"[{_quoted_key(self.key)} = {_json_string(self.value)}]"


@dataclass(frozen=True, slots=True)
class Several:
    """What a selector finds when several elements match: the field is invalid."""

    count: int
    select: Select

    def message(self) -> str:
        s = self.select
        return f"{self.count} elements of `{s.name}` have `{s.key}` = {_json_string(s.value)}"


def _json_string(s: str) -> str:
    import json  # noqa: PLC0415

    return json.dumps(s, ensure_ascii=False)


def _quoted_key(k: str) -> str:
    return k if k.isidentifier() and k.isascii() else _json_string(k)


def path_text(path: tuple) -> str:
    """A path as a rubric writes it: `@result[from_name = "toxic"].value.choices[0]`."""
    out = ""
    for step in path:
        if step is AT:
            out += "@"
        elif isinstance(step, Select):
            out += step.text()
        elif isinstance(step, int):
            out += f"[{step}]"
        else:
            out += ("" if out in ("", "@") else ".") + _quoted_key(step)
    return out


def select(lst: Any, key: str, value: str, sel: Select) -> Any:
    """The element of `lst` a selector picks: the one object whose `key` holds `value`;
    None when there is none (or `lst` is no list); `Several` when there are more."""
    if lst.__class__ is not list:
        return None
    found = None
    n = 0
    for el in lst:
        if el.__class__ is dict and el.get(key) == value:  # `value` is a str: so is what equals it
            n += 1
            found = el
    if n > 1:
        return Several(n, sel)
    return found


def at_judgment(path: tuple) -> bool:
    """Whether a path starts at the judgment (`@`)."""
    return bool(path) and path[0] is AT


def follow(rec: Any, path: tuple, judgment: Any = None) -> Any:
    """The value at `path`, or None when the path cannot be followed (a non-object on
    the way, an index out of range, no element a selector picks); a `Several` when a
    selector on the way picks more than one element. A path led by `AT` starts at
    `judgment`."""
    cur = rec
    for step in path:
        if step is AT:
            cur = judgment
        elif step.__class__ is Select:
            cur = select(cur, step.key, step.value, step)
            if cur.__class__ is Several:
                return cur
        elif isinstance(step, int):
            if type(cur) is list and len(cur) > step:
                cur = cur[step]
            else:
                return None
        elif type(cur) is dict:
            cur = cur.get(step)
        else:
            return None
    return cur


def put(record: dict[str, Any], path: tuple, value: Any, each: tuple | None = None) -> bool:
    """Place `value` at `path` in a JSON record, creating objects and arrays on the way;
    a path led by `AT` goes into the record's one judgment, the first element of the list
    at `each` (created when absent).

    Returns False (placing nothing) when the record already holds something else on the
    way: an object where the path indexes an array, a value where it needs a container,
    or a container where it needs to place a value."""
    cur: Any = record
    if path and path[0] is AT:
        path = path[1:]
        if each is not None:
            cur = judgment_of(record, each)
            if cur is None:
                return False
    for i, step in enumerate(path):
        last = i == len(path) - 1
        if step.__class__ is Select:
            # the one element the selector picks: found, or added to the list
            if not isinstance(cur, list):
                return False
            picked = [el for el in cur if isinstance(el, dict) and el.get(step.key) == step.value]
            if len(picked) > 1 or last:
                return False
            if picked:
                cur = picked[0]
            else:
                cur.append({step.key: step.value})
                cur = cur[-1]
            continue
        if not isinstance(cur, list if isinstance(step, int) else dict):
            return False
        if isinstance(step, int):
            while len(cur) <= step:
                cur.append(None)
            held = cur[step]
        else:
            held = cur.get(step)
        if last:
            if isinstance(held, (dict, list)):
                return False
            cur[step] = value
            return True
        if held is None:
            cur[step] = [] if isinstance(path[i + 1], (int, Select)) else {}
        elif not isinstance(held, (dict, list)):
            return False
        cur = cur[step]
    return True


def judgment_of(record: dict[str, Any], each: tuple) -> dict[str, Any] | None:
    """The record's first judgment, the first element of the list at `each`, created
    (with the list) when absent; None when the record holds something else there."""
    judgments = follow(record, each)
    if judgments is None:
        if not put(record, each, None):
            return None
        holder = follow(record, each[:-1]) if len(each) > 1 else record
        judgments = holder[each[-1]] = []
    if not isinstance(judgments, list):
        return None
    if not judgments:
        judgments.append({})
    return judgments[0] if isinstance(judgments[0], dict) else None
