"""`rubric lint --format github`: one GitHub Actions workflow command per diagnostic
(`::error file=…,line=…::message`), which annotates the pull request's files. The
message's first line is the diagnostic's; its notes (a gap's regions, each with a
witness) follow on lines of their own."""
from __future__ import annotations

from rubricdsl.analysis.lint import LintResult
from rubricdsl.core.values import data_text

_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def github(results: list[LintResult]) -> str:
    lines = []
    for r in results:
        for d in r.diagnostics:
            kind = _COMMAND[d.severity or "error"]
            msg = d.message + (f" — {d.help}" if d.help else "")
            if d.witness is not None and not d.regions:  # (each region has its own witness, in the notes)
                msg += " — witness: " + data_text(d.witness, spaced=True)
            if d.notes:
                msg += "\n" + "\n".join(d.notes)
            lines.append(f"::{kind} file={_escape(d.file, True)},line={d.span.line},col={d.span.column},"
                         f"endLine={d.span.end_line},endColumn={d.span.end_column},"
                         f"title={_escape(d.code + ' ' + d.name, True)}::{_escape(msg)}")
    return "\n".join(lines) + ("\n" if lines else "")


def _escape(s: str, prop: bool = False) -> str:
    """A message (or, with `prop`, a property) of a workflow command: it stays on its line."""
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        s = s.replace(":", "%3A").replace(",", "%2C")
    return s
