"""`rubric doc`: the guideline model, the wording of conditions, anchors, escaping in
Markdown and HTML, the command line, and the shipped guidelines being up to date.

Wording cases are data: tests/cases/doc/wording.yaml.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import Ran, rubric

import rubricdsl
from rubricdsl.language import ir
from rubricdsl.language.wording import Wording, anchor, build_guide, plain
from rubricdsl.render.guide import md_code, md_text, render_guide

ROOT = Path(__file__).resolve().parents[1]
CASES = Path(__file__).resolve().parent / "cases" / "doc" / "wording.yaml"
RUBRICS = sorted((ROOT / "rubrics").glob("*/*.rubric"))
WORDING = yaml.safe_load(CASES.read_text(encoding="utf-8"))


def cli(*args: str, cwd: Path = ROOT) -> Ran:
    """`rubric ARGS`, in this process."""
    return rubric(*args, cwd=cwd, text=True)


# ---- an HTML page, parsed ----------------------------------------------------------------------


@dataclass
class Page:
    ids: list[str]
    hrefs: list[str]
    tags: list[str]
    attrs: list[tuple[str, str]]
    text: str
    style: str
    metas: list[dict[str, str]]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []
        self.style: list[str] = []
        self.metas: list[dict[str, str]] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = {k: v or "" for k, v in attrs}
        self.attrs += list(a.items())
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        if tag == "meta":
            self.metas.append(a)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.style if self._in_style else self.text).append(data)


def parse_html(text: str) -> Page:
    p = _Parser()
    p.feed(text)
    p.close()
    return Page(p.ids, p.hrefs, p.tags, p.attrs, "".join(p.text), "".join(p.style), p.metas)


def assert_self_contained(html: str, page: Page) -> None:
    """Inline CSS only, no script, nothing fetched from the network; readable on a phone
    and printable."""
    for tag in ("script", "link", "img", "iframe", "object", "embed"):
        assert tag not in page.tags, tag
    assert not [a for a, _ in page.attrs if a == "src" or a.startswith("on")], "a source or an event handler"
    assert not [v for a, v in page.attrs if a == "href" and v.lower().startswith(("javascript:", "data:"))]
    style = page.style.lower()
    assert "@import" not in style and "url(" not in style
    assert any(m.get("name") == "viewport" and "width=device-width" in m.get("content", "") for m in page.metas)
    assert "@media print" in page.style and "@media (max-width" in page.style
    assert len(page.ids) == len(set(page.ids)), [i for i in page.ids if page.ids.count(i) > 1]


def internal_links_resolve(page: Page) -> None:
    targets = set(page.ids)
    missing = [h for h in page.hrefs if h.startswith("#") and h[1:] not in targets]
    assert not missing, missing


# ---- wording ----------------------------------------------------------------------------------


def _rubric_with(cond: str | None = None, value: str | None = None) -> ir.RubricIR:
    text = WORDING["rubric"]
    if value is not None:
        text += f"let v = {value}\n"
    text += f'rule r "r" {{ require {cond if cond is not None else "true"} }}\n'
    return rubricdsl.loads(text, "wording.rubric").ir


@pytest.mark.parametrize("case", WORDING["cases"], ids=lambda c: c["cond"])
def test_condition_wording(case: dict[str, Any]) -> None:
    guide = build_guide(_rubric_with(cond=case["cond"]))
    rule = next(r for s in guide.sections for r in s.rules if r.name == "r")
    assert plain(rule.require) == case["words"]


@pytest.mark.parametrize("case", WORDING["values"], ids=lambda c: c["value"])
def test_value_wording(case: dict[str, Any]) -> None:
    guide = build_guide(_rubric_with(value=case["value"]))
    let = next(x for x in guide.lets if x.name == "v")
    assert not let.condition
    assert plain(let.means) == case["words"]


def test_every_operator_has_a_wording_case() -> None:
    """Every operator that `ir.Op`'s docstring lists is worded by some case (the cases'
    `ops` are checked against the IR, so a case cannot claim an operator it lacks)."""
    doc = ir.Op.__doc__ or ""
    listed: set[str] = set()
    for line in doc.splitlines():
        m = re.match(r"\s*[a-z]+:\s+(.*?)(?:\s{2,}\(.*)?$", line)
        if not m:
            continue
        body = re.sub(r"\([^)]*\)", "", m.group(1))
        for part in body.split(","):
            listed.add(part.strip())
    assert {"and", "==", "not in", "empty", "not empty", "present", "matches", "neg", "truth"} <= listed
    covered: set[str] = set()
    for case in WORDING["cases"]:
        ops = set(case.get("ops", []))
        found = _ops(_rubric_with(cond=case["cond"]).rules[0].require)
        assert ops <= found, (case["cond"], ops - found)
        covered |= ops
    assert listed <= covered, sorted(listed - covered)


def _ops(e: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(e, ir.Op):
        out.add(e.op)
        for a in e.args:
            out |= _ops(a)
    elif isinstance(e, ir.LetRef):
        out |= _ops(e.let.expr)
    return out


def test_unknown_expressions_fall_back_to_words() -> None:
    r = _rubric_with(cond="confidence >= 3")
    w = Wording(r)
    req = r.rules[0].require
    odd = ir.Op("frobnicate", (req.args[0],), ir.BOOL, req.span)
    assert plain(w.say(odd)) == "`frobnicate` of `confidence`"
    assert plain(w.say(odd, neg=True)).startswith("it is not true that ")
    assert plain(w.value_words(object())) == "a condition"


@pytest.mark.parametrize("case", WORDING["item_cases"], ids=lambda c: c["cond"])
def test_item_aggregate_wording(case: dict[str, Any]) -> None:
    text = WORDING["item_rubric"] + f'rule r "r" per item {{ require {case["cond"]} }}\n'
    guide = build_guide(rubricdsl.loads(text, "items.rubric").ir)
    rule = next(r for r in guide.item_rules if r.name == "r")
    assert rule.per_item
    assert plain(rule.require) == case["words"]


def test_items_section_consensus_and_per_item_clauses() -> None:
    text = WORDING["item_rubric"] + """
