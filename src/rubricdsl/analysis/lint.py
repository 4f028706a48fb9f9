"""`rubric lint`: every problem of a rubric file as a diagnostic — syntax and compile
errors, unused fields, failing examples and the static analysis — with suppression
comments. The output formats are in `render/` (`lint_text`, `lint_json`, `sarif`,
`github`)."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Callable

from rubricdsl.core.codes import lookup
from rubricdsl.core.diagnostics import Diagnostic, Sink
from rubricdsl.core.resources import diagnostic_page
from rubricdsl.core.source import Source, normalize_text
from rubricdsl.language import ir
from rubricdsl.language.load import RubricFileError, read_rubric_file
from rubricdsl.language.walk import Visitor, conditions

_IGNORE = re.compile(r"#\s*rubric:\s*ignore\[([^\]]*)\]")
# `# rubric: ignore[CODE] when CONDITION` (the condition ends at a `;` outside a string)
_WHEN = re.compile(r"\s*when\b\s*")


class LintRunError(Exception):
    """The file cannot be linted at all (missing, a directory, not UTF-8)."""


@dataclass
class LintResult:
    file: str
    source: Source
    diagnostics: list[Diagnostic]
    rubric: dict[str, str] = field(default_factory=dict)
    suppressed: int = 0
    sources: dict[str, Source] = field(default_factory=dict)  # the files diagnostics point into (imports too)


def lint_text(text: str, name: str, sha256: str | None = None, timeout: float | None = None,
              analysis: bool = True, assume_rules: bool = True,
              reader: Callable[[str], bytes] | None = None) -> LintResult:
    """Lint one rubric's text. `timeout` is the time budget of the file's analysis, in
    seconds (`budget.DEFAULT_SECONDS` when None), counted from here; what the analysis
    cannot decide within it is reported as RB209. With `assume_rules` (the default),
    decisions are analysed under the rubric's error rules (`checks.sound_assumption`).
    `reader` reads an imported file's bytes (from disk by default; the language server
    gives the text an editor holds)."""
    from rubricdsl.language.limits import collector_paused  # noqa: PLC0415

    # a large rubric makes millions of objects and few cycles: Python's cycle collector,
    # run every few hundred allocations over them all, would take a good part of the time
    with collector_paused():
        return _lint_text(text, name, sha256, timeout, analysis, assume_rules, reader)


def _lint_text(text: str, name: str, sha256: str | None, timeout: float | None, analysis: bool,
               assume_rules: bool, reader: Callable[[str], bytes] | None) -> LintResult:
    from rubricdsl.analysis.budget import Budget  # noqa: PLC0415
    from rubricdsl.language import resolve
    from rubricdsl.language import syntax  # noqa: PLC0415

    budget = Budget(timeout)
    sha = sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest()
    norm = normalize_text(text)
    # Lint analyses what compiles: the parser recovers per top-level declaration, the
    # checker per declaration and clause, and the analysis runs on every construct that
    # stands on no error (`Checker.usable`), next to the errors themselves.
    tree, sink = syntax.parse(norm, name, recover=True)
    source = sink.source
    diags: list[Diagnostic] = []
    accepted_whole = 0
    info = {"name": "", "version": "", "sha256": sha, "file": name}
    if tree is not None and tree.header is not None:
        info["name"], info["version"] = tree.header.name, tree.header.version
    if tree is not None:
        checker = resolve.Checker(tree, sink, norm, sha, reader=reader)
        rubric = checker.run()
        info["sha256"] = rubric.sha256  # covers the files it imports
        extra: set[str] = set()
        if sink.has_errors:
            rubric = checker.usable(rubric)
            extra = checker.dropped_reads
        if not tree.shared:  # a shared file's lets are read by the rubrics that import it
            diags += _unused(rubric, sink, extra)
        if not sink.has_errors and rubric.examples:
            diags += _examples(rubric, name)  # examples test the whole rubric
        accepted, cond_diags = _conditional_ignores(tree.comments, norm, name, sha, source)
        diags += cond_diags
        if analysis:
            from rubricdsl.analysis.checks import run_analysis  # noqa: PLC0415

            found, accepted_whole = run_analysis(rubric, name, budget, assume_rules, accepted,
                                                 _plain_ignores(tree.comments))
            diags += found
    diags = sink.items + diags
    kept, suppressed = _suppress(diags, source, tree.comments if tree is not None else None)
    suppressed += accepted_whole
    kept.sort(key=lambda d: (d.span.line, d.span.column, d.code))
    return LintResult(name, source, kept, info, suppressed, dict(sink.sources))


def lint_file(path: str, timeout: float | None = None, assume_rules: bool = True) -> LintResult:
    """Lint one rubric file; `timeout` and `assume_rules` as in `lint_text`."""
    try:
        text, sha = read_rubric_file(path)
    except RubricFileError as e:
        raise LintRunError(str(e)) from None
    return lint_text(text, path, sha, timeout, assume_rules=assume_rules)


def _split_condition(rest: str) -> str:
    """The condition after `when`: up to the first `;` outside a string, or the end."""
    quoted = False
    i = 0
    while i < len(rest):
        ch = rest[i]
        if quoted and ch == "\\":
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            return rest[:i]
        i += 1
    return rest


def _conditional_ignores(comments, text: str, name: str, sha: str, source: Source):
    """The suppressions with a condition, `# rubric: ignore[CODE] when COND`, by line
    (`checks.Accept`), and the diagnostics of conditions that do not compile, placed in
    the comment. Each condition is compiled as the `require` of a rule appended to the
    rubric, so that it reads the rubric's names exactly as a rule would."""
    from rubricdsl.analysis.checks import Accept  # noqa: PLC0415
    from rubricdsl.language import resolve, syntax  # noqa: PLC0415

    found = []  # (line, keys, condition text, offset of the condition in the file)
    for c in comments or []:
        m = _IGNORE.search(c.text)
        if not m:
            continue
        w = _WHEN.match(c.text, m.end())
        if not w:
            continue
        keys = {k.strip() for k in m.group(1).split(",") if k.strip()}
        cond = _split_condition(c.text[w.end():]).rstrip()
        found.append((c.span.line, keys, cond, c.span.start + w.end(), c.span))
    if not found:
        return {}, []
    out: dict[int, list] = {}
    diags: list[Diagnostic] = []
    pieces = [text.rstrip("\n"), "\n"]
    at = len(pieces[0]) + 1
    starts = []
    for i, (_, _, cond, _, _) in enumerate(found):
        head = f"rule __rubric_ignore_{i} \"\" {{\n  require "
        pieces.append(head + cond + "\n}\n")
        starts.append(at + len(head))
        at += len(head) + len(cond) + 3
    synth = "".join(pieces)
    tree, sink = syntax.parse(synth, name, recover=True)
    rubric = resolve.Checker(tree, sink, synth, sha).run() if tree is not None else None
    rules = {r.name: r for r in rubric.rules} if rubric is not None else {}
    for i, (line, keys, cond, orig, cspan) in enumerate(found):
        lo, hi = starts[i], starts[i] + len(cond)
        bad = False
        for d in sink.items:
            if d.severity == "error" and lo <= d.span.start <= hi + 3:
                a = orig + min(max(d.span.start - lo, 0), len(cond))
                b = orig + min(max(d.span.end - lo, 0), len(cond))
                diags.append(Diagnostic(d.code, f"in the condition of a suppression: {d.message}",
                                        source.span(a, max(a, b)), name, d.help))
                bad = True
        r = rules.get(f"__rubric_ignore_{i}")
        if not bad and r is None:
            diags.append(Diagnostic("RB001", "the condition of this suppression cannot be read", cspan, name,
                                    help="write `# rubric: ignore[RB204] when CONDITION`, the condition in the "
                                         "rubric's expression language"))
            bad = True
        out.setdefault(line, []).append(Accept(keys, None if bad or r is None else r.require, cond.strip()))
    return out, diags


