"""What the server knows of one open rubric: its text, the diagnostics `rubric lint`
gives for it, its AST, its IR (as far as it resolves), the index of its names and the
files its imports reach (each with its own index: `Unit`). Everything is computed from
the text at once (imported files as the editor holds them when they are open, see
`overlay_reader`) and kept until the next change."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from lsprotocol import types

from rubricdsl.analysis.lint import lint_text
from rubricdsl.core.diagnostics import Diagnostic
from rubricdsl.core.resources import diagnostic_page
from rubricdsl.core.source import Source, normalize_text
from rubricdsl.language import ast, ir, resolve, syntax
from rubricdsl.language.imports import Library, TypeDef, path_problem, read_file
from rubricdsl.lsp.index import Index, Outside, build
from rubricdsl.lsp.positions import Lines

Reader = Callable[[str], bytes]

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


def overlay_reader(texts: dict[str, str]) -> Reader:
    """A reader of imported files that gives the text an editor holds for the files it
    has open (`texts`, by real path) and reads the others from disk."""
    def read(path: str) -> bytes:
        text = texts.get(os.path.realpath(path))
        if text is not None:
            return text.encode("utf-8", "surrogatepass")
        return read_file(path)
    return read


def file_uri(path: str) -> str:
    return Path(path).absolute().as_uri()


@dataclass
class Unit:
    """A file a document's imports reach: what go to definition, references and hover
    need of it (the text as the reader gave it)."""

    path: str  # as the loader names it: the import path joined to the importing file's directory
    uri: str
    text: str
    lines: Lines
    tree: ast.Rubric | None
    index: Index
    library: Library
    imports: list[tuple[ast.Import, str]]  # each `import` line and the file it names
    types: dict[str, TypeDef] = field(default_factory=dict)  # its own and imported types, resolved


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
    library: Library = field(default_factory=Library)
    imports: list[tuple[ast.Import, str]] = field(default_factory=list)
    units: dict[str, Unit] = field(default_factory=dict)  # the files its imports reach, by real path
    types: dict[str, TypeDef] = field(default_factory=dict)  # its own and imported types, resolved

    @property
    def path(self) -> str | None:
        return self.name if self.uri.startswith("file:") else None

    def unit(self, path: str) -> Unit | None:
        return self.units.get(os.path.realpath(path))

    def lsp_diagnostics(self) -> list[types.Diagnostic]:
        return [self.lsp_diagnostic(d) for d in self.diagnostics]

    def lsp_diagnostic(self, d: Diagnostic) -> types.Diagnostic:
        href = doc_uri(d.code)
        message = d.message + (f"\n{d.help}" if d.help else "")
        for note in d.notes:
            message += f"\nnote: {note}"
        rng = self.lines.range(d.span)
        related = None
        if d.file != self.name:
            # in a file the rubric imports: shown at the `import` line that reaches it,
            # with the place in that file
            node = self.import_reaching(d.file)
            rng = self.lines.range(node.path_span) if node is not None else types.Range(
                types.Position(0, 0), types.Position(0, 0))
            unit = self.unit(d.file)
            where = f"{d.file}:{d.span.line}:{d.span.column}"
            message = f"in {where}: {message}"
            if unit is not None:
                related = [types.DiagnosticRelatedInformation(
                    types.Location(unit.uri, unit.lines.range(d.span)), d.message)]
        return types.Diagnostic(
            range=rng, message=message, severity=_SEVERITY.get(d.severity or "error"),
            code=d.code, code_description=types.CodeDescription(href=href) if href else None, source="rubric",
            related_information=related)

    def own(self, d: Diagnostic) -> bool:
        """Whether a diagnostic is in this file (not in a file its imports reach)."""
        return d.file == self.name

    def import_reaching(self, file: str) -> ast.Import | None:
        """The `import` line of this document through which its imports reach `file`."""
        key = os.path.realpath(file)
        for node, path in self.imports:
            if os.path.realpath(path) == key:
                return node
        for node, path in self.imports:
            if key in reached(self, path):
                return node
        return None

    def diagnostic_at(self, rng: types.Range, code: str | None) -> Diagnostic | None:
        """The rubric diagnostic a protocol diagnostic stands for (same code and range)."""
        for d in self.diagnostics:
            if self.own(d) and (code is None or d.code == code) and self.lines.range(d.span) == rng:
                return d
        return None


def analyse(uri: str, name: str, text: str, version: int | None = None, encoding: str = "utf-16",
            reader: Reader | None = None) -> Document:
    """Lint the text as `rubric lint` does (its imports read with `reader`) and index
    its names and those of the files its imports reach."""
    # JSON can carry a lone surrogate, which no file can hold: it reads as U+FFFD (one
    # code point for one, so that every offset stays)
    text = _SURROGATE.sub("\ufffd", text)
    norm = normalize_text(text)
    reader = reader or read_file
    # the analysis's time budget is `rubric lint`'s default: the editor shows what it prints
    result = lint_text(text, name, reader=reader)
    tree, sink = syntax.parse(norm, name, recover=True)
    syntax_errors = sink.has_errors
    rubric = None
    library = Library()
    own_types: dict[str, TypeDef] = {}
    if tree is not None:
        checker = resolve.Checker(tree, sink, norm, reader=reader)
        rubric = checker.run()
        library = checker.library or library
        own_types = checker.types
    index = build(tree, Source(name, norm), outside(library)) if tree is not None else Index()
    errors = any(d.severity == "error" for d in result.diagnostics)
    doc = Document(uri, name, norm, version, Lines(norm, encoding), result.diagnostics, tree, rubric, index,
                   errors, syntax_errors, library=library)
    if tree is not None:
        doc.types = {**library.types, **own_types}
    if uri.startswith("file:") and tree is not None:
        doc.imports = imports_of(tree, name)
        base = os.path.dirname(name) or "."
        for rel, _sha in library.files:
            path = os.path.normpath(os.path.join(base, rel))
            unit = load_unit(path, reader, encoding)
            if unit is not None:
                doc.units.setdefault(os.path.realpath(path), unit)
    return doc


def imports_of(tree: ast.Rubric, name: str) -> list[tuple[ast.Import, str]]:
    """Each `import` line of a file and the path of the file it names (joined to the
    directory of `name`), for the lines whose path is allowed."""
    directory = os.path.dirname(name)
    return [(node, os.path.normpath(os.path.join(directory, node.path))) for node in tree.items
            if isinstance(node, ast.Import) and path_problem(node.path) is None]


def outside(library: Library) -> Outside:
    """The names a library brings in, for the index."""
    out = Outside(lets=set(library.lets))
    for tname, td in library.types.items():
        values = list(td.type.enum.values) if td.type.enum is not None else []
        out.types[tname] = (values, [str(lv[0]) for lv in td.levels])
    return out


def load_unit(path: str, reader: Reader, encoding: str = "utf-16") -> Unit | None:
    """An imported file's names (None when it cannot be read: its import has the error)."""
    try:
        text = normalize_text(reader(path).decode("utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    tree, sink = syntax.parse(text, path, recover=True, header=False)
    library = Library()
    index = Index()
    imports: list[tuple[ast.Import, str]] = []
    types: dict[str, TypeDef] = {}
    if tree is not None:
        checker = resolve.Checker(tree, sink, text, reader=reader)
        checker.run()
        library = checker.library or library
        index = build(tree, Source(path, text), outside(library))
        imports = imports_of(tree, path)
        types = {**library.types, **checker.types}
    return Unit(path, file_uri(path), text, Lines(text, encoding), tree, index, library, imports, types)


def reached(doc: Document | Unit, path: str) -> set[str]:
    """The real paths of `path` and of every file its imports reach (as `doc` knows them)."""
    unit = doc.unit(path) if isinstance(doc, Document) else None
    out = {os.path.realpath(path)}
    if unit is not None:
        base = os.path.dirname(unit.path) or "."
        out |= {os.path.realpath(os.path.join(base, rel)) for rel, _ in unit.library.files}
    return out

