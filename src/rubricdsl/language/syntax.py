"""Parse rubric text into the AST. The only module that imports Lark."""
from __future__ import annotations

import re
import sys
import threading
from functools import lru_cache
from typing import Any, Callable

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from rubricdsl.language import ast
from rubricdsl.language.limits import MAX_NESTING, collector_paused
from rubricdsl.core.diagnostics import Sink
from rubricdsl.core.resources import grammar_path
from rubricdsl.core.source import Source, Span, normalize_text

RESERVED = frozenset({"and", "or", "not", "in", "is", "true", "false"})

# the tree nodes that open a level of nesting (see `limits`)
_NESTING = {"paren": "`(`", "not_": "`not`", "neg": "unary `-`", "call": "a call"}

# numbers are IEEE doubles: a literal beyond the largest finite double is an error
_MAX_INT = int(sys.float_info.max)
_MAX_DIGITS = len(str(_MAX_INT))

_TOP_KEYWORDS = ("rubric", "import", "type", "record", "input", "label", "let", "level", "criterion", "decide",
                 "rule", "escalate", "consensus", "example")
_TOP_LINE = re.compile(r"^(?:%s)\b" % "|".join(_TOP_KEYWORDS))


class _Parse(threading.local):
    """The parse in progress, in this thread (the parser is made once and shared, with
    its callbacks): the builder the callbacks call, and the comments the lexer met."""

    def __init__(self) -> None:
        self.builder: _Builder | None = None
        self.comments: list[Token] = []


_PARSE = _Parse()


def _on_comment(tok: Token) -> None:
    _PARSE.comments.append(tok)


@lru_cache(maxsize=1)
def _parser() -> Lark:
    """The parser, which builds the AST as it parses (no parse tree): Lark calls a
    method of `_Builder` for each rule it reduces (see `_callbacks`)."""
    from rubricdsl.language.cache import grammar_cache  # noqa: PLC0415 - Lark's pickle: never in the shared temporary directory

    grammar = grammar_path().read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        keep_all_tokens=True,  # keywords and punctuation place the span of their rule
        maybe_placeholders=True,
        transformer=_callbacks(named_terminals(grammar)),
        lexer_callbacks={"COMMENT": _on_comment},
        cache=grammar_cache(),  # grammar analysis cached in a private directory: start-up counts
    )


@lru_cache(maxsize=1)
def _tree_parser() -> Lark:
    """A parser that builds Lark's parse tree with positions: only to find where an
    expression nests too deep (`_too_deep`)."""
    return build_parser(strict=False)


def build_parser(strict: bool = True) -> Lark:
    """A fresh parser that builds a parse tree (used by tests to check the grammar with
    strict=True)."""
    return Lark(grammar_path().read_text(encoding="utf-8"), parser="lalr", lexer="contextual",
                propagate_positions=True, maybe_placeholders=True, strict=strict)


# ---- the parse loop ----------------------------------------------------------------------


def _run(text: str) -> Any:
    """Parse `text` with Lark's lexer and parse table, as `Lark.parse` does, and return
    what the start rule's callback built. The loop is Lark's own (shift a token, or
    reduce a rule and call its callback), without its per-token overhead, and passes a
    rule that only wraps one other (`?sum: product`, the expression chain) through
    without a call. At an error, Lark parses the text itself, to raise its error."""
    parser = _parser()
    ip = parser.parse_interactive(text)
    ps = ip.parser_state
    conf = ps.parse_conf
    table = _table(conf)
    end = conf.end_state
    states, values = ps.state_stack, ps.value_stack
    try:
        for tok in ip.lexer_thread.lex(ps):
            typ = tok.type
            while True:
                act = table[states[-1]].get(typ)
                if act is None:
                    raise _Unexpected
                if act.__class__ is int:  # shift
                    states.append(act)
                    values.append(tok)
                    break
                size, origin, call = act
                if call is None:  # passes its one child through
                    del states[-1]
                elif size:
                    children = values[-size:]
                    del states[-size:]
                    del values[-size:]
                    values.append(call(children))
                else:
                    values.append(call([]))
                states.append(table[states[-1]][origin])
        while states[-1] != end:
            act = table[states[-1]].get("$END")
            if act is None or act.__class__ is int:
                raise _Unexpected
            size, origin, call = act
            if call is None:
                del states[-1]
            elif size:
                children = values[-size:]
                del states[-size:]
                del values[-size:]
                values.append(call(children))
            else:
                values.append(call([]))
            states.append(table[states[-1]][origin])
    except (_Unexpected, UnexpectedInput):
        _PARSE.comments = []
        return parser.parse(text)  # raises the error as Lark reports it
    return values[-1]


class _Unexpected(Exception):
    pass


_TABLES: dict[int, tuple[Any, dict]] = {}


def _table(conf: Any) -> dict:
    """Lark's parse table, as `_run` reads it: per state and lookahead, the state to
    shift to (an int), or the rule to reduce as (size, name, callback), the callback
    None for a rule that passes its one child through unchanged (`?rule: other`, as
    Lark's ExpandSingleChild does for one child)."""
    hit = _TABLES.get(id(conf.parse_table))
    if hit is not None and hit[0] is conf.parse_table:
        return hit[1]
    callbacks = conf.callbacks
    rules: dict[Any, tuple] = {}
    table: dict[Any, dict] = {}
    for state, actions in conf.states.items():
        row = table[state] = {}
        for sym, (action, arg) in actions.items():
            if action.name == "Shift":
                row[sym] = arg
                continue
            red = rules.get(arg)
            if red is None:
                exp = arg.expansion
                through = (arg.options.expand1 and not arg.alias and len(exp) == 1 and not arg.options.empty_indices
                           and (exp[0].is_term or not exp[0].name.startswith("_")))
                red = rules[arg] = (len(exp), arg.origin.name, None if through else callbacks[arg])
            row[sym] = red
    _TABLES.clear()
    _TABLES[id(conf.parse_table)] = (conf.parse_table, table)
    return table


