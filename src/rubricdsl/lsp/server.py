"""The server: pygls wiring. Each open rubric is linted (as `rubric lint` lints it) a
moment after the last change (`DEBOUNCE_SECONDS`), on one worker thread, and its
diagnostics published; requests wait for the analysis of the text they are about.
Imported files are read as the editor holds them when they are open: a change to one
lints again the open rubrics whose imports reach it."""
from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sys
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from rubricdsl.core.version import __version__
from rubricdsl.lsp import actions, completion, formatting, hover, navigation, symbols
from rubricdsl.lsp.document import Document, Unit, analyse, load_unit, overlay_reader
from rubricdsl.lsp.navigation import World
from rubricdsl.lsp.project import Project, rubric_files

#: how long the server waits after a change before it lints the text again
DEBOUNCE_SECONDS = 0.3


class RubricServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("rubric", __version__)
        self.documents: dict[str, Document] = {}
        self.pending: dict[str, asyncio.Task] = {}
        self.worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="rubric-lint")
        self.project = Project()
        self._said: set[str] = set()
        # the workspace's rubric files read for references: real path -> (stamp, unit)
        self._workspace: dict[str, tuple[tuple[int, int], Unit | None]] = {}

    # ---- analysis --------------------------------------------------------------

    def encoding(self) -> str:
        enc: Any = self.workspace.position_encoding
        enc = getattr(enc, "value", enc)
        return enc if enc in ("utf-8", "utf-16", "utf-32") else "utf-16"

    def schedule(self, uri: str, delay: float) -> None:
        old = self.pending.get(uri)
        if old is not None and not old.done():
            old.cancel()
        self.pending[uri] = asyncio.ensure_future(self._lint(uri, delay))

    def open_texts(self) -> dict[str, str]:
        """The text of every open file, by real path: what imports read."""
        out = {}
        for uri, td in list(self.workspace.text_documents.items()):
            if uri.startswith("file:"):
                path = to_fs_path(uri)
                if path:
                    out[os.path.realpath(path)] = td.source
        return out

    def dependents(self, uri: str) -> list[str]:
        """The open documents whose imports reach the file `uri` names."""
        path = to_fs_path(uri) if uri.startswith("file:") else None
        if not path:
            return []
        key = os.path.realpath(path)
        return [u for u, d in self.documents.items() if u != uri and (
            key in d.units or any(os.path.realpath(p) == key for _, p in d.imports))]

    def world(self, workspace: bool = False) -> World:
        """The files the server knows; with `workspace`, also the rubric files of the
        workspace folders that are not open (read from disk, again when they change)."""
        docs = list(self.documents.values())
        if not workspace:
            return World(docs)
        return World(docs, self.workspace_units({os.path.realpath(d.path) for d in docs if d.path is not None}))

    def workspace_roots(self) -> list[str]:
        roots = []
        for folder in list(self.workspace.folders.values()):
            path = to_fs_path(folder.uri) if folder.uri.startswith("file:") else None
            if path and os.path.isdir(path):
                roots.append(path)
        if not roots and self.workspace.root_path and os.path.isdir(self.workspace.root_path):
            roots.append(self.workspace.root_path)
        return roots

    def workspace_units(self, skip: set[str]) -> list[Unit]:
        """A unit for each rubric file of the workspace folders but those in `skip`
        (the open ones) that imports a file, read again only when its size or time has
        changed. A file that imports nothing uses no name declared elsewhere: it is not
        parsed (the file that declares a name is reached through its importers)."""
        reader = overlay_reader(self.open_texts())
        out: list[Unit] = []
        kept: dict[str, tuple[tuple[int, int], Unit | None]] = {}
        for path in rubric_files(self.workspace_roots()):
            if path in skip:
                continue
            try:
                st = os.stat(path)
            except OSError:
                continue
            stamp = (st.st_mtime_ns, st.st_size)
            old = self._workspace.get(path)
            if old is not None and old[0] == stamp:
                unit = old[1]
            else:
                try:
                    imports = b"import" in reader(path)
                except OSError:
                    continue
                unit = load_unit(path, reader, self.encoding()) if imports else None
            kept[path] = (stamp, unit)
            if unit is not None:
                out.append(unit)
        self._workspace = kept
        return out

    async def _lint(self, uri: str, delay: float) -> Document | None:
        if delay:
            await asyncio.sleep(delay)
        td = self.workspace.get_text_document(uri)
        text, version = td.source, td.version
        path = to_fs_path(uri) if uri.startswith("file:") else None
        name = path or uri
        loop = asyncio.get_running_loop()
        reader = overlay_reader(self.open_texts())

        def work() -> Document:
            doc = analyse(uri, name, text, version, self.encoding(), reader)
            doc.diagnostics = self.project.reported(doc.diagnostics, path)
            return doc

        try:
            doc = await loop.run_in_executor(self.worker, work)
        except Exception as e:  # noqa: BLE001 - a bug must not take the server down
            self.window_log_message(types.LogMessageParams(
                type=types.MessageType.Error, message=f"rubric: cannot analyse {name}: {type(e).__name__}: {e}"))
            return None
        finally:
            self.say_problems()
        if uri not in self.pending and uri not in self.documents:
            return None  # closed meanwhile
        self.documents[uri] = doc
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, version=version, diagnostics=doc.lsp_diagnostics()))
        return doc

    def say_problems(self) -> None:
        """What went wrong with the configuration or the sample data: each problem once
        as a message, every time in the log."""
        problems, self.project.problems = self.project.problems, []
        for p in problems:
            self.window_log_message(types.LogMessageParams(type=types.MessageType.Warning, message=p))
            if p not in self._said:
                self._said.add(p)
                self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=p))

    async def settled(self) -> None:
        """Wait for the analyses on their way (of every open document)."""
        for uri in list(self.pending):
            await self.document(uri)

    async def document(self, uri: str) -> Document | None:
        """The analysis of the document's current text (waiting for it if it is on its way)."""
        task = self.pending.get(uri)
        if task is not None:
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                pass
            # a newer change may have replaced the task meanwhile
            newer = self.pending.get(uri)
            if newer is not None and newer is not task:
                return await self.document(uri)
        return self.documents.get(uri)


