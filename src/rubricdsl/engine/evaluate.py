"""A reference interpreter over the IR: slow and obvious, written from the language
brief rather than from the compiler. Tests run it against the compiled checker on
random records; any difference is a bug in one of them.

`evaluate(rubric, record)` returns the same compact finding tuples as the compiled
function (see `findings.Code`), in the same order. With `each`, `evaluate(rubric,
record, judgment)` checks one judgment of the record, as the compiled `check(rec,
jud)` does, and returns `SKIP` for a judgment `skip when` leaves out.
"""
from __future__ import annotations

from typing import Any

from rubricdsl.core.paths import Several, follow
from rubricdsl.core.regex import compile_regex
from rubricdsl.core.values import MISSING
from rubricdsl.engine.findings import Code
from rubricdsl.language import ir

_UNICODE_SPACE = {"\t", "\n", "\x0b", "\x0c", "\r", " ", "\x85", "\xa0", "\u1680", "\u2028", "\u2029", "\u202f",
                  "\u205f", "\u3000", *(chr(c) for c in range(0x2000, 0x200B))}


def _words(t: str) -> int:
    n, inword = 0, False
    for ch in t:
        if ch in _UNICODE_SPACE:
            inword = False
        elif not inword:
            inword = True
            n += 1
    return n


def _valid(f: ir.FieldIR, v: Any) -> tuple[bool, Any]:
    """(valid, normalised value) of a present value."""
    t = f.type
    k = t.kind
    if k == "bool":
        return isinstance(v, bool), v
    if k in ("int", "scale"):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return False, v
        if isinstance(v, float):
            if not v.is_integer():
                return False, v
            v = int(v)
        if t.lo is not None and not (t.lo <= v <= t.hi):
            return False, v
        return True, v
    if k == "number":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return False, v
        if t.lo is not None and not (t.lo <= v <= t.hi):
            return False, v
        return True, v
    if k == "text":
        return isinstance(v, str), v
    assert t.enum is not None
    if k == "enum":
        return isinstance(v, str) and v in t.enum.values, v
    if not isinstance(v, list):
        return False, v
    if not all(isinstance(x, str) and x in t.enum.values for x in v):
        return False, v
    if len(set(v)) != len(v):
        return False, v
    return True, frozenset(v)


class Env:
    """The values of one record as the reference interpreter reads them: each field's
    value, the invalid fields, and the lets, computed on demand."""

    def __init__(self, rubric: ir.RubricIR, record: dict, judgment: Any = None) -> None:
        self.values: dict[str, Any] = {}
        self.invalid: set[str] = set()
        self.out: list[tuple] = []
        raw: dict[str, Any] = {}
        for f in rubric.fields:
            v = follow(record, f.path, judgment)
            raw[f.name] = v
            if isinstance(v, Several):  # a selector picked several elements
                self.values[f.name] = None
                self.invalid.add(f.name)
                self.out.append((Code.INVALID, f.index, v))
                continue
            if v is None:
                self.values[f.name] = None
                if not f.optional and f.required_when is None:
                    self.invalid.add(f.name)
                    self.out.append((Code.INVALID, f.index, MISSING))
                continue
            ok, norm = _valid(f, v)
            if ok:
                self.values[f.name] = norm
            else:
                self.values[f.name] = None
                self.invalid.add(f.name)
                self.out.append((Code.INVALID, f.index, v))
        # `required when`: judged on the values as read, each condition on its own
        read_invalid = frozenset(self.invalid)
        for f in rubric.fields:
            if f.required_when is not None and raw[f.name] is None and f.name not in self.invalid:
                if not (f.required_when.mentions & read_invalid) and cond(f.required_when, self):
                    self.invalid.add(f.name)
                    self.out.append((Code.INVALID, f.index, MISSING))


def _kids(e: Any) -> tuple:
    """What `e`'s value is computed from: an operator's operands, a let's expression.
    An aggregate is a leaf: the item's view computes it."""
    t = type(e)
    if t is ir.Op:
        return e.args
    if t is ir.LetRef:
        return (e.let.expr,)
    return ()


def value(e: ir.Expr, env: Any) -> Any:
    """The value of an expression, or None when it has none; a condition's value is
    True or False. Computed from the leaves up with a stack of its own, so that no
    depth of nesting or length of a chain meets Python's recursion limit. Expressions
    have no effects and never fail, so computing every operand (no short cut for
    `and` and `or`) gives the same value."""
    done: dict[int, Any] = {}
    stack: list[tuple[Any, bool]] = [(e, False)]
    while stack:
        x, ready = stack.pop()
        if id(x) in done:
            continue
        kids = _kids(x)
        if kids and not ready:
            stack.append((x, True))
            stack.extend((k, False) for k in reversed(kids) if id(k) not in done)
            continue
        done[id(x)] = _one(x, [done[id(k)] for k in kids], env)
    return done[id(e)]


def _truth(e: Any, v: Any) -> bool:
    """A value as a condition: a constant by its truth, a computed condition as it is,
    anything else holds only when it is True."""
    if type(e) is ir.Const:
        return bool(v)
    if type(e) is ir.Op and e.type.kind == "bool":
        return v
    return v is True


