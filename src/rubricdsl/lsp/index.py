"""Names to their definitions and references, built from the AST.

Keys name what a name stands for: `("name", N)` for the one namespace of fields,
`let`s, rules, escalations and edge arms; `("criterion", N)`; `("type", T)`;
`("value", FIELD, V)` for the value `V` of the enum or set field `FIELD`, and
`("tvalue", T, V)` for the value (or level) `V` of the named type `T` (the values of a
field declared with a named type are its type's). A name the file's imports bring in
(`Outside`) is indexed where it is used; its declaration is in another file. A bare name in an expression is
resolved as the language resolves it (docs/language.md §6.2): a value of the enum
expected on that side of a comparison or membership test if it is one, else a field
or a `let`."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from rubricdsl.core.source import Source, Span
from rubricdsl.language import ast

Key = tuple[str, ...]

_COMPARE = {"==", "!=", "<", "<=", ">", ">="}
_SETS = {"any", "all", "none"}
_MEMBER = {"in", "not in"}
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


@dataclass(slots=True)
class Occurrence:
    key: Key
    span: Span
    definition: bool


@dataclass(slots=True)
class Definition:
    key: Key
    kind: str  # input | label | let | rule | escalate | edge | criterion | value
    node: Any  # the AST node that declares it
    span: Span  # the name's span
    criterion: str | None = None


@dataclass
class Outside:
    """What a file's imports bring in: `let` names, and types with their values (those
    of an enum or set type) and the values their levels describe."""

    lets: set[str] = field(default_factory=set)
    types: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)


@dataclass
class Index:
    occurrences: list[Occurrence] = field(default_factory=list)
    definitions: dict[Key, list[Definition]] = field(default_factory=dict)
    fields: dict[str, ast.Field] = field(default_factory=dict)
    lets: dict[str, ast.Let] = field(default_factory=dict)
    # (decide node, arm node) for every arm, with the decide's label
    arms: list[tuple[ast.Decide, ast.Arm]] = field(default_factory=list)
    type_decls: dict[str, ast.TypeDecl] = field(default_factory=dict)
    outside: Outside = field(default_factory=Outside)

    def at(self, offset: int) -> Occurrence | None:
        """The innermost name occurrence at an offset (its end counts: a cursor just
        after a name is on it)."""
        best = None
        for o in self.occurrences:
            if o.span.start <= offset <= o.span.end and (best is None or o.span.end - o.span.start
                                                           < best.span.end - best.span.start):
                best = o
        return best

    def references(self, key: Key, declaration: bool = True) -> list[Occurrence]:
        return [o for o in self.occurrences if o.key == key and (declaration or not o.definition)]

    def values(self, field_name: str, levels: bool = False) -> list[str]:
        """The values of an enum or set field, in declaration order (its type's, for a
        field of a named type); with `levels`, then the other values the levels of its
        named type describe (those of a scale)."""
        f = self.fields.get(field_name)
        if f is None:
            return []
        if f.type.kind == "named" and f.type.name:
            values, described = self.type_values(f.type.name)
            return values + [v for v in described if v not in values] if levels else values
        if f.type.kind not in ("enum", "set"):
            return []
        return [str(v.value) for v in f.type.values]

    def type_values(self, name: str, depth: int = 0) -> tuple[list[str], list[str]]:
        """The values of a named type (declared here or imported), and the values its
        levels describe."""
        decl = self.type_decls.get(name)
        if decl is None:
            return self.outside.types.get(name, ([], []))
        values: list[str] = []
        described: list[str] = []
        if decl.type.kind == "named" and decl.type.name and depth < 64:
            values, described = self.type_values(decl.type.name, depth + 1)
        elif decl.type.kind in ("enum", "set"):
            values = [str(v.value) for v in decl.type.values]
        return values, described + [str(lv.value.value) for lv in decl.levels]

    def value_key(self, field_name: str, value: str) -> Key:
        f = self.fields.get(field_name)
        if f is not None and f.type.kind == "named" and f.type.name:
            return ("tvalue", f.type.name, value)
        return ("value", field_name, value)


def build(tree: ast.Rubric, source: Source, outside: Outside | None = None) -> Index:
    return _Builder(tree, source, outside or Outside()).run()


class _Builder:
    def __init__(self, tree: ast.Rubric, source: Source, outside: Outside) -> None:
        self.tree = tree
        self.source = source
        self.index = Index(outside=outside)

    # ---- helpers -----------------------------------------------------------------

    def _sub(self, span: Span, pattern: str, name: str) -> Span | None:
        """The span of `name` found by `pattern` (its group 1) inside `span`."""
        text = self.source.text[span.start:span.end]
        m = re.search(pattern, text)
        if m is None or m.group(1) != name:
            return None
        return self.source.span(span.start + m.start(1), span.start + m.end(1))

    def define(self, key: Key, kind: str, node: Any, span: Span, criterion: str | None = None) -> None:
        self.index.definitions.setdefault(key, []).append(Definition(key, kind, node, span, criterion))
        self.index.occurrences.append(Occurrence(key, span, True))

    def refer(self, key: Key, span: Span) -> None:
        if span.end > span.start:
            self.index.occurrences.append(Occurrence(key, span, False))

    def _value_ref(self, field_name: str | None, v: Any) -> None:
        if field_name is None or not isinstance(v, ast.Value):
            return
        key = self.index.value_key(field_name, str(v.value))
        # a number is a value of a scale type's level
        kinds = ("name", "string", "int", "number") if key[0] == "tvalue" else ("name", "string")
        if v.kind in kinds and str(v.value) in self.index.values(field_name, levels=True):
            self.refer(key, v.span)

    def _type_ref(self, t: ast.TypeNode) -> None:
        if t.kind != "named" or not t.name:
            return
        if t.name in self.index.type_decls or t.name in self.index.outside.types:
            span = self._sub(t.span, r"(" + _NAME + r")\s*$", t.name)
            if span is not None:
                self.refer(("type", t.name), span)

    # ---- declarations ------------------------------------------------------------

    def run(self) -> Index:
        items = list(self._items(self.tree.items, None))
        for item, _ in items:
            if isinstance(item, ast.TypeDecl):
                self.index.type_decls.setdefault(item.name, item)
        for item, crit in items:  # every declaration first: names may be used before them
            self._declare(item, crit)
        for item, crit in items:
            self._use(item, crit)
        self.index.occurrences.sort(key=lambda o: (o.span.start, o.span.end))
        return self.index

    def _items(self, items: list[Any], crit: str | None) -> Iterator[tuple[Any, str | None]]:
        for item in items:
            yield item, crit
            if isinstance(item, ast.Criterion):
                yield from self._items(item.items, item.name)

    def _declare(self, item: Any, crit: str | None) -> None:
        if isinstance(item, ast.Field):
            self.index.fields.setdefault(item.name, item)
            self.define(("name", item.name), item.kind, item, item.name_span, crit)
            for v in item.type.values:
                self.define(("value", item.name, str(v.value)), "value", item, v.span, crit)
        elif isinstance(item, ast.Let):
            self.index.lets.setdefault(item.name, item)
            self.define(("name", item.name), "let", item, item.name_span, crit)
        elif isinstance(item, ast.TypeDecl):
            self.define(("type", item.name), "type", item, item.name_span, crit)
            for v in item.type.values:
                self.define(("tvalue", item.name, str(v.value)), "tvalue", item, v.span, crit)
            for lv in item.levels:
                key = ("tvalue", item.name, str(lv.value.value))
                if key not in self.index.definitions:  # a level of a scale's value declares it
                    self.define(key, "tvalue", item, lv.value.span, crit)
        elif isinstance(item, ast.Rule):
            self.define(("name", item.name), "rule", item, item.name_span, crit)
        elif isinstance(item, ast.Escalate):
            self.define(("name", item.name), "escalate", item, item.name_span, crit)
        elif isinstance(item, ast.Criterion):
            self.define(("criterion", item.name), "criterion", item, item.name_span, crit)
        elif isinstance(item, ast.Decide):
            for arm in item.arms:
                self.index.arms.append((item, arm))
                if arm.kind == "edge" and arm.name:
                    span = self._sub(arm.span, r"^edge\s+(" + _NAME + ")", arm.name)
                    if span is not None:
                        self.define(("name", arm.name), "edge", (item, arm), span, crit)

    def _use(self, item: Any, crit: str | None) -> None:
        if isinstance(item, ast.Field):
            self._type_ref(item.type)
            self.expr(item.required_when)
            if item.type.kind in ("enum", "set", "named"):
                for level in item.levels:
                    self._value_ref(item.name, level.value)
        elif isinstance(item, ast.TypeDecl):
            self._type_ref(item.type)
            for lv in item.levels:
                key = ("tvalue", item.name, str(lv.value.value))
                defs = self.index.definitions.get(key, [])
                if defs and defs[0].span != lv.value.span:
                    self.refer(key, lv.value.span)
        elif isinstance(item, ast.Level):
            pass
        elif isinstance(item, ast.Let):
            self.expr(item.expr)
        elif isinstance(item, ast.Rule):
            self.expr(item.when)
            self.expr(item.require)
        elif isinstance(item, ast.Escalate):
            self.expr(item.when)
        elif isinstance(item, ast.Criterion):
            self.expr(item.applies)
        elif isinstance(item, ast.Decide):
            self.refer(("name", item.label), item.label_span)
            for arm in item.arms:
                self.expr(arm.cond)
                for v in arm.values:
                    self._value_ref(item.label, v)
        elif isinstance(item, ast.Consensus):
            self.refer(("name", item.label), item.label_span)
        elif isinstance(item, ast.RecordBlock):
            for entry in item.entries:
                if isinstance(entry, ast.RecordWhen):
                    self.expr(entry.expr)
        elif isinstance(item, ast.Example):
            for g in item.given:
                span = self._sub(g.span, r"^(" + _NAME + ")", g.field)
                if span is not None and g.field in self.index.fields:
                    self.refer(("name", g.field), span)
                if isinstance(g.value, ast.SetValue):
                    for v in g.value.items:
                        self._value_ref(g.field, v)
                else:
                    self._value_ref(g.field, g.value)
            for o in item.expect:
                if o.name and o.kind != "escalation":
                    span = self._sub(o.span, r"(" + _NAME + r")\s*$", o.name)
                    if span is not None and ("name", o.name) in self.index.definitions:
                        self.refer(("name", o.name), span)

    # ---- expressions -------------------------------------------------------------

    def _field_of(self, e: Any) -> str | None:
        """The enum or set field a bare name stands for, if it does."""
        if isinstance(e, ast.Name) and e.name in self.index.fields and self.index.values(e.name):
            return e.name
        return None

    def expr(self, root: Any) -> None:
        stack: list[tuple[Any, str | None]] = [(root, None)] if root is not None else []
        while stack:
            e, ctx = stack.pop()
            if isinstance(e, ast.Name):
                if ctx is not None and e.name in self.index.values(ctx):
                    self.refer(self.index.value_key(ctx, e.name), e.span)
                elif (e.name in self.index.fields or e.name in self.index.lets
                      or e.name in self.index.outside.lets):
                    self.refer(("name", e.name), e.span)
            elif isinstance(e, ast.Literal):
                if ctx is not None and e.kind == "string" and str(e.value) in self.index.values(ctx):
                    self.refer(self.index.value_key(ctx, str(e.value)), e.span)
            elif isinstance(e, ast.SetValue):
                for v in e.items:
                    self._value_ref(ctx, v)
            elif isinstance(e, ast.Binary):
                left = right = None
                if e.op in _COMPARE or e.op in _SETS:
                    lf, rf = self._field_of(e.left), self._field_of(e.right)
                    right = lf
                    if not (lf and isinstance(e.right, ast.Name) and e.right.name in self.index.values(lf)):
                        left = rf
                elif e.op in _MEMBER:
                    right_field = self._field_of(e.right)
                    if right_field is not None:
                        left = right_field
                    else:
                        right = self._field_of(e.left)
                stack.append((e.right, right))
                stack.append((e.left, left))
            elif isinstance(e, ast.Unary):
                stack.append((e.operand, None))
            elif isinstance(e, (ast.Test, ast.Matches)):
                stack.append((e.operand, None))
            elif isinstance(e, ast.Call):
                stack.extend((a, None) for a in reversed(e.args))
