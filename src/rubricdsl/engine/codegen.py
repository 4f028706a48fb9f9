"""IR -> a compiled validator: one generated Python module per rubric.

The module defines `check(rec)`, which takes a parsed record (a dict) and returns a
list of compact finding tuples (None when there is none); `runtime` turns them into
findings. With item checks it also defines `check_row(rec)` (the findings and the
record's row, see `RowPlan`) and `item_check(view)`; with arm counts, `check_count(rec)`.
With `each` (judgments inside a record) the record's functions take the judgment too,
`check(rec, jud)`, read `@` paths from it, and return `SKIP` for a judgment `skip when`
leaves out.
Generating source keeps the per-record path as close to a hand-written loop as Python
allows.

Reading it: `rubric compile RUBRIC --emit python` prints the module. Its opening
comment lists the constants; each check starts with a comment `# FILE:LINE KIND NAME`;
locals are named after what they hold (`f_NAME` a field's value, `r_NAME` the rank of
an ordered enum, `let_NAME` a let, `applies_NAME` a criterion's scope) and constants
too (`VALUES_topic`, `RANKS_severity`, `ALLOWED_safety`, `RX_1`). A let read in more
than one place is written once, as a function `LET_NAME` of the values it reads, and
computed once per record, where a check first needs it (`let_NAME` is `...` until
then); a let read in one place is written there. The source is registered with
`linecache` under `<rubric NAME (FILE)>`, so a traceback shows the generated line, and
`Compiled.line_map` maps each generated line to the rubric line it checks: `annotate`
adds that place to an exception raised in generated code.

User text never becomes code: every constant reaches the generated code through the
module's namespace or as `repr()` of a str/int/float/bool; a name becomes part of an
identifier only when it is a plain ASCII identifier; rubric text in comments has every
character that is not printable (line breaks, NUL, bidirectional controls) escaped.

Finding tuples (the kinds are `findings.Code`):
    (INVALID, field_index, raw_value_or_MISSING)
    (UNCOVERED, decide_index)
    (AMBIGUOUS, decide_index, arm_numbers)
    (DECIDE_VIOLATION, decide_index, arm_numbers)
    (RULE_VIOLATION, rule_index)
    (ESCALATION, escalation_index)
"""
from __future__ import annotations

import io
import keyword
import linecache
import re
import tokenize
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from rubricdsl.core.paths import Several, select
from rubricdsl.core.regex import regex_matcher
from rubricdsl.core.values import MISSING
from rubricdsl.engine.findings import Code
from rubricdsl.language import ir
from rubricdsl.language.limits import collector_paused
from rubricdsl.language.walk import aggregates

# the finding kinds as the generated code carries them: plain ints, named after `Code`
INVALID = int(Code.INVALID)
UNCOVERED = int(Code.UNCOVERED)
AMBIGUOUS = int(Code.AMBIGUOUS)
DECIDE_VIOLATION = int(Code.DECIDE_VIOLATION)
RULE_VIOLATION = int(Code.RULE_VIOLATION)
ESCALATION = int(Code.ESCALATION)


_EMPTY: dict = {}
_BIG = 1 << 64  # bitmasks from here on are not written as literals
_CHUNK = 50  # arms per `elif` chain or `|` expression; steps of a path followed one by one
# what an operator costs in `_Gen.cost` (the others: nothing to speak of)
_COSTS = {"matches": 100, "words": 10, "contains": 3}
_DEPTH = 30  # levels of an expression in one line of code; deeper parts go to temporaries first


class _Skip:
    """What a judgment's checker returns for a judgment `skip when` leaves out."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "SKIP"


SKIP = _Skip()


def _toset(v: list, allowed: frozenset) -> frozenset | None:
    try:
        s = frozenset(v)
    except TypeError:
        return None
    if len(s) != len(v) or not s <= allowed:
        return None
    return s


def _len(v):
    return None if v is None else len(v)


_NOT_SPACE = str.maketrans({c: "x" for c in "\x1c\x1d\x1e\x1f"})


def words(t: str) -> int:
    """Runs of non-whitespace. str.split() also splits at U+001C..U+001F, which are
    not Unicode White_Space: map them to a letter first when they occur."""
    if t and min(t) <= "\x1f" and any("\x1c" <= ch <= "\x1f" for ch in t):
        t = t.translate(_NOT_SPACE)
    return len(t.split())


def _words(v):
    return None if v is None else words(v)


def _add(a, b):
    return None if a is None or b is None else a + b


def _sub(a, b):
    return None if a is None or b is None else a - b


def _mul(a, b):
    return None if a is None or b is None else a * b


def _div(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def _neg(a):
    return None if a is None else -a


def _path(v: Any, steps: tuple) -> Any:
    """Follow a long path's steps from `v` (None where one is missing or of the wrong kind)."""
    for step in steps:
        if step.__class__ is int:
            v = v[step] if v.__class__ is list and len(v) > step else None
        else:
            v = v.get(step) if v.__class__ is dict else None
        if v is None:
            return None
    return v


def _o(out: list | None, finding: tuple) -> list:
    if out is None:
        return [finding]
    out.append(finding)
    return out


def _multi(d: int, bits: int, value: Any, allowed: dict[int, frozenset], out: list | None) -> list | None:
    m = [n for n in allowed if bits >> n & 1]
    sets = [allowed[i] for i in m]
    arms = tuple(m)
    if all(s == sets[0] for s in sets):
        if value not in sets[0]:
            out = _o(out, (DECIDE_VIOLATION, d, arms))
        return out
    out = _o(out, (AMBIGUOUS, d, arms))
    if not any(value in s for s in sets):
        out = _o(out, (DECIDE_VIOLATION, d, arms))
    return out


# What every generated module finds in its namespace, besides its own constants.
_HELPERS: dict[str, Any] = {
    "MISSING": MISSING, "EMPTY": _EMPTY, "EMPTYSET": frozenset(), "_toset": _toset, "_len": _len, "_words": _words,
    "_wordsx": words, "_add": _add, "_sub": _sub, "_mul": _mul, "_div": _div, "_neg": _neg, "_multi": _multi, "_o": _o,
    "_path": _path, "_select": select, "Several": Several, "SKIP": SKIP,
    **{c.name: int(c) for c in Code},
}


@dataclass
class RowPlan:
    """What `check_row` returns for each record besides its findings: the values of
    `fields` (None when missing or invalid), the arms each of `decides` counted as a
    bitmask (bit N = arm N; 0 = uncovered; None = the decide did not run) and each
    `shares` condition (None when it mentions an invalid field)."""

    fields: list[ir.FieldIR]
    decides: list[ir.DecideIR]
    shares: list[ir.Agg]


@dataclass
class Compiled:
    rubric: ir.RubricIR
    check: Callable[[dict], list]
    # the generated module (every function below), as `rubric compile --emit python` prints it
    source: str
    # check_row(rec) -> (findings, row): the same findings as `check`, and the row
    # that `plan` describes; None when there is no plan
    check_row: Callable[[dict], tuple] | None = None
    plan: RowPlan | None = None
    # with all_decides: check_count(rec) gives `check`'s findings and counts each decide's
    # arm bitmasks into counters[decide index] (bitmask -> records; 0 = uncovered)
    check_count: Callable[[dict], list] | None = None
    counters: list[dict[int, int]] | None = None
    # item_check(view) for the `per item` rules and escalations (see `compile_item_checks`)
    item_check: Callable[[Any], list | None] | None = None
    # the module's file name in tracebacks and `linecache`, and generated line -> rubric place
    filename: str = ""
    line_map: dict[int, str] = field(default_factory=dict)
    # `engine.decode`'s typed decoder and its checker, built on first use (False: none);
    # `fast_by`: the one that also reads the record's annotator (`--by annotator`);
    # `fast_rows`: the one that also reads the item and annotator, its checker `check_row`
    fast: Any = None
    fast_by: Any = None
    fast_rows: Any = None


