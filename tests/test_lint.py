"""`rubric lint`: diagnostics, witnesses, the box engine against z3 and brute force,
output formats, exit codes and suppression.

Fixtures live in tests/cases/lint/*.rubric. A line where a diagnostic is expected ends
with a comment `# expect: CODE` or `# expect: CODE:COLUMN` (several items may follow
one `expect:`, separated by commas or spaces); `lint_text` must report exactly the
marked (code, line[, column]) set, every severity included. A fixture with a line
`# xfail: REASON` documents a known discrepancy with the language reference and runs
as a strict xfail.

The SARIF schema is a copy of the official SARIF 2.1.0 schema (tests/data); the suite
reads nothing outside tests/ at run time, except the shipped rubrics under rubrics/.
"""
from __future__ import annotations

import itertools
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest
from helpers import Ran, rubric

import rubricdsl
from rubricdsl.analysis import checks
from rubricdsl.core.codes import CODES
from rubricdsl.core.diagnostics import RubricError
from rubricdsl.analysis.lint import lint_text
from rubricdsl.render.lint_text import render_text

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
CASES = TESTS / "cases" / "lint"
SARIF_SCHEMA = TESTS / "data" / "sarif-schema-2.1.0.json"

MARKER = re.compile(r"#\s*expect:\s*(?P<items>.+?)\s*$")
ITEM = re.compile(r"^(?P<code>RB\d{3})(?::(?P<col>\d+))?$")
XFAIL = re.compile(r"^#\s*xfail:\s*(?P<reason>.+)$", re.M)

# The brief's checks and their severities ("Static analysis (lint)").
ERROR_CHECKS = {"syntax", "unknown_name", "type_error", "unknown_value", "duplicate_name", "bad_regex",
                "example_failed"}
WARNING_CHECKS = {"dead", "vacuous", "always_violated", "gap", "overlap", "shadowed", "useless_edge",
                  "unused_field"}
SPEC_CHECKS = ERROR_CHECKS | WARNING_CHECKS

# Fixtures whose diagnostics are compile errors (no analysis runs on them).
COMPILE_ERROR_FIXTURES = ["compile_errors.rubric", "syntax.rubric", "syntax_clauses.rubric",
                          "missing_header.rubric"]
# Fixtures that compile: their gap / overlap / shadowed witnesses are replayed.
ANALYSIS_FIXTURES = ["dead.rubric", "requirements.rubric", "gaps.rubric", "overlaps.rubric",
                     "shadowed.rubric", "edges.rubric", "unused.rubric", "examples.rubric", "suppress.rubric",
                     "clean.rubric", "enum_order.rubric", "recover_compile.rubric",
                     "recover_syntax.rubric", "assume.rubric"]


# ---- helpers ------------------------------------------------------------------------------


def _fixtures() -> list[Path]:
    return sorted(CASES.glob("*.rubric"))


def parse_expectations(text: str) -> set[tuple[str, int, int | None]]:
    out = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        m = MARKER.search(line)
        if not m:
            continue
        for item in re.split(r"[,\s]+", m.group("items").strip()):
            im = ITEM.match(item)
            assert im, f"line {lineno}: malformed expectation {item!r}"
            col = im.group("col")
            out.add((im.group("code"), lineno, int(col) if col else None))
    return out


def _actual(diags, expected: set[tuple[str, int, int | None]]) -> set[tuple[str, int, int | None]]:
    """Diagnostics as (code, line, column), the column dropped where the marker gives none."""
    out = set()
    for d in diags:
        full = (d.code, d.line, d.column)
        out.add(full if full in expected or (d.code, d.line, None) not in expected else (d.code, d.line, None))
    return out


def lint_with(text: str, name: str, engine: str):
    """Lint with the box engine as shipped ("boxes") or with it disabled ("z3").

    Returns (result, outcomes): outcomes lists, per `first` decide analysed, whether the
    box engine took it (always False under "z3")."""
    orig = checks.Analyzer._first_by_boxes
    outcomes: list[tuple[str, bool]] = []

    def spy(self, d):
        took = orig(self, d)
        outcomes.append((d.label.name, took))
        return took

    def off(self, d):
        outcomes.append((d.label.name, False))
        return False

    checks.Analyzer._first_by_boxes = spy if engine == "boxes" else off
    try:
        return lint_text(text, name), outcomes
    finally:
        checks.Analyzer._first_by_boxes = orig


def run_cli(*args: str, cwd: Path | None = None, command: str = "lint") -> Ran:
    """`rubric lint ARGS` (or another command), in this process."""
    return rubric(command, *args, cwd=cwd or REPO, text=True)


_MISSING = object()


def follow(record: Any, path: tuple) -> Any:
    cur = record
    for seg in path:
        if isinstance(seg, int):
            if not isinstance(cur, list) or seg >= len(cur):
                return _MISSING
            cur = cur[seg]
        else:
            if not isinstance(cur, dict) or seg not in cur:
                return _MISSING
            cur = cur[seg]
    return _MISSING if cur is None else cur


def assert_witness_matches_record(rubric, d) -> None:
    """Every witness value is the record's value at that field's path (None: missing)."""
    assert d.witness is not None and d.record is not None, f"{d.code} at line {d.line} has no witness/record"
    fields = {f.name: f for f in rubric.ir.fields}
    for name, value in d.witness.items():
        assert name in fields, f"witness names `{name}`, which is not a field"
        got = follow(d.record, fields[name].path)
        if value is None:
            assert got is _MISSING, f"witness says `{name}` is missing, the record has {got!r}"
        else:
            assert got is not _MISSING and got == value, f"witness `{name}`={value!r}, record has {got!r}"


