"""Encoding a rubric's IR for the z3 solver: the situations a check can meet.

A *situation* is an assignment of values to the rubric's fields for a record whose
fields are all valid (a check that reads an invalid field is skipped, so invalid
values never reach a decision, rule or escalation). Per field:

- presence: a boolean for optional and `required when` fields (required fields
  are always present; a `required when` field is present whenever its condition
  holds);
- bool → Bool; int, scale → Int within its range; number → Real within its range;
  enum and ordered enum → the Int index of the value (order = declaration order);
  set → one Bool per member;
- text → opaque: each distinct text test (`contains`, `matches`, `==`) is a free
  Bool, and `len`/`words` are non-negative Ints (words <= len; a `contains` of a
  literal implies len >= its length).

Atomic tests that read a missing field, or a number with no value (division by
zero), are false, exactly as at run time.

Each node of the IR is translated once per encoder (a `let` read many times is one
z3 term, shared), so the encoding is linear in the size of the rubric however its
`let`s nest; the translation goes from the leaves up with an explicit stack, so no
depth of nesting meets Python's recursion limit.

The domain (`domain`) is kept per field as well: a question about a few fields needs
only the constraints of the fields it is connected to (`domain_for`), so that the
cost of a question does not grow with the number of fields in the rubric.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import z3

from rubricdsl.language import ir
from rubricdsl.language.walk import children
from rubricdsl.core.interrupts import Interruptible, poll_interrupt


def interruptible() -> Interruptible:
    """Ctrl-C during the solver's work (see `interrupts`): a z3 call under way is
    interrupted, and the next poll raises KeyboardInterrupt."""
    return Interruptible(lambda: z3.main_ctx().interrupt())


class Solver(z3.Solver):
    """z3's solver, for every question the analysis asks; Ctrl-C stops the run.

    z3's own handling of SIGINT is turned off (`ctrl_c`): it would take the signal
    from Python's handler and drop it."""

    def __init__(self) -> None:
        super().__init__()
        self.set("ctrl_c", False)

    def check(self, *assumptions: Any) -> Any:
        poll_interrupt()
        result = super().check(*assumptions)
        poll_interrupt()
        return result

    # An interrupt cancels the context: the calls after it (push, pop, assert, model)
    # fail with "canceled" until it is reset. When Ctrl-C was pressed, that is the
    # interrupt, not an error.

    def push(self) -> None:
        _guarded(super().push)

    def pop(self, num: int = 1) -> None:
        _guarded(super().pop, num)

    def add(self, *args: Any) -> None:
        _guarded(super().add, *args)

    def model(self) -> Any:
        return _guarded(super().model)

    def unsat_core(self) -> Any:
        return _guarded(super().unsat_core)


def _guarded(fn: Any, *args: Any) -> Any:
    poll_interrupt()
    try:
        return fn(*args)
    except z3.Z3Exception:
        poll_interrupt()
        raise


@dataclass
class FieldVars:
    f: ir.FieldIR
    present: Any  # z3 BoolRef (True for required fields)
    value: Any = None  # Bool / Int / Real / Int (enum index) / list[Bool] (set)
    length: Any = None  # text: len
    words: Any = None  # text: words
    atoms: dict[tuple, Any] = field(default_factory=dict)  # text tests -> Bool
    counted: set[str] = field(default_factory=set)  # "len" / "words" when an expression reads them


class Unsupported(Exception):
    """Something the encoding cannot express; reported as its own diagnostic."""