# ---- text and names in generated code -----------------------------------------------------------


def comment_text(s: str) -> str:
    """`s` as it may stand in a `#` comment of generated code (or a traceback): every
    character that is not printable (line breaks, NUL, bidirectional controls) written
    as its escape, so that nothing can end the comment."""
    if s.isprintable():
        return s
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in s)


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,79}")


class _Names:
    """Identifiers of one scope, each used once."""

    def __init__(self, taken: Any = ()) -> None:
        self.taken: set[str] = set(taken)

    def new(self, prefix: str, hint: str, fallback: str) -> str:
        """`prefix + hint` when `hint` is a plain ASCII identifier (else `prefix + fallback`),
        numbered when already taken."""
        base = prefix + (hint if _IDENT.fullmatch(hint) else fallback)
        name, n = base, 1
        while name in self.taken or keyword.iskeyword(name):
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return name


def _show(v: Any) -> str:
    """A constant's value in the module's opening comment."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return repr(v)
    return repr(v)


def _show_set(values: Any) -> str:
    return "{" + ", ".join(_show(v) for v in values) + "}"


def _set_key(values: frozenset) -> tuple:
    return tuple(sorted((type(v).__name__, repr(v)) for v in values))


# ---- the module ---------------------------------------------------------------------------------


class _Module:
    """The generated module under construction: its lines, the rubric place of each
    line, and its namespace (helpers and constants, each constant once)."""

    def __init__(self, rubric: ir.RubricIR, roots: list[Any]) -> None:
        self.r = rubric
        self.ns: dict[str, Any] = dict(_HELPERS)
        self.globals = _Names(list(self.ns) + ["len", "int", "check", "check_row", "check_count", "item_check"])
        self.consts: dict[Any, str] = {}
        self.shown: list[tuple[str, str]] = []  # (name, what it holds) for the opening comment
        self.counter: Counter[str] = Counter()
        self.lines: list[str] = []
        self.where: list[str | None] = []
        self.defs: list[str] = []  # the lets' functions, before the checker's
        self.defs_where: list[str | None] = []
        self.place: str | None = None
        self.file = comment_text(rubric.source_name)
        # one local name per field (the same in every function)
        names = _Names()
        self.field_var = {f.index: names.new("f_", f.name, str(f.index)) for f in rubric.fields}
        self.rank_var = {f.index: names.new("r_", f.name, str(f.index)) for f in rubric.fields
                         if f.type.kind == "enum" and f.type.enum is not None and f.type.enum.ordered}
        # A let read in more than one place (in any of the module's functions) is one
        # function, LET_NAME, whose value each checker function keeps in a local,
        # let_NAME, computed where a check first needs it; a let read once is written
        # where it is read.
        refs: Counter = Counter()
        seen: set[int] = set()
        for e in roots:
            if e is not None:
                _walk_lets(e, seen, refs)
        self.lets = {id(let): let for let in rubric.lets}
        self.memo: dict[int, str] = {}
        self.let_fn: dict[int, tuple[str, bool]] = {}  # let -> (code of the call, may be None)
        for let in rubric.lets:
            if refs[id(let)] >= 2 and isinstance(let.expr, ir.Op):
                self.memo[id(let)] = names.new("let_", let.name, str(len(self.memo)))

    def at(self, span: Any, what: str) -> str:
        """Lines emitted from here on check `what` (`KIND NAME`) at `span`'s line."""
        self.place = f"{self.file}:{span.line} {comment_text(what)}"
        return self.place

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)
        self.where.append(self.place)

    def let_function(self, let: ir.LetIR) -> tuple[str, bool]:
        """The call that computes a let read in several places, and whether its value may
        be None; its function is written once, the first time a check needs it."""
        got = self.let_fn.get(id(let))
        if got is not None:
            return got
        lines, where, place = self.lines, self.where, self.place
        self.lines, self.where = [], []
        gen = _Gen(self)
        self.at(let.span, f"let {let.name}")
        gen.spill(1, gen.deep([let.expr]))  # a deep expression: its deep parts into temporaries first
        if let.expr.type.kind == "bool":
            code, maybe = gen.cond(let.expr), False
        else:
            code, maybe = gen.val(let.expr)
        body, body_where = self.lines, self.where
        self.lines, self.where = [], []
        # its parameters: the locals of the checker that its code reads
        local = set(self.field_var.values()) | set(self.rank_var.values()) | set(self.memo.values())
        params: list[str] = []
        for text in body + [code]:
            for tok in tokenize.generate_tokens(io.StringIO(text.strip()).readline):
                if tok.type == tokenize.NAME and tok.string in local and tok.string not in params:
                    params.append(tok.string)
        name = self.globals.new("LET_", let.name, str(len(self.let_fn)))
        self.place = None
        self.emit(0, f"def {name}({', '.join(params)}):")
        self.emit(1, f"# {self.at(let.span, f'let {let.name}')}")
        self.lines += body
        self.where += body_where
        self.emit(1, f"return {code}")
        self.place = None
        self.emit(0, "")
        self.defs += self.lines
        self.defs_where += self.where
        self.lines, self.where, self.place = lines, where, place
        got = self.let_fn[id(let)] = (f"{name}({', '.join(params)})", maybe)
        return got

    def comment(self, indent: int, span: Any, what: str) -> None:
        """`# FILE:LINE KIND NAME` before a check, which its lines then map to."""
        self.emit(indent, f"# {self.at(span, what)}")

    def const(self, value: Any, prefix: str = "K_", hint: str = "", key: Any = None, shown: str | None = None) -> str:
        """Code for a constant: a literal for str/int/bool and finite floats, else a name
        bound in the namespace (the same value, the same name)."""
        if key is None:
            if isinstance(value, (bool, str)) or (isinstance(value, float) and value == value
                                                  and abs(value) != float("inf")):
                return repr(value)
            if isinstance(value, int):
                try:
                    return repr(value)
                except ValueError:  # more digits than Python prints
                    key = ("int", id(value))
            elif isinstance(value, frozenset):
                key = ("set", _set_key(value))
            else:
                key = (type(value).__name__, repr(value))
        name = self.consts.get(key)
        if name is not None:
            return name
        self.counter[prefix] += 1
        name = self.globals.new(prefix, hint, str(self.counter[prefix]))
        self.consts[key] = name
        self.ns[name] = value
        if shown is None:
            shown = _show_set(sorted(value, key=repr)) if isinstance(value, frozenset) else _show(value)
        self.shown.append((name, shown))
        return name

    def source(self) -> tuple[str, dict[int, str]]:
        r = self.r
        head = [
            "# Generated by rubricdsl from a rubric: its checker. Do not edit: the rubric is the source.",
            "# `rubric compile RUBRIC --emit python` prints it.",
            f"# rubric {comment_text(repr(r.name))} version {comment_text(repr(r.version))}, "
            f"from {self.file} (sha256 {comment_text(r.sha256[:12])})",
            "#",
            "# check(rec) returns None or a list of finding tuples, whose numbers index the rubric's",
            "# fields, decides, rules and escalations: (INVALID, field, raw value or MISSING),",
            "# (UNCOVERED, decide), (AMBIGUOUS, decide, arms), (DECIDE_VIOLATION, decide, arms),",
            "# (RULE_VIOLATION, rule), (ESCALATION, escalation).",
            "# " + ", ".join(f"{c.name} = {int(c)}" for c in Code) + ".",
            "# Helpers (_o, _multi, _toset, _len, _words, ...) come from rubricdsl.engine.codegen.",
        ]
        if self.shown:
            head += ["#", "# Constants, bound in the module's namespace:"]
            width = max(len(n) for n, _ in self.shown)
            head += [comment_text(f"#   {n.ljust(width)}  {s}") for n, s in self.shown]
        head.append("")
        lines = head + self.defs + self.lines
        where = [None] * len(head) + self.defs_where + self.where
        line_map = {i: w for i, w in enumerate(where, start=1) if w is not None}
        return "\n".join(lines) + "\n", line_map


