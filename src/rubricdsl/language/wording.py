"""The guideline model: what `rubric doc` shows annotators, built from a rubric's IR,
and the words of a condition that lint, diff, the guideline and the language server
share (in the language layer so that each of them reads it downward).

Input: an `ir.RubricIR`. Output: a `Guide`, plain dataclasses whose conditions are
`Words` — tuples of `Frag`s (plain words, field and let names, values, patterns) that
a renderer (`render_doc`) turns into Markdown or HTML. Nothing here renders markup or
imports jinja2.

Conditions are worded for readers who do not program: `harm is empty` reads "nothing
is selected for `harm`", `x in {a, b}` reads "`x` is `a` or `b`", `f is missing` reads
"`f` is not given". Every operator of `ir.Op` has a wording (`say` for conditions,
`value_words` for values), including their negations; anything unknown falls back to
a neutral wording instead of failing.

`anchor` is the one anchor scheme of the guideline, used by the guideline and by the
HTML report of `rubric check` to link a finding to the clause behind it. Anchors are
derived from names (`rule-NAME`, `decide-LABEL`, `arm-LABEL-EDGE`), and from
positions only where the language gives no name (`arm-LABEL-N` for an unnamed arm).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from rubricdsl.core.paths import AT, Select
from rubricdsl.core.values import number_text, value_text
from rubricdsl.language import ir
from rubricdsl.language.walk import operands

# ---- anchors ---------------------------------------------------------------------------------

ANCHOR_KINDS = ("criterion", "input", "label", "let", "decide", "arm", "rule", "escalate", "consensus", "example")

# fixed sections of the guideline; none starts with an anchor kind followed by `-`
SECTION_TOP_LEVEL = "top-level"
SECTION_ITEMS = "items"
SECTION_DEFINITIONS = "definitions"
SECTION_EXAMPLES = "examples"
SECTION_CONTENTS = "contents"
SECTION_READING = "how-to-read"

_ARM_N = re.compile(r"arm (\d+)\Z")


def anchor(kind: str, name: str, label: str | None = None) -> str:
    """The anchor (HTML id) of one clause of the guideline.

    `kind` is one of ANCHOR_KINDS. `name` is the clause's name: a criterion, field,
    let, rule or escalation name; the decided label for `decide` and `consensus`; for
    `arm`, the arm's name as findings give it (an edge's name, or `arm N`) with the
    decided label as `label`; for `example`, the example's title (slugged).

    >>> anchor("rule", "rationale_substance")
    'rule-rationale_substance'
    >>> anchor("arm", "arm 3", label="safety"), anchor("arm", "operational_uplift", label="safety")
    ('arm-safety-3', 'arm-safety-operational_uplift')
    """
    if kind not in ANCHOR_KINDS:
        raise ValueError(f"unknown anchor kind {kind!r}")
    if kind == "arm":
        if label is None:
            raise ValueError("an arm's anchor needs its decided label")
        m = _ARM_N.match(name)
        return f"arm-{label}-{m.group(1) if m else name}"
    if kind == "example":
        return "example-" + slug(name)
    return f"{kind}-{name}"


def slug(text: str) -> str:
    """Lower-case letters, digits and `_`, runs of anything else as one `-`."""
    s = re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-")
    return s or "untitled"


def field_anchor(f: ir.FieldIR) -> str:
    return anchor("label" if f.kind == "label" else "input", f.name)


def finding_anchor(rubric: ir.RubricIR, finding: dict) -> str | None:
    """The anchor of the clause a finding comes from, or None (an unreadable line).

    invalid -> the field; a decision's violation, ambiguity or gap -> its `decide`;
    a rule's violation -> the rule (`consensus` violations -> the label's consensus);
    an item's disagreement on a label -> its consensus; escalation -> the escalation.
    """
    kind = finding.get("kind")
    rule = finding.get("rule")
    label = finding.get("label")
    if kind == "unreadable":
        return None
    if kind == "invalid":
        f = rubric.field(label) if label else None
        return field_anchor(f) if f is not None else None
    if kind == "escalation":
        return anchor("escalate", rule) if rule else None
    if rule == "consensus" and label and any(c.label.name == label for c in rubric.consensus):
        return anchor("consensus", label)  # an item's disagreement, or too few annotators
    if kind in ("uncovered", "ambiguous", "violation") and label and rule == label:
        if any(d.label.name == label for d in rubric.decides):
            return anchor("decide", label)
        f = rubric.field(label)
        return field_anchor(f) if f is not None else None
    if rule and any(r.name == rule for r in rubric.rules + rubric.item_rules):
        return anchor("rule", rule)
    return None


# ---- words -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Frag:
    """A piece of worded text.

    kind: `text` (plain words), `field` (an input or label name), `let`, `value` (an
    enum value, number or boolean), `string` (a text literal), `pattern` (a regex), or
    `role` (an escalation target). `href` is the anchor it links to, if any.
    """

    kind: str
    text: str
    href: str | None = None


Words = tuple[Frag, ...]


def T(s: str) -> Frag:
    return Frag("text", s)


def plain(words: Iterable[Frag]) -> str:
    """Words as plain text (names in backticks): for messages, titles, tests."""
    out = []
    for w in words:
        if w.kind == "text":
            out.append(w.text)
        elif w.kind == "string":
            out.append(f"“{w.text}”")
        else:
            out.append(f"`{w.text}`")
    return "".join(out)


def _join(parts: list[Words], last: str = " or ", sep: str = ", ") -> Words:
    if not parts:
        return ()
    out: list[Frag] = list(parts[0])
    for i, p in enumerate(parts[1:], 1):
        out.append(T(last if i == len(parts) - 1 else sep))
        out.extend(p)
    return tuple(out)


def value_frag(v: Any) -> Frag:
    """A literal value: enum values, numbers and booleans as values, strings quoted."""
    return Frag("value", value_text(v))


def _sorted_values(values: Iterable[Any], enum: ir.EnumType | None) -> list[Any]:
    vals = list(values)
    if enum is not None:
        order = {v: i for i, v in enumerate(enum.values)}
        return sorted(vals, key=lambda v: (order.get(v, len(order)), str(v)))
    try:
        return sorted(vals)
    except TypeError:
        return sorted(vals, key=repr)


class Wording:
    """Words for the expressions of one rubric (names link to their clauses)."""

    def __init__(self, rubric: ir.RubricIR) -> None:
        self.rubric = rubric

    # -- names and values --

    def name(self, e: Any) -> Words:
        if isinstance(e, ir.FieldRef):
            return (Frag("field", e.field.name, field_anchor(e.field)),)
        if isinstance(e, ir.LetRef):
            return (Frag("let", e.let.name, anchor("let", e.let.name)),)
        return ()

    def const(self, c: ir.Const, joiner: str = " or ") -> Words:
        v = c.value
        if isinstance(v, frozenset):
            vals = _sorted_values(v, c.type.enum)
            if not vals:
                return (T("nothing"),)
            return _join([(self._lit(x, c.type),) for x in vals], joiner)
        return (self._lit(v, c.type),)

    @staticmethod
    def _lit(v: Any, t: ir.Type) -> Frag:
        if isinstance(v, str) and (t.kind == "text" or (t.kind == "set" and t.enum is None)):
            return Frag("string", v)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return T(number_text(v))  # numbers read as words: "at least 3"
        return value_frag(v)

    def value_words(self, e: Any) -> Words:
        """Words for a value (a number, text, enum value or set)."""
        if isinstance(e, (ir.FieldRef, ir.LetRef)):
            return self.name(e)
        if isinstance(e, ir.Const):
            if isinstance(e.value, frozenset):
                return (T("{"),) + self.const(e, ", ") + (T("}"),)
            return self.const(e)
        if isinstance(e, ir.Agg):
            return self.agg(e)
        if isinstance(e, ir.Op):
            op, args = e.op, e.args
            if op == "len":
                return (T("the length of "),) + self.value_words(args[0]) + (T(" in characters"),)
            if op == "words":
                return (T("the number of words in "),) + self.value_words(args[0])
            if op == "count":
                return (T("the number of values selected for "),) + self.value_words(args[0])
            if op == "neg":
                return (T("minus "),) + self._operand(args[0])
            if op in _ARITH:
                return self._operand(args[0]) + (T(f" {_ARITH[op]} "),) + self._operand(args[1])
            if e.type.kind == "bool":
                return (T("whether "),) + self.say(e)
        return self.fallback(e)

    def _operand(self, e: Any) -> Words:
        w = self.value_words(e)
        if isinstance(e, ir.Op) and e.op in _ARITH:
            return (T("("),) + w + (T(")"),)
        return w

    def agg(self, e: ir.Agg) -> Words:
        """Aggregates over an item's judgments (`per item` rules and escalations)."""
        kind = e.kind
        arg = e.field or e.expr
        a: Words = ()
        if arg is not None:
            if isinstance(arg, ir.FieldIR):
                a = (Frag("field", arg.name, field_anchor(arg)),)
            elif isinstance(arg, ir.Op) and arg.type.kind == "bool":
                a = self.say(arg)
            else:
                a = self.value_words(arg)
        if kind == "annotators":
            return (T("the number of annotators"),)
        if kind == "judgments":
            return (T("the number of judgments"),)
        if kind == "agreement":
            return (T("the share of judgments that give the most common "),) + a
        if kind == "majority":
            return (T("the most common "),) + a
        if kind == "distinct":
            return (T("the number of different values given for "),) + a
        if kind == "spread":
            return (T("the spread of "),) + a + (T(" (highest minus lowest)"),)
        if kind == "share":
            return (T("the share of judgments in which "),) + a
        return (T(f"{kind or 'aggregate'} of "),) + (a or (T("the item"),))

    def fallback(self, e: Any) -> Words:
        """A neutral wording for anything without a wording of its own."""
        if isinstance(e, ir.Op):
            inner: list[Words] = [self.value_words(a) for a in e.args if a is not None]
            return (Frag("value", e.op), T(" of ")) + _join(inner, " and ") if inner else (Frag("value", e.op),)
        return (T("a condition"),)

    # -- conditions --

    def say(self, e: Any, neg: bool = False) -> Words:
        """Words for a condition; with `neg`, for its negation."""
        if isinstance(e, ir.Const):
            return (T("never" if bool(e.value) == neg else "always"),)
        if isinstance(e, (ir.FieldRef, ir.LetRef)):
            return self._truth(e, neg)
        if not isinstance(e, ir.Op):
            return ((T("it is not true that "),) if neg else ()) + self.fallback(e)
        op, args = e.op, e.args
        if op == "not":
            return self.say(args[0], not neg)
        if op in ("and", "or"):
            return self._junction(e, neg)
        if op == "truth":
            return self._truth(args[0], neg)
        if op in ("present", "missing"):
            given = (op == "present") != neg
            who = self.value_words(args[0])
            if isinstance(args[0], ir.Agg):  # an aggregate has no value over no judgments, or on a tie
                if who and who[0].kind == "text" and who[0].text.startswith("the "):
                    who = (T(who[0].text[4:]),) + who[1:]
                return (T("there is a " if given else "there is no "),) + who
            return who + (T(" is given" if given else " is not given"),)
        if op in _COMPARE:
            return self._compare(e, neg)
        if op in ("in", "not in"):
            return self._member(e, neg)
        if op in ("any", "all", "none"):
            return self._set_test(e, neg)
        if op in ("empty", "not empty"):
            nothing = (op == "empty") != neg
            sw = self.value_words(args[0])
            w = ((T("nothing is selected for "),) if nothing else (T("something is selected for "),)) + sw
            return self._polarity(w, sw, neg, nothing, args[0])
        if op == "contains":
            t, u = args
            w = self.value_words(t) + (T(" does not contain " if neg else " contains "),) + self.value_words(u)
            return self._polarity(w, (), neg, False, t, u)
        if op == "matches":
            rx = e.regex
            flags = ""
            if rx is not None and rx.flags:
                flags = " (" + ", ".join(_FLAG_WORDS.get(f, f) for f in rx.flags) + ")"
            w = (self.value_words(args[0]) + (T(" does not match " if neg else " matches "),)
                 + (T("the pattern "), Frag("pattern", rx.pattern if rx else "?"), T(flags)))
            return self._polarity(w, (), neg, False, args[0])
        w = self.fallback(e)
        return ((T("it is not true that "),) + w) if neg else w

    def _truth(self, x: Any, neg: bool) -> Words:
        if isinstance(x, ir.LetRef):
            return self.name(x) + (T(" does not hold" if neg else " holds"),)
        return self.value_words(x) + (T(" is not true" if neg else " is true"),)

    def _junction(self, e: ir.Op, neg: bool) -> Words:
        op = e.op
        parts = operands(e, op)
        if neg and op == "or":  # neither ... nor: exactly not (A or B or ...)
            inner = [self._wrap(p, op) for p in parts]
            if len(inner) == 2:
                return (T("neither "),) + inner[0] + (T(" nor "),) + inner[1]
            return (T("none of these holds: "),) + _join(inner, "; ", "; ")
        words = [self._wrap(p, op) for p in parts]
        joined = _join(words, f" {op} ", f" {op} ")
        if neg:
            return (T("it is not true that "), T("(")) + joined + (T(")"),)
        if op == "or" and len(words) == 2:
            return (T("either "),) + joined
        return joined

    def _wrap(self, e: Any, parent: str) -> Words:
        """A part of an `and`/`or` chain, in parentheses when its own words use the
        chain's connective (`x is a or b` inside an `or`), so the grouping stays clear."""
        w = self.say(e)
        if isinstance(e, ir.Op) and e.op in ("and", "or") and e.op != parent:
            return (T("("),) + w + (T(")"),)
        marker = f" {parent} "
        if any(f.kind == "text" and (marker in f.text or f.text.endswith(marker[:-1])) for f in w):
            return (T("("),) + w + (T(")"),)
        return w

    def _compare(self, e: ir.Op, neg: bool) -> Words:
        a, b = e.args
        left = self.value_words(a)
        if e.mode == "seteq" or (isinstance(b, ir.Const) and isinstance(b.value, frozenset)):
            equal = (e.op == "==") != neg
            if isinstance(b, ir.Const) and not b.value:
                w = ((T("nothing is selected for "),) if equal else (T("something is selected for "),)) + left
            else:
                rhs = self.const(b, " and ") if isinstance(b, ir.Const) else self.value_words(b)
                w = left + (T(" is exactly " if equal else " is not exactly "),) + rhs
        elif (isinstance(a, ir.Agg) and a.kind in _COUNTED and isinstance(b, ir.Const)
              and isinstance(b.value, (int, float)) and not isinstance(b.value, bool)):
            op = _NEGATE[e.op] if neg else e.op
            n = number_text(b.value)
            noun = _COUNTED[a.kind] + ("" if n == "1" else "s")
            return (T(_HOW_MANY[op].format(n=n, noun=noun)),)
        elif isinstance(a, ir.FieldRef) and isinstance(b, ir.FieldRef) and e.op in ("==", "!="):
            same = (e.op == "==") != neg
            w = left + (T(" is the same as " if same else " differs from "),) + self.value_words(b)
        else:
            w = left + (T(_COMPARE[_NEGATE[e.op] if neg else e.op]),) + self.value_words(b)
        # `x != a` and `S == {}` read as if they held when x or S is not given; they do not
        empty_set = isinstance(b, ir.Const) and isinstance(b.value, frozenset) and not b.value
        negative = (e.op == "==") if empty_set else e.op == "!="
        return self._polarity(w, left, neg, negative, a, b)

    def _member(self, e: ir.Op, neg: bool) -> Words:
        """`x in {a, b}`, `x not in {...}` and `v in S` (a set field); `neg`: under a `not`."""
        a, b = e.args
        negative = neg != (e.op == "not in")
        if e.mode == "field" or not isinstance(b, ir.Const):  # a value in a set field
            who = self.value_words(a)
            if isinstance(a, ir.FieldRef):
                who = (T("the value of "),) + who
            s = self.value_words(b)
            w = who + (T(" is not selected for " if negative else " is selected for "),) + s
            return self._polarity(w, s, neg, negative, a, b)
        vals = _sorted_values(b.value, b.type.enum)
        x = self.value_words(a)
        lits = [(self._lit(v, a.type),) for v in vals]
        if not negative:
            w = x + (T(" is "),) + _join(lits, " or ") if lits else (T("never"),)
        elif not lits:
            w = x + (T(" is given"),)
        elif len(lits) == 1:
            w = x + (T(" is not "),) + lits[0]
        elif len(lits) == 2:
            w = x + (T(" is neither "),) + lits[0] + (T(" nor "),) + lits[1]
        else:
            w = x + (T(" is none of "),) + _join(lits, ", ", ", ")
        return self._polarity(w, x, neg, negative, a)

    def _set_test(self, e: ir.Op, neg: bool) -> Words:
        s, t = e.args
        op = {"any": "none", "none": "any", "all": "not all"}[e.op] if neg else e.op
        negative = op in ("none", "not all")
        sw = self.value_words(s)
        if isinstance(t, ir.Const):
            vals = _sorted_values(t.value, t.type.enum)
            lits = [(self._lit(v, t.type),) for v in vals]
            if op == "any":
                if not lits:
                    w: Words = (T("never"),)
                elif len(lits) == 1:
                    w = lits[0] + (T(" is selected for "),) + sw
                else:
                    w = (T("at least one of "),) + _join(lits, " or ") + (T(" is selected for "),) + sw
            elif op == "all":
                if not lits:
                    w = (T("always"),)
                elif len(lits) == 1:
                    w = lits[0] + (T(" is selected for "),) + sw
                else:
                    w = (T("all of "),) + _join(lits, " and ") + (T(" are selected for "),) + sw
            elif op == "not all":
                if len(lits) == 1:
                    w = lits[0] + (T(" is not selected for "),) + sw
                else:
                    w = (T("not all of "),) + _join(lits, " and ") + (T(" are selected for "),) + sw
            elif len(lits) == 1:
                w = lits[0] + (T(" is not selected for "),) + sw
            else:
                w = (T("none of "),) + _join(lits, " or ") + (T(" is selected for "),) + sw
            return self._polarity(w, sw, neg, negative, s)
        tw = self.value_words(t)
        if op == "any":
            w = sw + (T(" and "),) + tw + (T(" have a value in common"),)
        elif op == "all":
            w = (T("every value selected for "),) + tw + (T(" is also selected for "),) + sw
        elif op == "not all":
            w = (T("some value selected for "),) + tw + (T(" is not selected for "),) + sw
        else:
            w = sw + (T(" and "),) + tw + (T(" have no value in common"),)
        return self._polarity(w, sw, neg, negative, s, t)

    def _polarity(self, w: Words, who: Words, neg: bool, negative: bool, *exprs: Any) -> Words:
        """Make the words exact about fields that are not given: a test under `not`
        holds when they are not given; a negative-sounding test does not."""
        if neg:
            return self._or_not_given(w, *exprs)
        if negative:
            return self._given_and(w, who, *exprs)
        return w

    # -- missing values --

    def _missing_fields(self, exprs: Iterable[Any]) -> list[ir.FieldIR]:
        return [x.field for x in exprs if isinstance(x, ir.FieldRef) and x.field.may_be_missing]

    def _given_and(self, w: Words, who: Words, *exprs: Any) -> Words:
        """A negative test (`x != a`, `v not in S`, `S is empty`) does not hold when a field
        it reads is not given, although its words suggest it would: say so, where the
        field may be missing."""
        fields = self._missing_fields(exprs)
        if not fields:
            return w
        names = _join([(Frag("field", f.name, field_anchor(f)),) for f in fields], " and ")
        verb = _GIVEN_AND[0] if len(fields) == 1 else _GIVEN_AND[1]
        if len(fields) == 1 and who == names:
            return names + (T(verb),) + _strip_subject(w, who)
        return names + (T(verb),) + w

    def _or_not_given(self, w: Words, *exprs: Any) -> Words:
        """`not (x < 3)` also holds when x is not given: say so, where x may be missing."""
        fields = self._missing_fields(exprs)
        if not fields:
            return w
        if len(fields) == 1 and w[:1] == (Frag("field", fields[0].name, field_anchor(fields[0])),):
            return w + (T(" (or not given)"),)
        names = _join([(Frag("field", f.name, field_anchor(f)),) for f in fields], " or ")
        return w + (T(" (or "),) + names + (T(" is not given)"),)


