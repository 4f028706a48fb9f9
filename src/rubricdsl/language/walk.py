"""The one walker of IR expressions.

An expression is a tree: an `Op` has its arguments as children, an aggregate
(`Agg`) the condition of `share(...)`; a field, a `let` reference and a constant
are leaves. A `let` reference is a leaf too, but a pass that reads through lets
(`lets=True`) also enters the let's expression, once per let in one walk.

Every pass that collects or searches (the names an expression reads, its
aggregates, the operands of an `and` chain) goes through `walk` or a `Visitor`;
passes that translate an expression into something else (code, a solver term,
words) keep their own dispatch and may use `children` and `fold`. All of them
are iterative, with an explicit stack: an operand chain of thousands of `and`s,
or a condition nested hundreds of levels deep, never meets Python's recursion
limit here.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, TypeVar

from rubricdsl.language import ir

R = TypeVar("R")


def children(e: Any) -> tuple[Any, ...]:
    """The direct sub-expressions of `e`, in the order written. A `let` reference has
    none: its let's expression is entered only by a walk through lets."""
    t = type(e)
    if t is ir.Op:
        return e.args
    if t is ir.Agg and e.expr is not None:
        return (e.expr,)
    return ()


def walk(*roots: Any, lets: bool = False) -> Iterator[Any]:
    """Every node of the given expressions, depth first and left to right, each node
    before its children (pre-order). `None` roots (an absent `when`, `applies when`,
    `required when`) are skipped. With `lets`, a `let` reference is followed by its
    let's expression, the first time that let is met in this walk."""
    stack: list[Any] = [r for r in reversed(roots) if r is not None]
    seen: set[int] = set()
    while stack:
        e = stack.pop()
        yield e
        t = type(e)
        if t is ir.Op:
            stack.extend(reversed(e.args))
        elif t is ir.Agg:
            if e.expr is not None:
                stack.append(e.expr)
        elif lets and t is ir.LetRef and id(e.let) not in seen:
            seen.add(id(e.let))
            stack.append(e.let.expr)


class Visitor:
    """A collecting or searching pass: `visit(*roots)` calls `visit_<Node>(node)`
    (`visit_FieldRef`, `visit_LetRef`, `visit_Const`, `visit_Op`, `visit_Agg`) on
    every node in `walk` order, and `generic_visit` on a node without a method of its
    own. A method that returns False stops the walk from entering that node's
    children. `through_lets` makes the pass read through `let`s, as `walk(lets=True)`."""

    through_lets = False

    def generic_visit(self, e: Any) -> Any:
        return None

    def visit(self, *roots: Any) -> None:
        methods: dict[type, Callable[[Any], Any] | None] = {}
        generic = None if type(self).generic_visit is Visitor.generic_visit else self.generic_visit
        stack: list[Any] = [r for r in reversed(roots) if r is not None]
        seen: set[int] = set()
        lets = self.through_lets
        Op, Agg, LetRef = ir.Op, ir.Agg, ir.LetRef
        pop, push, extend = stack.pop, stack.append, stack.extend
        while stack:
            e = pop()
            t = type(e)
            m = methods.get(t, _UNKNOWN)
            if m is _UNKNOWN:
                m = methods[t] = getattr(self, "visit_" + t.__name__, generic)
            if m is not None and m(e) is False:
                continue
            if t is Op:
                args = e.args
                if len(args) == 2:
                    push(args[1])
                    push(args[0])
                else:
                    extend(reversed(args))
            elif t is Agg:
                if e.expr is not None:
                    push(e.expr)
            elif lets and t is LetRef and id(e.let) not in seen:
                seen.add(id(e.let))
                push(e.let.expr)


_UNKNOWN = object()


def operands(e: Any, op: str) -> list[Any]:
    """The operands of a chain of one operator (`a and b and c`, however it nests), left
    to right: the arguments of `e`, with each argument that is the same operator
    replaced by its own operands."""
    if not (type(e) is ir.Op and e.op == op):
        return [e]
    out: list[Any] = []
    stack: list[Any] = list(reversed(e.args))
    while stack:
        x = stack.pop()
        if type(x) is ir.Op and x.op == op:
            stack.extend(reversed(x.args))
        else:
            out.append(x)
    return out


def fold(e: Any, combine: Callable[[Any, list[R]], R]) -> R:
    """`combine(node, [results of its children])` from the leaves up, iteratively; the
    result at `e`. Children are those of `children` (a `let` reference is a leaf)."""
    done: list[R] = []  # results of finished nodes, in order
    stack: list[tuple[Any, bool]] = [(e, False)]
    while stack:
        x, expanded = stack.pop()
        kids = children(x)
        if expanded or not kids:
            n = len(kids)
            args = done[len(done) - n:] if n else []
            if n:
                del done[len(done) - n:]
            done.append(combine(x, args))
        else:
            stack.append((x, True))
            stack.extend((k, False) for k in reversed(kids))
    return done[0]


def conditions(rubric: ir.RubricIR) -> Iterator[Any]:
    """Every condition of a rubric that stands in its checks: `required when`, `applies
    when`, the arms' conditions, and the `when` and `require` of rules and escalations,
    per record and per item (absent ones are None), and the `record` block's `skip when`
    when there is one. `let`s are not among them: they count where they are read."""
    for f in rubric.fields:
        yield f.required_when
    for c in rubric.criteria:
        yield c.applies
    for d in rubric.decides:
        for a in d.arms:
            yield a.cond
    for r in rubric.rules + rubric.item_rules:
        yield r.when
        yield r.require
    for e in rubric.escalations + rubric.item_escalations:
        yield e.when
    if rubric.record_skip is not None:
        yield rubric.record_skip


# ---- what an expression reads ------------------------------------------------------------


def fields_read(*exprs: Any) -> frozenset[str]:
    """The fields the expressions read, through `let`s and aggregates (the label of
    `majority(L)`, the fields of a `share(...)` condition)."""
    out: set[str] = set()
    for e in walk(*exprs, lets=True):
        t = type(e)
        if t is ir.FieldRef:
            out.add(e.field.name)
        elif t is ir.Agg:
            out.update(e.reads)
    return frozenset(out)


def names_read(*exprs: Any) -> set[str]:
    """The fields and `let`s the expressions read, through `let`s and aggregates."""
    out: set[str] = set()
    for e in walk(*exprs, lets=True):
        t = type(e)
        if t is ir.FieldRef:
            out.add(e.field.name)
        elif t is ir.LetRef:
            out.add(e.let.name)
        elif t is ir.Agg:
            out.update(e.reads)
    return out


def aggregates(*exprs: Any) -> list[Any]:
    """The aggregates of the expressions (`per item` conditions), in walk order."""
    return [e for e in walk(*exprs) if type(e) is ir.Agg]
