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
import random
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from hypothesis import strategies as st

T = TypeVar("T")

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


class Choices:
    """The random choices a generator makes, from a seeded `random.Random`: Hypothesis
    draws only the seed, so that an example costs one draw and not hundreds (a fuzzing
    run of tens of thousands of rubrics spends its time on rubricdsl, not on drawing),
    and the seed alone reproduces the example."""

    # text for records: ASCII, Latin, CJK, emoji, combining marks, right-to-left, controls
    ALPHABET = ("abcxyz ABC019.,!?\"'\\/{}[]:\t\n\r\x00\x1b\x7f"
                "éüßñ中文日本😀👍🏽\u0301\u200b\u200f\u202e\ufeffשלוםمرحبا")

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def pick(self, seq: Any) -> Any:
        seq = list(seq) if not isinstance(seq, (list, tuple, str)) else seq
        return seq[self.rng.randrange(len(seq))]

    def int(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def bool(self) -> bool:
        return self.rng.random() < 0.5

    def subset(self, seq: Any, lo: int, hi: int) -> list:
        """Between lo and hi distinct elements of seq, in a random order."""
        distinct = list(dict.fromkeys(seq))
        return self.rng.sample(distinct, self.rng.randint(lo, min(hi, len(distinct))))

    def float(self, lo: float, hi: float) -> float:
        edge = self.rng.randrange(8)
        return lo if edge == 0 else hi if edge == 1 else self.rng.uniform(lo, hi)

    def text(self, max_size: int) -> str:
        return "".join(self.pick(self.ALPHABET) for _ in range(self.rng.randint(0, max_size)))

    def binary(self, lo: int, hi: int) -> bytes:
        return self.rng.randbytes(self.rng.randint(lo, hi))


def seeded(build: Callable[[Choices], T]) -> st.SearchStrategy[T]:
    """A strategy of what `build` makes from the choices of one drawn seed."""
    return st.integers(0, 2**64 - 1).map(lambda seed: build(Choices(seed)))


class _Gen:
    """Draws one rubric; keeps the names and types in scope so that expressions resolve."""

    def __init__(self, draw: Choices, size: int) -> None:
        self.draw = draw
        self.size = size
        self.fields: list[FieldSpec] = []
        self.lets: list[tuple[str, str]] = []  # (name, type: bool|num|text)
        self.names: set[str] = set()
        self.counter = 0

    def fresh(self) -> str:
        self.counter += 1
        base = self.draw.pick(NAMES + SOFT_KEYWORDS)
        name = f"{base}_{self.counter}" if self.draw.bool() or base in self.names else base
        while name in self.names:
            self.counter += 1
            name = f"{base}_{self.counter}"
        self.names.add(name)
        return name

    # ---- declarations -------------------------------------------------------------------

    def field_decl(self, label: bool) -> str:
        d = self.draw
        kind = d.pick(["bool", "int", "int_range", "number", "number_range", "text", "enum", "ordered",
                                  "set", "scale"])
        name = self.fresh()
        path_style = d.pick(["same", "nested", "quoted", "index"])
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
            lo = d.int(-5, 5)
            spec.kind, spec.lo, spec.hi = "int", lo, lo + d.int(0, 9)
            type_text = f"int {int(spec.lo)}..{int(spec.hi)}"
        elif kind == "number_range":
            lo = d.pick([-1.5, 0, 0.25, 1])
            spec.kind, spec.lo, spec.hi = "number", lo, lo + d.pick([0.5, 1, 10])
            type_text = f"number {spec.lo}..{spec.hi}"
        elif kind == "scale":
            lo = d.int(-3, 1)
            spec.lo, spec.hi = lo, lo + d.int(1, 6)
            type_text = f"scale {int(spec.lo)}..{int(spec.hi)}"
        elif kind in ("enum", "ordered", "set"):
            n = d.int(1, min(6, 2 + self.size))
            values = d.subset(VALUES, n, n)
            spec.values = values
            kw = {"enum": "enum", "ordered": "enum ordered", "set": "set"}[kind]
            type_text = f"{kw} {{{', '.join(_enum_lit(v) for v in values)}}}"
        else:
            type_text = kind
        presence = ""
        if d.int(0, 3) == 0:
            spec.optional = True
            presence = " optional"
        self.fields.append(spec)
        return f"{'label' if label else 'input'} {name}: {type_text}{from_text}{presence}"

    # ---- expressions ----------------------------------------------------------------------

    def of(self, *kinds: str) -> list[FieldSpec]:
        return [f for f in self.fields if f.kind in kinds]

    def cond(self, depth: int = 0) -> str:
        d = self.draw
        if depth > 2 + self.size // 2 or d.int(0, 3) == 0:
            return self.atom()
        form = d.pick(["and", "or", "not", "paren", "chain"])
        if form == "not":
            return f"not {self.atom() if d.bool() else '(' + self.cond(depth + 1) + ')'}"
        if form == "paren":
            return f"({self.cond(depth + 1)})"
        if form == "chain":  # long operand chains, as machine-written rubrics have
            op = d.pick(["and", "or"])
            n = d.int(2, 3 + 4 * self.size)
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
        kind = d.pick(options)
        if kind in ("true", "false"):
            return kind
        if kind == "bool":
            return d.pick(self.of("bool")).name
        if kind == "let_bool":
            return d.pick([n for n, t in self.lets if t == "bool"])
        if kind == "cmp_num":
            op = d.pick(["==", "!=", "<", "<=", ">", ">="])
            return f"{self.num_expr()} {op} {self.num_expr()}"
        if kind == "enum_eq":
            f = d.pick(self.of("enum", "ordered"))
            op = d.pick(["==", "!="])
            return f"{f.name} {op} {_enum_lit(d.pick(f.values))}"
        if kind == "enum_in":
            f = d.pick(self.of("enum", "ordered"))
            vals = d.subset(f.values, 1, len(f.values))
            neg = "not in" if d.bool() else "in"
            return f"{f.name} {neg} {{{', '.join(_enum_lit(v) for v in vals)}}}"
        if kind == "ordered_cmp":
            f = d.pick(self.of("ordered", "scale"))
            op = d.pick(["<", "<=", ">", ">="])
            if f.kind == "scale":
                return f"{f.name} {op} {d.int(int(f.lo), int(f.hi))}"
            return f"{f.name} {op} {_enum_lit(d.pick(f.values))}"
        if kind == "set_member":
            f = d.pick(self.of("set"))
            neg = "not in" if d.bool() else "in"
            return f"{_enum_lit(d.pick(f.values))} {neg} {f.name}"
        if kind == "set_test":
            f = d.pick(self.of("set"))
            form = d.pick(["any of", "all of", "none of", "is empty", "is not empty"])
            if form.startswith("is"):
                return f"{f.name} {form}"
            vals = d.subset(f.values, 1, len(f.values))
            return f"{f.name} {form} {{{', '.join(_enum_lit(v) for v in vals)}}}"
        if kind == "set_count":
            f = d.pick(self.of("set"))
            return f"count({f.name}) {d.pick(['<', '>=', '=='])} {d.int(0, 4)}"
        if kind == "text_contains":
            f = d.pick(self.of("text"))
            other = self.of("text")
            rhs = d.pick(other).name if d.int(0, 4) == 0 else _quote(d.pick(VALUES))
            return f"{f.name} contains {rhs}"
        if kind == "text_matches":
            f = d.pick(self.of("text"))
            rx = d.pick([r"\bdos(e|age)\b", "^a+$", "(a|aa)*c", r"\d{2,}", "x.y", r"\pL+", r"[\/]", r"\/"])
            flags = d.pick(["", "i", "ms", "ims"])
            return f"{f.name} matches /{rx}/{flags}"
        if kind == "text_len":
            f = d.pick(self.of("text"))
            fn = d.pick(["len", "words"])
            return f"{fn}({f.name}) {d.pick(['<', '>=', '=='])} {d.int(0, 30)}"
        if kind == "text_eq":
            f = d.pick(self.of("text"))
            return f"{f.name} {d.pick(['==', '!='])} {_quote(d.pick(VALUES))}"
        f = d.pick(self.fields)
        return f"{f.name} is {d.pick(['missing', 'present'])}"

    def num_expr(self, depth: int = 0) -> str:
        d = self.draw
        nums = self.of("int", "number", "scale")
        leaves = [f.name for f in nums] + [n for n, t in self.lets if t == "num"]
        if depth > 1 or d.int(0, 2) > 0:
            if leaves and d.bool():
                return d.pick(leaves)
            return str(d.pick([0, 1, -1, 2, 3, 0.5, -2.25, 10, 1e3]))
        op = d.pick(["+", "-", "*", "/"])
        left, right = self.num_expr(depth + 1), self.num_expr(depth + 1)
        if d.bool():
            return f"({left} {op} {right})"
        return f"-{left}" if op == "-" and d.bool() else f"{left} {op} {right}"

    # ---- blocks -----------------------------------------------------------------------------

    def decide(self, indent: str) -> str | None:
        d = self.draw
        decidable = [f for f in self.fields if f.label and f.kind in ("bool", "enum", "ordered", "scale")
                     and f.name not in self.decided]
        if not decidable:
            return None
        f = d.pick(decidable)
        self.decided.add(f.name)
        if f.kind == "bool":
            values = ["true", "false"]
        elif f.kind == "scale":
            values = [str(v) for v in range(int(f.lo), int(f.hi) + 1)]
        else:
            values = [_enum_lit(v) for v in f.values]
        first = " first" if d.bool() else ""
        arms = []
        for _ in range(d.int(1, 2 + 3 * self.size)):
            allowed = d.subset(values, 1, min(3, len(values)))
            if d.int(0, 5) == 0:
                arms.append(f'{indent}  edge {self.fresh()} "an edge case" when {self.cond()} -> {", ".join(allowed)}')
            else:
                arms.append(f"{indent}  when {self.cond()} -> {', '.join(allowed)}")
        if d.bool():
            arms.append(f"{indent}  otherwise -> {d.pick(values)}")
        return f"{indent}decide {f.name}{first} {{\n" + "\n".join(arms) + f"\n{indent}}}"

    def rule(self, indent: str) -> str:
        d = self.draw
        sev = d.pick(["", " severity warning", " severity info", " severity error"])
        when = f"when {self.cond()}  " if d.bool() else ""
        return f'{indent}rule {self.fresh()} {_quote(d.pick(VALUES) + " must hold")}{sev} {{ {when}require {self.cond()} }}'

    def escalate(self, indent: str) -> str:
        d = self.draw
        target = d.pick(["senior_reviewer", "adjudicator", "clinician"])
        return f'{indent}escalate {target} {self.fresh()} "route it" {{ when {self.cond()} }}'


def rubrics(size: int = 1) -> st.SearchStrategy[RubricSpec]:
    """A valid rubric (see the module's docstring). `size` grows counts, chains and nesting."""
    return seeded(lambda choices: make_rubric(choices, size))


def make_rubric(draw: Choices, size: int = 1) -> RubricSpec:
    g = _Gen(draw, size)
    g.decided = set()  # type: ignore[attr-defined]
    out = [f'rubric {_quote("fuzz " + draw.pick(VALUES))} version "1"']
    if draw.bool():
        out.append('"""A generated rubric."""')
    items = draw.int(0, 3) == 0
    if items:
        out.append("record { id = id  item = item  annotator = who }")
    elif draw.bool():
        out.append("record { id = meta.id }")
    for _ in range(draw.int(1, 3 + 3 * size)):
        out.append(g.field_decl(label=draw.int(0, 2) > 0))
    for _ in range(draw.int(0, 1 + 2 * size)):  # lets, each may read the ones before
        name = g.fresh()
        t = draw.pick(["bool", "bool", "num"])
        expr = g.cond() if t == "bool" or not g.of("int", "number", "scale") else g.num_expr()
        if t == "num" and not g.of("int", "number", "scale"):
            t = "bool"
        g.lets.append((name, t))
        out.append(f"let {name} = {expr}")
    for _ in range(draw.int(0, 1 + size)):
        body = []
        if draw.bool():
            body.append(f"  applies when {g.cond()}")
        for _ in range(draw.int(0, 2)):
            body.append("  " + g.field_decl(label=True))
        dec = g.decide("  ")
        if dec:
            body.append(dec)
        for _ in range(draw.int(0, 2)):
            body.append(g.rule("  "))
        if draw.bool():
            body.append(g.escalate("  "))
        out.append(f'criterion {g.fresh()} "A criterion" {{\n' + "\n".join(body) + "\n}")
    dec = g.decide("")
    if dec:
        out.append(dec)
    for _ in range(draw.int(0, 2)):
        out.append(g.rule(""))
    if draw.bool():
        out.append(g.escalate(""))
    if items:
        labels = [f for f in g.fields if f.label and f.kind in ("bool", "enum", "ordered", "scale", "int")]
        if labels:
            f = draw.pick(labels)
            out.append(f"consensus {f.name} {{ min annotators {draw.int(1, 3)}  min agreement 0.5 }}")
    return RubricSpec("\n".join(out) + "\n", g.fields, items)


# ---- records ------------------------------------------------------------------------------

def _junk(draw: Choices) -> Any:
    """A value of any JSON type, of no field's type in particular."""
    return draw.pick([
        lambda: None, draw.bool, lambda: draw.int(-(2**70), 2**70),
        lambda: draw.pick([0.0, -0.0, 1e308, -1e-308, 5e-324, 3.5, -2.25]), lambda: draw.text(12),
        lambda: [draw.int(0, 3) for _ in range(draw.int(0, 3))], dict,
    ])()


def _put(rec: dict, path: tuple[str, ...], value: Any) -> None:
    cur = rec
    for step in path[:-1]:
        nxt = cur.get(step)
        if not isinstance(nxt, dict):
            nxt = cur[step] = {}
        cur = nxt
    cur[path[-1]] = value


def records_for(spec: RubricSpec) -> st.SearchStrategy[dict]:
    """A record for a rubric made by `rubrics`: mostly values of each field's type."""
    return seeded(lambda choices: make_record(choices, spec))


def make_record(draw: Choices, spec: RubricSpec) -> dict:
    rec: dict = {"id": draw.pick(["r1", "r2", 3, "r3"])}
    if spec.has_items:
        rec["item"] = draw.pick(["i1", "i2", 7])
        rec["who"] = draw.pick(["ann_1", "ann_2", "ann_3"])
    for f in spec.fields:
        roll = draw.int(0, 9)
        if roll == 0:
            continue  # missing
        if roll == 1:
            _put(rec, f.path, _junk(draw))
            continue
        if f.kind == "bool":
            v: Any = draw.bool()
        elif f.kind in ("int", "scale"):
            lo = int(f.lo) if f.lo is not None else -10
            hi = int(f.hi) if f.hi is not None else 10
            v = draw.int(lo - 1, hi + 1)
        elif f.kind == "number":
            lo = f.lo if f.lo is not None else -10
            hi = f.hi if f.hi is not None else 10
            v = draw.float(lo - 1, hi + 1)
        elif f.kind == "text":
            v = draw.text(40) if draw.bool() else draw.pick(["a" * 30 + "c", "dose", "x.y", "doctor", ""])
        elif f.kind == "set":
            v = [draw.pick(f.values + ["zzz"]) for _ in range(draw.int(0, len(f.values) + 1))]
        else:
            v = draw.pick(f.values + [f.values[0].upper(), "zzz"])
        _put(rec, f.path, v)
    return rec


# ---- corrupted data files ------------------------------------------------------------------

def corrupt(data: bytes) -> st.SearchStrategy[bytes]:
    """`data` (JSONL bytes) damaged in one to three ways."""
    return seeded(lambda choices: make_corrupt(choices, data))


def make_corrupt(draw: Choices, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(draw.int(1, 3)):
        how = draw.pick(["flip", "truncate", "insert", "utf8", "nan", "deep", "split", "crlf", "nul",
                                    "huge", "bom", "array", "blank"])
        pos = draw.int(0, max(0, len(b) - 1))
        if how == "flip" and b:
            b[pos] ^= 1 << draw.int(0, 7)
        elif how == "truncate":
            del b[pos:]
        elif how == "insert":
            b[pos:pos] = draw.binary(1, 8)
        elif how == "utf8":
            b[pos:pos] = b"\xff\xfe\xc3"
        elif how == "nan":
            b[pos:pos] = b'{"x": NaN}\n'
        elif how == "deep":
            depth = draw.int(100, 3000)
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
