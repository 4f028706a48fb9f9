"""IR -> a compiled validator: one generated Python function per rubric.

The function takes a parsed record (a dict) and returns a list of compact
finding tuples (None when there is none); `runtime` turns them into findings. Generating source
keeps the per-record path as close to a hand-written loop as Python allows.
Every constant reaches the generated code through its namespace or `repr()`
of a str/int/float/bool, never by pasting user text into code.

Finding tuples:
    (INVALID, field_index, raw_value_or_MISSING)
    (UNCOVERED, decide_index)
    (AMBIGUOUS, decide_index, arm_numbers)
    (DECIDE_VIOLATION, decide_index, arm_numbers)
    (RULE_VIOLATION, rule_index)
    (ESCALATION, escalation_index)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from rubricdsl.language import ir
from rubricdsl.language.walk import aggregates
from rubricdsl.core.regex import regex_matcher
from rubricdsl.core.values import MISSING



INVALID, UNCOVERED, AMBIGUOUS, DECIDE_VIOLATION, RULE_VIOLATION, ESCALATION = range(6)


_EMPTY: dict = {}


def _toset(v: list, allowed: frozenset) -> frozenset | None:
    try:
        s = frozenset(v)
    except TypeError:
        return None
    if len(s) != len(v) or not s <= allowed:
        return None
    return s


def _len(v):
    return None if v is None else len(v)


_NOT_SPACE = str.maketrans({c: "x" for c in "\x1c\x1d\x1e\x1f"})


def words(t: str) -> int:
    """Runs of non-whitespace. str.split() also splits at U+001C..U+001F, which are
    not Unicode White_Space: map them to a letter first when they occur."""
    if t and min(t) <= "\x1f" and any("\x1c" <= ch <= "\x1f" for ch in t):
        t = t.translate(_NOT_SPACE)
    return len(t.split())


def _words(v):
    return None if v is None else words(v)


def _add(a, b):
    return None if a is None or b is None else a + b


def _sub(a, b):
    return None if a is None or b is None else a - b


def _mul(a, b):
    return None if a is None or b is None else a * b


def _div(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def _neg(a):
    return None if a is None else -a


@dataclass
class RowPlan:
    """What `check_row` returns for each record besides its findings: the values of
    `fields` (None when missing or invalid), the arms each of `decides` counted as a
    bitmask (bit N = arm N; 0 = uncovered; None = the decide did not run) and each
    `shares` condition (None when it mentions an invalid field)."""

    fields: list[ir.FieldIR]
    decides: list[ir.DecideIR]
    shares: list[ir.Agg]


@dataclass
class Compiled:
    rubric: ir.RubricIR
    check: Callable[[dict], list]
    source: str
    # check_row(rec) -> (findings, row): the same findings as `check`, and the row
    # that `plan` describes; None when there is no plan
    check_row: Callable[[dict], tuple] | None = None
    plan: RowPlan | None = None
    # with all_decides: check_count(rec) gives `check`'s findings and counts each decide's
    # arm bitmasks into counters[decide index] (bitmask -> records; 0 = uncovered)
    check_count: Callable[[dict], list] | None = None
    counters: list[dict[int, int]] | None = None


class _Gen:
    def __init__(self, rubric: ir.RubricIR) -> None:
        self.r = rubric
        self.ns: dict[str, Any] = {
            "MISSING": MISSING, "EMPTY": _EMPTY, "EMPTYSET": frozenset(), "_toset": _toset, "_len": _len, "_words": _words,
            "_wordsx": words, "_add": _add, "_sub": _sub, "_mul": _mul, "_div": _div, "_neg": _neg, "_multi": _multi, "_o": _o,
        }
        self.lines: list[str] = []
        self.n = 0
        self.bit = {f.name: 1 << f.index for f in rubric.fields}
        self.fields = {f.name: f for f in rubric.fields}
        self.aggs: dict[int, str] = {}
        self.base = 0  # extra indentation of emitted lines
        self.track: set[int] = set()
        self.count = False

    def const(self, value: Any, prefix: str = "K") -> str:
        if isinstance(value, (bool, int, str)) or (isinstance(value, float) and value == value and abs(value) != float("inf")):
            return repr(value)
        self.n += 1
        name = f"{prefix}{self.n}"
        self.ns[name] = value
        return name

    def tmp(self) -> str:
        self.n += 1
        return f"_t{self.n}"

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * (indent + self.base) + line)

    def mask(self, names) -> int:
        m = 0
        for n in names:
            m |= self.bit.get(n, 0)
        return m

    # ---- fields --------------------------------------------------------------------

    def fields_code(self) -> None:
        # shared prefixes: one variable per distinct path prefix
        prefix_var: dict[tuple, str] = {(): "rec"}
        children_kind: dict[tuple, set[str]] = {}
        for f in self.r.fields:
            for i in range(len(f.path)):
                pre = f.path[:i]
                children_kind.setdefault(pre, set()).add("index" if isinstance(f.path[i], int) else "key")
        normalized: set[tuple] = {()}

        def value_of(parent: tuple, step) -> str:
            pv = prefix_var[parent]
            if isinstance(step, int):
                return f"({pv}[{step}] if {pv}.__class__ is list and len({pv}) > {step} else None)"
            if parent in normalized:
                return f"{pv}.get({step!r})"
            return f"({pv}.get({step!r}) if {pv}.__class__ is dict else None)"

        def ensure(pre: tuple) -> None:
            if pre in prefix_var:
                return
            ensure(pre[:-1])
            var = f"_p{len(prefix_var)}"
            self.emit(1, f"{var} = {value_of(pre[:-1], pre[-1])}")
            kinds = children_kind.get(pre, set())
            if kinds == {"key"}:
                self.emit(1, f"if {var}.__class__ is not dict: {var} = EMPTY")
                normalized.add(pre)
            prefix_var[pre] = var

        for f in self.r.fields:
            ensure(f.path[:-1])
            v = f"f{f.index}"
            self.emit(1, f"{v} = {value_of(f.path[:-1], f.path[-1])}")
            self.validate(f, v)

    def validate(self, f: ir.FieldIR, v: str) -> None:
        t = f.type
        bit = 1 << f.index
        i = f.index
        if f.optional or f.required_when is not None:
            on_missing = "pass"
        else:
            on_missing = f"bad |= {bit}; out = _o(out, (0, {i}, MISSING))"
        on_bad = f"bad |= {bit}; out = _o(out, (0, {i}, {v})); {v} = None"
        k = t.kind
        rng = ""
        if k in ("int", "scale", "number") and t.lo is not None:
            rng = f" and {t.lo!r} <= {v} <= {t.hi!r}"
        if k == "bool":
            self.emit(1, f"if {v} is True or {v} is False: pass")
        elif k in ("int", "scale"):
            self.emit(1, f"if {v}.__class__ is int{rng}: pass")
            frng = f" and {t.lo!r} <= {v} <= {t.hi!r}" if t.lo is not None else ""
            self.emit(1, f"elif {v}.__class__ is float and {v}.is_integer(){frng}: {v} = int({v})")
        elif k == "number":
            self.emit(1, f"if ({v}.__class__ is int or {v}.__class__ is float){rng}: pass")
        elif k == "text":
            self.emit(1, f"if {v}.__class__ is str: pass")
        elif k == "enum":
            assert t.enum is not None
            if t.enum.ordered:
                ranks = self.const({val: n for n, val in enumerate(t.enum.values)}, "R")
                self.emit(1, f"r{i} = {ranks}.get({v}) if {v}.__class__ is str else None")
                self.emit(1, f"if r{i} is not None: pass")
            else:
                vals = self.const(frozenset(t.enum.values), "E")
                self.emit(1, f"if {v}.__class__ is str and {v} in {vals}: pass")
        elif k == "set":
            assert t.enum is not None
            vals = self.const(frozenset(t.enum.values), "E")
            self.emit(1, f"if {v}.__class__ is list and (_s := (EMPTYSET if not {v} else _toset({v}, {vals}))) is not None: {v} = _s")
        self.emit(1, f"elif {v} is None: {on_missing}")
        self.emit(1, f"else: {on_bad}")

    # ---- expressions -------------------------------------------------------------------

    def val(self, e: ir.Expr, rank: bool = False) -> tuple[str, bool]:
        """Code for a value, and whether it may be None (missing / no value)."""
        if isinstance(e, ir.Agg):
            var = self.aggs[id(e)]  # an item aggregate, computed into a local first
            if rank:
                assert e.type.enum is not None
                ranks = self.const({v: n for n, v in enumerate(e.type.enum.values)}, "R")
                return f"{ranks}.get({var})", True
            return var, True
        if isinstance(e, ir.FieldRef):
            f = e.field
            var = f"r{f.index}" if rank else f"f{f.index}"
            return var, f.may_be_missing
        if isinstance(e, ir.LetRef):
            code, maybe = self.val(e.let.expr, rank)
            return code, maybe
        if isinstance(e, ir.Const):
            if rank:
                assert e.type.enum is not None
                return repr(e.type.enum.rank(e.value)), False
            return self.const(e.value), False
        assert isinstance(e, ir.Op)
        if e.type.kind == "bool":
            return self.cond(e), False
        op = e.op
        if op in ("len", "count", "words"):
            a, am = self.val(e.args[0])
            if op == "words":
                return (f"_words({a})", True) if am else (f"_wordsx({a})", False)
            return (f"_len({a})", True) if am else (f"len({a})", False)
        if op == "neg":
            a, am = self.val(e.args[0])
            return (f"_neg({a})", True) if am else (f"(-{a})", False)
        if op in ("+", "-", "*", "/"):
            a, am = self.val(e.args[0])
            b, bm = self.val(e.args[1])
            if op == "/":
                return f"_div({a}, {b})", True
            if am or bm:
                helper = {"+": "_add", "-": "_sub", "*": "_mul"}[op]
                return f"{helper}({a}, {b})", True
            return f"({a} {op} {b})", False
        raise AssertionError(op)

    def guard(self, code: str, maybe: bool, guards: list[str]) -> str:
        """Make `code` safe to use after the guards: add `is not None` tests."""
        if not maybe:
            return code
        if code.isidentifier():
            guards.append(f"{code} is not None")
            return code
        t = self.tmp()
        guards.append(f"({t} := {code}) is not None")
        return t

    def cond(self, e: ir.Expr) -> str:
        if isinstance(e, ir.LetRef):
            return self.cond(e.let.expr)
        if isinstance(e, ir.Const):
            return repr(bool(e.value))
        if isinstance(e, ir.FieldRef):
            return f"(f{e.field.index} is True)"
        assert isinstance(e, ir.Op)
        op = e.op
        if op == "and":
            return f"({self.cond(e.args[0])} and {self.cond(e.args[1])})"
        if op == "or":
            return f"({self.cond(e.args[0])} or {self.cond(e.args[1])})"
        if op == "not":
            return f"(not {self.cond(e.args[0])})"
        if op == "truth":
            inner = e.args[0]
            while isinstance(inner, ir.LetRef):
                inner = inner.let.expr
            if isinstance(inner, ir.Op):
                return self.cond(inner)
            a, am = self.val(e.args[0])
            return f"({a} is True)"
        if op in ("present", "missing") and isinstance(e.args[0], ir.Agg):
            return f"({self.aggs[id(e.args[0])]} is {'not ' if op == 'present' else ''}None)"
        if op in ("present", "missing"):
            f = e.args[0].field
            return f"(f{f.index} is {'not ' if op == 'present' else ''}None)"
        guards: list[str] = []
        if op in ("==", "!=", "<", "<=", ">", ">="):
            rank = e.mode == "rank"
            a = self.guard(*self.val(e.args[0], rank), guards)
            b = self.guard(*self.val(e.args[1], rank), guards)
            test = f"{a} {op} {b}"
        elif op in ("in", "not in"):
            a, am = self.val(e.args[0])
            b, bm = self.val(e.args[1])
            if op == "in" and not bm:
                test = f"{a} in {b}"  # None is never a member
            else:
                a = self.guard(a, am, guards)
                b = self.guard(b, bm, guards)
                test = f"{a} {op} {b}"
        elif op in ("any", "all", "none"):
            a = self.guard(*self.val(e.args[0]), guards)
            b = self.guard(*self.val(e.args[1]), guards)
            test = {"any": f"not {a}.isdisjoint({b})", "all": f"{b} <= {a}", "none": f"{a}.isdisjoint({b})"}[op]
        elif op in ("empty", "not empty"):
            a = self.guard(*self.val(e.args[0]), guards)
            test = f"len({a}) {'==' if op == 'empty' else '!='} 0"
        elif op == "contains":
            a = self.guard(*self.val(e.args[0]), guards)
            b = self.guard(*self.val(e.args[1]), guards)
            test = f"{b} in {a}"
        elif op == "matches":
            assert e.regex is not None
            a = self.guard(*self.val(e.args[0]), guards)
            rx = self.const(regex_matcher(e.regex), "RX")
            test = f"{rx}({a})"
        else:
            raise AssertionError(op)
        return "(" + " and ".join(guards + [test]) + ")"

    # ---- checks --------------------------------------------------------------------------

    def generate(self, plan: RowPlan | None = None, count: bool = False) -> str:
        """The checker's source: `check(rec)`; with `plan`, `check_row(rec)`; with `count`,
        `check_count(rec)`, which also counts, per decide, the records per arm bitmask
        in the dicts CNT0, CNT1, ... of its namespace."""
        self.track = {d.index for d in plan.decides} if plan else set()
        self.count = count
        if count:
            for d in self.r.decides:
                self.ns[f"CNT{d.index}"] = {}
        self.emit(0, "def check_row(rec):" if plan else "def check_count(rec):" if count else "def check(rec):")
        self.emit(1, "out = None  # a list only once there is a finding: no allocation per clean record")
        self.emit(1, "bad = 0")
        for i in sorted(self.track):
            self.emit(1, f"d{i} = None")
        self.fields_code()
        # `required when` is judged on the values as read: a condition that mentions a field
        # invalid by its value (or missing where always required) requires nothing, and
        # what the other conditions require does not count (so the order of the fields
        # does not matter, and two fields may each be required when the other is missing)
        conditional = [f for f in self.r.fields if f.required_when is not None]
        if len(conditional) > 1:
            self.emit(1, "read_bad = bad")
        for f in conditional:
            assert f.required_when is not None
            m = self.mask(f.required_when.mentions) | (1 << f.index)
            b = "read_bad" if len(conditional) > 1 else "bad"
            self.emit(1, f"if f{f.index} is None and not {b} & {m} and {self.cond(f.required_when)}:")
            self.emit(2, f"bad |= {1 << f.index}; out = _o(out, (0, {f.index}, MISSING))")
        # Most records have no invalid field: their checks skip the invalid-field masks.
        self.emit(1, "if not bad:")
        self.base = 1
        self.checks_code(masked=False)
        self.base = 0
        self.emit(1, "else:")
        self.base = 1
        self.checks_code(masked=True)
        self.base = 0
        if plan is None:
            self.emit(1, "return out")
            return "\n".join(self.lines) + "\n"
        row = [f"f{f.index}" for f in plan.fields] + [f"d{d.index}" for d in plan.decides]
        for k, agg in enumerate(plan.shares):
            assert agg.expr is not None
            m = self.mask(agg.expr.mentions)
            test = self.cond(agg.expr)
            self.emit(1, f"s{k} = None if bad & {m} else {test}" if m else f"s{k} = {test}")
            row.append(f"s{k}")
        self.emit(1, f"return out, ({', '.join(row)}{',' if len(row) == 1 else ''})")
        return "\n".join(self.lines) + "\n"

    def checks_code(self, masked: bool) -> None:
        """Criteria scopes, then decisions, rules and escalations in source order. With
        `masked`, each one is skipped when it mentions an invalid field (bits of `bad`)."""
        applies_var: dict[str, str] = {}
        for c in self.r.criteria:
            if c.applies is not None:
                var = f"a_{len(applies_var)}"
                applies_var[c.name] = var
                m = self.mask(c.applies.mentions)
                if masked and m:
                    self.emit(1, f"{var} = (not bad & {m}) and {self.cond(c.applies)}")
                else:
                    self.emit(1, f"{var} = {self.cond(c.applies)}")
        checks: list[tuple[int, str, Any]] = []
        checks += [(d.span.start, "d", d) for d in self.r.decides]
        checks += [(r.span.start, "r", r) for r in self.r.rules]
        checks += [(e.span.start, "e", e) for e in self.r.escalations]
        checks.sort(key=lambda t: t[0])
        n = len(self.lines)
        for _, kind, obj in checks:
            pre = []
            m = self.mask(obj.mentions)
            if m and masked:
                pre.append(f"not bad & {m}")
            if obj.criterion in applies_var:
                pre.append(applies_var[obj.criterion])
            if kind == "d":
                self.decide(obj, pre)
            elif kind == "r":
                if obj.when is not None:
                    pre.append(self.cond(obj.when))
                pre.append(f"not {self.cond(obj.require)}")
                self.emit(1, f"if {' and '.join(pre)}: out = _o(out, (4, {obj.index}))")
            else:
                pre.append(self.cond(obj.when))
                self.emit(1, f"if {' and '.join(pre)}: out = _o(out, (5, {obj.index}))")
        if len(self.lines) == n and not applies_var:
            self.emit(1, "pass")

    def decide(self, d: ir.DecideIR, pre: list[str]) -> None:
        f = d.label
        v = f"f{f.index}"
        if f.may_be_missing:
            pre.append(f"{v} is not None")
        allowed = self.const({a.number: a.allowed for a in d.arms}, "A")
        self.emit(1, f"if {' and '.join(pre) or 'True'}:")
        edges = [a for a in d.arms if a.kind == "edge"]
        plain = [a for a in d.arms if a.kind == "when"]
        other = [a for a in d.arms if a.kind == "otherwise"]
        if d.first:
            kw = "if"
            for a in edges + plain:
                self.emit(2, f"{kw} {self.cond(a.cond)}: m = {a.number}")
                kw = "elif"
            fallback = other[0].number if other else 0
            if kw == "if":
                self.emit(2, f"m = {fallback}")
            else:
                self.emit(2, f"else: m = {fallback}")
            if d.index in self.track:
                self.emit(2, f"d{d.index} = (1 << m) if m else 0")
            if self.count:
                self.emit(2, f"_k = (1 << m) if m else 0; CNT{d.index}[_k] = CNT{d.index}.get(_k, 0) + 1")
            self.emit(2, f"if m == 0: out = _o(out, (1, {d.index}))")
            self.emit(2, f"elif {v} not in {allowed}[m]: out = _o(out, (3, {d.index}, (m,)))")
            return
        # arms as bits of one int: no allocation per record
        single = self.const({1 << a.number: a.allowed for a in d.arms}, "S")

        def bits(arms: list[ir.ArmIR]) -> str:
            return " | ".join(f"({self.cond(a.cond)} and {1 << a.number})" for a in arms)

        ind = 2
        if edges:
            self.emit(2, f"m = {bits(edges)}")
            if plain or other:
                self.emit(2, "if not m:")
                ind = 3
        if plain:
            self.emit(ind, f"m = {bits(plain)}")
        elif not edges:
            self.emit(ind, "m = 0")
        if other:
            self.emit(ind, f"if not m: m = {1 << other[0].number}")
        if d.index in self.track:
            self.emit(2, f"d{d.index} = m")
        if self.count:
            self.emit(2, f"CNT{d.index}[m] = CNT{d.index}.get(m, 0) + 1")
        self.emit(2, f"if not m: out = _o(out, (1, {d.index}))")
        self.emit(2, f"elif (al := {single}.get(m)) is None: out = _multi({d.index}, m, {v}, {allowed}, out)")
        self.emit(2, f"elif {v} not in al: out = _o(out, (3, {d.index}, (m.bit_length() - 1,)))")


def _o(out: list | None, finding: tuple) -> list:
    if out is None:
        return [finding]
    out.append(finding)
    return out


def _multi(d: int, bits: int, value: Any, allowed: dict[int, frozenset], out: list | None) -> list | None:
    m = [n for n in allowed if bits >> n & 1]
    sets = [allowed[i] for i in m]
    arms = tuple(m)
    if all(s == sets[0] for s in sets):
        if value not in sets[0]:
            out = _o(out, (3, d, arms))
        return out
    out = _o(out, (2, d, arms))
    if not any(value in s for s in sets):
        out = _o(out, (3, d, arms))
    return out


def _build(rubric: ir.RubricIR, plan: RowPlan | None, count: bool = False) -> tuple[Callable, str, dict]:
    gen = _Gen(rubric)
    src = gen.generate(plan, count)
    code = compile(src, f"<rubric {rubric.source_name}>", "exec")
    ns = dict(gen.ns)
    exec(code, ns)  # noqa: S102 - generated from the typed IR; constants go through the namespace
    return ns["check_row" if plan else "check_count" if count else "check"], src, ns


def _aggregates(e: Any, out: list[ir.Agg]) -> None:
    out.extend(aggregates(e))


def compile_item_checks(rubric: ir.RubricIR) -> Callable[[Any], list | None]:
    """One generated function for the `per item` rules and escalations: it takes an
    `items.ItemView` and returns (RULE_VIOLATION, index) and (ESCALATION, index) tuples
    (indexes into `item_rules` / `item_escalations`), or None. Aggregates are computed
    into locals first; conditions compile exactly as record conditions do."""
    gen = _Gen(rubric)
    aggs: list[ir.Agg] = []
    for r in rubric.item_rules:
        _aggregates(r.when, aggs)
        _aggregates(r.require, aggs)
    for x in rubric.item_escalations:
        _aggregates(x.when, aggs)
    gen.emit(0, "def item_check(view):")
    gen.emit(1, "agg = view.agg")
    for i, a in enumerate(aggs):
        gen.aggs[id(a)] = f"a{i}"
        gen.ns[f"AG{i}"] = a
        gen.emit(1, f"a{i} = agg(AG{i})")
    gen.emit(1, "out = None")
    checks = sorted([(r.span.start, 4, r) for r in rubric.item_rules]
                    + [(x.span.start, 5, x) for x in rubric.item_escalations], key=lambda t: t[0])
    for _, code, obj in checks:
        if code == 4:
            pre = ([gen.cond(obj.when)] if obj.when is not None else []) + [f"not {gen.cond(obj.require)}"]
        else:
            pre = [gen.cond(obj.when)]
        gen.emit(1, f"if {' and '.join(pre)}: out = _o(out, ({code}, {obj.index}))")
    gen.emit(1, "return out")
    src = "\n".join(gen.lines) + "\n"
    ns = dict(gen.ns)
    exec(compile(src, f"<rubric {rubric.source_name} items>", "exec"), ns)  # noqa: S102 - from the typed IR
    return ns["item_check"]


def item_plan(rubric: ir.RubricIR) -> RowPlan:
    """The row that item checks need: consensus labels and the fields aggregates read,
    the decides of consensus labels (for the cause of a disagreement), and every
    `share(...)` condition."""
    fields: dict[str, ir.FieldIR] = {}
    shares: list[ir.Agg] = []

    def walk(e) -> None:
        for a in aggregates(e):
            if a.field is not None:
                fields.setdefault(a.field.name, a.field)
            if a.kind == "share":
                shares.append(a)

    for c in rubric.consensus:
        fields.setdefault(c.label.name, c.label)
    for r in rubric.item_rules:
        walk(r.when)
        walk(r.require)
    for x in rubric.item_escalations:
        walk(x.when)
    labels = {c.label.name for c in rubric.consensus}
    decides = [d for d in rubric.decides if d.label.name in labels]
    return RowPlan(sorted(fields.values(), key=lambda f: f.index), decides, shares)


def compile_rubric(rubric: ir.RubricIR, plan: RowPlan | None = None, all_decides: bool = False) -> Compiled:
    """The checker, and `check_row` for `plan` (by default, what the rubric's item
    checks need; none when it has none). `all_decides` adds every decide's arms to
    the row, for arm counts."""
    check, src, _ = _build(rubric, None)
    if plan is None:
        if not rubric.has_items and not all_decides:
            return Compiled(rubric, check, src)
        plan = item_plan(rubric) if rubric.has_items else RowPlan([], [], [])
    if all_decides:
        plan = RowPlan(plan.fields, list(rubric.decides), plan.shares)
    check_row, _, _ = _build(rubric, plan)
    compiled = Compiled(rubric, check, src, check_row, plan)
    if all_decides:
        compiled.check_count, _, ns = _build(rubric, None, count=True)
        compiled.counters = [ns[f"CNT{d.index}"] for d in rubric.decides]
    return compiled
