"""The resolved, typed IR: what the semantic check hands to the compiler and to lint.

Every name is resolved, every expression typed, and every check knows the set
of fields it mentions (through lets and its criterion's `applies when`), which
is what invalid-field isolation needs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from rubricdsl.core.paths import AT, Select, at_judgment  # noqa: F401 - path steps, as the IR's paths hold them
from rubricdsl.core.source import Span
from rubricdsl.core.values import number_text

# ---- types ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnumType:
    values: tuple[str, ...]
    ordered: bool = False

    def rank(self, v: str) -> int:
        return self.values.index(v)

    def describe(self) -> str:
        return ("ordered enum {" if self.ordered else "enum {") + ", ".join(self.values) + "}"

    def same_values(self, other: "EnumType") -> bool:
        """Whether both hold the same values, in whatever order."""
        return len(self.values) == len(other.values) and frozenset(self.values) == frozenset(other.values)

    def same_type(self, other: "EnumType") -> bool:
        """Whether two enum (or set) types are the same: the same values, in any order,
        except that two `enum ordered` types also need them in the same order (an
        ordered and an unordered enum are different types)."""
        if self.ordered or other.ordered:
            return self.ordered == other.ordered and self.values == other.values
        return self.same_values(other)


@dataclass(frozen=True, slots=True)
class Type:
    """bool | num | text | enum | set. `enum` holds the values of enum and set types."""

    kind: str
    enum: EnumType | None = None

    def describe(self) -> str:
        if self.kind == "enum":
            assert self.enum is not None
            return self.enum.describe()
        if self.kind == "set":
            assert self.enum is not None
            return "set {" + ", ".join(self.enum.values) + "}"
        return {"num": "number", "bool": "bool", "text": "text"}[self.kind]


BOOL = Type("bool")
NUM = Type("num")
TEXT = Type("text")


@dataclass(frozen=True, slots=True)
class FieldType:
    """A declared field type, with its checking details."""

    kind: str  # bool | int | number | text | enum | set | scale
    lo: int | float | None = None
    hi: int | float | None = None
    enum: EnumType | None = None

    @property
    def expr_type(self) -> Type:
        if self.kind in ("int", "number", "scale"):
            return NUM
        if self.kind == "enum":
            return Type("enum", self.enum)
        if self.kind == "set":
            return Type("set", self.enum)
        return Type(self.kind)

    @property
    def single_valued(self) -> bool:
        return self.kind in ("bool", "int", "scale", "enum")

    def describe(self) -> str:
        if self.kind in ("int", "number") and self.lo is not None:
            return f"{self.kind} {number_text(self.lo)}..{number_text(self.hi)}"
        if self.kind == "scale":
            return f"scale {number_text(self.lo)}..{number_text(self.hi)}"
        if self.kind in ("enum", "set"):
            assert self.enum is not None
            return ("set {" + ", ".join(self.enum.values) + "}") if self.kind == "set" else self.enum.describe()
        return self.kind


# ---- expressions -----------------------------------------------------------------
# Every expression has a `type`, a `span` and `mentions`: the fields it reads, through
# lets (`language/walk.py` walks them).


@dataclass(eq=False, slots=True)
class FieldRef:
    field: "FieldIR"
    type: Type
    span: Span
    mentions: frozenset[str] = frozenset()


@dataclass(eq=False, slots=True)
class LetRef:
    let: "LetIR"
    type: Type
    span: Span
    mentions: frozenset[str] = frozenset()


@dataclass(eq=False, slots=True)
class Const:
    value: Any  # bool | int | float | str | frozenset
    type: Type
    span: Span
    mentions: frozenset[str] = frozenset()


@dataclass(eq=False, slots=True)
class Op:
    """Every operator. `op` names it:

    boolean:  and, or, not
    compare:  ==, !=, <, <=, >, >=        (`mode`: num | rank | eq | seteq)
    sets:     in, not in (elem, set), any, all, none (set, set), empty, not empty, count
    presence: present, missing
    text:     contains, matches (`regex` holds the pattern), len, words
    numbers:  +, -, *, /, neg
    bool:     truth (a bool field or let used as a condition)
    """

    op: str
    args: tuple[Any, ...]
    type: Type
    span: Span
    mentions: frozenset[str] = frozenset()
    mode: str = ""
    regex: "Regex | None" = None


@dataclass(eq=False, slots=True)
class Agg:
    """An item aggregate; only `per item` rules and escalations use them.

    kind: annotators, judgments (no argument); agreement, majority, distinct,
    spread (`field` is the label); share (`expr` is a condition on one judgment).
    `mentions` stays empty: an item check is never skipped for an invalid field
    (invalid values simply do not count as judgments); `reads` names the fields read.
    """

    kind: str
    field: "FieldIR | None"
    expr: "Expr | None"
    type: Type
    span: Span
    mentions: frozenset[str] = frozenset()
    reads: frozenset[str] = frozenset()
    text: str = ""  # as written, for reports: `agreement(safety)`


Expr = Union[FieldRef, LetRef, Const, Op, Agg]


@dataclass(frozen=True, slots=True)
class Regex:
    pattern: str
    flags: str

    @property
    def source(self) -> str:
        prefix = f"(?{''.join(sorted(set(self.flags)))})" if self.flags else ""
        return prefix + self.pattern


# ---- declarations ------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class FieldIR:
    index: int
    name: str
    kind: str  # input | label
    type: FieldType
    path: tuple[str | int, ...]
    optional: bool
    required_when: Expr | None
    criterion: str | None
    span: Span
    doc: str | None = None
    levels: list[tuple[Any, str]] = field(default_factory=list)
    path_text: str = ""
    # the named type the field is declared with (`label q: likert5`), for descriptions
    # that name it; `type` is its structure, which every check reads
    type_name: str | None = None

    @property
    def may_be_missing(self) -> bool:
        return self.optional or self.required_when is not None

    @property
    def at_judgment(self) -> bool:
        """Whether the field's path starts at the judgment (`@`, with `each`)."""
        return at_judgment(self.path)