# ---- one function ---------------------------------------------------------------------------------


def _walk_lets(e: Any, seen: set[int], refs: Counter) -> None:
    """Count the references to each let in `e` (a let's own expression once)."""
    stack = [e]
    while stack:
        e = stack.pop()
        if isinstance(e, ir.LetRef):
            refs[id(e.let)] += 1
            if isinstance(e.let.expr, ir.LetRef):  # another name for a let: each use is a use of that let
                stack.append(e.let.expr)
            elif id(e.let) not in seen:
                seen.add(id(e.let))
                stack.append(e.let.expr)
        elif isinstance(e, ir.Op):
            stack.extend(e.args)


class _Gen:
    """Generates one function of the module."""

    def __init__(self, mod: _Module) -> None:
        self.mod = mod
        self.r = mod.r
        self.n = 0
        self.bit = {f.name: 1 << f.index for f in self.r.fields}
        self.aggs: dict[int, str] = {}
        self.track: set[int] = set()
        self.count = False
        self.decide_var: dict[int, str] = {}
        self.memo = mod.memo
        self.sure: set[int] = set()  # lets computed on every path to here
        self.maybe: set[int] = set()  # lets computed on some path to here
        self.unset: set[int] = set()  # lets whose variable is read before it may be set: start as `...`
        self.spilled: dict[int, tuple[str, bool]] = {}  # subexpression -> (its temporary, may be None)
        self.costs: dict[int, int] = {}  # subexpression -> its cost (`cost`)
        # (attribute of each path, empty Struct of each object path) when the record is
        # a Struct of `engine.decode`'s typed decoder (every path is object keys)
        self.fast: tuple[dict[tuple[str, ...], str], dict[tuple[str, ...], Any]] | None = None

    def tmp(self) -> str:
        self.n += 1
        return f"_t{self.n}"

    def emit(self, indent: int, line: str) -> None:
        self.mod.emit(indent, line)

    def mask(self, names) -> int:
        m = 0
        for n in names:
            m |= self.bit.get(n, 0)
        return m

    def bits(self, m: int) -> str:
        """Code for a bitmask of fields (or arms): a literal up to 64 bits; beyond, a
        shift for one bit, else a constant, so that the source stays linear in the
        rubric's size however many fields it has."""
        if m < _BIG:
            return str(m)
        if m & (m - 1) == 0:
            return f"(1 << {m.bit_length() - 1})"
        got = self.mod.consts.get(("mask", m))
        if got is not None:
            return got
        names, k = [], m
        while k:
            low = k & -k
            names.append(self.r.fields[low.bit_length() - 1].name)
            k ^= low
        return self.mod.const(m, "MASK_", key=("mask", m), shown="the bits of " + ", ".join(names))

    def fv(self, f: ir.FieldIR) -> str:
        return self.mod.field_var[f.index]

    # ---- fields --------------------------------------------------------------------

    def fields_code(self) -> None:
        mod = self.mod
        # shared prefixes: one variable per distinct path prefix. A prefix is a node of
        # the paths' trie, keyed by (its parent's node, its last step), so that a path
        # of N steps costs N, not N * N. A path led by `@` starts at the judgment (`jud`,
        # always an object); a selector step is a node of its own.
        root = 0
        node_of: dict[tuple[int, Any], int] = {}
        steps: list[tuple[int, Any]] = [(-1, None)]  # node -> (parent node, step)
        children_kind: dict[int, set[str]] = {}

        def kind(step: Any) -> str:
            return "index" if isinstance(step, int) else "select" if isinstance(step, ir.Select) else "key"

        def child(node: int, step: Any) -> int:
            children_kind.setdefault(node, set()).add(kind(step))
            key = (node, step)
            nxt = node_of.get(key)
            if nxt is None:
                nxt = node_of[key] = len(steps)
                steps.append(key)
            return nxt

        field_nodes: list[int] = []  # each field's parent node (its own, when a selector ends its path)
        field_sels: list[list[int]] = []  # the selector nodes on each field's way
        for f in self.r.fields:
            node = root
            sels = []
            for step in f.path[:-1]:
                node = child(node, step)
                if isinstance(step, ir.Select):
                    sels.append(node)
            last = f.path[-1]
            if isinstance(last, ir.Select):
                node = child(node, last)
            else:
                children_kind.setdefault(node, set()).add(kind(last))
            field_nodes.append(node)
            field_sels.append(sels)
        prefix_var: dict[int, str] = {root: "rec"}
        hints: dict[int, str] = {root: ""}
        names = _Names(["rec", "jud"])
        normalized: set[int] = {root}
        at = node_of.get((root, ir.AT))
        if at is not None:
            prefix_var[at] = "jud"
            hints[at] = ""
            normalized.add(at)
        # a selector's pick, before it is narrowed to an object: one scan of its list per
        # record (or judgment), whatever number of fields read through it
        sel_var: dict[int, str] = {}

        def path_of(node: int) -> tuple:
            out = []
            while node != root:
                node, step = steps[node]
                out.append(step)
            return tuple(reversed(out))

        def value_of(parent: int, step) -> str:
            pv = prefix_var[parent]
            if self.fast is not None:  # a Struct (a key no record has is None)
                return f"{pv}.{self.fast[0][path_of(parent) + (step,)]}"
            if isinstance(step, int):
                return f"({pv}[{step}] if {pv}.__class__ is list and len({pv}) > {step} else None)"
            if parent in normalized:
                return f"{pv}.get({step!r})"
            return f"({pv}.get({step!r}) if {pv}.__class__ is dict else None)"

        def select(node: int) -> str:
            """The variable holding what the selector ending at `node` picks."""
            got = sel_var.get(node)
            if got is not None:
                return got
            parent, step = steps[node]
            ensure(parent)
            const = mod.const(step, "SEL_", step.name, ("select", step), step.name + step.text())
            var = sel_var[node] = names.new("s_", f"{step.name}_{step.value}", str(len(sel_var)))
            self.emit(1, f"{var} = _select({prefix_var[parent]}, {step.key!r}, {step.value!r}, {const})"
                         f"  # one element, None, or Several")
            return var

        def ensure(node: int) -> None:
            todo = []
            while node not in prefix_var and not isinstance(steps[node][1], ir.Select):
                todo.append(node)
                node = steps[node][0]
            if node not in prefix_var:  # a selector: its pick, narrowed to an object
                sel = select(node)
                var = names.new("p_", hints[steps[node][0]], str(len(prefix_var)))
                self.emit(1, f"{var} = {sel} if {sel}.__class__ is dict else EMPTY")
                normalized.add(node)
                prefix_var[node] = var
                hints[node] = hints[steps[node][0]]
            if len(todo) > _CHUNK and self.fast is None:
                # a long path: one call follows its steps, not a statement and a local per
                # step (CPython compiles a function of that many locals slowly)
                upto = todo[1]
                walked = tuple(steps[n][1] for n in reversed(todo[1:]))
                path = self.mod.const(walked, "PATH_", key=("path", walked),
                                      shown=f"{len(walked)} steps, from {walked[0]!r} to {walked[-1]!r}")
                var = names.new("p_", "", str(len(prefix_var)))
                self.emit(1, f"{var} = _path({prefix_var[node]}, {path})")
                if children_kind.get(upto, set()) == {"key"}:
                    self.emit(1, f"if {var}.__class__ is not dict: {var} = EMPTY")
                    normalized.add(upto)
                prefix_var[upto] = var
                hints[upto] = "_" * 81  # too long a name: the deeper ones are numbered
                todo = todo[:1]
            for node in reversed(todo):
                parent, step = steps[node]
                # the name says the path while it is short enough to be one
                hint = hints[node] = (f"{hints[parent]}_{step}" if hints[parent] else str(step)) \
                    if len(hints[parent]) <= 80 else hints[parent]
                var = names.new("p_", hint, str(len(prefix_var)))
                self.emit(1, f"{var} = {value_of(parent, step)}")
                if self.fast is not None:  # an object read through: its Struct, or None if it may be missing
                    path = path_of(node)
                    if path in self.fast[1]:
                        empty = mod.const(self.fast[1][path], "EMPTY_", hint, ("empty", path), "no key read")
                        self.emit(1, f"if {var} is None: {var} = {empty}")
                    normalized.add(node)
                elif children_kind.get(node, set()) == {"key"}:
                    self.emit(1, f"if {var}.__class__ is not dict: {var} = EMPTY")
                    normalized.add(node)
                prefix_var[node] = var

        for f, node, sels in zip(self.r.fields, field_nodes, field_sels):
            mod.comment(1, f.span, f"{f.kind} {f.name}")
            v = self.fv(f)
            if isinstance(f.path[-1], ir.Select):
                self.emit(1, f"{v} = {select(node)}")
            else:
                ensure(node)
                self.emit(1, f"{v} = {value_of(node, f.path[-1])}")
            # several elements picked on the way: the field is invalid (said by `Several`)
            for s in sels:
                sel = sel_var[s]
                self.emit(1, f"if {sel}.__class__ is Several: {v} = {sel}")
            self.validate(f, v)

    def validate(self, f: ir.FieldIR, v: str) -> None:
        t = f.type
        k = t.kind
        if self.fast is not None and k != "set":
            # the typed decoder read a valid value, or None where the field may be missing
            if k == "enum" and t.enum is not None and t.enum.ordered:
                self.emit(1, f"{self.mod.rank_var[f.index]} = {self.ranks(t.enum, f.name)}.get({v})")
            return
        bit = self.bits(1 << f.index)
        i = f.index
        if f.optional or f.required_when is not None:
            on_missing = "pass"
        else:
            on_missing = f"bad |= {bit}; out = _o(out, (INVALID, {i}, MISSING))"
        on_bad = f"bad |= {bit}; out = _o(out, (INVALID, {i}, {v})); {v} = None"
        rng = ""
        if k in ("int", "scale", "number") and t.lo is not None:
            rng = f" and {self.num(t.lo)} <= {v} <= {self.num(t.hi)}"
        if k == "bool":
            self.emit(1, f"if {v} is True or {v} is False: pass")
        elif k in ("int", "scale"):
            self.emit(1, f"if {v}.__class__ is int{rng}: pass")
            self.emit(1, f"elif {v}.__class__ is float and {v}.is_integer(){rng}: {v} = int({v})")
        elif k == "number":
            self.emit(1, f"if ({v}.__class__ is int or {v}.__class__ is float){rng}: pass")
        elif k == "text":
            self.emit(1, f"if {v}.__class__ is str: pass")
        elif k == "enum":
            assert t.enum is not None
            if t.enum.ordered:
                ranks = self.ranks(t.enum, f.name)
                r = self.mod.rank_var[i]
                self.emit(1, f"{r} = {ranks}.get({v}) if {v}.__class__ is str else None")
                self.emit(1, f"if {r} is not None: pass")
            else:
                vals = self.values(t.enum, f.name)
                self.emit(1, f"if {v}.__class__ is str and {v} in {vals}: pass")
        elif k == "set":
            assert t.enum is not None
            vals = self.values(t.enum, f.name)
            self.emit(1, f"if {v}.__class__ is list and (_s := (EMPTYSET if not {v} else _toset({v}, {vals}))) is not None: {v} = _s")
        self.emit(1, f"elif {v} is None: {on_missing}")
        self.emit(1, f"else: {on_bad}")

    def num(self, x: Any) -> str:
        return self.mod.const(x, "NUM_")

    def values(self, enum: ir.EnumType, name: str) -> str:
        return self.mod.const(frozenset(enum.values), "VALUES_", name, ("values", enum.values),
                              _show_set(enum.values))

    def ranks(self, enum: ir.EnumType, name: str) -> str:
        return self.mod.const({val: n for n, val in enumerate(enum.values)}, "RANKS_", name, ("ranks", enum.values),
                              " < ".join(_show(v) for v in enum.values))

    # ---- lets --------------------------------------------------------------------------

    def needed(self, exprs: list[Any]) -> list[ir.LetIR]:
        """The lets computed into locals that `exprs` read (directly or through other
        lets), each after the lets it reads."""
        out: list[ir.LetIR] = []
        seen: set[int] = set()
        # ("e", expression) to walk, ("let", let) to add once its expression is walked
        stack: list[tuple[str, Any]] = [("e", e) for e in reversed(exprs) if e is not None]
        while stack:
            what, e = stack.pop()
            if what == "let":
                out.append(e)
            elif isinstance(e, ir.LetRef):
                let = e.let
                if id(let) in self.memo:
                    if id(let) not in seen:
                        seen.add(id(let))
                        stack.append(("let", let))
                        stack.append(("e", let.expr))
                else:
                    stack.append(("e", let.expr))
            elif isinstance(e, ir.Op):
                stack.extend(("e", a) for a in reversed(e.args))
        return out

    def deep(self, exprs: list[Any]) -> list[ir.Op]:
        """The subexpressions of `exprs` to compute into temporaries first, innermost
        first: every one that would nest _DEPTH levels in the code of its parent (a long
        `and` chain, arithmetic chain, deep parentheses, a chain of lets written in
        place). None for an expression of ordinary depth, whose code stays one line.
        Iterative: no depth meets Python's recursion limit here, and the code written
        for one temporary nests at most _DEPTH levels."""
        height: dict[int, int] = {}
        out: list[ir.Op] = []
        for x, kids in self.post_order(exprs, height):
            h = max((height[id(k)] for k in kids), default=0)
            if type(x) is ir.Op:
                h += 1
                if h >= _DEPTH and x.type.kind != "enum":
                    out.append(x)
                    h = 0
            height[id(x)] = h
        return out

    def post_order(self, exprs: list[Any], done: dict[int, Any]) -> Iterator[tuple[Any, tuple]]:
        """Each subexpression of `exprs` (None ones left out) whose id is not in `done`,
        with its children, after them: a let written in place has its expression as its
        child, a let computed ahead none. The caller puts each node it is given in
        `done` before asking for the next. Iterative: any depth."""
        memo = self.memo
        stack: list[tuple[Any, bool]] = [(e, False) for e in reversed(exprs) if e is not None]
        while stack:
            x, ready = stack.pop()
            if id(x) in done:
                continue
            t = type(x)
            kids = x.args if t is ir.Op else (x.let.expr,) if t is ir.LetRef and id(x.let) not in memo else ()
            if kids and not ready:
                stack.append((x, True))
                stack.extend((k, False) for k in reversed(kids) if id(k) not in done)
                continue
            yield x, kids

    def spill(self, indent: int, nodes: list[ir.Op]) -> None:
        """Compute `nodes` (from `deep`) into temporaries, in order; the code of the
        expressions that hold them reads the temporaries. An expression has no effect
        and cannot fail where its check runs, so computing a part of it ahead (without
        the short cut of `and`/`or`) gives the same result."""
        for x in nodes:
            code, maybe = (self.cond(x), False) if x.type.kind == "bool" else self.val(x)
            t = self.tmp()
            self.emit(indent, f"{t} = {code}")
            self.spilled[id(x)] = (t, maybe)

    def let_code(self, let: ir.LetIR) -> tuple[str, bool]:
        """Code that computes a let read in several places, and whether it may be None."""
        return self.mod.let_function(let)

    def hoist(self, indent: int, pre: list[str], exprs: list[Any]) -> None:
        """Compute the lets `exprs` need before the check that reads them runs (`pre`:
        when it runs), unless every path here has computed them already."""
        todo = [let for let in self.needed(exprs) if id(let) not in self.sure]
        self.spilled = {}
        deep = self.deep(exprs)
        if pre and (len(todo) > 1 or deep):
            self.emit(indent, f"if {' and '.join(pre)}:")
            indent += 1
            pre = []
            sure = self.sure
            self.sure = set(sure)
        else:
            sure = None
        for let in todo:
            key = id(let)
            var = self.memo[key]
            code, _ = self.let_code(let)
            test = [f"{var} is ..."] if key in self.maybe else []
            if test:
                self.unset.add(key)
            cond = test + pre
            self.emit(indent, f"if {' and '.join(cond)}: {var} = {code}" if cond else f"{var} = {code}")
            if not pre:
                self.sure.add(key)
            self.maybe.add(key)
        self.spill(indent, deep)
        if sure is not None:
            self.sure = sure

    # ---- expressions -------------------------------------------------------------------

    def val(self, e: ir.Expr, rank: bool = False) -> tuple[str, bool]:
        """Code for a value, and whether it may be None (missing / no value)."""
        while type(e) is ir.LetRef and id(e.let) not in self.memo:
            e = e.let.expr  # a let written in place (through any chain of names)
        got = self.spilled.get(id(e))
        if got is not None:
            return got
        if isinstance(e, ir.Agg):
            var = self.aggs[id(e)]  # an item aggregate, computed into a local first
            if rank:
                assert e.type.enum is not None
                return f"{self.ranks(e.type.enum, e.field.name if e.field is not None else '')}.get({var})", True
            return var, True
        if isinstance(e, ir.FieldRef):
            f = e.field
            var = self.mod.rank_var[f.index] if rank else self.fv(f)
            return var, f.may_be_missing
        if isinstance(e, ir.LetRef):
            if id(e.let) in self.memo:
                assert not rank, "an enum-valued let is a name for a field or a value"
                return self.memo[id(e.let)], self.let_code(e.let)[1]
            return self.val(e.let.expr, rank)
        if isinstance(e, ir.Const):
            if rank:
                assert e.type.enum is not None
                return repr(e.type.enum.rank(e.value)), False
            if isinstance(e.value, frozenset):
                return self.const_set(e.value), False
            return self.mod.const(e.value, "NUM_"), False
        assert isinstance(e, ir.Op)
        if e.type.kind == "bool":
            return self.cond(e), False
        op = e.op
        if op in ("len", "count", "words"):
            a, am = self.val(e.args[0])
            if op == "words":
                return (f"_words({a})", True) if am else (f"_wordsx({a})", False)
            return (f"_len({a})", True) if am else (f"len({a})", False)
        if op == "neg":
            a, am = self.val(e.args[0])
            return (f"_neg({a})", True) if am else (f"(-{a})", False)
        if op in ("+", "-", "*", "/"):
            a, am = self.val(e.args[0])
            b, bm = self.val(e.args[1])
            if op == "/":
                return f"_div({a}, {b})", True
            if am or bm:
                helper = {"+": "_add", "-": "_sub", "*": "_mul"}[op]
                return f"{helper}({a}, {b})", True
            return f"({a} {op} {b})", False
        raise AssertionError(op)

    def const_set(self, value: frozenset) -> str:
        members = sorted(value, key=repr)
        hint = "_".join(str(v) for v in members) if all(isinstance(v, str) for v in members) else ""
        return self.mod.const(value, "SET_", hint)

    def guard(self, code: str, maybe: bool, guards: list[str]) -> str:
        """Make `code` safe to use after the guards: add `is not None` tests."""
        if not maybe:
            return code
        if code.isidentifier():
            guards.append(f"{code} is not None")
            return code
        t = self.tmp()
        guards.append(f"({t} := {code}) is not None")
        return t

    def cond(self, e: ir.Expr) -> str:
        while type(e) is ir.LetRef and id(e.let) not in self.memo:
            e = e.let.expr  # a let written in place (through any chain of names)
        got = self.spilled.get(id(e))
        if got is not None:
            return got[0]
        if isinstance(e, ir.LetRef):
            if id(e.let) in self.memo:
                return self.memo[id(e.let)]
            return self.cond(e.let.expr)
        if isinstance(e, ir.Const):
            return repr(bool(e.value))
        if isinstance(e, ir.FieldRef):
            return f"({self.fv(e.field)} is True)"
        assert isinstance(e, ir.Op)
        op = e.op
        if op == "and" or op == "or":
            a, b = e.args
            if self.cost(a) > self.cost(b):
                a, b = b, a  # the cheaper side first: the costly one often need not run
            return f"({self.cond(a)} {op} {self.cond(b)})"
        if op == "not":
            return f"(not {self.cond(e.args[0])})"
        if op == "truth":
            inner = e.args[0]
            while isinstance(inner, ir.LetRef) and id(inner.let) not in self.memo:
                inner = inner.let.expr
            if isinstance(inner, ir.LetRef):
                return self.memo[id(inner.let)]  # a bool let's value: True or False
            if isinstance(inner, ir.Op):
                return self.cond(inner)
            a, am = self.val(e.args[0])
            return f"({a} is True)"
        if op in ("present", "missing") and isinstance(e.args[0], ir.Agg):
            return f"({self.aggs[id(e.args[0])]} is {'not ' if op == 'present' else ''}None)"
        if op in ("present", "missing"):
            f = e.args[0].field
            return f"({self.fv(f)} is {'not ' if op == 'present' else ''}None)"
        guards: list[str] = []
        if op in ("==", "!=", "<", "<=", ">", ">="):
            rank = e.mode == "rank"
            a = self.guard(*self.val(e.args[0], rank), guards)
            b = self.guard(*self.val(e.args[1], rank), guards)
            test = f"{a} {op} {b}"
        elif op in ("in", "not in"):
            a, am = self.val(e.args[0])
            b, bm = self.val(e.args[1])
            if op == "in" and not bm:
                test = f"{a} in {b}"  # None is never a member
            else:
                a = self.guard(a, am, guards)
                b = self.guard(b, bm, guards)
                test = f"{a} {op} {b}"
        elif op in ("any", "all", "none"):
            a = self.guard(*self.val(e.args[0]), guards)
            b = self.guard(*self.val(e.args[1]), guards)
            test = {"any": f"not {a}.isdisjoint({b})", "all": f"{b} <= {a}", "none": f"{a}.isdisjoint({b})"}[op]
        elif op in ("empty", "not empty"):
            a = self.guard(*self.val(e.args[0]), guards)
            test = f"len({a}) {'==' if op == 'empty' else '!='} 0"
        elif op == "contains":
            a = self.guard(*self.val(e.args[0]), guards)
            b = self.guard(*self.val(e.args[1]), guards)
            test = f"{b} in {a}"
        elif op == "matches":
            assert e.regex is not None
            a = self.guard(*self.val(e.args[0]), guards)
            rx = self.mod.const(regex_matcher(e.regex), "RX_", key=("regex", e.regex.pattern, e.regex.flags),
                                shown=f"/{e.regex.pattern}/{e.regex.flags}")
            test = f"{rx}({a})"
        else:
            raise AssertionError(op)
        return "(" + " and ".join(guards + [test]) + ")"

    def cost(self, e: ir.Expr) -> int:
        """What evaluating `e` in place costs, roughly: the regex matches it runs (a call
        into RE2 costs about as much as the rest of a record's checks), then the scans of
        a text (`words`, `contains`). A let computed ahead of the check costs nothing
        here. An expression has no effect and cannot fail where its check runs, so `cond`
        may put the cheaper side of an `and` or `or` first: the value is the same, and
        the costly side runs only when the cheap one does not decide. Iterative, and
        remembered for each subexpression: linear in the expression's size at any depth."""
        costs = self.costs
        if id(e) not in costs:
            for x, kids in self.post_order([e], costs):
                c = sum(costs[id(k)] for k in kids)
                costs[id(x)] = c + _COSTS.get(x.op, 0) if type(x) is ir.Op else c
        return costs[id(e)]

    # ---- a record's checks ----------------------------------------------------------------

    def record_function(self, name: str, plan: RowPlan | None = None, count: bool = False) -> None:
        """`check(rec)`; with `plan`, `check_row(rec)`; with `count`, `check_count(rec)`, which
        also counts, per decide, the records per arm bitmask in its COUNTS_ dicts."""
        mod = self.mod
        self.track = {d.index for d in plan.decides} if plan else set()
        self.count = count
        mod.place = None
        each = self.r.record_each is not None
        self.emit(0, f"def {name}(rec, jud):" if each else f"def {name}(rec):")
        if each:
            self.emit(1, '"""One judgment `jud` (an object of the list `each` names) of the record `rec`."""')
        self.emit(1, "out = None  # a list once there is a finding: no allocation for a clean record")
        self.emit(1, "bad = 0  # bit N: field N is invalid (or missing where required)")
        names = _Names()
        for d in self.r.decides:
            if d.index in self.track:
                self.decide_var[d.index] = var = names.new("arms_", d.label.name, str(d.index))
                self.emit(1, f"{var} = None")
        init_at = len(mod.lines)
        self.fields_code()
        # `required when` is judged on the values as read: a condition that mentions a field
        # invalid by its value (or missing where always required) requires nothing, and
        # what the other conditions require does not count (so the order of the fields
        # does not matter, and two fields may each be required when the other is missing)
        conditional = [f for f in self.r.fields if f.required_when is not None]
        if len(conditional) > 1:
            mod.place = None
            self.emit(1, "read_bad = bad")
        for f in conditional:
            assert f.required_when is not None
            mod.comment(1, f.span, f"{f.kind} {f.name} required when")
            m = self.mask(f.required_when.mentions) | (1 << f.index)
            b = "read_bad" if len(conditional) > 1 else "bad"
            pre = [f"{self.fv(f)} is None", f"not {b} & {self.bits(m)}"]
            self.hoist(1, pre, [f.required_when])
            self.emit(1, f"if {' and '.join(pre)} and {self.cond(f.required_when)}:")
            self.emit(2, f"bad |= {self.bits(1 << f.index)}; out = _o(out, (INVALID, {f.index}, MISSING))")
        skip = self.r.record_skip
        if skip is not None:
            mod.comment(1, skip.span, "skip when")
            m = self.mask(skip.mentions)
            pre = [f"not bad & {self.bits(m)}"] if m else []
            self.hoist(1, pre, [skip])
            self.emit(1, f"if {' and '.join(pre + [self.cond(skip)])}: return SKIP  # left out: no finding")
        checks = self.checks()
        if checks:
            # Most records have no invalid field: their checks skip the invalid-field masks.
            sure, maybe = set(self.sure), set(self.maybe)
            mod.place = None
            self.emit(1, "if not bad:")
            self.checks_code(checks, masked=False)
            maybe_clean = self.maybe
            self.sure, self.maybe = set(sure), set(maybe)
            mod.place = None
            self.emit(1, "else:")
            self.checks_code(checks, masked=True)
            self.sure, self.maybe = sure, self.maybe | maybe_clean
        if plan is None:
            mod.place = None
            self.emit(1, "return out")
        else:
            row = [self.fv(f) for f in plan.fields] + [self.decide_var[d.index] for d in plan.decides]
            for k, agg in enumerate(plan.shares):
                assert agg.expr is not None
                mod.comment(1, agg.span, f"share {agg.text}")
                m = self.mask(agg.expr.mentions)
                pre = [f"not bad & {self.bits(m)}"] if m else []
                self.hoist(1, pre, [agg.expr])
                test = self.cond(agg.expr)
                self.emit(1, f"share_{k} = None if bad & {self.bits(m)} else {test}" if m else f"share_{k} = {test}")
                row.append(f"share_{k}")
            mod.place = None
            self.emit(1, f"return out, ({', '.join(row)}{',' if len(row) == 1 else ''})")
        # lets that a test reads before they may be set start as `...` (not yet computed)
        inits = [(self.memo[key], mod.lets[key]) for key in self.memo if key in self.unset]
        for k, (var, let) in enumerate(inits):
            mod.lines.insert(init_at + k, f"    {var} = ...  # {mod.at(let.span, f'let {let.name}')}: not yet computed")
            mod.where.insert(init_at + k, mod.place)
        mod.place = None
        self.emit(0, "")

    def checks(self) -> list[tuple[str, Any]]:
        """Decisions, rules and escalations in source order."""
        checks: list[tuple[int, str, Any]] = []
        checks += [(d.span.start, "decide", d) for d in self.r.decides]
        checks += [(r.span.start, "rule", r) for r in self.r.rules]
        checks += [(e.span.start, "escalate", e) for e in self.r.escalations]
        checks.sort(key=lambda t: t[0])
        return [(kind, obj) for _, kind, obj in checks]

    def checks_code(self, checks: list[tuple[str, Any]], masked: bool) -> None:
        """Criteria scopes, then the checks. With `masked`, each one is skipped when it
        mentions an invalid field (bits of `bad`)."""
        mod = self.mod
        used = {obj.criterion for _, obj in checks}
        applies_var: dict[str, str] = {}
        names = _Names()
        for c in self.r.criteria:
            if c.applies is None or c.name not in used:
                continue
            var = applies_var[c.name] = names.new("applies_", c.name, str(len(applies_var)))
            mod.comment(2, c.applies.span, f"criterion {c.name} applies when")
            m = self.mask(c.applies.mentions)
            pre = [f"not bad & {self.bits(m)}"] if masked and m else []
            self.hoist(2, pre, [c.applies])
            self.emit(2, f"{var} = {'(' + pre[0] + ') and ' if pre else ''}{self.cond(c.applies)}")
        for kind, obj in checks:
            pre = []
            m = self.mask(obj.mentions)
            if m and masked:
                pre.append(f"not bad & {self.bits(m)}")
            if obj.criterion in applies_var:
                pre.append(applies_var[obj.criterion])
            if kind == "decide":
                mod.comment(2, obj.span, f"decide {obj.label.name}")
                self.decide(obj, pre)
            elif kind == "rule":
                mod.comment(2, obj.span, f"rule {obj.name}")
                self.hoist(2, pre, [obj.when, obj.require])
                test = pre + ([self.cond(obj.when)] if obj.when is not None else []) + [f"not {self.cond(obj.require)}"]
                self.emit(2, f"if {' and '.join(test)}: out = _o(out, (RULE_VIOLATION, {obj.index}))")
            else:
                mod.comment(2, obj.span, f"escalate {obj.target} {obj.name}")
                self.hoist(2, pre, [obj.when])
                test = pre + [self.cond(obj.when)]
                self.emit(2, f"if {' and '.join(test)}: out = _o(out, (ESCALATION, {obj.index}))")

    def decide(self, d: ir.DecideIR, pre: list[str]) -> None:
        mod = self.mod
        f = d.label
        v = self.fv(f)
        if f.may_be_missing:
            pre.append(f"{v} is not None")
        label = f.name
        allowed = mod.const({a.number: a.allowed for a in d.arms}, "ALLOWED_", label, ("allowed", d.index),
                            "; ".join(f"arm {a.number}: {_show_set(a.values)}" for a in d.arms))
        ind = 2
        sure = self.sure
        if pre:
            self.emit(ind, f"if {' and '.join(pre)}:")
            ind = 3
            self.sure = set(sure)
        self.hoist(ind, [], [a.cond for a in d.arms])
        place = mod.place
        edges = [a for a in d.arms if a.kind == "edge"]
        plain = [a for a in d.arms if a.kind == "when"]
        other = [a for a in d.arms if a.kind == "otherwise"]
        track = self.decide_var.get(d.index)
        counts = None
        if self.count:
            counts = mod.const({}, "COUNTS_", label, ("counts", d.index), f"records per arm bitmask of decide {label}")
        if d.first:
            # One `if`/`elif` chain; a long one in blocks of _CHUNK arms, each block run
            # when none before decided (`elif` nests: thousands would exceed the compiler's limits).
            fallback = other[0].number if other else 0
            arms = edges + plain
            blocks = [arms[k:k + _CHUNK] for k in range(0, len(arms), _CHUNK)] or [[]]
            for b, block in enumerate(blocks):
                at = ind
                if b:
                    mod.place = place
                    self.emit(ind, "if not m:")
                    at = ind + 1
                kw = "if"
                for a in block:
                    mod.at(a.span, f"decide {label}, {a.kind} arm {a.name}")
                    self.emit(at, f"{kw} {self.cond(a.cond)}: m = {a.number}")
                    kw = "elif"
                last = fallback if b == len(blocks) - 1 else 0
                if other and b == len(blocks) - 1:
                    mod.at(other[0].span, f"decide {label}, otherwise")
                self.emit(at, f"m = {last}" if kw == "if" else f"else: m = {last}")
            mod.place = place
            if track is not None:
                self.emit(ind, f"{track} = (1 << m) if m else 0")
            if counts is not None:
                self.emit(ind, f"_k = (1 << m) if m else 0; {counts}[_k] = {counts}.get(_k, 0) + 1")
            self.emit(ind, f"if m == 0: out = _o(out, (UNCOVERED, {d.index}))")
            self.emit(ind, f"elif {v} not in {allowed}[m]: out = _o(out, (DECIDE_VIOLATION, {d.index}, (m,)))")
        else:
            # arms as bits of one int: no allocation per record
            single = mod.const({1 << a.number: a.allowed for a in d.arms}, "BY_BIT_", label, ("single", d.index),
                               f"{allowed} by arm bit (1 << arm number)")

            def bits(at: int, arms: list[ir.ArmIR]) -> None:
                """`m = ` the bits of the arms whose condition holds; a long `|` chain in
                statements of _CHUNK arms each."""
                for k in range(0, len(arms), _CHUNK):
                    code = " | ".join(f"({self.cond(a.cond)} and {self.bits(1 << a.number)})"
                                      for a in arms[k:k + _CHUNK])
                    self.emit(at, f"m {'|' if k else ''}= {code}")

            body = ind
            if edges:
                bits(ind, edges)
                if plain or other:
                    self.emit(ind, "if not m:")
                    body = ind + 1
            if plain:
                bits(body, plain)
            elif not edges:
                self.emit(body, "m = 0")
            if other:
                mod.at(other[0].span, f"decide {label}, otherwise")
                self.emit(body, f"if not m: m = {self.bits(1 << other[0].number)}")
                mod.place = place
            if track is not None:
                self.emit(ind, f"{track} = m")
            if counts is not None:
                self.emit(ind, f"{counts}[m] = {counts}.get(m, 0) + 1")
            self.emit(ind, f"if not m: out = _o(out, (UNCOVERED, {d.index}))")
            self.emit(ind, f"elif (al := {single}.get(m)) is None: out = _multi({d.index}, m, {v}, {allowed}, out)")
            self.emit(ind, f"elif {v} not in al: out = _o(out, (DECIDE_VIOLATION, {d.index}, (m.bit_length() - 1,)))")
        self.sure = sure

    # ---- an item's checks -----------------------------------------------------------------------

    def item_function(self) -> None:
        """`item_check(view)`: the `per item` rules and escalations over an `items.ItemView`;
        returns (RULE_VIOLATION, index) and (ESCALATION, index) tuples (indexes into
        `item_rules` / `item_escalations`), or None. Aggregates are computed into locals
        first; conditions compile exactly as record conditions do."""
        mod = self.mod
        rubric = self.r
        aggs: list[ir.Agg] = []
        for r in rubric.item_rules:
            _aggregates(r.when, aggs)
            _aggregates(r.require, aggs)
        for x in rubric.item_escalations:
            _aggregates(x.when, aggs)
        mod.place = None
        self.emit(0, "def item_check(view):")
        self.emit(1, "agg = view.agg")
        for a in aggs:
            const = mod.const(a, "AGG_", key=("agg", id(a)), shown=comment_text(a.text))
            var = self.aggs[id(a)] = const.lower()
            mod.at(a.span, f"aggregate {a.text}")
            self.emit(1, f"{var} = agg({const})")
        mod.place = None
        self.emit(1, "out = None")
        checks = sorted([(r.span.start, "rule", r) for r in rubric.item_rules]
                        + [(x.span.start, "escalate", x) for x in rubric.item_escalations], key=lambda t: t[0])
        for _, kind, obj in checks:
            if kind == "rule":
                mod.comment(1, obj.span, f"rule {obj.name} per item")
                self.hoist(1, [], [obj.when, obj.require])
                test = ([self.cond(obj.when)] if obj.when is not None else []) + [f"not {self.cond(obj.require)}"]
                self.emit(1, f"if {' and '.join(test)}: out = _o(out, (RULE_VIOLATION, {obj.index}))")
            else:
                mod.comment(1, obj.span, f"escalate {obj.target} {obj.name} per item")
                self.hoist(1, [], [obj.when])
                self.emit(1, f"if {self.cond(obj.when)}: out = _o(out, (ESCALATION, {obj.index}))")
        mod.place = None
        self.emit(1, "return out")
        self.emit(0, "")


