"""`rubric fmt`: one canonical layout for every construct, comments kept.

    from rubricdsl.language.fmt import format_text
    pretty = format_text(text, "safety.rubric")   # raises RubricError on syntax errors

The formatter prints the AST that `syntax.parse` builds (never rewrites the text
with patterns), so `parse(format_text(x)) == parse(x)` and
`format_text(format_text(x)) == format_text(x)`. Only syntax errors stop it: a
rubric with unknown names or type errors is formatted all the same.

Canonical layout
----------------
- Indentation is 2 spaces; lines end with LF; no trailing whitespace; the file
  ends with exactly one newline (a byte-order mark and CRLF are dropped).
- One declaration, clause, arm, level, record entry or comment per line. Long
  lines are not wrapped, except `given` (below).
- The header comes first, then the rubric docstring, then one blank line.
- Blocks (`record`, `criterion`, `decide`, `rule`, `escalate`, `example`) are
  separated from their neighbours by exactly one blank line, at the top level
  and inside criteria. Between other items (fields, lets, arms, clauses, record
  entries, comments) one blank line is kept where the author had one or more,
  and none elsewhere. There is never a blank line right after `{` or right
  before `}`, nor between a declaration and its docstring or levels.
- A block's docstring opens it; the docstring of a field, `let`, arm or
  `record` block follows it. Several docstrings of one construct are merged into
  one, as the parser merges them (paragraphs joined by a blank line); an empty
  docstring that the merge kept (it leaves a blank paragraph at an end) is
  printed as a separate `\"\"\"\"\"\"`.
- Docstrings: `\"\"\"text\"\"\"` on one line when the text is one line and the
  line fits in 100 columns (and the text neither starts nor ends with `"`);
  otherwise a block: `\"\"\"`, the text indented at the construct's level, `\"\"\"`.
- `level` lines follow their label right after its docstring, in source order.
- `record {` with one `KEY = PATH` per line, the `=` signs aligned; `show = PATH, PATH`
  lists its paths on one line, separated by `, `.
- `import "PATH"` on a line of its own, the path re-quoted; an import is never
  inlined. `type NAME = TYPE`, then its docstring, then its `level` lines, like a label.
- Fields: `input NAME: TYPE [from PATH] [optional | required when EXPR]`;
  `from PATH` is kept exactly when the author wrote it.
- Types: `bool`, `int`, `int 1..5`, `number 0..1.5`, `text`, `enum {a, b}`,
  `enum ordered {a, b}`, `set {a, b}`, `scale -2..2`, or the name of a type. Enum values are quoted only
  where needed: reserved words and non-identifiers (`enum {"self-harm", ok}`).
- Criteria: `criterion NAME ["TITLE"] {`, docstring, `applies when EXPR`, then
  the items in source order.
- `decide LABEL [first] {` with one arm per line: `when EXPR -> a, b`,
  `edge NAME ["TITLE"] when EXPR -> a`, `otherwise -> a`.
- `rule NAME "MESSAGE" [severity X] {` then `when EXPR` (omitted when absent),
  `require EXPR`, `}` on separate lines; `escalate TARGET NAME "REASON" {`,
  `when EXPR`, `}`.
- `example "TITLE" {`, docstring, `given { a: 1, b: {x, y} }` on one line when it
  fits in 100 columns and holds no comment between its braces, else one entry
  per line with a trailing comma; then one `expect` line with every outcome
  (`expect a, b`); an empty `given` is dropped.
- A block with nothing inside (and no comment inside) is printed `NAME {}`.
- Expressions: single spaces around binary operators and keywords, none inside
  parentheses, `f(a, b)`, `{a, b}`, unary minus glued to its operand. Parentheses
  appear only where the precedence needs them (loosest first: `or` < `and` <
  `not` < comparisons and predicates < `+ -` < `* /` < unary `-`), so the author's
  redundant parentheses go (`not (a >= 3)` becomes `not a >= 3`).
- Numbers print as Python's repr of the parsed int or float (`1.50` -> `1.5`,
  `007` -> `7`), without exponent notation. Strings are re-escaped minimally
  (`\\\\`, `\\"`, `\\n`, `\\t`, `\\r`, `\\b`, `\\f`, `\\0`, `\\uXXXX` for other control
  characters). Regexes are printed exactly as written, pattern and flags. Quoted
  path segments stay quoted, bare ones bare.

Comments
--------
Every comment is kept (its trailing whitespace removed). The AST gives each
comment a span, and every output line knows the source region it prints:

- a comment with code before it on its line is a *trailing* comment of the
  output line that prints that code (its construct's last line when the construct
  is joined onto one line), separated by two spaces; so `# rubric: ignore[...]`
  stays on its construct's line. When several trailing comments land on one
  output line, the last one (or the last suppression comment) stays trailing
  and the others are put on their own lines above it;
- a comment on its own line is a *leading* comment of the next construct at its
  nesting level, indented like it; one inside a construct printed on one line
  goes above that line;
- comments after the last construct of a block stay before its `}`, indented
  like the block's content; comments at the end of the file stay at the end;
- blank lines between consecutive own-line comments (and between them and the
  construct they precede) are kept, at most one.

The AST has no spans for docstrings, braces, `when`/`require`/`applies` clauses,
`given` and `expect`: `_tokens` scans the source (skipping comments, strings and
the regex literals the AST locates) to find them, and docstrings are given to
their constructs by the parser's own rule.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from decimal import Decimal

from rubricdsl.language import ast
from rubricdsl.language.limits import nesting_recursion
from rubricdsl.core.diagnostics import RubricError
from rubricdsl.core.source import Span, normalize_text

__all__ = ["format_text", "format_rubric", "WIDTH", "INDENT"]

WIDTH = 100
INDENT = "  "
_NEAR = 16  # source regions of output lines looked at around a comment

RESERVED = frozenset({"and", "or", "not", "in", "is", "true", "false"})
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SUPPRESS = re.compile(r"#\s*rubric:\s*ignore\[")


def format_text(text: str, name: str = "<string>") -> str:
    """The canonical layout of rubric `text`. Raises RubricError on syntax errors."""
    from rubricdsl.language import syntax

    text = normalize_text(text)
    tree, sink = syntax.parse(text, name)
    errors = [d for d in sink.sorted() if d.severity == "error"]
    if tree is None or errors:
        diags = errors or sink.sorted()
        raise RubricError(diags, {name: sink.source})
    return format_rubric(tree, text)


def format_rubric(rubric: ast.Rubric, text: str) -> str:
    """Print a parsed rubric; `text` is the (normalized) source it was parsed from,
    used to place comments and keep the author's blank lines."""
    with nesting_recursion():  # expressions are printed recursively along their nesting (bounded by the parser)
        return _Formatter(rubric, text).run()