def _names_after(message: str, start: str, end: str) -> list[str]:
    m = re.search(re.escape(start) + r"(.*?)" + re.escape(end), message)
    assert m, f"cannot parse arms from {message!r}"
    return [x.strip() for x in m.group(1).split(", ")]


def _cover_names(message: str) -> list[str]:
    """The covering arms a shadowed-arm message names."""
    m = re.search(r"never decides: (.*?) (?:covers|together cover) every situation it matches", message)
    assert m, f"cannot parse the covering arms from {message!r}"
    return [x.strip() for x in m.group(1).split(", ")]


def _finding_name(display: str) -> str:
    """`edge case `x`` (diagnostic wording) -> `x` (finding wording); `arm 3` stays."""
    m = re.fullmatch(r"edge case `(\w+)`", display)
    return m.group(1) if m else display


def _decide_at(rubric, d):
    """The decide a diagnostic is about, and the arm it points at (None for a gap)."""
    for dec in rubric.ir.decides:
        if d.code == "RB204" and dec.span.line == d.line and dec.span.column == d.column:
            return dec, None
        for a in dec.arms:
            if a.span.line == d.line and a.span.column == d.column:
                return dec, a
    raise AssertionError(f"no decide or arm at {d.line}:{d.column}")


class ArmProbe:
    """Which arms' conditions hold on a record, through `rubric check` itself: the
    rubric plus one rule per arm, `require not (COND)`, violated exactly when COND
    holds (missing-field rule included)."""

    def __init__(self, text: str, rubric) -> None:
        from rubricdsl.core.source import normalize_text

        norm = normalize_text(text)
        extra = []
        self.rule_of: dict[tuple[int, int], str] = {}
        for dec in rubric.ir.decides:
            for a in dec.arms:
                if a.cond is None:
                    continue
                name = f"zz_probe_{dec.index}_{a.number}"
                self.rule_of[(dec.index, a.number)] = name
                cond = norm[a.cond.span.start:a.cond.span.end]
                extra.append(f'rule {name} "probe" {{ require not ({cond}) }}')
        self.rubric = _usable(norm + "\n" + "\n".join(extra) + "\n", "<probe>")

    def holding(self, record: dict, dec) -> set[int]:
        rules = {f["rule"] for f in self.rubric.check_dicts(record) if f["kind"] == "violation"}
        return {n for (i, n), r in self.rule_of.items() if i == dec.index and r in rules}


def replay(rubric, d, probe: ArmProbe) -> None:
    """Run a gap / overlap / shadowed diagnostic's record through `rubric check`."""
    assert_witness_matches_record(rubric, d)
    dec, arm = _decide_at(rubric, d)
    label = dec.label.name
    findings = [f for f in rubric.check_dicts(d.record) if f["label"] == label]
    kinds = [f["kind"] for f in findings]
    assert "invalid" not in kinds, f"the witness record is invalid: {findings}"
    if d.code == "RB204":
        assert "uncovered" in kinds, f"gap witness {d.record} gives {findings}"
        assert not probe.holding(d.record, dec), "an arm matches the gap witness"
    elif d.code == "RB205":
        rivals = {_finding_name(x) for x in _names_after(d.message, f"`decide {label}` overlaps ", ": both")}
        amb = [f for f in findings if f["kind"] == "ambiguous"]
        assert amb, f"overlap witness {d.record} gives {findings}"
        assert {arm.name} | rivals <= set(amb[0]["arms"]), (amb[0]["arms"], arm.name, rivals)
    else:
        assert d.code == "RB206"
        cover = {_finding_name(x) for x in _cover_names(d.message)}
        holding = probe.holding(d.record, dec)
        assert arm.number in holding, f"the shadowed arm's condition does not hold on {d.record}"
        assert not {"uncovered", "ambiguous"} & set(kinds), findings
        order = [a for a in dec.arms if a.kind == "edge"] + [a for a in dec.arms if a.kind == "when"]
        decider = next(a for a in order if a.number in holding)
        assert decider.name in cover, f"{decider.name} decides, not one of the covering arms {cover}"
        assert decider is not arm
        for f in findings:
            assert f["kind"] == "violation" and f["arms"] == [decider.name], f
            assert arm.name not in f["arms"]
        covered_values = frozenset().union(*(a.allowed for a in dec.arms if a.name in cover))
        if not arm.allowed <= covered_values:
            # the witness takes a value the shadowed arm allows and the covering arms do not
            assert findings and findings[0]["kind"] == "violation", findings


# ---- 1. every diagnostic kind, with code, line and column ----------------------------------


def _fixture_params() -> list:
    params = []
    for path in _fixtures():
        m = XFAIL.search(path.read_text(encoding="utf-8"))
        marks = [pytest.mark.xfail(strict=True, reason=m.group("reason"))] if m else []
        params.append(pytest.param(path, id=path.name, marks=marks))
    return params


