"""What the server knows of one open rubric: its text, the diagnostics `rubric lint`
gives for it, its AST, its IR (as far as it resolves) and the index of its names.
Everything is computed from the text at once and kept until the next change."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types

from rubricdsl.analysis.lint import lint_text
from rubricdsl.core.diagnostics import Diagnostic
from rubricdsl.core.resources import diagnostic_page
from rubricdsl.core.source import Source, normalize_text
from rubricdsl.language import ast, ir, resolve, syntax
from rubricdsl.lsp.index import Index, build
from rubricdsl.lsp.positions import Lines

_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning,
             "info": types.DiagnosticSeverity.Information}
# `did you mean `X`?` or `did you mean 'X'?`: a name the author may have meant
_SURROGATE = re.compile("[\ud800-\udfff]")
_DID_YOU_MEAN = re.compile(r"did you mean [`']([^`'\s]+)[`']\?")


def suggestion(d: Diagnostic) -> str | None:
    """The name a diagnostic's `did you mean` proposes, when it proposes one name."""
    for text in (d.message, d.help or ""):
        m = _DID_YOU_MEAN.search(text)
        if m:
            return m.group(1)
    return None


def doc_uri(code: str) -> str | None:
    """The address of a code's documentation page: the page shipped with the package
    (`docs/diagnostics/RBxxx.md`, the one `rubric explain` prints), as a file URI."""
    page = diagnostic_page(code)
    return page.resolve().as_uri() if page is not None else None


@dataclass
class Document:
    uri: str
    name: str  # the file's path, or the URI when it is not a file
    text: str  # normalised (LF, no byte-order mark): what spans count in
    version: int | None
    lines: Lines
    diagnostics: list[Diagnostic]
    tree: ast.Rubric | None
    rubric: ir.RubricIR | None
    index: Index
    errors: bool  # whether the file has errors (syntax or compile)
    syntax_errors: bool
    extra: dict[str, Any] = field(default_factory=dict)

    def lsp_diagnostics(self) -> list[types.Diagnostic]:
        return [self.lsp_diagnostic(d) for d in self.diagnostics]

    def lsp_diagnostic(self, d: Diagnostic) -> types.Diagnostic:
        href = doc_uri(d.code)
        message = d.message + (f"\n{d.help}" if d.help else "")
        for note in d.notes:
            message += f"\nnote: {note}"
        return types.Diagnostic(
            range=self.lines.range(d.span), message=message, severity=_SEVERITY.get(d.severity or "error"),
            code=d.code, code_description=types.CodeDescription(href=href) if href else None, source="rubric")

    def diagnostic_at(self, rng: types.Range, code: str | None) -> Diagnostic | None:
        """The rubric diagnostic a protocol diagnostic stands for (same code and range)."""
        for d in self.diagnostics:
            if (code is None or d.code == code) and self.lines.range(d.span) == rng:
                return d
        return None


def analyse(uri: str, name: str, text: str, version: int | None = None, encoding: str = "utf-16") -> Document:
    """Lint the text as `rubric lint` does and index its names."""
    # JSON can carry a lone surrogate, which no file can hold: it reads as U+FFFD (one
    # code point for one, so that every offset stays)
    text = _SURROGATE.sub("\ufffd", text)
    norm = normalize_text(text)
    # the analysis's time budget is `rubric lint`'s default: the editor shows what it prints
    result = lint_text(text, name)
    tree, sink = syntax.parse(norm, name, recover=True)
    syntax_errors = sink.has_errors
    rubric = None
    if tree is not None:
        rubric = resolve.Checker(tree, sink, norm).run()
    index = build(tree, Source(name, norm)) if tree is not None else Index()
    errors = any(d.severity == "error" for d in result.diagnostics)
    return Document(uri, name, norm, version, Lines(norm, encoding), result.diagnostics, tree, rubric, index,
                    errors, syntax_errors)

