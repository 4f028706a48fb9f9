"""Regions: the situations of a gap or an overlap as a finite list of disjoint parts,
each described in the guideline's words (`render.wording`) with a witness.

Two ways to find them:

- boxes (`boxes.BoxEngine`): when every condition involved is a box, or a union of
  boxes, over small finite domains, the region is computed exactly as disjoint boxes;
  boxes that differ in one dimension only are merged, so that a region reads as few
  tests as it can (`merge`);
- z3 (`enumerate_cubes`): otherwise, a region is a *cube* over the atomic tests
  (comparisons, memberships, text tests...) of the conditions: a model of the target is
  widened literal by literal while the cube stays inside the target and outside the
  cubes found before, then blocked. The cubes are disjoint and their union is the
  target; the enumeration stops at `MAX_COUNTED` cubes or when the time budget runs
  out, and says so.

A region carries `where` (plain words with names in backticks), the field values of a
witness situation, and for boxes the allowed values of each constrained field
(`values`, for tools that check regions against brute force).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import z3

from rubricdsl.core.values import value_text
from rubricdsl.language import ir

# regions a diagnostic's text shows; JSON output lists every region found
SHOWN = 10
# characters of a region's words a diagnostic's text shows (JSON output has them all)
WHERE_SHOWN = 400
# box regions listed: past this many, the rest is counted only
MAX_COUNTED = 10000
MAX_CUBES = 100
# a cube of at most this many tests is widened test by test; a longer one keeps its unsat core
WIDEN_MAX = 12
# with at most this many tests, a cube's point and its widening are the rubric's choice, not
# the solver's: the regions are the same with every release of z3
CANON_MAX = 40


@dataclass
class Region:
    where: str
    witness: dict[str, Any]  # field -> value (None for missing) of one situation in the region
    values: dict[str, list[Any]] | None = None  # boxes: enum, bool and integer fields -> allowed values (None: missing); set fields are in `where` only
    term: Any = None  # the region as a z3 Bool, over the analysis's encoder
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"where": self.where, "witness": self.witness}
        if self.values is not None:
            d["values"] = self.values
        return d


# ---- boxes ------------------------------------------------------------------------------------


def merge(boxes: np.ndarray) -> np.ndarray:
    """Merge disjoint boxes that agree on every dimension but one (their masks there are
    disjoint: the union is a box), until no two do. The result is disjoint and covers
    the same situations, in fewer boxes."""
    if boxes.shape[0] < 2:
        return boxes
    d = boxes.shape[1]
    changed = True
    while changed and boxes.shape[0] > 1:
        changed = False
        for i in range(d):
            key = boxes.copy()
            key[:, i] = 0
            kv = np.ascontiguousarray(key).view([("", key.dtype)] * d).ravel()
            uniq, inv = np.unique(kv, return_inverse=True)
            if uniq.shape[0] == boxes.shape[0]:
                continue
            inv = inv.ravel()
            merged = np.zeros((uniq.shape[0], d), dtype=boxes.dtype)
            merged[inv] = key
            col = np.zeros(uniq.shape[0], dtype=boxes.dtype)
            np.bitwise_or.at(col, inv, boxes[:, i])
            merged[:, i] = col
            boxes = merged
            changed = True
    return boxes


def box_region(engine: Any, b: np.ndarray, enc: Any = None) -> Region:
    """A box as a region: words for the dimensions it restricts, a witness (its lowest
    values), the allowed values per field, and its z3 term when `enc` is given."""
    words: list[str] = []
    values: dict[str, list[Any]] = {}
    terms: list[Any] = []
    sets: dict[str, tuple[list[str], list[str], Any]] = {}
    for i, dim in enumerate(engine.dims):
        m = int(b[i])
        f = dim.field
        if dim.role == "value":
            vals = [v for j, v in enumerate(dim.values) if m >> j & 1]
            values[f.name] = vals
            if m != dim.full:
                words.append(_value_words(f, vals, dim.values))
                if enc is not None:
                    terms.append(_value_term(enc, f, vals))
        elif dim.role == "member":
            yes, no, pres = sets.setdefault(f.name, ([], [], None))
            if m == 0b10:
                yes.append(dim.member)
            elif m == 0b01:
                no.append(dim.member)
        else:  # presence
            yes, no, _ = sets.setdefault(f.name, ([], [], None))
            sets[f.name] = (yes, no, {0b01: False, 0b10: True}.get(m))
    for name, (yes, no, pres) in sets.items():
        fv = enc.vars[name] if enc is not None else None
        f = next(d.field for d in engine.dims if d.field.name == name)
        if pres is False:
            words.append(f"`{name}` is not given")
            if fv is not None:
                terms.append(z3.Not(fv.present))
            continue
        members = list(f.type.enum.values) if f.type.enum is not None else []
        if yes:
            words.append(" and ".join(f"`{v}` is selected for `{name}`" for v in yes))
        if no and len(no) == len(members):
            words.append(f"nothing is selected for `{name}`")
        elif no:
            words.append(" and ".join(f"`{v}` is not selected for `{name}`" for v in no))
        if pres is True and not yes and not no:
            words.append(f"`{name}` is given")
        if fv is not None:
            if pres is True or (yes or no) and f.may_be_missing:
                terms.append(fv.present)
            by = dict(zip(members, fv.value))
            terms += [by[v] for v in yes] + [z3.Not(by[v]) for v in no]
    pt = engine.point(b)
    return Region(" and ".join(words) if words else "in every situation", engine.values(pt), values,
                  z3.And(terms) if enc is not None and terms else (z3.BoolVal(True) if enc is not None else None))


def _value_words(f: ir.FieldIR, vals: list[Any], domain: list[Any]) -> str:
    given = [v for v in vals if v is not None]
    missing = None in vals
    if not given:
        return f"`{f.name}` is not given"
    text = " or ".join(f"`{value_text(v)}`" for v in given)
    if f.type.kind in ("int", "scale") and len(given) > 2 and given == list(range(given[0], given[-1] + 1)):
        text = f"`{given[0]}` to `{given[-1]}`"
        out = f"`{f.name}` is {text}"
    elif f.type.kind == "bool":
        out = f"`{f.name}` is {text}"
    else:
        out = f"`{f.name}` is {text}"
    return out + " or is not given" if missing else out


def _value_term(enc: Any, f: ir.FieldIR, vals: list[Any]) -> Any:
    fv = enc.vars[f.name]
    parts = []
    for v in vals:
        if v is None:
            parts.append(z3.Not(fv.present))
            continue
        if f.type.kind == "enum":
            assert f.type.enum is not None
            eq = fv.value == enc.index(f.type.enum, v)
        elif f.type.kind == "bool":
            eq = fv.value == z3.BoolVal(bool(v))
        else:
            eq = fv.value == int(v)
        parts.append(z3.And(fv.present, eq))
    return z3.Or(parts) if parts else z3.BoolVal(False)


# ---- z3 cubes ---------------------------------------------------------------------------------


@dataclass
class Atom:
    """An atomic test: its z3 Bool and its words (true, false)."""

    term: Any
    yes: str
    no: str
    positive_first: bool = False  # kept in preference when widening (an enum value named)
    field: ir.FieldIR | None = None  # a required enum field the test compares with constants...
    values: frozenset | None = None  # ...and the values where it holds...
    domain: tuple | None = None  # ...among these (None: the field's enum values)


def atoms_of(exprs: list[Any], enc: Any, wording: Any) -> list[Atom]:
    """The atomic tests under the conditions (through lets), each once, in order."""
    from rubricdsl.language.walk import children  # noqa: PLC0415
    from rubricdsl.language.wording import plain  # noqa: PLC0415

    seen: dict[Any, Atom] = {}
    stack = [e for e in reversed(exprs) if e is not None]
    visited: set[int] = set()
    while stack:
        e = stack.pop()
        if id(e) in visited:
            continue
        visited.add(id(e))
        if isinstance(e, ir.LetRef):
            stack.append(e.let.expr)
            continue
        if isinstance(e, ir.Op) and e.op in ("and", "or", "not", "truth"):
            stack.extend(reversed(children(e)))
            continue
        if isinstance(e, ir.Const):
            continue
        t = enc.cond(e)
        if t.get_id() in seen or z3.is_true(t) or z3.is_false(t):
            continue
        f, vals, dom = _enum_test(e, enc)
        seen[t.get_id()] = Atom(t, plain(wording.say(e)), plain(wording.say(e, neg=True)),
                                isinstance(e, ir.Op) and e.op == "==", f, vals, dom)
    return list(seen.values())


@dataclass
class Cubes:
    cubes: list[tuple[list[tuple[Atom, bool]], Any]]  # (literals, a model inside)
    complete: bool  # every cube was found
    why: str = ""  # why not


def enumerate_cubes(solver: Any, target: Any, atoms: list[Atom], ask: Callable[..., Any], tag: str,
                    limit: int = MAX_CUBES, settle: Callable[[list[Any]], Any] | None = None) -> Cubes:
    """Disjoint cubes over `atoms` whose union is `target` (a z3 Bool that the atoms
    decide: two situations that agree on every atom agree on it). `ask(*literals)`
    checks the solver under assumptions (and raises OutOfTime when the budget is
    spent). `settle(literals)`, when given, picks the model kept for a cube
    (`witness.settle`: one that does not depend on the solver's choices). Runs inside
    a push of its own."""
    s = solver
    found: list[tuple[list[tuple[Atom, bool]], Any]] = []
    s.push()
    try:
        t = z3.Bool(f"region:{tag}")
        s.add(t == target)
        lits = []
        for i, a in enumerate(atoms):
            x = z3.Bool(f"atom:{tag}:{i}")
            s.add(x == a.term)
            lits.append(x)
        outside = z3.Bool(f"outside:{tag}:0")  # outside the target or in a cube found
        s.add(outside == z3.Not(t))
        while True:
            res = ask(z3.Not(outside))
            if res == z3.unknown:
                return Cubes(found, False, "solver timeout")
            if res != z3.sat:
                return Cubes(found, True)
            if len(found) >= limit:
                return Cubes(found, False, "more regions than are counted")
            m = s.model()
            pol = [z3.is_true(m.eval(x, model_completion=True)) for x in lits]
            canonical = len(atoms) <= CANON_MAX
            if canonical:
                pol = _first_point(s, ask, outside, lits, atoms, pol)
            keep = list(range(len(atoms)))

            def lit(i: int) -> Any:
                return lits[i] if pol[i] else z3.Not(lits[i])

            point = [lit(i) for i in keep]
            if ask(outside, *point) != z3.unsat:
                return Cubes(found, False, "the tests do not separate this region")
            # widen: drop literals while the cube stays inside (each try is a solver
            # question), named values last; a long cube first keeps its unsat core (which
            # is the solver's choice: the regions then depend on the solver's release)
            if not canonical:
                core = {c.get_id() for c in s.unsat_core()}
                keep = [i for i, x in zip(keep, point) if x.get_id() in core]
            if canonical or len(keep) <= WIDEN_MAX:
                order = sorted(keep, key=lambda i: (pol[i] and atoms[i].positive_first, i))
                for i in order:
                    trial = [j for j in keep if j != i]
                    if ask(outside, *[lit(j) for j in trial]) == z3.unsat:
                        keep = trial
            if settle is not None:
                settled = settle([lit(i) for i in keep])
                m = m if settled is None else settled
            found.append(([(atoms[i], pol[i]) for i in keep], m))
            nxt = z3.Bool(f"outside:{tag}:{len(found)}")
            s.add(nxt == z3.Or(outside, z3.And([lit(i) for i in keep])))
            outside = nxt
    finally:
        s.pop()


def _first_point(s: Any, ask: Callable[..., Any], outside: Any, lits: list[Any], atoms: list[Atom],
                 pol: list[bool]) -> list[bool]:
    """The polarities of the next cube's point, chosen as the rubric decides and not as the
    solver does: atom by atom, in order, the preferred one when it can hold with those
    before (a named enum value true, any other test false). `pol` (the solver's model)
    when a question could not be answered."""
    fixed = [z3.Not(outside)]
    out: list[bool] = []
    m = s.model()
    for x, a in zip(lits, atoms):
        want = a.positive_first
        first = x if want else z3.Not(x)
        if z3.is_true(m.eval(first, model_completion=True)):
            out.append(want)
            fixed.append(first)
            continue
        res = ask(*fixed, first)
        if res == z3.sat:
            m = s.model()
            out.append(want)
            fixed.append(first)
        elif res == z3.unsat:
            out.append(not want)
            fixed.append(z3.Not(first))
        else:
            return pol
    return out


def _enum_test(e: Any, enc: Any) -> tuple[ir.FieldIR | None, frozenset | None, tuple | None]:
    """(field, values where the test holds, the values it ranges over: the encoder's, two
    versions' in a diff) of `f == v`, `f != v`, `f in {..}`, `f not in {..}` on a required
    enum field; (None, None, None) for any other test."""
    none = None, None, None
    if not isinstance(e, ir.Op) or e.op not in ("==", "!=", "in", "not in") or len(e.args) != 2:
        return none
    a, b = e.args
    while isinstance(a, ir.LetRef):
        a = a.let.expr
    while isinstance(b, ir.LetRef):
        b = b.let.expr
    if isinstance(a, ir.Const) and isinstance(b, ir.FieldRef) and e.op in ("==", "!="):
        a, b = b, a
    if not (isinstance(a, ir.FieldRef) and isinstance(b, ir.Const)):
        return none
    f = a.field
    if f.type.kind != "enum" or f.type.enum is None or f.may_be_missing:
        return none
    if e.op in ("in", "not in"):
        if getattr(e, "mode", "const") != "const":
            return none
        named = frozenset(b.value)
    else:
        named = frozenset([b.value])
    space = tuple(enc.space_of(f.type.enum))
    dom = frozenset(space)
    return f, (named & dom) if e.op in ("==", "in") else dom - named, space


def cube_words(lits: list[tuple[Atom, bool]]) -> str:
    """A cube in words; the tests of one enum field read as the values left."""
    parts: list[str] = []
    # a field's values: those of every test of it (two versions of an enum in a diff)
    domains: dict[str, list[Any]] = {}
    for a, _ in lits:
        if a.field is not None and a.values is not None and a.field.type.enum is not None:
            dom = domains.setdefault(a.field.name, [])
            dom += [v for v in (a.domain or a.field.type.enum.values) if v not in dom]
    fields: dict[str, frozenset] = {}
    order: list[Any] = []
    for a, p in lits:
        if a.field is not None and a.values is not None and a.field.type.enum is not None:
            dom = frozenset(domains[a.field.name])
            allowed = a.values if p else dom - a.values
            if a.field.name not in fields:
                order.append(a.field.name)
            fields[a.field.name] = fields.get(a.field.name, dom) & allowed
        else:
            order.append((a, p))
    for item in order:
        if isinstance(item, str):
            shown = [v for v in domains[item] if v in fields[item]]
            parts.append(f"`{item}` is " + " or ".join(f"`{v}`" for v in shown) if shown else "never")
        else:
            a, p = item
            parts.append(a.yes if p else a.no)
    return " and ".join(parts) or "in every situation"


def cube_term(lits: list[tuple[Atom, bool]]) -> Any:
    return z3.And([a.term if p else z3.Not(a.term) for a, p in lits]) if lits else z3.BoolVal(True)


def notes_of(kind: str, regions: list[Region], total: int, complete: bool, why: str = "") -> list[str]:
    """The lines a diagnostic's text shows for its regions: up to SHOWN, then a count."""
    out = []
    n = len(regions)
    for i, r in enumerate(regions[:SHOWN], 1):
        from rubricdsl.core.values import data_text  # noqa: PLC0415

        where = r.where if len(r.where) <= WHERE_SHOWN else r.where[:WHERE_SHOWN].rsplit(" and ", 1)[0] + " and …"
        out.append(f"{kind} region {i} of {total if complete else f'{n}+'}: {where}; "
                   f"e.g. {data_text(r.witness, spaced=True)}")
    rest = total - min(n, SHOWN) if complete else n - min(n, SHOWN)
    if rest > 0:
        out.append(f"and {rest} more {kind} region{'s' if rest != 1 else ''}" + ("" if complete else " found"))
    return out
