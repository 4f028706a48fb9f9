"""Imports: `import "PATH"` brings in another file's types, lets and levels.

A rubric's imports are found, read, parsed and checked here, each file once however
many files import it. An imported file holds `import`, `type` (with its `level` lines)
and `let` declarations only; its `rubric` header is optional and ignored; anything else
in it is an error (RB006) at that declaration, in that file. Imports are transitive: a
file sees the types and lets of the files it imports and of the files they import.

An import path is data, never a command: a relative path to a `.rubric` file, from the
directory of the file that imports it (`..` may climb out of it), with `/` between
directories. A URL, an absolute path, `~`, a backslash or a control character is an
error (RB117), and so is a file that is missing, a directory, not a regular file (a
device or a pipe is never opened), unreadable or not UTF-8. Nothing is executed and
no path is expanded. A file that imports itself, directly or through others, is an
error (RB118) naming the chain.

Files are read from the file system by default; a `Files` object reads them from
elsewhere (a git revision for `rubric diff REV:PATH`, the files shipped with a rubric to
Spark's executors), with the same checks and the same diagnostics.

The rubric's digest (the `sha256` of reports and the key of the compiled-rubric cache)
covers every imported file: see `combined_sha256`.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from rubricdsl.core.diagnostics import Diagnostic, Sink
from rubricdsl.core.source import Span, normalize_text
from rubricdsl.language import ast, ir, syntax
from rubricdsl.language.digest import combined_sha256, read_file

__all__ = ["Files", "Library", "Loader", "Refused", "TypeDef", "ImportedLet", "combined_sha256", "path_problem",
           "read_file"]

MAX_DEPTH = 64  # files importing files: deeper than this is an error
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_IMPORTABLE = (ast.Import, ast.TypeDecl, ast.Let)

Reader = Callable[[str], bytes]


class Refused(OSError):
    """A file that a `Files` object will not read (a path outside a git repository):
    `reason` follows `cannot import `PATH`: ` in the diagnostic, `help` is its help."""

    def __init__(self, reason: str, help: str) -> None:
        super().__init__(0, reason)
        self.reason = reason
        self.help = help


class Files:
    """Where imported files are read from. A path is the importing file's directory
    joined with the import path, normalised (`os.path.normpath`), starting from the
    Loader's `base`. This class reads the file system: `key` is a file's real path (one
    file reached by two paths is read once), `name` is how diagnostics name it, `read`
    returns its bytes or raises OSError (FileNotFoundError, IsADirectoryError, `Refused`
    or another). `main` is the key of the rubric itself, when it is not its real path.
    A subclass reads elsewhere; a plain `reader` callable given to the Loader reads the
    bytes and keeps the rest."""

    main: str | None = None

    def __init__(self, reader: Reader | None = None) -> None:
        self._reader = reader or read_file

    def read(self, path: str) -> bytes:
        return self._reader(path)

    def key(self, path: str) -> str:
        return os.path.realpath(path)

    def name(self, path: str) -> str:
        return path.replace(os.sep, "/")
# checks an imported file: (tree, its sink, its text, its sha256, what its imports bring
# in) -> (its types, its lets and the `let` nodes they come from)
Check = Callable[[ast.Rubric, Sink, str, str, "Library"],
                 tuple[dict[str, "TypeDef"], dict[str, ir.LetIR], dict[str, ast.Let]]]


@dataclass(eq=False)
class TypeDef:
    """A named type, resolved to its structure: the field type, the levels its `level`
    lines give, and where it is declared. `ok` is False when its declaration has an
    error (a field of it is not checked further)."""

    name: str
    type: ir.FieldType
    levels: list[tuple[Any, str]]
    span: Span
    file: str
    ok: bool = True

    def where(self) -> str:
        return f"{self.file}:{self.span.line}:{self.span.column}"


@dataclass(eq=False)
class ImportedLet:
    let: ir.LetIR
    node: ast.Let
    file: str

    def where(self) -> str:
        return f"{self.file}:{self.node.name_span.line}:{self.node.name_span.column}"


@dataclass(eq=False)
class Library:
    """What a file's imports bring in: the types and lets (by name) of the files it
    imports, transitively; `files`, every imported file (its path relative to the
    rubric's directory, and the sha256 of its bytes) in the order first reached;
    `unresolved`, the lets an imported file declares whose expression has an error
    (reported there: a use of one is no new error); and whether an import failed or an
    imported file has a syntax error (`broken`: a name the file uses may be declared in
    what could not be read, so unknown names are not reported)."""

    types: dict[str, TypeDef] = field(default_factory=dict)
    lets: dict[str, ImportedLet] = field(default_factory=dict)
    files: list[tuple[str, str]] = field(default_factory=list)
    unresolved: set[str] = field(default_factory=set)
    broken: bool = False


@dataclass(eq=False)
class _Unit:
    path: str  # as opened (relative to the working directory, or absolute)
    name: str  # as diagnostics name it
    key: str  # the real path: one unit per file
    sha256: str = ""
    exports: Library | None = None  # None while its own imports are being read


def path_problem(path: str) -> tuple[str, str] | None:
    """Why an import path is not allowed (message, help), or None."""
    shown = path if not _CONTROL.search(path) else path.encode("unicode_escape").decode("ascii")
    if not path.strip():
        return "an `import` names no file", 'write the path of a rubric file: `import "common.rubric"`'
    if _CONTROL.search(path):
        return f"the import path `{shown}` holds a control character", "write the file's path as it is"
    if _URL.match(path):
        return (f"`{shown}` is not a file path: imports read local files only",
                "copy the file next to the rubric and import it by its relative path")
    if path.startswith(("/", "\\")) or os.path.isabs(path):
        return (f"the import path `{shown}` is absolute",
                "write the path relative to the importing file's directory, e.g. `../shared/common.rubric`")
    if "\\" in path:
        return f"the import path `{shown}` holds a backslash", "separate directories with `/`"
    if path.startswith("~"):
        return f"the import path `{shown}` starts with `~`, which is not expanded", \
            "write the path relative to the importing file's directory"
    if not path.endswith(".rubric") or path.rstrip("/").split("/")[-1] == ".rubric":
        return f"`{shown}` is not a rubric file: an imported file's name ends in `.rubric`", \
            "import a `.rubric` file that holds `type`, `let` and `level` declarations"
    return None


class Loader:
    """Reads the imports of one rubric, transitively. `base`: the directory the
    rubric's own imports are relative to; `main_key`: the rubric's real path (None for
    text that is no file), so that a file importing the rubric is a cycle; `reader`:
    where files are read from, a `Files` object or a callable returning a path's bytes
    (the file system by default)."""

    def __init__(self, sink: Sink, base: str, main_key: str | None, check: Check,
                 reader: Files | Reader | None = None) -> None:
        self.sink = sink  # the rubric's: every diagnostic ends up here
        self.base = base
        self.check = check
        self.files = reader if isinstance(reader, Files) else Files(reader)
        self.units: dict[str, _Unit] = {}
        self.order: list[_Unit] = []
        main = self.files.main if self.files.main is not None else main_key
        self.stack: list[tuple[str, str]] = [(main or "", sink.source.name)]
        self.broken = False

    def library(self, tree: ast.Rubric, sink: Sink, directory: str) -> Library:
        """What the imports of a parsed file bring in (its own diagnostics go to `sink`)."""
        lib = Library()
        for node in tree.items:
            if isinstance(node, ast.Import):
                exports = self._import(node, sink, directory)
                if exports is None:
                    lib.broken = True
                    continue
                lib.broken = lib.broken or exports.broken
                lib.unresolved |= exports.unresolved
                _merge(lib, exports, node, sink)
        lib.files = [(os.path.relpath(u.path, self.base).replace(os.sep, "/"), u.sha256)
                     for u in self.order if u.exports is not None]
        return lib

    def _import(self, node: ast.Import, sink: Sink, directory: str) -> Library | None:
        problem = path_problem(node.path)
        if problem is not None:
            sink.error("RB117", problem[0], node.path_span, help=problem[1])
            return None
        path = os.path.normpath(os.path.join(directory, node.path))
        key = self.files.key(path)
        chain = [k for k, _ in self.stack]
        if key in chain:
            names = [n for _, n in self.stack[chain.index(key):]] + [self._name(path)]
            sink.error("RB118", "import cycle: " + " -> ".join(names), node.path_span,
                       help="files cannot import each other: move what they share into a third file "
                            "that both import")
            return None
        unit = self.units.get(key)
        if unit is not None:
            return unit.exports
        if len(self.stack) > MAX_DEPTH:
            sink.error("RB117", f"imports nest more than {MAX_DEPTH} files deep", node.path_span,
                       help="import the shared files from fewer levels")
            return None
        name = self._name(path)
        try:
            data = self.files.read(path)
        except Refused as e:
            return self._fail(sink, node, f"cannot import `{node.path}`: {e.reason}", e.help)
        except FileNotFoundError:
            return self._fail(sink, node, f"cannot import `{node.path}`: no such file ({name})")
        except IsADirectoryError:
            return self._fail(sink, node, f"cannot import `{node.path}`: {name} is a directory")
        except OSError as e:
            return self._fail(sink, node, f"cannot import `{node.path}`: {e.strerror or e}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            return self._fail(sink, node, f"cannot import `{node.path}`: {name} is not UTF-8 text (byte {e.start})",
                              "save the imported file as UTF-8")
        unit = _Unit(path, name, key, hashlib.sha256(data).hexdigest())
        self.units[key] = unit
        self.order.append(unit)
        self.stack.append((key, name))
        try:
            unit.exports = self._check(unit, normalize_text(text))
        finally:
            self.stack.pop()
        return unit.exports

    def _name(self, path: str) -> str:
        return self.files.name(path)

    def _fail(self, sink: Sink, node: ast.Import, message: str,
              help: str = "an import path is relative to the importing file's directory") -> None:
        sink.error("RB117", message, node.path_span, help=help)
        return None

    def _check(self, unit: _Unit, text: str) -> Library:
        """Parse and check an imported file: its exports (its own types and lets, and
        what its imports bring in). Its diagnostics go to the rubric's sink."""
        tree, sink = syntax.parse(text, unit.name, header=False)
        self.sink.sources[unit.name] = sink.source
        exports = Library()
        if tree is None:
            exports.broken = True
            self._report(sink)
            return exports
        kept = []
        for node in tree.items:
            if isinstance(node, _IMPORTABLE):
                kept.append(node)
            else:
                what, span = _describe(node)
                sink.error("RB006", f"an imported file declares types, lets and levels only, not {what}", span,
                           help="keep it in the rubric that uses it: an `import` brings in `type`, `let` and "
                                "`level` declarations")
        tree.items = kept
        lib = self.library(tree, sink, os.path.dirname(unit.path))
        types, lets, nodes = self.check(tree, sink, text, unit.sha256, lib)
        exports.types.update(lib.types)
        exports.lets.update(lib.lets)
        exports.broken = lib.broken
        exports.unresolved = lib.unresolved | {n.name for n in tree.items
                                               if isinstance(n, ast.Let) and n.name not in lets}
        exports.types.update(types)
        for name, let in lets.items():
            if name not in lib.lets:
                exports.lets[name] = ImportedLet(let, nodes[name], unit.name)
        self._report(sink)
        return exports

    def _report(self, sink: Sink) -> None:
        for d in sink.items:
            self.sink.add(d)


def _merge(lib: Library, exports: Library, node: ast.Import, sink: Sink) -> None:
    """Add what one import brings in; a name that two imports declare differently is an
    error at the second import."""
    for kind, mine, theirs in (("type", lib.types, exports.types), ("let", lib.lets, exports.lets)):
        for name, item in theirs.items():
            other = mine.get(name)
            if other is None:
                mine[name] = item
            elif other is not item:
                sink.add(Diagnostic("RB104", f"{kind} `{name}` is declared in two imported files", node.path_span,
                                    sink.source.name,
                                    help="rename one of them: imported names share one namespace",
                                    notes=[f"`{name}` is declared at {other.where()}",
                                           f"and at {item.where()}"]))


def _describe(node: Any) -> tuple[str, Span]:
    """What a declaration is (for a message) and the span to point at."""
    if isinstance(node, ast.Field):
        return f"an `{node.kind}`" if node.kind == "input" else "a `label`", node.name_span
    if isinstance(node, ast.Criterion):
        return "a `criterion`", node.name_span
    if isinstance(node, ast.Decide):
        return "a `decide`", node.label_span
    if isinstance(node, ast.Rule):
        return "a `rule`", node.name_span
    if isinstance(node, ast.Escalate):
        return "an `escalate`", node.name_span
    if isinstance(node, ast.Consensus):
        return "a `consensus` block", node.label_span
    if isinstance(node, ast.RecordBlock):
        return "a `record` block", node.span
    if isinstance(node, ast.Example):
        return "an `example`", node.span
    return "this declaration", getattr(node, "span", Span(0, 0, 1, 1, 1, 1))
