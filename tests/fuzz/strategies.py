"""Hypothesis strategies for the fuzzing harness.

- `rubrics()` builds *valid* rubric text from a model of the language: a header, a
  `record` block, inputs and labels of every type, lets (chained, so a let may read
  earlier lets), criteria with `applies when`, decides (with edge arms, `first`,
  `otherwise`), rules, escalations and worked examples, with expressions drawn from
  every operator the grammar has, typed so that they resolve. Sizes are small by
  default and can be pushed up (`size`), so that chains, nesting and counts grow.
- `records_for(spec)` builds JSON records for such a rubric: mostly valid values,
  with wrong types, missing fields, huge numbers and junk mixed in.
- `corrupt(data)` damages the bytes of a JSONL file: flips, truncations, inserted
  bytes, invalid UTF-8, NaN, deep nesting, lines cut in two, CR/LF changes.

The strategies know the language's surface from the grammar's point of view; what a
rubric *means* is the checker's business, so the properties in the tests are about
never failing badly (only diagnostics with positions, findings and counts), not about
particular findings.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

NAMES = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lam", "mu",
         "nu", "xi", "omicron", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega"]
# words that are keywords somewhere in the grammar but stay valid names and values
SOFT_KEYWORDS = ["severity", "level", "label", "input", "record", "item", "text", "scale", "first", "edge", "per",
                 "none", "any", "all", "empty", "missing", "count", "when", "require", "from", "optional"]
VALUES = ["safe", "unsafe", "borderline", "low", "high", "none", "medium", "yes", "no", "maybe", "a", "b", "c",
          "self-harm", "hate speech", "x.y", 'quote"d', "back\\slash", "tab\there", "émoji👍", "true"]


@dataclass
class FieldSpec:
    name: str
    kind: str  # bool int number text enum ordered set scale
    path: tuple[str, ...]
    values: list[str] = field(default_factory=list)  # enum / set values
    lo: float | None = None
    hi: float | None = None
    optional: bool = False
    label: bool = True


@dataclass
class RubricSpec:
    text: str
    fields: list[FieldSpec]
    has_items: bool = False


def _quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _enum_lit(v: str) -> str:
    bare = v.isidentifier() and v not in ("and", "or", "not", "in", "is", "true", "false")
    return v if bare else _quote(v)


class _Gen:
    """Draws one rubric; keeps the names and types in scope so that expressions resolve."""

    def __init__(self, draw: Any, size: int) -> None:
        self.draw = draw
        self.size = size
        self.fields: list[FieldSpec] = []
        self.lets: list[tuple[str, str]] = []  # (name, type: bool|num|text)
        self.names: set[str] = set()
        self.counter = 0

    def fresh(self) -> str:
        self.counter += 1
        base = self.draw(st.sampled_from(NAMES + SOFT_KEYWORDS))
        name = f"{base}_{self.counter}" if self.draw(st.booleans()) or base in self.names else base
        while name in self.names:
            self.counter += 1
            name = f"{base}_{self.counter}"
        self.names.add(name)
        return name

    # ---- declarations -------------------------------------------------------------------

    def field_decl(self, label: bool) -> str:
        d = self.draw
        kind = d(st.sampled_from(["bool", "int", "int_range", "number", "number_range", "text", "enum", "ordered",
                                  "set", "scale"]))
        name = self.fresh()
        path_style = d(st.sampled_from(["same", "nested", "quoted", "index"]))
        if path_style == "same":
            path: tuple[str, ...] = (name,)
            from_text = ""
        elif path_style == "nested":
            path = ("labels" if label else "data", name)
            from_text = f" from {path[0]}.{name}"
        elif path_style == "quoted":
            path = ("data", f"{name} x.y")
            from_text = f' from data.{_quote(path[1])}'
        else:
            path = ("items", name)
            from_text = f" from items.{name}"
        spec = FieldSpec(name, kind, path, label=label)
        if kind == "int_range":
            lo = d(st.integers(-5, 5))
            spec.kind, spec.lo, spec.hi = "int", lo, lo + d(st.integers(0, 9))
            type_text = f"int {int(spec.lo)}..{int(spec.hi)}"
        elif kind == "number_range":
            lo = d(st.sampled_from([-1.5, 0, 0.25, 1]))
            spec.kind, spec.lo, spec.hi = "number", lo, lo + d(st.sampled_from([0.5, 1, 10]))
            type_text = f"number {spec.lo}..{spec.hi}"
        elif kind == "scale":
            lo = d(st.integers(-3, 1))
            spec.lo, spec.hi = lo, lo + d(st.integers(1, 6))
            type_text = f"scale {int(spec.lo)}..{int(spec.hi)}"
        elif kind in ("enum", "ordered", "set"):
            n = d(st.integers(1, min(6, 2 + self.size)))
            values = d(st.lists(st.sampled_from(VALUES), min_size=n, max_size=n, unique=True))
            spec.values = values
            kw = {"enum": "enum", "ordered": "enum ordered", "set": "set"}[kind]
            type_text = f"{kw} {{{', '.join(_enum_lit(v) for v in values)}}}"
        else:
            type_text = kind
        presence = ""
        if d(st.integers(0, 3)) == 0:
            spec.optional = True
            presence = " optional"
        self.fields.append(spec)
        return f"{'label' if label else 'input'} {name}: {type_text}{from_text}{presence}"

    # ---- expressions ----------------------------------------------------------------------

    def of(self, *kinds: str) -> list[FieldSpec]:
        return [f for f in self.fields if f.kind in kinds]

    def cond(self, depth: int = 0) -> str:
        d = self.draw
        if depth > 2 + self.size // 2 or d(st.integers(0, 3)) == 0:
            return self.atom()
        form = d(st.sampled_from(["and", "or", "not", "paren", "chain"]))
        if form == "not":
            return f"not {self.atom() if d(st.booleans()) else '(' + self.cond(depth + 1) + ')'}"
        if form == "paren":
            return f"({self.cond(depth + 1)})"
        if form == "chain":  # long operand chains, as machine-written rubrics have
            op = d(st.sampled_from(["and", "or"]))
            n = d(st.integers(2, 3 + 4 * self.size))
            return f" {op} ".join(self.atom() for _ in range(n))
        return f"{self.cond(depth + 1)} {form} {self.cond(depth + 1)}"

    def atom(self) -> str:
        d = self.draw
        options = ["true", "false"]
        if self.of("bool"):
            options.append("bool")
        if self.of("int", "number", "scale"):
            options += ["cmp_num", "cmp_num"]
        if self.of("enum", "ordered"):
            options += ["enum_eq", "enum_in"]
        if self.of("ordered", "scale"):
            options.append("ordered_cmp")
        if self.of("set"):
            options += ["set_member", "set_test", "set_count"]
        if self.of("text"):
            options += ["text_contains", "text_matches", "text_len", "text_eq"]
        if self.fields:
            options.append("presence")
        if any(t == "bool" for _, t in self.lets):
            options.append("let_bool")
        kind = d(st.sampled_from(options))
        if kind in ("true", "false"):
            return kind
        if kind == "bool":
            return d(st.sampled_from(self.of("bool"))).name
        if kind == "let_bool":
            return d(st.sampled_from([n for n, t in self.lets if t == "bool"]))
        if kind == "cmp_num":
            op = d(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
            return f"{self.num_expr()} {op} {self.num_expr()}"
        if kind == "enum_eq":
            f = d(st.sampled_from(self.of("enum", "ordered")))
            op = d(st.sampled_from(["==", "!="]))
            return f"{f.name} {op} {_enum_lit(d(st.sampled_from(f.values)))}"
        if kind == "enum_in":
            f = d(st.sampled_from(self.of("enum", "ordered")))
            vals = d(st.lists(st.sampled_from(f.values), min_size=1, max_size=len(f.values), unique=True))
            neg = "not in" if d(st.booleans()) else "in"
            return f"{f.name} {neg} {{{', '.join(_enum_lit(v) for v in vals)}}}"
        if kind == "ordered_cmp":
            f = d(st.sampled_from(self.of("ordered", "scale")))
            op = d(st.sampled_from(["<", "<=", ">", ">="]))
            if f.kind == "scale":
                return f"{f.name} {op} {d(st.integers(int(f.lo), int(f.hi)))}"
            return f"{f.name} {op} {_enum_lit(d(st.sampled_from(f.values)))}"
        if kind == "set_member":
            f = d(st.sampled_from(self.of("set")))
            neg = "not in" if d(st.booleans()) else "in"
            return f"{_enum_lit(d(st.sampled_from(f.values)))} {neg} {f.name}"
        if kind == "set_test":
            f = d(st.sampled_from(self.of("set")))
            form = d(st.sampled_from(["any of", "all of", "none of", "is empty", "is not empty"]))
            if form.startswith("is"):
                return f"{f.name} {form}"
            vals = d(st.lists(st.sampled_from(f.values), min_size=1, max_size=len(f.values), unique=True))
            return f"{f.name} {form} {{{', '.join(_enum_lit(v) for v in vals)}}}"
        if kind == "set_count":
            f = d(st.sampled_from(self.of("set")))
            return f"count({f.name}) {d(st.sampled_from(['<', '>=', '==']))} {d(st.integers(0, 4))}"
        if kind == "text_contains":
            f = d(st.sampled_from(self.of("text")))
            other = self.of("text")
            rhs = d(st.sampled_from(other)).name if d(st.integers(0, 4)) == 0 else _quote(d(st.sampled_from(VALUES)))
            return f"{f.name} contains {rhs}"
        if kind == "text_matches":
            f = d(st.sampled_from(self.of("text")))
            rx = d(st.sampled_from([r"\bdos(e|age)\b", "^a+$", "(a|aa)*c", r"\d{2,}", "x.y", r"\pL+", r"[\/]", r"\/"]))
            flags = d(st.sampled_from(["", "i", "ms", "ims"]))
            return f"{f.name} matches /{rx}/{flags}"
        if kind == "text_len":
            f = d(st.sampled_from(self.of("text")))
            fn = d(st.sampled_from(["len", "words"]))
            return f"{fn}({f.name}) {d(st.sampled_from(['<', '>=', '==']))} {d(st.integers(0, 30))}"
        if kind == "text_eq":
            f = d(st.sampled_from(self.of("text")))
            return f"{f.name} {d(st.sampled_from(['==', '!=']))} {_quote(d(st.sampled_from(VALUES)))}"
        f = d(st.sampled_from(self.fields))
        return f"{f.name} is {d(st.sampled_from(['missing', 'present']))}"

    def num_expr(self, depth: int = 0) -> str:
        d = self.draw
        nums = self.of("int", "number", "scale")
        leaves = [f.name for f in nums] + [n for n, t in self.lets if t == "num"]
        if depth > 1 or d(st.integers(0, 2)) > 0:
            if leaves and d(st.booleans()):
                return d(st.sampled_from(leaves))
            return str(d(st.sampled_from([0, 1, -1, 2, 3, 0.5, -2.25, 10, 1e3])))
        op = d(st.sampled_from(["+", "-", "*", "/"]))
        left, right = self.num_expr(depth + 1), self.num_expr(depth + 1)
        if d(st.booleans()):
            return f"({left} {op} {right})"
        return f"-{left}" if op == "-" and d(st.booleans()) else f"{left} {op} {right}"

    # ---- blocks -----------------------------------------------------------------------------

    def decide(self, indent: str) -> str | None:
        d = self.draw
        decidable = [f for f in self.fields if f.label and f.kind in ("bool", "enum", "ordered", "scale")
                     and f.name not in self.decided]
        if not decidable:
            return None
        f = d(st.sampled_from(decidable))
        self.decided.add(f.name)
        if f.kind == "bool":
            values = ["true", "false"]
        elif f.kind == "scale":
            values = [str(v) for v in range(int(f.lo), int(f.hi) + 1)]
        else:
            values = [_enum_lit(v) for v in f.values]
        first = " first" if d(st.booleans()) else ""
        arms = []
        for _ in range(d(st.integers(1, 2 + 3 * self.size))):
            allowed = d(st.lists(st.sampled_from(values), min_size=1, max_size=min(3, len(values)), unique=True))
            if d(st.integers(0, 5)) == 0:
                arms.append(f'{indent}  edge {self.fresh()} "an edge case" when {self.cond()} -> {", ".join(allowed)}')
            else:
                arms.append(f"{indent}  when {self.cond()} -> {', '.join(allowed)}")
        if d(st.booleans()):
            arms.append(f"{indent}  otherwise -> {d(st.sampled_from(values))}")
        return f"{indent}decide {f.name}{first} {{\n" + "\n".join(arms) + f"\n{indent}}}"

    def rule(self, indent: str) -> str:
        d = self.draw
        sev = d(st.sampled_from(["", " severity warning", " severity info", " severity error"]))
        when = f"when {self.cond()}  " if d(st.booleans()) else ""
        return f'{indent}rule {self.fresh()} {_quote(d(st.sampled_from(VALUES)) + " must hold")}{sev} {{ {when}require {self.cond()} }}'

    def escalate(self, indent: str) -> str:
        d = self.draw
        target = d(st.sampled_from(["senior_reviewer", "adjudicator", "clinician"]))
        return f'{indent}escalate {target} {self.fresh()} "route it" {{ when {self.cond()} }}'


@st.composite
def rubrics(draw: Any, size: int = 1) -> RubricSpec:
    """A valid rubric (see the module's docstring). `size` grows counts, chains and nesting."""
    g = _Gen(draw, size)
    g.decided = set()  # type: ignore[attr-defined]
    out = [f'rubric {_quote("fuzz " + draw(st.sampled_from(VALUES)))} version "1"']
    if draw(st.booleans()):
        out.append('"""A generated rubric."""')
    items = draw(st.integers(0, 3)) == 0
    if items:
        out.append("record { id = id  item = item  annotator = who }")
    elif draw(st.booleans()):
        out.append("record { id = meta.id }")
    for _ in range(draw(st.integers(1, 3 + 3 * size))):
        out.append(g.field_decl(label=draw(st.integers(0, 2)) > 0))
    for _ in range(draw(st.integers(0, 1 + 2 * size))):  # lets, each may read the ones before
        name = g.fresh()
        t = draw(st.sampled_from(["bool", "bool", "num"]))
        expr = g.cond() if t == "bool" or not g.of("int", "number", "scale") else g.num_expr()
        if t == "num" and not g.of("int", "number", "scale"):
            t = "bool"
        g.lets.append((name, t))
        out.append(f"let {name} = {expr}")
    for _ in range(draw(st.integers(0, 1 + size))):
        body = []
        if draw(st.booleans()):
            body.append(f"  applies when {g.cond()}")
        for _ in range(draw(st.integers(0, 2))):
            body.append("  " + g.field_decl(label=True))
        dec = g.decide("  ")
        if dec:
            body.append(dec)
        for _ in range(draw(st.integers(0, 2))):
            body.append(g.rule("  "))
        if draw(st.booleans()):
            body.append(g.escalate("  "))
        out.append(f'criterion {g.fresh()} "A criterion" {{\n' + "\n".join(body) + "\n}")
    dec = g.decide("")
    if dec:
        out.append(dec)
    for _ in range(draw(st.integers(0, 2))):
        out.append(g.rule(""))
    if draw(st.booleans()):
        out.append(g.escalate(""))
    if items:
        labels = [f for f in g.fields if f.label and f.kind in ("bool", "enum", "ordered", "scale", "int")]
        if labels:
            f = draw(st.sampled_from(labels))
            out.append(f"consensus {f.name} {{ min annotators {draw(st.integers(1, 3))}  min agreement 0.5 }}")
    return RubricSpec("\n".join(out) + "\n", g.fields, items)


# ---- records ------------------------------------------------------------------------------

_junk = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
                  st.text(max_size=12), st.lists(st.integers(0, 3), max_size=3), st.just({}))


