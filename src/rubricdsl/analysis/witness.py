"""Witnesses: turning a solver model into field values and a JSON record that
`rubric check` can run, including text that satisfies the model's text tests."""
from __future__ import annotations

from typing import Any

import z3

from rubricdsl.language import ir
from rubricdsl.analysis.encode import Encoder, model_value
from rubricdsl.core.regex import compile_regex


def _sample_for_regex(source: str) -> str | None:
    """A short string that the regex (RE2 syntax, mostly shared with Python's) matches."""
    import re._parser as sre_parse  # type: ignore[import-not-found]  # noqa: PLC0415

    try:
        tree = sre_parse.parse(source)
    except Exception:  # noqa: BLE001 - not Python syntax: no sample
        return None
    from re._constants import (  # type: ignore[import-not-found]  # noqa: PLC0415
        ANY, AT, BRANCH, CATEGORY, IN, LITERAL, MAX_REPEAT, MIN_REPEAT, NEGATE, NOT_LITERAL, RANGE, SUBPATTERN,
        CATEGORY_DIGIT, CATEGORY_SPACE, CATEGORY_WORD,
    )

    def gen(items) -> str:
        out = []
        for op, av in items:
            if op == LITERAL:
                out.append(chr(av))
            elif op == NOT_LITERAL:
                out.append("a" if chr(av) != "a" else "b")
            elif op == ANY:
                out.append("a")
            elif op == IN:
                out.append(_in(av))
            elif op == BRANCH:
                out.append(gen(av[1][0]))
            elif op == SUBPATTERN:
                out.append(gen(av[-1]))
            elif op in (MAX_REPEAT, MIN_REPEAT):
                lo, _hi, sub = av
                out.append(gen(sub) * max(lo, 0))
            elif op == AT:
                out.append("")
            elif op == CATEGORY:
                out.append(_cat(av))
            else:
                raise ValueError(op)
        return "".join(out)

    def _cat(c) -> str:
        if c == CATEGORY_DIGIT:
            return "0"
        if c == CATEGORY_SPACE:
            return " "
        if c == CATEGORY_WORD:
            return "a"
        return "a"

    def _in(items) -> str:
        if items and items[0][0] == NEGATE:
            banned = set()
            for op, av in items[1:]:
                if op == LITERAL:
                    banned.add(chr(av))
            for ch in "axq0 ":
                if ch not in banned:
                    return ch
            return "z"
        op, av = items[0]
        if op == LITERAL:
            return chr(av)
        if op == RANGE:
            return chr(av[0])
        if op == CATEGORY:
            return _cat(av)
        return "a"

    try:
        return gen(tree)
    except Exception:  # noqa: BLE001
        return None


def synthesise_text(enc: Encoder, model: Any, name: str) -> tuple[str, bool]:
    """A string for a text field that satisfies the model's text tests.

    Returns (text, exact): exact is False when no string was found that satisfies
    every test (text tests are opaque to the solver, so the combination may be
    impossible); the text is then the closest attempt."""
    fv = enc.vars[name]

    def truth(x: Any) -> bool:
        return z3.is_true(model.eval(x, model_completion=True))

    # the solver gives every text a length and a word count; they mean something only
    # where the rubric reads them, so an unconstrained text stays the empty string
    length = model.eval(fv.length, model_completion=True).as_long() if "len" in fv.counted else 0
    words = model.eval(fv.words, model_completion=True).as_long() if "words" in fv.counted else 0
    want: list[tuple[tuple, bool]] = [(key, truth(a)) for key, a in fv.atoms.items()]
    exact_eq = [k[1] for k, v in want if k[0] == "eq" and v]
    if exact_eq:
        text = exact_eq[0]
    else:
        pieces = [k[1] for k, v in want if k[0] == "contains" and v]
        for k, v in want:
            if k[0] == "matches" and v:
                s = _sample_for_regex(k[1])
                if s is not None:
                    pieces.append(s)
        text = " ".join(p for p in pieces if p)
        filler = ["note", "text", "word", "item", "case"]
        i = 0
        while len(text.split()) < words:
            text = (text + " " + filler[i % len(filler)]).strip()
            i += 1
        if len(text) < length:
            text = text + ("x" if text.strip() or words else " ") * (length - len(text))
    ok = _verify_text(text, want)
    if "len" in fv.counted and len(text) != length:
        ok = False
    if "words" in fv.counted and len(text.split()) != words:
        ok = False
    return text, ok


def _verify_text(text: str, want: list[tuple[tuple, bool]]) -> bool:
    for key, value in want:
        kind = key[0]
        if kind == "contains":
            got = key[1] in text
        elif kind == "eq":
            got = text == key[1]
        elif kind == "matches":
            try:
                got = compile_regex(ir.Regex(key[1], "")).search(text) is not None
            except Exception:  # noqa: BLE001
                return False
        else:
            continue  # comparisons with another field: not verified here
        if got != value:
            return False
    return True