def _strip_subject(w: Words, who: Words) -> Words:
    if w[: len(who)] == who:
        rest = w[len(who):]
        if rest and rest[0].kind == "text" and rest[0].text.startswith(" "):
            return (T(rest[0].text[1:]),) + rest[1:]
        return rest
    return w


_GIVEN_AND = (" is given and ", " are given and ")
_COUNTED = {"annotators": "annotator", "judgments": "judgment"}
_HOW_MANY = {"<": "fewer than {n} {noun}", "<=": "at most {n} {noun}", ">": "more than {n} {noun}",
             ">=": "at least {n} {noun}", "==": "exactly {n} {noun}", "!=": "other than {n} {noun}"}
_ARITH = {"+": "plus", "-": "minus", "*": "times", "/": "divided by"}
_COMPARE = {"==": " is ", "!=": " is not ", "<": " is below ", "<=": " is at most ", ">": " is above ",
            ">=": " is at least "}
_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_FLAG_WORDS = {"i": "ignoring case", "m": "^ and $ at each line", "s": ". also matches a line break"}


# ---- the guideline model ---------------------------------------------------------------------


@dataclass
class ValueDoc:
    value: str
    meaning: str | None


@dataclass
class FieldDoc:
    anchor: str
    name: str
    kind: str  # input | label
    type: Words
    presence: Words
    path: str
    doc: str | None
    values: list[ValueDoc]  # enum and set values (every one), or the `level`s of other types
    levels_only: bool  # values holds only the levels written (scales, bools), not every value
    where: Words | None = None  # where the path reads, in words (paths with selectors or `@`)