# ---- literals ---------------------------------------------------------------------------------

_ESC = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f", "\0": "\\0"}


def quote(s: str) -> str:
    """A string literal for `s`, escaped minimally."""
    out = []
    for ch in s:
        e = _ESC.get(ch)
        if e is not None:
            out.append(e)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def number(v: object) -> str:
    """Python's repr of an int or float, in the language's notation (no exponent)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return repr(v)
    f = float(v)  # type: ignore[arg-type]
    if f != f:  # pragma: no cover - the grammar has no NaN
        raise ValueError("NaN has no literal")
    if f in (float("inf"), float("-inf")):
        # a decimal too large for a double reads back as infinity
        return ("-" if f < 0 else "") + "1" + "0" * 309 + ".0"
    r = repr(f)
    if "e" in r or "E" in r:
        r = format(Decimal(r), "f")
    if "." not in r:
        r += ".0"
    return r


def is_name(s: str) -> bool:
    return bool(_IDENT.match(s)) and s not in RESERVED


def value(v: ast.Value) -> str:
    if v.kind == "name":
        return str(v.value)
    if v.kind == "string":
        return quote(str(v.value))
    if v.kind == "bool":
        return "true" if v.value else "false"
    return number(v.value)


def enum_value(v: ast.Value) -> str:
    """An enum value of a type: bare unless it must be quoted."""
    s = str(v.value)
    return s if v.kind == "name" or is_name(s) else quote(s)


def set_value(s: ast.SetValue) -> str:
    return "{" + ", ".join(value(v) for v in s.items) + "}"


def path(p: ast.Path) -> str:
    out = []
    for seg in p.segments:
        key = quote(seg.key) if seg.quoted else seg.key
        text = key + "".join(f"[{i}]" for i in seg.indexes)
        sel = seg.selector
        if sel is not None:
            text += f"[{quote(sel.key) if sel.quoted else sel.key} = {quote(sel.value)}]"
        out.append(text)
    return ("@" if p.at else "") + ".".join(out)


def type_text(t: ast.TypeNode) -> str:
    k = t.kind
    if k in ("int", "number", "scale"):
        if t.lo is None or t.hi is None:
            return k
        return f"{k} {number(t.lo)}..{number(t.hi)}"
    if k == "enum":
        return ("enum ordered " if t.ordered else "enum ") + "{" + ", ".join(enum_value(v) for v in t.values) + "}"
    if k == "set":
        return "set {" + ", ".join(enum_value(v) for v in t.values) + "}"
    if k == "named":
        return str(t.name)
    return k


# ---- expressions ---------------------------------------------------------------------------------

# binding strength: a child printed where `need` is required gets parentheses if weaker
_OR, _AND, _NOT, _PRED, _SUM, _PROD, _NEG, _ATOM = range(1, 9)
_PREDICATES = {"==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains"}
_SET_OPS = {"any", "all", "none"}


def expr(e: ast.Expr, need: int = _OR) -> str:
    text, strength = _expr(e)
    return f"({text})" if strength < need else text


def _expr(e: ast.Expr) -> tuple[str, int]:
    if isinstance(e, ast.Name):
        return e.name, _ATOM
    if isinstance(e, ast.Literal):
        if e.kind == "string":
            return quote(str(e.value)), _ATOM
        if e.kind == "bool":
            return ("true" if e.value else "false"), _ATOM
        s = number(e.value)
        return s, (_NEG if s.startswith("-") else _ATOM)
    if isinstance(e, ast.SetValue):
        return set_value(e), _ATOM
    if isinstance(e, ast.Call):
        return f"{e.func}(" + ", ".join(expr(a) for a in e.args) + ")", _ATOM
    if isinstance(e, ast.Unary):
        if e.op == "not":
            return "not " + expr(e.operand, _NOT), _NOT
        return "-" + expr(e.operand, _NEG), _NEG
    if isinstance(e, ast.Binary):
        op = e.op
        chain = _CHAINS.get(op)
        if chain is not None:
            return _chain(e, *chain)
        if op in _SET_OPS:
            return f"{expr(e.left, _SUM)} {op} of {expr(e.right, _SUM)}", _PRED
        if op in _PREDICATES:
            return f"{expr(e.left, _SUM)} {op} {expr(e.right, _SUM)}", _PRED
        raise ValueError(f"unknown operator {op!r}")
    if isinstance(e, ast.Test):
        return f"{expr(e.operand, _SUM)} is {e.op}", _PRED
    if isinstance(e, ast.Matches):
        return f"{expr(e.operand, _SUM)} matches /{e.pattern}/{e.flags}", _PRED
    raise TypeError(f"not an expression: {e!r}")


# a chain of operators of one precedence: (the operators, its strength, what a right operand needs)
_CHAINS = {
    "or": (("or",), _OR, _AND), "and": (("and",), _AND, _NOT),
    "+": (("+", "-"), _SUM, _PROD), "-": (("+", "-"), _SUM, _PROD),
    "*": (("*", "/"), _PROD, _NEG), "/": (("*", "/"), _PROD, _NEG),
}


def _chain(e: ast.Binary, ops: tuple[str, ...], strength: int, right: int) -> tuple[str, int]:
    """A chain (`a and b and c`, `x + y - z`) printed with a loop: the parser builds it as
    a tree as deep as the chain is long."""
    spine: list[ast.Binary] = []
    x: ast.Expr = e
    while isinstance(x, ast.Binary) and x.op in ops:
        spine.append(x)
        x = x.left
    parts = [expr(x, strength)]
    for node in reversed(spine):
        parts.append(f" {node.op} {expr(node.right, right)}")
    return "".join(parts), strength


def _walk_exprs(e: ast.Expr | None):
    """Every node of an expression, each before its children, with a stack."""
    stack = [e] if e is not None else []
    while stack:
        x = stack.pop()
        yield x
        if isinstance(x, ast.Call):
            stack.extend(reversed(x.args))
        elif isinstance(x, (ast.Unary, ast.Test, ast.Matches)):
            stack.append(x.operand)
        elif isinstance(x, ast.Binary):
            stack.append(x.right)
            stack.append(x.left)


def _item_exprs(node) -> list:
    if isinstance(node, ast.Field):
        return [node.required_when]
    if isinstance(node, ast.Let):
        return [node.expr]
    if isinstance(node, ast.Decide):
        return [a.cond for a in node.arms]
    if isinstance(node, ast.Rule):
        return [node.when, node.require]
    if isinstance(node, ast.Escalate):
        return [node.when]
    if isinstance(node, ast.Criterion):
        out = [node.applies]
        for it in node.items:
            out += _item_exprs(it)
        return out
    return []


# ---- source tokens (positions the AST does not keep: braces, keywords, docstrings) ----------------

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUM = re.compile(r"\d+(?:\.\d+)?")
_STR = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_PUNCT2 = ("->", "==", "!=", "<=", ">=", "..")


@dataclass(slots=True)
class _Tok:
    start: int
    end: int
    kind: str  # word | num | str | doc | regex | punct
    text: str


def _tokens(text: str, regexes: dict[int, int]) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\f\r\n":
            i += 1
            continue
        if i in regexes:
            j = regexes[i]
            toks.append(_Tok(i, j, "regex", text[i:j]))
            i = j
            continue
        if ch == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith('"""', i):
            j = text.find('"""', i + 3)
            j = n if j < 0 else j + 3
            toks.append(_Tok(i, j, "doc", text[i:j]))
            i = j
            continue
        if ch == '"':
            m = _STR.match(text, i)
            j = m.end() if m else i + 1
            toks.append(_Tok(i, j, "str", text[i:j]))
            i = j
            continue
        m = _WORD.match(text, i)
        if m:
            toks.append(_Tok(i, m.end(), "word", m.group()))
            i = m.end()
            continue
        m = _NUM.match(text, i)
        if m:
            toks.append(_Tok(i, m.end(), "num", m.group()))
            i = m.end()
            continue
        two = text[i:i + 2]
        j = i + 2 if two in _PUNCT2 else i + 1
        toks.append(_Tok(i, j, "punct", text[i:j]))
        i = j
    return toks