def _unused(rubric, sink: Sink, extra: set[str] | None = None) -> list[Diagnostic]:
    """Inputs and lets that nothing reads (labels are always checked). `extra` names what
    the parts of the file dropped for an error read: never reported unused."""
    reads = _Reads(extra or ())
    reads.visit(*conditions(rubric))
    read, let_reads = reads.fields, reads.lets
    out = []
    for f in rubric.fields:
        if f.kind == "input" and f.name not in read:
            out.append(Diagnostic("RB208", f"input `{f.name}` is never read", f.span, sink.source.name,
                                  help="use it in a condition, or remove it (a malformed value is still reported as invalid)"))
    for let in rubric.lets:
        if let.name not in let_reads:
            out.append(Diagnostic("RB208", f"`let {let.name}` is never read", let.span, sink.source.name,
                                  help="use it in a condition, or remove it"))
    return out


class _Reads(Visitor):
    """The fields and lets the conditions read, through lets and aggregates."""

    through_lets = True

    def __init__(self, extra) -> None:
        self.fields: set[str] = set(extra)
        self.lets: set[str] = set(extra)

    def visit_FieldRef(self, e: ir.FieldRef) -> None:
        self.fields.add(e.field.name)

    def visit_LetRef(self, e: ir.LetRef) -> None:
        self.lets.add(e.let.name)

    def visit_Agg(self, e: ir.Agg) -> None:
        if e.field is not None:
            self.fields.add(e.field.name)