@dataclass
class ArmDoc:
    anchor: str
    number: int
    kind: str  # edge | when | otherwise
    name: str  # the edge's name, or `arm N`
    title: str | None
    when: Words | None
    values: list[str]
    doc: str | None


@dataclass
class DecideDoc:
    anchor: str
    label: str
    label_anchor: str
    first: bool
    doc: str | None
    edges: list[ArmDoc]
    arms: list[ArmDoc]
    otherwise: ArmDoc | None

    @property
    def all_arms(self) -> list[ArmDoc]:
        return self.edges + self.arms + ([self.otherwise] if self.otherwise else [])


@dataclass
class RuleDoc:
    anchor: str
    name: str
    message: str
    severity: str
    when: Words | None
    require: Words
    doc: str | None
    per_item: bool


@dataclass
class EscalationDoc:
    anchor: str
    name: str
    target: str
    reason: str
    when: Words
    doc: str | None
    per_item: bool


@dataclass
class ConsensusDoc:
    anchor: str
    label: str
    label_anchor: str
    min_annotators: int | None
    min_agreement: float | None
    doc: str | None


@dataclass
class LetDoc:
    anchor: str
    name: str
    doc: str | None
    means: Words
    condition: bool  # a true-or-false let ("holds when …"), else a value ("stands for …")


