"""Output files: the one policy of every command that writes one (`check -o` and
`--report`, `lint -o`, `diff -o`, `agreement -o`, `test --junit`, `doc -o`, `init -o`, `fmt`).

- `-` (or no file) is standard output.
- An output that is the same file as an input (same device and inode, whatever the
  names) is refused before anything is read or written: `refuse_inputs`.
- A regular file (or a name that does not exist yet) is written to a temporary file in
  the same directory, which is renamed over the target only when everything was
  written; on any failure (disk full, a data file that cannot be read, Ctrl-C) the
  temporary file is removed and the target is left as it was. A replaced file keeps its
  permission bits; a new one gets the usual ones (0666 less the umask). A symbolic link
  is followed: the file it points to is replaced, the link stays.
- Anything else that exists (`/dev/null`, `/dev/stdout`, a named pipe) is written in
  place: it cannot be renamed over, and there is nothing to keep.
- Standard output is guarded (`guard_stdout`): a write that fails for another reason
  than a closed pipe becomes an `OutputError` naming it.

Every problem is an `OutputError` whose text is one line: `FILE: cannot write: CAUSE`.
Set RUBRIC_FSYNC=1 to also flush each file to disk before it is renamed into place.
"""
from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
import tempfile
from typing import IO, Any, Iterable, Iterator

STDOUT = "-"


class OutputError(Exception):
    """An output that cannot be written; the message is one line for the user."""


def _cause(e: BaseException) -> str:
    if isinstance(e, OSError):
        return e.strerror or str(e) or type(e).__name__
    return str(e) or type(e).__name__


def is_stdout(path: str | None) -> bool:
    return path is None or path == STDOUT


# ---- outputs that are inputs ------------------------------------------------------------------


