"""A cache of compiled rubrics (the IR), so `rubric check` starts without the parser.

Keyed by the sha256 of the rubric file and a stamp of this package's own files, so
an upgrade or an edit of rubricdsl never reuses a stale entry. An entry of a rubric that
imports files lists them (path relative to the rubric's directory, sha256): it is used
only while each of them still has that sha256, so an edit of an imported file compiles
the rubric anew (and changes its `sha256`, which covers the imported files). Only rubrics that
compiled without errors are stored. Any problem with the cache falls back to
compiling; set RUBRIC_NO_CACHE=1 to bypass it, RUBRIC_CACHE_DIR to move it.

An entry is data, never code: JSON holding a table of IR objects, each a class name
from `rubricdsl.language.ir` and its fields, whose values are JSON values, lists, tuples, sets,
mappings, spans (six integers) and references to other objects of the table. Loading one builds
those objects and nothing else, so whoever can write to the cache directory cannot run
code in a `rubric` process (a pickle would let them). An entry that does not load (not
JSON, an unknown class or field, another rubric's sha256), that is not owned by the
user, or that others may write, is ignored and rebuilt.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import stat
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from rubricdsl.language import ir
from rubricdsl.language.limits import collector_paused
from rubricdsl.core.version import __version__
from rubricdsl.core.resources import package_files
from rubricdsl.core.paths import AT, Select
from rubricdsl.core.source import Span

FORMAT = 6  # 3: paths with `@` and selectors; 4: `show` in the record block; 5: imports; 6: big integers
_MAX_BYTES = 64 << 20  # an entry larger than this is not one this package wrote
_INT64 = 1 << 63
_INT_DIGITS = 400  # a number literal is at most a double's range: 309 digits


def _dir() -> Path | None:
    if os.environ.get("RUBRIC_NO_CACHE"):
        return None
    base = os.environ.get("RUBRIC_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(xdg) if xdg else Path.home() / ".cache"
    return root / "rubricdsl"


@lru_cache(maxsize=1)
def _stamp() -> str:
    h = hashlib.sha256(__version__.encode())
    for p in package_files():
        try:
            st = p.stat()
        except OSError:
            continue
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:20]


def entry_path(sha256: str) -> Path | None:
    """Where the cache keeps the compiled rubric of this sha256 (None: no cache)."""
    d = _dir()
    if d is None:
        return None
    return d / f"ir-{sha256[:40]}-{_stamp()}.json"


# ---- the parser's own cache ----------------------------------------------------------------------


def grammar_cache() -> str | bool:
    """Where Lark may keep its analysis of the grammar (a pickle, which Lark loads): in a
    directory that only this user can write, `$XDG_STATE_HOME/rubricdsl` (default
    `~/.local/state/rubricdsl`), never the shared temporary directory (Lark's default, where
    another user could plant the file) nor the cache directory (which may be shared). False
    (no cache) when there is no such directory or RUBRIC_NO_CACHE is set."""
    if os.environ.get("RUBRIC_NO_CACHE"):
        return False
    try:
        xdg = os.environ.get("XDG_STATE_HOME")
        d = (Path(xdg) if xdg else Path.home() / ".local" / "state") / "rubricdsl"
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = os.stat(d, follow_symlinks=False)
        getuid = getattr(os, "getuid", None)
        if not stat.S_ISDIR(st.st_mode) or st.st_mode & 0o022 or (getuid is not None and st.st_uid != getuid()):
            return False
        import sys  # noqa: PLC0415

        name = d / f"grammar-{_stamp()}-{sys.version_info[0]}.{sys.version_info[1]}.lark"
        if name.exists():
            fst = os.stat(name, follow_symlinks=False)
            if not stat.S_ISREG(fst.st_mode) or fst.st_mode & 0o022 or (getuid is not None and fst.st_uid != getuid()):
                return False
        return str(name)
    except (OSError, RuntimeError):
        return False


# ---- the format ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _classes() -> dict[str, tuple[type, tuple[str, ...]]]:
    """The classes an entry may name: the IR's dataclasses and Span, with their fields."""
    out: dict[str, tuple[type, tuple[str, ...]]] = {}
    for obj in list(vars(ir).values()) + [Span, Select]:
        if isinstance(obj, type) and dataclasses.is_dataclass(obj):
            out[obj.__name__] = (obj, tuple(f.name for f in dataclasses.fields(obj)))
    return out