@pytest.mark.parametrize("path", _fixture_params())
def test_fixture_diagnostics(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    expected = parse_expectations(text)
    assert expected or path.name == "clean.rubric", f"{path.name} has no expectations"
    res = lint_text(text, path.name)
    got = _actual(res.diagnostics, expected)
    assert got == expected, (
        f"missing: {sorted(expected - got, key=str)}; unexpected: {sorted(got - expected, key=str)}\n"
        + "\n".join(f"  {d.code} {d.line}:{d.column} {d.message}" for d in res.diagnostics))


def test_fixtures_cover_every_check() -> None:
    """The fixtures exercise every check of the brief, each sub-case named in the brief."""
    checks: dict[str, set[str]] = {}
    for path in _fixtures():
        text = path.read_text(encoding="utf-8")
        if XFAIL.search(text):
            continue
        for code, _line, _col in parse_expectations(text):
            checks.setdefault(CODES[code].check, set()).add(path.name)
    assert SPEC_CHECKS <= set(checks), f"no fixture for {sorted(SPEC_CHECKS - set(checks))}"


def test_dead_kinds_are_all_reported() -> None:
    """Dead: a rule's `when`, an escalation's `when`, an arm (default and `first`) and
    `applies when`; the dead `when` of `hidden` hides its always-violated `require`."""
    res = lint_text((CASES / "dead.rubric").read_text(encoding="utf-8"), "dead.rubric")
    msgs = [d.message for d in res.diagnostics if d.code == "RB201"]
    assert any("rule `never_fires`" in m for m in msgs)
    assert any("rule `hidden`" in m for m in msgs)
    assert any("escalation `dead_escalation`" in m for m in msgs)
    assert any("decide safety" in m for m in msgs) and any("decide tone" in m for m in msgs)
    assert any("criterion `never`" in m for m in msgs)
    assert not [d for d in res.diagnostics if d.code == "RB203"]
    assert all(d.check == "dead" for d in res.diagnostics)


def test_check_and_severity_follow_the_brief() -> None:
    """Each diagnostic's `check` is one of the brief's; compile checks and failing
    examples are errors, analysis checks warnings."""
    seen = set()
    for path in _fixtures():
        text = path.read_text(encoding="utf-8")
        for d in lint_text(text, path.name).diagnostics:
            seen.add(d.check)
            assert d.check in SPEC_CHECKS, (path.name, d.code, d.check)
            want = "error" if d.check in ERROR_CHECKS else "warning"
            assert d.severity == want, (path.name, d.code, d.severity)
    assert seen == SPEC_CHECKS


def test_unused_fields_never_labels() -> None:
    """RB208 names inputs and lets only: a label nothing reads is not unused."""
    res = lint_text((CASES / "unused.rubric").read_text(encoding="utf-8"), "unused.rubric")
    msgs = sorted(d.message for d in res.diagnostics if d.code == "RB208")
    assert msgs == ["`let also_unused` is never read", "`let read_only_by_unused` is never read",
                    "`let unused_let` is never read", "input `never_read` is never read"]
    assert not any("never_checked" in d.message for d in res.diagnostics)


def test_compile_errors_exit_1_not_2() -> None:
    """Syntax and compile errors are lint findings: exit 1 at every fail level, never 2,
    and the JSON diagnostics are those of `lint_text`."""
    files = [str(CASES / n) for n in COMPILE_ERROR_FIXTURES]
    for level in ("error", "warning", "info"):
        proc = run_cli("--format", "json", "--fail-level", level, *files)
        assert proc.returncode == 1, (level, proc.returncode, proc.stderr)
    doc = json.loads(proc.stdout)
    by_file: dict[str, set] = {}
    for d in doc["diagnostics"]:
        by_file.setdefault(Path(d["file"]).name, set()).add((d["code"], d["line"], d["column"]))
        assert d["severity"] == "error" and d["check"] in ERROR_CHECKS, d
    for name in COMPILE_ERROR_FIXTURES:
        text = (CASES / name).read_text(encoding="utf-8")
        want = {(d.code, d.line, d.column) for d in lint_text(text, name).diagnostics}
        assert by_file.get(name) == want, name
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("name", ["recover_compile.rubric", "recover_syntax.rubric"])
def test_errors_do_not_hide_the_analysis(name: str, tmp_path: Path) -> None:
    """A file with errors: lint reports the errors and the analysis of the rest (exit 1),
    while `rubric check` and `rubric test` still refuse to run it (exit 2)."""
    path = CASES / name
    proc = run_cli("--format", "json", str(path))
    assert proc.returncode == 1, proc.stderr
    checks = {d["check"] for d in json.loads(proc.stdout)["diagnostics"]}
    assert checks & ERROR_CHECKS and {"dead", "gap", "overlap"} <= checks, checks
    data = tmp_path / "d.jsonl"
    data.write_text('{"labels": {"n": 1}}\n', encoding="utf-8")
    for args in (["check", str(path), str(data)], ["test", str(path)]):
        done = run_cli(*args[1:], command=args[0])
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "error[RB" in done.stderr and "Traceback" not in done.stderr
        assert "RB201" not in done.stderr  # they report errors, not the analysis


def test_shadowed_messages_name_exactly_the_covering_arms() -> None:
    """The message of a shadowed arm names the arms that decide its situations, in order,
    and no other (in shadowed.rubric, arm 2 of `tone` takes part of arm 5 before arm 3
    does, so it is named; arm 1 never meets it), with the box engine and with z3; the
    table with an `or` across fields takes the z3 path."""
    text = (CASES / "shadowed.rubric").read_text(encoding="utf-8")
    want = {20: ("tone", ["arm 2", "arm 3", "arm 4"]), 22: ("tone", ["arm 6"]),
            27: ("cred", ["edge case `news_edge`"]), 35: ("safety", ["arm 2", "arm 3"]),
            42: ("topic", ["arm 1"])}
    for engine in ("boxes", "z3"):
        res, outcomes = lint_with(text, "shadowed.rubric", engine)
        got = {}
        for d in res.diagnostics:
            assert d.code == "RB206"
            label = re.search(r"`decide (\w+)`", d.message).group(1)
            got[d.line] = (label, _cover_names(d.message))
            verb = "covers" if len(got[d.line][1]) == 1 else "together cover"
            assert f" {verb} every situation it matches" in d.message
        assert got == want, engine
        if engine == "boxes":
            assert dict(outcomes) == {"tone": True, "cred": True, "safety": True, "topic": False}


# ---- 2. witness replay ---------------------------------------------------------------------


def _usable(text: str, name: str) -> rubricdsl.Rubric:
    """The rubric, or for a file with errors the part lint analyses (`Checker.usable`)."""
    from rubricdsl.language import resolve
    from rubricdsl.language import syntax
    from rubricdsl.api import Rubric

    try:
        return rubricdsl.loads(text, name)
    except RubricError:
        tree, sink = syntax.parse(text, name, recover=True)
        assert tree is not None
        checker = resolve.Checker(tree, sink, text)
        return Rubric(checker.usable(checker.run()), text)


@pytest.mark.parametrize("engine", ["boxes", "z3"])
@pytest.mark.parametrize("name", ANALYSIS_FIXTURES)
def test_fixture_witnesses_replay(name: str, engine: str) -> None:
    text = (CASES / name).read_text(encoding="utf-8")
    rubric = _usable(text, name)
    probe = ArmProbe(text, rubric)
    res, _ = lint_with(text, name, engine)
    replayed = 0
    for d in res.diagnostics:
        if d.witness is not None:
            assert_witness_matches_record(rubric, d)
        if d.code in ("RB204", "RB205", "RB206"):
            replay(rubric, d, probe)
            replayed += 1
    if name in ("gaps.rubric", "overlaps.rubric", "shadowed.rubric"):
        assert replayed >= 2


# ---- 3. generated `first` tables: boxes vs z3 vs brute force -----------------------------

ENUM = ("a", "b", "c")
GRADES = ("lo", "mid", "hi")
MEMBERS = ("x", "y", "z")
Pred = Callable[[dict], bool]


@dataclass
class GField:
    name: str
    kind: str  # enum | int | bool | set | ord
    optional: bool

    def decl(self) -> str:
        t = {"enum": "enum {a, b, c}", "int": "int 1..4", "bool": "bool", "set": "set {x, y, z}",
             "ord": "enum ordered {lo, mid, hi}"}[self.kind]
        return f"input {self.name}: {t} from d.{self.name}" + (" optional" if self.optional else "")

    def domain(self) -> list[Any]:
        if self.kind == "enum":
            vals: list[Any] = list(ENUM)
        elif self.kind == "int":
            vals = [1, 2, 3, 4]
        elif self.kind == "bool":
            vals = [False, True]
        elif self.kind == "ord":
            vals = list(GRADES)
        else:
            vals = [frozenset(c) for r in range(4) for c in itertools.combinations(MEMBERS, r)]
        return vals + ([None] if self.optional else [])

    def atoms(self, rng: random.Random) -> list[tuple[str, Pred]]:
        """Tests over this field that the box engine takes, with their meaning under
        the missing-field rule (None: missing)."""
        n = self.name
        if self.kind == "enum":
            v, w = rng.sample(ENUM, 2)
            out = [(f"{n} == {v}", lambda s: s[n] == v),
                   (f"{n} != {v}", lambda s: s[n] is not None and s[n] != v),
                   (f"{n} in {{{v}, {w}}}", lambda s: s[n] in (v, w)),
                   (f"{n} not in {{{v}}}", lambda s: s[n] is not None and s[n] != v),
                   (f"not ({n} == {v})", lambda s: s[n] != v),
                   (f"({n} == {v} or {n} == {w})", lambda s: s[n] in (v, w))]
        elif self.kind == "int":
            k = rng.randint(1, 4)
            out = [(f"{n} >= {k}", lambda s: s[n] is not None and s[n] >= k),
                   (f"{n} < {k}", lambda s: s[n] is not None and s[n] < k),
                   (f"{n} == {k}", lambda s: s[n] == k),
                   (f"{n} != {k}", lambda s: s[n] is not None and s[n] != k),
                   (f"{n} in {{{k}, {5 - k}}}", lambda s: s[n] in (k, 5 - k))]
        elif self.kind == "ord":
            g = rng.choice(GRADES)
            r = GRADES.index(g)
            out = [(f"{n} >= {g}", lambda s: s[n] is not None and GRADES.index(s[n]) >= r),
                   (f"{n} < {g}", lambda s: s[n] is not None and GRADES.index(s[n]) < r)]
        elif self.kind == "bool":
            out = [(n, lambda s: s[n] is True),
                   (f"not {n}", lambda s: s[n] is not True),
                   (f"{n} == false", lambda s: s[n] is False)]
        else:
            m, o = rng.sample(MEMBERS, 2)
            out = [(f"{m} in {n}", lambda s: s[n] is not None and m in s[n]),
                   (f"{m} not in {n}", lambda s: s[n] is not None and m not in s[n]),
                   (f"{n} is empty", lambda s: s[n] is not None and not s[n]),
                   (f"{n} all of {{{m}, {o}}}", lambda s: s[n] is not None and {m, o} <= s[n]),
                   (f"{n} none of {{{m}, {o}}}", lambda s: s[n] is not None and not ({m, o} & s[n])),
                   (f"{n} any of {{{m}}}", lambda s: s[n] is not None and m in s[n])]
        if self.optional:
            out += [(f"{n} is missing", lambda s: s[n] is None), (f"{n} is present", lambda s: s[n] is not None)]
        return out


@dataclass
class GArm:
    number: int
    text: str
    pred: Pred
    values: list[str]
    edge: bool

    @property
    def name(self) -> str:  # as findings name it
        return f"e{self.number}" if self.edge else f"arm {self.number}"

    @property
    def display(self) -> str:  # as diagnostics name it
        return f"edge case `e{self.number}`" if self.edge else f"arm {self.number}"


@dataclass
class Table:
    text: str
    fields: list[GField]
    arms: list[GArm]
    scope: tuple[str, Pred] | None
    arm_line: dict[int, int]  # source line -> arm number

    @property
    def order(self) -> list[GArm]:
        return [a for a in self.arms if a.edge] + [a for a in self.arms if not a.edge]


def make_table(seed: int, boxable: bool) -> Table:
    rng = random.Random(seed)
    kinds = rng.sample(["enum", "int", "bool", "set", "ord"], rng.choice([3, 4, 4]))
    if "set" not in kinds:
        kinds[rng.randrange(len(kinds))] = "set"
    fields = [GField(f"f{i}_{k}", k, optional=rng.random() < 0.4) for i, k in enumerate(kinds)]
    if not any(f.optional for f in fields):
        fields[rng.randrange(len(fields))].optional = True
    n_arms = rng.randint(30, 80)
    # narrow tables (odd seeds) test every field in every arm: they usually keep gaps
    widths = [len(fields)] if seed % 2 else [2, 3, 3, 4, 4]
    arms: list[GArm] = []
    crossing = False
    for i in range(n_arms):
        width = rng.choice(widths)
        parts = [rng.choice(f.atoms(rng)) for f in rng.sample(fields, min(width, len(fields)))]
        if not boxable and (rng.random() < 0.3 or (i == n_arms // 2 and not crossing)):
            f1, f2 = rng.sample(fields, 2)
            (ta, pa), (tb, pb) = rng.choice(f1.atoms(rng)), rng.choice(f2.atoms(rng))
            parts.append((f"({ta} or {tb})", lambda s, pa=pa, pb=pb: pa(s) or pb(s)))
            crossing = True
        preds = [p for _, p in parts]
        arms.append(GArm(i + 1, " and ".join(t for t, _ in parts), lambda s, preds=preds: all(p(s) for p in preds),
                         rng.sample(["p", "q", "r"], rng.choice([1, 1, 2])), edge=rng.random() < 0.05))
    if rng.random() < 0.25:  # close the table: the last two arms cover everything
        t, p = rng.choice(rng.choice(fields).atoms(rng))
        arms.append(GArm(len(arms) + 1, t, p, ["p"], False))
        arms.append(GArm(len(arms) + 1, f"not ({t})", lambda s, p=p: not p(s), ["q"], False))
    scope = rng.choice(rng.choice(fields).atoms(rng)) if rng.random() < 0.3 else None
    lines = ['rubric "generated" version "1"', *[f.decl() for f in fields],
             "label out: enum {p, q, r, zz} from out"]
    indent = ""
    if scope is not None:
        lines += ['criterion scoped "Scoped" {', f"  applies when {scope[0]}"]
        indent = "  "
    lines.append(f"{indent}decide out first {{")
    arm_line = {}
    for a in arms:
        head = f"edge e{a.number} when" if a.edge else "when"
        lines.append(f"{indent}  {head} {a.text} -> {', '.join(a.values)}")
        arm_line[len(lines)] = a.number
    lines.append(f"{indent}}}")
    if scope is not None:
        lines.append("}")
    return Table("\n".join(lines) + "\n", fields, arms, scope, arm_line)


def situations(t: Table) -> list[dict]:
    names = [f.name for f in t.fields]
    return [dict(zip(names, combo)) for combo in itertools.product(*[f.domain() for f in t.fields])]


def record_of(t: Table, s: dict, out: str) -> dict:
    d = {k: (sorted(v) if isinstance(v, frozenset) else v) for k, v in s.items() if v is not None}
    return {"d": d, "out": out}


def situation_of(t: Table, record: dict) -> dict:
    s = {}
    for f in t.fields:
        v = follow(record, ("d", f.name))
        s[f.name] = None if v is _MISSING else (frozenset(v) if f.kind == "set" else v)
    return s


@dataclass
class Truth:
    dead: set[int]
    shadowed: set[int]
    gap: bool
    sits: list[dict]
    matches: dict[int, list[bool]]


def brute_force(t: Table) -> Truth:
    sits = [s for s in situations(t) if t.scope is None or t.scope[1](s)]
    matches = {a.number: [a.pred(s) for s in sits] for a in t.arms}
    dead = {n for n, m in matches.items() if not any(m)}
    deciding, gap = set(), False
    for j in range(len(sits)):
        k = next((a.number for a in t.order if matches[a.number][j]), None)
        if k is None:
            gap = True
        else:
            deciding.add(k)
    shadowed = {a.number for a in t.arms if a.number not in dead and a.number not in deciding}
    return Truth(dead, shadowed, gap, sits, matches)


def first_match(t: Table, s: dict) -> GArm | None:
    return next((a for a in t.order if a.pred(s)), None)


# Seeds give a mix of tables with and without gaps, criterion scopes, edge arms,
# optional fields (missing as a value) and set fields.
BOX_SEEDS = list(range(104, 112))
Z3_SEEDS = list(range(200, 206))


@pytest.mark.parametrize("seed,boxable", [(s, True) for s in BOX_SEEDS] + [(s, False) for s in Z3_SEEDS])
def test_generated_first_tables(seed: int, boxable: bool) -> None:
    t = make_table(seed, boxable)
    rubric = rubricdsl.loads(t.text, "generated.rubric")
    truth = brute_force(t)

    # the brute force's reading of the conditions is `rubric check`'s: with a value no arm
    # allows, every situation in scope is a violation of the first matching arm, or uncovered
    for s in situations(t):
        fs = [f for f in rubric.check_dicts(record_of(t, s, "zz")) if f["label"] == "out"]
        if t.scope is not None and not t.scope[1](s):
            assert fs == [], (s, fs)
            continue
        a = first_match(t, s)
        want = [("uncovered", [])] if a is None else [("violation", [a.name])]
        assert [(f["kind"], f["arms"]) for f in fs] == want, s

    results = {}
    for engine in ("boxes", "z3"):
        res, outcomes = lint_with(t.text, "generated.rubric", engine)
        if engine == "boxes":
            assert outcomes == [("out", boxable)], "the table did not take the intended path"
        codes = {d.code for d in res.diagnostics}
        assert codes <= {"RB201", "RB204", "RB206", "RB207"}, [(d.code, d.message) for d in res.diagnostics]
        dead = {t.arm_line[d.line] for d in res.diagnostics if d.code == "RB201"}
        shadowed = {t.arm_line[d.line] for d in res.diagnostics if d.code == "RB206"}
        gap = "RB204" in codes
        results[engine] = (dead, shadowed, gap)
        assert (dead, shadowed, gap) == (truth.dead, truth.shadowed, truth.gap), (
            f"{engine}: dead {sorted(dead ^ truth.dead)} shadowed {sorted(shadowed ^ truth.shadowed)} "
            f"gap {gap} (brute force {truth.gap})")

        for d in res.diagnostics:
            if d.witness is not None:
                assert_witness_matches_record(rubric, d)
            if d.code == "RB204":
                s = situation_of(t, d.record)
                assert t.scope is None or t.scope[1](s), "gap witness outside the criterion's scope"
                assert first_match(t, s) is None, f"an arm covers the gap witness {s}"
                fs = [f for f in rubric.check_dicts(d.record) if f["label"] == "out"]
                assert [f["kind"] for f in fs] == ["uncovered"], fs
            elif d.code == "RB206":
                arm = t.arms[t.arm_line[d.line] - 1]
                shown = _cover_names(d.message)
                byname = {a.display: a for a in t.arms}
                more = re.search(r" and (\d+) more$", shown[-1])
                if more:
                    shown[-1] = shown[-1][:more.start()]
                cover = [byname[x] for x in shown]
                assert all(t.order.index(c) < t.order.index(arm) for c in cover), "a covering arm comes later"
                idx = [j for j, m in enumerate(truth.matches[arm.number]) if m]
                s = situation_of(t, d.record)
                assert arm.pred(s), f"the shadowed arm does not match its witness {s}"
                decider = first_match(t, s)
                assert decider is not None and t.order.index(decider) < t.order.index(arm)
                if not more:
                    # exact: the named arms are the ones that decide the shadowed arm's situations
                    all_situations = [x for x in situations(t) if t.scope is None or t.scope[1](x)]
                    deciders = set()
                    for j in idx:
                        first = first_match(t, all_situations[j])
                        assert first is not None and t.order.index(first) < t.order.index(arm)
                        deciders.add(first.name)
                    assert deciders == {c.name for c in cover}, (sorted(deciders), d.message)
                    # the witness is decided by the first arm the message names
                    assert decider is cover[0], (decider.display, d.message)
                fs = [f for f in rubric.check_dicts(d.record) if f["label"] == "out"]
                assert all(f["kind"] == "violation" and f["arms"] == [decider.name] for f in fs), fs
    assert results["boxes"] == results["z3"]


# ---- targeted discrepancies ----------------------------------------------------------------


def test_box_engine_respects_required_when() -> None:
    """A `required when` field is present wherever its condition holds: not a box, so the
    box engine declines and the z3 path decides (no gap: x is required where src == a)."""
    text = ('rubric "rw" version "1"\n'
            "input src: enum {a, b} from src\n"
            "label x: enum {p, q} from x required when src == a\n"
            "label out: enum {u, v} from out\n"
            "decide out first {\n"
            "  when x == p -> u\n"
            "  when x == q -> v\n"
            "  when src == b -> u\n"
            "}\n")
    z3_res, _ = lint_with(text, "rw.rubric", "z3")
    box_res, outcomes = lint_with(text, "rw.rubric", "boxes")
    assert outcomes == [("out", False)]
    assert [d.code for d in z3_res.diagnostics] == []
    assert [d.code for d in box_res.diagnostics] == [], [(d.code, d.record) for d in box_res.diagnostics]


SELF_REFERENCE = {
    # a gap where `out` is v: arm 1 matches u and w
    "RB204": ('rubric "self" version "1"\n'
              "label out: enum {u, v, w} from out\n"
              "decide out first {\n"
              "  when out in {u, w} -> u\n"
              "}\n"),
    # arm 2 (`out == w`) is shadowed by arm 1 (`out in {u, w}`)
    "RB206": ('rubric "self" version "1"\n'
              "label out: enum {u, v, w} from out\n"
              "decide out first {\n"
              "  when out in {u, w} -> u\n"
              "  when out == w -> v\n"
              "  otherwise -> u\n"
              "}\n"),
}


@pytest.mark.parametrize("engine,code", [("boxes", "RB204"), ("boxes", "RB206"), ("z3", "RB206")])
def test_witness_when_arms_read_the_decided_label(engine: str, code: str) -> None:
    text = SELF_REFERENCE[code]
    rubric = rubricdsl.loads(text)
    res, _ = lint_with(text, "self.rubric", engine)
    diags = [d for d in res.diagnostics if d.code == code]
    assert diags, [(d.code, d.message) for d in res.diagnostics]
    for d in diags:
        replay(rubric, d, ArmProbe(text, rubric))


def test_shadowed_witness_is_decided_by_a_named_covering_arm() -> None:
    text = ('rubric "w" version "1"\n'
            "input src: enum {a, b} from src\n"
            "input flag: bool from flag\n"
            "input lang: enum {en, de} from lang\n"
            "label out: enum {p, q, r} from out\n"
            "decide out first {\n"
            '  edge quiet "Quiet a" when src == a and not flag -> q\n'
            "  when src == a -> p\n"
            "  when src == a and lang == en -> r\n"
            "  otherwise -> p\n"
            "}\n")
    rubric = rubricdsl.loads(text)
    res, outcomes = lint_with(text, "w.rubric", "boxes")
    assert outcomes == [("out", True)]
    (d,) = res.diagnostics
    # the edge case takes the quiet part of arm 3 and arm 2 the rest: both are named
    assert d.code == "RB206" and _cover_names(d.message) == ["edge case `quiet`", "arm 2"]
    replay(rubric, d, ArmProbe(text, rubric))


def test_errors_are_never_suppressed() -> None:
    """A rubric with an error does not compile: an ignore comment must not make lint call it clean."""
    for text in ('rubric "s" version "1"\n'
                 "label n: int 1..5 from n\n"
                 'rule x "x" { when n > 1 require }  # rubric: ignore[RB001]\n',
                 'rubric "s" version "1"\n'
                 "label n: int 1..5 from n\n"
                 'rule x "x" { when m > 1 require n > 2 }  # rubric: ignore[RB101, all]\n'):
        res = lint_text(text, "s.rubric")
        assert [d.severity for d in res.diagnostics] == ["error"] and res.suppressed == 0


# ---- 4. formats, exit codes, suppression, shipped rubrics -------------------------------------


def test_json_format() -> None:
    files = [str(CASES / n) for n in ("gaps.rubric", "overlaps.rubric", "shadowed.rubric", "dead.rubric",
                                      "compile_errors.rubric")]
    proc = run_cli("--format", "json", *files)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert isinstance(doc, dict) and isinstance(doc["diagnostics"], list)
    diags = doc["diagnostics"]
    assert {Path(d["file"]).name for d in diags} == {Path(f).name for f in files}
    assert all(d["file"] in files for d in diags), "file is the path as given"
    for d in diags:
        for key in ("check", "code", "severity", "file", "line", "column", "message"):
            assert key in d, (key, d)
        assert d["check"] in SPEC_CHECKS and d["code"] in CODES and CODES[d["code"]].check == d["check"]
        assert d["severity"] in ("error", "warning", "info")
        assert isinstance(d["line"], int) and isinstance(d["column"], int) and d["line"] >= 1 and d["column"] >= 1
        assert isinstance(d["message"], str) and d["message"]
        if d["check"] in ("gap", "overlap", "shadowed"):
            assert isinstance(d["witness"], dict) and d["witness"], d
        if "witness" in d:
            assert isinstance(d["witness"], dict)
    # the same diagnostics as the API, in the same positions
    for f in files:
        name = Path(f).name
        want = [(x.code, x.line, x.column, x.message) for x in lint_text(Path(f).read_text(encoding="utf-8"),
                                                                         f).diagnostics]
        got = [(d["code"], d["line"], d["column"], d["message"]) for d in diags if Path(d["file"]).name == name]
        assert got == want, name
    # `decide cred` (gaps.rubric:15) covers news and forum: its gap is in chats
    gap = next(d for d in diags if d["check"] == "gap" and d["line"] == 15)
    assert gap["witness"]["source"] == "chat"


def _sarif_validators() -> list:
    """The validator the schema declares (its `$schema` is draft-04), and Draft 7."""
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    out = []
    for cls in (jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator),
                jsonschema.Draft7Validator):
        cls.check_schema(schema)
        out.append(cls(schema))
    return out


def test_sarif_schema_is_the_official_copy() -> None:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert "2.1.0" in schema.get("id", schema.get("$id", ""))
    # the validators reject what SARIF rejects
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
                                          "results": [{"message": {"text": "m"}, "level": "warn"}]}]}
    for v in _sarif_validators():
        assert list(v.iter_errors(bad))


