"""Static analysis of a compiled rubric with z3: dead conditions, vacuous and
always-violated requirements, gaps, overlaps, shadowed arms and useless edge cases,
each with a witness situation where one exists.

Every check is decided exactly over the encoding of `encode` (text tests are opaque
atoms there). A solver timeout, a construct the encoding cannot express, or a check
the time budget (`budget`) did not leave time for becomes its own diagnostic (RB209),
never a silent skip.

One solver serves the whole analysis: each question pushes what it needs (the domain
of the fields it reads, its constraints) and pops it after, and a decision's arms are
defined once and asked about by assumption. The checks over the arms of a decision
keep a running disjunction of the arms seen (a Bool per prefix), so that each arm
adds a constant number of terms instead of one per earlier arm.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import z3

from rubricdsl.language import ir
from rubricdsl.core.diagnostics import Diagnostic
from rubricdsl.analysis.budget import Budget, OutOfTime
from rubricdsl.analysis.encode import Encoder, Solver, Unsupported, interruptible
from rubricdsl.core.interrupts import poll_interrupt
from rubricdsl.core.source import Span
from rubricdsl.core.values import value_text
from rubricdsl.analysis.witness import record_from_values, settle, situation
from rubricdsl.language.walk import fields_read

# past this many declarations left unfinished by the budget, one RB209 names the rest
MAX_UNFINISHED = 20
# the covering arms a shadowed-arm message names; past them, it counts the rest
COVER_SHOWN = 12
# up to this many arms before a shadowed arm, the arms that decide its situations are
# found one by one (exactly, up to COVER_SHOWN); past it, an unsat core names a cover
EXACT_COVER_ARMS = 400


@dataclass
class _Scope:
    constraints: list[Any]
    names: set[str]


@dataclass
class Accept:
    """A suppression comment with a condition, `# rubric: ignore[CODE] when COND`: the
    regions of the named gap or overlap diagnostics that lie inside COND are accepted.
    `cond` is None when the condition does not compile (it then accepts nothing)."""

    keys: set[str]
    cond: ir.Expr | None
    text: str


@dataclass
class _Assumed:
    """A rule the analysis of decisions assumes: a valid record never violates it."""

    rule: ir.RuleIR
    violated: Any  # z3 Bool: the situations where the rule reports a violation
    names: set[str]


def sound_assumption(r: ir.RuleIR) -> bool:
    """Whether a rule can act as an assumption of the analysis of decisions: an
    error-severity rule checked on the same record (or judgment) as the decision.
    A `per item` rule reads an item's records together, not one record: it is not."""
    return r.severity == "error" and not r.per_item