def _aggregates(e: Any, out: list[ir.Agg]) -> None:
    out.extend(aggregates(e))


def _record_roots(rubric: ir.RubricIR, plan: RowPlan | None) -> list[Any]:
    roots: list[Any] = [f.required_when for f in rubric.fields]
    roots += [c.applies for c in rubric.criteria]
    roots += [a.cond for d in rubric.decides for a in d.arms]
    roots += [x for r in rubric.rules for x in (r.when, r.require)]
    roots += [e.when for e in rubric.escalations]
    roots.append(rubric.record_skip)
    if plan is not None:
        roots += [a.expr for a in plan.shares]
    return roots


def _item_roots(rubric: ir.RubricIR) -> list[Any]:
    return [x for r in rubric.item_rules for x in (r.when, r.require)] + [e.when for e in rubric.item_escalations]


# ---- building the module: linecache, the line map, exceptions -----------------------------------

_LINE_MAPS: dict[str, dict[int, str]] = {}  # file name -> generated line -> rubric place
_LIVE: Counter[str] = Counter()  # file name -> modules alive under it


def _load(mod: _Module, anchor: str, suffix: str = "") -> tuple[dict[str, Any], str, str, dict[int, str]]:
    """Compile and run the module; register its source with `linecache` while the
    function named `anchor` lives."""
    src, line_map = mod.source()
    base = f"<rubric {comment_text(mod.r.name)} ({mod.file}){suffix}>"
    filename, n = base, 1
    while True:
        entry = linecache.cache.get(filename)
        if entry is None or (filename in _LINE_MAPS and "".join(entry[2]) == src):
            break
        n += 1
        filename = f"{base[:-1]} #{n}>"
    code = compile(src, filename, "exec")
    ns = dict(mod.ns)
    exec(code, ns)  # noqa: S102 - generated from the typed IR; constants go through the namespace
    linecache.cache[filename] = (len(src), None, src.splitlines(keepends=True), filename)
    _LINE_MAPS[filename] = line_map
    _LIVE[filename] += 1
    weakref.finalize(ns[anchor], _unregister, filename)
    return ns, src, filename, line_map