def test_sarif_format() -> None:
    files = [str(CASES / n) for n in ("gaps.rubric", "shadowed.rubric", "syntax.rubric", "requirements.rubric")]
    proc = run_cli("--format", "sarif", *files)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    for v in _sarif_validators():
        errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    rule_ids = [r["id"] for r in rules]
    results = run["results"]
    want = []
    regions = []
    for f in files:
        for d in lint_text(Path(f).read_text(encoding="utf-8"), f).diagnostics:
            want.append((d.code, {"error": "error", "warning": "warning", "info": "note"}[d.severity], d.line,
                         d.column))
            regions.append((d.regions, d.regions_total, d.notes))
    assert any(r for r, _, _ in regions)
    for r, (reg, total, notes) in zip(results, regions):  # a gap's regions, each with its witness
        assert r["properties"].get("regions") == reg and r["properties"].get("regionsTotal") == total
        assert r["message"]["text"].split("\n")[1:] == notes
    got = []
    for r in results:
        assert r["ruleId"] in rule_ids
        if "ruleIndex" in r:
            assert rule_ids[r["ruleIndex"]] == r["ruleId"]
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"].endswith(".rubric")
        got.append((r["ruleId"], r["level"], loc["region"]["startLine"], loc["region"]["startColumn"]))
        assert r["message"]["text"]
    assert got == want