@dataclass
class SectionDoc:
    """A criterion, or the rubric's top level."""

    anchor: str
    name: str | None
    title: str
    doc: str | None
    applies: Words | None
    inputs: list[FieldDoc]
    labels: list[FieldDoc]
    decides: list[DecideDoc]
    rules: list[RuleDoc]
    escalations: list[EscalationDoc]

    @property
    def empty(self) -> bool:
        return not (self.doc or self.inputs or self.labels or self.decides or self.rules or self.escalations)


@dataclass
class ExampleDoc:
    anchor: str
    title: str
    doc: str | None
    given: list[tuple[Frag, str]]
    expect: list[Words]  # empty: the example passes with no finding


@dataclass
class Guide:
    name: str
    version: str
    sha256: str
    file: str
    doc: str | None
    sections: list[SectionDoc]  # the top level first (when it has anything), then each criterion
    consensus: list[ConsensusDoc]
    item_rules: list[RuleDoc]
    item_escalations: list[EscalationDoc]
    lets: list[LetDoc]
    examples: list[ExampleDoc]
    anchors: list[str] = field(default_factory=list)  # every anchor, in document order

    @property
    def has_items(self) -> bool:
        return bool(self.consensus or self.item_rules or self.item_escalations)


_SEVERITY_WORD = {"error": "must", "warning": "should", "info": "note"}