@dataclass(eq=False, slots=True)
class LetIR:
    name: str
    expr: Expr
    criterion: str | None
    span: Span
    doc: str | None = None


@dataclass(eq=False, slots=True)
class CriterionIR:
    name: str
    title: str
    applies: Expr | None
    span: Span
    doc: str | None = None


@dataclass(eq=False, slots=True)
class ArmIR:
    number: int  # 1-based within its decide, edge arms included
    kind: str  # when | edge | otherwise
    name: str  # the edge's name, or "arm N"
    title: str | None
    cond: Expr | None
    values: tuple[Any, ...]  # allowed values, in the order written
    span: Span
    doc: str | None = None

    @property
    def allowed(self) -> frozenset:
        return frozenset(self.values)


@dataclass(eq=False, slots=True)
class DecideIR:
    index: int
    label: FieldIR
    first: bool
    arms: list[ArmIR]
    criterion: str | None
    span: Span
    mentions: frozenset[str] = frozenset()
    doc: str | None = None


@dataclass(eq=False, slots=True)
class RuleIR:
    index: int
    name: str
    message: str
    severity: str
    when: Expr | None
    require: Expr
    criterion: str | None
    span: Span
    mentions: frozenset[str] = frozenset()
    doc: str | None = None
    per_item: bool = False


@dataclass(eq=False, slots=True)
class EscalateIR:
    index: int
    target: str
    name: str
    reason: str
    when: Expr
    criterion: str | None
    span: Span
    mentions: frozenset[str] = frozenset()
    doc: str | None = None
    per_item: bool = False


@dataclass(eq=False, slots=True)
class ConsensusIR:
    """How the guideline expects annotators to agree on one label."""

    index: int
    label: FieldIR
    min_annotators: int | None
    min_agreement: float | None
    span: Span
    doc: str | None = None


@dataclass(eq=False, slots=True)
class ExampleIR:
    title: str
    record: dict[str, Any]  # the JSON record the `given` block describes
    given: dict[str, Any]
    expect: frozenset[tuple[str, str]]  # (kind, name); empty for `pass`
    span: Span
    doc: str | None = None


@dataclass(eq=False, slots=True)
class RubricIR:
    name: str
    version: str
    sha256: str
    source_name: str
    doc: str | None
    fields: list[FieldIR]
    lets: list[LetIR]
    criteria: list[CriterionIR]
    decides: list[DecideIR]
    rules: list[RuleIR]
    escalations: list[EscalateIR]
    examples: list[ExampleIR]
    record_id: tuple[str | int, ...] | None = None
    record_item: tuple[str | int, ...] | None = None
    record_annotator: tuple[str | int, ...] | None = None
    # judgments inside a record: `each` (a root path to the list of judgments), the
    # path that names a judgment in findings, and the `skip when` condition
    record_each: tuple[str | int, ...] | None = None
    record_judgment: tuple[str | int, ...] | None = None
    record_skip: Expr | None = None
    # `show = PATH, ...`: what every finding about a record carries as its `context`,
    # each (the path as written, the path); `@` paths from the judgment
    record_show: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    # several annotators on one item: `consensus` blocks and `per item` checks,
    # kept apart from the per-record lists (their own indexes)
    consensus: list[ConsensusIR] = field(default_factory=list)
    item_rules: list[RuleIR] = field(default_factory=list)
    item_escalations: list[EscalateIR] = field(default_factory=list)
    # the files the rubric imports, transitively: (path relative to the rubric's
    # directory, with `/`; sha256 of the file's bytes), in the order first imported.
    # `sha256` covers them (`imports.combined_sha256`)
    imports: tuple[tuple[str, str], ...] = ()

    @property
    def has_items(self) -> bool:
        return bool(self.consensus or self.item_rules or self.item_escalations)

    def field(self, name: str) -> FieldIR | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def criterion(self, name: str | None) -> CriterionIR | None:
        for c in self.criteria:
            if c.name == name:
                return c
        return None