def _examples(rubric: ir.RubricIR, name: str) -> list[Diagnostic]:
    from rubricdsl.engine.codegen import compile_rubric  # noqa: PLC0415
    from rubricdsl.engine.examples import describe, run_examples  # noqa: PLC0415

    out = []
    for res, ex in zip(run_examples(rubric, compile_rubric(rubric)), rubric.examples):
        if res.passed:
            continue
        d = Diagnostic("RB110", f"example \"{res.title}\" fails: expected {describe(res.expected)}, "
                                f"got {describe(res.got)}", ex.span, name,
                       help="fix the rubric or the example's `expect`; `rubric test` shows the findings")
        for f in res.findings:
            d.notes.append(f"{f['kind']} {f['rule'] or f['label'] or ''}: {f['message']}")
        out.append(d)
    return out


def _plain_ignores(comments) -> dict[int, set[str]]:
    """The keys of the suppressions without a condition, by line."""
    ignores: dict[int, set[str]] = {}
    for c in comments or []:
        m = _IGNORE.search(c.text)
        if m and not _WHEN.match(c.text, m.end()):
            ignores.setdefault(c.span.line, set()).update(k.strip() for k in m.group(1).split(",") if k.strip())
    return ignores


def _suppress(diags: list[Diagnostic], source: Source, comments) -> tuple[list[Diagnostic], int]:
    """Drop warnings and infos whose line carries `# rubric: ignore[CODE, ...]` naming their
    code (or its kebab name, or its check, or `all`). Errors are never suppressed: a rubric
    with an error does not compile, and lint must not call it clean."""
    ignores: dict[int, set[str]] = {}
    for c in comments or []:
        m = _IGNORE.search(c.text)
        if m and not _WHEN.match(c.text, m.end()):  # a condition accepts regions (`checks.Accept`)
            keys = {k.strip() for k in m.group(1).split(",") if k.strip()}
            ignores.setdefault(c.span.line, set()).update(keys)
    if not ignores:
        return diags, 0
    kept = []
    n = 0
    for d in diags:
        keys = ignores.get(d.span.line, set()) if d.file == source.name else set()
        if keys and d.severity != "error" and (d.code in keys or d.name in keys or d.check in keys or "all" in keys):
            n += 1
            continue
        kept.append(d)
    return kept, n


def explain(code: str) -> str | None:
    """The documentation page of a code (by code or kebab name)."""
    c = lookup(code)
    if c is None:
        return None
    page = diagnostic_page(c.code)
    if page is not None:
        return page.read_text(encoding="utf-8")
    return f"# {c.code} {c.name}\n\n{c.summary}.\n\nCheck: `{c.check}`; default severity: {c.severity}.\n"