def _identity(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino, st.st_mode


def same_file(a: str, b: str) -> bool:
    """Whether two names are one file (device and inode; character devices such as
    /dev/null never count: writing one does not destroy what reading it gave)."""
    ia, ib = _identity(a), _identity(b)
    if ia is None or ib is None or ia[:2] != ib[:2]:
        return False
    return not stat.S_ISCHR(ia[2])


def refuse_inputs(output: str | None, inputs: Iterable[str | None], option: str = "-o") -> None:
    """Raise OutputError when `output` is the same file as one of `inputs`."""
    if is_stdout(output):
        return
    assert output is not None
    for name in inputs:
        if name is None or name == STDOUT:
            continue
        if same_file(output, name):
            shown = "" if os.path.abspath(name) == os.path.abspath(output) else f" ({name})"
            raise OutputError(f"{option} {output}: is also an input{shown}; refusing to overwrite it")


# ---- atomic files -----------------------------------------------------------------------------


def _new_file_mode() -> int:
    um = os.umask(0)
    os.umask(um)
    return 0o666 & ~um


# The one system write of every output file and of standard output (a test injects a full
# disk here).
_raw_write = io.FileIO.write


class _Guarded(io.FileIO):
    """A file whose write errors (other than a closed pipe) are OutputErrors naming it."""

    def __init__(self, file: int | str, label: str, closefd: bool = True) -> None:
        super().__init__(file, "wb", closefd=closefd)
        self._label = label

    def write(self, b: Any) -> int:  # type: ignore[override]
        try:
            return _raw_write(self, b)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise OutputError(f"{self._label}: cannot write: {_cause(e)}") from None


def _wrap(raw: io.FileIO, binary: bool) -> IO[Any]:
    buffered = io.BufferedWriter(raw, 1 << 16)
    return buffered if binary else io.TextIOWrapper(buffered, encoding="utf-8", newline="\n")


@contextlib.contextmanager
def _in_place(path: str, shown: str, binary: bool) -> Iterator[IO[Any]]:
    """A file that exists but is not a regular file: written as it is."""
    try:
        fh = _wrap(_Guarded(path, shown), binary)
    except OSError as e:
        raise OutputError(f"{shown}: cannot write: {_cause(e)}") from None
    try:
        yield fh
        fh.flush()
    finally:
        with contextlib.suppress(OSError, OutputError):
            fh.close()


@contextlib.contextmanager
def atomic(path: str, binary: bool = False, display: str | None = None) -> Iterator[IO[Any]]:
    """Write `path` all at once: a temporary file in its directory, renamed into place
    when the block ends without an exception, removed otherwise."""
    shown = display or path
    try:
        st: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise OutputError(f"{shown}: cannot write: {_cause(e)}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{shown}: cannot write: is a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):  # /dev/stdout, /dev/null, a named pipe
        with _in_place(path, shown, binary) as fh:
            yield fh
        return
    target = os.path.realpath(path)  # through symbolic links: the file is replaced, the link stays
    directory = os.path.dirname(target) or "."
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    except OSError as e:
        raise OutputError(f"{shown}: cannot write: {_cause(e)}") from None
    done = False
    try:
        try:
            os.fchmod(fd, stat.S_IMODE(st.st_mode) if st is not None else _new_file_mode())
            raw = _Guarded(fd, shown)
        except BaseException as e:
            os.close(fd)
            if isinstance(e, OSError):
                raise OutputError(f"{shown}: cannot write: {_cause(e)}") from None
            raise
        fh = _wrap(raw, binary)
        try:
            yield fh
            fh.flush()
            if os.environ.get("RUBRIC_FSYNC"):
                _own(os.fsync, shown, raw.fileno())
        finally:
            with contextlib.suppress(OSError, OutputError):
                fh.close()
        _own(os.replace, shown, tmp, target)
        done = True
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _own(fn: Any, shown: str, *args: Any) -> None:
    try:
        fn(*args)
    except OSError as e:
        raise OutputError(f"{shown}: cannot write: {_cause(e)}") from None


@contextlib.contextmanager
def output(path: str | None, binary: bool = False) -> Iterator[IO[Any]]:
    """`atomic(path)`, or standard output for `-` or None (flushed at the end, not closed)."""
    if not is_stdout(path):
        assert path is not None
        with atomic(path, binary) as fh:
            yield fh
        return
    stream: IO[Any] = sys.stdout.buffer if binary else sys.stdout
    yield stream
    stream.flush()


def write_text(path: str | None, text: str) -> None:
    """The whole of `text` to `path` (atomically) or to standard output."""
    with output(path) as fh:
        fh.write(text)


# ---- standard output ------------------------------------------------------------------------


class _Closed(io.RawIOBase):
    """Standard output when the process was started with it closed."""

    def writable(self) -> bool:
        return True

    told = False

    def write(self, b: Any) -> int:
        if _Closed.told:  # said once; what is left at exit goes nowhere
            return len(b)
        _Closed.told = True
        raise OutputError("standard output: cannot write: it is closed")


def guard_stdout() -> bool:
    """Route standard output through a stream whose write errors name it; only when
    sys.stdout is the process's own (not in a test runner that captured it). When
    standard input or output was closed at start, its descriptor is held on /dev/null,
    so that no file this process opens takes its place."""
    for fd, name in ((0, "stdin"), (1, "stdout")):
        if getattr(sys, name) is None and getattr(sys, f"__{name}__") is None:
            try:
                os.fstat(fd)
            except OSError:
                with contextlib.suppress(OSError):
                    held = os.open(os.devnull, os.O_RDWR)
                    if held != fd:
                        os.close(held)
    if sys.stdout is None and sys.__stdout__ is None:
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(_Closed()), encoding="utf-8")
        return True
    out = sys.stdout
    if out is not sys.__stdout__:
        return False
    try:
        fd = out.fileno()
        out.flush()
    except (OSError, ValueError, AttributeError):
        return False
    raw = _Guarded(fd, "standard output", closefd=False)
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(raw, 1 << 16), encoding=out.encoding, errors=out.errors,
                                  line_buffering=out.line_buffering)
    return True


def discard_stdout() -> None:
    """After a closed pipe or a failed write: send whatever is still buffered for standard
    output to /dev/null, so that nothing fails again at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


__all__ = ["OutputError", "atomic", "output", "write_text", "refuse_inputs", "same_file", "guard_stdout",
           "discard_stdout", "is_stdout"]