server = RubricServer()


def relint(ls: RubricServer, uri: str, delay: float) -> None:
    """Lint a document again, and the open rubrics whose imports reach it."""
    ls.schedule(uri, delay)
    for other in ls.dependents(uri):
        ls.schedule(other, delay)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: RubricServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.documents.pop(params.text_document.uri, None)
    relint(ls, params.text_document.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: RubricServer, params: types.DidChangeTextDocumentParams) -> None:
    relint(ls, params.text_document.uri, DEBOUNCE_SECONDS)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: RubricServer, params: types.DidSaveTextDocumentParams) -> None:
    relint(ls, params.text_document.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: RubricServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    task = ls.pending.pop(uri, None)
    if task is not None:
        task.cancel()
    ls.documents.pop(uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
    for other in ls.dependents(uri):  # they read the file from disk again
        ls.schedule(other, 0)


@server.feature(types.TEXT_DOCUMENT_HOVER)
async def on_hover(ls: RubricServer, params: types.HoverParams) -> types.Hover | None:
    doc = await ls.document(params.text_document.uri)
    return hover.hover(doc, doc.lines.offset(params.position), ls.world()) if doc is not None else None


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
async def on_definition(ls: RubricServer, params: types.DefinitionParams) -> list[types.Location]:
    doc = await ls.document(params.text_document.uri)
    return navigation.definition(doc, doc.lines.offset(params.position), ls.world()) if doc is not None else []


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
async def on_references(ls: RubricServer, params: types.ReferenceParams) -> list[types.Location]:
    doc = await ls.document(params.text_document.uri)
    if doc is None:
        return []
    await ls.settled()
    loop = asyncio.get_running_loop()
    world = await loop.run_in_executor(ls.worker, ls.world, True)  # reads the workspace's files: off the loop
    return navigation.references(doc, doc.lines.offset(params.position), params.context.include_declaration, world)


@server.feature(types.TEXT_DOCUMENT_COMPLETION,
                types.CompletionOptions(trigger_characters=[" ", "{", ",", ".", ">"]))
async def on_completion(ls: RubricServer, params: types.CompletionParams) -> types.CompletionList:
    uri = params.text_document.uri
    doc = await ls.document(uri)
    if doc is None:
        return types.CompletionList(is_incomplete=False, items=[])
    offset = doc.lines.offset(params.position)
    paths: list[tuple[str, str]] = []
    if completion.wants_path(doc, offset) and uri.startswith("file:"):
        loop = asyncio.get_running_loop()
        paths = await loop.run_in_executor(ls.worker, ls.project.data_paths, to_fs_path(uri))
        ls.say_problems()
    items = completion.complete(doc, offset, paths)
    return types.CompletionList(is_incomplete=False, items=items)


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
async def on_symbols(ls: RubricServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
    doc = await ls.document(params.text_document.uri)
    return symbols.symbols(doc) if doc is not None else []


@server.feature(types.TEXT_DOCUMENT_FORMATTING)
async def on_formatting(ls: RubricServer, params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
    doc = await ls.document(params.text_document.uri)
    if doc is None:
        return None
    text = ls.workspace.get_text_document(params.text_document.uri).source
    edits = formatting.format_document(doc, text)
    if edits is None:
        ls.window_show_message(types.ShowMessageParams(
            type=types.MessageType.Warning, message="rubric: not formatted: the file has syntax errors"))
    return edits


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
async def on_code_action(ls: RubricServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    doc = await ls.document(params.text_document.uri)
    return actions.actions(doc, params.range, list(params.context.diagnostics)) if doc is not None else []


def main() -> None:
    """Serve over standard input and output until the client says exit. The protocol
    gets its own copies of the two descriptors, and standard output then points at
    standard error: a stray print cannot break a message, and closing the protocol's
    streams leaves the command's own standard output open."""
    stdin = os.fdopen(os.dup(0), "rb")
    stdout = os.fdopen(os.dup(1), "wb")
    sys.stdout.flush()
    os.dup2(2, 1)
    server.start_io(stdin, stdout)