def severity_word(severity: str) -> str:
    """How binding a rule is, in words: error -> must, warning -> should, info -> note."""
    return _SEVERITY_WORD.get(severity, severity)


def type_words(t: ir.FieldType) -> Words:
    k = t.kind
    rng = ""
    if t.lo is not None and t.hi is not None:
        rng = f" from {number_text(t.lo)} to {number_text(t.hi)}"
    if k == "bool":
        return (T("true or false"),)
    if k == "int":
        return (T("a whole number" + rng),)
    if k == "number":
        return (T("a number" + rng),)
    if k == "scale":
        return (T("a whole number on a scale" + rng),)
    if k == "text":
        return (T("free text"),)
    assert t.enum is not None
    vals = [(value_frag(v),) for v in t.enum.values]
    if k == "set":
        return (T("any of "),) + _join(vals, ", ", ", ") + (T(" (several, or none)"),)
    if t.enum.ordered:
        return (T("one of, from lowest to highest: "),) + _join(vals, ", ", ", ")
    return (T("one of "),) + _join(vals, " or ")


class _Builder:
    def __init__(self, rubric: ir.RubricIR) -> None:
        self.r = rubric
        self.w = Wording(rubric)
        self.anchors: list[str] = []
        self._example_anchors: set[str] = set()

    def mark(self, a: str) -> str:
        self.anchors.append(a)
        return a

    def field_doc(self, f: ir.FieldIR) -> FieldDoc:
        if f.required_when is not None:
            presence = (T("required when "),) + self.w.say(f.required_when)
        elif f.optional:
            presence = (T("optional"),)
        else:
            presence = (T("required"),)
        levels = {value_text(v): d for v, d in f.levels}
        if f.type.kind in ("enum", "set") and f.type.enum is not None:
            values = [ValueDoc(v, levels.get(value_text(v))) for v in f.type.enum.values]
            only = False
        else:
            values = [ValueDoc(number_text(v), d) for v, d in f.levels]
            only = True
        return FieldDoc(self.mark(field_anchor(f)), f.name, f.kind, type_words(f.type), presence, f.path_text,
                        f.doc, values, only, path_words(f.path, self.r.record_each))

    def decide_doc(self, d: ir.DecideIR) -> DecideDoc:
        a = self.mark(anchor("decide", d.label.name))
        edges, arms, other = [], [], None
        for arm in d.arms:
            ad = ArmDoc(self.mark(anchor("arm", arm.name, d.label.name)), arm.number, arm.kind, arm.name, arm.title,
                        self.w.say(arm.cond) if arm.cond is not None else None,
                        [value_text(v) for v in arm.values], arm.doc)
            if arm.kind == "edge":
                edges.append(ad)
            elif arm.kind == "otherwise":
                other = ad
            else:
                arms.append(ad)
        return DecideDoc(a, d.label.name, field_anchor(d.label), d.first, d.doc, edges, arms, other)

    def rule_doc(self, r: ir.RuleIR) -> RuleDoc:
        return RuleDoc(self.mark(anchor("rule", r.name)), r.name, r.message, r.severity,
                       self.w.say(r.when) if r.when is not None else None, self.w.say(r.require), r.doc,
                       r.per_item)

    def escalation_doc(self, e: ir.EscalateIR) -> EscalationDoc:
        return EscalationDoc(self.mark(anchor("escalate", e.name)), e.name, e.target, e.reason, self.w.say(e.when),
                             e.doc, e.per_item)

    def section(self, c: ir.CriterionIR | None) -> SectionDoc:
        name = c.name if c is not None else None
        a = self.mark(anchor("criterion", c.name) if c is not None else SECTION_TOP_LEVEL)
        fields = [f for f in self.r.fields if f.criterion == name]
        return SectionDoc(
            a, name, (c.title or c.name) if c is not None else "General", c.doc if c is not None else None,
            self.w.say(c.applies) if c is not None and c.applies is not None else None,
            [self.field_doc(f) for f in fields if f.kind == "input"],
            [self.field_doc(f) for f in fields if f.kind == "label"],
            [self.decide_doc(d) for d in self.r.decides if d.criterion == name],
            [self.rule_doc(r) for r in self.r.rules if r.criterion == name],
            [self.escalation_doc(e) for e in self.r.escalations if e.criterion == name])

    def example_doc(self, x: ir.ExampleIR) -> ExampleDoc:
        a = anchor("example", x.title)
        base, n = a, 2
        while a in self._example_anchors:
            a, n = f"{base}-{n}", n + 1
        self._example_anchors.add(a)
        given = []
        for name, v in x.given.items():
            f = self.r.field(name)
            href = field_anchor(f) if f is not None else None
            given.append((Frag("field", name, href), value_text(v)))
        expect = [self.outcome(kind, name) for kind, name in sorted(x.expect, key=_outcome_order)]
        return ExampleDoc(self.mark(a), x.title, x.doc, given, expect)

    def outcome(self, kind: str, name: str) -> Words:
        r = self.r
        if kind == "escalation":
            return (T("sent to "), Frag("role", name))
        if kind == "invalid":
            f = r.field(name)
            return (T("an invalid value for "), Frag("field", name, field_anchor(f) if f else None))
        if kind in ("uncovered", "ambiguous"):
            what = "no row of the decision for " if kind == "uncovered" else "two different answers from the decision for "
            return (T(what), Frag("field", name, anchor("decide", name)))
        if any(x.name == name for x in r.rules):
            return (T("breaks the rule "), Frag("value", name, anchor("rule", name)))
        return (T("breaks the decision for "), Frag("field", name, anchor("decide", name)))

    def build(self) -> Guide:
        r = self.r
        sections = []
        top = self.section(None)
        if top.empty:
            self.anchors.remove(SECTION_TOP_LEVEL)
        else:
            sections.append(top)
        sections += [self.section(c) for c in r.criteria]
        consensus = []
        for c in r.consensus:
            consensus.append(ConsensusDoc(self.mark(anchor("consensus", c.label.name)), c.label.name,
                                          field_anchor(c.label), c.min_annotators, c.min_agreement, c.doc))
        item_rules = [self.rule_doc(x) for x in r.item_rules]
        item_escalations = [self.escalation_doc(x) for x in r.item_escalations]
        lets = [LetDoc(self.mark(anchor("let", x.name)), x.name, x.doc,
                       self.w.say(x.expr) if x.expr.type.kind == "bool" else self.w.value_words(x.expr),
                       x.expr.type.kind == "bool")
                for x in r.lets]
        examples = [self.example_doc(x) for x in r.examples]
        return Guide(r.name, r.version, r.sha256, os.path.basename(r.source_name), r.doc, sections, consensus,
                     item_rules, item_escalations, lets, examples, self.anchors)