class _Unsupported(Exception):
    """A value the format does not hold: the rubric is not cached."""


def encode(rubric: ir.RubricIR, key: str | None = None) -> bytes:
    """An IR as the bytes of a cache entry; `key`: the sha256 of the rubric file (by
    default the IR's, which differs when the rubric imports files)."""
    with collector_paused():  # a table of many small objects, none of them in a cycle
        return _encode(rubric, key)


def _encode(rubric: ir.RubricIR, key: str | None) -> bytes:
    classes = _classes()
    table: list[Any] = []
    index: dict[int, int] = {}
    keep: list[Any] = []  # every object encoded stays alive, so no id() is reused meanwhile
    pending: list[tuple[int, Any]] = []  # objects numbered, their fields not yet encoded

    def obj(o: Any) -> dict[str, int]:
        # numbered now, encoded by the loop below: no recursion along a chain of
        # thousands of operators
        n = index.get(id(o))
        if n is None:
            name = type(o).__name__
            if classes.get(name, (None,))[0] is not type(o):
                raise _Unsupported(name)
            n = index[id(o)] = len(table)
            keep.append(o)
            table.append(None)
            pending.append((n, o))
        return {"@": n}

    def val(v: Any) -> Any:
        t = type(v)
        if v is None or t is bool or t is str:
            return v
        if t is int:  # JSON readers take an integer beyond 64 bits for a float: tagged, as digits
            return v if -_INT64 <= v < _INT64 else {"i": str(v)}
        if t is float:
            if not math.isfinite(v):
                return {"n": repr(v)}
            return v
        if t is list:
            return [val(x) for x in v]
        if t is tuple:
            return {"t": [val(x) for x in v]}
        if t is frozenset:
            return {"f": [val(x) for x in v]}
        if t is dict:
            return {"d": [[val(k), val(x)] for k, x in v.items()]}
        if t is Span:  # the most frequent object: six integers, inline
            return {"s": [v.start, v.end, v.line, v.column, v.end_line, v.end_column]}
        if v is AT:  # a path that starts at the judgment (`@`)
            return {"a": 1}
        if dataclasses.is_dataclass(v):
            return obj(v)
        raise _Unsupported(t.__name__)

    root = obj(rubric)["@"]
    while pending:
        n, o = pending.pop()
        name = type(o).__name__
        table[n] = [name, {f: val(getattr(o, f)) for f in classes[name][1]}]
    doc = {"format": FORMAT, "sha256": key or rubric.sha256, "root": root, "objects": table}
    try:
        return orjson.dumps(doc)
    except orjson.JSONEncodeError as e:  # a lone surrogate (no rubric that compiles holds one)
        raise _Unsupported(str(e)) from None


def decode(data: bytes, sha256: str) -> ir.RubricIR:
    """The IR of a cache entry; raises on anything this package would not have written."""
    with collector_paused():  # as in `encode`: objects by the hundred thousand, no cycles
        return _decode(data, sha256)


