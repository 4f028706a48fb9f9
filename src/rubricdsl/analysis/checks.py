"""Static analysis of a compiled rubric with z3: dead conditions, vacuous and
always-violated requirements, gaps, overlaps, shadowed arms and useless edge cases,
each with a witness situation where one exists.

Every check is decided exactly over the encoding of `encode` (text tests are opaque
atoms there). A solver timeout or a construct the encoding cannot express becomes
its own diagnostic (RB209), never a silent skip.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import z3

from rubricdsl.language import ir
from rubricdsl.core.diagnostics import Diagnostic
from rubricdsl.analysis.encode import Encoder, Solver, Unsupported, check_assumptions, interruptible
from rubricdsl.core.interrupts import poll_interrupt
from rubricdsl.core.source import Span
from rubricdsl.core.values import value_text
from rubricdsl.analysis.witness import record_from_values, situation

DEFAULT_TIMEOUT_MS = 20_000


@dataclass
class _Scope:
    constraints: list[Any]
    names: set[str]


class Analyzer:
    def __init__(self, rubric: ir.RubricIR, file: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        self.r = rubric
        self.file = file
        self.timeout_ms = timeout_ms
        self.out: list[Diagnostic] = []
        self.enc = Encoder(rubric)
        # the judgments `skip when` leaves out are never checked: the analysis looks only
        # at the others (a condition beyond the encoding narrows nothing)
        self.not_skipped: list[Any] = []
        if rubric.record_skip is not None:
            try:
                self.not_skipped = [z3.Not(self.enc.cond(rubric.record_skip))]
            except Unsupported:
                pass

    # ---- helpers ---------------------------------------------------------------------

    def _solver(self, *constraints: Any) -> z3.Solver:
        s = Solver()
        s.set("timeout", self.timeout_ms)
        s.add(*self.enc.domain)
        s.add(*self.not_skipped)
        for c in constraints:
            s.add(c)
        return s

    def _check(self, *constraints: Any) -> tuple[Any, Any]:
        s = self._solver(*constraints)
        res = s.check()
        return res, (s.model() if res == z3.sat else None)

    def _diag(self, code: str, check: str, message: str, span: Span, help: str | None = None,
              model: Any = None, names: set[str] | None = None, label: tuple[ir.FieldIR, Any] | None = None,
              notes: list[str] | None = None, values: dict[str, Any] | None = None) -> None:
        d = Diagnostic(code, message, span, self.file, help)
        d.notes.extend(notes or [])
        d.check_override = check
        exact = True
        if values is not None:
            witness, record = record_from_values(self.r, values, sorted(names) if names is not None else None)
        elif model is not None:
            witness, record, exact = situation(self.enc, model, sorted(names) if names is not None else None)
        if values is not None or model is not None:
            if label is not None:
                from rubricdsl.core.paths import put  # noqa: PLC0415

                f, value = label
                put(record, f.path, value, self.r.record_each)
                witness[f.name] = value
            d.witness = witness
            d.record = record
            if not exact:
                d.notes.append("the witness's text could not be made to satisfy every text test exactly; "
                               "text tests are opaque to the analysis")
        self.out.append(d)

    def _incomplete(self, check: str, what: str, span: Span, why: str) -> None:
        help_ = ("raise the solver time limit with --timeout, or simplify the condition" if "timeout" in why
                 else "the analysis treats this construct as beyond its encoding; rewrite it with the "
                      "supported tests, or check this part by hand")
        d = Diagnostic("RB209", f"could not decide whether {what}: {why}", span, self.file, help=help_)
        d.check_override = check
        self.out.append(d)

    def _scope(self, crit: str | None) -> _Scope | None:
        c = self.r.criterion(crit) if crit else None
        if c is None or c.applies is None:
            return _Scope([], set())
        return _Scope([self.enc.cond(c.applies)], set(c.applies.mentions))

    # ---- entry -----------------------------------------------------------------------

    def run(self) -> list[Diagnostic]:
        dead_criteria: set[str] = set()
        for c in self.r.criteria:
            if c.applies is None:
                continue
            try:
                res, _ = self._check(self.enc.cond(c.applies))
            except Unsupported as e:
                self._incomplete("dead", f"`applies when` of criterion `{c.name}` can hold", c.applies.span, str(e))
                continue
            if res == z3.unsat:
                dead_criteria.add(c.name)
                self._diag("RB201", "dead", f"`applies when` of criterion `{c.name}` can never hold",
                           c.applies.span, help="nothing in this criterion is ever checked; fix or remove the condition")
            elif res == z3.unknown:
                self._incomplete("dead", f"`applies when` of criterion `{c.name}` can hold", c.applies.span, "solver timeout")
        for r in self.r.rules:
            if r.criterion not in dead_criteria:
                self._guard(self._rule, r)
        for e in self.r.escalations:
            if e.criterion not in dead_criteria:
                self._guard(self._escalation, e)
        for d in self.r.decides:
            if d.criterion not in dead_criteria:
                self._guard(self._decide, d)
        return self.out

    def _guard(self, fn, obj) -> None:
        poll_interrupt()
        try:
            fn(obj)
        except Unsupported as e:
            self._incomplete("dead", f"`{getattr(obj, 'name', None) or obj.label.name}` is sound", obj.span,
                             f"the analysis cannot express {e}")

    # ---- rules and escalations --------------------------------------------------------

    def _rule(self, r: ir.RuleIR) -> None:
        sc = self._scope(r.criterion)
        assert sc is not None
        base = list(sc.constraints)
        names = set(sc.names) | set(r.mentions)
        if r.when is not None:
            when = self.enc.cond(r.when)
            res, model = self._check(*base, when)
            if res == z3.unsat:
                self._diag("RB201", "dead", f"the `when` of rule `{r.name}` can never hold", r.when.span,
                           help="the rule never applies; fix the condition or remove the rule")
                return
            if res == z3.unknown:
                self._incomplete("dead", f"the `when` of rule `{r.name}` can hold", r.when.span, "solver timeout")
                return
            base.append(when)
        else:
            res, model = self._check(*base)
        req = self.enc.cond(r.require)
        res_v, model_v = self._check(*base, z3.Not(req))
        if res_v == z3.unsat:
            self._diag("RB202", "vacuous", f"the `require` of rule `{r.name}` always holds where the rule applies",
                       r.require.span, help="the rule can never be violated; it checks nothing",
                       model=model, names=names)
            return
        if res_v == z3.unknown:
            self._incomplete("vacuous", f"rule `{r.name}` can be violated", r.require.span, "solver timeout")
            return
        res_h, _ = self._check(*base, req)
        if res_h == z3.unsat:
            self._diag("RB203", "always_violated",
                       f"the `require` of rule `{r.name}` can never hold where the rule applies",
                       r.require.span, help="every record the rule applies to violates it; the requirement "
                       "contradicts the `when` or the field types", model=model_v, names=names)
        elif res_h == z3.unknown:
            self._incomplete("always_violated", f"rule `{r.name}` can hold", r.require.span, "solver timeout")

    def _escalation(self, e: ir.EscalateIR) -> None:
        sc = self._scope(e.criterion)
        assert sc is not None
        res, _ = self._check(*sc.constraints, self.enc.cond(e.when))
        if res == z3.unsat:
            self._diag("RB201", "dead", f"the `when` of escalation `{e.name}` can never hold", e.when.span,
                       help="nothing is ever escalated to " + e.target)
        elif res == z3.unknown:
            self._incomplete("dead", f"escalation `{e.name}` can fire", e.when.span, "solver timeout")

    # ---- decisions ---------------------------------------------------------------------

    def _decide(self, d: ir.DecideIR) -> None:
        if d.first and not self.not_skipped and self._first_by_boxes(d):  # boxes know no `skip when`
            return
        sc = self._scope(d.criterion)
        assert sc is not None
        label = d.label
        lv = self.enc.vars[label.name]
        names = set(sc.names) | set(d.mentions)
        s = self._solver(*sc.constraints, lv.present)
        edges = [a for a in d.arms if a.kind == "edge"]
        plain = [a for a in d.arms if a.kind == "when"]
        other = [a for a in d.arms if a.kind == "otherwise"]
        lit: dict[int, Any] = {}
        for a in edges + plain:
            x = z3.Bool(f"arm:{d.index}:{a.number}")
            s.add(x == self.enc.cond(a.cond))
            lit[a.number] = x
        dead: set[int] = set()
        for a in edges + plain:
            res = s.check(lit[a.number])
            if res == z3.unsat:
                dead.add(a.number)
                self._diag("RB201", "dead", f"{_arm(a)} of `decide {label.name}` can never match", a.span,
                           help="remove the arm or fix its condition")
            elif res == z3.unknown:
                dead.add(a.number)
                self._incomplete("dead", f"{_arm(a)} of `decide {label.name}` can match", a.span, "solver timeout")
        live_edges = [a for a in edges if a.number not in dead]
        live_plain = [a for a in plain if a.number not in dead]
        any_edge = z3.Or([lit[a.number] for a in live_edges]) if live_edges else z3.BoolVal(False)
        if d.first:
            self._shadowed(d, s, edges + plain, lit, dead, names)
        else:
            self._overlaps(d, s, live_edges, lit, None, names)
            self._overlaps(d, s, live_plain, lit, any_edge, names)
        # gap: a situation where no arm matches
        if not other:
            s.push()
            for a in edges + plain:
                s.add(z3.Not(lit[a.number]))
            res = s.check()
            model = s.model() if res == z3.sat else None
            s.pop()
            if res == z3.sat:
                self._diag("RB204", "gap", f"`decide {label.name}` has a gap: no arm covers some situations",
                           d.span, help="add an arm (or an `otherwise`) for this situation, or state why the "
                           "guideline leaves it to the annotator", model=model, names=names)
            elif res == z3.unknown:
                self._incomplete("gap", f"`decide {label.name}` covers every situation", d.span, "solver timeout")
        self._useless_edges(d, s, edges, plain, other, lit, dead, names)

    def _first_by_boxes(self, d: ir.DecideIR) -> bool:
        """Decide dead arms, shadowing and gaps of a `first` table whose arms are boxes.

        Returns False (and reports nothing) when some condition is not a box."""
        from rubricdsl.analysis.boxes import BoxEngine, NotABox, analyse_first  # noqa: PLC0415

        crit = self.r.criterion(d.criterion) if d.criterion else None
        applies = crit.applies if crit is not None else None
        mentioned: set[str] = set(applies.mentions) if applies is not None else set()
        for a in d.arms:
            if a.cond is not None:
                mentioned |= a.cond.mentions
        fields = [f for f in self.r.fields if f.name in mentioned]
        engine = BoxEngine.build(fields)
        if engine is None:
            return False
        order = [a for a in d.arms if a.kind == "edge"] + [a for a in d.arms if a.kind == "when"]
        other = [a for a in d.arms if a.kind == "otherwise"]
        try:
            scope = engine.box(applies)
            res = analyse_first(engine, order, scope)
        except NotABox:
            return False
        label = d.label
        names = set(mentioned) | {label.name}
        label_read = label.name in mentioned
        for a in res.dead:
            self._diag("RB201", "dead", f"{_arm(a)} of `decide {label.name}` can never match", a.span,
                       help="remove the arm or fix its condition")
        for b, cover, values in res.shadowed:
            covering = cover[0].allowed if cover else frozenset()
            pick = [v for v in b.values if v not in covering]
            value = pick[0] if pick else b.values[0]
            shown = cover[:12]
            names_cov = ", ".join(_arm(a) for a in shown) + (f" and {len(cover) - 12} more" if len(cover) > 12 else "")
            self._diag("RB206", "shadowed",
                       f"{_arm(b)} of `decide {label.name}` never decides: {names_cov} "
                       f"{'covers' if len(cover) == 1 else 'together cover'} every situation it matches",
                       b.span, help=f"remove it, or move it above {names_cov} if it is the more specific case",
                       values=values, names=names, label=None if label_read else (label, value))
        if res.gap is not None and not other:
            self._diag("RB204", "gap", f"`decide {label.name}` has a gap: no arm covers some situations",
                       d.span, help="add an arm (or an `otherwise`) for this situation, or state why the "
                       "guideline leaves it to the annotator", values=res.gap, names=names,
                       label=None if label_read else (label, _first_value(label)))
        edges = [a for a in d.arms if a.kind == "edge"]
        if edges:
            sc = self._scope(d.criterion)
            assert sc is not None
            lv = self.enc.vars[label.name]
            s = self._solver(*sc.constraints, lv.present)
            lit = {}
            for a in order:
                x = z3.Bool(f"arm:{d.index}:{a.number}")
                s.add(x == self.enc.cond(a.cond))
                lit[a.number] = x
            dead = {a.number for a in res.dead}
            self._useless_edges(d, s, edges, [a for a in d.arms if a.kind == "when"], other, lit, dead, names)
        return True

    def _overlaps(self, d: ir.DecideIR, s: z3.Solver, arms: list[ir.ArmIR], lit: dict[int, Any],
                  no_edge: Any, names: set[str]) -> None:
        label = d.label
        for j, b in enumerate(arms):
            rivals = [a for a in arms[:j] if a.allowed != b.allowed]
            if not rivals:
                continue
            o = z3.Bool(f"overlap:{d.index}:{b.number}")
            cond = z3.And(lit[b.number], z3.Or([lit[a.number] for a in rivals]))
            if no_edge is not None:
                cond = z3.And(cond, z3.Not(no_edge))
            s.add(o == cond)
            res = s.check(o)
            if res == z3.unknown:
                self._incomplete("overlap", f"{_arm(b)} of `decide {label.name}` overlaps earlier arms", b.span,
                                 "solver timeout")
                continue
            if res != z3.sat:
                continue
            model = s.model()
            hit = [a for a in rivals if z3.is_true(model.eval(lit[a.number], model_completion=True))]
            others = ", ".join(_arm(a) for a in hit)
            vals = "; ".join(f"{_arm(a)} allows {_values(a)}" for a in hit + [b])
            self._diag("RB205", "overlap",
                       f"{_arm(b)} of `decide {label.name}` overlaps {others}: both can match and allow different values",
                       b.span, help="make the conditions exclusive, give the arms the same values, or add `first` "
                       "if the order of the arms should decide", model=model, names=names,
                       notes=[vals])

    def _shadowed(self, d: ir.DecideIR, s: z3.Solver, order: list[ir.ArmIR], lit: dict[int, Any],
                  dead: set[int], names: set[str]) -> None:
        """Under `first`, an arm is shadowed when the union of the arms before it covers it.

        One pass asserts the negation of each arm as it goes (the earlier arms' union
        only grows), so each arm costs one check; the covering arms of a shadowed arm
        then come from an unsat core over the earlier arms, made minimal when small."""
        label = d.label
        neg = [z3.Not(lit[a.number]) for a in order]
        prefix = _PrefixAssumptions(s, neg)
        shadowed: list[int] = []
        s.push()
        for k, b in enumerate(order):
            if k > 0 and b.number not in dead:
                res = s.check(lit[b.number])
                if res == z3.unsat:
                    shadowed.append(k)
                elif res == z3.unknown:
                    self._incomplete("shadowed", f"{_arm(b)} of `decide {label.name}` can decide", b.span,
                                     "solver timeout")
            s.add(neg[k])
        s.pop()
        label_read = any(a.cond is not None and label.name in a.cond.mentions for a in order)
        for k in shadowed:
            b = order[k]
            earlier = order[:k]
            cover: list[ir.ArmIR] = []
            model = None
            if k <= 400:
                # the arms that decide its situations: arm j, when b and j can hold with no arm before j
                for j, a in enumerate(earlier):
                    if a.number in dead:
                        continue
                    if s.check(lit[b.number], lit[a.number], *neg[:j]) == z3.sat:
                        if model is None:
                            model = s.model()
                        cover.append(a)
            else:
                if prefix.check(lit[b.number], k) == z3.unsat:
                    core_ids = {c.get_id() for c in s.unsat_core()}
                    cover = [a for a, n in zip(earlier, neg) if n.get_id() in core_ids]
                cover = cover or earlier
                model = s.model() if s.check(lit[b.number]) == z3.sat else None
            value = None
            if model is not None and cover and not label_read:
                pick = [v for v in b.values if v not in cover[0].allowed]
                if pick:
                    value = pick[0]
            shown = cover if len(cover) <= 12 else cover[:12]
            names_cov = ", ".join(_arm(a) for a in shown) + (f" and {len(cover) - 12} more" if len(cover) > 12 else "")
            self._diag("RB206", "shadowed",
                       f"{_arm(b)} of `decide {label.name}` never decides: {names_cov} "
                       f"{'covers' if len(cover) == 1 else 'together cover'} every situation it matches",
                       b.span, help=f"remove it, or move it above {names_cov} if it is the more specific case",
                       model=model, names=names, label=(label, value) if value is not None else None)

    def _useless_edges(self, d: ir.DecideIR, s: z3.Solver, edges: list[ir.ArmIR], plain: list[ir.ArmIR],
                       other: list[ir.ArmIR], lit: dict[int, Any], dead: set[int], names: set[str]) -> None:
        label = d.label
        for e in edges:
            if e.number in dead:
                continue
            rest_edges = [x for x in edges if x is not e and x.number not in dead]
            live_plain = [x for x in plain if x.number not in dead]
            if d.first:
                earlier = [x for x in rest_edges if x.number < e.number]
                later = [x for x in rest_edges if x.number > e.number] + live_plain
                counts = z3.And(lit[e.number], *[z3.Not(lit[x.number]) for x in earlier])
                differs = []
                for i, x in enumerate(later):
                    if x.allowed != e.allowed:
                        differs.append(z3.And(lit[x.number], *[z3.Not(lit[y.number]) for y in later[:i]]))
                none_later = z3.And(*[z3.Not(lit[x.number]) for x in later]) if later else z3.BoolVal(True)
                if not other or other[0].allowed != e.allowed:
                    differs.append(none_later)
                cond = z3.And(counts, z3.Or(differs) if differs else z3.BoolVal(False))
            else:
                other_edge = z3.Or([lit[x.number] for x in rest_edges]) if rest_edges else z3.BoolVal(False)
                diff_edges = [lit[x.number] for x in rest_edges if x.allowed != e.allowed]
                any_plain = z3.Or([lit[x.number] for x in live_plain]) if live_plain else z3.BoolVal(False)
                diff_plain = [lit[x.number] for x in live_plain if x.allowed != e.allowed]
                fallback_differs = z3.BoolVal(not other or other[0].allowed != e.allowed)
                without = z3.If(other_edge, z3.Or(diff_edges) if diff_edges else z3.BoolVal(False),
                                z3.If(any_plain, z3.Or(diff_plain) if diff_plain else z3.BoolVal(False),
                                      fallback_differs))
                cond = z3.And(lit[e.number], without)
            u = z3.Bool(f"useless:{d.index}:{e.number}")
            s.add(u == cond)
            res = s.check(u)
            if res == z3.unsat:
                # a situation where the edge matches, to show the same outcome without it
                model = s.model() if s.check(lit[e.number]) == z3.sat else None
                self._diag("RB207", "useless_edge",
                           f"edge case `{e.name}` never changes the outcome of `decide {label.name}`: wherever it "
                           f"matches, the other arms already allow exactly {_values(e)}",
                           e.span, help="remove the edge case, or change its values if it should make an exception",
                           model=model, names=names)
            elif res == z3.unknown:
                self._incomplete("useless_edge", f"edge case `{e.name}` changes the outcome", e.span, "solver timeout")


class _PrefixAssumptions:
    """Checks `x` under the first k of a fixed list of assumptions.

    The Python API converts and type-checks every assumption on every call; with
    thousands of arms that dominates. The list is converted to a C array once and a
    prefix of it is passed to Z3_solver_check_assumptions directly."""

    def __init__(self, s: z3.Solver, assumptions: list[Any]) -> None:
        self.s = s
        self.n = len(assumptions)
        self.arr = (z3.Ast * (self.n + 1))()
        for i, a in enumerate(assumptions):
            self.arr[i + 1] = a.as_ast()
        self.keep = assumptions

    def check(self, first: Any, k: int) -> Any:
        self.arr[0] = first.as_ast()
        # the first element is `first`, then the prefix
        return check_assumptions(self.s, k + 1, self.arr)


def _first_value(f: ir.FieldIR) -> Any:
    from rubricdsl.analysis.witness import default_value  # noqa: PLC0415

    return default_value(f)


def _arm(a: ir.ArmIR) -> str:
    return f"edge case `{a.name}`" if a.kind == "edge" else ("`otherwise`" if a.kind == "otherwise" else a.name)


def _values(a: ir.ArmIR) -> str:
    return ", ".join(value_text(v) for v in a.values)


def analyse(rubric: ir.RubricIR, file: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> list[Diagnostic]:
    with interruptible():
        return Analyzer(rubric, file, timeout_ms).run()
