"""The rubric AST: what was written, with source spans. Built by `syntax`.

Spans are excluded from equality (`compare=False`), so two parses of the same
rubric laid out differently compare equal: the formatter's round-trip property.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Union

from rubricdsl.core.source import NO_SPAN, Span


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)  # type: ignore[return-value]


# ---- values and paths ---------------------------------------------------------


@dataclass(slots=True)
class Value:
    """A literal value where a value of a type is written: arm values, levels,
    set items, `given` entries. `kind` is name | string | number | bool."""

    kind: str
    value: object
    span: Span = _span()


@dataclass(slots=True)
class SetValue:
    """`{a, b}` in a `given` entry."""

    items: list[Value]
    span: Span = _span()


SetLit = SetValue  # `{a, b}` in an expression is the same node


@dataclass(slots=True)
class Selector:
    """`[KEY = "VALUE"]` after a path segment."""

    key: str
    value: str
    quoted: bool = False  # KEY was written as a string
    span: Span = _span()

    def text(self) -> str:
        key = _quote(self.key) if self.quoted or not self.key.isidentifier() else self.key
        return f"[{key} = {_quote(self.value)}]"


@dataclass(slots=True)
class Segment:
    key: str
    indexes: list[int]
    quoted: bool = False
    selector: Selector | None = None

    def text(self) -> str:
        key = _quote(self.key) if self.quoted or not self.key.isidentifier() else self.key
        return key + "".join(f"[{i}]" for i in self.indexes) + (self.selector.text() if self.selector else "")


@dataclass(slots=True)
class Path:
    segments: list[Segment]
    span: Span = _span()
    at: bool = False  # led by `@`: starts at the judgment

    def dotted(self) -> str:
        return ("@" if self.at else "") + ".".join(s.text() for s in self.segments)


def _quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


# ---- expressions ---------------------------------------------------------------


@dataclass(slots=True)
class Name:
    name: str
    span: Span = _span()


@dataclass(slots=True)
class Call:
    func: str
    args: list["Expr"]
    span: Span = _span()


@dataclass(slots=True)
class Literal:
    """int, decimal, string or bool literal in an expression."""

    kind: str  # int | number | string | bool
    value: object
    span: Span = _span()


@dataclass(slots=True)
class Unary:
    op: str  # "-" | "not"
    operand: "Expr"
    span: Span = _span()


@dataclass(slots=True)
class Binary:
    op: str  # and | or | + | - | * | / | == | != | < | <= | > | >= | in | not in | contains | any | all | none
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(slots=True)
class Test:
    """Postfix tests: `is empty`, `is not empty`, `is present`, `is missing`."""

    op: str  # empty | not empty | present | missing
    operand: "Expr"
    span: Span = _span()


@dataclass(slots=True)
class Matches:
    operand: "Expr"
    pattern: str
    flags: str
    span: Span = _span()
    regex_span: Span = _span()


Expr = Union[Name, Call, Literal, SetLit, Unary, Binary, Test, Matches]


# ---- declarations ------------------------------------------------------------------


@dataclass(slots=True)
class TypeNode:
    kind: str  # bool | int | number | text | enum | set | scale | named
    lo: float | int | None = None
    hi: float | int | None = None
    values: list[Value] = field(default_factory=list)
    ordered: bool = False
    span: Span = _span()
    name: str | None = None  # a named type (`kind == "named"`): the name written


@dataclass(slots=True)
class TypeDecl:
    """`type NAME = TYPE`, with the `level` lines that follow it."""

    name: str
    type: TypeNode
    doc: str | None = None
    levels: list["Level"] = field(default_factory=list)
    span: Span = _span()
    name_span: Span = _span()


@dataclass(slots=True)
class Import:
    """`import "PATH"`: `path` as written (unescaped), `path_span` the string's span."""

    path: str
    span: Span = _span()
    path_span: Span = _span()


@dataclass(slots=True)
class Level:
    value: Value
    text: str
    span: Span = _span()


