"""`rubric diff` for people: text, and Markdown for a pull-request comment (the JSON
format is `DiffResult.to_dict`). Record ids and file names are data: shown visibly."""
from __future__ import annotations

from rubricdsl.analysis.diff import DiffResult
from rubricdsl.core.safetext import visible
from rubricdsl.core.values import data_text, plural
from rubricdsl.render.guide import md_code, md_text


def render_text(res: DiffResult, samples: int = 20) -> str:
    o, n = res.old, res.new
    lines = [f"rubric {o['name']} {o['version']} ({o['sha256'][:12]}) -> {n['name']} {n['version']} "
             f"({n['sha256'][:12]})"]
    if o["sha256"] != n["sha256"] and o["version"] == n["version"]:
        lines.append("warning: the content changed but the version did not")
    lines.append("")
    if res.changes:
        lines.append(f"{plural(len(res.changes), 'structural change')}:")
        for c in res.changes:
            lines.append(f"  {c.change:8} {c.what} {c.name}" + (f"  ({c.detail})" if c.detail else ""))
    else:
        lines.append("no structural change")
    if res.semantic:
        lines.append("")
        lines.append("meaning:")
        for c in res.semantic:
            line = f"  {c.status:10} {c.what} {c.name}"
            if c.witness is not None:
                line += f"  e.g. {data_text(c.witness, spaced=True)}: old {c.old_says}, new {c.new_says}"
            if c.reason:
                line += f"  ({c.reason})"
            lines.append(line)
    if res.coverage:
        lines.append("")
        lines.append("gaps and overlaps:")
        for c in res.coverage:
            line = f"  {c.change}: decide {c.name}: {c.where}"
            if c.witness is not None:
                line += f"  e.g. {data_text(c.witness, spaced=True)}"
            if c.reason:
                line += f"  ({c.reason})"
            lines.append(line)
    if res.data:
        s = res.summary()
        lines.append("")
        per = " (each judgment of a record on its own)" if any(r.judgment is not None for r in res.records) else ""
        lines.append(f"{s['records']} records read, {s['records_changed']} with different findings{per}")
        for k in ("newly_violating", "no_longer_violating", "newly_uncovered", "newly_ambiguous",
                  "escalation_added", "escalation_removed", "newly_invalid"):
            if s[k]:
                lines.append(f"  {k.replace('_', ' ')}: {s[k]}")
        for r in res.records[:samples]:
            b = ", ".join(sorted({f"{f['kind']} {f['rule'] or f['label'] or ''}".strip() for f in r.before})) or "none"
            a = ", ".join(sorted({f"{f['kind']} {f['rule'] or f['label'] or ''}".strip() for f in r.after})) or "none"
            jud = f" judgment {r.judgment}" if r.judgment is not None else ""
            lines.append(f"  {r.file}:{r.line} record {r.record}{jud}: {b} -> {a}")
        if len(res.records) > samples:
            lines.append(f"  … and {len(res.records) - samples} more")
    return "\n".join(visible(line) for line in lines) + "\n"


def _md_cell(s: str) -> str:
    """Data as plain text in a Markdown table cell: no markup, no HTML, one line."""
    return str(md_text(visible(s)))


def render_markdown(res: DiffResult, samples: int = 50) -> str:
    o, n = res.old, res.new
    out = [f"### Rubric `{n['name']}`: {o['version']} → {n['version']}", ""]
    if o["sha256"] != n["sha256"] and o["version"] == n["version"]:
        out += ["> **Warning:** the content changed but the version did not.", ""]
    if res.changes:
        out += ["| change | what | name | detail |", "| --- | --- | --- | --- |"]
        for c in res.changes:
            detail = _md_cell(c.detail).replace(" -&gt; ", " → ")  # old -> new, as the title writes it
            out.append(f"| {c.change} | {c.what} | `{c.name}` | {detail} |")
    else:
        out.append("No structural change.")
    if res.semantic:
        out += ["", "| meaning | what | name | for example | old | new |", "| --- | --- | --- | --- | --- | --- |"]
        for c in res.semantic:
            ex = f"`{data_text(c.witness, spaced=True)}`" if c.witness is not None else (c.reason or "")
            out.append(f"| {c.status} | {c.what} | `{c.name}` | {ex} | {c.old_says or ''} | {c.new_says or ''} |")
    if res.coverage:
        out += ["", "| gaps and overlaps | decide | where | for example |", "| --- | --- | --- | --- |"]
        for c in res.coverage:
            ex = f"`{data_text(c.witness, spaced=True)}`" if c.witness is not None else (c.reason or "")
            out.append(f"| {c.change} | `{c.name}` | {_md_cell(c.where)} | {ex} |")
    if res.data:
        s = res.summary()
        out += ["", f"**{s['records_changed']}** of {s['records']} records get different findings."]
        rows = [(k.replace("_", " "), s[k]) for k in ("newly_violating", "no_longer_violating", "newly_uncovered",
                                                       "newly_ambiguous", "escalation_added", "escalation_removed",
                                                       "newly_invalid") if s[k]]
        if rows:
            out += ["", "| kind of change | records |", "| --- | --- |"] + [f"| {k} | {v} |" for k, v in rows]
        if res.records:
            out += ["", "<details><summary>Records</summary>", "", "| file:line | record | before | after |",
                    "| --- | --- | --- | --- |"]
            for r in res.records[:samples]:
                b = ", ".join(sorted({f"{f['kind']} {f['rule'] or f['label'] or ''}".strip() for f in r.before})) or "—"
                a = ", ".join(sorted({f"{f['kind']} {f['rule'] or f['label'] or ''}".strip() for f in r.after})) or "—"
                rec = md_code(visible(r.record))
                if r.judgment is not None:
                    rec = f"{rec} judgment {md_code(visible(r.judgment))}"
                out.append(f"| {_md_cell(f'{r.file}:{r.line}')} | {rec} | {b} | {a} |")
            out += ["", "</details>"]
    return "\n".join(out) + "\n"