def _unregister(filename: str) -> None:
    _LIVE[filename] -= 1
    if _LIVE[filename] <= 0:
        del _LIVE[filename]
        _LINE_MAPS.pop(filename, None)
        linecache.cache.pop(filename, None)


def locate(exc: BaseException) -> str | None:
    """Where in the rubric the innermost frame of generated code in `exc`'s traceback
    was: `FILE:LINE KIND NAME (line N of <rubric NAME (FILE)>)`; None when none was."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        line_map = _LINE_MAPS.get(filename)
        if line_map is not None:
            place = line_map.get(tb.tb_lineno, "the checker's own code")
            found = f"{place} (line {tb.tb_lineno} of {filename})"
        tb = tb.tb_next
    return found


def annotate(exc: BaseException) -> None:
    """Add to an exception raised in generated code the rubric line it was checking, as
    a note that its traceback shows."""
    where = locate(exc)
    if where is not None:
        note = f"while checking {where}"
        if note not in getattr(exc, "__notes__", ()):
            exc.add_note(note)


# ---- the public entry points ----------------------------------------------------------------


def item_plan(rubric: ir.RubricIR) -> RowPlan:
    """The row that item checks need: consensus labels and the fields aggregates read,
    the decides of consensus labels (for the cause of a disagreement), and every
    `share(...)` condition."""
    fields: dict[str, ir.FieldIR] = {}
    shares: list[ir.Agg] = []

    def walk(e) -> None:
        for a in aggregates(e):
            if a.field is not None:
                fields.setdefault(a.field.name, a.field)
            if a.kind == "share":
                shares.append(a)

    for c in rubric.consensus:
        fields.setdefault(c.label.name, c.label)
    for r in rubric.item_rules:
        walk(r.when)
        walk(r.require)
    for x in rubric.item_escalations:
        walk(x.when)
    labels = {c.label.name for c in rubric.consensus}
    decides = [d for d in rubric.decides if d.label.name in labels]
    return RowPlan(sorted(fields.values(), key=lambda f: f.index), decides, shares)


def compile_item_checks(rubric: ir.RubricIR) -> Callable[[Any], list | None]:
    """`item_check(view)` alone, in a module of its own (see `_Gen.item_function`)."""
    mod = _Module(rubric, _item_roots(rubric))
    _Gen(mod).item_function()
    ns, _, _, _ = _load(mod, "item_check", " items")
    return ns["item_check"]


def compile_fast_check(rubric: ir.RubricIR, attrs: dict[tuple[str, ...], str],
                       empties: dict[tuple[str, ...], Any],
                       counters: list[dict[int, int]] | None = None,
                       plan: RowPlan | None = None) -> tuple[Callable[[Any], Any], Any]:
    """`check(rec)` for a record decoded by `engine.decode`'s typed decoder: the same
    checks, each path read as attributes of Structs (`attrs`: the attribute of each
    path; `empties`: the Struct of each object path that may be missing, with nothing
    read, for an object that is null or absent). Every path of the rubric must be object
    keys, and the decoder must have checked each field's value but a set's (valid, or
    None where the field may be missing): the checker does not check them again.

    With `counters` (a `Compiled`'s, compiled with `all_decides=True`), also
    `check_count(rec)`, which counts into those same dicts as the general path's
    `check_count` does; else None in its place.

    With `plan` (a `Compiled`'s), `check_row(rec)` alone in place of `check`: the
    findings and the row of `plan`, as the general path's `check_row` gives them."""
    with collector_paused():  # code text and syntax trees by the thousand: collected once, at the end
        return _compile_fast_check(rubric, attrs, empties, counters, plan)


def _compile_fast_check(rubric: ir.RubricIR, attrs: dict[tuple[str, ...], str], empties: dict[tuple[str, ...], Any],
                        counters: list[dict[int, int]] | None,
                        plan: RowPlan | None = None) -> tuple[Callable[[Any], Any], Any]:
    mod = _Module(rubric, _record_roots(rubric, plan))
    gen = _Gen(mod)
    gen.fast = (attrs, empties)
    if plan is not None:
        gen.record_function("check_row", plan)
        ns, _, _, _ = _load(mod, "check_row", " typed rows")
        return ns["check_row"], None
    gen.record_function("check")
    if counters is not None:
        gen = _Gen(mod)
        gen.fast = (attrs, empties)
        gen.record_function("check_count", count=True)
    ns, _, _, _ = _load(mod, "check", " typed")
    if counters is None:
        return ns["check"], None
    for d in rubric.decides:
        ns[mod.consts[("counts", d.index)]] = counters[d.index]  # the general path's dicts: one count
    return ns["check"], ns["check_count"]


def compile_rubric(rubric: ir.RubricIR, plan: RowPlan | None = None, all_decides: bool = False) -> Compiled:
    """The checker, and `check_row` for `plan` (by default, what the rubric's item
    checks need; none when it has none), and `item_check` when it has `per item` checks.
    `all_decides` adds every decide's arms to the row, for arm counts, and `check_count`."""
    with collector_paused():  # as in `compile_fast_check`
        return _compile_rubric(rubric, plan, all_decides)


def _compile_rubric(rubric: ir.RubricIR, plan: RowPlan | None, all_decides: bool) -> Compiled:
    if plan is None and (rubric.has_items or all_decides):
        plan = item_plan(rubric) if rubric.has_items else RowPlan([], [], [])
    if all_decides:
        assert plan is not None
        plan = RowPlan(plan.fields, list(rubric.decides), plan.shares)
    mod = _Module(rubric, _record_roots(rubric, plan) + _item_roots(rubric))
    _Gen(mod).record_function("check")
    if plan is not None:
        _Gen(mod).record_function("check_row", plan)
    if all_decides:
        _Gen(mod).record_function("check_count", count=True)
    if rubric.item_rules or rubric.item_escalations:
        _Gen(mod).item_function()
    ns, src, filename, line_map = _load(mod, "check")
    compiled = Compiled(rubric, ns["check"], src, ns.get("check_row"), plan, ns.get("check_count"),
                        item_check=ns.get("item_check"), filename=filename, line_map=line_map)
    if all_decides:
        compiled.counters = [ns[mod.consts[("counts", d.index)]] for d in rubric.decides]
    return compiled
