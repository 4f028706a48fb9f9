"""JSON paths in records: reading a field's value (`follow`) and placing one (`put`,
for examples and witnesses). A path is a tuple of keys and indexes, as the IR holds it."""
from __future__ import annotations

from typing import Any


def follow(rec: Any, path: tuple[str | int, ...]) -> Any:
    """The value at `path`, or None when the path cannot be followed (a non-object on
    the way, an index out of range)."""
    cur = rec
    for step in path:
        if isinstance(step, int):
            if type(cur) is list and len(cur) > step:
                cur = cur[step]
            else:
                return None
        elif type(cur) is dict:
            cur = cur.get(step)
        else:
            return None
    return cur


def put(record: dict[str, Any], path: tuple[str | int, ...], value: Any) -> bool:
    """Place `value` at `path` in a JSON record, creating objects and arrays on the way.

    Returns False (placing nothing) when the record already holds something else on the
    way: an object where the path indexes an array, a value where it needs a container,
    or a container where it needs to place a value."""
    cur: Any = record
    for i, step in enumerate(path):
        last = i == len(path) - 1
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
            cur[step] = [] if isinstance(path[i + 1], int) else {}
        elif not isinstance(held, (dict, list)):
            return False
        cur = cur[step]
    return True
