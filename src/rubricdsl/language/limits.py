"""The limits of the language, and the recursion the passes after the parser may use.

The parser refuses an expression nested more than `MAX_NESTING` levels deep (RB009):
each pair of parentheses (grouping or a call's), each `not` and each unary `-` opens a
level. A chain of operands of one operator (`a and b and c ...`, `x + y - z ...`) is
one level however long it is, and every pass handles chains iteratively; only nesting
is handled by recursion, so the depth of that recursion is bounded by the limit.
`nesting_recursion()` lets Python recurse that deep while a pass runs.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

MAX_NESTING = 1000

# Python frames a recursive pass may take per level of nesting: between two levels an
# expression may hold an `or`, an `and`, a comparison, a sum and a product, each a
# few calls of the type checker or the formatter deep.
FRAMES_PER_LEVEL = 40
_HEADROOM = 2000


@contextmanager
def nesting_recursion() -> Iterator[None]:
    """Python's recursion limit raised (never lowered) to what `MAX_NESTING` levels
    need, for the duration of a pass; the limit before it is put back after, unless
    someone changed it meanwhile. Since Python 3.11 a call between Python functions
    takes no C stack, so the raised limit is safe."""
    old = sys.getrecursionlimit()
    want = MAX_NESTING * FRAMES_PER_LEVEL + _HEADROOM
    if old >= want:
        yield
        return
    sys.setrecursionlimit(want)
    try:
        yield
    finally:
        if sys.getrecursionlimit() == want:
            sys.setrecursionlimit(old)


__all__ = ["MAX_NESTING", "FRAMES_PER_LEVEL", "nesting_recursion"]
