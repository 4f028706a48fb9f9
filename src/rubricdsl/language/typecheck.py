"""The expression checker: names, types and enum values of one expression.

`ExprChecker` turns an AST expression into a typed IR expression, or reports why it
cannot (to the sink) and gives None. What it may read comes from the declarations
(`Names`, filled by `resolve.Checker`); where the expression stands is its `Scope`,
an argument of every call: the position in the file (a `let` is visible below its
declaration only) and what the expression reads — one record, an item (a `per item`
check) or one judgment of an item (the condition of `share(...)`).
"""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any

from rubricdsl.core.diagnostics import Sink
from rubricdsl.core.regex import regex_error
from rubricdsl.core.source import Span
from rubricdsl.core.values import value_text
from rubricdsl.language import ast
from rubricdsl.language import ir
from rubricdsl.language.ir import BOOL, NUM, TEXT, Const, FieldRef, LetRef, Op, Type
from rubricdsl.language.walk import fields_read

FUNCTIONS = {"len": "text", "words": "text", "count": "set"}
ITEM_FUNCTIONS = ("agreement", "majority", "distinct", "spread", "share")
ITEM_NAMES = ("annotators", "judgments")
_ITEM_HELP = ("inside `per item`, read the item through aggregates: annotators, judgments, agreement(L), "
              "majority(L), distinct(L), spread(L), share(CONDITION)")


def suggest(name: str, candidates) -> str | None:
    """The candidate closest to a misspelt name, if one is close enough."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


def values_list(values: tuple[str, ...], limit: int = 30) -> str:
    """An enum's values for a help line: all of them, or the first `limit` and how many
    more (an enum may have a hundred thousand)."""
    if len(values) <= limit:
        return ", ".join(values)
    return ", ".join(values[:limit]) + f", ... ({len(values) - limit:,} more)"


def value_text(v: Any) -> str:
    """A written value as a message shows it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


@dataclass(frozen=True, slots=True)
class Scope:
    """Where an expression stands. `pos`: its offset in the file (a `let` is visible
    from its declaration on). `reads`: `record` (a check on one record), `item` (a
    `per item` check, which reads aggregates) or `share` (the condition inside
    `share(...)`, on one judgment of an item)."""

    pos: int
    reads: str = "record"

    def within(self, reads: str) -> "Scope":
        return dataclasses.replace(self, reads=reads)


@dataclass
class Names:
    """What the declarations declare, as expressions see it: `fields`; `lets` resolved
    so far and the `let_nodes` they come from; `all_lets`, every `let` written
    (resolved or not); `declared`, the one namespace of fields, lets, rules,
    escalations and edge cases (name -> where); `skipped`, names declared in parts of
    the file the parser skipped after a syntax error; `imported`, the lets that imports
    bring in (in `lets` and `let_nodes` too), visible from the first line; `open`, set
    when an import could not be read: an unknown name is then not reported."""

    fields: dict[str, ir.FieldIR] = field(default_factory=dict)
    lets: dict[str, ir.LetIR] = field(default_factory=dict)
    let_nodes: dict[str, ast.Let] = field(default_factory=dict)
    all_lets: dict[str, ast.Let] = field(default_factory=dict)
    declared: dict[str, Span] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)
    imported: set[str] = field(default_factory=set)  # lets an import brings in: visible everywhere
    open: bool = False  # an import failed: any name may be one it declares, none is reported unknown
    untyped: set[str] = field(default_factory=set)  # fields whose named type is unknown: their values are too