rule spread_ok "Scores stay within 2 points" per item severity warning { require spread(score) <= 2 }
escalate lead split "Annotators split on safety" per item { when distinct(safety) > 1 }
rule plain_rule "a record rule" { require score >= 1 }
"""
    guide = build_guide(rubricdsl.loads(text, "items.rubric").ir)
    assert guide.has_items
    assert [c.anchor for c in guide.consensus] == ["consensus-safety"]
    assert (guide.consensus[0].min_annotators, guide.consensus[0].min_agreement) == (3, 0.67)
    assert [r.anchor for r in guide.item_rules] == ["rule-spread_ok"]
    assert [e.anchor for e in guide.item_escalations] == ["escalate-split"]
    assert [r.name for s in guide.sections for r in s.rules] == ["plain_rule"]
    html = render_guide(guide, "html")
    page = parse_html(html)
    assert {"items", "consensus-safety", "rule-spread_ok", "escalate-split"} <= set(page.ids)
    items = html[html.index('<section id="items">'):]
    items = items[:items.index("</section>")]
    text_items = parse_html(items).text
    assert "at least 3 annotators judge each item" in text_items
    assert "at least 67% (0.67) of the judgments agree on safety" in text_items
    assert "the spread of score (highest minus lowest) is at most 2" in text_items
    md = render_guide(guide, "md")
    assert "## Items judged by several annotators" in md and '<a id="consensus-safety"></a>' in md


# ---- the guideline's structure and anchors -------------------------------------------------------


@pytest.mark.parametrize("path", RUBRICS, ids=lambda p: p.parent.name)
def test_every_clause_has_a_named_anchor_in_both_formats(path: Path) -> None:
    r = rubricdsl.load(path).ir
    expected = {anchor("criterion", c.name) for c in r.criteria}
    expected |= {anchor("label" if f.kind == "label" else "input", f.name) for f in r.fields}
    expected |= {anchor("decide", d.label.name) for d in r.decides}
    expected |= {anchor("arm", a.name, d.label.name) for d in r.decides for a in d.arms}
    expected |= {anchor("rule", x.name) for x in r.rules} | {anchor("escalate", x.name) for x in r.escalations}
    expected |= {anchor("let", x.name) for x in r.lets}
    guide = build_guide(r)
    assert expected <= set(guide.anchors)
    html = render_guide(guide, "html")
    page = parse_html(html)
    assert expected <= set(page.ids)
    assert_self_contained(html, page)
    internal_links_resolve(page)
    md = render_guide(guide, "md")
    md_ids = re.findall(r'<a id="([^"]+)"></a>', md)
    assert expected <= set(md_ids) and len(md_ids) == len(set(md_ids))
    assert {h for h in re.findall(r"\]\(#([^)]+)\)", md)} <= set(md_ids)


def test_anchors_come_from_names_not_positions() -> None:
    """Reordering rules, escalations and edge arms keeps every named anchor."""
    base = '''rubric "order" version "1"
label a: enum {x, y} from a
label b: bool from b
decide a {
  EDGES
  when b -> x
}
RULES
'''
    edges = ['edge e1 "one" when b -> y', 'edge e2 "two" when not b -> x']
    rules = ['rule r1 "first" { require b }', 'escalate lead s1 "send" { when b }', 'rule r2 "second" { require not b }']
    one = build_guide(rubricdsl.loads(base.replace("EDGES", "\n  ".join(edges)).replace("RULES", "\n".join(rules))).ir)
    two = build_guide(rubricdsl.loads(base.replace("EDGES", "\n  ".join(reversed(edges)))
                                      .replace("RULES", "\n".join(reversed(rules)))).ir)
    named = {"arm-a-e1", "arm-a-e2", "rule-r1", "rule-r2", "escalate-s1", "decide-a", "label-a", "label-b"}
    assert named <= set(one.anchors) and named <= set(two.anchors)
    assert "arm-a-3" in one.anchors  # the unnamed arm: its position is its name


def test_decision_layout_first_otherwise_and_exceptions() -> None:
    text = '''rubric "layout" version "1"
input source: enum {forum, news, chat} from source
label formality: enum ordered {casual, neutral, formal} from formality
label ok: bool from ok

decide formality first {
  edge press_release "A press release" when source == news and ok -> formal
  when source == news -> formal, neutral
  when source == forum -> casual
  otherwise -> casual
}
'''
    guide = build_guide(rubricdsl.loads(text).ir)
    d = guide.sections[0].decides[0]
    assert d.first and [a.name for a in d.all_arms] == ["press_release", "arm 2", "arm 3", "arm 4"]
    assert d.otherwise is not None and d.otherwise.when is None
    html = render_guide(guide, "html")
    ol = re.search(r'<ol class="first">(.*?)</ol>', html, re.S)
    assert ol, "a `first` decision is an ordered list"
    items = re.findall(r'<li id="([^"]+)"', ol.group(1))
    assert items == ["arm-formality-press_release", "arm-formality-2", "arm-formality-3", "arm-formality-4"]
    assert "Exception press_release" in parse_html(ol.group(0)).text
    md = render_guide(guide, "md")
    lines = [ln for ln in md.splitlines() if ln.startswith("1. <a id=\"arm-formality")]
    assert len(lines) == 4 and "otherwise" in lines[-1] and "Exception" in lines[0]


# ---- escaping ------------------------------------------------------------------------------------

HOSTILE = r'''rubric "hostile <script>alert(1)</script>" version "1 </style>"
"""A guide with <script>alert("doc")</script>, a </style> and &amp; in it."""
label tag: enum {"a|b", "<b>", "x`y"} from tag
"""Pick one | or not.

