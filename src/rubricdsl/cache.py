"""A cache of compiled rubrics (the IR), so `rubric check` starts without the parser.

Keyed by the sha256 of the rubric file and a stamp of this package's own files, so
an upgrade or an edit of rubricdsl never reuses a stale entry. Only rubrics that
compiled without errors are stored. Any problem with the cache falls back to
compiling; set RUBRIC_NO_CACHE=1 to bypass it, RUBRIC_CACHE_DIR to move it.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from functools import lru_cache
from pathlib import Path

from . import __version__, ir


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
    here = Path(__file__).resolve().parent
    files = sorted(here.glob("*.py")) + sorted(here.glob("grammars/*.lark")) + sorted(here.parents[1].glob("grammars/*.lark"))
    for p in files:
        try:
            st = p.stat()
        except OSError:
            continue
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:20]


def _path(sha256: str) -> Path | None:
    d = _dir()
    if d is None:
        return None
    return d / f"ir-{sha256[:40]}-{_stamp()}.pickle"


def load(sha256: str, name: str) -> ir.RubricIR | None:
    try:
        p = _path(sha256)
        if p is None or not p.is_file():
            return None
        with open(p, "rb") as f:
            obj = pickle.load(f)  # noqa: S301 - our own per-user cache directory
        if not isinstance(obj, ir.RubricIR) or obj.sha256 != sha256:
            return None
        obj.source_name = name
        return obj
    except Exception:  # noqa: BLE001 - a broken cache entry is a miss
        return None


def store(rubric: ir.RubricIR) -> None:
    try:
        p = _path(rubric.sha256)
        if p is None:
            return
        p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=p.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(rubric, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, p)
    except Exception:  # noqa: BLE001 - caching is best effort
        pass