GITHUB = re.compile(r"^::(?P<kind>error|warning|notice) file=(?P<file>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+)"
                    r"(?:,[A-Za-z]+=[^,:]*)*::(?P<msg>.+)$")


def test_github_format() -> None:
    files = [str(CASES / n) for n in ("gaps.rubric", "compile_errors.rubric")]
    proc = run_cli("--format", "github", *files)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    want = []
    for f in files:
        for d in lint_text(Path(f).read_text(encoding="utf-8"), f).diagnostics:
            want.append(({"error": "error", "warning": "warning", "info": "notice"}[d.severity], f, d.line, d.column))
    notes = [d.notes for f in files for d in lint_text(Path(f).read_text(encoding="utf-8"), f).diagnostics]
    got = []
    for line, note in zip(lines, notes):
        m = GITHUB.match(line)
        assert m, f"not a workflow command: {line!r}"
        assert "\n" not in m.group("msg")
        got.append((m.group("kind"), m.group("file"), int(m.group("line")), int(m.group("col"))))
        # the notes (a gap's regions with their witnesses) on lines of their own
        assert m.group("msg").split("%0A")[1:] == [n.replace("%", "%25") for n in note]
    assert any(n for n in notes if any("region" in x for x in n))
    assert got == want
    assert any(line.startswith("::warning file=") for line in lines)
    assert any(line.startswith("::error file=") for line in lines)