def _put(rec: dict, path: tuple[str, ...], value: Any) -> None:
    cur = rec
    for step in path[:-1]:
        nxt = cur.get(step)
        if not isinstance(nxt, dict):
            nxt = cur[step] = {}
        cur = nxt
    cur[path[-1]] = value


@st.composite
def records_for(draw: Any, spec: RubricSpec) -> dict:
    rec: dict = {"id": draw(st.sampled_from(["r1", "r2", 3, "r3"]))}
    if spec.has_items:
        rec["item"] = draw(st.sampled_from(["i1", "i2", 7]))
        rec["who"] = draw(st.sampled_from(["ann_1", "ann_2", "ann_3"]))
    for f in spec.fields:
        roll = draw(st.integers(0, 9))
        if roll == 0:
            continue  # missing
        if roll == 1:
            _put(rec, f.path, draw(_junk))
            continue
        if f.kind == "bool":
            v: Any = draw(st.booleans())
        elif f.kind in ("int", "scale"):
            lo = int(f.lo) if f.lo is not None else -10
            hi = int(f.hi) if f.hi is not None else 10
            v = draw(st.integers(lo - 1, hi + 1))
        elif f.kind == "number":
            lo = f.lo if f.lo is not None else -10
            hi = f.hi if f.hi is not None else 10
            v = draw(st.floats(lo - 1, hi + 1, allow_nan=False))
        elif f.kind == "text":
            v = draw(st.text(max_size=40) | st.sampled_from(["a" * 30 + "c", "dose", "x.y", "doctor", ""]))
        elif f.kind == "set":
            v = draw(st.lists(st.sampled_from(f.values + ["zzz"]), max_size=len(f.values) + 1))
        else:
            v = draw(st.sampled_from(f.values + [f.values[0].upper(), "zzz"]))
        _put(rec, f.path, v)
    return rec