Line two."""
level "a|b" "Pipe | in a level & <i>markup</i>"
label note: text from note optional

criterion c "Title with | and <em>" {
  rule r "Message with a | pipe,\na line break and <script>x</script> &amp; \"quotes\"" {
    when tag == "a|b"
    require note contains "</style><script>" or note matches /a\|b/
  }
}
example "Title | with <tags>" {
  given { tag: "a|b", note: "</style>" }
  expect violation r
}
'''


def test_markdown_escapes_user_text_in_tables_and_text() -> None:
    md = render_guide(build_guide(rubricdsl.loads(HOSTILE, "hostile.rubric").ir), "md")
    # outside code spans (where Markdown reads nothing as HTML), no tag from the rubric survives
    prose = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", md)
    assert "<script>" not in prose and "<b>" not in prose and "<em>" not in prose and "<i>" not in prose
    assert "</style>" not in prose
    assert "&lt;script&gt;" in prose and "`</style><script>`" in md
    # every table row has as many unescaped pipes as its table's header row
    rows: list[str] = []
    for block in re.split(r"\n\s*\n", md):
        lines = [ln for ln in block.splitlines() if ln.startswith("|")]
        if len(lines) < 2:
            continue
        width = _cells(lines[0])
        for ln in lines[1:]:
            assert _cells(ln) == width, ln
            rows.append(ln)
    level_row = next(r for r in rows if "Pipe" in r)
    assert "\\|" in level_row
    # a message's line break does not end its heading
    heading = next(ln for ln in md.splitlines() if ln.startswith("#### Message with"))
    assert "a line break" in heading and "\\| pipe" in heading


def _cells(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_markdown_helpers() -> None:
    assert md_text("a|b <c> *d* [e](f) &amp; #1") == r"a\|b &lt;c&gt; \*d\* \[e\](f) &amp;amp; \#1"
    assert md_text("- item") == r"\- item" and md_text("3. x") == r"3\. x" and md_text("3.2") == "3.2"
    assert md_code("x`y") == "``x`y``" and md_code("a|b") == r"`a\|b`" and md_code("a|b", cell=False) == "`a|b`"
    assert md_code("`a`") == "`` `a` ``"


def test_html_guideline_keeps_hostile_text_inert() -> None:
    html = render_guide(build_guide(rubricdsl.loads(HOSTILE, "hostile.rubric").ir), "html")
    page = parse_html(html)
    assert_self_contained(html, page)
    assert "script" not in page.tags and "b" not in page.tags and "i" not in page.tags
    for s in ('<script>alert("doc")</script>', "</style>", "&amp;", '"quotes"', "<em>", "a|b", "<b>"):
        assert s in page.text, s
    # the style element holds only the stylesheet: a `</style>` in text did not end it
    assert "alert" not in page.style and "hostile" not in page.style


# ---- the command line ----------------------------------------------------------------------------


def test_doc_to_stdout_and_formats(tmp_path: Path) -> None:
    rs = "rubrics/response-safety/response-safety.rubric"
    md = cli("doc", rs)
    assert md.returncode == 0, md.stderr
    version = rubricdsl.load(ROOT / rs).version
    assert md.stdout.startswith("<!-- Generated by `rubric doc`") and f"# response-safety — version {version}" in md.stdout
    html = cli("doc", rs, "--format", "html")
    assert html.returncode == 0 and html.stdout.startswith("<!--") is False and "<!DOCTYPE html>" in html.stdout
    out = tmp_path / "g.html"
    w = cli("doc", rs, "-o", str(out))
    assert w.returncode == 0 and out.read_text(encoding="utf-8").lstrip().startswith("<!DOCTYPE html>")
    assert f"wrote {out}" in w.stdout


def test_doc_check_reports_stale_and_missing_files(tmp_path: Path) -> None:
    src = ROOT / "rubrics" / "tone-intent" / "tone-intent.rubric"
    rubric = tmp_path / "tone.rubric"
    rubric.write_bytes(src.read_bytes())
    out = tmp_path / "GUIDE.md"
    missing = cli("doc", str(rubric), "-o", str(out), "--check")
    assert missing.returncode == 1 and f"{out} is missing" in missing.stdout and not out.exists()
    assert cli("doc", str(rubric), "-o", str(out)).returncode == 0
    fresh = cli("doc", str(rubric), "-o", str(out), "--check")
    assert fresh.returncode == 0 and "1 file up to date" in fresh.stdout
    version = rubricdsl.load(src).version
    rubric.write_text(src.read_text(encoding="utf-8").replace(f'version "{version}"', 'version "99.0"'),
                      encoding="utf-8")
    stale = cli("doc", str(rubric), "-o", str(out), "--check")
    assert stale.returncode == 1 and f"{out} is out of date" in stale.stdout
    assert f"version {version}" in out.read_text(encoding="utf-8")  # --check writes nothing


@pytest.mark.parametrize(("args", "message"), [
    (["doc", "no-such.rubric"], "rubric: error: no-such.rubric: no such file"),
    (["doc", "rubrics"], "rubric: error: rubrics: is a directory, not a rubric file"),
    (["doc", "tests/data/broken.rubric"], "error["),
    (["doc", "rubrics/tone-intent/tone-intent.rubric", "--check"], "--check needs -o FILE"),
    (["doc", "rubrics/tone-intent/tone-intent.rubric", "rubrics/medical-labeling/medical-labeling.rubric"],
     "several rubrics need -o FILE"),
    (["doc", "rubrics/tone-intent/tone-intent.rubric", "rubrics/medical-labeling/medical-labeling.rubric",
      "-o", "GUIDE.md"], "FILE needs {dir} or {name}"),
    (["doc", "rubrics/tone-intent/tone-intent.rubric", "-o", "guide.txt"], "cannot tell the format"),
])
def test_doc_usage_errors_exit_2_without_a_traceback(args: list[str], message: str) -> None:
    p = cli(*args)
    assert p.returncode == 2
    assert message in p.stderr
    assert "Traceback" not in p.stderr and p.stdout == ""


def test_shipped_guidelines_are_up_to_date() -> None:
    """rubrics/*/GUIDE.md and GUIDE.html are what `rubric doc` renders today: regenerate
    them with the command below (without --check) after changing a rubric."""
    p = cli("doc", *[str(r.relative_to(ROOT)) for r in RUBRICS], "-o", "{dir}/GUIDE.md", "-o", "{dir}/GUIDE.html",
            "--check")
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"{2 * len(RUBRICS)} files up to date" in p.stdout
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for r in RUBRICS:
        assert f"rubrics/{r.parent.name}/GUIDE.md" in readme


def test_help_lists_doc_and_report() -> None:
    top = cli("--help")
    assert re.search(r"^\s+doc\s+Render each RUBRIC as the guideline annotators read", top.stdout, re.M)
    check = cli("check", "--help")
    assert "--report FILE" in check.stdout and "--guide-url URL" in check.stdout