# ---- the layout tree -------------------------------------------------------------------------------


@dataclass(eq=False)
class _Line:
    """One output construct line (a docstring block is one _Line of several parts)."""

    parts: list[str]
    depth: int
    srcs: list[tuple[int, int]]
    close: bool = False  # a closing brace: comments before it are indented one level deeper
    leading: list[ast.Comment] = field(default_factory=list)
    trailing: list[ast.Comment] = field(default_factory=list)


@dataclass(eq=False)
class _Item:
    elems: list  # _Line | _Body, in output order
    block: bool = False


@dataclass(eq=False)
class _Body:
    items: list[_Item]


class _Formatter:
    def __init__(self, rubric: ast.Rubric, text: str) -> None:
        self.rubric = rubric
        self.text = text
        regexes: dict[int, int] = {}  # the regex literals, which the token scan must skip whole
        for root in (e for it in rubric.items for e in _item_exprs(it)):
            for e in _walk_exprs(root):
                if isinstance(e, ast.Matches) and e.regex_span.end > e.regex_span.start:
                    regexes[e.regex_span.start] = e.regex_span.end
        self.toks = _tokens(text, regexes)
        self.tok_starts = [t.start for t in self.toks]
        self.tok_ends = [t.end for t in self.toks]
        self.match: dict[int, int] = {}
        stack: list[int] = []
        for i, t in enumerate(self.toks):
            if t.kind == "punct" and t.text == "{":
                stack.append(i)
            elif t.kind == "punct" and t.text == "}" and stack:
                self.match[stack.pop()] = i
        self.doc_toks = [t for t in self.toks if t.kind == "doc"]
        self.doc_starts = [t.start for t in self.doc_toks]
        self.doc_spans: dict[int, list[tuple[int, int]]] = {}
        self.comments = sorted(rubric.comments, key=lambda c: c.span.start)
        self.comment_starts = [c.span.start for c in self.comments]
        # blank source lines, as a prefix count for "any blank line between a and b"
        lines = text.split("\n")
        self.blank_prefix = [0]
        for ln in lines:
            self.blank_prefix.append(self.blank_prefix[-1] + (0 if ln.strip(" \t\f\r") else 1))
        self.line_starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                self.line_starts.append(i + 1)

    # ---- token helpers

    def _tok_after(self, pos: int) -> int:
        """Index of the first token starting at or after pos."""
        return bisect.bisect_left(self.tok_starts, pos)

    def _tok_before(self, pos: int) -> int:
        """Index of the last token ending at or before pos (-1 if none)."""
        return bisect.bisect_right(self.tok_ends, pos) - 1

    def _brace_after(self, pos: int) -> tuple[int, int]:
        """Offsets of the `{` at or after pos and of its matching `}` (the `}`'s start)."""
        i = self._tok_after(pos)
        while i < len(self.toks) and not (self.toks[i].kind == "punct" and self.toks[i].text == "{"):
            i += 1
        if i >= len(self.toks):
            return pos, pos
        j = self.match.get(i)
        return self.toks[i].start, (self.toks[j].start if j is not None else self.toks[i].end)

    def _clause(self, e: ast.Expr, keywords: int = 1) -> tuple[int, int]:
        """Source region of `KEYWORD... EXPR`, parentheses around EXPR included."""
        i = self._tok_before(e.span.start)
        while i > 0 and self.toks[i].text == "(":
            i -= 1
        i -= keywords - 1
        start = self.toks[i].start if i >= 0 else e.span.start
        return start, self._paren_end(e.span.end)

    def _paren_end(self, end: int) -> int:
        j = self._tok_after(end)
        while j < len(self.toks) and self.toks[j].text == ")":
            end = self.toks[j].end
            j += 1
        return end

    def _has_comment(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.comment_starts, start)
        return i < len(self.comment_starts) and self.comment_starts[i] < end

    def _line_of(self, pos: int) -> int:
        return bisect.bisect_right(self.line_starts, pos)

    def _blank_between(self, a: int, b: int) -> bool:
        """Whether a blank source line lies strictly between lines a and b (1-based)."""
        if b - a < 2:
            return False
        return self.blank_prefix[b - 1] - self.blank_prefix[a] > 0

    # ---- docstrings: which construct each docstring token belongs to (the parser's rule)

    def _assign_docs(self, lo: int, hi: int, siblings: list, owner, owner_kinds: tuple = ()) -> None:
        """Docstring tokens in (lo, hi) outside the siblings' spans go to the sibling
        before them, or to the owner when none is before them or it is one of owner_kinds."""
        spans = sorted(((s.span.start, s.span.end, s) for s in siblings), key=lambda t: t[0])
        starts = [s for s, _, _ in spans]
        i = bisect.bisect_right(self.doc_starts, lo)
        while i < len(self.doc_toks) and self.doc_toks[i].start < hi:
            d = self.doc_toks[i]
            i += 1
            k = bisect.bisect_right(starts, d.start) - 1
            if k >= 0 and spans[k][1] > d.start:
                continue  # inside a sibling: its own body handles it
            target = owner
            if k >= 0 and not isinstance(spans[k][2], owner_kinds):
                target = spans[k][2]
            self.doc_spans.setdefault(id(target), []).append((d.start, d.end))

    def _doc_line(self, node, text: str | None, depth: int) -> list[_Line]:
        if text is None:
            return []
        srcs = self.doc_spans.get(id(node), [])
        pad = INDENT * depth
        # Merged docstrings are joined by "\n\n"; an empty one leaves "\n\n" at an end of
        # the text (at the start too in rules, escalations and examples, which merge
        # even after an empty docstring): only separate empty docstrings give it back.
        core = text.strip("\n")
        lead = ['""""""'] * ((len(text) - len(text.lstrip("\n"))) // 2)
        trail = ['""""""'] * ((len(text) - len(text.rstrip("\n"))) // 2)
        if not core:
            return [_Line(['""""""'] * (len(text) // 2 + 1), depth, srcs)]
        one = f'"""{core}"""'
        if "\n" not in core and len(pad) + len(one) <= WIDTH and not core.startswith('"') and not core.endswith('"'):
            return [_Line(lead + [one] + trail, depth, srcs)]
        parts = lead + ['"""'] + core.split("\n") + ['"""'] + trail
        return [_Line(parts, depth, srcs)]

    # ---- building

    def run(self) -> str:
        top = self._top()
        self._attach_comments(top)
        out: list[str] = []
        last = self._render_body(top, out, 0)
        # comments after the last construct stay at the end of the file
        self._comments(self._eof_comments, "", out, last if out else None)
        return "\n".join(out) + "\n" if out else ""

    def _top(self) -> _Body:
        r = self.rubric
        siblings = ([r.header] if r.header is not None else []) + list(r.items)
        self._assign_docs(-1, len(self.text) + 1, siblings, r, (ast.Header, ast.Import))
        items: list[_Item] = []
        head: list = []
        if r.header is not None:
            h = r.header
            head.append(_Line([f"rubric {quote(h.name)} version {quote(h.version)}"], 0, [(h.span.start, h.span.end)]))
        head += self._doc_line(r, r.doc, 0)
        if head:
            items.append(_Item(head, block=True))
        for it in r.items:
            items.append(self._item(it, 0))
        return _Body(items)

    def _item(self, node, depth: int) -> _Item:
        if isinstance(node, ast.Field):
            return self._field(node, depth)
        if isinstance(node, ast.Import):
            return _Item([_Line([f"import {quote(node.path)}"], depth, [(node.span.start, node.span.end)])])
        if isinstance(node, ast.TypeDecl):
            elems: list = [_Line([f"type {node.name} = {type_text(node.type)}"], depth,
                                 [(node.span.start, node.span.end)])]
            elems += self._doc_line(node, node.doc, depth)
            for lv in node.levels:
                elems.append(_Line([f"level {value(lv.value)} {quote(lv.text)}"], depth,
                                   [(lv.span.start, lv.span.end)]))
            return _Item(elems)
        if isinstance(node, ast.Let):
            line = _Line([f"let {node.name} = {expr(node.expr)}"], depth,
                         [(node.span.start, self._paren_end(node.span.end))])
            return _Item([line] + self._doc_line(node, node.doc, depth))
        if isinstance(node, ast.RecordBlock):
            return self._record(node, depth)
        if isinstance(node, ast.Criterion):
            return self._criterion(node, depth)
        if isinstance(node, ast.Decide):
            return self._decide(node, depth)
        if isinstance(node, ast.Rule):
            return self._rule(node, depth)
        if isinstance(node, ast.Escalate):
            return self._escalate(node, depth)
        if isinstance(node, ast.Example):
            return self._example(node, depth)
        if isinstance(node, ast.Consensus):
            return self._consensus(node, depth)
        raise TypeError(f"cannot format {type(node).__name__}")  # pragma: no cover

    def _block(self, node, header: str, depth: int, body: _Body, lb: int, rb: int) -> _Item:
        """`HEADER {`, the body, `}` (lb and rb: the braces' offsets); `HEADER {}` when
        the body is empty and holds no comment."""
        if not body.items and not self._has_comment(lb, rb):
            return _Item([_Line([header + " {}"], depth, [(node.span.start, rb + 1)])], block=True)
        open_ = _Line([header + " {"], depth, [(node.span.start, lb + 1)])
        close = _Line(["}"], depth, [(rb, rb + 1)], close=True)
        return _Item([open_, body, close], block=True)

    def _field(self, f: ast.Field, depth: int) -> _Item:
        s = f"{f.kind} {f.name}: {type_text(f.type)}"
        if f.path is not None:
            s += f" from {path(f.path)}"
        if f.optional:
            s += " optional"
        elif f.required_when is not None:
            s += f" required when {expr(f.required_when)}"
        elems: list = [_Line([s], depth, [(f.span.start, self._paren_end(f.span.end))])]
        elems += self._doc_line(f, f.doc, depth)
        for lv in f.levels:
            elems.append(_Line([f"level {value(lv.value)} {quote(lv.text)}"], depth, [(lv.span.start, lv.span.end)]))
        return _Item(elems)

    def _record(self, r: ast.RecordBlock, depth: int) -> _Item:
        width = max((len(e.key) for e in r.entries if isinstance(e, ast.RecordEntry)), default=0)
        items = [_Item([_Line([f"{e.key.ljust(width)} = {', '.join(path(p) for p in e.paths)}" if isinstance(e, ast.RecordEntry)
                               else f"{e.key} when {expr(e.expr)}"], depth + 1,
                               [(e.span.start, e.span.end if isinstance(e, ast.RecordEntry)
                                 else self._paren_end(e.span.end))])])
                 for e in r.entries]
        lb, rb = self._brace_after(r.span.start)
        item = self._block(r, "record", depth, _Body(items), lb, rb)
        item.elems += self._doc_line(r, r.doc, depth)
        return item

    def _criterion(self, c: ast.Criterion, depth: int) -> _Item:
        lb, rb = self._brace_after(c.name_span.end)
        siblings: list = list(c.items)
        applies = None
        if c.applies is not None:
            a_start, a_end = self._clause(c.applies, 2)
            applies = ast.Applies(c.applies, Span(a_start, a_end, 0, 0, 0, 0))
            siblings.append(applies)
        self._assign_docs(lb, rb, siblings, c, (ast.Applies,))
        items: list[_Item] = []
        doc = self._doc_line(c, c.doc, depth + 1)
        if doc:
            items.append(_Item(doc))
        if applies is not None:
            items.append(_Item([_Line([f"applies when {expr(c.applies)}"], depth + 1,
                                      [(applies.span.start, applies.span.end)])]))
        for it in c.items:
            items.append(self._item(it, depth + 1))
        header = f"criterion {c.name}" + (f" {quote(c.title)}" if c.title is not None else "")
        return self._block(c, header, depth, _Body(items), lb, rb)

    def _decide(self, d: ast.Decide, depth: int) -> _Item:
        lb, rb = self._brace_after(d.label_span.end)
        self._assign_docs(lb, rb, list(d.arms), d)
        items: list[_Item] = []
        doc = self._doc_line(d, d.doc, depth + 1)
        if doc:
            items.append(_Item(doc))
        for a in d.arms:
            vals = ", ".join(value(v) for v in a.values)
            if a.kind == "otherwise":
                s = f"otherwise -> {vals}"
            elif a.kind == "edge":
                title = f" {quote(a.title)}" if a.title is not None else ""
                s = f"edge {a.name}{title} when {expr(a.cond)} -> {vals}"  # type: ignore[arg-type]
            else:
                s = f"when {expr(a.cond)} -> {vals}"  # type: ignore[arg-type]
            line = _Line([s], depth + 1, [(a.span.start, a.span.end)])
            items.append(_Item([line] + self._doc_line(a, a.doc, depth + 1)))
        header = f"decide {d.label}" + (" first" if d.first else "")
        return self._block(d, header, depth, _Body(items), lb, rb)

    def _owned_docs(self, node, lb: int, rb: int) -> None:
        """Every docstring inside a rule, escalation or example body is the construct's."""
        i = bisect.bisect_right(self.doc_starts, lb)
        while i < len(self.doc_toks) and self.doc_toks[i].start < rb:
            d = self.doc_toks[i]
            self.doc_spans.setdefault(id(node), []).append((d.start, d.end))
            i += 1

    def _rule(self, r: ast.Rule, depth: int) -> _Item:
        lb, rb = self._brace_after(r.name_span.end)
        self._owned_docs(r, lb, rb)
        items: list[_Item] = []
        doc = self._doc_line(r, r.doc, depth + 1)
        if doc:
            items.append(_Item(doc))
        if r.when is not None:
            items.append(_Item([_Line([f"when {expr(r.when)}"], depth + 1, [self._clause(r.when)])]))
        if r.require is not None:
            items.append(_Item([_Line([f"require {expr(r.require)}"], depth + 1, [self._clause(r.require)])]))
        header = (f"rule {r.name} {quote(r.message)}" + (" per item" if r.per_item else "")
                  + (f" severity {r.severity}" if r.severity is not None else ""))
        return self._block(r, header, depth, _Body(items), lb, rb)

    def _escalate(self, e: ast.Escalate, depth: int) -> _Item:
        lb, rb = self._brace_after(e.name_span.end)
        self._owned_docs(e, lb, rb)
        items: list[_Item] = []
        doc = self._doc_line(e, e.doc, depth + 1)
        if doc:
            items.append(_Item(doc))
        if e.when is not None:
            items.append(_Item([_Line([f"when {expr(e.when)}"], depth + 1, [self._clause(e.when)])]))
        header = f"escalate {e.target} {e.name} {quote(e.reason)}" + (" per item" if e.per_item else "")
        return self._block(e, header, depth, _Body(items), lb, rb)

    def _consensus(self, c: ast.Consensus, depth: int) -> _Item:
        lb, rb = self._brace_after(c.label_span.end)
        self._owned_docs(c, lb, rb)
        items: list[_Item] = []
        doc = self._doc_line(c, c.doc, depth + 1)
        if doc:
            items.append(_Item(doc))
        if c.min_annotators is not None:
            items.append(_Item([_Line([f"min annotators {number(c.min_annotators)}"], depth + 1,
                                      [(c.annotators_span.start, c.annotators_span.end)])]))
        if c.min_agreement is not None:
            items.append(_Item([_Line([f"min agreement {number(c.min_agreement)}"], depth + 1,
                                      [(c.agreement_span.start, c.agreement_span.end)])]))
        return self._block(c, f"consensus {c.label}", depth, _Body(items), lb, rb)

    def _example(self, x: ast.Example, depth: int) -> _Item:
        lb, rb = self._brace_after(x.span.start)
        self._owned_docs(x, lb, rb)
        items: list[_Item] = []
        doc = self._doc_line(x, x.doc, depth + 1)
        if doc:
            items.append(_Item(doc))
        if x.given:
            items.append(self._given(x, depth + 1, lb, rb))
        if x.expect:
            srcs: list[tuple[int, int]] = []
            for o in x.expect:
                k = self._tok_before(o.span.start)
                if k >= 0 and self.toks[k].text == "expect":
                    srcs.append((self.toks[k].start, o.span.end))
                elif srcs:
                    srcs[-1] = (srcs[-1][0], o.span.end)
                else:
                    srcs.append((o.span.start, o.span.end))
            outs = ", ".join("pass" if o.kind == "pass" else f"{o.kind} {o.name}" for o in x.expect)
            items.append(_Item([_Line([f"expect {outs}"], depth + 1, srcs)]))
        return self._block(x, f"example {quote(x.title)}", depth, _Body(items), lb, rb)

    def _given(self, x: ast.Example, depth: int, lb: int, rb: int) -> _Item:
        first = x.given[0].span.start
        k = self._tok_before(first)  # the given's `{`
        glb = self.toks[k].start if k >= 0 else first
        gstart = self.toks[k - 1].start if k >= 1 else glb
        grb = self.toks[self.match[k]].start if k in self.match else x.given[-1].span.end
        entries = [f"{g.field}: {set_value(g.value) if isinstance(g.value, ast.SetValue) else value(g.value)}"
                   for g in x.given]
        one = "given { " + ", ".join(entries) + " }"
        if len(INDENT * depth) + len(one) <= WIDTH and not self._has_comment(glb, grb):
            return _Item([_Line([one], depth, [(gstart, grb + 1)])])
        items = []
        for g, s in zip(x.given, entries):
            end = g.span.end
            j = self._tok_after(end)
            if j < len(self.toks) and self.toks[j].text == "," and self.toks[j].start < grb:
                end = self.toks[j].end
            items.append(_Item([_Line([s + ","], depth + 1, [(g.span.start, end)])]))
        open_ = _Line(["given {"], depth, [(gstart, glb + 1)])
        close = _Line(["}"], depth, [(grb, grb + 1)], close=True)
        return _Item([open_, _Body(items), close])

    # ---- comments

    def _lines(self, body: _Body) -> list[_Line]:
        out: list[_Line] = []
        for item in body.items:
            for el in item.elems:
                if isinstance(el, _Body):
                    out += self._lines(el)
                else:
                    out.append(el)
        return out

    @staticmethod
    def _containing(ivs: list, iv_starts: list[int], lo: int, hi: int) -> int | None:
        """The line whose source region holds [lo, hi) most narrowly (regions barely nest:
        looking at the few that start last before lo is enough)."""
        end = bisect.bisect_right(iv_starts, lo)
        best = None
        for s, e, k in ivs[max(0, end - _NEAR):end]:
            if s <= lo and hi <= e and (lo < hi or s < lo < e) and (best is None or e - s < best[0]):
                best = (e - s, k)
        return None if best is None else best[1]

    def _attach_comments(self, top: _Body) -> None:
        lines = self._lines(top)
        ivs = sorted(((s, e, k) for k, ln in enumerate(lines) for s, e in ln.srcs), key=lambda t: (t[0], t[1]))
        iv_starts = [s for s, _, _ in ivs]
        self._eof_comments: list[ast.Comment] = []
        text = self.text
        for c in self.comments:
            cs = c.span.start
            ls = text.rfind("\n", 0, cs) + 1
            before = text[ls:cs]
            if before.strip():
                p = ls + len(before.rstrip()) - 1  # the last code character before the comment
                k = self._containing(ivs, iv_starts, p, p + 1)
                if k is None:  # between constructs (after a comma, say): the closest one before
                    near = [(e, n) for s, e, n in ivs[max(0, bisect.bisect_right(iv_starts, p) - _NEAR):
                                                      bisect.bisect_right(iv_starts, p)] if e <= p + 1]
                    k = max(near)[1] if near else None
                if k is not None:
                    lines[k].trailing.append(c)
                    continue
            # a comment on its own line: above the one-line construct holding it, else the next construct
            k = self._containing(ivs, iv_starts, cs, cs)
            best = None if k is None else (0, k)
            if best is None:
                i = bisect.bisect_right(iv_starts, cs)
                if i < len(ivs):
                    best = (0, ivs[i][2])
            if best is None:
                self._eof_comments.append(c)
            else:
                lines[best[1]].leading.append(c)
        for ln in lines:
            if len(ln.trailing) > 1:
                keep = ln.trailing[-1]
                sup = [c for c in ln.trailing if _SUPPRESS.search(c.text)]
                if sup:
                    keep = sup[-1]
                ln.leading += [c for c in ln.trailing if c is not keep]
                ln.trailing = [keep]
            ln.leading.sort(key=lambda c: c.span.start)

    # ---- rendering

    def _extent(self, elems: list) -> tuple[int, int]:
        lo, hi = 1 << 30, 0
        for el in elems:
            if isinstance(el, _Body):
                for it in el.items:
                    a, b = self._extent(it.elems)
                    lo, hi = min(lo, a), max(hi, b)
                continue
            for s, e in el.srcs:
                lo = min(lo, self._line_of(s))
                hi = max(hi, self._line_of(max(s, e - 1)))
            for c in el.leading + el.trailing:
                lo = min(lo, c.span.line)
                hi = max(hi, c.span.line)
        return lo, hi

    def _render_body(self, body: _Body, out: list[str], last: int) -> int:
        """Render the items of a body after source line `last`; returns the last
        source line rendered."""
        prev: _Item | None = None
        for item in body.items:
            lo, hi = self._extent(item.elems)
            if prev is not None and (item.block or prev.block or self._blank_between(last, lo)):
                out.append("")
            last = max(self._render_item(item, out, last), hi)
            prev = item
        return last

    def _comments(self, comments: list[ast.Comment], pad: str, out: list[str], last: int | None) -> int | None:
        """Comment lines, keeping one blank line where the author had some between
        them (and before the first when `last` is given)."""
        for c in comments:
            if last is not None and self._blank_between(last, c.span.line):
                out.append("")
            out.append(pad + c.text.rstrip())
            last = c.span.line
        return last

    def _render_item(self, item: _Item, out: list[str], last: int) -> int:
        body_empty = True
        for n, el in enumerate(item.elems):
            if isinstance(el, _Body):
                body_empty = not el.items
                last = self._render_body(el, out, last)
                continue
            pad = INDENT * el.depth
            lo = min((self._line_of(s) for s, _ in el.srcs), default=last)
            if el.close:
                # comments at the end of a block, before its `}`
                self._comments(el.leading, pad + INDENT, out, None if body_empty else last)
            elif n == 0:
                # an item's leading comments: the blank line before them is the body's business
                cl = self._comments(el.leading, pad, out, None)
                if cl is not None and self._blank_between(cl, lo):
                    out.append("")
            else:
                self._comments(el.leading, pad, out, None)
            for c in el.leading:
                last = max(last, c.span.line)
            parts = [pad + p if p else "" for p in el.parts]
            if el.trailing:
                parts[-1] += "  " + el.trailing[0].text.rstrip()
            out.extend(parts)
            for s, e in el.srcs:
                last = max(last, self._line_of(max(s, e - 1)))
            for c in el.trailing:
                last = max(last, c.span.line)
        return last
