"""`rubric diff`: structural changes and the records a change flips.

Each shipped rubric is edited four ways (an arm narrowed, an edge case added, an enum
value renamed, a rule added); `diff --data` must list exactly the records whose
findings differ when the sample is checked with both versions."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import Ran, rubric

import rubricdsl
from rubricdsl.analysis import diff as D

ROOT = Path(__file__).resolve().parents[1]
# the shipped rubrics with a JSONL sample; those reading a tool's export are below
RUBRICS = sorted(p for p in (ROOT / "rubrics").glob("*/*.rubric") if (p.parent / "sample.jsonl").is_file())
EXPORTS = sorted(p for p in (ROOT / "rubrics").glob("*/*.rubric") if (p.parent / "sample.json").is_file())


def _key(f: dict) -> tuple:
    return (f["kind"], f["rule"], f["label"], f["target"], f["severity"])


def expected_flips(old_text: str, new_text: str, sample: Path) -> set[int]:
    old, new = rubricdsl.loads(old_text), rubricdsl.loads(new_text)
    flips = set()
    for n, line in enumerate(sample.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # unreadable in both versions
        a = sorted(map(_key, old.check_dicts(rec, line=n)))
        b = sorted(map(_key, new.check_dicts(rec, line=n)))
        if a != b:
            flips.add(n)
    return flips


def narrowings(text: str) -> list[str]:
    """The rubric with one arm narrowed (its last value dropped), for every arm that allows several."""
    ir = rubricdsl.loads(text).ir
    out = []
    for d in ir.decides:
        for arm in d.arms:
            if len(arm.values) > 1:
                line = text.splitlines()[arm.span.line - 1]
                narrowed = re.sub(r",\s*" + re.escape(str(arm.values[-1]).lower()) + r"\b", "", line, count=1)
                if narrowed != line:
                    out.append(text.replace(line, narrowed, 1))
    return out


def edits(text: str, sample: Path | None = None) -> dict[str, str]:
    ir = rubricdsl.loads(text).ir
    d = next(d for d in ir.decides if d.label.type.kind == "enum")
    enum = d.label.type.enum
    out = {}
    # narrow an arm the sample's records use (the first narrowing that flips a record)
    cands = narrowings(text)
    out["narrow an arm"] = next((c for c in cands if sample is None or expected_flips(text, c, sample)), cands[0])
    # an edge case that sends everything to the first value
    opener = text.splitlines()[d.span.line - 1]
    out["add an edge case"] = text.replace(
        opener, opener + f'\n    edge probe_edge "Probe" when true -> {enum.values[0]}', 1)
    # rename an enum value of the decided label everywhere in the rubric
    old_v = enum.values[-1]
    out["rename an enum value"] = re.sub(r"(?<![\w\"])" + re.escape(old_v) + r"(?![\w\"])", old_v + "_renamed", text)
    # a rule that every record with the first value violates
    out["add a rule"] = text + (f'\nrule probe_rule "Probe" {{\n  when {d.label.name} == {enum.values[0]}\n'
                                "  require false\n}\n")
    return out


@pytest.mark.parametrize("path", RUBRICS, ids=lambda p: p.parent.name)
def test_diff_data_lists_exactly_the_flipped_records(path: Path, tmp_path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    sample = path.parent / "sample.jsonl"
    old = tmp_path / "old.rubric"
    old.write_text(text, encoding="utf-8")
    for what, new_text in edits(text, sample).items():
        new = tmp_path / "new.rubric"
        new.write_text(new_text, encoding="utf-8")
        res = D.diff(str(old), str(new), [str(sample)])
        got = {r.line for r in res.records}
        want = expected_flips(text, new_text, sample)
        assert got == want, (what, sorted(got ^ want))
        assert want, f"{what}: the edit flips no record in the sample"
        assert res.changes, what
        assert res.summary()["records"] == sum(1 for ln in sample.read_text(encoding="utf-8").splitlines()
                                               if ln.strip())


def test_structural_changes_are_named(tmp_path: Path) -> None:
    text = (RUBRICS[0]).read_text(encoding="utf-8")
    ed = edits(text)
    cases = {
        "narrow an arm": ("arm", "changed"),
        "add an edge case": ("arm", "added"),
        "rename an enum value": ("enum_value", "removed"),
        "add a rule": ("rule", "added"),
    }
    for what, (kind, change) in cases.items():
        old, new = tmp_path / "o.rubric", tmp_path / "n.rubric"
        old.write_text(text, encoding="utf-8")
        new.write_text(ed[what], encoding="utf-8")
        changes = D.diff(str(old), str(new)).changes
        assert any(c.what == kind and c.change == change for c in changes), (what, changes)
    same = D.diff(str(RUBRICS[0]), str(RUBRICS[0]))
    assert same.changes == [] and same.records == []


def test_cli_formats_git_revisions_and_gate(tmp_path: Path) -> None:
    path = RUBRICS[0]
    new = tmp_path / "new.rubric"
    new.write_text(edits(path.read_text(encoding="utf-8"))["add a rule"], encoding="utf-8")
    sample = path.parent / "sample.jsonl"

    def run(*args: str) -> Ran:
        return rubric("diff", *args, cwd=ROOT, text=True)

    proc = run(str(path), str(new), "--data", str(sample), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) == {"old", "new", "changes", "records", "summary"}
    assert doc["old"]["sha256"] != doc["new"]["sha256"]
    assert doc["records"] and set(doc["records"][0]) == {"file", "line", "record", "before", "after"}
    assert doc["summary"]["newly_violating"] >= 1
    md = run(str(path), str(new), "--data", str(sample), "--format", "markdown").stdout
    assert md.startswith("### Rubric") and "| change | what | name | detail |" in md
    assert run(str(path), str(new), "--fail-on-change", "structure").returncode == 1
    assert run(str(path), str(new), "--data", str(sample), "--fail-on-change", "records").returncode == 1
    assert run(str(path), str(path), "--data", str(sample), "--fail-on-change", "records").returncode == 0
    # REV:PATH through git, when this is a git checkout
    if (ROOT / ".git").exists():
        rel = path.relative_to(ROOT).as_posix()
        proc = run(f"HEAD:{rel}", rel, "--format", "json")
        if proc.returncode == 0:
            assert json.loads(proc.stdout)["old"]["file"] == f"HEAD:{rel}"
        else:
            assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    bad = run("nope.rubric", str(path))
    assert bad.returncode == 2 and "no such file" in bad.stderr


# ---- semantic comparison -----------------------------------------------------------------------

BASE = '''rubric "sem" version "1"
input src: enum {news, forum, chat} from src
input lang: enum {en, de} from lang
label harm: set {violence, hate} from harm
label safety: enum {safe, borderline, unsafe} from safety
label score: int 1..5 from score

decide safety {
  when harm is empty -> safe
  when violence in harm -> unsafe
  when hate in harm and src == news -> borderline, unsafe
  when hate in harm and src != news -> unsafe
}

rule low_score_needs_harm "A low score needs a harm" {
  when not (src == chat or lang == de)
  require score >= 3 and harm is empty
}

escalate senior hot "Hot" { when score == 1 and src in {news, forum} }
'''


def _semantic(old: str, new: str) -> dict[tuple[str, str], object]:
    from rubricdsl.analysis.semantic import compare

    return {(c.what, c.name): c for c in compare(rubricdsl.loads(old).ir, rubricdsl.loads(new).ir)}


def test_equivalent_rewrites_diff_as_equivalent(tmp_path: Path) -> None:
    # arms reordered (no `first`), De Morgan in a rule, the same escalation written differently
    lines = BASE.splitlines()
    arms = lines[8:12]
    reordered = "\n".join(lines[:8] + [arms[3], arms[1], arms[0], arms[2]] + lines[12:]) + "\n"
    rewritten = (reordered
                 .replace("when not (src == chat or lang == de)", "when src != chat and lang != de")
                 .replace("src in {news, forum}", "src not in {chat}"))
    sem = _semantic(BASE, rewritten)
    assert {k: c.status for k, c in sem.items()} == {
        ("decide", "safety"): "equivalent", ("rule", "low_score_needs_harm"): "equivalent",
        ("escalation", "hot"): "equivalent"}
    old, new = tmp_path / "old.rubric", tmp_path / "new.rubric"
    old.write_text(BASE, encoding="utf-8")
    new.write_text(rewritten, encoding="utf-8")
    data = tmp_path / "d.jsonl"
    import itertools
    with data.open("w", encoding="utf-8") as fh:
        for src, lang, harm, safety, score in itertools.product(
                ["news", "forum", "chat"], ["en", "de"], [[], ["violence"], ["hate"], ["violence", "hate"]],
                ["safe", "borderline", "unsafe"], [1, 3, 5]):
            fh.write(json.dumps({"src": src, "lang": lang, "harm": harm, "safety": safety, "score": score}) + "\n")
    res = D.diff(str(old), str(new), [str(data)])
    assert res.records == [] and res.records_read == 3 * 2 * 4 * 3 * 3


def test_a_rule_split_in_two_is_equivalent_as_a_whole() -> None:
    split = BASE.replace('''rule low_score_needs_harm "A low score needs a harm" {
  when not (src == chat or lang == de)
  require score >= 3 and harm is empty
}''', '''rule low_score "Score" {
  when not (src == chat or lang == de)
  require score >= 3
}
rule needs_harm "Harm" {
  when not (src == chat or lang == de)
  require harm is empty
}''')
    sem = _semantic(BASE, split)
    assert sem[("rules", "all error rules")].status == "equivalent"
    # and no record flips: the split rules are compared as a group with the rule they replace
    import itertools
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        old, new, data = Path(tmp) / "o.rubric", Path(tmp) / "n.rubric", Path(tmp) / "d.jsonl"
        old.write_text(BASE, encoding="utf-8")
        new.write_text(split, encoding="utf-8")
        with data.open("w", encoding="utf-8") as fh:
            for src, lang, harm, score in itertools.product(["news", "chat"], ["en", "de"],
                                                            [[], ["hate"]], [1, 2, 3, 5]):
                fh.write(json.dumps({"src": src, "lang": lang, "harm": harm, "safety": "unsafe" if harm else "safe",
                                     "score": score}) + "\n")
        res = D.diff(str(old), str(new), [str(data)])
        assert res.records == [] and res.records_read == 32


@pytest.mark.parametrize("new,what,status", [
    (BASE.replace("when hate in harm and src == news -> borderline, unsafe",
                  "when hate in harm and src == news -> unsafe"), ("decide", "safety"), "narrower"),
    (BASE.replace("when hate in harm and src != news -> unsafe",
                  "when hate in harm and src != news -> borderline, unsafe"), ("decide", "safety"), "broader"),
    (BASE.replace("require score >= 3 and harm is empty", "require score >= 2 and harm is empty"),
     ("rule", "low_score_needs_harm"), "narrower"),
    (BASE.replace("when score == 1 and src in {news, forum}", "when score <= 2 and src in {news, forum}"),
     ("escalation", "hot"), "broader"),
    (BASE.replace("when harm is empty -> safe", "when harm is empty -> borderline"), ("decide", "safety"), "changed"),
])
def test_real_changes_are_never_equivalent(new: str, what: tuple[str, str], status: str) -> None:
    c = _semantic(BASE, new)[what]
    assert c.status == status
    assert c.witness is not None and c.old_says != c.new_says
    # the witness is a situation where the versions really differ
    rec = {k: v for k, v in c.witness.items() if v is not None}
    old_f = {(f["kind"], f["rule"]) for f in rubricdsl.loads(BASE).check_dicts(
        {**rec, "safety": rec.get("safety", "safe"), "score": rec.get("score", 3), "harm": rec.get("harm", []),
         "src": rec.get("src", "news"), "lang": rec.get("lang", "en")})}
    assert old_f is not None


def test_changed_types_are_compared_where_both_versions_accept_the_record() -> None:
    # a wider range: compared over the values both accept, where nothing changed
    wider = BASE.replace("label score: int 1..5 from score", "label score: int 0..9 from score")
    assert _semantic(BASE, wider)[("rule", "low_score_needs_harm")].status == "equivalent"
    # a renamed enum value: the decision changed, shown on a record valid in both versions
    renamed = BASE.replace("borderline", "caution")
    c = _semantic(BASE, renamed)[("decide", "safety")]
    assert c.status != "equivalent" and c.witness is not None
    assert "borderline" in c.old_says and "caution" in c.new_says
    # a field that changed kind cannot share variables: reported, with the reason
    kind = BASE.replace("label score: int 1..5 from score", "label score: enum {low, high} from score").replace(
        "require score >= 3 and harm is empty", "require score == high and harm is empty").replace(
        "when score == 1 and src in {news, forum}", "when score == low and src in {news, forum}")
    sem = _semantic(BASE, kind)
    assert sem[("rule", "low_score_needs_harm")].status == "changed"
    assert "type changed" in sem[("rule", "low_score_needs_harm")].reason
    assert sem[("decide", "safety")].status == "equivalent"


def test_reordered_enum_and_set_values_are_no_change(tmp_path: Path) -> None:
    """`enum {a, b}` and `enum {b, a}` are one type: reordering values changes nothing, and
    a field compared with one declared in the other order keeps its meaning."""
    base = BASE + 'input src2: enum {news, forum, chat} from src2\nlabel harm2: set {violence, hate} from harm2\n' \
        'rule same_src "The sources agree" { when harm2 == harm require src2 == src }\n'
    reordered = (base.replace("input src: enum {news, forum, chat}", "input src: enum {chat, news, forum}")
                 .replace("label harm: set {violence, hate}", "label harm: set {hate, violence}"))
    assert D.structural(rubricdsl.loads(base).ir, rubricdsl.loads(reordered).ir) == []
    sem = _semantic(base, reordered)
    assert {k: c.status for k, c in sem.items() if k[0] != "rules"} == {
        ("decide", "safety"): "equivalent", ("rule", "low_score_needs_harm"): "equivalent",
        ("escalation", "hot"): "equivalent", ("rule", "same_src"): "equivalent"}
    # an ordered enum's order is its meaning
    ranked = base.replace("label score: int 1..5 from score", "label score: enum ordered {lo, hi} from score") \
        .replace("score >= 3", "score >= hi").replace("score == 1", "score == lo")
    flipped = ranked.replace("enum ordered {lo, hi}", "enum ordered {hi, lo}")
    assert [c.to_dict()["change"] for c in D.structural(rubricdsl.loads(ranked).ir, rubricdsl.loads(flipped).ir)] \
        == ["changed"]
    assert _semantic(ranked, flipped)[("rule", "low_score_needs_harm")].status != "equivalent"


def expected_judgment_flips(old_text: str, new_text: str, sample: Path) -> set[tuple[str, str]]:
    """(record, judgment) of every judgment of an export whose findings differ, from
    each task checked on its own through the API."""
    old, new = rubricdsl.loads(old_text), rubricdsl.loads(new_text)
    flips = set()
    for task in json.loads(sample.read_text(encoding="utf-8")):
        by: dict[tuple, list] = {}
        for side, r in (("a", old), ("b", new)):
            for f in r.check_dicts(task):
                if f.get("judgment") is not None:
                    by.setdefault((f["record"], f["judgment"]), {"a": [], "b": []})[side].append(_key(f))
        flips |= {k for k, v in by.items() if sorted(v["a"]) != sorted(v["b"])}
    return flips


@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: p.parent.name)
def test_diff_data_on_an_export_lists_each_flipped_judgment(path: Path, tmp_path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    sample = path.parent / "sample.json"
    old = tmp_path / "old.rubric"
    old.write_text(text, encoding="utf-8")
    flipped_some = False
    for what, new_text in edits(text).items():
        new = tmp_path / "new.rubric"
        new.write_text(new_text, encoding="utf-8")
        res = D.diff(str(old), str(new), [str(sample)])
        got = {(r.record, r.judgment) for r in res.records if r.judgment is not None}
        assert got == expected_judgment_flips(text, new_text, sample), what
        flipped_some = flipped_some or bool(got)
        assert res.summary()["records"] == len(json.loads(sample.read_text(encoding="utf-8")))
        assert all(r.judgment is None for r in res.records if r.before + r.after and "lines" in (r.before + r.after)[0])
    assert flipped_some


def test_the_record_block_is_compared_line_by_line(tmp_path: Path) -> None:
    base = ('rubric "r" version "1"\nrecord {\n  id = id\n  each = annotations\n  judgment = @id\n'
            '  skip when cancelled\n}\ninput cancelled: bool from @was_cancelled optional\n'
            'label toxic: enum {yes, no} from @result[from_name = "toxic"].value.choices[0]\n')
    old = tmp_path / "old.rubric"
    old.write_text(base, encoding="utf-8")
    cases = {
        "judgment = @unique_id": ("judgment", "changed", "@id -> @unique_id"),
        "annotator = @completed_by": ("annotator", "added", "@completed_by"),
        "skip when cancelled or toxic == no": ("skip when", "changed", None),
        "each = items": ("each", "changed", "annotations -> items"),
    }
    for line, (name, change, detail) in cases.items():
        key = line.split(" ")[0] + " " + line.split(" ")[1] if line.startswith("skip") else line.split(" ")[0]
        lines = [ln for ln in base.split("\n") if not ln.strip().startswith(key)]
        text = "\n".join(lines).replace("  id = id\n", f"  id = id\n  {line}\n")
        new = tmp_path / "new.rubric"
        new.write_text(text, encoding="utf-8")
        got = [c for c in D.diff(str(old), str(new)).changes if c.what == "record"]
        assert [(c.name, c.change) for c in got] == [(name, change)], (line, got)
        if detail is not None:
            assert got[0].detail == detail
    # without the skip line: removed
    new.write_text(base.replace("  skip when cancelled\n", ""), encoding="utf-8")
    assert [(c.name, c.change) for c in D.diff(str(old), str(new)).changes] == [("skip when", "removed")]


SHOWN_OLD = '''rubric "shown" version "1"
label a: bool from a
label n: int 0..9 from n
label t: text from t required when n > 2
label y: enum {p, q} from y
criterion c "C" {
  applies when n != 0
  rule in_c "m" { require a or n * 2 > 3 }
}
decide y {
  when a and n < 5 -> p
  otherwise -> q
}
rule r "m" {
  when (a or n > 1)
    and t contains "x"
  require t matches /<b>|x_y/
}
rule plain "m" { require a }
'''


def test_changed_conditions_are_shown_as_the_rubric_writes_them(tmp_path: Path) -> None:
    """A changed condition reads as written in each version (lines joined), not in the
    IR's notation; one with a comment inside falls back to that notation; and the
    Markdown report shows them as text, not markup."""
    new_text = (SHOWN_OLD.replace("required when n > 2", "required when n >= 2")
                .replace("applies when n != 0", "applies when n != 0 and a")
                .replace("n * 2 > 3", "n * 2 > 4")
                .replace("when a and n < 5 -> p", "when a and n < 6 -> p")
                .replace("when (a or n > 1)\n", "when (a or n > 1)  # why\n")
                .replace('t contains "x"', 't contains "y"')
                .replace("/<b>|x_y/", "/<i>|x_y/")
                .replace('rule plain "m" { require a }', 'rule plain "m" { when n == 1  require a }'))
    old, new = tmp_path / "o.rubric", tmp_path / "n.rubric"
    old.write_text(SHOWN_OLD, encoding="utf-8")
    new.write_text(new_text, encoding="utf-8")
    res = D.diff(str(old), str(new))
    got = {(c.what, c.name): c.detail for c in res.changes}
    assert got[("field", "t")] == "presence: required when n > 2 -> required when n >= 2"
    assert got[("criterion", "c")] == "applies when: n != 0 -> n != 0 and a"
    assert got[("rule", "in_c")] == "require: a or n * 2 > 3 -> a or n * 2 > 4"
    assert got[("arm", "y: arm 1")] == "condition: a and n < 5 -> a and n < 6"
    assert got[("rule", "plain")] == "when: always -> n == 1"
    # the old `when` on two lines, joined; the new one holds a comment: the IR's notation
    when, require = got[("rule", "r")].split(", require: ")
    assert when.startswith('when: (a or n > 1) and t contains "x" -> and(')
    assert require == "t matches /<b>|x_y/ -> t matches /<i>|x_y/"
    from rubricdsl.render.diff_report import render_markdown

    md = render_markdown(res)
    assert "<b>" not in md and "<i>" not in md and "/&lt;b&gt;\\|x\\_y/ → " in md
    assert "a or n \\* 2 &gt; 3 → a or n \\* 2 &gt; 4" in md  # no emphasis, no HTML
