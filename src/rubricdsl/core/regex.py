"""Regexes on RE2: linear time on untrusted annotation text."""
from __future__ import annotations

from typing import Any, Callable, Protocol


class Pattern(Protocol):
    """A regex as the language writes it (`/…/flags`): RE2 source with the flags inlined."""

    @property
    def source(self) -> str: ...

_OPTIONS: Any = None


def _options() -> Any:
    global _OPTIONS
    import re2  # noqa: PLC0415 - only loaded when a rubric has regexes

    if _OPTIONS is None:
        _OPTIONS = re2.Options()
        _OPTIONS.log_errors = False
    return _OPTIONS


def compile_regex(rx: Pattern) -> Any:
    import re2  # noqa: PLC0415

    return re2.compile(rx.source, _options())


# RE2's kinds of error (how its message starts) and what rubricdsl says about each; the
# rest of RE2's message is the part of the pattern at fault. RE2's own wording never
# reaches a diagnostic: it may change with the library's version.
_KINDS = (
    ("invalid escape sequence", "`{part}` is not an escape RE2 knows (it has no backreferences and no `\\Z`)"),
    ("invalid perl operator", "`{part}` is a group RE2 does not have (no lookaround, no atomic groups)"),
    ("invalid character class range", "`{part}` is not a valid character range or class"),
    ("invalid character class", "`{part}` is not a valid character class"),
    ("missing ]", "a `[` is not closed"),
    ("missing )", "a `(` is not closed"),
    ("unexpected )", "a `)` closes no `(`"),
    ("trailing \\", "the regex ends with a lone `\\`"),
    ("no argument for repetition operator", "`{part}` repeats nothing"),
    ("bad repetition operator", "`{part}` is not a repetition RE2 accepts"),
    ("invalid repetition size", "`{part}`: a repetition count is at most 1000, and its minimum at most its maximum"),
    ("invalid UTF-8", "the regex is not valid UTF-8"),
    ("invalid named capture group", "`{part}` is not a valid group name"),
    ("pattern too large", "the regex is too large for RE2"),
)


def regex_error(rx: Pattern) -> str | None:
    """Why RE2 rejects a regex, in rubricdsl's words, or None."""
    try:
        compile_regex(rx)
    except Exception as exc:  # noqa: BLE001 - the wrapper raises its own error type
        msg = exc.args[0] if exc.args else str(exc)
        if isinstance(msg, bytes):
            msg = msg.decode("utf-8", "replace")
        return _explain(str(msg))
    return None


def _explain(msg: str) -> str:
    for kind, words in _KINDS:
        if msg.startswith(kind):
            part = msg[len(kind):].removeprefix(":").strip()
            return words.format(part=part.replace("`", "'"))
    return "RE2 cannot compile it"


def regex_matcher(rx: Pattern) -> Callable[[str], bool]:
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