_KIND_ORDER = {"violation": 0, "ambiguous": 1, "uncovered": 2, "invalid": 3, "escalation": 4}


def _outcome_order(o: tuple[str, str]) -> tuple[int, str]:
    return (_KIND_ORDER.get(o[0], 9), o[1])


def build_guide(rubric: ir.RubricIR) -> Guide:
    """The guideline of a compiled rubric."""
    return _Builder(rubric).build()


# ---- where a field is read, in words ---------------------------------------------------------

_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def _ordinal(i: int) -> str:
    return _ORDINALS[i] if 0 <= i < len(_ORDINALS) else f"element {i + 1}"


def singular(word: str) -> str:
    """A plural noun made singular, simply: `annotations` -> `annotation`, `entries` ->
    `entry`; a word that does not end in a plural `s` is kept."""
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 1 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _segments(steps: tuple) -> list[tuple[str, list[int], Select | None]]:
    """A path's steps as segments: (key, indexes, selector)."""
    out: list[tuple[str, list[int], Select | None]] = []
    for step in steps:
        if isinstance(step, str):
            out.append((step, [], None))
        elif isinstance(step, Select):
            key, idx, _ = out[-1]
            out[-1] = (key, idx, step)
        elif isinstance(step, int) and out:
            out[-1][1].append(step)
    return out