class Encoder:
    def __init__(self, rubric: ir.RubricIR, private: frozenset[str] = frozenset(),
                 space: dict[ir.EnumType, tuple[str, ...]] | None = None) -> None:
        """`private` names fields whose z3 variables must not be shared with another
        encoder over the same names (a field whose type differs between two versions).
        `space` gives an enum type a wider list of values to index into (the union of
        two versions' values), so that two encoders agree on what each index means."""
        self.r = rubric
        self.private = private
        self.space = space or {}
        self.vars: dict[str, FieldVars] = {}
        self.domain: list[Any] = []  # constraints every situation satisfies
        # (field, text test) -> its atom; two fields with the same test have two atoms
        self.text_atoms: dict[tuple[str, tuple], Any] = {}
        self._canon: dict[frozenset[str], tuple[str, ...]] = {}
        # per enum type (by id; the type is kept, so its id is not reused): its space, and
        # each value's index in it; hashing an enum type hashes all its values, and a
        # tuple's `index` is a scan: neither is done more than once per type
        self._spaces: dict[int, tuple[ir.EnumType, tuple[str, ...], dict[str, int]]] = {}
        # the domain per field, and the fields a domain constraint ties together
        self._by_field: dict[str, list[Any]] = {}
        self._links: dict[str, set[str]] = {}
        # translations, by node (the node is kept with its result so that its id stays its own)
        self._conds: dict[int, tuple[Any, Any]] = {}
        self._nums: dict[int, tuple[Any, tuple[Any, Any]]] = {}
        for f in rubric.fields:
            self._declare(f)
        for f in rubric.fields:
            if f.required_when is not None:
                self._constrain(z3.Implies(self.cond(f.required_when), self.vars[f.name].present),
                                f.name, *f.required_when.mentions)

    # ---- the domain ------------------------------------------------------------------

    def _constrain(self, c: Any, *fields: str) -> None:
        """Add a domain constraint on the given fields."""
        self.domain.append(c)
        for f in fields:
            self._by_field.setdefault(f, []).append(c)
            self._links.setdefault(f, set()).update(fields)

    def connected(self, names: Any) -> set[str]:
        """The fields that the domain ties, directly or not, to any of `names`."""
        seen: set[str] = set()
        todo = [n for n in names if n in self.vars]
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            todo.extend(self._links.get(n, ()))
        return seen

    def domain_for(self, names: Any) -> list[Any]:
        """The domain constraints a question about the fields `names` depends on: those
        of the fields connected to them. The other constraints are satisfiable on their
        own (any field can take a value of its type, and present always satisfies a
        `required when`) over variables the question does not share, so leaving them
        out changes no answer; a witness gives those fields a valid default."""
        out: list[Any] = []
        seen: set[int] = set()
        for n in sorted(self.connected(names)):
            for c in self._by_field.get(n, ()):
                if c.get_id() not in seen:
                    seen.add(c.get_id())
                    out.append(c)
        return out

    # ---- fields ---------------------------------------------------------------------

    def _declare(self, f: ir.FieldIR) -> None:
        name = ("new:" + f.name) if f.name in self.private else f.name  # the z3 name
        present = z3.Bool(f"present:{name}") if f.may_be_missing else z3.BoolVal(True)
        fv = FieldVars(f, present)
        t = f.type
        k = t.kind
        if k == "bool":
            fv.value = z3.Bool(f"v:{name}")
        elif k in ("int", "scale"):
            fv.value = z3.Int(f"v:{name}")
            if t.lo is not None:
                self._constrain(fv.value >= int(t.lo), f.name)
            if t.hi is not None:
                self._constrain(fv.value <= int(t.hi), f.name)
        elif k == "number":
            fv.value = z3.Real(f"v:{name}")
            if t.lo is not None:
                self._constrain(fv.value >= _real(t.lo), f.name)
            if t.hi is not None:
                self._constrain(fv.value <= _real(t.hi), f.name)
        elif k == "enum":
            assert t.enum is not None
            fv.value = z3.Int(f"v:{name}")
            own = [self.index(t.enum, v) for v in t.enum.values]
            if own == list(range(len(own))):
                self._constrain(fv.value >= 0, f.name)
                self._constrain(fv.value < len(own), f.name)
            else:
                self._constrain(z3.Or([fv.value == i for i in own]), f.name)
        elif k == "set":
            assert t.enum is not None
            fv.value = [z3.Bool(f"v:{name}:{v}") for v in t.enum.values]
            # members another version has and this one does not: a record valid here has none
            own_values = set(t.enum.values)
            for v in self.space_of(t.enum):
                if v not in own_values:
                    self._constrain(z3.Not(z3.Bool(f"v:{name}:{v}")), f.name)
        elif k == "text":
            fv.length = z3.Int(f"len:{name}")
            fv.words = z3.Int(f"words:{name}")
            for c in (fv.length >= 0, fv.words >= 0, fv.words <= fv.length,
                      z3.Implies(fv.length == 0, fv.words == 0)):
                self._constrain(c, f.name)
        self.vars[f.name] = fv

    def space_of(self, enum: ir.EnumType) -> tuple[str, ...]:
        """The values an enum's z3 index counts, in order: its own; or the wider list a
        diff gives; and for an unordered enum, one list per set of values, so that
        enums that differ only in the order of their values agree on what an index
        means (they are one type)."""
        return self._space(enum)[1]

    def _space(self, enum: ir.EnumType) -> tuple[ir.EnumType, tuple[str, ...], dict[str, int]]:
        got = self._spaces.get(id(enum))
        if got is None:
            space = self._space_of(enum)
            got = self._spaces[id(enum)] = (enum, space, {v: i for i, v in enumerate(space)})
        return got

    def _space_of(self, enum: ir.EnumType) -> tuple[str, ...]:
        given = self.space.get(enum)
        if given is not None or enum.ordered:
            return given or enum.values
        key = frozenset(enum.values)
        canon = self._canon.get(key)
        if canon is None:
            canon = next((sp for e, sp in self.space.items() if not e.ordered and frozenset(e.values) == key),
                         enum.values)
            self._canon[key] = canon
        return canon

    def index(self, enum: ir.EnumType, value: str) -> int:
        """The z3 index of one of the enum's values (ValueError for another value)."""
        got = self._space(enum)[2].get(value)
        if got is None:
            raise ValueError(f"{value!r} is not in the enum's space")
        return got

    def _atom(self, fv: FieldVars, key: tuple, min_len: int | None = None, exact_len: int | None = None) -> Any:
        a = fv.atoms.get(key)
        if a is None:
            owner = ("new:" + fv.f.name) if fv.f.name in self.private else fv.f.name
            a = z3.Bool(f"text:{owner}:{key!r}")  # named by the test, so two encoders share it
            fv.atoms[key] = a
            self.text_atoms[(fv.f.name, key)] = a
            if min_len:
                self._constrain(z3.Implies(a, fv.length >= min_len), fv.f.name)
            if exact_len is not None:
                self._constrain(z3.Implies(a, fv.length == exact_len), fv.f.name)
        return a

    # ---- expressions -----------------------------------------------------------------

    def cond(self, e: ir.Expr) -> Any:
        """The z3 Bool of a condition: true in the situations where it holds."""
        hit = self._conds.get(id(e))
        if hit is None:
            if type(e) is ir.Op or type(e) is ir.LetRef:
                self._prepare(e)
                hit = self._conds.get(id(e))
            if hit is None:
                hit = self._conds[id(e)] = (e, self._cond(e))
        return hit[1]

    def num(self, e: ir.Expr) -> tuple[Any, Any]:
        """(z3 term, defined) of a number expression."""
        hit = self._nums.get(id(e))
        if hit is None:
            if type(e) is ir.Op or type(e) is ir.LetRef:
                self._prepare(e)
                hit = self._nums.get(id(e))
            if hit is None:
                hit = self._nums[id(e)] = (e, self._num(e))
        return hit[1]

    def _prepare(self, root: ir.Expr) -> None:
        """Translate the operators under `root` (through `let`s) from the leaves up, each
        once: then translating a node finds its operands done, and recursion never goes
        more than a level or two deep."""
        conds, nums = self._conds, self._nums
        entered: set[int] = set()
        stack: list[tuple[Any, bool]] = [(root, False)]
        while stack:
            e, done = stack.pop()
            t = type(e)
            if done:
                k = e.type.kind
                if k == "bool" and id(e) not in conds:
                    conds[id(e)] = (e, self._cond(e))
                elif k == "num" and id(e) not in nums:
                    nums[id(e)] = (e, self._num(e))
                continue
            if t is ir.LetRef:
                e = e.let.expr
                t = type(e)
            if t is not ir.Op or id(e) in entered or id(e) in conds or id(e) in nums:
                continue
            entered.add(id(e))
            stack.append((e, True))
            for c in reversed(children(e)):
                stack.append((c, False))

    def _cond(self, e: ir.Expr) -> Any:
        if isinstance(e, ir.LetRef):
            return self.cond(e.let.expr)
        if isinstance(e, ir.Const):
            return z3.BoolVal(bool(e.value))
        if isinstance(e, ir.FieldRef):
            fv = self.vars[e.field.name]
            return z3.And(fv.present, fv.value)
        assert isinstance(e, ir.Op)
        op = e.op
        if op == "and":
            return z3.And(self.cond(e.args[0]), self.cond(e.args[1]))
        if op == "or":
            return z3.Or(self.cond(e.args[0]), self.cond(e.args[1]))
        if op == "not":
            return z3.Not(self.cond(e.args[0]))
        if op == "truth":
            return self.cond(e.args[0])
        if op in ("present", "missing"):
            p = self.vars[e.args[0].field.name].present
            return p if op == "present" else z3.Not(p)
        if op in ("==", "!=", "<", "<=", ">", ">="):
            return self._compare(e)
        if op in ("in", "not in"):
            return self._in(e)
        if op in ("any", "all", "none"):
            # members by value: two sets of the same values in another order are one type
            (a, da), (b, db) = self.set_val(e.args[0]), self.set_val(e.args[1])
            both = [z3.And(a[v], b[v]) for v in a if v in b]
            if op == "any":
                t = z3.Or(both) if both else z3.BoolVal(False)
            elif op == "all":
                t = z3.And([z3.Implies(m, a.get(v, z3.BoolVal(False))) for v, m in b.items()])
            else:
                t = z3.Not(z3.Or(both)) if both else z3.BoolVal(True)
            return z3.And(da, db, t)
        if op in ("empty", "not empty"):
            a, da = self.set_val(e.args[0])
            some = z3.Or(list(a.values())) if a else z3.BoolVal(False)
            return z3.And(da, z3.Not(some) if op == "empty" else some)
        if op == "contains":
            return self._contains(e)
        if op == "matches":
            fv, d = self._text_field(e.args[0])
            assert e.regex is not None
            return z3.And(d, self._atom(fv, ("matches", e.regex.source)))
        raise Unsupported(f"operator `{op}`")

    def _text_field(self, e: ir.Expr) -> tuple[FieldVars, Any]:
        while isinstance(e, ir.LetRef):
            e = e.let.expr
        if isinstance(e, ir.FieldRef):
            fv = self.vars[e.field.name]
            return fv, fv.present
        raise Unsupported("a text test on something other than a text field")

    def _contains(self, e: ir.Op) -> Any:
        fv, d = self._text_field(e.args[0])
        rhs = e.args[1]
        while isinstance(rhs, ir.LetRef):
            rhs = rhs.let.expr
        if isinstance(rhs, ir.Const):
            lit = str(rhs.value)
            if lit == "":
                return d
            return z3.And(d, self._atom(fv, ("contains", lit), min_len=len(lit)))
        other, d2 = self._text_field(rhs)
        return z3.And(d, d2, self._atom(fv, ("contains_field", other.f.name)))

    def _compare(self, e: ir.Op) -> Any:
        op = e.op
        a_e, b_e = e.args
        if e.mode == "num":
            (a, da), (b, db) = self.num(a_e), self.num(b_e)
            return z3.And(da, db, _cmp(op, a, b))
        if e.mode == "rank":
            enum = a_e.type.enum
            if enum is not None and self.space_of(enum) != enum.values:
                raise Unsupported("an ordering of an enum whose values changed")
            (a, da), (b, db) = self.enum_val(a_e), self.enum_val(b_e)
            return z3.And(da, db, _cmp(op, a, b))
        if e.mode == "seteq":
            (a, da), (b, db) = self.set_val(a_e), self.set_val(b_e)
            no = z3.BoolVal(False)
            eq = z3.And([a.get(v, no) == b.get(v, no) for v in {**a, **b}]) if a or b else z3.BoolVal(True)
            return z3.And(da, db, eq if op == "==" else z3.Not(eq))
        t = a_e.type.kind
        if t == "enum":
            (a, da), (b, db) = self.enum_val(a_e), self.enum_val(b_e)
            return z3.And(da, db, _cmp(op, a, b))
        if t == "bool":
            (a, da), (b, db) = self.bool_val(a_e), self.bool_val(b_e)
            return z3.And(da, db, _cmp(op, a, b))
        if t == "text":
            eq, d = self._text_eq(a_e, b_e)
            return z3.And(d, eq if op == "==" else z3.Not(eq))
        raise Unsupported(f"comparison of {t}")

    def _text_eq(self, a_e: ir.Expr, b_e: ir.Expr) -> tuple[Any, Any]:
        def unlet(x: ir.Expr) -> ir.Expr:
            while isinstance(x, ir.LetRef):
                x = x.let.expr
            return x

        a_e, b_e = unlet(a_e), unlet(b_e)
        if isinstance(a_e, ir.Const) and isinstance(b_e, ir.Const):
            return z3.BoolVal(a_e.value == b_e.value), z3.BoolVal(True)
        if isinstance(a_e, ir.Const):
            a_e, b_e = b_e, a_e
        fv, d = self._text_field(a_e)
        if isinstance(b_e, ir.Const):
            lit = str(b_e.value)
            return self._atom(fv, ("eq", lit), exact_len=len(lit)), d
        other, d2 = self._text_field(b_e)
        if other.f.name == fv.f.name:
            return z3.BoolVal(True), d
        x, y = sorted([fv.f.name, other.f.name])
        key = ("eq_field", x, y)
        owner = self.vars[x]
        atom = owner.atoms.get(key)
        if atom is None:
            atom = self._atom(owner, key)
            self._constrain(z3.Implies(atom, self.vars[x].length == self.vars[y].length), x, y)
        return atom, z3.And(d, d2)

    def _in(self, e: ir.Op) -> Any:
        a_e, b_e = e.args
        if e.mode == "field":
            (idx, da) = self.enum_val(a_e)
            members, db = self.set_val(b_e)
            set_enum, elem_enum = b_e.type.enum, a_e.type.enum
            assert set_enum is not None and elem_enum is not None
            t = z3.Or([z3.And(idx == self.index(elem_enum, v), m) for v, m in members.items()]
                      if members else [z3.BoolVal(False)])
            return z3.And(da, db, t if e.op == "in" else z3.Not(t))
        values = sorted(b_e.value, key=repr)
        k = a_e.type.kind
        if k == "enum":
            idx, da = self.enum_val(a_e)
            enum = a_e.type.enum
            assert enum is not None
            t = z3.Or([idx == self.index(enum, v) for v in values]) if values else z3.BoolVal(False)
        elif k == "num":
            x, da = self.num(a_e)
            t = z3.Or([x == _real(v) for v in values]) if values else z3.BoolVal(False)
        elif k == "bool":
            x, da = self.bool_val(a_e)
            t = z3.Or([x == z3.BoolVal(bool(v)) for v in values]) if values else z3.BoolVal(False)
        elif k == "text":
            parts = []
            da = z3.BoolVal(True)
            for v in values:
                eq, da = self._text_eq(a_e, ir.Const(v, ir.TEXT, e.span))
                parts.append(eq)
            if not values:
                _, da = self._text_field(a_e)
            t = z3.Or(parts) if parts else z3.BoolVal(False)
        else:
            raise Unsupported(f"`in` on {k}")
        return z3.And(da, t if e.op == "in" else z3.Not(t))

    # values: (z3 term, defined)

    def _num(self, e: ir.Expr) -> tuple[Any, Any]:
        if isinstance(e, ir.LetRef):
            return self.num(e.let.expr)
        if isinstance(e, ir.Const):
            v = e.value
            return (z3.IntVal(int(v)) if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) < 2**62)
                    else z3.RealVal(_frac(v))), z3.BoolVal(True)
        if isinstance(e, ir.FieldRef):
            fv = self.vars[e.field.name]
            return fv.value, fv.present
        assert isinstance(e, ir.Op)
        op = e.op
        if op in ("len", "words"):
            fv, d = self._text_field(e.args[0])
            fv.counted.add(op)
            return (fv.length if op == "len" else fv.words), d
        if op == "count":
            members, d = self.set_val(e.args[0])
            return (z3.Sum([z3.If(m, 1, 0) for m in members.values()]) if members else z3.IntVal(0)), d
        if op == "neg":
            a, d = self.num(e.args[0])
            return -a, d
        (a, da), (b, db) = self.num(e.args[0]), self.num(e.args[1])
        if op == "+":
            return a + b, z3.And(da, db)
        if op == "-":
            return a - b, z3.And(da, db)
        if op == "*":
            return a * b, z3.And(da, db)
        if op == "/":
            return z3.ToReal(a) / z3.ToReal(b) if not (_is_real(a) or _is_real(b)) else a / b, z3.And(da, db, b != 0)
        raise Unsupported(f"arithmetic `{op}`")

    def enum_val(self, e: ir.Expr) -> tuple[Any, Any]:
        if isinstance(e, ir.LetRef):
            return self.enum_val(e.let.expr)
        if isinstance(e, ir.Const):
            assert e.type.enum is not None
            return z3.IntVal(self.index(e.type.enum, e.value)), z3.BoolVal(True)
        if isinstance(e, ir.FieldRef):
            fv = self.vars[e.field.name]
            return fv.value, fv.present
        raise Unsupported("an enum expression")

    def bool_val(self, e: ir.Expr) -> tuple[Any, Any]:
        if isinstance(e, ir.LetRef):
            inner = e.let.expr
            if isinstance(inner, ir.Op):
                return self.cond(inner), z3.BoolVal(True)
            return self.bool_val(inner)
        if isinstance(e, ir.Const):
            return z3.BoolVal(bool(e.value)), z3.BoolVal(True)
        if isinstance(e, ir.FieldRef):
            fv = self.vars[e.field.name]
            return fv.value, fv.present
        return self.cond(e), z3.BoolVal(True)

    def set_val(self, e: ir.Expr) -> tuple[dict[str, Any], Any]:
        """(value -> membership Bool, defined) of a set expression."""
        if isinstance(e, ir.LetRef):
            return self.set_val(e.let.expr)
        if isinstance(e, ir.Const):
            enum = e.type.enum
            assert enum is not None
            return {v: z3.BoolVal(v in e.value) for v in enum.values}, z3.BoolVal(True)
        if isinstance(e, ir.FieldRef):
            fv = self.vars[e.field.name]
            assert fv.f.type.enum is not None
            return dict(zip(fv.f.type.enum.values, fv.value)), fv.present
        raise Unsupported("a set expression")


