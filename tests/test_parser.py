"""The parser builds the AST as Lark reduces each rule (no parse tree): the spans it
gives, the tokens each builder method receives, and parses in several threads at once."""
from __future__ import annotations

import threading
from pathlib import Path

from lark import Tree

from rubricdsl.core.resources import grammar_path
from rubricdsl.core.source import normalize_text
from rubricdsl.language import ast, syntax

ROOT = Path(__file__).resolve().parent.parent


def _text(span, text: str) -> str:
    return text[span.start:span.end]


def test_a_rule_span_holds_its_keywords_and_a_parenthesised_operand() -> None:
    text = ('rubric "r" version "1"\ninput a: bool\ninput b: bool\ninput c: bool\n'
            'rule r "m" severity warning {\n  require (a or b) and not (c)\n}\n')
    rubric, sink = syntax.parse(text)
    assert rubric is not None and not sink.items
    rule = rubric.items[-1]
    assert isinstance(rule, ast.Rule)
    assert _text(rule.span, text) == 'rule r "m" severity warning {\n  require (a or b) and not (c)\n}'
    assert (rule.span.line, rule.span.column, rule.span.end_line, rule.span.end_column) == (5, 1, 7, 2)
    require = rule.require
    assert isinstance(require, ast.Binary) and require.op == "and"
    # the `and` starts at the parenthesis; the `or` inside is the text between them
    assert _text(require.span, text) == "(a or b) and not (c)"
    assert _text(require.left.span, text) == "a or b"
    assert _text(require.right.span, text) == "not (c)"
    assert _text(rule.severity_span, text) == "warning"


def test_an_empty_file_and_an_empty_list_have_the_span_of_the_start() -> None:
    rubric, _ = syntax.parse("", header=False)
    assert rubric is not None and rubric.items == []
    text = 'rubric "r" version "1"\nlabel e: set {}\n'
    rubric, sink = syntax.parse(text)
    assert rubric is not None
    field = rubric.items[0]
    assert _text(field.span, text) == "label e: set {}"
    assert _text(field.type.span, text) == "set {}"


def _tree_items(tree: Tree) -> list[Tree]:
    return [c for c in tree.children if isinstance(c, Tree) and c.data not in ("header", "doc", "level_decl")]


def test_every_declaration_of_the_shipped_rubrics_has_the_span_lark_gives_it() -> None:
    """The spans the builder makes from tokens are the ones Lark's propagate_positions
    gives the nodes of its parse tree."""
    tree_parser = syntax.build_parser(strict=False)
    files = sorted((ROOT / "rubrics").rglob("*.rubric")) + sorted((ROOT / "tests" / "cases" / "lint").glob("*.rubric"))
    checked = 0
    for path in files:
        text = normalize_text(path.read_text(encoding="utf-8"))
        rubric, sink = syntax.parse(text, str(path), header=False)
        if rubric is None or sink.has_errors:
            continue
        trees = _tree_items(tree_parser.parse(text))
        assert len(trees) == len(rubric.items), path
        for node, t in zip(rubric.items, trees):
            got = (node.span.start, node.span.end, node.span.line, node.span.column, node.span.end_line,
                   node.span.end_column)
            m = t.meta
            assert got == (m.start_pos, m.end_pos, m.line, m.column, m.end_line, m.end_column), (path, node)
            checked += 1
    assert checked > 50


def test_the_builder_receives_exactly_the_tokens_lark_keeps() -> None:
    """The builder is given the named terminals of the grammar (NAME, FIRST, ...) and
    not its keywords: the tokens Lark's tree keeps and filters out, rule by rule."""
    named = syntax.named_terminals(grammar_path().read_text(encoding="utf-8"))
    assert {"NAME", "STRING", "FIRST", "MINUS", "COMP_OP", "SET_ANY"} <= named
    seen_kept = seen_filtered = 0
    for rule in syntax.build_parser(strict=False).rules:
        for sym in rule.expansion:
            if sym.is_term:
                assert sym.filter_out == (sym.name not in named), (rule, sym.name)
                seen_kept += not sym.filter_out
                seen_filtered += sym.filter_out
    assert seen_kept and seen_filtered


def test_parses_in_several_threads_keep_their_own_diagnostics_and_comments() -> None:
    arms = "".join(f"  when x == {k % 5} -> p  # arm {k}\n" for k in range(1500))
    texts = [
        'rubric "a" version "1"\ninput x: int 0..9\nlabel y: enum {p, q}\ndecide y first {\n' + arms + "}\n",
        'rubric "b" version "1"\ninput and: int 0..9\nlabel y: enum {p, q}\n'
        + "".join(f'rule r{k} "\\q" {{ require y == p }}  # rule {k}\n' for k in range(600)),
    ]
    expected = []
    for t in texts:
        rubric, sink = syntax.parse(t, recover=True)
        expected.append((repr(rubric), repr(rubric.comments), [repr(d) for d in sink.items]))
    assert "decide" in expected[0][0].lower() and "arm 1499" in expected[0][1] and not expected[0][2]
    assert any("RB008" in d for d in expected[1][2]) and any("RB005" in d for d in expected[1][2])

    results: dict[int, list] = {0: [], 1: []}

    def work(i: int) -> None:
        for _ in range(3):
            rubric, sink = syntax.parse(texts[i], recover=True)
            results[i].append((repr(rubric), repr(rubric.comments), [repr(d) for d in sink.items]))

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1, 0, 1)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for i in (0, 1):
        assert len(results[i]) == 6
        assert all(r == expected[i] for r in results[i])


def test_a_syntax_error_is_the_one_lark_reports() -> None:
    """At an error the parser lets Lark parse the text, so the error (and what it
    expected) is Lark's own."""
    text = 'rubric "r" version "1"\ninput x: int\nrule r "m" { require x == }\n'
    rubric, sink = syntax.parse(text)
    assert rubric is None
    [d] = sink.items
    assert (d.code, d.span.line, d.span.column) == ("RB001", 3, 27)
    assert d.message == "unexpected `}`"
