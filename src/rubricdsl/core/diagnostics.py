"""Diagnostics: coded, positioned problems with a rubric, and their rendering."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rubricdsl.core.codes import CODES
from rubricdsl.core.source import Source, Span


@dataclass(slots=True)
class Diagnostic:
    """One problem in a rubric: a code (RBxxx), a message, where it is, and help."""

    code: str
    message: str
    span: Span
    file: str
    help: str | None = None
    severity: str | None = None
    witness: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    record: dict[str, Any] | None = None  # a JSON record showing the problem (static analysis)
    check_override: str | None = None  # the spec's check, when the code alone does not say it
    regions: list[dict[str, Any]] | None = None  # a gap's or overlap's situations, as disjoint regions
    regions_total: int | None = None  # how many regions there are (None: not all were found)

    def __post_init__(self) -> None:
        if self.severity is None:
            self.severity = CODES[self.code].severity

    @property
    def name(self) -> str:
        """The code's name (`unknown-name`)."""
        return CODES[self.code].name

    @property
    def check(self) -> str:
        """The check it belongs to, as the JSON output names it (`unknown_name`, `gap`, …)."""
        return self.check_override or CODES[self.code].check

    @property
    def line(self) -> int:
        """1-based line of the span's start."""
        return self.span.line

    @property
    def column(self) -> int:
        """1-based column of the span's start."""
        return self.span.column

    def to_dict(self) -> dict[str, Any]:
        """The diagnostic as `rubric lint --format json` writes it."""
        d: dict[str, Any] = {
            "check": self.check,
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "file": self.file,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "message": self.message,
            "help": self.help,
        }
        if self.witness is not None:
            d["witness"] = self.witness
        if self.record is not None:
            d["record"] = self.record
        if self.notes:
            d["notes"] = list(self.notes)
        if self.regions is not None:
            d["regions"] = list(self.regions)
            d["regions_total"] = self.regions_total
        return d


class Sink:
    """Collects diagnostics from every phase; phases keep going after an error."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.items: list[Diagnostic] = []
        self._seen: set[tuple[str, str, int, str]] = set()
        # every file a diagnostic may point into, by its name: the rubric and the files
        # it imports (an imported file's diagnostics carry that file's name)
        self.sources: dict[str, Source] = {source.name: source}

    def error(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        self.add(Diagnostic(code, message, span, self.source.name, help))

    def add(self, diag: Diagnostic) -> None:
        key = (diag.file, diag.code, diag.span.start, diag.message)
        if key in self._seen:
            return
        self._seen.add(key)
        self.items.append(diag)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        """The diagnostics in the order of the text: the rubric's own first, then each
        imported file's, in the order the files were first imported."""
        order = {name: i for i, name in enumerate(self.sources)}
        return sorted(self.items, key=lambda d: (order.get(d.file, len(order)), d.span.start, d.code))


class RubricError(Exception):
    """A rubric could not be compiled; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic], sources: dict[str, Source] | None = None) -> None:
        self.diagnostics = diagnostics
        self.sources = sources or {}
        first = diagnostics[0] if diagnostics else None
        text = f"{first.file}:{first.line}:{first.column}: {first.code} {first.message}" if first else "rubric error"
        if len(diagnostics) > 1:
            text += f" (and {len(diagnostics) - 1} more)"
        super().__init__(text)

    def render(self, color: bool = False) -> str:
        """Every diagnostic as the command line prints it (source line, caret, help)."""
        return render_diagnostics(self.diagnostics, self.sources, color=color)


_COLORS = {"error": "\x1b[1;31m", "warning": "\x1b[1;33m", "info": "\x1b[1;36m"}
_BOLD, _BLUE, _RESET = "\x1b[1m", "\x1b[1;34m", "\x1b[0m"


def render_diagnostic(d: Diagnostic, source: Source | None, color: bool = False) -> str:
    """ruff/rustc-style rendering: header, arrow line, numbered source line, caret, help."""

    def c(style: str, s: str) -> str:
        return f"{style}{s}{_RESET}" if color else s

    from rubricdsl.core.safetext import visible  # noqa: PLC0415 - a rubric's text never drives the terminal

    out = [f"{c(_COLORS.get(d.severity or 'error', ''), d.severity or 'error')}{c(_BOLD, f'[{d.code}]')}: "
           f"{c(_BOLD, visible(d.message))}"]
    gutter = " " * len(str(d.span.line))
    out.append(f"{gutter}{c(_BLUE, '-->')} {visible(d.file)}:{d.span.line}:{d.span.column}")
    if source is not None and 1 <= d.span.line <= source.line_count:
        raw = source.line_text(d.span.line)
        text = visible(raw.expandtabs(4))
        # caret under the span (expanded tabs and control characters written visibly keep carets aligned)
        prefix = visible(raw[: d.span.column - 1].expandtabs(4))
        if d.span.end_line == d.span.line:
            width = len(visible(raw[: d.span.end_column - 1].expandtabs(4))) - len(prefix)
        else:
            width = len(text) - len(prefix)
        width = max(1, width)
        num = str(d.span.line)
        pad = " " * len(num)
        out.append(f"{pad} {c(_BLUE, '|')}")
        out.append(f"{c(_BLUE, num)} {c(_BLUE, '|')} {text}")
        out.append(f"{pad} {c(_BLUE, '|')} {' ' * len(prefix)}{c(_COLORS.get(d.severity or 'error', ''), '^' * width)}")
    for note in d.notes:
        out.append(f"{gutter} = note: {visible(note)}")
    if d.help:
        out.append(f"{gutter} = {c(_BOLD, 'help')}: {visible(d.help)}")
    return "\n".join(out)


def render_diagnostics(diags: list[Diagnostic], sources: dict[str, Source], color: bool = False) -> str:
    parts = [render_diagnostic(d, sources.get(d.file), color) for d in diags]
    n_err = sum(1 for d in diags if d.severity == "error")
    n_warn = sum(1 for d in diags if d.severity == "warning")
    tail = []
    if n_err:
        tail.append(f"{n_err} error{'s' if n_err != 1 else ''}")
    if n_warn:
        tail.append(f"{n_warn} warning{'s' if n_warn != 1 else ''}")
    text = "\n\n".join(parts)
    if tail:
        text += "\n\n" + ", ".join(tail) + "\n"
    return text