def _cmp(op: str, a: Any, b: Any) -> Any:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _frac(v: Any) -> Fraction:
    return Fraction(str(v)) if isinstance(v, float) else Fraction(v)


def _real(v: Any) -> Any:
    f = _frac(v)
    return z3.RealVal(f"{f.numerator}/{f.denominator}") if f.denominator != 1 else z3.RealVal(f.numerator)


def _is_real(x: Any) -> bool:
    try:
        return x.is_real()
    except AttributeError:
        return False


# ---- models -> field values -----------------------------------------------------------


def model_value(enc: Encoder, model: Any, name: str) -> tuple[bool, Any]:
    """(present, JSON value) of a field in a model; text values are synthesised later."""
    fv = enc.vars[name]
    present = z3.is_true(model.eval(fv.present, model_completion=True))
    t = fv.f.type
    k = t.kind
    if k == "bool":
        v: Any = z3.is_true(model.eval(fv.value, model_completion=True))
    elif k in ("int", "scale"):
        v = model.eval(fv.value, model_completion=True).as_long()
    elif k == "number":
        r = model.eval(fv.value, model_completion=True)
        fr = Fraction(r.numerator_as_long(), r.denominator_as_long())
        v = int(fr) if fr.denominator == 1 else float(fr)
    elif k == "enum":
        assert t.enum is not None
        space = enc.space_of(t.enum)
        v = space[model.eval(fv.value, model_completion=True).as_long()]
    elif k == "set":
        assert t.enum is not None
        v = [val for val, b in zip(t.enum.values, fv.value) if z3.is_true(model.eval(b, model_completion=True))]
    else:
        v = None  # text: see synthesise_text
    return present, v