# ---- the builder's callbacks ------------------------------------------------------------

_NAMED_TERMINAL = re.compile(r"^([A-Z][A-Z0-9_]*)(?:\.\d+)?\s*:", re.MULTILINE)


def named_terminals(grammar: str) -> frozenset[str]:
    """The terminals the grammar names (NAME, STRING, FIRST, ...): the tokens a rule's
    builder receives. Every other token is a keyword or punctuation written in a rule
    (`"decide"`, `"{"`), which only places the rule's span."""
    return frozenset(_NAMED_TERMINAL.findall(grammar))


def _callbacks(named: frozenset[str]) -> Any:
    """Lark's callbacks: one per builder method, which Lark calls with the children of
    the rule it reduces, keywords included. Each returns `(value, first token, last
    token, nesting)`: the built node; the first and last token of the text the rule
    matched (None when it matched nothing), from which its parent's span is made as
    Lark's `propagate_positions` would; and how many levels of nesting (`_NESTING`) its
    deepest expression has."""
    class Callbacks:
        pass

    for name, fn in vars(_Builder).items():
        if name.startswith("_") or not callable(fn):
            continue
        setattr(Callbacks, name, staticmethod(_callback(fn, fn.__code__.co_argcount == 3, name in _NESTING, named)))
    return Callbacks()


def _callback(fn: Callable[..., Any], takes_span: bool, nests: bool, named: frozenset[str]) -> Callable[[list[Any]], tuple]:
    level = 1 if nests else 0

    def reduce(children: list[Any]) -> tuple:
        builder = _PARSE.builder
        args: list[Any] = []
        first = last = None
        depth = 0
        for c in children:
            if c.__class__ is tuple:  # a rule reduced before
                args.append(c[0])
                if c[1] is not None:
                    if first is None:
                        first = c[1]
                    last = c[2]
                if c[3] > depth:
                    depth = c[3]
            elif c is None:  # an optional `[...]` not there
                args.append(None)
            else:  # a token
                if first is None:
                    first = c
                last = c
                if c.type in named:
                    args.append(c)
        if takes_span:
            span = builder.empty if first is None else Span(  # type: ignore[union-attr]
                first.start_pos, last.end_pos, first.line, first.column, last.end_line, last.end_column)
            value = fn(builder, span, args)
        else:
            value = fn(builder, args)
        return (value, first, last, depth + level)

    return reduce


# ---- user-facing names of terminals -----------------------------------------------

_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "DOCSTRING": "a docstring",
    "INT": "an integer",
    "DECIMAL": "a number",
    "REGEX": "a regex `/.../`",
    "COMP_OP": "a comparison (`==`, `<`, ...)",
    "OUTCOME_KIND": "`violation`, `uncovered`, `ambiguous`, `invalid` or `escalation`",
    "SET_OP": "`any`, `all` or `none`",
    "$END": "end of file",
}


def _describe_terminal(name: str) -> str:
    if name in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[name]
    try:
        term = _parser().get_terminal(name)
        pattern = term.pattern
        if pattern.type == "str":
            return f"`{pattern.value}`"
    except KeyError:
        pass
    return name.lower()