def situation(enc: Encoder, model: Any, names: list[str] | None = None) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(witness: field -> value for the named fields, record: a full JSON record, exact)."""
    from rubricdsl.core.paths import put  # noqa: PLC0415

    record: dict[str, Any] = {}
    witness: dict[str, Any] = {}
    exact = True
    texts: dict[str, str] = {}
    # the fields the question was asked about (with those the domain ties to them) take
    # their values from the model; the solver saw no constraint on the others, which get
    # a valid default
    solved = enc.connected(names) if names is not None else None
    for f in enc.r.fields:
        if solved is not None and f.name not in solved:
            value = default_value(f)
            put(record, f.path, value)
            if f.name in names:  # type: ignore[operator]
                witness[f.name] = value
            continue
        present, value = model_value(enc, model, f.name)
        if f.type.kind == "text":
            if present:
                value, ok = synthesise_text(enc, model, f.name)
                texts[f.name] = value
                exact = exact and ok
        if not present:
            if names is None or f.name in names:
                witness[f.name] = None
            continue
        put(record, f.path, value, enc.r.record_each)
        if names is None or f.name in names:
            witness[f.name] = value
    # text tests between fields (contains/eq another field) are not synthesised
    for (owner, key), atom in enc.text_atoms.items():
        if (key[0] in ("contains_field", "eq_field") and (solved is None or owner in solved)
                and z3.is_true(model.eval(atom, model_completion=True))):
            exact = False
    return witness, record, exact


def default_value(f: ir.FieldIR) -> Any:
    """A valid value for a field that a witness does not constrain."""
    t = f.type
    if t.kind == "enum":
        assert t.enum is not None
        return t.enum.values[0]
    if t.kind == "bool":
        return False
    if t.kind in ("int", "scale", "number"):
        if t.lo is not None and t.hi is not None and t.lo <= 0 <= t.hi:
            return 0
        return t.lo if t.lo is not None else (t.hi if t.hi is not None and t.hi < 0 else 0)
    if t.kind == "set":
        return []
    return ""


def record_from_values(rubric: ir.RubricIR, values: dict[str, Any], names: list[str] | None = None
                       ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(witness, record) from field values; fields not given get a valid default."""
    from rubricdsl.core.paths import put  # noqa: PLC0415

    record: dict[str, Any] = {}
    witness: dict[str, Any] = {}
    for f in rubric.fields:
        v = values[f.name] if f.name in values else default_value(f)
        if names is None or f.name in names:
            witness[f.name] = v
        if v is not None:
            put(record, f.path, v, rubric.record_each)
    return witness, record


def settle(solver: Any, ask: Any, fixed: list[Any], fields: list[tuple[Encoder, str]]) -> Any:
    """A model of `fixed` (assumptions the solver can satisfy) that is the same whatever
    model the solver would have picked: field by field, in the order given, the first
    value of a fixed preference that can still hold is kept (present before missing,
    the first enum value, false, the empty set or else the earliest one-value set or
    else each value left out when it can be, the field's default number, each text
    test failing when it can). The answers to these questions are the rubric's, not
    the solver's, so two releases of z3 give one witness. `ask(*assumptions)` checks
    the solver; returns the model, or None when a question could not be answered."""
    fixed = list(fixed)
    if ask(*fixed) != z3.sat:
        return None
    model = solver.model()

    def take(*alternatives: Any) -> bool:
        nonlocal model
        for c in alternatives:
            if z3.is_true(model.eval(c, model_completion=True)):
                fixed.append(c)  # the model has it already: no question needed
                return True
            if ask(*fixed, c) == z3.sat:
                fixed.append(c)
                model = solver.model()
                return True
        return False

    for enc, name in fields:
        fv = enc.vars[name]
        f = fv.f
        t = f.type
        if not z3.is_true(fv.present):
            take(fv.present, z3.Not(fv.present))
        if t.kind == "enum" and t.enum is not None:
            take(*[fv.value == i for i in range(len(enc.space_of(t.enum)))])
        elif t.kind == "bool":
            take(z3.Not(fv.value), fv.value)
        elif t.kind in ("int", "scale", "number"):
            take(fv.value == default_value(f))
        elif t.kind == "set":
            bits = list(fv.value)
            one = [z3.And([b if j == i else z3.Not(b) for j, b in enumerate(bits)]) for i in range(len(bits))]
            if not take(z3.And([z3.Not(b) for b in bits]) if bits else z3.BoolVal(True), *one):
                for b in bits:
                    take(z3.Not(b), b)
        elif t.kind == "text":
            for a in fv.atoms.values():
                take(z3.Not(a), a)
            if "len" in fv.counted:
                take(fv.length == 0)
            if "words" in fv.counted:
                take(fv.words == 0)
    if ask(*fixed) != z3.sat:  # pragma: no cover - every assumption kept was satisfiable with the rest
        return model
    return solver.model()
