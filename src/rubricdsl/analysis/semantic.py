"""Semantic comparison of two rubric versions with z3, reusing lint's encoding.

For each decided label, rule and escalation present in both versions, over the
situations valid in both (see `encode`):

- a rule: the situations where it reports a violation;
- an escalation: the situations where it fires;
- a decision: per situation, whether an arm covers it, which values it allows,
  and whether it is ambiguous.

`equivalent` when they agree everywhere; `narrower` when NEW flags (or allows) a
subset of what OLD does; `broader` for a superset; `changed` otherwise. Every
non-equivalent result carries a witness situation and what OLD and NEW say there.
The same is done for all rules of one severity taken together, so that a rule split
in two (or two merged into one) compares as what it is.

Two versions share a field's variables only when its type and presence are the same
in both; a check that reads a field whose type changed is reported as `changed`
with the reason, without a witness.

The comparison runs within a time budget (`budget`, `rubric diff --timeout`): what
the solver cannot decide, or what the budget leaves no time for, is `undecided`, with
the reason (RB209). One solver serves every question, each pushing the domain of the
fields it reads; a `first` decision's arms count through a running disjunction of
the arms before them (a Bool per prefix), so the encoding is linear in the arms.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import z3

from rubricdsl.language import ir
from rubricdsl.analysis.budget import Budget, OutOfTime
from rubricdsl.analysis.encode import Encoder, Solver, Unsupported, interruptible, model_value
from rubricdsl.analysis.witness import settle, synthesise_text


@dataclass
class SemanticChange:
    what: str  # decide | rule | escalation | rules
    name: str
    status: str  # equivalent | narrower | broader | changed | undecided
    witness: dict[str, Any] | None = None
    old_says: str | None = None
    new_says: str | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": "semantic", "what": self.what, "name": self.name, "status": self.status}
        if self.witness is not None:
            d["witness"] = self.witness
            d["old"] = self.old_says
            d["new"] = self.new_says
        if self.reason:
            d["reason"] = self.reason
        return d


@dataclass
class CoverageChange:
    """A region of situations where a decision's gap or overlap opens or closes."""

    name: str  # the decided label
    change: str  # opens gap | closes gap | opens overlap | closes overlap
    where: str  # the region in the guideline's words
    witness: dict[str, Any] | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": "coverage", "what": "decide", "name": self.name, "change": self.change,
                             "where": self.where}
        if self.witness is not None:
            d["witness"] = self.witness
        if self.reason:
            d["reason"] = self.reason
        return d


# regions listed per change of one decision (opens gap, closes gap, ...)
COVERAGE_SHOWN = 10


def _comparable(old: ir.RubricIR, new: ir.RubricIR) -> tuple[set[str], dict[ir.EnumType, tuple[str, ...]]]:
    """Fields both versions can share variables for, and the index space of enums whose
    values changed (old values, then the new ones): a record is compared only where it
    is valid in both versions."""
    of = {f.name: f for f in old.fields}
    same: set[str] = set()
    space: dict[ir.EnumType, tuple[str, ...]] = {}
    clash: set[ir.EnumType] = set()
    for f in new.fields:
        o = of.get(f.name)
        if o is None or f.may_be_missing != o.may_be_missing or f.type.kind != o.type.kind:
            continue
        if f.type == o.type:
            same.add(f.name)
            continue
        if f.type.kind in ("int", "scale", "number"):
            same.add(f.name)  # one variable; each version's range is a constraint of its own
        elif f.type.kind in ("enum", "set") and o.type.enum is not None and f.type.enum is not None:
            had = set(o.type.enum.values)  # not a scan per value: an enum may hold many thousand
            union = tuple(o.type.enum.values) + tuple(v for v in f.type.enum.values if v not in had)
            for enum in (o.type.enum, f.type.enum):
                if space.get(enum, union) != union:
                    clash.add(enum)
                space[enum] = union
            same.add(f.name)
    for f in new.fields:
        o = of.get(f.name)
        if o is not None and (o.type.enum in clash or f.type.enum in clash):
            same.discard(f.name)
    return same, space


