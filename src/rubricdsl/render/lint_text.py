"""`rubric lint` for people: each diagnostic as the compiler shows it (with its witness
and the record that shows it), then one line per file and a summary."""
from __future__ import annotations

from rubricdsl.analysis.lint import LintResult
from rubricdsl.core.diagnostics import render_diagnostic
from rubricdsl.core.safetext import visible
from rubricdsl.core.severity import tally
from rubricdsl.core.values import data_text, plural


def render_text(results: list[LintResult], color: bool = False) -> str:
    parts = []
    n = tally()
    for res in results:
        for d in res.diagnostics:
            n[d.severity or "error"] += 1
            text = render_diagnostic(d, res.sources.get(d.file, res.source), color)
            pad = " " * len(str(d.span.line))
            if d.witness is not None:  # names and strings from the rubric are shown as data
                text += "\n" + pad + " = witness: " + visible(data_text(d.witness, spaced=True))
            if d.record is not None:
                text += "\n" + pad + " = as a record: " + visible(data_text(d.record, spaced=True))
            parts.append(text)
    files = len(results)
    provenance = "".join(visible(
        f"{r.file}: rubric {r.rubric['name'] or '?'} version {r.rubric['version'] or '?'} "
        f"(sha256 {r.rubric['sha256'][:12]})") + "\n" for r in results)
    summary = (f"{plural(files, 'file')} linted: {plural(n['error'], 'error')}, "
               f"{plural(n['warning'], 'warning')}, {n['info']} info")
    suppressed = sum(r.suppressed for r in results)
    if suppressed:
        summary += f" ({suppressed} suppressed)"
    return ("\n\n".join(parts) + "\n\n" if parts else "") + provenance + summary + "\n"