# ---- corrupted data files ------------------------------------------------------------------

@st.composite
def corrupt(draw: Any, data: bytes) -> bytes:
    """`data` (JSONL bytes) damaged in one to three ways."""
    b = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["flip", "truncate", "insert", "utf8", "nan", "deep", "split", "crlf", "nul",
                                    "huge", "bom", "array", "blank"]))
        pos = draw(st.integers(0, max(0, len(b) - 1)))
        if how == "flip" and b:
            b[pos] ^= 1 << draw(st.integers(0, 7))
        elif how == "truncate":
            del b[pos:]
        elif how == "insert":
            b[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif how == "utf8":
            b[pos:pos] = b"\xff\xfe\xc3"
        elif how == "nan":
            b[pos:pos] = b'{"x": NaN}\n'
        elif how == "deep":
            depth = draw(st.integers(100, 3000))
            b[pos:pos] = b'{"x": ' + b"[" * depth + b"]" * depth + b"}\n"
        elif how == "split":
            b[pos:pos] = b"\n"
        elif how == "crlf":
            b = bytearray(bytes(b).replace(b"\n", b"\r\n"))
        elif how == "nul":
            b[pos:pos] = b"\x00"
        elif how == "huge":
            b[pos:pos] = b'{"x": 1e999, "y": -1e400}\n'
        elif how == "bom":
            b[0:0] = b"\xef\xbb\xbf"
        elif how == "array":
            b[pos:pos] = b"[1, 2]\n"
        else:
            b[pos:pos] = b"\n   \n"
    return bytes(b)