class Analyzer:
    def __init__(self, rubric: ir.RubricIR, file: str, budget: Budget | None = None,
                 assume_rules: bool = True, accepted: dict[int, list[Accept]] | None = None,
                 ignored: dict[int, set[str]] | None = None) -> None:
        self.r = rubric
        self.file = file
        self.budget = budget if budget is not None else Budget()
        self.out: list[Diagnostic] = []
        self.enc = Encoder(rubric)
        self.s = Solver()
        self.accepted = accepted or {}
        self.ignored = ignored or {}  # plain suppressions by line: their diagnostics list one region
        self.suppressed = 0  # diagnostics whose every region a suppression accepts
        self._assume: list[Any] = []  # literals every question of the decision under way assumes
        self._rules: list[_Assumed] = []  # the rules the decision under way is analysed under
        self._shown: set[str] | None = None  # the fields a witness of the decision under way shows
        self._wording: Any = None
        # the rules that decisions are analysed under (see `sound_assumption`)
        self.assumed: list[_Assumed] = []
        if assume_rules:
            for r in rubric.rules:
                if not sound_assumption(r):
                    continue
                try:
                    sc = self._scope(r.criterion)
                    assert sc is not None
                    when = [self.enc.cond(r.when)] if r.when is not None else []
                    viol = z3.And(*sc.constraints, *when, z3.Not(self.enc.cond(r.require)))
                except Unsupported:
                    continue  # beyond the encoding: not assumed (fewer assumptions are still sound)
                self.assumed.append(_Assumed(r, viol, set(sc.names) | set(r.mentions)))
        # the checks of the declaration under way not done yet: (check, what it decides)
        self._pending: list[tuple[str, str]] = []
        # the judgments `skip when` leaves out are never checked: every question is asked
        # about the others (a condition beyond the encoding narrows nothing)
        if rubric.record_skip is not None:
            try:
                not_skipped = z3.Not(self.enc.cond(rubric.record_skip))
            except Unsupported:
                pass
            else:
                self.s.add(*self.enc.domain_for(fields_read(rubric.record_skip)), not_skipped)

    # ---- the solver ------------------------------------------------------------------

    def _ask(self, *assumptions: Any) -> Any:
        """Check the solver's assertions, under assumptions, within the budget."""
        self.s.set("timeout", self.budget.question_ms())
        res = self.s.check(*assumptions, *self._assume)
        if res == z3.unknown and self.budget.expired():
            raise OutOfTime
        return res

    def _ask_raw(self, *assumptions: Any) -> Any:
        """`_ask` without the rules assumed: what the decision says of every situation."""
        saved, self._assume = self._assume, []
        try:
            return self._ask(*assumptions)
        finally:
            self._assume = saved

    def wording(self) -> Any:
        if self._wording is None:
            from rubricdsl.language.wording import Wording  # noqa: PLC0415

            self._wording = Wording(self.r)
        return self._wording

    def _relevant(self, names: set[str]) -> list[_Assumed]:
        """The assumed rules that bear on a question about the fields `names`: those that
        read them, or read a field such a rule reads, and so on. The others hold or fail
        independently of the question (a rule that can never hold is RB203 of its own)."""
        reach = set(self.enc.connected(names)) | set(names)
        out: list[_Assumed] = []
        pending = list(self.assumed)
        grew = True
        while grew:
            grew = False
            for a in list(pending):
                if a.names & reach:
                    out.append(a)
                    pending.remove(a)
                    reach |= a.names | self.enc.connected(a.names)
                    grew = True
        return sorted(out, key=lambda a: a.rule.index)

    def _accepted(self, line: int, code: str) -> list[Accept]:
        """The conditional suppressions on a line that name the code (by code, name, check
        or `all`)."""
        from rubricdsl.core.codes import CODES  # noqa: PLC0415

        c = CODES[code]
        return [a for a in self.accepted.get(line, [])
                if code in a.keys or c.name in a.keys or c.check in a.keys or "all" in a.keys]

    def _check(self, names: Any, *constraints: Any) -> tuple[Any, Any]:
        """Whether the constraints can hold together (with the domain of the fields
        `names`, which must cover the fields they read), and a model when they can."""
        s = self.s
        ms = self.budget.question_ms()
        s.push()
        try:
            s.add(*self.enc.domain_for(names))
            for c in constraints:
                s.add(c)
            s.set("timeout", ms)
            res = s.check()
            model = s.model() if res == z3.sat else None
        finally:
            s.pop()
        if res == z3.unknown and self.budget.expired():
            raise OutOfTime
        return res, model

    def _done(self, check: str) -> None:
        self._pending = [p for p in self._pending if p[0] != check]

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
        help_ = ("raise the time budget with --timeout, or simplify the condition" if "timeout" in why
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
        todo: list[tuple[str, Any]] = [("criterion", c) for c in self.r.criteria if c.applies is not None]
        todo += [("rule", r) for r in self.r.rules]
        todo += [("escalation", e) for e in self.r.escalations]
        todo += [("decide", d) for d in self.r.decides]
        dead_criteria: set[str] = set()
        unfinished: list[tuple[str, Any, list[tuple[str, str]]]] = []
        for kind, obj in todo:
            if kind != "criterion" and obj.criterion in dead_criteria:
                continue
            poll_interrupt()
            self._pending = _checks_of(kind, obj)
            if unfinished or self.budget.expired():
                unfinished.append((kind, obj, self._pending))
                continue
            try:
                if kind == "criterion":
                    if self._criterion(obj):
                        dead_criteria.add(obj.name)
                else:
                    self._guard({"rule": self._rule, "escalation": self._escalation, "decide": self._decide}[kind],
                                obj)
            except OutOfTime:
                unfinished.append((kind, obj, self._pending))
        self._unfinished(unfinished)
        return self.out

    def _guard(self, fn, obj) -> None:
        try:
            fn(obj)
        except Unsupported as e:
            self._incomplete("dead", f"`{getattr(obj, 'name', None) or obj.label.name}` is sound", obj.span,
                             f"the analysis cannot express {e}")

    def _unfinished(self, items: list[tuple[str, Any, list[tuple[str, str]]]]) -> None:
        """RB209 for the declarations the budget left unfinished, naming what was not
        decided: one each for the first MAX_UNFINISHED, one more for the rest."""
        spent = f"the time budget ({self.budget.describe()}) ran out"
        help_ = ("raise the time budget with --timeout SECONDS (per rubric file); everything decided "
                 "before it ran out is reported")
        for kind, obj, pending in items[:MAX_UNFINISHED]:
            span = obj.applies.span if kind == "criterion" else obj.span
            if pending:
                missing = ", ".join(w for _, w in pending)
                msg = f"could not finish the analysis of {_describe(kind, obj)}: {spent}; not decided: {missing}"
            else:
                msg = f"could not finish the analysis of {_describe(kind, obj)}: {spent}"
            d = Diagnostic("RB209", msg, span, self.file, help=help_)
            d.check_override = pending[0][0] if pending else "dead"
            self.out.append(d)
        rest = items[MAX_UNFINISHED:]
        if rest:
            kind, obj, _ = rest[0]
            span = obj.applies.span if kind == "criterion" else obj.span
            named = ", ".join(_describe(k, o) for k, o, _ in rest[:10])
            more = f" and {len(rest) - 10} more" if len(rest) > 10 else ""
            d = Diagnostic("RB209", f"could not analyse {len(rest)} more declaration{'s' if len(rest) != 1 else ''}: "
                           f"{spent}; not analysed: {named}{more}", span, self.file, help=help_)
            d.check_override = "dead"
            self.out.append(d)

    # ---- criteria, rules and escalations -------------------------------------------------

    def _criterion(self, c: ir.CriterionIR) -> bool:
        """Whether the criterion's `applies when` can never hold (reported)."""
        try:
            cond = self.enc.cond(c.applies)
        except Unsupported as e:
            self._incomplete("dead", f"`applies when` of criterion `{c.name}` can hold", c.applies.span, str(e))
            return False
        res, _ = self._check(c.applies.mentions, cond)
        if res == z3.unsat:
            self._diag("RB201", "dead", f"`applies when` of criterion `{c.name}` can never hold",
                       c.applies.span, help="nothing in this criterion is ever checked; fix or remove the condition")
            return True
        if res == z3.unknown:
            self._incomplete("dead", f"`applies when` of criterion `{c.name}` can hold", c.applies.span, "solver timeout")
        return False

    def _rule(self, r: ir.RuleIR) -> None:
        sc = self._scope(r.criterion)
        assert sc is not None
        base = list(sc.constraints)
        names = set(sc.names) | set(r.mentions)
        if r.when is not None:
            when = self.enc.cond(r.when)
            res, model = self._check(names, *base, when)
            self._done("dead")
            if res == z3.unsat:
                self._diag("RB201", "dead", f"the `when` of rule `{r.name}` can never hold", r.when.span,
                           help="the rule never applies; fix the condition or remove the rule")
                return
            if res == z3.unknown:
                self._incomplete("dead", f"the `when` of rule `{r.name}` can hold", r.when.span, "solver timeout")
                return
            base.append(when)
        else:
            res, model = self._check(names, *base)
        req = self.enc.cond(r.require)
        res_v, model_v = self._check(names, *base, z3.Not(req))
        self._done("vacuous")
        if res_v == z3.unsat:
            self._diag("RB202", "vacuous", f"the `require` of rule `{r.name}` always holds where the rule applies",
                       r.require.span, help="the rule can never be violated; it checks nothing",
                       model=model, names=names)
            return
        if res_v == z3.unknown:
            self._incomplete("vacuous", f"rule `{r.name}` can be violated", r.require.span, "solver timeout")
            return
        res_h, _ = self._check(names, *base, req)
        self._done("always_violated")
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
        res, _ = self._check(set(sc.names) | set(e.mentions), *sc.constraints, self.enc.cond(e.when))
        if res == z3.unsat:
            self._diag("RB201", "dead", f"the `when` of escalation `{e.name}` can never hold", e.when.span,
                       help="nothing is ever escalated to " + e.target)
        elif res == z3.unknown:
            self._incomplete("dead", f"escalation `{e.name}` can fire", e.when.span, "solver timeout")

    # ---- decisions ---------------------------------------------------------------------

    def _decide(self, d: ir.DecideIR) -> None:
        if d.first and self.r.record_skip is None and self._first_by_boxes(d):  # boxes know no `skip when`
            return
        sc = self._scope(d.criterion)
        assert sc is not None
        label = d.label
        lv = self.enc.vars[label.name]
        names = set(sc.names) | set(d.mentions)
        edges = [a for a in d.arms if a.kind == "edge"]
        plain = [a for a in d.arms if a.kind == "when"]
        other = [a for a in d.arms if a.kind == "otherwise"]
        conds = {a.number: self.enc.cond(a.cond) for a in edges + plain}
        rules = self._relevant(names)
        self._shown = set(names)  # a witness shows the decision's fields...
        for a in rules:
            names |= a.names  # ...in a situation the rules accept (their fields are in its record)
        s = self.s
        s.push()
        self._rules = rules
        try:
            s.add(*self.enc.domain_for(names))
            s.add(*sc.constraints, lv.present)
            if rules:
                ok = z3.Bool(f"valid:{d.index}")
                s.add(ok == z3.Not(z3.Or([a.violated for a in rules])))
                self._assume = [ok]
            lit: dict[int, Any] = {}
            for a in edges + plain:
                x = z3.Bool(f"arm:{d.index}:{a.number}")
                s.add(x == conds[a.number])
                lit[a.number] = x
            dead = self._dead_arms(d, edges + plain, lit)
            live_edges = [a for a in edges if a.number not in dead]
            live_plain = [a for a in plain if a.number not in dead]
            any_edge = z3.Or([lit[a.number] for a in live_edges]) if live_edges else z3.BoolVal(False)
            if d.first:
                self._shadowed(d, edges + plain, lit, dead, names)
            else:
                self._overlaps(d, live_edges, lit, None, names)
                self._overlaps(d, live_plain, lit, any_edge, names)
                self._done("overlap")
            if not other:
                self._gap(d, edges + plain, lit, names)
            self._useless_edges(d, edges, plain, other, lit, dead, names)
        finally:
            self._assume = []
            self._rules = []
            self._shown = None
            s.pop()

    def _dead_arms(self, d: ir.DecideIR, arms: list[ir.ArmIR], lit: dict[int, Any]) -> set[int]:
        label = d.label
        dead: set[int] = set()
        for i, a in enumerate(arms):
            try:
                res = self._ask(lit[a.number])
            except OutOfTime:
                self._pending = [("dead", f"which arms can match (from {_arm(a)} on)") if p[0] == "dead" else p
                                 for p in self._pending]
                raise
            if res == z3.unsat:
                dead.add(a.number)
                self._diag("RB201", "dead", f"{_arm(a)} of `decide {label.name}` can never match", a.span,
                           help="remove the arm or fix its condition")
            elif res == z3.unknown:
                dead.add(a.number)
                self._incomplete("dead", f"{_arm(a)} of `decide {label.name}` can match", a.span, "solver timeout")
        self._done("dead")
        return dead

    def _gap(self, d: ir.DecideIR, arms: list[ir.ArmIR], lit: dict[int, Any], names: set[str]) -> None:
        """The situations where no arm matches, as regions."""
        label = d.label
        target = z3.And([z3.Not(lit[a.number]) for a in arms]) if arms else z3.BoolVal(True)
        crit = self.r.criterion(d.criterion) if d.criterion else None
        exprs = [a.cond for a in arms] + ([crit.applies] if crit is not None else [])
        self._region_report(
            "RB204", "gap", d.span, f"`decide {label.name}` has a gap: no arm covers some situations",
            "add an arm (or an `otherwise`) for this situation, or state why the guideline leaves it to the "
            "annotator", target, exprs, names, f"`decide {label.name}` covers every situation")
        self._done("gap")

    def _region_report(self, code: str, check: str, span: Span, message: Any, help: str, target: Any,
                       exprs: list[Any], names: set[str], undecided: str, notes: list[str] | None = None,
                       label: tuple[ir.FieldIR, Any] | None = None) -> None:
        """Report the situations of `target` (a z3 Bool, in the solver's context under way)
        as one diagnostic listing its regions: under the rules assumed, without what a
        suppression on the line accepts. Nothing when no situation remains; a note names
        the assumed rules that exclude part of it."""
        from rubricdsl.analysis import regions as R  # noqa: PLC0415

        accepts = self._accepted(span.line, code)
        acc_terms = []
        for a in accepts:
            if a.cond is not None:
                try:
                    acc_terms.append(self.enc.cond(a.cond))
                except Unsupported:
                    pass
        accepted = z3.Or(acc_terms) if acc_terms else None
        kept = z3.And(target, z3.Not(accepted)) if accepted is not None else target
        res = self._ask(kept)
        if res == z3.unknown:
            self._incomplete(check, undecided, span, "solver timeout")
            return
        if res == z3.unsat:
            if accepted is not None and self._ask(target) == z3.sat:
                self.suppressed += 1
            return
        rule_exprs = []
        for a in self._rules:
            crit = self.r.criterion(a.rule.criterion) if a.rule.criterion else None
            rule_exprs += [x for x in (a.rule.when, a.rule.require, crit.applies if crit else None) if x is not None]
        atoms = R.atoms_of(exprs + rule_exprs + [a.cond for a in accepts if a.cond is not None],
                           self.enc, self.wording())
        # the regions are exact over every situation: the rules assumed are part of the
        # target (a region's words then say what the rules leave of it), not an assumption
        exact = z3.And(kept, *self._assume) if self._assume else kept
        from rubricdsl.core.codes import CODES  # noqa: PLC0415

        keys = self.ignored.get(span.line, set())
        hidden = bool(keys & {code, CODES[code].name, CODES[code].check, "all"})
        solved = self.enc.connected(names)
        order = [(self.enc, f.name) for f in self.r.fields if f.name in solved]
        cubes = R.enumerate_cubes(self.s, exact, atoms, self._ask_raw, f"{check}:{span.start}:{len(self.out)}",
                                  limit=1 if hidden else R.MAX_CUBES,
                                  settle=lambda lits: settle(self.s, self._ask_raw, lits, order))
        if hidden:  # suppressed whole: its regions are not listed, nothing is left undecided
            cubes.complete = True
        if not cubes.cubes:
            self._incomplete(check, undecided, span, cubes.why)
            return
        found = []
        for lits, model in cubes.cubes:
            witness, _, _ = situation(self.enc, model, sorted(names))
            found.append(R.Region(R.cube_words(lits), witness))
        notes = list(notes or [])
        if callable(message):
            message, more = message(cubes.cubes[0][1])
            notes += more
        notes += self._excluded_notes(target, span)
        if accepted is not None and self._ask(target, accepted) == z3.sat:
            texts = " or ".join(f"`{a.text}`" for a in accepts if a.cond is not None)
            notes.append(f"the situations where {texts} are accepted by the suppression on this line")
        self._emit_regions(code, check, message, span, help, found, len(found), cubes.complete, notes,
                           model=cubes.cubes[0][1] if cubes.cubes else None, names=names, label=label)
        if not cubes.complete:
            self._incomplete(check, f"{undecided} beyond the {len(found)} regions listed", span, cubes.why)

    def _excluded_notes(self, target: Any, span: Span) -> list[str]:
        """A note naming the assumed rules that exclude some situations of `target`."""
        if not self._rules:
            return []
        named = [a.rule.name for a in self._rules if self._ask_raw(target, a.violated) == z3.sat]
        if not named:
            return []
        rules = ", ".join(f"`{n}`" for n in named)
        return [f"situations that violate the error rule{'s' if len(named) != 1 else ''} {rules} are not "
                f"reported: no valid record is in them"]

    def _emit_regions(self, code: str, check: str, message: str, span: Span, help: str, found: list[Any],
                      total: int, complete: bool, notes: list[str], model: Any = None, names: set[str] | None = None,
                      values: dict[str, Any] | None = None, label: tuple[ir.FieldIR, Any] | None = None) -> None:
        from rubricdsl.analysis import regions as R  # noqa: PLC0415

        word = "gap" if code == "RB204" else "overlap"
        shown = self._shown
        if shown is not None:
            keep = shown | ({label[0].name} if label is not None else set())
            for r in found:
                r.witness = {k: v for k, v in r.witness.items() if k in keep}
        self._diag(code, check, message, span, help=help, model=model, values=values, names=names, label=label,
                   notes=R.notes_of(word, found, total, complete) + notes)
        d = self.out[-1]
        if shown is not None and d.witness is not None:
            d.witness = {k: v for k, v in d.witness.items() if k in shown or (label is not None and k == label[0].name)}
        d.regions = [r.to_dict() for r in found]
        d.regions_total = total if complete else None

    def _first_by_boxes(self, d: ir.DecideIR) -> bool:
        """Decide dead arms, shadowing and gaps of a `first` table whose arms are boxes,
        under the assumed rules when they are unions of boxes too.

        Returns False (and reports nothing) when some condition is not a box."""
        from rubricdsl.analysis.boxes import BoxEngine, NotABox, analyse_first  # noqa: PLC0415
        from rubricdsl.analysis import regions as R  # noqa: PLC0415

        crit = self.r.criterion(d.criterion) if d.criterion else None
        applies = crit.applies if crit is not None else None
        mentioned: set[str] = set(applies.mentions) if applies is not None else set()
        for a in d.arms:
            if a.cond is not None:
                mentioned |= a.cond.mentions
        label = d.label
        other = [a for a in d.arms if a.kind == "otherwise"]
        rules = self._relevant(set(mentioned) | set(d.mentions))
        accepts = [a for a in self._accepted(d.span.line, "RB204") if a.cond is not None] if not other else []
        wanted = set(mentioned)
        for a in rules:
            wanted |= a.names
        for acc in accepts:
            assert acc.cond is not None
            wanted |= acc.cond.mentions
        fields = [f for f in self.r.fields if f.name in wanted]
        engine = BoxEngine.build(fields)
        if engine is None:
            return False
        order = [a for a in d.arms if a.kind == "edge"] + [a for a in d.arms if a.kind == "when"]
        try:
            scope = engine.box(applies)
            violated = [(a, self._violation_region(engine, a.rule)) for a in rules]
            start = None
            if violated:
                start = engine.full[None, :].copy()
                for _, v in violated:
                    start = engine.minus_region(start, v)
            acc_region = engine.empty()
            for acc in accepts:
                acc_region = np.concatenate([acc_region, engine.minus_region(engine.region(acc.cond), acc_region)])
            res = analyse_first(engine, order, scope, self.budget.check, start)
        except NotABox:
            return False
        names = set(wanted) | {label.name}
        label_read = label.name in mentioned
        self._shown = set(mentioned) | set(d.mentions) | {label.name}
        for a in res.dead:
            self._diag("RB201", "dead", f"{_arm(a)} of `decide {label.name}` can never match", a.span,
                       help="remove the arm or fix its condition")
        for b, cover, values in res.shadowed:
            covering = cover[0].allowed if cover else frozenset()
            pick = [v for v in b.values if v not in covering]
            value = pick[0] if pick else b.values[0]
            self._diag("RB206", "shadowed",
                       f"{_arm(b)} of `decide {label.name}` never decides: {_cover_text(cover)} "
                       f"{'covers' if len(cover) == 1 else 'together cover'} every situation it matches",
                       b.span, help=f"remove it, or move it above {_cover_text(cover)} if it is the more specific case",
                       values=values, names=names, label=None if label_read else (label, value))
        region = res.region if res.region is not None else engine.empty()
        if not other and region.shape[0]:
            rest = engine.minus_region(region, acc_region) if acc_region.shape[0] else region
            if rest.shape[0] == 0:
                self.suppressed += 1
            else:
                merged = R.merge(rest)
                found = [R.box_region(engine, b) for b in merged[:R.MAX_COUNTED]]
                notes = self._box_excluded_notes(engine, res.boxes or [], scope, violated)
                if acc_region.shape[0] and engine.meet(region, acc_region).shape[0]:
                    texts = " or ".join(f"`{a.text}`" for a in accepts)
                    notes.append(f"the situations where {texts} are accepted by the suppression on this line")
                self._emit_regions("RB204", "gap", f"`decide {label.name}` has a gap: no arm covers some situations",
                                   d.span, "add an arm (or an `otherwise`) for this situation, or state why the "
                                   "guideline leaves it to the annotator", found, merged.shape[0], True, notes,
                                   values=found[0].witness, names=names,
                                   label=None if label_read else (label, _first_value(label)))
        self._done("dead")
        self._done("shadowed")
        self._done("gap")
        edges = [a for a in d.arms if a.kind == "edge"]
        if edges:
            sc = self._scope(d.criterion)
            assert sc is not None
            lv = self.enc.vars[label.name]
            conds = {a.number: self.enc.cond(a.cond) for a in order}
            s = self.s
            s.push()
            try:
                s.add(*self.enc.domain_for(names | set(sc.names)))
                s.add(*sc.constraints, lv.present)
                if rules:
                    ok = z3.Bool(f"valid:{d.index}")
                    s.add(ok == z3.Not(z3.Or([a.violated for a in rules])))
                    self._assume = [ok]
                lit = {}
                for a in order:
                    x = z3.Bool(f"arm:{d.index}:{a.number}")
                    s.add(x == conds[a.number])
                    lit[a.number] = x
                dead = {a.number for a in res.dead}
                self._useless_edges(d, edges, [a for a in d.arms if a.kind == "when"], other, lit, dead, names)
            finally:
                self._assume = []
                s.pop()
        self._shown = None
        return True

    def _violation_region(self, engine: Any, r: ir.RuleIR) -> Any:
        """The situations where a rule reports a violation, as disjoint boxes (NotABox when
        they are not a union of boxes)."""
        crit = self.r.criterion(r.criterion) if r.criterion else None
        out = engine.region(crit.applies) if crit is not None and crit.applies is not None else engine.full[None, :]
        if r.when is not None:
            out = engine.meet(out, engine.region(r.when))
        return engine.minus_region(out, engine.region(r.require))

    def _box_excluded_notes(self, engine: Any, boxes: list[Any], scope: Any, violated: list[Any]) -> list[str]:
        """A note naming the assumed rules whose violations cover some situation of the
        scope that no arm covers (only the arms that meet the violations are subtracted)."""
        from rubricdsl.analysis.boxes import Columns  # noqa: PLC0415

        named = []
        arms = Columns(np.stack(boxes)) if boxes else None
        for a, v in violated:
            rest = engine.meet(v, scope[None, :])
            near: set[int] = set()
            for rb in rest if arms is not None else ():
                near.update(arms.meeting(rb).tolist())
            for j in sorted(near):
                if rest.shape[0] == 0:
                    break
                rest = engine.minus(rest, boxes[j])
            if rest.shape[0]:
                named.append(a.rule.name)
        if not named:
            return []
        rules = ", ".join(f"`{n}`" for n in named)
        return [f"situations that violate the error rule{'s' if len(named) != 1 else ''} {rules} are not "
                f"reported: no valid record is in them"]

    def _overlaps(self, d: ir.DecideIR, arms: list[ir.ArmIR], lit: dict[int, Any],
                  no_edge: Any, names: set[str]) -> None:
        """Arms that can match together and allow different values. For each set of
        values, a Bool holds when one of the arms so far with those values matches: an
        arm's rivals are the other sets' Bools, whatever the number of earlier arms."""
        label = d.label
        s = self.s
        seen: dict[frozenset, Any] = {}
        for j, b in enumerate(arms):
            allowed = b.allowed
            rivals_seen = [x for vals, x in seen.items() if vals != allowed]
            if rivals_seen:
                o = z3.Bool(f"overlap:{d.index}:{b.number}")
                cond = z3.And(lit[b.number], z3.Or(rivals_seen))
                if no_edge is not None:
                    cond = z3.And(cond, z3.Not(no_edge))
                s.add(o == cond)
                res = self._ask(o)
                if res == z3.unknown:
                    self._incomplete("overlap", f"{_arm(b)} of `decide {label.name}` overlaps earlier arms", b.span,
                                     "solver timeout")
                elif res == z3.sat:
                    rivals = [a for a in arms[:j] if a.allowed != allowed]

                    def say(model: Any, b: ir.ArmIR = b, rivals: list[ir.ArmIR] = rivals) -> tuple[str, list[str]]:
                        """The message and note of the witness's situation: the arms that match there."""
                        hit = [a for a in rivals if z3.is_true(model.eval(lit[a.number], model_completion=True))]
                        others = ", ".join(_arm(a) for a in hit)
                        vals = "; ".join(f"{_arm(a)} allows {_values(a)}" for a in hit + [b])
                        return (f"{_arm(b)} of `decide {label.name}` overlaps {others}: both can match and allow "
                                f"different values", [vals])

                    exprs = [a.cond for a in arms[:j + 1]]
                    if no_edge is not None:
                        exprs += [a.cond for a in d.arms if a.kind == "edge"]
                    self._region_report(
                        "RB205", "overlap", b.span, say,
                        "make the conditions exclusive, give the arms the same values, or add "
                        "`first` if the order of the arms should decide", o, exprs, names,
                        f"{_arm(b)} of `decide {label.name}` overlaps earlier arms")
            x = z3.Bool(f"seen:{d.index}:{b.number}")
            before = seen.get(allowed)
            s.add(x == (lit[b.number] if before is None else z3.Or(before, lit[b.number])))
            seen[allowed] = x

    def _shadowed(self, d: ir.DecideIR, order: list[ir.ArmIR], lit: dict[int, Any],
                  dead: set[int], names: set[str]) -> None:
        """Under `first`, an arm is shadowed when the union of the arms before it covers it.

        One pass asserts the negation of each arm as it goes (the earlier arms' union
        only grows), so each arm costs one check. The arms that decide a shadowed arm's
        situations are then found one by one: in a situation of the shadowed arm, the
        first arm that matches decides it; asserting that it does not, the next check
        finds another, until none is left (one check per covering arm)."""
        label = d.label
        s = self.s
        shadowed: list[int] = []
        s.push()
        try:
            for k, b in enumerate(order):
                if k > 0 and b.number not in dead:
                    res = self._ask(lit[b.number])
                    if res == z3.unsat:
                        shadowed.append(k)
                    elif res == z3.unknown:
                        self._incomplete("shadowed", f"{_arm(b)} of `decide {label.name}` can decide", b.span,
                                         "solver timeout")
                s.add(z3.Not(lit[order[k].number]))
        finally:
            s.pop()
        if not shadowed:
            self._done("shadowed")
            return
        # prefix[j]: one of the arms order[0..j] matches
        prefix: list[Any] = []
        for j, a in enumerate(order[:shadowed[-1]]):
            x = z3.Bool(f"prefix:{d.index}:{j}")
            s.add(x == (lit[a.number] if j == 0 else z3.Or(prefix[-1], lit[a.number])))
            prefix.append(x)

        def decides(j: int) -> Any:
            return lit[order[j].number] if j == 0 else z3.And(lit[order[j].number], z3.Not(prefix[j - 1]))

        label_read = any(a.cond is not None and label.name in a.cond.mentions for a in order)
        for n, k in enumerate(shadowed):
            b = order[k]
            self._pending = [
                ("shadowed", "which arms cover " + ", ".join(_arm(order[i]) for i in shadowed[n:n + 5])
                 + (f" and {len(shadowed) - n - 5} more shadowed arms" if len(shadowed) - n > 5 else ""))
                if p[0] == "shadowed" else p for p in self._pending]
            deciders: list[int] = []
            more = k > EXACT_COVER_ARMS
            s.push()
            try:
                s.add(lit[b.number])
                while not more and self._ask() == z3.sat:
                    j = _first_true(s.model(), prefix, k)
                    deciders.append(j)
                    s.add(z3.Not(decides(j)))
                    more = len(deciders) > COVER_SHOWN  # the message counts them past this
            finally:
                s.pop()
            model = None
            if more:
                # more arms decide its situations than a message names, or a table too large
                # to find them one by one: the earlier arms of an unsat core cover it too
                # (not necessarily each of them decides), with the arm that decides a
                # situation of it, its witness
                negs = [z3.Not(lit[order[j].number]) for j in range(k)]
                index = {x.get_id(): j for j, x in enumerate(negs)}
                if self._ask(lit[b.number], *negs) == z3.unsat:
                    deciders += [index[c.get_id()] for c in s.unsat_core() if c.get_id() in index]
                if self._ask(lit[b.number]) == z3.sat:
                    model = s.model()
                    first = _first_true(model, prefix, k)
                    deciders = [first] + [j for j in deciders if j != first]
            elif deciders:
                s.push()
                try:
                    s.add(lit[b.number], decides(min(deciders)))
                    if self._ask() == z3.sat:
                        model = s.model()
                finally:
                    s.pop()
                deciders.sort()
            decider = order[deciders[0]] if deciders else None  # the arm deciding the witness
            cover = [order[j] for j in sorted(set(deciders))] or [a for a in order[:k] if a.number not in dead]
            value = None
            if model is not None and decider is not None and not label_read:
                pick = [v for v in b.values if v not in decider.allowed]
                if pick:
                    value = pick[0]
            self._diag("RB206", "shadowed",
                       f"{_arm(b)} of `decide {label.name}` never decides: {_cover_text(cover)} "
                       f"{'covers' if len(cover) == 1 else 'together cover'} every situation it matches",
                       b.span, help=f"remove it, or move it above {_cover_text(cover)} if it is the more specific case",
                       model=model, names=names, label=(label, value) if value is not None else None)
        self._done("shadowed")

    def _useless_edges(self, d: ir.DecideIR, edges: list[ir.ArmIR], plain: list[ir.ArmIR],
                       other: list[ir.ArmIR], lit: dict[int, Any], dead: set[int], names: set[str]) -> None:
        label = d.label
        s = self.s
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
                matched = None  # one of the later arms so far matches
                for i, x in enumerate(later):
                    if x.allowed != e.allowed:
                        differs.append(lit[x.number] if matched is None else z3.And(lit[x.number], z3.Not(matched)))
                    y = z3.Bool(f"later:{d.index}:{e.number}:{i}")
                    s.add(y == (lit[x.number] if matched is None else z3.Or(matched, lit[x.number])))
                    matched = y
                none_later = z3.Not(matched) if matched is not None else z3.BoolVal(True)
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
            res = self._ask(u)
            if res == z3.unsat:
                # a situation where the edge matches, to show the same outcome without it
                model = s.model() if self._ask(lit[e.number]) == z3.sat else None
                self._diag("RB207", "useless_edge",
                           f"edge case `{e.name}` never changes the outcome of `decide {label.name}`: wherever it "
                           f"matches, the other arms already allow exactly {_values(e)}",
                           e.span, help="remove the edge case, or change its values if it should make an exception",
                           model=model, names=names)
            elif res == z3.unknown:
                self._incomplete("useless_edge", f"edge case `{e.name}` changes the outcome", e.span, "solver timeout")
        self._done("useless_edge")


def _first_true(model: Any, prefix: list[Any], k: int) -> int:
    """The first j < k where prefix[j] holds in the model (prefix[k - 1] does): the arm
    that decides the model's situation. A binary search: prefixes only grow."""
    lo, hi = 0, k - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if z3.is_true(model.eval(prefix[mid], model_completion=True)):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _cover_text(cover: list[ir.ArmIR]) -> str:
    shown = cover[:COVER_SHOWN]
    more = len(cover) - COVER_SHOWN
    return ", ".join(_arm(a) for a in shown) + (f" and {more} more" if more > 0 else "")


def _checks_of(kind: str, obj: Any) -> list[tuple[str, str]]:
    """The checks of a declaration, as (check, what it decides), in the order they run."""
    if kind == "criterion":
        return [("dead", "whether its `applies when` can hold")]
    if kind == "escalation":
        return [("dead", "whether its `when` can hold")]
    if kind == "rule":
        out = [("dead", "whether its `when` can hold")] if obj.when is not None else []
        return out + [("vacuous", "whether its `require` can fail"),
                      ("always_violated", "whether its `require` can hold")]
    arms = obj.arms
    out = [("dead", "which arms can match")]
    out.append(("shadowed", "which arms are shadowed") if obj.first else ("overlap", "which arms overlap"))
    if not any(a.kind == "otherwise" for a in arms):
        out.append(("gap", "whether it has a gap"))
    if any(a.kind == "edge" for a in arms):
        out.append(("useless_edge", "whether its edge cases change the outcome"))
    return out


def _describe(kind: str, obj: Any) -> str:
    if kind == "decide":
        return f"`decide {obj.label.name}`"
    return f"{kind} `{obj.name}`"


def _first_value(f: ir.FieldIR) -> Any:
    from rubricdsl.analysis.witness import default_value  # noqa: PLC0415

    return default_value(f)


def _arm(a: ir.ArmIR) -> str:
    return f"edge case `{a.name}`" if a.kind == "edge" else ("`otherwise`" if a.kind == "otherwise" else a.name)


def _values(a: ir.ArmIR) -> str:
    return ", ".join(value_text(v) for v in a.values)


def analyse(rubric: ir.RubricIR, file: str, budget: Budget | None = None, assume_rules: bool = True,
            accepted: dict[int, list[Accept]] | None = None, ignored: dict[int, set[str]] | None = None
            ) -> list[Diagnostic]:
    """The analysis's diagnostics, within the budget (by default `budget.DEFAULT_SECONDS`).
    With `assume_rules`, decisions are analysed under the error rules (`sound_assumption`);
    `accepted` holds the conditional suppressions by line."""
    return run_analysis(rubric, file, budget, assume_rules, accepted, ignored)[0]


def run_analysis(rubric: ir.RubricIR, file: str, budget: Budget | None = None, assume_rules: bool = True,
                 accepted: dict[int, list[Accept]] | None = None, ignored: dict[int, set[str]] | None = None
                 ) -> tuple[list[Diagnostic], int]:
    """`analyse`, and the number of diagnostics a conditional suppression accepts whole.
    `ignored` holds the plain suppressions by line: a diagnostic they hide is reported
    with one region only (it is dropped afterwards)."""
    with interruptible():
        a = Analyzer(rubric, file, budget, assume_rules, accepted, ignored)
        return a.run(), a.suppressed
