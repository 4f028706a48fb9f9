"""The document's outline: imports, types, criteria (with what they hold), fields,
decisions and their edge arms, rules, escalations, `let`s and examples."""
from __future__ import annotations

from typing import Any

from lsprotocol import types

from rubricdsl.core.source import Span
from rubricdsl.language import ast
from rubricdsl.lsp.document import Document

K = types.SymbolKind


def symbols(doc: Document) -> list[types.DocumentSymbol]:
    if doc.tree is None:
        return []
    return _items(doc, doc.tree.items)


def _sym(doc: Document, name: str, detail: str | None, kind: types.SymbolKind, span: Span, sel: Span,
         children: list[types.DocumentSymbol] | None = None) -> types.DocumentSymbol:
    rng = doc.lines.range(span)
    sel_rng = doc.lines.range(sel) if sel.start >= span.start and sel.end <= span.end else rng
    return types.DocumentSymbol(name=name or "?", detail=detail, kind=kind, range=rng, selection_range=sel_rng,
                                children=children or None)


def _items(doc: Document, items: list[Any]) -> list[types.DocumentSymbol]:
    out = []
    for item in items:
        if isinstance(item, ast.Criterion):
            out.append(_sym(doc, item.name, item.title, K.Namespace, item.span, item.name_span,
                            _items(doc, item.items)))
        elif isinstance(item, ast.Field):
            out.append(_sym(doc, item.name, item.kind, K.Field, item.span, item.name_span))
        elif isinstance(item, ast.Let):
            out.append(_sym(doc, item.name, "let", K.Variable, item.span, item.name_span))
        elif isinstance(item, ast.TypeDecl):
            out.append(_sym(doc, item.name, "type", K.Class, item.span, item.name_span))
        elif isinstance(item, ast.Import):
            out.append(_sym(doc, item.path, "import", K.Module, item.span, item.path_span))
        elif isinstance(item, ast.Decide):
            arms = [_sym(doc, a.name, "edge", K.EnumMember, a.span, a.span)
                    for a in item.arms if a.kind == "edge" and a.name]
            out.append(_sym(doc, f"decide {item.label}", None, K.Function, item.span, item.label_span, arms))
        elif isinstance(item, ast.Rule):
            out.append(_sym(doc, item.name, item.message, K.Method, item.span, item.name_span))
        elif isinstance(item, ast.Escalate):
            out.append(_sym(doc, item.name, f"escalate to {item.target}", K.Event, item.span, item.name_span))
        elif isinstance(item, ast.Example):
            out.append(_sym(doc, item.title, "example", K.Object, item.span, item.span))
    return out