def _describe_token(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    text = str(tok)
    if len(text) > 30:
        text = text[:27] + "..."
    if tok.type == "NAME":
        return f"name `{text}`"
    if tok.type in ("STRING", "DOCSTRING"):
        return f"string {text}"
    return f"`{text}`"


# ---- parsing with error recovery ------------------------------------------------------


def parse(text: str, name: str = "<string>", sink: Sink | None = None,
          recover: bool = False, header: bool = True) -> tuple[ast.Rubric | None, Sink]:
    """Parse rubric text. Returns the AST (None if there were syntax errors) and the sink.

    Every syntax error of the file is reported: after an error the parser
    resynchronises at the next line that starts a top-level declaration. With
    `recover`, a file with syntax errors still gives the AST of the declarations that
    parsed, with the skipped regions in `Rubric.skipped` (what `rubric lint` analyses).
    `header=False` parses an imported file, whose `rubric` header is optional. A file
    without a header that declares nothing but imports, types (with their levels) and
    lets is such a file too: a shared file, checked on its own.
    """
    with collector_paused():
        return _parse(text, name, sink, recover, header)


def _parse(text: str, name: str, sink: Sink | None, recover: bool, header: bool) -> tuple[ast.Rubric | None, Sink]:
    text = normalize_text(text)
    source = Source(name, text)
    sink = sink or Sink(source)
    comments: list[ast.Comment] = []
    work = text
    errors = 0
    skipped: list[tuple[int, int]] = []
    for at in _surrogates(text):
        errors += 1
        sink.error("RB002", f"`\\u{ord(text[at]):04x}` is half of a surrogate pair, not a character: the text is not "
                   "valid Unicode", source.span(at, at + 1),
                   help="a character beyond U+FFFF is one code point: write it as itself, or as both halves "
                        "of its pair, as in `\\ud83d\\ude00`")
    while True:
        # what the builder reports goes to the sink only from the parse that succeeds (the
        # last one): an attempt that meets a syntax error is parsed again without the error
        attempt = _Builder(source, Sink(source))
        try:
            _PARSE.comments = []
            _PARSE.builder = attempt
            built = _run(work)
            comments = [ast.Comment(str(t), source.span(t.start_pos, t.end_pos)) for t in _PARSE.comments]
        except UnexpectedInput as e:
            errors += 1
            start, end = _report_syntax_error(e, work, source, sink)
            if start is None and recover:
                start, end = _rest_of_file(work)
            if errors >= 25 or start is None or not work[start:end].strip():
                return None, sink
            skipped.append((start, end))
            # blank out the broken top-level declaration and parse again
            work = work[:start] + "".join(ch if ch == "\n" else " " for ch in work[start:end]) + work[end:]
            continue
        except Exception:
            if errors:  # declarations with errors the builder cannot take: the errors are reported
                return None, sink
            raise
        finally:
            _PARSE.builder = None
            _PARSE.comments = []
        # the parse counts how deep its expressions nest; only an expression nested too
        # deep is looked for in a parse tree, which tells where (rare: no speed needed)
        deep = _too_deep(_tree_parser().parse(work)) if built[3] > MAX_NESTING else None
        if deep is None:
            break
        # an expression nested beyond the limit: an error like a syntax error, so that
        # no later pass meets it (and `rubric lint` analyses the other declarations)
        errors += 1
        at, end_at, what = deep
        sink.error("RB009", f"this expression nests more than {MAX_NESTING:,} levels deep ({what} at level "
                   f"{MAX_NESTING + 1:,})", source.span(at, end_at),
                   help="give an inner part a name with `let`, or write a chain of one operator without "
                        "parentheses (`a and b and c`): a chain is one level, however long")
        start, end = _line_bounds(work, at)
        if errors >= 25 or not work[start:end].strip():
            return None, sink
        skipped.append((start, end))
        work = work[:start] + "".join(ch if ch == "\n" else " " for ch in work[start:end]) + work[end:]
    rubric = built[0]
    for diag in attempt.sink.items:
        sink.add(diag)
    if errors:
        # the declarations that did parse may hold errors of their own (escapes, clauses,
        # reserved words): they are reported too; their tree is given only when recovering
        if not recover:
            return None, sink
        rubric.comments = comments
        rubric.skipped = sorted(skipped)
        return rubric, sink
    rubric.comments = comments
    if rubric.header is None and header and not rubric.shared:
        sink.error("RB004", "the file does not start with a `rubric` header", source.span(0, 0),
                   help='start the file with `rubric "NAME" version "1"`')
    return rubric, sink


def _surrogates(text: str) -> list[int]:
    """The offsets of the lone surrogates in `text` (a Python string can hold them, a
    UTF-8 file cannot), at most 25."""
    if not _SURROGATE.search(text):
        return []
    return [m.start() for _, m in zip(range(25), _SURROGATE.finditer(text))]


_SURROGATE = re.compile("[\ud800-\udfff]")


def _too_deep(tree: Tree) -> tuple[int, int, str] | None:
    """Where an expression of the parse tree first nests beyond `MAX_NESTING` levels:
    the start and end of the token that opens the level too many, and what it is.
    Iterative: the tree may be as deep as the input is long."""
    stack: list[tuple[Tree, int]] = [(tree, 0)]
    while stack:
        t, depth = stack.pop()
        what = _NESTING.get(t.data)  # type: ignore[arg-type]
        if what is not None:
            depth += 1
            if depth > MAX_NESTING:
                start = t.meta.start_pos
                first = t.children[0] if t.data == "call" else None
                end = first.end_pos if isinstance(first, Token) else start + (3 if t.data == "not_" else 1)
                return start, end, what
        for c in t.children:
            if isinstance(c, Tree):
                stack.append((c, depth))
    return None


def _rest_of_file(text: str) -> tuple[int, int]:
    """After an error at the end of the file: from the top-level declaration that is not
    finished (the one holding an unclosed `{`, or the last one) to the end."""
    opened = _unclosed_brace(text)
    at = opened if opened is not None else len(text.rstrip()) - 1
    start, _ = _line_bounds(text, max(at, 0))
    return start, len(text)


def _line_bounds(text: str, offset: int) -> tuple[int, int]:
    """The region to blank out after an error at `offset`: from the start of the
    top-level declaration holding it to the next line that starts one."""
    lines = text.split("\n")
    starts = []
    pos = 0
    for ln in lines:
        starts.append(pos)
        pos += len(ln) + 1
    idx = 0
    for i, s in enumerate(starts):
        if s <= offset:
            idx = i
    if idx > 0 and offset == starts[idx] and _TOP_LINE.match(lines[idx]):
        # the error is the first token of a declaration: the one before it is unfinished
        begin = idx - 1
        while begin > 0 and not _TOP_LINE.match(lines[begin]):
            begin -= 1
        return starts[begin], starts[idx]
    begin = idx
    while begin > 0 and not _TOP_LINE.match(lines[begin]):
        begin -= 1
    if not _TOP_LINE.match(lines[begin]):
        begin = idx
    nxt = idx + 1
    while nxt < len(lines) and not _TOP_LINE.match(lines[nxt]):
        nxt += 1
    end = starts[nxt] if nxt < len(lines) else len(text)
    return starts[begin], end


def _report_syntax_error(e: UnexpectedInput, work: str, source: Source, sink: Sink) -> tuple[int | None, int]:
    if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
        span = source.end_span()
        opened = _unclosed_brace(work)
        if opened is not None:
            line, col = source.position(opened)
            sink.error("RB003", "unexpected end of file: a block is not closed", source.span(opened, opened + 1),
                       help=f"the `{{` at line {line}, column {col} has no matching `}}`")
        else:
            expected = sorted({_describe_terminal(t) for t in getattr(e, "expected", []) or []})
            sink.error("RB001", "unexpected end of file", span,
                       help=("expected " + ", ".join(expected[:8])) if expected else None)
        return None, 0
    if isinstance(e, UnexpectedCharacters):
        pos = e.pos_in_stream
        ch = work[pos] if pos < len(work) else ""
        span = source.span(pos, pos + 1)
        if work.startswith('"""', pos):
            sink.error("RB002", "unterminated docstring", source.span(pos, pos + 3),
                       help='close the docstring with `"""`')
        elif ch == '"':
            sink.error("RB002", "unterminated string", span, help="close the string with `\"` on the same line")
        elif ch == "/":
            sink.error("RB002", "unexpected `/`", span,
                       help="a regex `/.../` may only follow `matches`; division needs two operands")
        elif ch in "&|":
            op, word = ("&&", "and") if ch == "&" else ("||", "or")
            width = 2 if work.startswith(ch * 2, pos) else 1
            sink.error("RB002", f"`{work[pos:pos + width]}` is not an operator of the language", source.span(pos, pos + width),
                       help=f"write `{word}`: `a {word} b`")
        elif ch == "!" and not work.startswith("!=", pos):
            sink.error("RB002", "`!` is not an operator of the language", span, help="write `not`: `not a`")
        elif ch == "'":
            eol = work.find("\n", pos)
            close = work.find("'", pos + 1, len(work) if eol < 0 else eol)
            end = close + 1 if close > pos else pos + 1
            inner = work[pos + 1:close] if close > pos else "..."
            sink.error("RB002", "strings are written in double quotes, not single quotes", source.span(pos, end),
                       help=f"write {_double_quoted(inner)}")
        else:
            allowed = sorted({_describe_terminal(t) for t in e.allowed or []})
            sink.error("RB002", f"unexpected character `{ch}`", span,
                       help=("expected " + ", ".join(allowed[:8])) if allowed else None)
        start, end = _line_bounds(work, pos)
        return start, end
    assert isinstance(e, UnexpectedToken)
    tok = e.token
    span = source.span(tok.start_pos, tok.end_pos)
    expected = sorted({_describe_terminal(t) for t in e.accepts or e.expected})
    message = f"unexpected {_describe_token(tok)}"
    help_ = None
    if expected:
        help_ = "expected " + (", ".join(expected[:10]) + (", ..." if len(expected) > 10 else ""))
    text = str(tok)
    if tok.type == "NAME" and text == "consensus":
        help_ = "a `consensus` block stands at the top level of the file, outside any criterion"
    if tok.type == "COMP_OP" and "COMP_OP" not in (e.accepts or e.expected):
        message = f"comparisons do not chain: unexpected `{text}`"
        help_ = "write `a < b and b < c`"
    if tok.type == "NAME" and text == "per":
        help_ = "`per item` follows a rule's message (before `severity`) or an escalation's reason"
    accepts = e.accepts or e.expected
    if tok.type == "EQUAL" and "COMP_OP" in accepts:
        message = "`=` is not a comparison"
        help_ = "write `==` to compare two values: `x == 1`"
    negated = re.search(r"(?:\b([A-Za-z_]\w*)\s+)?\bis\s+not\s*$", work[:tok.start_pos])
    if tok.type in ("MISSING", "PRESENT") and negated:
        other = "present" if text == "missing" else "missing"
        start = work.rindex("is", 0, tok.start_pos)
        span = source.span(start, tok.end_pos)
        message = f"`is not {text}` is written `is {other}`"
        help_ = f"write `{negated.group(1) or 'FIELD'} is {other}`"
    if _entry_without_path(tok, work, accepts, source, sink):
        return _line_bounds(work, tok.start_pos)
    sink.error("RB001", message, span, help=help_)
    start, end = _line_bounds(work, tok.start_pos)
    return start, end


# `KEY =` at the end of the text read so far; and `KEY =` then, on the next line, a name
# that the parser took for KEY's path (`show =` with the next entry below it)
_ENTRY_EQ = re.compile(r"(?<![\w.@\]\"])([A-Za-z_]\w*)[ \t]*=[ \t]*(?:#[^\n]*)?\s*$")
_COMMA_NEXT = re.compile(r",[ \t]*(?:#[^\n]*)?\n\s*[A-Za-z_]\w*[ \t]*$")
_ENTRY_EQ_NEXT = re.compile(r"(?<![\w.@\]\"])([A-Za-z_]\w*)[ \t]*=[ \t]*(?:#[^\n]*)?\n\s*[A-Za-z_]\w*[ \t]*$")


def _entry_without_path(tok: Token, work: str, accepts: Any, source: Source, sink: Sink) -> bool:
    """Report a `record` line with no path after its `=` (RB012), or a path list that
    ends with a comma; False when the error is another one."""
    before = work[:tok.start_pos]
    m = None
    after_path = tok.type == "EQUAL" and "COMMA" in accepts and "DOT" in accepts
    comma = None
    if "AT" in accepts:
        if before.rstrip().endswith(","):
            comma = len(before.rstrip()) - 1
        else:
            m = _ENTRY_EQ.search(before)
    elif after_path:  # `KEY =` or `a,` at the end of a line, and the next entry's key taken for a path
        c = _COMMA_NEXT.search(before)
        if c is not None:
            comma = c.start()
        else:
            m = _ENTRY_EQ_NEXT.search(before)
    if comma is not None:
        sink.error("RB012", "a path is missing after `,`", source.span(comma, comma + 1),
                   help="remove the comma after the last path, or write the path that follows it")
        return True
    if m is None:
        return False
    key = m.group(1)
    eq = work.index("=", m.end(1))
    what = "lists no path" if key == "show" else "names no path"
    example = "`show = data.text, @lead_time`" if key == "show" else f"`{key} = meta.{key}`"
    sink.error("RB012", f"`{key} =` {what}", source.span(m.start(1), eq + 1),
               help=f"write the path after `=`, as in {example}, or remove the line")
    return True


def _double_quoted(text: str) -> str:
    """A single-quoted string as the double-quoted one the author meant, for a help line."""
    if len(text) > 40:
        text = text[:37] + "..."
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unclosed_brace(text: str) -> int | None:
    stack: list[int] = []
    for m in re.finditer(r'"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*|(?<=matches)\s*/(?:[^/\\\n]|\\.)+/|([{}])', text):
        b = m.group(1)
        if b == "{":
            stack.append(m.start(1))
        elif b == "}" and stack:
            stack.pop()
    return stack[-1] if stack else None


# ---- string literals ------------------------------------------------------------------

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0"}


_HEX4 = re.compile(r"[0-9a-fA-F]{4}")


def _unquote(tok: Token, source: Source, sink: Sink) -> str:
    raw = str(tok)[1:-1]
    if "\\" not in raw:
        return raw
    out = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = raw[i + 1] if i + 1 < len(raw) else ""
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and _HEX4.fullmatch(raw[i + 2 : i + 6]):
            cp = int(raw[i + 2 : i + 6], 16)
            if not 0xD800 <= cp <= 0xDFFF:
                out.append(chr(cp))
                i += 6
                continue
            # JSON writes a character beyond U+FFFF as a surrogate pair: high, then low
            low = int(raw[i + 8 : i + 12], 16) if raw[i + 6 : i + 8] == "\\u" and _HEX4.fullmatch(raw[i + 8 : i + 12]) else 0
            if cp <= 0xDBFF and 0xDC00 <= low <= 0xDFFF:
                out.append(chr(0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)))
                i += 12
                continue
            at = tok.start_pos + 1 + i
            what = ("the first half of a surrogate pair, and no second half (\\uDC00-\\uDFFF) follows" if cp <= 0xDBFF
                    else "the second half of a surrogate pair, and no first half (\\uD800-\\uDBFF) comes before it")
            sink.error("RB005", f"`{raw[i:i + 6]}` is {what}", source.span(at, at + 6),
                       help="a character beyond U+FFFF is written as both halves, as in `\\ud83d\\udc4d` (one "
                            "character), or typed as itself")
            out.append("\ufffd")
            i += 6
        else:
            at = tok.start_pos + 1 + i
            sink.error("RB005", f"unknown escape `\\{nxt}` in a string", source.span(at, at + 2),
                       help='known escapes: \\" \\\\ \\/ \\n \\t \\r \\b \\f \\0 \\uXXXX')
            out.append(nxt)
            i += 2
    return "".join(out)