@dataclass(slots=True)
class Field:
    kind: str  # input | label
    name: str
    type: TypeNode
    path: Path | None
    optional: bool = False
    required_when: Expr | None = None
    doc: str | None = None
    levels: list[Level] = field(default_factory=list)
    span: Span = _span()
    name_span: Span = _span()


@dataclass(slots=True)
class Let:
    name: str
    expr: Expr
    doc: str | None = None
    span: Span = _span()
    name_span: Span = _span()


@dataclass(slots=True)
class RecordEntry:
    key: str
    path: Path
    span: Span = _span()
    more: list[Path] = field(default_factory=list)  # the paths after the first (`show = a, b`)

    @property
    def paths(self) -> list[Path]:
        return [self.path, *self.more]


@dataclass(slots=True)
class RecordWhen:
    """`skip when EXPR` in the `record` block (`key` is the word written before `when`)."""

    key: str
    expr: Any
    span: Span = _span()
    key_span: Span = _span()


@dataclass(slots=True)
class RecordBlock:
    entries: list[Any]  # RecordEntry | RecordWhen
    doc: str | None = None
    span: Span = _span()


@dataclass(slots=True)
class Arm:
    kind: str  # when | edge | otherwise
    cond: Expr | None
    values: list[Value]
    name: str | None = None
    title: str | None = None
    doc: str | None = None
    span: Span = _span()


@dataclass(slots=True)
class Decide:
    label: str
    first: bool
    arms: list[Arm]
    doc: str | None = None
    span: Span = _span()
    label_span: Span = _span()


@dataclass(slots=True)
class Rule:
    name: str
    message: str
    severity: str | None
    when: Expr | None
    require: Expr | None
    doc: str | None = None
    span: Span = _span()
    name_span: Span = _span()
    severity_span: Span = _span()
    per_item: bool = False


@dataclass(slots=True)
class Escalate:
    target: str
    name: str
    reason: str
    when: Expr | None
    doc: str | None = None
    span: Span = _span()
    name_span: Span = _span()
    per_item: bool = False


@dataclass(slots=True)
class Consensus:
    """`consensus LABEL { min annotators N  min agreement X }`; either line may be absent."""

    label: str
    min_annotators: int | float | None
    min_agreement: int | float | None
    doc: str | None = None
    span: Span = _span()
    label_span: Span = _span()
    annotators_span: Span = _span()
    agreement_span: Span = _span()


@dataclass(slots=True)
class GivenEntry:
    field: str
    value: Value | SetValue
    span: Span = _span()


@dataclass(slots=True)
class Outcome:
    kind: str  # pass | violation | uncovered | ambiguous | invalid | escalation
    name: str | None
    span: Span = _span()


@dataclass(slots=True)
class Example:
    title: str
    given: list[GivenEntry]
    expect: list[Outcome]
    doc: str | None = None
    span: Span = _span()


@dataclass(slots=True)
class Applies:
    expr: Expr
    span: Span = _span()


@dataclass(slots=True)
class Criterion:
    name: str
    title: str | None
    items: list["Item"]
    applies: Expr | None = None
    doc: str | None = None
    span: Span = _span()
    name_span: Span = _span()


Item = Union[Field, Let, RecordBlock, Decide, Rule, Escalate, Consensus, Example, Criterion, Level, TypeDecl, Import]


@dataclass(slots=True)
class Header:
    name: str
    version: str
    span: Span = _span()


@dataclass(slots=True)
class Comment:
    text: str
    span: Span = _span()


@dataclass(slots=True)
class Rubric:
    header: Header | None
    items: list[Item]
    doc: str | None = None
    comments: list[Comment] = field(default_factory=list, compare=False, repr=False)
    # (start, end) offsets of the declarations the parser skipped after syntax errors;
    # only a parse with `recover=True` returns a rubric that has any
    skipped: list[tuple[int, int]] = field(default_factory=list, compare=False, repr=False)

    @property
    def shared(self) -> bool:
        """A shared file: nothing but imports, types (with their levels) and lets, which
        rubrics import. Its header is optional (ignored when it has one), and its lets
        are for others."""
        return bool(self.items) and all(
            isinstance(it, (Import, TypeDecl, Let)) for it in self.items)
