"""Regexes on RE2: linear time on untrusted annotation text."""
from __future__ import annotations

from typing import Any, Callable

from . import ir

_OPTIONS: Any = None


def _options() -> Any:
    global _OPTIONS
    import re2  # noqa: PLC0415 - only loaded when a rubric has regexes

    if _OPTIONS is None:
        _OPTIONS = re2.Options()
        _OPTIONS.log_errors = False
    return _OPTIONS


def compile_regex(rx: ir.Regex) -> Any:
    import re2  # noqa: PLC0415

    return re2.compile(rx.source, _options())


def regex_error(rx: ir.Regex) -> str | None:
    """Why RE2 rejects a regex, or None."""
    try:
        compile_regex(rx)
    except Exception as exc:  # noqa: BLE001 - the wrapper raises its own error type
        msg = exc.args[0] if exc.args else str(exc)
        if isinstance(msg, bytes):
            msg = msg.decode("utf-8", "replace")
        return str(msg)
    return None


def regex_matcher(rx: ir.Regex) -> Callable[[str], bool]:
    """A fast `does it match anywhere` test on RE2.

    The wrapper's `search` builds match objects and maps byte offsets back to
    characters; a boolean needs neither, so this calls RE2's Match directly.
    """
    compiled = compile_regex(rx)
    low = getattr(compiled, "_regexp", None)
    try:
        from re2 import _re2  # noqa: PLC0415

        unanchored = _re2.RE2.Anchor.UNANCHORED
        low.Match(unanchored, b"", 0, 0)  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - another wrapper version: use its public API
        search = compiled.search
        return lambda text: search(text) is not None
    match = low.Match  # type: ignore[union-attr]

    def matches(text: str) -> bool:
        b = text.encode("utf-8", "surrogatepass")
        return match(unanchored, b, 0, len(b))[0][0] >= 0

    return matches
