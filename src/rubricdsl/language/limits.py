"""The limits of the language, and the recursion the passes after the parser may use.

The parser refuses an expression nested more than `MAX_NESTING` levels deep (RB009):
each pair of parentheses (grouping or a call's), each `not` and each unary `-` opens a
level. A chain of operands of one operator (`a and b and c ...`, `x + y - z ...`) is
one level however long it is, and every pass handles chains iteratively; only nesting
is handled by recursion, so the depth of that recursion is bounded by the limit.
`nesting_recursion()` lets Python recurse that deep while a pass runs.

`collector_paused()` keeps Python's cycle collector from running while a pass builds a
large tree: the parser and the checker make hundreds of thousands of objects and no
cycles, and each collection would walk every object made so far.
"""
from __future__ import annotations

import gc
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


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for the duration of a pass, and back on after it,
    unless it was off before (then it stays off). When the pass made many objects, the
    young generations are collected once at the end (the objects made before the pass
    are not walked): what the pass made then joins the old generation in one walk, not
    in the several walks the collector would otherwise make over it later."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        if gc.get_count()[0] > _MANY:
            gc.collect(1)


# objects made during a paused pass beyond which it collects them when it ends (a
# small pass leaves them to the collector's usual run)
_MANY = 50_000


__all__ = ["MAX_NESTING", "FRAMES_PER_LEVEL", "nesting_recursion", "collector_paused"]
