"""The front door of the language layer: rubric text (or a rubric file) to the
resolved IR, through the cache of compiled rubrics when asked. Every command and the
Python API read rubric files here."""
from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from rubricdsl.core.diagnostics import RubricError
from rubricdsl.core.source import normalize_text
from rubricdsl.language import cache, ir

if TYPE_CHECKING:  # pragma: no cover - the parser (through imports) is loaded only to compile
    from rubricdsl.language.imports import Files


def compile_text(text: str, name: str = "<string>", sha256: str | None = None, use_cache: bool = False,
                 base: str | None = None, reader: Files | None = None) -> ir.RubricIR:
    """Parse and check rubric text. Raises RubricError with every diagnostic found.

    `import` paths are relative to `base`, by default the directory of `name` (the
    working directory when `name` is no path, as `<string>`), read from the file system
    or by `reader` (`imports.Files`: a git revision, files shipped with the rubric; the
    cache is not used with one). `sha256` is the digest of
    the text's file; the IR's `sha256` also covers the imported files (see
    `imports.combined_sha256`). With `use_cache` (and a sha256), a rubric compiled
    before is read from the cache when neither it nor a file it imports has changed.
    """
    use_cache = use_cache and reader is None
    if use_cache and sha256:
        hit = cache.load(sha256, name, _base(name, base))
        if hit is not None:
            return hit
    # the parser (and lark with it) is imported only when there is something to parse:
    # a rubric read from the cache starts without it
    from rubricdsl.language import resolve, syntax  # noqa: PLC0415

    norm = normalize_text(text)
    tree, sink = syntax.parse(norm, name)
    source = sink.source
    if tree is None or sink.has_errors:
        raise RubricError(sink.sorted(), {name: source})
    rubric = resolve.Checker(tree, sink, norm, sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest(),
                             base=base, reader=reader).run()
    if sink.has_errors:
        raise RubricError(sink.sorted(), dict(sink.sources))
    if use_cache and sha256:
        cache.store(rubric, sha256)
    return rubric


def _base(name: str, base: str | None) -> str:
    """The directory a rubric's imports are relative to."""
    if base is not None:
        return base or "."
    return (os.path.dirname(name) if not name.startswith("<") else "") or "."


class RubricFileError(Exception):
    """A rubric file that cannot be read. `str()` is the one line every command prints:
    `PATH: no such file`, `PATH: is a directory, not a rubric file`, `PATH: not UTF-8
    text (byte N)`, `PATH: cannot read: CAUSE`. Each is also the error Python raises for
    it (`FileNotFoundError`, `IsADirectoryError`, `UnicodeDecodeError`, `OSError`), so
    callers of `rubricdsl.load` may catch either."""

    message = ""

    def __str__(self) -> str:
        return self.message


class _NoFile(RubricFileError, FileNotFoundError):
    pass


class _Directory(RubricFileError, IsADirectoryError):
    pass


class _CannotRead(RubricFileError, OSError):
    pass


class _NotUTF8(RubricFileError, UnicodeDecodeError):
    pass


def decode_rubric(data: bytes, name: str) -> str:
    """The text of a rubric's bytes; raises RubricFileError when they are not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        err = _NotUTF8(e.encoding, e.object, e.start, e.end, e.reason)
        err.message = f"{name}: not UTF-8 text (byte {e.start})"
        raise err from None


def read_rubric_file(path: str | Path) -> tuple[str, str]:
    """(text, sha256 of the file's bytes) of a rubric file: the one reader of rubric files
    for every command and the Python API. Raises RubricFileError."""
    name = str(path)
    err: RubricFileError
    if not os.path.exists(path):
        err = _NoFile(errno.ENOENT, os.strerror(errno.ENOENT), name)
        err.message = f"{name}: no such file"
        raise err
    if os.path.isdir(path):
        err = _Directory(errno.EISDIR, os.strerror(errno.EISDIR), name)
        err.message = f"{name}: is a directory, not a rubric file"
        raise err
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        err = _CannotRead(e.errno, e.strerror, name)
        err.message = f"{name}: cannot read: {e.strerror}"
        raise err from None
    return decode_rubric(data, name), hashlib.sha256(data).hexdigest()