def test_fail_levels_and_exit_codes() -> None:
    clean = CASES / "clean.rubric"
    warnings_only = str(CASES / "gaps.rubric")
    errors = str(CASES / "examples.rubric")  # RB110 errors only
    cases = [
        (warnings_only, None, 1), (warnings_only, "info", 1), (warnings_only, "error", 0),
        (errors, "error", 1),
        (str(clean), None, 0), (str(clean), "info", 0),
    ]
    for path, level, code in cases:
        args = ["--format", "json", path] + (["--fail-level", level] if level else [])
        proc = run_cli(*args)
        assert proc.returncode == code, (path, level, proc.returncode, proc.stderr)
        doc = json.loads(proc.stdout)
        if path == str(clean):
            assert doc["diagnostics"] == []


def test_exit_2_only_when_lint_cannot_run(tmp_path: Path) -> None:
    missing = run_cli(str(tmp_path / "nothere.rubric"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    directory = run_cli(str(tmp_path))
    assert directory.returncode == 2 and "directory" in directory.stderr
    # a missing file among good ones still stops the run
    mixed = run_cli(str(CASES / "gaps.rubric"), str(tmp_path / "nothere.rubric"))
    assert mixed.returncode == 2
    latin1 = tmp_path / "latin1.rubric"
    latin1.write_bytes('rubric "caf\u00e9" version "1"\n'.encode("latin-1"))
    not_utf8 = run_cli(str(latin1))
    assert not_utf8.returncode == 2 and "UTF-8" in not_utf8.stderr
    usage = run_cli("--format", "xml", str(CASES / "clean.rubric"))
    assert usage.returncode == 2
    assert "Traceback" not in missing.stderr + directory.stderr + mixed.stderr + not_utf8.stderr + usage.stderr
    # a broken rubric is a finding, not a failure to run
    broken = run_cli(str(CASES / "syntax.rubric"), "--fail-level", "error")
    assert broken.returncode == 1 and "error[RB001]" in broken.stdout


@pytest.mark.parametrize("key", ["RB204", "decision-gap", "gap"])
def test_suppression_by_code_name_and_check(tmp_path: Path, key: str) -> None:
    body = ('rubric "suppress" version "1"\n'
            "input source: enum {forum, news, chat} from source\n"
            "label cred: enum {low, high} from cred\n"
            "label tone: enum {calm, angry} from tone\n"
            "decide cred {  # rubric: ignore[KEY]\n"
            "  when source == news -> high\n"
            "}\n"
            "decide tone {\n"
            "  when source == news -> calm\n"
            "}\n")
    plain = body.replace("  # rubric: ignore[KEY]", "")
    text = body.replace("KEY", key)
    before = lint_text(plain, "s.rubric")
    after = lint_text(text, "s.rubric")
    assert [(d.code, d.line) for d in before.diagnostics] == [("RB204", 5), ("RB204", 8)]
    assert [(d.code, d.line) for d in after.diagnostics] == [("RB204", 8)]
    assert after.suppressed == 1 and before.suppressed == 0
    summary = "1 file linted: 0 errors, 1 warning, 0 info (1 suppressed)"
    assert render_text([after]).splitlines()[-1] == summary
    if key == "RB204":  # the command line prints the same summary
        path = tmp_path / "s.rubric"
        path.write_text(text, encoding="utf-8")
        proc = run_cli("--no-color", str(path))
        assert proc.returncode == 1
        assert proc.stdout.strip().splitlines()[-1] == summary
        assert "s.rubric:5:" not in proc.stdout and "s.rubric:8:1" in proc.stdout
    # another code on the line suppresses nothing
    other = lint_text(body.replace("KEY", "RB205"), "s.rubric")
    assert [(d.code, d.line) for d in other.diagnostics] == [("RB204", 5), ("RB204", 8)] and other.suppressed == 0


def test_suppression_fixture_summary() -> None:
    text = (CASES / "suppress.rubric").read_text(encoding="utf-8")
    res = lint_text(text, "suppress.rubric")
    assert res.suppressed == 7
    assert render_text([res]).endswith("1 file linted: 0 errors, 2 warnings, 0 info (7 suppressed)\n")


def test_shipped_rubrics_lint_clean() -> None:
    paths = sorted(str(p.relative_to(REPO)) for p in (REPO / "rubrics").glob("*/*.rubric"))
    assert paths, "no shipped rubrics"
    proc = run_cli("--format", "json", "--fail-level", "warning", *paths)
    doc = json.loads(proc.stdout)
    left = [(d["file"], d["line"], d["code"], d["message"]) for d in doc["diagnostics"]
            if d["severity"] in ("warning", "error")]
    assert proc.returncode == 0 and not left, left
