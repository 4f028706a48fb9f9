"""An exact fast path for large `first` decision tables: arms as boxes.

Decision tables at DMN scale (thousands of arms) are mostly conjunctions of
per-field tests over small finite domains: `f in {a, b}`, `g >= 3 and g <= 6`.
Such a condition is a *box*: one set of allowed values per dimension. Under
`first`, arm k is shadowed exactly when its box has no situation outside the
union of the earlier arms' boxes, and the decide has a gap exactly when
situations remain outside all of them. Keeping the uncovered region as a list of
disjoint boxes (one uint64 bitmask per dimension, in a numpy array) decides both
with vectorised box subtraction.

Dimensions: an enum, bool or small int field is one dimension over its values,
plus a `missing` value when the field may be missing; a set field is one yes/no
dimension per member, plus a presence dimension when it may be missing. When any
condition is not a box over such dimensions (an `or` across fields, text tests,
arithmetic, numbers...), `BoxEngine.build` returns None and the z3 path decides.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from rubricdsl.language import ir
from rubricdsl.language.walk import operands
from rubricdsl.core.interrupts import poll_interrupt

MAX_VALUES = 64
# a union of boxes past this many boxes is left to z3
MAX_REGION_BOXES = 20000


@dataclass
class Dim:
    field: ir.FieldIR
    role: str  # value | member | presence
    values: list[Any]  # the values the bits stand for; None stands for "missing"
    member: str | None = None

    @property
    def full(self) -> int:
        return (1 << len(self.values)) - 1


class NotABox(Exception):
    pass


class BoxEngine:
    def __init__(self, fields: list[ir.FieldIR]) -> None:
        self.dims: list[Dim] = []
        self.value_dim: dict[str, int] = {}
        self.member_dim: dict[tuple[str, str], int] = {}
        self.presence_dim: dict[str, int] = {}
        # boxes by node, each computed once (a `let` read by many arms, or by itself
        # twice, costs one computation); None for a condition that is not a box
        self._memo: dict[int, tuple[Any, dict[int, int] | None]] = {}
        for f in fields:
            self._add(f)
        self.full = np.array([d.full for d in self.dims], dtype=np.uint64)

    @classmethod
    def build(cls, fields: list[ir.FieldIR]) -> "BoxEngine | None":
        try:
            return cls(fields)
        except NotABox:
            return None

    def _add(self, f: ir.FieldIR) -> None:
        if f.required_when is not None:
            raise NotABox  # presence depends on another condition: not a box
        t = f.type
        miss = [None] if f.may_be_missing else []
        if t.kind == "enum":
            assert t.enum is not None
            vals: list[Any] = list(t.enum.values)
        elif t.kind == "bool":
            vals = [False, True]
        elif t.kind in ("int", "scale") and t.lo is not None and t.hi is not None and t.hi - t.lo + 1 <= MAX_VALUES - 1:
            vals = list(range(int(t.lo), int(t.hi) + 1))
        elif t.kind == "set":
            assert t.enum is not None
            if len(t.enum.values) + 1 > MAX_VALUES:
                raise NotABox
            for v in t.enum.values:
                self.member_dim[(f.name, v)] = len(self.dims)
                self.dims.append(Dim(f, "member", [False, True], v))
            if f.may_be_missing:
                self.presence_dim[f.name] = len(self.dims)
                self.dims.append(Dim(f, "presence", [False, True]))
            return
        else:
            raise NotABox
        if len(vals) + len(miss) > MAX_VALUES:
            raise NotABox
        self.value_dim[f.name] = len(self.dims)
        self.dims.append(Dim(f, "value", vals + miss))

    # ---- conditions -> boxes -------------------------------------------------------------

    def box(self, e: ir.Expr | None) -> np.ndarray:
        """The box of a condition (raises NotABox)."""
        b = self.full.copy()
        if e is None:
            return b
        self._prepare(e)
        for dim, mask in self._box(e).items():
            b[dim] &= np.uint64(mask)
        return b

    def _mask(self, f: ir.FieldIR, pred) -> tuple[int, int]:
        dim = self.value_dim.get(f.name)
        if dim is None:
            raise NotABox
        m = 0
        for i, v in enumerate(self.dims[dim].values):
            if v is not None and pred(v):
                m |= 1 << i
        return dim, m

    def _present(self, f: ir.FieldIR) -> dict[int, int]:
        if f.name in self.presence_dim:
            return {self.presence_dim[f.name]: 0b10}
        return {}

    def _prepare(self, root: ir.Expr) -> None:
        """The boxes of the conditions under `root` (through `let`s), from the leaves up, so
        that `_box` finds its operands done and never recurses deeply. The operands of an
        `and` or `or` chain are taken flat by the chain's top (`operands`): the links of
        the chain itself are skipped."""
        entered: set[int] = set()
        stack: list[tuple[Any, str | None, bool]] = [(root, None, False)]
        while stack:
            e, parent_op, done = stack.pop()
            if done:
                try:
                    self._box(e)
                except NotABox:
                    pass
                continue
            if type(e) is ir.LetRef:
                e, parent_op = _unlet(e), None  # a let is not flattened into the chain around it
            if type(e) is not ir.Op or e.type.kind != "bool" or id(e) in self._memo or id(e) in entered:
                continue
            entered.add(id(e))
            if not (e.op in ("and", "or") and parent_op == e.op):
                stack.append((e, None, True))
            for c in e.args:
                stack.append((c, e.op, False))

    def _box(self, e: ir.Expr) -> dict[int, int]:
        """The box of a condition as {dimension: mask of allowed values}; a dimension not
        named allows every value. Raises NotABox. The result is shared: not to be changed."""
        e = _unlet(e)
        hit = self._memo.get(id(e))
        if hit is not None:
            if hit[1] is None:
                raise NotABox
            return hit[1]
        try:
            out = self._box_of(e)
        except NotABox:
            self._memo[id(e)] = (e, None)
            raise
        self._memo[id(e)] = (e, out)
        return out

    def _box_of(self, e: ir.Expr) -> dict[int, int]:
        if isinstance(e, ir.Const):
            return {} if e.value is True else self._nothing()
        if isinstance(e, ir.FieldRef) and e.field.type.kind == "bool":
            dim, m = self._mask(e.field, lambda v: v is True)
            return {dim: m}
        if not isinstance(e, ir.Op):
            raise NotABox
        rule = self.OPS.get(e.op)
        if rule is None:
            raise NotABox
        return rule(self, e)

    def _nothing(self) -> dict[int, int]:
        """The empty box (no value of the first dimension)."""
        return {0: 0} if self.dims else {}

    # one method per operator: the OPS table below

    def _and(self, e: ir.Op) -> dict[int, int]:
        """The intersection of the operands' boxes (a chain of any length, without recursion)."""
        out: dict[int, int] = {}
        for x in operands(e, "and"):
            for k, v in self._box(x).items():
                out[k] = out.get(k, self.dims[k].full) & v
        return out

    def _or(self, e: ir.Op) -> dict[int, int]:
        """A box only when every operand of the chain restricts the same single dimension."""
        dim: int | None = None
        mask = 0
        for x in operands(e, "or"):
            b = self._box(x)
            if len(b) != 1:
                raise NotABox
            ((k, m),) = b.items()
            if dim is not None and k != dim:
                raise NotABox
            dim = k
            mask |= m
        assert dim is not None
        return {dim: mask}

    def _not(self, e: ir.Op) -> dict[int, int]:
        """A box only when the operand restricts at most one dimension."""
        a = self._box(e.args[0])
        if len(a) == 1:
            k, v = next(iter(a.items()))
            return {k: self.dims[k].full & ~v}
        if not a:
            return self._nothing()
        raise NotABox

    def _truth(self, e: ir.Op) -> dict[int, int]:
        return self._box(e.args[0])

    def _presence(self, e: ir.Op) -> dict[int, int]:
        """`is present` / `is missing`: the `missing` value of a value dimension, or a set's
        presence dimension."""
        op = e.op
        f = e.args[0].field
        if f.name in self.value_dim:
            dim = self.value_dim[f.name]
            miss = 1 << (len(self.dims[dim].values) - 1) if self.dims[dim].values[-1] is None else 0
            return {dim: (self.dims[dim].full & ~miss) if op == "present" else miss}
        if f.name in self.presence_dim:
            return {self.presence_dim[f.name]: 0b10 if op == "present" else 0b01}
        if not f.may_be_missing and f.type.kind == "set":
            return {} if op == "present" else self._nothing()
        raise NotABox

    def _compare(self, e: ir.Op) -> dict[int, int]:
        """A field compared with a constant (on either side); enums by rank."""
        op = e.op
        a, b = _unlet(e.args[0]), _unlet(e.args[1])
        if isinstance(a, ir.Const) and isinstance(b, ir.FieldRef):
            a, b = b, a
            op = _MIRROR.get(op, op)
        if not (isinstance(a, ir.FieldRef) and isinstance(b, ir.Const)):
            raise NotABox
        f, c = a.field, b.value
        if f.type.kind == "enum":
            assert f.type.enum is not None
            rank = {v: i for i, v in enumerate(f.type.enum.values)}
            cr = rank[c]
            dim, m = self._mask(f, lambda v: _cmp(op, rank[v], cr))
        elif f.type.kind == "set":
            raise NotABox
        else:
            dim, m = self._mask(f, lambda v: _cmp(op, v, c))
        return {dim: m}

    def _member(self, e: ir.Op) -> dict[int, int]:
        """`f in {..}` on a value dimension; `v in S` on a set member's dimension."""
        op = e.op
        a, b = _unlet(e.args[0]), _unlet(e.args[1])
        if e.mode == "const" and isinstance(a, ir.FieldRef):
            vals = b.value
            if op == "in":
                dim, m = self._mask(a.field, lambda v: v in vals)
            else:
                dim, m = self._mask(a.field, lambda v: v not in vals)
            return {dim: m}
        if e.mode == "field" and isinstance(a, ir.Const) and isinstance(b, ir.FieldRef):
            dim = self.member_dim.get((b.field.name, a.value))
            if dim is None:
                raise NotABox
            out = {dim: 0b10 if op == "in" else 0b01}
            out.update(self._present(b.field))
            return out
        raise NotABox

    def _set_test(self, e: ir.Op) -> dict[int, int]:
        """`all of`, `none of`, `is empty`; `any of` and `is not empty` over one member."""
        op = e.op
        s = _unlet(e.args[0])
        if not isinstance(s, ir.FieldRef):
            raise NotABox
        enum = s.field.type.enum
        assert enum is not None
        if op in ("empty", "not empty"):
            members = list(enum.values)
        else:
            k = _unlet(e.args[1])
            if not isinstance(k, ir.Const):
                raise NotABox
            members = [v for v in enum.values if v in k.value]
        if op == "any" or op == "not empty":
            if len(members) != 1:
                raise NotABox
            out = {self.member_dim[(s.field.name, members[0])]: 0b10}
        elif op == "all":
            out = {self.member_dim[(s.field.name, v)]: 0b10 for v in members}
        else:  # none, empty
            out = {self.member_dim[(s.field.name, v)]: 0b01 for v in members}
        out.update(self._present(s.field))
        return out

    OPS: dict[str, Callable[["BoxEngine", ir.Op], dict[int, int]]] = {
        "and": _and, "or": _or, "not": _not, "truth": _truth,
        "present": _presence, "missing": _presence,
        "==": _compare, "!=": _compare, "<": _compare, "<=": _compare, ">": _compare, ">=": _compare,
        "in": _member, "not in": _member,
        "all": _set_test, "none": _set_test, "any": _set_test, "empty": _set_test, "not empty": _set_test,
    }
    """The operators a box can express, each with its rule; any other is not a box."""

    # ---- regions ------------------------------------------------------------------------

    @staticmethod
    def intersects(region: np.ndarray, b: np.ndarray) -> np.ndarray:
        """For each box of the region, whether it meets box b."""
        if region.shape[0] == 0:
            return np.zeros(0, dtype=bool)
        return np.all((region & b) != 0, axis=1)

    @staticmethod
    def subtract(region: np.ndarray, b: np.ndarray) -> np.ndarray:
        """region minus box b, as disjoint boxes (the region's boxes must all meet b)."""
        pieces = []
        d = region.shape[1]
        narrowed = region.copy()
        for i in range(d):
            piece = narrowed.copy()
            piece[:, i] = narrowed[:, i] & ~b[i]
            keep = piece[:, i] != 0
            if keep.any():
                pieces.append(piece[keep])
            narrowed[:, i] &= b[i]
        if not pieces:
            return np.zeros((0, d), dtype=np.uint64)
        return np.concatenate(pieces)

    # ---- unions of boxes ------------------------------------------------------------------

    def empty(self) -> np.ndarray:
        return np.zeros((0, len(self.dims)), dtype=np.uint64)

    def minus(self, region: np.ndarray, b: np.ndarray) -> np.ndarray:
        """region minus box b, as disjoint boxes (any region)."""
        if region.shape[0] == 0:
            return region
        hit = self.intersects(region, b)
        if not hit.any():
            return region
        return np.concatenate([region[~hit], self.subtract(region[hit], b)])

    def minus_region(self, region: np.ndarray, other: np.ndarray) -> np.ndarray:
        for b in other:
            region = self.minus(region, b)
            if region.shape[0] > MAX_REGION_BOXES:
                raise NotABox
        return region

    def meet(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The intersection of two regions (disjoint boxes each), as disjoint boxes."""
        parts = []
        for x in b:
            p = a & x
            keep = np.all(p != 0, axis=1)
            if keep.any():
                parts.append(p[keep])
        out = np.concatenate(parts) if parts else self.empty()
        if out.shape[0] > MAX_REGION_BOXES:
            raise NotABox
        return out

    def region(self, e: ir.Expr | None) -> np.ndarray:
        """A condition as disjoint boxes: a box, or `and`, `or` and `not` of conditions
        that are regions themselves (raises NotABox otherwise, or past MAX_REGION_BOXES)."""
        try:
            b = self.box(e)
        except NotABox:
            pass
        else:
            return b[None, :] if np.all(b != 0) else self.empty()
        assert e is not None
        e = _unlet(e)
        if not isinstance(e, ir.Op):
            raise NotABox
        if e.op == "truth":
            return self.region(e.args[0])
        if e.op == "not":
            return self.minus_region(self.full[None, :].copy(), self.region(e.args[0]))
        if e.op == "and":
            out = self.full[None, :].copy()
            for x in operands(e, "and"):
                out = self.meet(out, self.region(x))
            return out
        if e.op == "or":
            out = self.empty()
            for x in operands(e, "or"):
                r = self.minus_region(self.region(x), out)
                out = np.concatenate([out, r])
            return out
        raise NotABox

    def point(self, b: np.ndarray) -> dict[int, int]:
        """One situation of a non-empty box: the lowest value of each dimension."""
        out = {}
        for i, m in enumerate(b):
            m = int(m)
            out[i] = (m & -m).bit_length() - 1
        return out

    def values(self, pt: dict[int, int]) -> dict[str, Any]:
        """Field values of a situation (None for a missing field)."""
        out: dict[str, Any] = {}
        for name, dim in self.value_dim.items():
            out[name] = self.dims[dim].values[pt[dim]]
        sets: dict[str, list[str]] = {}
        for (name, member), dim in self.member_dim.items():
            sets.setdefault(name, [])
            if pt[dim] == 1:
                sets[name].append(member)
        for name, members in sets.items():
            pres = self.presence_dim.get(name)
            out[name] = None if pres is not None and pt[pres] == 0 else members
        return out


def _unlet(e: ir.Expr) -> ir.Expr:
    while isinstance(e, ir.LetRef):
        e = e.let.expr
    return e


_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _cmp(op: str, a: Any, b: Any) -> bool:
    return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


class Columns:
    """The uncovered region of `analyse_first` as disjoint boxes stored by dimension
    (one contiguous array per dimension), so that finding the boxes an arm meets filters
    the candidates one dimension at a time: most arms rule out most boxes on their first
    dimensions. A box taken out is marked by an empty first dimension (it meets
    nothing) and the store is compacted when such rows are half of it; new boxes are
    appended (the capacity doubles)."""

    def __init__(self, region: np.ndarray) -> None:
        n, d = region.shape
        self.d = d
        self.cols = np.zeros((d, max(1024, 2 * n)), dtype=np.uint64)
        self.cols[:, :n] = region.T
        self.n = n
        self.dead = 0

    def meeting(self, b: np.ndarray) -> np.ndarray:
        """The rows (live boxes) that meet box b."""
        if self.n == 0 or self.d == 0:
            return np.arange(self.n) if self.d == 0 else np.zeros(0, dtype=np.int64)
        cols = self.cols
        idx = np.flatnonzero(cols[0, :self.n] & b[0])
        for i in range(1, self.d):
            if idx.shape[0] == 0:
                break
            idx = idx[(cols[i, idx] & b[i]) != 0]
        return idx

    def take(self, idx: np.ndarray) -> np.ndarray:
        """Remove the rows, returning them as boxes."""
        out = self.cols[:, idx].T.copy()
        if self.d:
            self.cols[0, idx] = 0
        self.dead += idx.shape[0]
        return out

    def add(self, boxes: np.ndarray) -> None:
        m = boxes.shape[0]
        if self.dead * 2 > self.n:
            live = np.flatnonzero(self.cols[0, :self.n]) if self.d else np.arange(self.n)
            self.cols[:, :live.shape[0]] = self.cols[:, live]
            self.n = live.shape[0]
            self.dead = 0
        if self.n + m > self.cols.shape[1]:
            grown = np.zeros((self.d, max(2 * self.cols.shape[1], self.n + m)), dtype=np.uint64)
            grown[:, :self.n] = self.cols[:, :self.n]
            self.cols = grown
        self.cols[:, self.n:self.n + m] = boxes.T
        self.n += m

    def rows(self) -> np.ndarray:
        live = np.flatnonzero(self.cols[0, :self.n]) if self.d else np.arange(self.n)
        return self.cols[:, live].T.copy()


@dataclass
class FirstResult:
    dead: list[ir.ArmIR]
    shadowed: list[tuple[ir.ArmIR, list[ir.ArmIR], dict[str, Any]]]  # arm, covering arms, a situation it matches
    gap: dict[str, Any] | None  # a situation no arm covers
    region: np.ndarray | None = None  # every situation no arm covers, as disjoint boxes
    boxes: list[np.ndarray] | None = None  # the arms' boxes, in order, within the scope


def analyse_first(engine: BoxEngine, order: list[ir.ArmIR], scope: np.ndarray,
                  tick: Callable[[], None] | None = None, start: np.ndarray | None = None) -> FirstResult:
    """One pass over the arms in order. The uncovered region shrinks by each arm's box;
    what an arm takes from it is kept, labelled with the arm, so that the arms deciding
    a shadowed arm's situations are the labels of the taken pieces that meet its box.
    `tick` is called once per arm (the analysis's deadline: it raises to stop)."""
    boxes = [engine.box(a.cond) & scope for a in order]
    d = len(engine.dims)
    region = scope[None, :].copy()
    if not np.all(scope != 0):
        region = region[:0]
    if start is not None:  # the situations the analysis assumes (the rules' valid records)
        region = engine.meet(region, start)
    initial = region
    dead: list[ir.ArmIR] = []
    shadowed_idx: list[int] = []
    taken: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    store = Columns(region)
    for k, (a, b) in enumerate(zip(order, boxes)):
        poll_interrupt()
        if tick is not None:
            tick()
        if not np.all(b != 0) or (start is not None and not engine.intersects(initial, b).any()):
            dead.append(a)
            continue
        idx = store.meeting(b)
        if idx.shape[0] == 0:
            shadowed_idx.append(k)
            continue
        inside = store.take(idx)
        taken.append(inside & b)
        owners.append(np.full(inside.shape[0], k, dtype=np.int64))
        store.add(engine.subtract(inside, b))
    region = store.rows()
    shadowed = []
    if shadowed_idx:
        pieces = np.concatenate(taken) if taken else np.zeros((0, d), dtype=np.uint64)
        owner = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
        # each arm's pieces are contiguous rows: look only at the arms whose box meets b
        span: dict[int, tuple[int, int]] = {}
        row = 0
        for o in owners:
            span[int(o[0])] = (row, row + o.shape[0])
            row += o.shape[0]
        arm_cols = Columns(np.stack(boxes)) if boxes else None
        for k in shadowed_idx:
            poll_interrupt()
            if tick is not None:
                tick()
            b = boxes[k]
            assert arm_cols is not None
            meet = arm_cols.meeting(b)
            cand = [j for j in meet[meet < k].tolist() if j in span]
            rows = np.concatenate([np.arange(*span[j]) for j in cand]) if cand else np.zeros(0, dtype=np.int64)
            sub, sub_owner = pieces[rows], owner[rows]
            meets = engine.intersects(sub, b)
            deciders = sorted(set(sub_owner[meets].tolist()))
            first = deciders[0]
            piece = sub[meets & (sub_owner == first)][0] & b
            shadowed.append((order[k], [order[j] for j in deciders], engine.values(engine.point(piece))))
    gap = engine.values(engine.point(region[0])) if region.shape[0] else None
    return FirstResult(dead, shadowed, gap, region, boxes)