def _segment_words(key: str, indexes: list[int], sel: Select | None) -> Words:
    if sel is not None:
        return (T("the element of "), Frag("key", key), T(" whose "), Frag("key", sel.key), T(" is "),
                Frag("string", sel.value))
    words: Words = (Frag("key", key),)
    for i in indexes:
        words = (T(f"the {_ordinal(i)} of "),) + words
    return words


def path_words(path: tuple, each: tuple | None) -> Words | None:
    """Where a path reads, in words, for paths that are not a plain key chain: a selector
    reads as "the element of `result` whose `from_name` is “toxic”" (a Label Studio
    control, selected by `from_name`, as "the `toxic` control"), and a path from the
    judgment (`@`) ends with ", in each annotation" (the `each` path's last key, made
    singular). None for a plain path in a rubric without `each`."""
    at = bool(path) and path[0] is AT
    steps = path[1:] if at else path
    segs = _segments(steps)
    if each is None and not any(sel for _, _, sel in segs):
        return None
    parts: list[Words] = []
    k = 0
    while k < len(segs):
        key, idx, sel = segs[k]
        if sel is not None and sel.key == "from_name" and not idx:
            # a Label Studio control: its answer is in `value`, e.g. `value.choices[0]`
            owner: Words = (T("the "), Frag("key", sel.value), T(" control"))
            rest = segs[k + 1:]
            if rest and rest[0][0] == "value" and not rest[0][1] and rest[0][2] is None:
                rest = rest[1:]
            if len(rest) == 1 and rest[0][2] is None:
                rkey, ridx = rest[0][0], rest[0][1]
                if len(ridx) == 1:
                    tail: Words = (T(f"{_ordinal(ridx[0])} {singular(rkey)}"),)
                elif not ridx:
                    tail = (Frag("key", rkey),)
                else:
                    tail = _segment_words(rkey, ridx, None)
                parts.append(owner + (T("'s "),) + tail)
                k = len(segs)
                break
            parts.append(owner)
            k += 1
            continue
        parts.append(_segment_words(key, idx, sel))
        k += 1
    words: Words = ()
    for p in reversed(parts):  # the innermost first: "`x` of `y`"
        words = words + ((T(" of "),) if words else ()) + p
    if each is not None:
        if at:
            last = next((s for s in reversed(each) if isinstance(s, str)), "")
            one = singular(last)
            words += (T(f", in each {one}") if one != last else T(", in each element of "),)
            if one == last:
                words += (Frag("key", last),)
        else:
            words += (T(", in the record (shared by its judgments)"),)
    return words