def _decode(data: bytes, sha256: str) -> ir.RubricIR:
    doc = orjson.loads(data)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("sha256") != sha256:
        raise ValueError("not an entry of this format for this rubric")
    classes = _classes()
    table = doc["objects"]
    if not isinstance(table, list):
        raise ValueError("bad object table")
    new = object.__new__
    # every object first (fields are set below: references may point forward)
    objs: list[Any] = [new(classes[name][0]) for name, _ in table]
    n_objs = len(objs)
    plain = (type(None), bool, int, str, float)

    def val(v: Any) -> Any:
        t = type(v)
        if t in plain:
            return v
        if t is list:
            return [x if type(x) in plain else val(x) for x in v]
        if t is dict and len(v) == 1:
            (tag, x), = v.items()
            if tag == "@" and type(x) is int and 0 <= x < n_objs:
                return objs[x]
            if tag == "s" and type(x) is list and len(x) == 6 and all(type(i) is int for i in x):
                return Span(*x)
            if type(x) is list:
                if tag == "t":
                    return tuple(val(y) for y in x)
                if tag == "f":
                    return frozenset(val(y) for y in x)
                if tag == "d":
                    return {val(k): val(y) for k, y in x}
            if tag == "n" and x in ("inf", "-inf", "nan"):
                return float(x)
            if tag == "i" and type(x) is str and 0 < len(x) <= _INT_DIGITS and x.lstrip("-").isdigit():
                return int(x)
            if tag == "a" and x == 1:
                return AT
        raise ValueError("bad value")

    setattr_ = object.__setattr__
    for o, (name, fields) in zip(objs, table):
        names = classes[name][1]
        if type(fields) is not dict or len(fields) != len(names):
            raise ValueError(f"fields of {name}")
        for f in names:
            v = fields[f]  # a missing field is a KeyError
            setattr_(o, f, v if type(v) in plain else val(v))
    root = doc["root"]
    if type(root) is not int or not 0 <= root < n_objs or type(objs[root]) is not ir.RubricIR:
        raise ValueError("bad root")
    return objs[root]


# ---- load and store ------------------------------------------------------------------------------


def _trusted(st: os.stat_result) -> bool:
    """An entry this user wrote and nobody else may change."""
    getuid = getattr(os, "getuid", None)
    if getuid is not None and st.st_uid != getuid():
        return False
    return stat.S_ISREG(st.st_mode) and not st.st_mode & 0o022 and st.st_size <= _MAX_BYTES


def load(sha256: str, name: str, base: str = ".") -> ir.RubricIR | None:
    """The cached IR of the rubric file whose bytes have this sha256 (None: a miss). The
    files it imports are read again (relative to `base`): one changed is a miss."""
    try:
        p = entry_path(sha256)
        if p is None:
            return None
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not _trusted(os.fstat(f.fileno())):
                return None
            obj = decode(f.read(), sha256)
        if obj.sha256 != _digest(sha256, obj.imports, base):
            return None
        obj.source_name = name
        return obj
    except Exception:  # noqa: BLE001 - a missing or broken cache entry is a miss
        return None


def _digest(sha256: str, imports: tuple[tuple[str, str], ...], base: str) -> str | None:
    """The rubric's digest with the imported files as they are now (None: one of them
    cannot be read or has changed)."""
    if not imports:
        return sha256
    from rubricdsl.language.digest import combined_sha256, read_file  # noqa: PLC0415

    now = []
    for path, sha in imports:
        # the paths this package wrote: relative, to `.rubric` files (read_file opens regular files only)
        if type(path) is not str or type(sha) is not str or os.path.isabs(path) or not path.endswith(".rubric"):
            return None
        try:
            h = hashlib.sha256(read_file(os.path.join(base, path))).hexdigest()
        except OSError:
            return None
        if h != sha:
            return None
        now.append(h)
    return combined_sha256(sha256, now)


def store(rubric: ir.RubricIR, key: str | None = None) -> None:
    """Keep a compiled rubric; `key`: the sha256 of its file (by default the IR's)."""
    try:
        p = entry_path(key or rubric.sha256)
        if p is None:
            return
        data = encode(rubric, key)
        p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=p.parent, suffix=".tmp")  # 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, p)
        except BaseException:
            os.unlink(tmp)
            raise
    except Exception:  # noqa: BLE001 - caching is best effort
        pass