class ExprChecker:
    """Resolves and type-checks expressions against `names`; problems go to `sink`."""

    def __init__(self, names: Names, sink: Sink, source_text: str) -> None:
        self.names = names
        self.sink = sink
        self.source_text = source_text
        self._members: dict[int, tuple[ir.EnumType, frozenset[str]]] = {}

    def is_member(self, value: object, enum: ir.EnumType) -> bool:
        """Whether `value` is one of the enum's values, in constant time (an enum may
        have a hundred thousand values, and a rubric as many references to them)."""
        hit = self._members.get(id(enum))
        if hit is None or hit[0] is not enum:
            hit = self._members[id(enum)] = (enum, frozenset(enum.values))
        return value in hit[1]

    def cond(self, e: ast.Expr, scope: Scope) -> ir.Expr | None:
        x = self.expr(e, scope)
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

    def _is_deferrable(self, e: ast.Expr, scope: Scope) -> bool:
        if isinstance(e, ast.Name):
            return not self._visible(e.name, scope)
        return isinstance(e, ast.SetLit) or (isinstance(e, ast.Literal) and e.kind == "string")

    def _visible(self, name: str, scope: Scope) -> bool:
        if name in self.names.fields:
            return True
        let = self.names.let_nodes.get(name)
        return let is not None and (let.span.start < scope.pos or name in self.names.imported)

    def expr(self, e: ast.Expr, scope: Scope, want: ir.EnumType | None = None,
             label: str | None = None) -> ir.Expr | None:
        """The IR of `e`, or None after reporting why not. `want`: the enum whose values
        a bare name may be (the type of the other side of a comparison), and `label` the
        field or let on that side, which messages name."""
        if isinstance(e, ast.Name):
            return self._name(e, scope, want, label)
        if isinstance(e, ast.Literal):
            if e.kind in ("int", "number"):
                return Const(e.value, NUM, e.span)
            if e.kind == "bool":
                return Const(e.value, BOOL, e.span)
            if want is not None:
                if self.is_member(e.value, want):
                    return Const(e.value, Type("enum", want), e.span)
                s = suggest(str(e.value), want.values)
                self.sink.error("RB102", f"unknown value '{e.value}'" + (f"; did you mean '{s}'?" if s else ""), e.span,
                                help="the values are: " + values_list(want.values))
                return None
            return Const(e.value, TEXT, e.span)
        if isinstance(e, ast.SetLit):
            self.sink.error("RB103", "a set literal `{...}` stands only after `in`, `any of`, `all of`, `none of` or `==`",
                            e.span, help="write `x in {a, b}` or `S any of {a, b}`")
            return None
        if isinstance(e, ast.Call):
            return self._call(e, scope)
        if isinstance(e, ast.Unary):
            x = self.expr(e.operand, scope)
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
            return self._test(e, scope)
        if isinstance(e, ast.Matches):
            return self._matches(e, scope)
        assert isinstance(e, ast.Binary)
        op = e.op
        if op in _CHAINS:
            return self._chain(e, scope)
        if op in ("==", "!=", "<", "<=", ">", ">="):
            return self._compare(e, scope)
        if op in ("in", "not in"):
            return self._in(e, scope)
        if op in ("any", "all", "none"):
            return self._set_test(e, scope)
        if op == "contains":
            a = self.expr(e.left, scope)
            if a is not None and a.type.kind == "set":
                self._contains_on_set(e, a)
                return None
            b = self.expr(e.right, scope)
            if a is None or b is None:
                return None
            for x, side in ((a, e.left), (b, e.right)):
                if x.type.kind != "text":
                    self.sink.error("RB103", f"`contains` works on text, but this is {x.type.describe()}", side.span,
                                    help="for sets, use `VALUE in SET` or `SET any of {...}`" if x.type.kind == "set" else None)
                    return None
            return Op("contains", (a, b), BOOL, e.span, a.mentions | b.mentions)
        raise AssertionError(op)

    def _chain(self, e: ast.Binary, scope: Scope) -> ir.Expr | None:
        """A chain of one operator (`a and b and c`, `x + y - z`), left to right, without
        recursion along it: the parser builds it as a tree as deep as it is long. The IR
        keeps that shape (each operator with two arguments); the operands are checked
        one by one, and each reports its own errors."""
        group = _CHAINS[e.op]
        spine: list[ast.Binary] = []  # the operators of the chain, outermost first
        x: ast.Expr = e
        while isinstance(x, ast.Binary) and x.op in group:
            spine.append(x)
            x = x.left
        logical = e.op in ("and", "or")
        acc = self._chain_operand(x, scope, logical, spine[-1].op)
        ok = acc is not None
        for node in reversed(spine):
            b = self._chain_operand(node.right, scope, logical, node.op if ok else None)
            if b is None or acc is None:
                ok = False
                continue
            acc = Op(node.op, (acc, b), BOOL if logical else NUM, node.span, acc.mentions | b.mentions)
        return acc if ok else None

    def _chain_operand(self, e: ast.Expr, scope: Scope, logical: bool, op: str | None) -> ir.Expr | None:
        """One operand of a chain: a condition, or a number for arithmetic (`op`, when
        given, is the operator a type error names; without it, the chain has failed
        already and only the operand's own errors are reported)."""
        if logical:
            return self.cond(e, scope)
        x = self.expr(e, scope)
        if x is None or x.type.kind == "num":
            return x
        if op is not None:
            self.sink.error("RB103", f"`{op}` needs numbers, but this is {x.type.describe()}", e.span,
                            help='arithmetic works on int, number and scale values, `len`, `words` and `count`')
        return None

    def _contains_on_set(self, e: ast.Binary, a: ir.Expr) -> None:
        left = self._text(e.left.span)
        r = e.right
        value = r.name if isinstance(r, ast.Name) else r.value if isinstance(r, ast.Literal) and r.kind == "string" else None
        assert a.type.enum is not None
        if isinstance(value, str) and self.is_member(value, a.type.enum):
            shown = value if value.isidentifier() else '"' + value + '"'
            help_ = f"to test one value, write `{shown} in {left}`; for several, `{left} any of {{{shown}, ...}}`"
        else:
            help_ = f"to test a value, write `VALUE in {left}`; for several, `{left} any of {{...}}`"
        self.sink.error("RB103", f"`contains` works on text, but `{left}` is a {a.type.describe()}", e.left.span,
                        help=help_)

    def _name(self, e: ast.Name, scope: Scope, want: ir.EnumType | None, label: str | None = None) -> ir.Expr | None:
        if want is not None and self.is_member(e.name, want):
            return Const(e.name, Type("enum", want), e.span)
        if scope.reads == "item":
            if e.name in ITEM_NAMES:
                return ir.Agg(e.name, None, None, NUM, e.span, text=e.name)
            if e.name in self.names.fields or e.name in self.names.let_nodes:
                what = "field" if e.name in self.names.fields else "let"
                self.sink.error("RB111", f"`{e.name}` is read directly in a `per item` check, which sees the item, "
                                f"not one record", e.span,
                                help=_ITEM_HELP + (f", e.g. `majority({e.name})` or `share({e.name} == VALUE)`" if what == "field"
                                                   else f"; use the let inside share(...)"))
                return None
        f = self.names.fields.get(e.name)
        if f is not None:
            return FieldRef(f, f.type.expr_type, e.span, frozenset({f.name}))
        let = self.names.lets.get(e.name)
        node = self.names.let_nodes.get(e.name)
        if let is not None and node is not None:
            if node.span.start >= scope.pos and e.name not in self.names.imported:
                self.sink.error("RB108", f"`{e.name}` is used before its `let` (line {node.span.line})", e.span,
                                help="move the `let` above its first use")
                return None
            return LetRef(let, let.expr.type, e.span, let.expr.mentions)
        if e.name in self.names.declared and e.name not in self.names.fields:
            later = self.names.all_lets.get(e.name)
            if later is not None and later.span.start >= scope.pos:
                self.sink.error("RB108", f"`{e.name}` is used before its `let` (line {later.span.line})", e.span,
                                help="move the `let` above its first use")
                return None
            if later is not None:
                return None  # a let whose own expression has an error, reported there
            self.sink.error("RB103", f"`{e.name}` names a rule, escalation or edge case, not a value", e.span,
                            help='conditions read inputs, labels and lets; rules and escalations cannot be referenced')
            return None
        if e.name in self.names.skipped or self.names.open:
            return None  # declared in a part of the file that did not parse, or in an import that failed
        slip = _SLIPS.get(e.name)
        if slip is not None and (want is None or e.name in _NULL_WORDS):
            self.sink.error("RB101", f"unknown name `{e.name}`", e.span, help=slip)
            return None
        if want is not None:
            s = suggest(e.name, list(want.values))
            what = f" for '{label}'" if label else ""
            self.sink.error("RB102", f"unknown value '{e.name}'{what}" + (f"; did you mean '{s}'?" if s else ""), e.span,
                            help="the values are: " + values_list(want.values))
            return None
        if e.name in ITEM_NAMES:
            self.sink.error("RB111", f"`{e.name}` is an item aggregate, allowed only in `per item` rules and escalations",
                            e.span, help="write the check as `rule NAME \"MESSAGE\" per item { ... }` at the top level")
            return None
        s = suggest(e.name, list(self.names.fields) + [n for n, x in self.names.let_nodes.items()])
        self.sink.error("RB101", f"unknown name `{e.name}`" + (f"; did you mean `{s}`?" if s else ""), e.span,
                        help="declare it with `input`, `label` or `let`")
        return None

    def _aggregate(self, e: ast.Call, scope: Scope) -> ir.Expr | None:
        if scope.reads != "item":
            where = ("inside share(...), which reads one judgment" if scope.reads == "share"
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
            c = self.cond(arg, scope.within("share"))
            if c is None:
                return None
            return ir.Agg("share", None, c, NUM, e.span, reads=fields_read(c), text=self._text(e.span))
        if not isinstance(arg, ast.Name) or arg.name not in self.names.fields:
            if isinstance(arg, ast.Name) and arg.name in self.names.skipped:
                return None
            if isinstance(arg, ast.Name) and arg.name not in self.names.declared:
                s = suggest(arg.name, [n for n, x in self.names.fields.items() if x.kind == "label"])
                self.sink.error("RB101", f"unknown label `{arg.name}`" + (f"; did you mean `{s}`?" if s else ""), arg.span,
                                help="declare it with `label NAME: TYPE`")
                return None
            self.sink.error("RB103", f"`{e.func}` takes the name of a label", arg.span,
                            help=f"write e.g. `{e.func}(safety)`; for a condition on each judgment use `share(...)`")
            return None
        f = self.names.fields[arg.name]
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

    def _call(self, e: ast.Call, scope: Scope) -> ir.Expr | None:
        if e.func in ITEM_FUNCTIONS:
            return self._aggregate(e, scope)
        if e.func not in FUNCTIONS:
            s = suggest(e.func, list(FUNCTIONS) + list(ITEM_FUNCTIONS))
            self.sink.error("RB109", f"unknown function `{e.func}`" + (f"; did you mean `{s}`?" if s else ""), e.span,
                            help="functions: len(text), words(text), count(set); in `per item` checks also "
                                 "agreement, majority, distinct, spread and share")
            return None
        if len(e.args) != 1:
            self.sink.error("RB103", f"`{e.func}` takes one argument, not {len(e.args)}", e.span,
                            help='write `len(t)`, `words(t)` or `count(s)`')
            return None
        x = self.expr(e.args[0], scope)
        if x is None:
            return None
        need = FUNCTIONS[e.func]
        if x.type.kind != need:
            self.sink.error("RB103", f"`{e.func}` needs {'a set' if need == 'set' else 'text'}, not {x.type.describe()}",
                            e.args[0].span, help="`len` and `words` take text; `count` takes a set")
            return None
        return Op(e.func, (x,), NUM, e.span, x.mentions)

    def _test(self, e: ast.Test, scope: Scope) -> ir.Expr | None:
        if e.op in ("present", "missing") and scope.reads == "item":
            x = self.expr(e.operand, scope)  # a bare field is reported there
            if x is None:
                return None
            if not isinstance(x, ir.Agg):
                self.sink.error("RB103", f"`is {e.op}` applies to an aggregate here", e.operand.span,
                                help="e.g. `majority(L) is missing` (a tie, or no judgment of L)")
                return None
            return Op(e.op, (x,), BOOL, e.span)
        if e.op in ("present", "missing"):
            if not isinstance(e.operand, ast.Name) or e.operand.name not in self.names.fields:
                if isinstance(e.operand, ast.Name) and e.operand.name not in self.names.declared:
                    return self._name(e.operand, scope, None) and None
                self.sink.error("RB103", f"`is {e.op}` applies to an input or label", e.operand.span,
                            help="write `FIELD is present` or `FIELD is missing` with the field's own name")
                return None
            f = self.names.fields[e.operand.name]
            ref = FieldRef(f, f.type.expr_type, e.operand.span, frozenset({f.name}))
            return Op(e.op, (ref,), BOOL, e.span, ref.mentions)
        x = self.expr(e.operand, scope)
        if x is None:
            return None
        if x.type.kind != "set":
            self.sink.error("RB103", f"`is {e.op}` applies to a set, but this is {x.type.describe()}", e.operand.span,
                            help=("for text, test `len(t) == 0`" if e.op == "empty" else "for text, test `len(t) > 0`")
                            if x.type.kind == "text" else "`is empty` and `is not empty` test set labels")
            return None
        return Op(e.op, (x,), BOOL, e.span, x.mentions)

    def _matches(self, e: ast.Matches, scope: Scope) -> ir.Expr | None:
        x = self.expr(e.operand, scope)
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

    def _resolve_pair(self, left: ast.Expr, right: ast.Expr, scope: Scope):
        """Resolve two operands where a bare name may be an enum value of the other side."""
        if self._is_deferrable(left, scope) and not self._is_deferrable(right, scope):
            b = self.expr(right, scope)
            a = self._operand(left, scope, b)
            return a, b
        a = self.expr(left, scope) if not isinstance(left, ast.SetLit) else None
        if isinstance(left, ast.SetLit):
            b = self.expr(right, scope)
            a = self._operand(left, scope, b)
            return a, b
        b = self._operand(right, scope, a)
        return a, b

    def _operand(self, e: ast.Expr, scope: Scope, other: ir.Expr | None) -> ir.Expr | None:
        if other is None:
            if isinstance(e, ast.SetLit):
                return None
            if isinstance(e, ast.Name) and not self._visible(e.name, scope):
                return None  # the other side already failed; don't pile on
            return self.expr(e, scope)
        if (self.names.untyped and other.mentions & self.names.untyped
                and (isinstance(e, ast.SetLit) or isinstance(e, ast.Name) and not self._visible(e.name, scope))):
            return None  # a value of a field whose type is unknown (reported at the type): don't pile on
        want = other.type.enum if other.type.kind in ("enum", "set") else None
        if isinstance(e, ast.SetLit):
            return self._set_lit(e, other.type, _label_of(other))
        return self.expr(e, scope, want, _label_of(other))

    def _set_lit(self, e: ast.SetLit, elem: Type, label: str | None = None) -> ir.Expr | None:
        vals: list[Any] = []
        ok = True
        for item in e.items:
            if elem.kind in ("enum", "set"):
                assert elem.enum is not None
                if item.kind in ("name", "string") and self.is_member(str(item.value), elem.enum):
                    vals.append(str(item.value))
                else:
                    s = suggest(str(item.value), elem.enum.values)
                    what = f" for '{label}'" if label else ""
                    self.sink.error("RB102", f"unknown value '{value_text(item.value)}'{what}" + (f"; did you mean '{s}'?" if s else ""),
                                    item.span, help="the values are: " + values_list(elem.enum.values))
                    ok = False
            elif elem.kind == "num" and item.kind == "number":
                vals.append(item.value)
            elif elem.kind == "text" and item.kind == "string":
                vals.append(item.value)
            elif elem.kind == "bool" and item.kind == "bool":
                vals.append(item.value)
            else:
                self.sink.error("RB103", f"`{value_text(item.value)}` is not a {elem.describe()} value", item.span,
                            help="the set's items must have the type of the value they are compared with")
                ok = False
        if not ok:
            return None
        t = Type("set", elem.enum) if elem.kind in ("enum", "set") else Type("set")
        return Const(frozenset(vals), t, e.span)

    def _compare(self, e: ast.Binary, scope: Scope) -> ir.Expr | None:
        if e.op in ("==", "!=") and self._null_compare(e, scope):
            return None
        a, b = self._resolve_pair(e.left, e.right, scope)
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

    def _null_compare(self, e: ast.Binary, scope: Scope) -> bool:
        """`x == None` (or null, nil): reported with the presence test it means."""
        for side, other in ((e.right, e.left), (e.left, e.right)):
            if not (isinstance(side, ast.Name) and side.name in _NULL_WORDS and side.name not in self.names.declared):
                continue
            o = self.expr(other, scope)
            if o is not None and o.type.enum is not None and self.is_member(side.name, o.type.enum):
                return False  # a value of that enum
            test = "is missing" if e.op == "==" else "is present"
            self.sink.error("RB101", f"unknown name `{side.name}`: the language has no null value", side.span,
                            help=f"write `{self._text(other.span)} {test}`")
            return True
        return False

    def _in(self, e: ast.Binary, scope: Scope) -> ir.Expr | None:
        if isinstance(e.right, ast.SetLit):
            a = self.expr(e.left, scope)
            if a is None or a.mentions & self.names.untyped:
                return None  # (a field whose type is unknown: its values cannot be checked)
            if a.type.kind not in ("num", "text", "enum", "bool"):
                self.sink.error("RB103", f"`{e.op}` tests one value, but this is {a.type.describe()}", e.left.span,
                                help="for sets, use `any of`, `all of` or `none of`")
                return None
            b = self._set_lit(e.right, a.type, _label_of(a))
            if b is None:
                return None
            return Op(e.op, (a, b), BOOL, e.span, a.mentions, mode="const")
        b = self.expr(e.right, scope) if not self._is_deferrable(e.right, scope) else None
        if b is None:
            if self._is_deferrable(e.right, scope):
                self.expr(e.right, scope)
            return None
        if b.type.kind != "set":
            self.sink.error("RB103", f"`{e.op}` needs a set on its right, but this is {b.type.describe()}", e.right.span,
                            help="write `x in {a, b}` or `value in set_field`")
            return None
        a = self.expr(e.left, scope, b.type.enum, _label_of(b))
        if a is None:
            return None
        if a.type.kind != "enum" or a.type.enum is None or b.type.enum is None or not a.type.enum.same_values(b.type.enum):
            self.sink.error("RB103", f"{a.type.describe()} cannot be a member of {b.type.describe()}", e.left.span,
                            help="the value must be one of the set's own values, or a field of the same enum")
            return None
        return Op(e.op, (a, b), BOOL, e.span, a.mentions | b.mentions, mode="field")

    def _set_test(self, e: ast.Binary, scope: Scope) -> ir.Expr | None:
        a = self.expr(e.left, scope)
        if a is None:
            return None
        if a.type.kind != "set":
            self.sink.error("RB103", f"`{e.op} of` needs a set on its left, but this is {a.type.describe()}", e.left.span,
                            help="for one value, use `x in {a, b}`")
            return None
        b = self._operand(e.right, scope, a)
        if b is None:
            return None
        if b.type.kind != "set" or (b.type.enum is not None and a.type.enum is not None
                                     and not b.type.enum.same_values(a.type.enum)):
            self.sink.error("RB103", f"`{e.op} of` needs a set of the same values on its right", e.right.span,
                            help='write `S any of {a, b}` with values of S, or another set of the same values')
            return None
        return Op(e.op, (a, b), BOOL, e.span, a.mentions | b.mentions)



_CHAINS: dict[str, tuple[str, ...]] = {"and": ("and",), "or": ("or",), "+": ("+", "-"), "-": ("+", "-"),
                                       "*": ("*", "/"), "/": ("*", "/")}


def _label_of(x: ir.Expr | None) -> str | None:
    if isinstance(x, FieldRef):
        return x.field.name
    if isinstance(x, LetRef):
        return x.let.name
    return None


_NULL_WORDS = ("None", "null", "NULL", "Null", "nil")
_SLIPS = {
    "True": "booleans are written in lower case: `true`",
    "False": "booleans are written in lower case: `false`",
    "TRUE": "booleans are written in lower case: `true`",
    "FALSE": "booleans are written in lower case: `false`",
    **{w: "the language has no null value: test a field with `FIELD is missing` or `FIELD is present`"
       for w in _NULL_WORDS},
}