def _scope(rubric: ir.RubricIR, enc: Encoder, crit: str | None) -> Any:
    c = rubric.criterion(crit) if crit else None
    return enc.cond(c.applies) if c is not None and c.applies is not None else z3.BoolVal(True)


def _decide_terms(d: ir.DecideIR, enc: Encoder, rubric: ir.RubricIR, defs: list[Any], side: str
                  ) -> tuple[Any, Any, dict[Any, Any], Any]:
    """(active, covered, allowed per value, ambiguous) of a decide in one version; `defs`
    receives the definitions of the Bools the terms use."""
    label = enc.vars[d.label.name]
    active = z3.And(_scope(rubric, enc, d.criterion), label.present)
    edges = [a for a in d.arms if a.kind == "edge"]
    plain = [a for a in d.arms if a.kind == "when"]
    other = [a for a in d.arms if a.kind == "otherwise"]
    conds = {a.number: enc.cond(a.cond) for a in edges + plain}
    any_edge = z3.Or([conds[a.number] for a in edges]) if edges else z3.BoolVal(False)
    any_plain = z3.Or([conds[a.number] for a in plain]) if plain else z3.BoolVal(False)
    counts: dict[int, Any] = {}
    tag = f"{side}:{d.index}"
    if d.first:
        before: Any = None  # one of the arms so far matches
        for a in edges + plain:
            counts[a.number] = conds[a.number] if before is None else z3.And(conds[a.number], z3.Not(before))
            x = z3.Bool(f"before:{tag}:{a.number}")
            defs.append(x == (conds[a.number] if before is None else z3.Or(before, conds[a.number])))
            before = x
        for a in other:
            counts[a.number] = z3.Not(before) if before is not None else z3.BoolVal(True)
    else:
        for a in edges:
            counts[a.number] = conds[a.number]
        for a in plain:
            counts[a.number] = z3.And(z3.Not(any_edge), conds[a.number])
        for a in other:
            counts[a.number] = z3.And(z3.Not(any_edge), z3.Not(any_plain))
    values = d.label.type.enum.values if d.label.type.enum is not None else (
        (True, False) if d.label.type.kind == "bool" else tuple(range(int(d.label.type.lo or 0), int(d.label.type.hi or 0) + 1)))
    allowed = {v: z3.Or([counts[a.number] for a in d.arms if v in a.values] or [z3.BoolVal(False)]) for v in values}
    covered = z3.Or(list(counts.values())) if counts else z3.BoolVal(False)
    ambiguous: Any = z3.BoolVal(False)
    if not d.first:
        # two counting arms that allow different values: two of the groups of arms (by
        # the values they allow) have a counting arm
        groups: dict[frozenset, list[Any]] = {}
        for a in d.arms:
            groups.setdefault(a.allowed, []).append(counts[a.number])
        some = [z3.Or(g) for g in groups.values()]
        if len(some) == 2:
            ambiguous = z3.And(some)
        elif len(some) > 2:
            ambiguous = z3.AtLeast(*some, 2)
    return active, covered, allowed, ambiguous


def compare(old: ir.RubricIR, new: ir.RubricIR, budget: Budget | None = None) -> list[SemanticChange]:
    """The semantic changes from OLD to NEW, within the budget (by default
    `budget.DEFAULT_SECONDS` from now)."""
    return compare_all(old, new, budget)[0]


def compare_all(old: ir.RubricIR, new: ir.RubricIR, budget: Budget | None = None
                ) -> tuple[list[SemanticChange], list[CoverageChange]]:
    """`compare`, and the gaps and overlaps each decision opens or closes."""
    with interruptible():
        c = Comparison(old, new, budget if budget is not None else Budget())
        return c.run(), c.coverage


