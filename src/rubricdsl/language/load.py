"""The front door of the language layer: rubric text (or a rubric file) to the
resolved IR, through the cache of compiled rubrics when asked. Every command and the
Python API read rubric files here."""
from __future__ import annotations

import hashlib
from pathlib import Path

from rubricdsl.core.diagnostics import RubricError
from rubricdsl.core.source import normalize_text
from rubricdsl.language import cache, ir


def compile_text(text: str, name: str = "<string>", sha256: str | None = None, use_cache: bool = False) -> ir.RubricIR:
    """Parse and check rubric text. Raises RubricError with every diagnostic found.

    With `use_cache` (and a sha256), a rubric compiled before is read from the cache.
    """
    if use_cache and sha256:
        hit = cache.load(sha256, name)
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
    rubric = resolve.Checker(tree, sink, norm, sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest()).run()
    if sink.has_errors:
        raise RubricError(sink.sorted(), {name: source})
    if use_cache and sha256:
        cache.store(rubric)
    return rubric


def read_rubric_file(path: str | Path) -> tuple[str, str]:
    """(text, sha256 of the file's bytes). Raises OSError / UnicodeDecodeError."""
    data = Path(path).read_bytes()
    return data.decode("utf-8"), hashlib.sha256(data).hexdigest()