def _one(e: Any, args: list[Any], env: Any) -> Any:
    """The value of one node from the values of its operands (`args`)."""
    if isinstance(e, ir.FieldRef):
        return env.values[e.field.name]
    if isinstance(e, ir.LetRef):
        return args[0]
    if isinstance(e, ir.Const):
        return e.value
    if isinstance(e, ir.Agg):
        return env.agg(e)  # an item's aggregate: `env` is an `items.ItemView`
    assert isinstance(e, ir.Op)
    if e.type.kind == "bool":
        return _test(e, args)
    if any(a is None for a in args):
        return None
    if e.op == "len":
        return len(args[0])
    if e.op == "words":
        return _words(args[0])
    if e.op == "count":
        return len(args[0])
    if e.op == "neg":
        return -args[0]
    a, b = args
    if e.op == "+":
        return a + b
    if e.op == "-":
        return a - b
    if e.op == "*":
        return a * b
    if e.op == "/":
        return None if b == 0 else a / b
    raise AssertionError(e.op)


def _rank(e: ir.Expr, v: Any) -> int:
    assert e.type.enum is not None
    return e.type.enum.values.index(v)


def cond(e: ir.Expr, env: Any) -> bool:
    """Whether a condition holds."""
    return _truth(e, value(e, env))


def _test(e: ir.Op, vals: list[Any]) -> bool:
    op = e.op
    if op == "and":
        return _truth(e.args[0], vals[0]) and _truth(e.args[1], vals[1])
    if op == "or":
        return _truth(e.args[0], vals[0]) or _truth(e.args[1], vals[1])
    if op == "not":
        return not _truth(e.args[0], vals[0])
    if op == "truth":
        return vals[0] is True
    if op in ("present", "missing"):
        return (vals[0] is not None) == (op == "present")
    # atomic tests: false when an operand has no value
    if any(v is None for v in vals):
        return False
    if op in ("==", "!=", "<", "<=", ">", ">="):
        a, b = vals
        if e.mode == "rank":
            a, b = _rank(e.args[0], a), _rank(e.args[1], b)
        return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    if op == "in":
        return vals[0] in vals[1]
    if op == "not in":
        return vals[0] not in vals[1]
    if op == "any":
        return bool(set(vals[0]) & set(vals[1]))
    if op == "all":
        return set(vals[1]) <= set(vals[0])
    if op == "none":
        return not (set(vals[0]) & set(vals[1]))
    if op == "empty":
        return len(vals[0]) == 0
    if op == "not empty":
        return len(vals[0]) != 0
    if op == "contains":
        return vals[1] in vals[0]
    if op == "matches":
        assert e.regex is not None
        return compile_regex(e.regex).search(vals[0]) is not None
    raise AssertionError(op)


SKIP = "SKIP"  # what `evaluate` returns for a judgment `skip when` leaves out


def evaluate(rubric: ir.RubricIR, record: dict, judgment: Any = None) -> Any:
    env = Env(rubric, record, judgment)
    skip = rubric.record_skip
    if skip is not None and not (skip.mentions & env.invalid) and cond(skip, env):
        return SKIP
    applies: dict[str | None, bool] = {None: True}
    for c in rubric.criteria:
        applies[c.name] = c.applies is None or (not (c.applies.mentions & env.invalid) and cond(c.applies, env))
    checks: list[tuple[int, str, Any]] = [(d.span.start, "d", d) for d in rubric.decides]
    checks += [(r.span.start, "r", r) for r in rubric.rules]
    checks += [(x.span.start, "e", x) for x in rubric.escalations]
    for _, kind, obj in sorted(checks, key=lambda t: t[0]):
        if obj.mentions & env.invalid or not applies[obj.criterion]:
            continue
        if kind == "r":
            if (obj.when is None or cond(obj.when, env)) and not cond(obj.require, env):
                env.out.append((Code.RULE_VIOLATION, obj.index))
        elif kind == "e":
            if cond(obj.when, env):
                env.out.append((Code.ESCALATION, obj.index))
        else:
            _decide(obj, env)
    return env.out


def _decide(d: ir.DecideIR, env: Env) -> None:
    v = env.values[d.label.name]
    if v is None:
        return  # a missing optional label: skipped
    edges = [a for a in d.arms if a.kind == "edge" and cond(a.cond, env)]
    plain = [a for a in d.arms if a.kind == "when" and cond(a.cond, env)]
    other = [a for a in d.arms if a.kind == "otherwise"]
    counting = edges or plain or other
    if d.first and counting:
        counting = counting[:1]
    if not counting:
        env.out.append((Code.UNCOVERED, d.index))
        return
    arms = tuple(a.number for a in counting)
    sets = {a.allowed for a in counting}
    if len(sets) > 1:
        env.out.append((Code.AMBIGUOUS, d.index, arms))
        if not any(v in a.allowed for a in counting):
            env.out.append((Code.DECIDE_VIOLATION, d.index, arms))
    elif v not in counting[0].allowed:
        env.out.append((Code.DECIDE_VIOLATION, d.index, arms))