class Comparison:
    """One comparison of two versions: their encodings over shared variables, and the
    changes found, in the order rules, escalations, rules by severity, decisions."""

    def __init__(self, old: ir.RubricIR, new: ir.RubricIR, budget: Budget) -> None:
        self.old, self.new = old, new
        self.budget = budget
        self.same, space = _comparable(old, new)
        self.eo = Encoder(old, space=space)
        self.en = Encoder(new, frozenset(f.name for f in new.fields) - self.same, space=space)
        self.s = Solver()
        self.names: set[str] = set()  # the fields the comparison under way reads
        self.out: list[SemanticChange] = []
        self.coverage: list[CoverageChange] = []

    def run(self) -> list[SemanticChange]:
        todo: list[tuple[str, Callable[[], None]]] = []
        before = {x.name: x for x in self.old.rules}
        for x in self.new.rules:
            if x.name in before:
                todo.append(("rule " + x.name, lambda x=x: self.checks(
                    "rule", before[x.name], x, _violation, lambda r: ("violation", "no violation"))))
        before_e = {x.name: x for x in self.old.escalations}
        for x in self.new.escalations:
            if x.name in before_e:
                todo.append(("escalation " + x.name, lambda x=x: self.checks(
                    "escalation", before_e[x.name], x, _fires, lambda e: (f"escalated to {e.target}", "not escalated"))))
        for sev in ("error", "warning", "info"):
            todo.append(("rules " + sev, lambda sev=sev: self.severity(sev)))
        odec = {d.label.name: d for d in self.old.decides}
        for d in self.new.decides:
            o = odec.get(d.label.name)
            if o is not None:
                todo.append(("decide " + d.label.name, lambda o=o, d=d: self.decide(o, d)))
        for key, job in todo:
            what, name = key.split(" ", 1)
            if what == "rules":
                what, name = "rules", f"all {name} rules"
            n = len(self.out)
            try:
                job()
            except OutOfTime:
                del self.out[n:]
                if what != "rules" or self._names_differ(name.split()[1]):
                    self.out.append(SemanticChange(
                        what, name, "undecided",
                        reason=f"RB209: not compared, the time budget ({self.budget.describe()}) ran out"))
        return self.out

    def _names_differ(self, sev: str) -> bool:
        """Whether the rules of one severity are compared together (their names differ)."""
        ro = {r.name for r in self.old.rules if r.severity == sev}
        rn = {r.name for r in self.new.rules if r.severity == sev}
        return bool(ro or rn) and ro != rn

    # ---- the solver and what it finds ------------------------------------------------------

    def solve(self, *cs: Any) -> Any:
        """Whether the constraints can hold together (over the fields `self.names`), and a
        model when they can."""
        s = self.s
        ms = self.budget.question_ms()
        s.push()
        try:
            s.add(*self.eo.domain_for(self.names), *self.en.domain_for(self.names))
            s.add(*cs)
            s.set("timeout", ms)
            r = s.check()
            model = s.model() if r == z3.sat else None
        finally:
            s.pop()
        if r == z3.unknown and self.budget.expired():
            raise OutOfTime
        return r, model

    def witness(self, model: Any, names: set[str]) -> dict[str, Any]:
        w: dict[str, Any] = {}
        for name in sorted(names):
            enc = self.en if name in self.en.vars else self.eo
            present, value = model_value(enc, model, name)
            if enc.vars[name].f.type.kind == "text" and present:
                value, _ = synthesise_text(enc, model, name)  # the same text a lint witness shows
            w[name] = value if present else None
        return w

    def changed_types(self, *sets: frozenset[str]) -> list[str]:
        """The fields among `sets` whose type changed (no shared variables)."""
        return sorted({n for s in sets for n in s} - self.same)

    def flags(self, what: str, name: str, v_old: Any, v_new: Any, names: set[str], yes: str, no: str) -> None:
        """Compare where each version flags a record (a violation, an escalation)."""
        r1, m1 = self.solve(v_old, z3.Not(v_new))  # OLD flags, NEW does not
        r2, m2 = self.solve(v_new, z3.Not(v_old))  # NEW flags, OLD does not
        if z3.unknown in (r1, r2):
            self.out.append(SemanticChange(what, name, "undecided", reason=UNDECIDED))
            return
        if r1 == z3.unsat and r2 == z3.unsat:
            self.out.append(SemanticChange(what, name, "equivalent"))
        elif r1 == z3.sat and r2 == z3.sat:
            self.out.append(SemanticChange(what, name, "changed", self.witness(m2, names), no, yes))
        elif r1 == z3.sat:
            self.out.append(SemanticChange(what, name, "narrower", self.witness(m1, names), yes, no))
        else:
            self.out.append(SemanticChange(what, name, "broader", self.witness(m2, names), no, yes))

    # ---- rules and escalations -------------------------------------------------------------

    def checks(self, what: str, o: Any, x: Any, term: Callable, yes: Callable) -> None:
        """A rule or escalation in both versions: the situations where each flags a record."""
        bad = self.changed_types(o.mentions, x.mentions)
        if bad:
            self.out.append(SemanticChange(what, x.name, "changed",
                                           reason="reads fields whose type changed: " + ", ".join(bad)))
            return
        try:
            f_old, f_new = term(o, self.eo, self.old), term(x, self.en, self.new)
        except Unsupported as exc:
            self.out.append(SemanticChange(what, x.name, "changed", reason=f"not comparable: {exc}"))
            return
        self.names = set(o.mentions | x.mentions)
        self.flags(what, x.name, f_old, f_new, set(o.mentions | x.mentions), *yes(x))

    def severity(self, sev: str) -> None:
        """All rules of one severity together, so that a rule split in two (or two merged
        into one) compares as what it is; only when the names differ."""
        ro = [r for r in self.old.rules if r.severity == sev]
        rn = [r for r in self.new.rules if r.severity == sev]
        if not ro and not rn or {r.name for r in ro} == {r.name for r in rn}:
            return
        names = set().union(*(r.mentions for r in ro + rn))
        if self.changed_types(frozenset(names)):
            return
        try:
            v_old = z3.Or([_violation(r, self.eo, self.old) for r in ro]) if ro else z3.BoolVal(False)
            v_new = z3.Or([_violation(r, self.en, self.new) for r in rn]) if rn else z3.BoolVal(False)
        except Unsupported:
            return
        self.names = set(names)
        self.flags("rules", f"all {sev} rules", v_old, v_new, set(names), "a violation", "no violation")

    # ---- decisions -------------------------------------------------------------------------

    def decide(self, o: ir.DecideIR, d: ir.DecideIR) -> None:
        """A decision in both versions: where coverage, an allowed value or ambiguity differs."""
        name = d.label.name
        bad = self.changed_types(o.mentions, d.mentions)
        if bad or o.label.type.kind != d.label.type.kind:
            self.out.append(SemanticChange("decide", name, "changed",
                                           reason="reads fields whose type changed: " + ", ".join(bad or [name])))
            return
        defs: list[Any] = []
        try:
            a_o, c_o, al_o, amb_o = _decide_terms(o, self.eo, self.old, defs, "old")
            a_n, c_n, al_n, amb_n = _decide_terms(d, self.en, self.new, defs, "new")
        except Unsupported as e:
            self.out.append(SemanticChange("decide", name, "changed", reason=f"not comparable: {e}"))
            return
        names = set(o.mentions | d.mentions)
        self.names = names
        self.s.add(*defs)  # definitions of fresh Bools: they hold in every situation
        self._meaning(name, names, (a_o, c_o, al_o, amb_o), (a_n, c_n, al_n, amb_n))
        self.gaps_and_overlaps(o, d, names, (a_o, c_o, amb_o), (a_n, c_n, amb_n))

    def _meaning(self, name: str, names: set[str], old: tuple, new: tuple) -> None:
        a_o, c_o, al_o, amb_o = old
        a_n, c_n, al_n, amb_n = new
        on = z3.Or(a_o, a_n)
        # a situation where the outcome differs: coverage, ambiguity or an allowed value
        differ_cov = z3.Or(a_o != a_n, z3.And(a_o, c_o != c_n))
        false = z3.BoolVal(False)
        lost = z3.Or([z3.And(a_o, a_n, c_o, c_n, al_o[v], z3.Not(al_n.get(v, false))) for v in al_o])
        gained = z3.Or([z3.And(a_o, a_n, c_o, c_n, al_n[v], z3.Not(al_o.get(v, false))) for v in al_n])
        r_cov, m_cov = self.solve(on, differ_cov)
        r_lost, m_lost = self.solve(lost)
        r_gain, m_gain = self.solve(gained)
        if z3.unknown in (r_cov, r_lost, r_gain):
            self.out.append(SemanticChange("decide", name, "undecided", reason=UNDECIDED))
            return
        if r_cov == z3.unsat and r_lost == z3.unsat and r_gain == z3.unsat:
            r_amb, m_amb = self.solve(a_o, a_n, amb_o != amb_n)
            if r_amb == z3.unsat:
                self.out.append(SemanticChange("decide", name, "equivalent"))
            elif m_amb is None:
                self.out.append(SemanticChange("decide", name, "undecided", reason=UNDECIDED))
            else:
                self.out.append(SemanticChange(
                    "decide", name, "changed", self.witness(m_amb, names),
                    _says(m_amb, a_o, c_o, al_o, amb_o), _says(m_amb, a_n, c_n, al_n, amb_n)))
            return
        status = ("changed" if r_cov == z3.sat or (r_lost == z3.sat and r_gain == z3.sat)
                  else "narrower" if r_lost == z3.sat else "broader")
        model = m_cov if r_cov == z3.sat else (m_lost if r_lost == z3.sat else m_gain)
        self.out.append(SemanticChange("decide", name, status, self.witness(model, names),
                                       _says(model, a_o, c_o, al_o, amb_o), _says(model, a_n, c_n, al_n, amb_n)))

    def gaps_and_overlaps(self, o: ir.DecideIR, d: ir.DecideIR, names: set[str], old: tuple, new: tuple) -> None:
        """The regions where a gap or an overlap opens (NEW has it where OLD had not, or
        where the record was not valid in OLD: a new enum value) or closes, each as
        disjoint regions with a witness, up to COVERAGE_SHOWN per change."""
        from rubricdsl.analysis import regions as R  # noqa: PLC0415
        from rubricdsl.language.wording import Wording  # noqa: PLC0415

        a_o, c_o, amb_o = old
        a_n, c_n, amb_n = new
        valid_o = z3.And(self.eo.domain_for(names) or [z3.BoolVal(True)])
        valid_n = z3.And(self.en.domain_for(names) or [z3.BoolVal(True)])
        gap_o, gap_n = z3.And(valid_o, a_o, z3.Not(c_o)), z3.And(valid_n, a_n, z3.Not(c_n))
        ovl_o, ovl_n = z3.And(valid_o, a_o, amb_o), z3.And(valid_n, a_n, amb_n)
        atoms = []
        for dec, enc, rubric in ((o, self.eo, self.old), (d, self.en, self.new)):
            crit = rubric.criterion(dec.criterion) if dec.criterion else None
            exprs = [a.cond for a in dec.arms] + ([crit.applies] if crit is not None else [])
            atoms += R.atoms_of(exprs, enc, Wording(rubric))
        read = set().union(*(a.cond.mentions for a in o.arms + d.arms if a.cond is not None))
        atoms += self._value_atoms(names - ({d.label.name} - read))  # the label's own value decides nothing

        def ask(*a: Any) -> Any:
            self.s.set("timeout", self.budget.question_ms())
            r = self.s.check(*a)
            if r == z3.unknown and self.budget.expired():
                raise OutOfTime
            return r

        tag = f"{d.label.name}"
        self.s.push()
        try:
            self.s.add(z3.Or(valid_o, valid_n))  # a situation valid in at least one version
            self._coverage_regions(d, names, atoms, ask, tag, gap_o, gap_n, ovl_o, ovl_n)
        finally:
            self.s.pop()

    def _coverage_regions(self, d: ir.DecideIR, names: set[str], atoms: list[Any], ask: Any, tag: str,
                          gap_o: Any, gap_n: Any, ovl_o: Any, ovl_n: Any) -> None:
        from rubricdsl.analysis import regions as R  # noqa: PLC0415

        order = [(self.en if name in self.en.vars else self.eo, name) for name in sorted(names)]
        for change, target in (("opens gap", z3.And(gap_n, z3.Not(gap_o))),
                               ("closes gap", z3.And(gap_o, z3.Not(gap_n))),
                               ("opens overlap", z3.And(ovl_n, z3.Not(ovl_o))),
                               ("closes overlap", z3.And(ovl_o, z3.Not(ovl_n)))):
            if ask(target) != z3.sat:
                continue
            cubes = R.enumerate_cubes(self.s, target, atoms, ask, f"{change}:{tag}", limit=COVERAGE_SHOWN,
                                      settle=lambda lits: settle(self.s, ask, lits, order))
            for lits, model in cubes.cubes:
                self.coverage.append(CoverageChange(d.label.name, change, R.cube_words(lits),
                                                    self.witness(model, names)))
            if not cubes.complete:
                self.coverage.append(CoverageChange(
                    d.label.name, change, "more situations than the regions listed",
                    reason=f"RB209: not every region was listed ({cubes.why})"))

    def _value_atoms(self, names: set[str]) -> list[Any]:
        """`f is v` for each value of the enum and bool fields read, in either version: the
        tests that separate a value one version has and the other has not."""
        from rubricdsl.analysis.regions import Atom  # noqa: PLC0415

        out = []
        for name in sorted(names):
            enc = self.en if name in self.en.vars else self.eo
            fv = enc.vars[name]
            t = fv.f.type
            if t.kind != "enum" or t.enum is None:
                continue
            required = not fv.f.may_be_missing
            for v in enc.space_of(t.enum):
                out.append(Atom(z3.And(fv.present, fv.value == enc.index(t.enum, v)),
                                f"`{name}` is `{v}`", f"`{name}` is not `{v}`", True,
                                fv.f if required else None, frozenset([v]) if required else None,
                                enc.space_of(t.enum) if required else None))
        return out


UNDECIDED = "RB209: the solver could not decide within its time limit"


def _says(model: Any, active: Any, covered: Any, allowed: dict, amb: Any) -> str:
    """What a decision says in a model's situation."""
    def ev(x: Any) -> bool:
        return z3.is_true(model.eval(x, model_completion=True))

    if not ev(active):
        return "not decided here"
    if not ev(covered):
        return "uncovered"
    vals = [_fmt(v) for v, x in allowed.items() if ev(x)]
    return ("ambiguous: " if ev(amb) else "") + ", ".join(vals)


def _fires(e: ir.EscalateIR, enc: Encoder, rubric: ir.RubricIR) -> Any:
    return z3.And(_scope(rubric, enc, e.criterion), enc.cond(e.when))


def _violation(r: ir.RuleIR, enc: Encoder, rubric: ir.RubricIR) -> Any:
    when = enc.cond(r.when) if r.when is not None else z3.BoolVal(True)
    return z3.And(_scope(rubric, enc, r.criterion), when, z3.Not(enc.cond(r.require)))


def _fmt(v: Any) -> str:
    return "true" if v is True else "false" if v is False else str(v)