def _docstring(tok: Token) -> str:
    text = str(tok)[3:-3]
    lines = text.split("\n")
    # dedent continuation lines
    rest = [ln for ln in lines[1:] if ln.strip()]
    indent = min((len(ln) - len(ln.lstrip()) for ln in rest), default=0)
    out = [lines[0].strip()] + [ln[indent:].rstrip() for ln in lines[1:]]
    return "\n".join(out).strip()


# ---- tree -> AST ------------------------------------------------------------------------


class _Builder:
    """Turns what the parser reduces into `ast` nodes. Never raises for user errors: they
    go to the sink.

    Each grammar rule (or alias) has a method of its name, called by the parser as it
    reduces the rule (see `_callbacks`), with the rule's children already built and its
    keywords and punctuation left out: `(span, children)` when it takes the node's
    position, `(children)` otherwise. The span runs from the first token of the rule to
    its last, keywords included (`source.span(0, 0)` for a rule that matched nothing)."""

    def __init__(self, source: Source, sink: Sink) -> None:
        self.source = source
        self.sink = sink
        self.empty = source.span(0, 0)

    def _tspan(self, tok: Token) -> Span:
        return Span(tok.start_pos, tok.end_pos, tok.line, tok.column, tok.end_line, tok.end_column)

    def _str(self, tok: Token) -> str:
        return _unquote(tok, self.source, self.sink)

    def _num(self, tok: Token, negative: bool = False) -> int | float:
        """A number literal: an integer stays exact, a decimal is the nearest double. One
        beyond the range of a double is an error (reported; 0 stands in for it)."""
        s = str(tok)
        v: int | float
        if tok.type == "INT":
            digits = s.lstrip("0") or "0"
            v = int(digits) if len(digits) <= _MAX_DIGITS else _MAX_INT + 1  # no conversion of a huge text
        else:
            v = float(s)
        if v > _MAX_INT:
            text = ("-" if negative else "") + s
            shown = f"`{text}`" if len(text) <= 24 else f"`{text[:12]}...{text[-6:]}` ({len(s)} {'digits' if tok.type == 'INT' else 'characters'})"
            self.sink.error("RB010", f"the number {shown} is beyond the range of a double",
                            self._tspan(tok),
                            help="numbers are IEEE doubles: a literal lies between -1.7976931348623157e308 and "
                                 "1.7976931348623157e308 (about 309 digits)")
            v = 0
        return -v if negative else v

    def _check_name(self, tok: Token, what: str) -> None:
        if str(tok) in RESERVED:
            self.sink.error("RB008", f"`{tok}` is a reserved word and cannot name {what}", self._tspan(tok),
                            help="reserved words: and, or, not, in, is, true, false")

    # ---- top level
    def start(self, span, children):
        header = None
        items: list = []
        rubric = ast.Rubric(header=None, items=items)
        prev = None
        for ch in children:
            if isinstance(ch, ast.Header):
                header = ch
                prev = ch
                continue
            if isinstance(ch, _Doc):
                self._attach_doc(ch, prev, rubric)
                continue
            if isinstance(ch, ast.Level):
                self._attach_level(ch, prev)
                continue
            items.append(ch)
            prev = ch
        rubric.header = header
        return rubric

    def _attach_doc(self, doc: "_Doc", prev, owner) -> None:
        target = (prev if prev is not None and not isinstance(prev, (ast.Header, ast.Applies, ast.Level, ast.Import))
                  else owner)
        if hasattr(target, "doc"):
            if getattr(target, "doc", None):
                target.doc = target.doc + "\n\n" + doc.text
            else:
                target.doc = doc.text
        else:
            self.sink.error("RB006", "a docstring cannot stand here", doc.span,
                            help='a docstring follows the header or a declaration, or opens a block')

    def _attach_level(self, level: ast.Level, prev) -> None:
        if (isinstance(prev, ast.Field) and prev.kind == "label") or isinstance(prev, ast.TypeDecl):
            prev.levels.append(level)
        else:
            self.sink.error("RB006", "a `level` must follow the `label` or `type` it describes", level.span,
                            help="move the `level` lines right after their `label` or `type`")

    def import_decl(self, span, children):
        tok = children[0]
        return ast.Import(self._str(tok), span, self._tspan(tok))

    def type_decl(self, span, children):
        name, type_ = children
        self._check_name(name, "a type")
        return ast.TypeDecl(str(name), type_, None, [], span, self._tspan(name))

    def header(self, span, children):
        name, version = children
        return ast.Header(self._str(name), self._str(version), span)

    def doc(self, span, children):
        return _Doc(_docstring(children[0]), span)

    def record_block(self, span, children):
        return ast.RecordBlock(list(children), None, span)

    def record_entry(self, span, children):
        key, path, *more = children
        return ast.RecordEntry(str(key), path, span, list(more))

    def record_when(self, span, children):
        key, expr = children
        return ast.RecordWhen(str(key), expr, span, self._tspan(key))

    # ---- paths
    def path(self, span, children):
        at = bool(children) and isinstance(children[0], Token) and children[0].type == "AT"
        return ast.Path([c for c in children if isinstance(c, ast.Segment)], span, at)

    def segment(self, span, children):
        tok = children[0]
        quoted = tok.type == "STRING"
        key = self._str(tok) if quoted else str(tok)
        indexes = [c for c in children[1:] if isinstance(c, int)]
        selectors = [c for c in children[1:] if isinstance(c, ast.Selector)]
        if selectors and (indexes or len(selectors) > 1):
            where = selectors[1] if len(selectors) > 1 else selectors[0]
            self.sink.error("RB011", f"the segment `{key}` has {'two selectors' if len(selectors) > 1 else 'a selector and an index'}",
                            where.span,
                            help="a selector `[KEY = \"VALUE\"]` picks one element, so nothing indexes it: a "
                                 "segment carries `[N]` indexes or one selector; follow the element with `.KEY`")
        return ast.Segment(key, indexes, quoted, selectors[0] if selectors else None)

    def selector(self, span, children):
        key, value = children
        quoted = key.type == "STRING"
        return ast.Selector(self._str(key) if quoted else str(key), self._str(value), quoted, span)

    def index(self, children):
        return self._num(children[0])

    def from_clause(self, children):
        return children[0]

    # ---- fields
    def _field(self, kind, span, children):
        name, type_ = children[0], children[1]
        self._check_name(name, f"an {kind}" if kind == "input" else f"a {kind}")
        path = None
        optional = False
        required_when = None
        for ch in children[2:]:
            if isinstance(ch, ast.Path):
                path = ch
            elif isinstance(ch, _Presence):
                optional = ch.optional
                required_when = ch.required_when
        return ast.Field(kind, str(name), type_, path, optional, required_when, None, [], span,
                         self._tspan(name))

    def input_decl(self, span, children):
        return self._field("input", span, children)

    def label_decl(self, span, children):
        return self._field("label", span, children)

    def optional(self, children):
        return _Presence(True, None)

    def required_when(self, children):
        return _Presence(False, children[0])

    def let_decl(self, span, children):
        name, expr = children
        self._check_name(name, "a `let`")
        return ast.Let(str(name), expr, None, span, self._tspan(name))

    def level_decl(self, span, children):
        value, text = children
        return ast.Level(value, self._str(text), span)

    # ---- types
    def t_bool(self, span, children):
        return ast.TypeNode("bool", span=span)

    def t_text(self, span, children):
        return ast.TypeNode("text", span=span)

    def t_int(self, span, children):
        lo, hi = children[0] if children and children[0] is not None else (None, None)
        return ast.TypeNode("int", lo, hi, span=span)

    def t_number(self, span, children):
        lo, hi = children[0] if children and children[0] is not None else (None, None)
        return ast.TypeNode("number", lo, hi, span=span)

    def t_scale(self, span, children):
        lo, hi = children[0]
        return ast.TypeNode("scale", lo, hi, span=span)

    def t_enum(self, span, children):
        ordered = any(isinstance(c, Token) and c.type == "ORDERED" for c in children)
        values = [c for c in children if isinstance(c, list)][0]
        return ast.TypeNode("enum", values=values, ordered=ordered, span=span)

    def t_set(self, span, children):
        return ast.TypeNode("set", values=children[0], span=span)

    def t_named(self, span, children):
        self._check_name(children[0], "a type")
        return ast.TypeNode("named", span=span, name=str(children[0]))

    def range(self, children):
        return (children[0].value, children[1].value)

    def enum_values(self, children):
        return [c for c in children if c is not None]

    def enum_value(self, span, children):
        tok = children[0]
        if tok.type == "STRING":
            return ast.Value("string", self._str(tok), span)
        self._check_name(tok, "an enum value (quote it)")
        return ast.Value("name", str(tok), span)

    def signed_number(self, span, children):
        neg = len(children) == 2
        return ast.Value("number", self._num(children[-1], neg), span)

    def value(self, span, children):
        ch = children[0]
        if isinstance(ch, ast.Value):
            return ch
        if ch.type == "STRING":
            return ast.Value("string", self._str(ch), span)
        if ch.type == "TRUE":
            return ast.Value("bool", True, span)
        if ch.type == "FALSE":
            return ast.Value("bool", False, span)
        return ast.Value("name", str(ch), span)

    # ---- criteria
    def criterion(self, span, children):
        name = children[0]
        self._check_name(name, "a criterion")
        title = None
        rest = children[1:]
        if rest and isinstance(rest[0], Token) and rest[0].type == "STRING":
            title = self._str(rest[0])
            rest = rest[1:]
        crit = ast.Criterion(str(name), title, [], None, None, span, self._tspan(name))
        prev = None
        for ch in rest:
            if isinstance(ch, _Doc):
                self._attach_doc(ch, prev, crit)
                continue
            if isinstance(ch, ast.Level):
                self._attach_level(ch, prev)
                continue
            if isinstance(ch, ast.Applies):
                if crit.applies is not None:
                    self.sink.error("RB007", "a criterion has at most one `applies when`", ch.span,
                                    help="combine the conditions with `and`")
                else:
                    crit.applies = ch.expr
                prev = ch
                continue
            crit.items.append(ch)
            prev = ch
        return crit

    def applies(self, span, children):
        return ast.Applies(children[0], span)

    # ---- decisions
    def decide(self, span, children):
        label = children[0]
        first = len(children) > 1 and isinstance(children[1], Token) and children[1].type == "FIRST"
        dec = ast.Decide(str(label), first, [], None, span, self._tspan(label))
        prev = None
        for ch in children[1:]:
            if isinstance(ch, Token):
                continue
            if isinstance(ch, _Doc):
                self._attach_doc(ch, prev, dec)
                continue
            if dec.arms and dec.arms[-1].kind == "otherwise":
                self.sink.error("RB006", "`otherwise` must be the last arm of a `decide`", dec.arms[-1].span,
                                help="move the `otherwise` arm to the end")
            dec.arms.append(ch)
            prev = ch
        return dec

    def arm(self, span, children):
        cond, values = children
        return ast.Arm("when", cond, values, None, None, None, span)

    def edge_arm(self, span, children):
        name = children[0]
        self._check_name(name, "an edge case")
        title = None
        rest = children[1:]
        if isinstance(rest[0], Token) and rest[0].type == "STRING":
            title = self._str(rest[0])
            rest = rest[1:]
        cond, values = rest
        return ast.Arm("edge", cond, values, str(name), title, None, span)

    def otherwise_arm(self, span, children):
        return ast.Arm("otherwise", None, children[0], None, None, None, span)

    def arm_values(self, children):
        return list(children)

    # ---- rules, escalations
    def rule(self, span, children):
        name, message = children[0], children[1]
        self._check_name(name, "a rule")
        severity = None
        sev_span = self._tspan(name)
        when = require = None
        doc = None
        seen_when = seen_req = False
        per_item = False
        for ch in children[2:]:
            if ch is _PER_ITEM:
                per_item = True
            elif isinstance(ch, _Severity):
                severity, sev_span = ch.level, ch.span
            elif isinstance(ch, _When):
                if seen_when:
                    self.sink.error("RB007", "a rule has at most one `when`", ch.span, help="combine the conditions with `and`")
                if seen_req:
                    self.sink.error("RB007", "`when` must come before `require`", ch.span,
                            help='write `when EXPR` first, then `require EXPR`')
                seen_when = True
                when = ch.expr
            elif isinstance(ch, _Require):
                if seen_req:
                    self.sink.error("RB007", "a rule has at most one `require`", ch.span, help="combine the requirements with `and`")
                seen_req = True
                require = ch.expr
            elif isinstance(ch, _Doc):
                doc = ch.text if doc is None else doc + "\n\n" + ch.text
        span = span
        if not seen_req:
            self.sink.error("RB007", f"rule `{name}` has no `require`", self._tspan(name),
                            help="add `require EXPR`: what must hold when the rule's `when` holds")
        return ast.Rule(str(name), self._str(message), severity, when, require, doc, span, self._tspan(name), sev_span,
                        per_item=per_item)

    def per_item(self, children):
        return _PER_ITEM

    def severity(self, span, children):
        return _Severity(str(children[0]), self._tspan(children[0]))

    def when_clause(self, span, children):
        return _When(children[0], span)

    def require_clause(self, span, children):
        return _Require(children[0], span)

    def escalate(self, span, children):
        target, name, reason = children[0], children[1], children[2]
        self._check_name(target, "an escalation target")
        self._check_name(name, "an escalation")
        when = None
        doc = None
        seen = False
        per_item = False
        for ch in children[3:]:
            if ch is _PER_ITEM:
                per_item = True
            elif isinstance(ch, _When):
                if seen:
                    self.sink.error("RB007", "an escalation has at most one `when`", ch.span,
                                    help="combine the conditions with `and` or `or`")
                seen = True
                when = ch.expr
            elif isinstance(ch, _Doc):
                doc = ch.text if doc is None else doc + "\n\n" + ch.text
        if not seen:
            self.sink.error("RB007", f"escalation `{name}` has no `when`", self._tspan(name),
                            help="add `when EXPR`: the condition that routes a record")
        return ast.Escalate(str(target), str(name), self._str(reason), when, doc, span, self._tspan(name),
                            per_item=per_item)

    # ---- consensus
    def consensus(self, span, children):
        label = children[0]
        node = ast.Consensus(str(label), None, None, None, span, self._tspan(label))
        doc = None
        for ch in children[1:]:
            if isinstance(ch, _Doc):
                doc = ch.text if doc is None else doc + "\n\n" + ch.text
                continue
            what, value, span = ch
            if getattr(node, what) is not None:
                self.sink.error("RB007", f"`min {what.removeprefix('min_')}` is given twice", span,
                                help="keep one line per threshold")
                continue
            setattr(node, what, value)
            setattr(node, what.removeprefix("min_") + "_span", span)
        node.doc = doc
        return node

    def min_annotators(self, span, children):
        return ("min_annotators", children[0].value, span)

    def min_agreement(self, span, children):
        return ("min_agreement", children[0].value, span)

    # ---- examples
    def example(self, span, children):
        title = self._str(children[0])
        given: list[ast.GivenEntry] = []
        expect: list[ast.Outcome] = []
        doc = None
        n_given = 0
        for ch in children[1:]:
            if isinstance(ch, _Given):
                n_given += 1
                if n_given > 1:
                    self.sink.error("RB007", "an example has one `given` block", ch.span,
                            help='merge the `given` blocks')
                given.extend(ch.entries)
            elif isinstance(ch, list):
                expect.extend(ch)
            elif isinstance(ch, _Doc):
                doc = ch.text if doc is None else doc + "\n\n" + ch.text
        span = span
        if not expect:
            self.sink.error("RB007", f"example \"{title}\" has no `expect`", span,
                            help="add `expect pass` or the findings the example should produce")
        return ast.Example(title, given, expect, doc, span)

    def given(self, span, children):
        return _Given([c for c in children if c is not None], span)

    def given_entry(self, span, children):
        name, value = children
        return ast.GivenEntry(str(name), value, span)

    def set_literal(self, span, children):
        return ast.SetValue([c for c in children if c is not None], span)

    def expect(self, children):
        return list(children)

    def outcome(self, span, children):
        if len(children) == 1:
            return ast.Outcome("pass", None, span)
        return ast.Outcome(str(children[0]), str(children[1]), span)

    # ---- expressions
    def _bin(self, op, span, children):
        return ast.Binary(op, children[0], children[-1], span)

    def or_(self, span, ch):
        return self._bin("or", span, ch)

    def and_(self, span, ch):
        return self._bin("and", span, ch)

    def not_(self, span, ch):
        return ast.Unary("not", ch[0], span)

    def compare(self, span, ch):
        return ast.Binary(str(ch[1]), ch[0], ch[2], span)

    def in_(self, span, ch):
        return self._bin("in", span, ch)

    def not_in(self, span, ch):
        return self._bin("not in", span, ch)

    def is_empty(self, span, ch):
        return ast.Test("empty", ch[0], span)

    def is_not_empty(self, span, ch):
        return ast.Test("not empty", ch[0], span)

    def is_present(self, span, ch):
        return ast.Test("present", ch[0], span)

    def is_missing(self, span, ch):
        return ast.Test("missing", ch[0], span)

    def set_test(self, span, ch):
        return ast.Binary(str(ch[1]), ch[0], ch[2], span)

    def contains(self, span, ch):
        return self._bin("contains", span, ch)

    def matches(self, span, ch):
        operand, tok = ch
        raw = str(tok)
        end = raw.rfind("/")
        pattern = raw[1:end]
        flags = raw[end + 1 :]
        return ast.Matches(operand, pattern, flags, span, self._tspan(tok))

    def add(self, span, ch):
        return self._bin("+", span, ch)

    def sub(self, span, ch):
        return self._bin("-", span, ch)

    def mul(self, span, ch):
        return self._bin("*", span, ch)

    def div(self, span, ch):
        return self._bin("/", span, ch)

    def neg(self, span, ch):
        operand = ch[-1]
        if isinstance(operand, ast.Literal) and operand.kind in ("int", "number"):
            return ast.Literal(operand.kind, -operand.value, span)  # type: ignore[operator]
        return ast.Unary("-", operand, span)

    def paren(self, ch):
        return ch[0]

    def name(self, span, ch):
        return ast.Name(str(ch[0]), span)

    def call(self, span, ch):
        args = [a for a in ch[1:] if a is not None]
        return ast.Call(str(ch[0]), args, span)

    def int_lit(self, span, ch):
        return ast.Literal("int", self._num(ch[0]), span)

    def dec_lit(self, span, ch):
        return ast.Literal("number", self._num(ch[0]), span)

    def str_lit(self, span, ch):
        return ast.Literal("string", self._str(ch[0]), span)

    def true_lit(self, span, ch):
        return ast.Literal("bool", True, span)

    def false_lit(self, span, ch):
        return ast.Literal("bool", False, span)


_PER_ITEM = object()


class _Doc:
    __slots__ = ("text", "span")

    def __init__(self, text: str, span: Span) -> None:
        self.text, self.span = text, span


class _Presence:
    __slots__ = ("optional", "required_when")

    def __init__(self, optional: bool, required_when) -> None:
        self.optional, self.required_when = optional, required_when


class _Severity:
    __slots__ = ("level", "span")

    def __init__(self, level: str, span: Span) -> None:
        self.level, self.span = level, span


class _When:
    __slots__ = ("expr", "span")

    def __init__(self, expr, span: Span) -> None:
        self.expr, self.span = expr, span


class _Require:
    __slots__ = ("expr", "span")

    def __init__(self, expr, span: Span) -> None:
        self.expr, self.span = expr, span


class _Given:
    __slots__ = ("entries", "span")

    def __init__(self, entries, span: Span) -> None:
        self.entries, self.span = entries, span
