"""Semantic check: resolve names, check types and values, build the IR.

Every problem goes to the sink; the check keeps going so that one run reports
all of a file's errors. The IR is only used when the sink has no errors.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
from typing import Any

from rubricdsl.language import ast
from rubricdsl.language import ir
from rubricdsl.core.diagnostics import Sink
from rubricdsl.language.ir import BOOL, NUM, TEXT, Const, FieldRef, LetRef, Op, Type
from rubricdsl.core.regex import regex_error
from rubricdsl.core.paths import put
from rubricdsl.core.source import Span

FUNCTIONS = {"len": "text", "words": "text", "count": "set"}
ITEM_FUNCTIONS = ("agreement", "majority", "distinct", "spread", "share")
ITEM_NAMES = ("annotators", "judgments")
_ITEM_HELP = ("inside `per item`, read the item through aggregates: annotators, judgments, agreement(L), "
              "majority(L), distinct(L), spread(L), share(CONDITION)")
RECORD_KEYS = ("id", "item", "annotator")
SEVERITIES = ("error", "warning", "info")


def _suggest(name: str, candidates) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


def _fmt_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


class _Decl:
    __slots__ = ("node", "criterion")

    def __init__(self, node, criterion: str | None) -> None:
        self.node, self.criterion = node, criterion


class Checker:
    def __init__(self, rubric: ast.Rubric, sink: Sink, source_text: str, sha256: str | None = None) -> None:
        self.tree = rubric
        self.sink = sink
        self.source_text = source_text
        self.sha256 = sha256 or hashlib.sha256(source_text.encode("utf-8")).hexdigest()
        self.fields: dict[str, ir.FieldIR] = {}
        self.field_nodes: dict[str, ast.Field] = {}
        self.lets: dict[str, ir.LetIR] = {}
        self.let_nodes: dict[str, ast.Let] = {}
        self.names: dict[str, Span] = {}  # the shared namespace
        self._for: str | None = None  # the field a bare value is compared with, for messages
        self._ctx: str | None = None  # None: one record; "item": a per item check; "share": inside share(...)
        self.all_lets: dict[str, ast.Let] = {}
        self.escalation_targets: dict[str, str] = {}  # escalation name -> its target
        # what error recovery needs (`usable`): fields whose declaration has an error,
        # criteria whose `applies when` has one, and the names read by constructs that
        # were dropped for an error (so that `rubric lint` does not call them unused)
        self.bad_fields: set[str] = set()
        self.bad_criteria: set[str] = set()
        self.dropped_reads: set[str] = set()
        # declarations the parser skipped after a syntax error: their names are known
        # (a reference to one is no new error) and every word in them may be a read
        self.skipped_names, self.skipped_record = _skipped_declarations(source_text, rubric.skipped)
        self._syntax_errors = [d.span for d in sink.items if d.severity == "error"]
        for start, end in rubric.skipped:
            self.dropped_reads.update(_WORD.findall(source_text, start, end))

    # ---- entry ---------------------------------------------------------------

    def run(self) -> ir.RubricIR:
        header = self.tree.header
        items: list[tuple[Any, str | None]] = []
        criteria: list[ast.Criterion] = []
        crit_names: dict[str, Span] = {}
        records: list[ast.RecordBlock] = []
        for it in self.tree.items:
            if isinstance(it, ast.Criterion):
                if it.name in crit_names:
                    self.sink.error("RB104", f"criterion `{it.name}` is declared twice", it.name_span,
                                    help=f"the first declaration is at line {crit_names[it.name].line}")
                else:
                    crit_names[it.name] = it.name_span
                criteria.append(it)
                for sub in it.items:
                    items.append((sub, it.name))
            elif isinstance(it, ast.RecordBlock):
                records.append(it)
            else:
                items.append((it, None))

        # 1. fields (visible everywhere) and the shared namespace
        index = 0
        for node, crit in items:
            if isinstance(node, ast.Field):
                if not self._declare(node.name, node.name_span, "field"):
                    continue
                ftype = self._field_type(node.type, node.name)
                self.fields[node.name] = ir.FieldIR(
                    index=index, name=node.name, kind=node.kind, type=ftype,
                    path=self._path(node.path) if node.path else (node.name,),
                    optional=node.optional, required_when=None, criterion=crit, span=node.span,
                    doc=node.doc, path_text=node.path.dotted() if node.path else node.name,
                )
                self.field_nodes[node.name] = node
                index += 1
                if self._broken(node.span):
                    self.bad_fields.add(node.name)
        for node, crit in items:
            if isinstance(node, ast.Let):
                self._declare(node.name, node.name_span, "let")
            elif isinstance(node, ast.Rule):
                self._declare(node.name, node.name_span, "rule")
            elif isinstance(node, ast.Escalate):
                self._declare(node.name, node.name_span, "escalation")
            elif isinstance(node, ast.Decide):
                for arm in node.arms:
                    if arm.kind == "edge" and arm.name:
                        self._declare(arm.name, arm.span, "edge case")

        self.escalation_targets = {n.name: n.target for n, _ in items if isinstance(n, ast.Escalate)}
        self.all_lets = {n.name: n for n, _ in items if isinstance(n, ast.Let)}

        # 2. levels
        for name, node in self.field_nodes.items():
            f = self.fields[name]
            for lv in node.levels:
                val = self._value_for(f.type, lv.value, f"a level of `{name}`")
                if val is not _BAD:
                    f.levels.append((val, lv.text))

        # 3. lets, in source order (a let is visible only after its declaration)
        for node, crit in sorted(((n, c) for n, c in items if isinstance(n, ast.Let)), key=lambda p: p[0].span.start):
            expr = self.expr(node.expr, node.span.start)
            if expr is None or self._broken(node.span):
                self._dropped(node.span)
                continue
            if node.name not in self.lets and node.name in self.names:
                self.lets[node.name] = ir.LetIR(node.name, expr, crit, node.span, node.doc)
                self.let_nodes[node.name] = node

        # 4. required when
        for name, node in self.field_nodes.items():
            if node.required_when is not None:
                cond = self.cond(node.required_when, node.span.end)
                self.fields[name].required_when = cond
                if cond is None:
                    self.bad_fields.add(name)  # when it is required is unknown
                    self._dropped(node.required_when.span)

        # 5. criteria
        crit_ir: list[ir.CriterionIR] = []
        applies: dict[str, ir.Expr | None] = {}
        for c in criteria:
            a = self.cond(c.applies, c.span.start) if c.applies is not None else None
            applies[c.name] = a
            if (c.applies is not None and a is None) or self._broken(c.span, [x.span for x in c.items]):
                self.bad_criteria.add(c.name)
                self._dropped(c.span)  # its checks go with it
            crit_ir.append(ir.CriterionIR(c.name, c.title or c.name, a, c.span, c.doc))

        def scope(crit: str | None) -> frozenset[str]:
            a = applies.get(crit) if crit else None
            return a.mentions if a is not None else frozenset()

        # 6. decides, rules, escalations, examples
        decides: list[ir.DecideIR] = []
        rules: list[ir.RuleIR] = []
        escalations: list[ir.EscalateIR] = []
        examples: list[ast.Example] = []
        decided: dict[str, Span] = {}
        consensus: list[ir.ConsensusIR] = []
        consensus_of: dict[str, Span] = {}
        item_rules: list[ir.RuleIR] = []
        item_escalations: list[ir.EscalateIR] = []
        first_item_span: Span | None = None
        for node, crit in items:
            if isinstance(node, ast.Decide):
                d = self._decide(node, crit, len(decides), decided)
                if d is not None and self._broken(node.span):
                    d = None
                if d is not None:
                    d.mentions = d.mentions | scope(crit)
                    decides.append(d)
                else:
                    self._dropped(node.span)
            elif isinstance(node, (ast.Rule, ast.Escalate)) and node.per_item:
                if crit is not None:
                    what = "rule" if isinstance(node, ast.Rule) else "escalation"
                    self.sink.error("RB006", f"a `per item` {what} stands at the top level, not inside a criterion",
                                    node.name_span, help=f"move `{node.name}` out of criterion `{crit}`: an item's "
                                    "judgments may fall on different sides of a criterion's `applies when`")
                    continue
                self._ctx = "item"
                try:
                    if isinstance(node, ast.Rule):
                        r = self._rule(node, None, len(item_rules))
                        if r is not None and self._broken(node.span):
                            r = None
                        if r is not None:
                            r.per_item = True
                            item_rules.append(r)
                        else:
                            self._dropped(node.span)
                    else:
                        e = self._escalate(node, None, len(item_escalations))
                        if e is not None and self._broken(node.span):
                            e = None
                        if e is not None:
                            e.per_item = True
                            item_escalations.append(e)
                        else:
                            self._dropped(node.span)
                finally:
                    self._ctx = None
                first_item_span = first_item_span or node.name_span
            elif isinstance(node, ast.Rule):
                r = self._rule(node, crit, len(rules))
                if r is not None and self._broken(node.span):
                    r = None
                if r is not None:
                    r.mentions = r.mentions | scope(crit)
                    rules.append(r)
                else:
                    self._dropped(node.span)
            elif isinstance(node, ast.Escalate):
                e = self._escalate(node, crit, len(escalations))
                if e is not None and self._broken(node.span):
                    e = None
                if e is not None:
                    e.mentions = e.mentions | scope(crit)
                    escalations.append(e)
                else:
                    self._dropped(node.span)
            elif isinstance(node, ast.Consensus):
                c = self._consensus(node, len(consensus), consensus_of)
                if c is not None:
                    consensus.append(c)
                first_item_span = first_item_span or node.label_span
            elif isinstance(node, ast.Example):
                examples.append(node)

        rid = item = ann = None
        if len(records) > 1:
            self.sink.error("RB104", "a rubric has at most one `record` block", records[1].span,
                            help='merge the entries into the first `record` block')
        if records:
            seen: set[str] = set()
            for e in records[0].entries:
                if e.key not in RECORD_KEYS:
                    s = _suggest(e.key, RECORD_KEYS)
                    self.sink.error("RB101", f"unknown `record` entry `{e.key}`", e.span,
                                    help=(f"did you mean `{s}`? " if s else "") + "a `record` block names `id`, `item` and `annotator`")
                    continue
                if e.key in seen:
                    self.sink.error("RB104", f"`{e.key}` is given twice in the `record` block", e.span,
                            help='keep one line per entry')
                seen.add(e.key)
                p = self._path(e.path)
                if e.key == "id":
                    rid = p
                elif e.key == "item":
                    item = p
                else:
                    ann = p

        if first_item_span is not None and item is None and not self.skipped_record:
            self.sink.error("RB111", "item checks need to know which records belong to one item", first_item_span,
                            help="name the item in the `record` block: `record { item = PATH  annotator = PATH }`")

        rubric = ir.RubricIR(
            name=header.name if header else "", version=header.version if header else "",
            sha256=self.sha256, source_name=self.sink.source.name, doc=self.tree.doc,
            fields=sorted(self.fields.values(), key=lambda f: f.index), lets=list(self.lets.values()),
            criteria=crit_ir, decides=decides, rules=rules, escalations=escalations, examples=[],
            record_id=rid, record_item=item, record_annotator=ann,
            consensus=consensus, item_rules=item_rules, item_escalations=item_escalations,
        )
        rubric.examples = [ex for ex in (self._example(n, rubric) for n in examples) if ex is not None]
        return rubric

    # ---- error recovery -------------------------------------------------------------

    def _broken(self, span: Span, inner: list[Span] | None = None) -> bool:
        """Whether the parser reported an error inside `span` (outside the `inner` spans):
        a construct the builder kept despite an error (a clause repeated or missing, a bad
        escape...) is dropped like one that did not resolve."""
        for e in self._syntax_errors:
            if span.start <= e.start < max(span.end, span.start + 1) and not any(
                    i.start <= e.start < i.end for i in inner or ()):
                return True
        return False

    def _dropped(self, span: Span) -> None:
        """Remember the words of a construct dropped for an error: any of them may be a
        read (the builder may have kept only one of two clauses, so its text is the
        whole truth)."""
        self.dropped_reads.update(_WORD.findall(self.source_text, span.start, span.end))

    def usable(self, rubric: ir.RubricIR) -> ir.RubricIR:
        """The part of `rubric` that stands on no error, for `rubric lint` to analyse when
        the file has errors: without the fields whose declaration has an error, and
        without every `let`, decision, rule and escalation that reads one (directly or
        through a `let` or its criterion's `applies when`) or stands in a criterion whose
        `applies when` has an error. Constructs that had an error themselves are already
        absent (their resolution gave nothing). Examples are left out: they test the
        whole rubric. What is dropped counts as read (`dropped_reads`). What is kept is
        numbered anew (the IR given is used up), so the result also compiles."""
        bad = set(self.bad_fields)
        while True:  # a field required when a bad field holds is bad too
            more = {f.name for f in rubric.fields if f.name not in bad and f.required_when is not None
                    and _reads(f.required_when) & bad}
            if not more:
                break
            bad |= more
        crit_bad = set(self.bad_criteria) | {c.name for c in rubric.criteria
                                             if c.applies is not None and _reads(c.applies) & bad}

        def keep(obj, *exprs) -> bool:
            if getattr(obj, "criterion", None) in crit_bad or any(e is not None and _reads(e) & bad for e in exprs):
                for e in exprs:
                    _ir_names(e, self.dropped_reads)
                return False
            return True

        decides = [d for d in rubric.decides
                   if d.label.name not in bad and keep(d, *(a.cond for a in d.arms))]
        rules = [r for r in rubric.rules if keep(r, r.when, r.require)]
        escalations = [e for e in rubric.escalations if keep(e, e.when)]
        item_rules = [r for r in rubric.item_rules if keep(r, r.when, r.require)]
        item_escalations = [e for e in rubric.item_escalations if keep(e, e.when)]
        lets = [x for x in rubric.lets if keep(x, x.expr)]
        fields = []
        for f in rubric.fields:
            if f.name in bad:
                _ir_names(f.required_when, self.dropped_reads)
            else:
                fields.append(f)
        consensus = [c for c in rubric.consensus if c.label.name not in bad]
        for kept in (fields, decides, rules, escalations, item_rules, item_escalations, consensus):
            for i, x in enumerate(kept):
                x.index = i
        return dataclasses.replace(
            rubric, fields=fields, lets=lets,
            criteria=[c for c in rubric.criteria if c.name not in crit_bad], decides=decides, rules=rules,
            escalations=escalations, examples=[], item_rules=item_rules, item_escalations=item_escalations,
            consensus=consensus)

    # ---- declarations ---------------------------------------------------------------

    def _declare(self, name: str, span: Span, what: str) -> bool:
        if name in self.names:
            first = self.names[name]
            self.sink.error("RB104", f"`{name}` is declared twice", span,
                            help=f"the first declaration is at line {first.line}; fields, lets, rules, "
                                 "escalations and edge cases share one namespace")
            return False
        self.names[name] = span
        return True

    def _path(self, path: ast.Path) -> tuple[str | int, ...]:
        out: list[str | int] = []
        for seg in path.segments:
            out.append(seg.key)
            out.extend(seg.indexes)
        return tuple(out)

    def _field_type(self, t: ast.TypeNode, name: str) -> ir.FieldType:
        if t.kind in ("enum", "set"):
            vals: list[str] = []
            for v in t.values:
                sv = str(v.value)
                if sv in vals:
                    self.sink.error("RB104", f"enum value `{sv}` is listed twice", v.span,
                            help='remove the repeated value')
                    continue
                vals.append(sv)
            if not vals:
                self.bad_fields.add(name)
                self.sink.error("RB103", f"`{name}` has an empty {t.kind}", t.span, help="list at least one value")
            return ir.FieldType(t.kind, enum=ir.EnumType(tuple(vals), t.ordered))
        if t.kind in ("int", "scale"):
            lo, hi = t.lo, t.hi
            for b in (lo, hi):
                if b is not None and not (isinstance(b, int) or float(b).is_integer()):
                    self.bad_fields.add(name)
                    self.sink.error("RB103", f"the bounds of an {t.kind} range are integers", t.span,
                            help='write whole numbers, e.g. `1..5`, or use `number` for decimals')
            lo = int(lo) if lo is not None else None
            hi = int(hi) if hi is not None else None
            if lo is not None and hi is not None and lo > hi:
                self.bad_fields.add(name)
                self.sink.error("RB106", f"range {lo}..{hi} is empty", t.span, help=f"write {hi}..{lo}")
            return ir.FieldType(t.kind, lo, hi)
        if t.kind == "number":
            if t.lo is not None and t.hi is not None and t.lo > t.hi:
                self.bad_fields.add(name)
                self.sink.error("RB106", f"range {_fmt_value(t.lo)}..{_fmt_value(t.hi)} is empty", t.span,
                            help='write the low bound first')
            return ir.FieldType("number", t.lo, t.hi)
        return ir.FieldType(t.kind)

    def _value_for(self, ft: ir.FieldType, v: ast.Value, what: str) -> Any:
        """A written value (arm value, level, given) as a value of a field type."""
        k = ft.kind
        if k in ("enum", "set"):
            assert ft.enum is not None
            if v.kind in ("name", "string") and str(v.value) in ft.enum.values:
                return str(v.value)
            if v.kind in ("name", "string"):
                s = _suggest(str(v.value), ft.enum.values)
                self.sink.error("RB102", f"unknown value '{v.value}' for {what.replace('`', chr(39))}"
                                + (f"; did you mean '{s}'?" if s else ""),
                                v.span, help="the values are: " + ", ".join(ft.enum.values))
            else:
                self.sink.error("RB103", f"{what} takes enum values, not `{_fmt_value(v.value)}`", v.span,
                                help="the values are: " + ", ".join(ft.enum.values)
                                + ("; quote a value that looks like a number or keyword" if True else ""))
            return _BAD
        if k == "bool":
            if v.kind == "bool":
                return v.value
            self.sink.error("RB103", f"{what} is a bool: use `true` or `false`", v.span,
                            help='write `true` or `false`')
            return _BAD
        if k in ("int", "scale"):
            if v.kind == "number" and float(v.value).is_integer():  # type: ignore[arg-type]
                iv = int(v.value)  # type: ignore[arg-type]
                if (ft.lo is not None and iv < ft.lo) or (ft.hi is not None and iv > ft.hi):
                    self.sink.error("RB103", f"{iv} is outside {what}'s range {ft.lo}..{ft.hi}", v.span,
                            help='use a value inside the declared range')
                    return _BAD
                return iv
            self.sink.error("RB103", f"{what} takes integers, not `{_fmt_value(v.value)}`", v.span,
                            help='write a whole number such as `3`')
            return _BAD
        if k == "number":
            if v.kind == "number":
                return v.value
            self.sink.error("RB103", f"{what} takes numbers, not `{_fmt_value(v.value)}`", v.span,
                            help='write a number such as `0.5`')
            return _BAD
        if k == "text":
            if v.kind == "string":
                return v.value
            self.sink.error("RB103", f"{what} is text: write a quoted string", v.span,
                            help='write the text in double quotes: `"..."`')
            return _BAD
        return _BAD

    def _label(self, name: str, span: Span, why: str, help_: str) -> ir.FieldIR | None:
        """The label a `decide` or `consensus` names, or None after reporting why not."""
        f = self.fields.get(name)
        if f is None and name in self.skipped_names:
            return None  # declared in a part of the file that did not parse
        if f is None and name in self.all_lets:
            block = "decide" if "decided" in why else "consensus"
            self.sink.error("RB103", f"`{name}` is a `let`, not a label: a `{block}` needs a label", span,
                            help=f"a `let` is computed, not given by annotators; name the label here"
                                 + (f", and use `{name}` in the arms' conditions (`when {name} -> VALUE`)"
                                    if block == "decide" else ""))
        elif f is None:
            s = _suggest(name, [n for n, x in self.fields.items() if x.kind == "label"])
            self.sink.error("RB101", f"unknown label `{name}`", span,
                            help=f"did you mean `{s}`?" if s else "declare it with `label NAME: TYPE`")
        elif f.kind != "label":
            self.sink.error("RB103", f"`{name}` is an input: {why}", span, help=help_)
            return None
        return f

    def _decide(self, node: ast.Decide, crit: str | None, index: int, decided: dict[str, Span]) -> ir.DecideIR | None:
        f = self._label(node.label, node.label_span, "only labels are decided",
                        "inputs are what the annotator saw; declare it as a `label` to decide it")
        ok = f is not None
        if f is None:
            pass
        elif not f.type.single_valued:
            self.sink.error("RB107", f"`{node.label}` is a {f.type.kind} label and cannot be decided", node.label_span,
                            help="only single-valued labels (bool, int, scale, enum, enum ordered) can be decided")
            ok = False
        elif node.label in decided:
            self.sink.error("RB104", f"label `{node.label}` has a second `decide`", node.label_span,
                            help=f"the first is at line {decided[node.label].line}; merge their arms")
            ok = False
        else:
            decided[node.label] = node.label_span
        arms: list[ir.ArmIR] = []
        mentions: set[str] = {node.label}
        n_otherwise = 0
        for i, arm in enumerate(node.arms, start=1):
            cond = None
            if arm.cond is not None:
                cond = self.cond(arm.cond, arm.span.start)
                if cond is None:
                    ok = False
                else:
                    mentions |= cond.mentions
            if arm.kind == "otherwise":
                n_otherwise += 1
                if n_otherwise > 1:
                    self.sink.error("RB007", "a `decide` has at most one `otherwise`", arm.span,
                            help='keep one `otherwise` arm, written last')
            values: list[Any] = []
            if f is not None and f.type.single_valued:
                for v in arm.values:
                    val = self._value_for(f.type, v, f"`{f.name}`")
                    if val is _BAD:
                        ok = False
                    elif val not in values:
                        values.append(val)
            name = arm.name if arm.kind == "edge" and arm.name else f"arm {i}"
            arms.append(ir.ArmIR(i, arm.kind, name, arm.title, cond, tuple(values), arm.span, arm.doc))
        if not ok or f is None:
            return None
        return ir.DecideIR(index, f, node.first, arms, crit, node.span, frozenset(mentions), node.doc)

    def _rule(self, node: ast.Rule, crit: str | None, index: int) -> ir.RuleIR | None:
        sev = node.severity or "error"
        if sev not in SEVERITIES:
            s = _suggest(sev, SEVERITIES)
            self.sink.error("RB102", f"unknown severity `{sev}`" + (f"; did you mean `{s}`?" if s else ""),
                            node.severity_span, help="severities: error, warning, info")
            sev = "error"
        when = self.cond(node.when, node.span.start) if node.when is not None else None
        req = self.cond(node.require, node.span.start) if node.require is not None else None
        if (node.when is not None and when is None) or req is None:
            return None
        mentions = req.mentions | (when.mentions if when is not None else frozenset())
        return ir.RuleIR(index, node.name, node.message, sev, when, req, crit, node.span, mentions, node.doc)

    def _escalate(self, node: ast.Escalate, crit: str | None, index: int) -> ir.EscalateIR | None:
        if node.when is None:
            return None
        when = self.cond(node.when, node.span.start)
        if when is None:
            return None
        return ir.EscalateIR(index, node.target, node.name, node.reason, when, crit, node.span, when.mentions, node.doc)

    def _consensus(self, node: ast.Consensus, index: int, seen: dict[str, Span]) -> ir.ConsensusIR | None:
        f = self._label(node.label, node.label_span, "annotators agree on labels",
                        "inputs are what the annotators saw; `consensus` names a `label`")
        ok = f is not None
        if f is None:
            pass
        elif node.label in seen:
            self.sink.error("RB104", f"label `{node.label}` has a second `consensus`", node.label_span,
                            help=f"the first is at line {seen[node.label].line}; merge their thresholds")
            ok = False
        else:
            seen[node.label] = node.label_span
        n = node.min_annotators
        if n is not None and (not float(n).is_integer() or n < 1):
            self.sink.error("RB103", f"`min annotators` is a whole number of at least 1, not {_fmt_value(n)}",
                            node.annotators_span, help="write e.g. `min annotators 3`")
            ok = False
        x = node.min_agreement
        if x is not None and not 0 <= x <= 1:
            self.sink.error("RB103", f"`min agreement` is a share between 0 and 1, not {_fmt_value(x)}",
                            node.agreement_span, help="write e.g. `min agreement 0.67` (two thirds agree)")
            ok = False
        if not ok or f is None:
            return None
        return ir.ConsensusIR(index, f, int(n) if n is not None else None, float(x) if x is not None else None,
                              node.span, node.doc)

    def _example(self, node: ast.Example, rubric: ir.RubricIR) -> ir.ExampleIR | None:
        ok = True
        record: dict[str, Any] = {}
        given: dict[str, Any] = {}
        for g in node.given:
            f = self.fields.get(g.field)
            if f is None and g.field in self.skipped_names:
                ok = False
                continue
            if f is None:
                what = "a `let` is computed, not given" if g.field in self.lets else None
                s = _suggest(g.field, self.fields)
                self.sink.error("RB101", f"unknown field `{g.field}` in `given`", g.span,
                                help=what or (f"did you mean `{s}`?" if s else "give inputs and labels by name"))
                ok = False
                continue
            if g.field in given:
                self.sink.error("RB104", f"`{g.field}` is given twice", g.span,
                            help='keep one value per field')
                ok = False
                continue
            raw = self._given_value(f, g.value)
            if raw is _BAD:
                ok = False
                continue
            if not put(record, f.path, raw):
                other = next((n for n in given if _clash(self.fields[n].path, f.path)), "another field")
                self.sink.error("RB103", f"`{g.field}` and `{other}` cannot both be given: their paths overlap",
                                g.span, help="a record cannot hold both values; give one of them, or fix a `from` path")
                ok = False
                continue
            given[g.field] = raw
        expect: set[tuple[str, str]] = set()
        decided = {d.label.name for d in rubric.decides}
        rule_names = {r.name for r in rubric.rules}
        targets = {e.target for e in rubric.escalations}
        for o in node.expect:
            if o.kind == "pass":
                if len(node.expect) > 1:
                    self.sink.error("RB007", "`expect pass` means no finding at all and stands alone", o.span,
                            help='remove `pass`, or remove the other outcomes')
                    ok = False
                continue
            assert o.name is not None
            if o.kind == "violation":
                known = rule_names | decided
                what = "a rule or a decided label"
            elif o.kind in ("uncovered", "ambiguous"):
                known = decided
                what = "a label with a `decide`"
            elif o.kind == "invalid":
                known = set(self.fields)
                what = "an input or label"
            else:
                known = targets
                what = "an escalation target"
            item_level = ({r.name for r in rubric.item_rules} | {"consensus"} if o.kind in ("violation", "ambiguous")
                          else {e.target for e in rubric.item_escalations} if o.kind == "escalation" else set())
            if o.name not in known and o.name in item_level:
                self.sink.error("RB101", f"`expect {o.kind} {o.name}`: an example is one record, and `{o.name}` "
                                "is checked per item", o.span,
                                help="item checks need several records; try them with `rubric check` on a "
                                     "multi-annotator sample")
                ok = False
                continue
            if o.name not in known and o.name in self.skipped_names:
                ok = False
                continue
            if o.name not in known and o.kind == "escalation" and o.name in self.escalation_targets:
                target = self.escalation_targets[o.name]
                self.sink.error("RB101", f"`expect escalation {o.name}`: `{o.name}` is the name of an escalation, "
                                "not its target", o.span,
                                help=f"`expect escalation` names the role a record goes to: write "
                                     f"`expect escalation {target}`")
                ok = False
                continue
            if o.name not in known:
                s = _suggest(o.name, known)
                self.sink.error("RB101", f"`expect {o.kind} {o.name}`: `{o.name}` is not {what}", o.span,
                                help=f"did you mean `{s}`?" if s else None)
                ok = False
                continue
            expect.add((o.kind, o.name))
        if not ok:
            return None
        return ir.ExampleIR(node.title, record, given, frozenset(expect), node.span, node.doc)

    def _given_value(self, f: ir.FieldIR, v: ast.Value | ast.SetValue) -> Any:
        """A `given` value as the raw JSON the record would hold. A value of the wrong
        JSON type is kept as written, so an example can show an invalid finding."""
        ft = f.type
        if isinstance(v, ast.SetValue):
            if ft.kind != "set":
                self.sink.error("RB103", f"`{f.name}` is {ft.describe()}, not a set", v.span,
                            help='give a single value; `{...}` is for set labels')
                return _BAD
            out = []
            for item in v.items:
                if item.kind == "string":
                    out.append(item.value)
                    continue
                val = self._value_for(ft, item, f"`{f.name}`")
                if val is _BAD:
                    return _BAD
                out.append(val)
            return out
        if v.kind == "name":
            if ft.kind in ("enum",):
                return self._value_for(ft, v, f"`{f.name}`")
            self.sink.error("RB103", f"`{v.value}` is not a value of `{f.name}` ({ft.describe()})", v.span,
                            help="quote text values; enum values are bare names")
            return _BAD
        return v.value

    # ---- expressions ---------------------------------------------------------------------

    def cond(self, e: ast.Expr, pos: int) -> ir.Expr | None:
        x = self.expr(e, pos)
        return self._as_cond(x, e)

    def _as_cond(self, x: ir.Expr | None, e: ast.Expr) -> ir.Expr | None:
        if x is None:
            return None
        if x.type.kind != "bool":
            self.sink.error("RB103", f"a condition must be true or false, but this is {x.type.describe()}",
                            e.span, help="compare it with something, e.g. `x == value`")
            return None
        if isinstance(x, (FieldRef, LetRef, ir.Agg)):
            return Op("truth", (x,), BOOL, x.span, x.mentions)
        return x

    def _is_deferrable(self, e: ast.Expr, pos: int) -> bool:
        if isinstance(e, ast.Name):
            return not self._visible(e.name, pos)
        return isinstance(e, ast.SetLit) or (isinstance(e, ast.Literal) and e.kind == "string")

    def _visible(self, name: str, pos: int) -> bool:
        if name in self.fields:
            return True
        let = self.let_nodes.get(name)
        return let is not None and let.span.start < pos

    def expr(self, e: ast.Expr, pos: int, want: ir.EnumType | None = None) -> ir.Expr | None:
        if isinstance(e, ast.Name):
            return self._name(e, pos, want)
        if isinstance(e, ast.Literal):
            if e.kind in ("int", "number"):
                return Const(e.value, NUM, e.span)
            if e.kind == "bool":
                return Const(e.value, BOOL, e.span)
            if want is not None:
                if e.value in want.values:
                    return Const(e.value, Type("enum", want), e.span)
                s = _suggest(str(e.value), want.values)
                self.sink.error("RB102", f"unknown value '{e.value}'" + (f"; did you mean '{s}'?" if s else ""), e.span,
                                help="the values are: " + ", ".join(want.values))
                return None
            return Const(e.value, TEXT, e.span)
        if isinstance(e, ast.SetLit):
            self.sink.error("RB103", "a set literal `{...}` stands only after `in`, `any of`, `all of`, `none of` or `==`",
                            e.span, help="write `x in {a, b}` or `S any of {a, b}`")
            return None
        if isinstance(e, ast.Call):
            return self._call(e, pos)
        if isinstance(e, ast.Unary):
            x = self.expr(e.operand, pos)
            if x is None:
                return None
            if e.op == "not":
                c = self._as_cond(x, e.operand)
                return Op("not", (c,), BOOL, e.span, c.mentions) if c is not None else None
            if x.type.kind != "num":
                self.sink.error("RB103", f"unary `-` needs a number, not {x.type.describe()}", e.span,
                            help='negate numbers only')
                return None
            return Op("neg", (x,), NUM, e.span, x.mentions)
        if isinstance(e, ast.Test):
            return self._test(e, pos)
        if isinstance(e, ast.Matches):
            return self._matches(e, pos)
        assert isinstance(e, ast.Binary)
        op = e.op
        if op in ("and", "or"):
            a = self.cond(e.left, pos)
            b = self.cond(e.right, pos)
            if a is None or b is None:
                return None
            return Op(op, (a, b), BOOL, e.span, a.mentions | b.mentions)
        if op in ("+", "-", "*", "/"):
            a = self.expr(e.left, pos)
            b = self.expr(e.right, pos)
            if a is None or b is None:
                return None
            for x, side in ((a, e.left), (b, e.right)):
                if x.type.kind != "num":
                    self.sink.error("RB103", f"`{op}` needs numbers, but this is {x.type.describe()}", side.span,
                            help='arithmetic works on int, number and scale values, `len`, `words` and `count`')
                    return None
            return Op(op, (a, b), NUM, e.span, a.mentions | b.mentions)
        if op in ("==", "!=", "<", "<=", ">", ">="):
            return self._compare(e, pos)
        if op in ("in", "not in"):
            return self._in(e, pos)
        if op in ("any", "all", "none"):
            return self._set_test(e, pos)
        if op == "contains":
            a = self.expr(e.left, pos)
            if a is not None and a.type.kind == "set":
                self._contains_on_set(e, a)
                return None
            b = self.expr(e.right, pos)
            if a is None or b is None:
                return None
            for x, side in ((a, e.left), (b, e.right)):
                if x.type.kind != "text":
                    self.sink.error("RB103", f"`contains` works on text, but this is {x.type.describe()}", side.span,
                                    help="for sets, use `VALUE in SET` or `SET any of {...}`" if x.type.kind == "set" else None)
                    return None
            return Op("contains", (a, b), BOOL, e.span, a.mentions | b.mentions)
        raise AssertionError(op)

    def _contains_on_set(self, e: ast.Binary, a: ir.Expr) -> None:
        left = self._text(e.left.span)
        r = e.right
        value = r.name if isinstance(r, ast.Name) else r.value if isinstance(r, ast.Literal) and r.kind == "string" else None
        assert a.type.enum is not None
        if isinstance(value, str) and value in a.type.enum.values:
            shown = value if value.isidentifier() else '"' + value + '"'
            help_ = f"to test one value, write `{shown} in {left}`; for several, `{left} any of {{{shown}, ...}}`"
        else:
            help_ = f"to test a value, write `VALUE in {left}`; for several, `{left} any of {{...}}`"
        self.sink.error("RB103", f"`contains` works on text, but `{left}` is a {a.type.describe()}", e.left.span,
                        help=help_)

    def _name(self, e: ast.Name, pos: int, want: ir.EnumType | None) -> ir.Expr | None:
        if want is not None and e.name in want.values:
            return Const(e.name, Type("enum", want), e.span)
        if self._ctx == "item":
            if e.name in ITEM_NAMES:
                return ir.Agg(e.name, None, None, NUM, e.span, text=e.name)
            if e.name in self.fields or e.name in self.let_nodes:
                what = "field" if e.name in self.fields else "let"
                self.sink.error("RB111", f"`{e.name}` is read directly in a `per item` check, which sees the item, "
                                f"not one record", e.span,
                                help=_ITEM_HELP + (f", e.g. `majority({e.name})` or `share({e.name} == VALUE)`" if what == "field"
                                                   else f"; use the let inside share(...)"))
                return None
        f = self.fields.get(e.name)
        if f is not None:
            return FieldRef(f, f.type.expr_type, e.span, frozenset({f.name}))
        let = self.lets.get(e.name)
        node = self.let_nodes.get(e.name)
        if let is not None and node is not None:
            if node.span.start >= pos:
                self.sink.error("RB108", f"`{e.name}` is used before its `let` (line {node.span.line})", e.span,
                                help="move the `let` above its first use")
                return None
            return LetRef(let, let.expr.type, e.span, let.expr.mentions)
        if e.name in self.names and e.name not in self.fields:
            later = self.all_lets.get(e.name)
            if later is not None and later.span.start >= pos:
                self.sink.error("RB108", f"`{e.name}` is used before its `let` (line {later.span.line})", e.span,
                                help="move the `let` above its first use")
                return None
            if later is not None:
                return None  # a let whose own expression has an error, reported there
            self.sink.error("RB103", f"`{e.name}` names a rule, escalation or edge case, not a value", e.span,
                            help='conditions read inputs, labels and lets; rules and escalations cannot be referenced')
            return None
        if e.name in self.skipped_names:
            return None  # declared in a part of the file that did not parse
        slip = _SLIPS.get(e.name)
        if slip is not None and (want is None or e.name in _NULL_WORDS):
            self.sink.error("RB101", f"unknown name `{e.name}`", e.span, help=slip)
            return None
        if want is not None:
            s = _suggest(e.name, list(want.values))
            what = f" for '{self._for}'" if self._for else ""
            self.sink.error("RB102", f"unknown value '{e.name}'{what}" + (f"; did you mean '{s}'?" if s else ""), e.span,
                            help="the values are: " + ", ".join(want.values))
            return None
        if e.name in ITEM_NAMES:
            self.sink.error("RB111", f"`{e.name}` is an item aggregate, allowed only in `per item` rules and escalations",
                            e.span, help="write the check as `rule NAME \"MESSAGE\" per item { ... }` at the top level")
            return None
        s = _suggest(e.name, list(self.fields) + [n for n, x in self.let_nodes.items()])
        self.sink.error("RB101", f"unknown name `{e.name}`" + (f"; did you mean `{s}`?" if s else ""), e.span,
                        help="declare it with `input`, `label` or `let`")
        return None

    def _aggregate(self, e: ast.Call, pos: int) -> ir.Expr | None:
        if self._ctx != "item":
            where = ("inside share(...), which reads one judgment" if self._ctx == "share"
                     else "outside `per item` rules and escalations")
            self.sink.error("RB111", f"`{e.func}` is an item aggregate and cannot stand {where}", e.span,
                            help="aggregates read all of an item's judgments: use them in "
                                 "`rule NAME \"MESSAGE\" per item { ... }` or `escalate TARGET NAME \"REASON\" per item { ... }`")
            return None
        if len(e.args) != 1:
            self.sink.error("RB103", f"`{e.func}` takes one argument, not {len(e.args)}", e.span,
                            help=f"write `{e.func}(label)`" if e.func != "share" else "write `share(CONDITION)`")
            return None
        arg = e.args[0]
        if e.func == "share":
            self._ctx = "share"
            try:
                c = self.cond(arg, pos)
            finally:
                self._ctx = "item"
            if c is None:
                return None
            return ir.Agg("share", None, c, NUM, e.span, reads=_reads(c), text=self._text(e.span))
        if not isinstance(arg, ast.Name) or arg.name not in self.fields:
            if isinstance(arg, ast.Name) and arg.name in self.skipped_names:
                return None
            if isinstance(arg, ast.Name) and arg.name not in self.names:
                s = _suggest(arg.name, [n for n, x in self.fields.items() if x.kind == "label"])
                self.sink.error("RB101", f"unknown label `{arg.name}`" + (f"; did you mean `{s}`?" if s else ""), arg.span,
                                help="declare it with `label NAME: TYPE`")
                return None
            self.sink.error("RB103", f"`{e.func}` takes the name of a label", arg.span,
                            help=f"write e.g. `{e.func}(safety)`; for a condition on each judgment use `share(...)`")
            return None
        f = self.fields[arg.name]
        t = f.type
        if e.func == "spread":
            if not (t.kind in ("int", "number", "scale") or (t.kind == "enum" and t.enum is not None and t.enum.ordered)):
                self.sink.error("RB103", f"`spread` needs an ordered label (int, number, scale or enum ordered), "
                                f"but `{f.name}` is {t.describe()}", arg.span,
                                help="for unordered labels, use `distinct(L)` or `agreement(L)`")
                return None
            return ir.Agg("spread", f, None, NUM, e.span, reads=frozenset({f.name}), text=f"spread({f.name})")
        typ = t.expr_type if e.func == "majority" else NUM
        return ir.Agg(e.func, f, None, typ, e.span, reads=frozenset({f.name}), text=f"{e.func}({f.name})")

    def _text(self, span: Span) -> str:
        """The source text of a span, on one line."""
        return " ".join(self.source_text[span.start:span.end].split())

    def _call(self, e: ast.Call, pos: int) -> ir.Expr | None:
        if e.func in ITEM_FUNCTIONS:
            return self._aggregate(e, pos)
        if e.func not in FUNCTIONS:
            s = _suggest(e.func, list(FUNCTIONS) + list(ITEM_FUNCTIONS))
            self.sink.error("RB109", f"unknown function `{e.func}`" + (f"; did you mean `{s}`?" if s else ""), e.span,
                            help="functions: len(text), words(text), count(set); in `per item` checks also "
                                 "agreement, majority, distinct, spread and share")
            return None
        if len(e.args) != 1:
            self.sink.error("RB103", f"`{e.func}` takes one argument, not {len(e.args)}", e.span,
                            help='write `len(t)`, `words(t)` or `count(s)`')
            return None
        x = self.expr(e.args[0], pos)
        if x is None:
            return None
        need = FUNCTIONS[e.func]
        if x.type.kind != need:
            self.sink.error("RB103", f"`{e.func}` needs {'a set' if need == 'set' else 'text'}, not {x.type.describe()}",
                            e.args[0].span, help="`len` and `words` take text; `count` takes a set")
            return None
        return Op(e.func, (x,), NUM, e.span, x.mentions)

    def _test(self, e: ast.Test, pos: int) -> ir.Expr | None:
        if e.op in ("present", "missing") and self._ctx == "item":
            x = self.expr(e.operand, pos)  # a bare field is reported there
            if x is None:
                return None
            if not isinstance(x, ir.Agg):
                self.sink.error("RB103", f"`is {e.op}` applies to an aggregate here", e.operand.span,
                                help="e.g. `majority(L) is missing` (a tie, or no judgment of L)")
                return None
            return Op(e.op, (x,), BOOL, e.span)
        if e.op in ("present", "missing"):
            if not isinstance(e.operand, ast.Name) or e.operand.name not in self.fields:
                if isinstance(e.operand, ast.Name) and e.operand.name not in self.names:
                    return self._name(e.operand, pos, None) and None
                self.sink.error("RB103", f"`is {e.op}` applies to an input or label", e.operand.span,
                            help="write `FIELD is present` or `FIELD is missing` with the field's own name")
                return None
            f = self.fields[e.operand.name]
            ref = FieldRef(f, f.type.expr_type, e.operand.span, frozenset({f.name}))
            return Op(e.op, (ref,), BOOL, e.span, ref.mentions)
        x = self.expr(e.operand, pos)
        if x is None:
            return None
        if x.type.kind != "set":
            self.sink.error("RB103", f"`is {e.op}` applies to a set, but this is {x.type.describe()}", e.operand.span,
                            help=("for text, test `len(t) == 0`" if e.op == "empty" else "for text, test `len(t) > 0`")
                            if x.type.kind == "text" else "`is empty` and `is not empty` test set labels")
            return None
        return Op(e.op, (x,), BOOL, e.span, x.mentions)

    def _matches(self, e: ast.Matches, pos: int) -> ir.Expr | None:
        x = self.expr(e.operand, pos)
        bad_flags = [c for c in e.flags if c not in "ims"]
        ok = True
        if bad_flags:
            self.sink.error("RB105", f"unknown regex flag `{''.join(bad_flags)}`", e.regex_span,
                            help="flags: i (ignore case), m (multi-line), s (dot matches newline)")
            ok = False
        elif len(set(e.flags)) != len(e.flags):
            self.sink.error("RB105", f"regex flag repeated in `{e.flags}`", e.regex_span,
                            help="give each flag once, e.g. `/.../is`")
            ok = False
        rx = ir.Regex(e.pattern, "".join(c for c in e.flags if c in "ims"))
        if ok:
            err = regex_error(rx)
            if err:
                self.sink.error("RB105", f"the regex is not accepted: {err}", e.regex_span,
                                help="regexes run on RE2 (linear time): no backreferences or lookaround")
                ok = False
        if x is None or not ok:
            return None
        if x.type.kind != "text":
            self.sink.error("RB103", f"`matches` works on text, but this is {x.type.describe()}", e.operand.span,
                            help='use `matches` on a text input, label or let')
            return None
        return Op("matches", (x,), BOOL, e.span, x.mentions, regex=rx)

    def _resolve_pair(self, left: ast.Expr, right: ast.Expr, pos: int):
        """Resolve two operands where a bare name may be an enum value of the other side."""
        if self._is_deferrable(left, pos) and not self._is_deferrable(right, pos):
            b = self.expr(right, pos)
            a = self._operand(left, pos, b)
            return a, b
        a = self.expr(left, pos) if not isinstance(left, ast.SetLit) else None
        if isinstance(left, ast.SetLit):
            b = self.expr(right, pos)
            a = self._operand(left, pos, b)
            return a, b
        b = self._operand(right, pos, a)
        return a, b

    def _operand(self, e: ast.Expr, pos: int, other: ir.Expr | None) -> ir.Expr | None:
        if other is None:
            if isinstance(e, ast.SetLit):
                return None
            if isinstance(e, ast.Name) and not self._visible(e.name, pos):
                return None  # the other side already failed; don't pile on
            return self.expr(e, pos)
        want = other.type.enum if other.type.kind in ("enum", "set") else None
        if isinstance(e, ast.SetLit):
            return self._set_lit(e, other.type, _label_of(other))
        self._for = _label_of(other)
        try:
            return self.expr(e, pos, want)
        finally:
            self._for = None

    def _set_lit(self, e: ast.SetLit, elem: Type, label: str | None = None) -> ir.Expr | None:
        vals: list[Any] = []
        ok = True
        for item in e.items:
            if elem.kind in ("enum", "set"):
                assert elem.enum is not None
                if item.kind in ("name", "string") and str(item.value) in elem.enum.values:
                    vals.append(str(item.value))
                else:
                    s = _suggest(str(item.value), elem.enum.values)
                    what = f" for '{label}'" if label else ""
                    self.sink.error("RB102", f"unknown value '{_fmt_value(item.value)}'{what}" + (f"; did you mean '{s}'?" if s else ""),
                                    item.span, help="the values are: " + ", ".join(elem.enum.values))
                    ok = False
            elif elem.kind == "num" and item.kind == "number":
                vals.append(item.value)
            elif elem.kind == "text" and item.kind == "string":
                vals.append(item.value)
            elif elem.kind == "bool" and item.kind == "bool":
                vals.append(item.value)
            else:
                self.sink.error("RB103", f"`{_fmt_value(item.value)}` is not a {elem.describe()} value", item.span,
                            help="the set's items must have the type of the value they are compared with")
                ok = False
        if not ok:
            return None
        t = Type("set", elem.enum) if elem.kind in ("enum", "set") else Type("set")
        return Const(frozenset(vals), t, e.span)

    def _compare(self, e: ast.Binary, pos: int) -> ir.Expr | None:
        if e.op in ("==", "!=") and self._null_compare(e, pos):
            return None
        a, b = self._resolve_pair(e.left, e.right, pos)
        if a is None or b is None:
            return None
        op = e.op
        ta, tb = a.type, b.type
        mentions = a.mentions | b.mentions
        if op in ("==", "!="):
            if ta.kind == tb.kind == "num":
                mode = "num"
            elif ta.kind == tb.kind and ta.kind in ("text", "bool"):
                mode = "eq"
            elif ta.kind == tb.kind == "enum":
                assert ta.enum is not None and tb.enum is not None
                if not ta.enum.same_type(tb.enum):
                    why = (" (two ordered enums are the same type only with their values in the same order, "
                           "and an ordered enum is never the same type as an unordered one)"
                           if ta.enum.same_values(tb.enum) else "")
                    self.sink.error("RB103", "compares values of two different enums", e.span,
                                    help=f"left is {ta.describe()}, right is {tb.describe()}{why}")
                    return None
                mode = "eq"
            elif ta.kind == tb.kind == "set":
                if ta.enum is not None and tb.enum is not None and not ta.enum.same_values(tb.enum):
                    self.sink.error("RB103", "compares two sets of different values", e.span,
                            help='both sides must be sets of the same enum values')
                    return None
                mode = "seteq"
            else:
                self.sink.error("RB103", f"cannot compare {ta.describe()} with {tb.describe()}", e.span,
                            help='`==` and `!=` compare two values of one type')
                return None
            return Op(op, (a, b), BOOL, e.span, mentions, mode=mode)
        if ta.kind == tb.kind == "num":
            return Op(op, (a, b), BOOL, e.span, mentions, mode="num")
        if ta.kind == tb.kind == "enum" and ta.enum is not None and tb.enum is not None and ta.enum.same_type(tb.enum):
            if not ta.enum.ordered:
                self.sink.error("RB103", f"`{op}` needs an ordered enum, but {ta.describe()} is unordered", e.span,
                                help="declare it `enum ordered {...}` if its values are ranked")
                return None
            return Op(op, (a, b), BOOL, e.span, mentions, mode="rank")
        self.sink.error("RB103", f"cannot order {ta.describe()} and {tb.describe()} with `{op}`", e.span,
                        help="`<`, `<=`, `>`, `>=` compare numbers and values of one ordered enum")
        return None

    def _null_compare(self, e: ast.Binary, pos: int) -> bool:
        """`x == None` (or null, nil): reported with the presence test it means."""
        for side, other in ((e.right, e.left), (e.left, e.right)):
            if not (isinstance(side, ast.Name) and side.name in _NULL_WORDS and side.name not in self.names):
                continue
            o = self.expr(other, pos)
            if o is not None and o.type.enum is not None and side.name in o.type.enum.values:
                return False  # a value of that enum
            test = "is missing" if e.op == "==" else "is present"
            self.sink.error("RB101", f"unknown name `{side.name}`: the language has no null value", side.span,
                            help=f"write `{self._text(other.span)} {test}`")
            return True
        return False

    def _in(self, e: ast.Binary, pos: int) -> ir.Expr | None:
        if isinstance(e.right, ast.SetLit):
            a = self.expr(e.left, pos)
            if a is None:
                return None
            if a.type.kind not in ("num", "text", "enum", "bool"):
                self.sink.error("RB103", f"`{e.op}` tests one value, but this is {a.type.describe()}", e.left.span,
                                help="for sets, use `any of`, `all of` or `none of`")
                return None
            b = self._set_lit(e.right, a.type, _label_of(a))
            if b is None:
                return None
            return Op(e.op, (a, b), BOOL, e.span, a.mentions, mode="const")
        b = self.expr(e.right, pos) if not self._is_deferrable(e.right, pos) else None
        if b is None:
            if self._is_deferrable(e.right, pos):
                self.expr(e.right, pos)
            return None
        if b.type.kind != "set":
            self.sink.error("RB103", f"`{e.op}` needs a set on its right, but this is {b.type.describe()}", e.right.span,
                            help="write `x in {a, b}` or `value in set_field`")
            return None
        self._for = _label_of(b)
        try:
            a = self.expr(e.left, pos, b.type.enum)
        finally:
            self._for = None
        if a is None:
            return None
        if a.type.kind != "enum" or a.type.enum is None or b.type.enum is None or not a.type.enum.same_values(b.type.enum):
            self.sink.error("RB103", f"{a.type.describe()} cannot be a member of {b.type.describe()}", e.left.span,
                            help="the value must be one of the set's own values, or a field of the same enum")
            return None
        return Op(e.op, (a, b), BOOL, e.span, a.mentions | b.mentions, mode="field")

    def _set_test(self, e: ast.Binary, pos: int) -> ir.Expr | None:
        a = self.expr(e.left, pos)
        if a is None:
            return None
        if a.type.kind != "set":
            self.sink.error("RB103", f"`{e.op} of` needs a set on its left, but this is {a.type.describe()}", e.left.span,
                            help="for one value, use `x in {a, b}`")
            return None
        b = self._operand(e.right, pos, a)
        if b is None:
            return None
        if b.type.kind != "set" or (b.type.enum is not None and a.type.enum is not None
                                     and not b.type.enum.same_values(a.type.enum)):
            self.sink.error("RB103", f"`{e.op} of` needs a set of the same values on its right", e.right.span,
                            help='write `S any of {a, b}` with values of S, or another set of the same values')
            return None
        return Op(e.op, (a, b), BOOL, e.span, a.mentions | b.mentions)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SKIPPED_DECL = re.compile(
    r"^[ \t]*(?:(?:input|label|let|rule|decide|criterion|consensus)[ \t]+([A-Za-z_]\w*)"
    r"|escalate[ \t]+([A-Za-z_]\w*)(?:[ \t]+([A-Za-z_]\w*))?|edge[ \t]+([A-Za-z_]\w*))", re.M)


def _skipped_declarations(text: str, regions: list[tuple[int, int]]) -> tuple[set[str], bool]:
    """The names the skipped regions declare (fields, lets, rules, escalations and their
    targets, edge cases, decided labels, criteria), and whether one holds a `record` block."""
    names: set[str] = set()
    record = False
    for start, end in regions:
        chunk = text[start:end]
        names.update(n for m in _SKIPPED_DECL.finditer(chunk) for n in m.groups() if n)
        record = record or re.search(r"^[ \t]*record\b", chunk, re.M) is not None
    return names, record


def _ir_names(e: Any, out: set[str]) -> None:
    """The fields and lets an IR expression reads."""
    if isinstance(e, FieldRef):
        out.add(e.field.name)
    elif isinstance(e, LetRef):
        out.add(e.let.name)
        _ir_names(e.let.expr, out)
    elif isinstance(e, ir.Agg):
        out.update(e.reads)
        _ir_names(e.expr, out)
    elif isinstance(e, Op):
        for a in e.args:
            _ir_names(a, out)


_NULL_WORDS = ("None", "null", "NULL", "Null", "nil")
_SLIPS = {
    "True": "booleans are written in lower case: `true`",
    "False": "booleans are written in lower case: `false`",
    "TRUE": "booleans are written in lower case: `true`",
    "FALSE": "booleans are written in lower case: `false`",
    **{w: "the language has no null value: test a field with `FIELD is missing` or `FIELD is present`"
       for w in _NULL_WORDS},
}


def _reads(e) -> frozenset[str]:
    """The fields an expression reads, through lets and aggregates."""
    if isinstance(e, FieldRef):
        return frozenset({e.field.name})
    if isinstance(e, LetRef):
        return _reads(e.let.expr)
    if isinstance(e, ir.Agg):
        return e.reads
    if isinstance(e, Op):
        out: frozenset[str] = frozenset()
        for a in e.args:
            out |= _reads(a)
        return out
    return frozenset()


def _clash(a: tuple[str | int, ...], b: tuple[str | int, ...]) -> bool:
    """Whether two paths cannot both hold a value: one is a prefix of the other, or they
    use one container as an object in one path and as an array in the other."""
    for x, y in zip(a, b):
        if x != y:
            return isinstance(x, int) != isinstance(y, int)
    return True


def _label_of(x: ir.Expr | None) -> str | None:
    if isinstance(x, FieldRef):
        return x.field.name
    if isinstance(x, LetRef):
        return x.let.name
    return None


class _Bad:
    def __repr__(self) -> str:
        return "<bad>"


_BAD: Any = _Bad()
