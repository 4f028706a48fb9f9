"""`rubric check --report FILE.html`: the HTML report for leads, parsed with a real HTML
parser and checked against the JSON report of the same run, against the rendered
guideline its links point into, and with hostile annotation text."""
from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import orjson
import pytest
from helpers import Ran, rubric

import rubricdsl
from rubricdsl.engine import evaluate
from rubricdsl.render.report_html import ReportCollector

ROOT = Path(__file__).resolve().parents[1]
RUBRICS = sorted((ROOT / "rubrics").glob("*/*.rubric"))
# every shipped data set: (run name, rubric, data file)
RUNS = [(f"{p.parent.name}/{d.stem}", p, d) for p in RUBRICS for d in sorted(p.parent.glob("*.jsonl"))]
RUN_NAMES = [n for n, _, _ in RUNS]
KINDS = ("violation", "invalid", "unreadable", "ambiguous", "uncovered", "escalation")


def cli(*args: str, cwd: Path = ROOT) -> Ran:
    return rubric(*args, cwd=cwd, text=True)


# ---- a small DOM over html.parser -------------------------------------------------------------------

VOID = {"meta", "br", "link", "img", "input", "hr", "wbr", "source", "col", "area", "base", "embed", "param"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: "Node | None") -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def all(self, pred: Callable[["Node"], bool] | None = None, **attrs: str) -> list["Node"]:
        out = []
        for c in self.children:
            if isinstance(c, Node):
                if (pred is None or pred(c)) and all(c.attrs.get(k.rstrip("_").replace("_", "-")) == v
                                                     for k, v in attrs.items()):
                    out.append(c)
                out += c.all(pred, **attrs)
        return out

    def one(self, pred: Callable[["Node"], bool] | None = None, **attrs: str) -> "Node":
        found = self.all(pred, **attrs)
        assert len(found) == 1, (attrs, len(found))
        return found[0]


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        n = Node(tag, {k: v or "" for k, v in attrs}, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.cur.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.cur))

    def handle_endtag(self, tag: str) -> None:
        n: Node | None = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        assert n is not None and n.parent is not None, f"unmatched </{tag}>"
        self.cur = n.parent

    def handle_data(self, data: str) -> None:
        self.cur.children.append(data)


def dom(text: str) -> Node:
    p = _Dom()
    p.feed(text)
    p.close()
    assert p.cur is p.root, "unclosed elements"
    return p.root


def number(s: str) -> int:
    return int(s.replace(",", "").strip() or 0)


def assert_self_contained(html: str, root: Node) -> None:
    tags = {n.tag for n in root.all()}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed"}, tags
    for n in root.all():
        assert not any(a == "src" or a.startswith("on") for a in n.attrs), (n.tag, n.attrs)
        assert not n.attrs.get("href", "").lower().startswith(("javascript:", "data:")), n.attrs
    style = "".join(n.text() for n in root.all(lambda n: n.tag == "style")).lower()
    assert "@import" not in style and "url(" not in style
    assert any(m.attrs.get("name") == "viewport" for m in root.all(lambda n: n.tag == "meta"))
    assert "@media print" in style
    ids = [n.attrs["id"] for n in root.all(lambda n: "id" in n.attrs)]
    assert len(ids) == len(set(ids))
    for a in root.all(lambda n: n.tag == "a" and n.attrs.get("href", "").startswith("#")):
        assert a.attrs["href"][1:] in ids, a.attrs["href"]


# ---- the clause a finding belongs to, worked out independently of the report ---------------------------


def clause_title(f: dict, decided: set[str]) -> str:
    if f["kind"] == "unreadable":
        return "lines that are not records"
    if f["kind"] == "invalid":
        return f"value of {f['label']}"
    if f["kind"] == "escalation":
        return f"escalation {f['rule']}"
    if f["rule"] == "consensus":  # an item: too few annotators, or too little agreement
        return f"agreement on {f['label']}"
    if f["label"] is not None and f["rule"] == f["label"] and f["label"] in decided:
        return f"decision {f['label']}"
    return f"rule {f['rule']}"


def counting_arms(rubric: Any, record: dict) -> dict[int, tuple[int, ...] | None]:
    """Per decide: the arms that count in `record` (() when none: uncovered), or None
    when the decide does not run — from the reference interpreter's definitions."""
    env = evaluate.Env(rubric, record)
    applies: dict[str | None, bool] = {None: True}
    for c in rubric.criteria:
        applies[c.name] = c.applies is None or (not (c.applies.mentions & env.invalid)
                                                and evaluate.cond(c.applies, env))
    out: dict[int, tuple[int, ...] | None] = {}
    for d in rubric.decides:
        if d.mentions & env.invalid or not applies[d.criterion] or env.values[d.label.name] is None:
            out[d.index] = None
            continue
        edges = [a for a in d.arms if a.kind == "edge" and evaluate.cond(a.cond, env)]
        plain = [a for a in d.arms if a.kind == "when" and evaluate.cond(a.cond, env)]
        other = [a for a in d.arms if a.kind == "otherwise"]
        counting = edges or plain or other
        if d.first:
            counting = counting[:1]
        out[d.index] = tuple(a.number for a in counting)
    return out


# ---- the report against the JSON report of the same run ---------------------------------------------


@pytest.fixture(scope="module")
def shipped_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, str, Node, str]]:
    out: dict[str, tuple[dict, str, Node, str]] = {}
    tmp = tmp_path_factory.mktemp("reports")
    for name, path, data in RUNS:
        stem = name.replace("/", "-")
        rep_json, rep_html = tmp / f"{stem}.json", tmp / f"{stem}.html"
        p = cli("check", str(path.relative_to(ROOT)), str(data.relative_to(ROOT)),
                "--format", "json", "-o", str(rep_json), "--report", str(rep_html), "--guide-url", "GUIDE.html")
        assert p.returncode in (0, 1), p.stderr
        guide = cli("doc", str(path.relative_to(ROOT)), "--format", "html")
        assert guide.returncode == 0, guide.stderr
        html = rep_html.read_text(encoding="utf-8")
        out[name] = (json.loads(rep_json.read_text(encoding="utf-8")), html, dom(html), guide.stdout)
    return out


def _rubric_of(name: str) -> Any:
    return rubricdsl.load(next(p for n, p, _ in RUNS if n == name)).ir


@pytest.mark.parametrize("name", RUN_NAMES)
def test_summary_cards_match_the_json_report(shipped_runs: dict, name: str) -> None:
    report, html, root, _ = shipped_runs[name]
    assert_self_contained(html, root)
    cards = {n.attrs["data-key"]: number(n.one(lambda x: x.attrs.get("class") == "n" or
                                                x.attrs.get("class", "").startswith("n ")).text())
             for n in root.all(lambda n: "card" in n.attrs.get("class", "").split())}
    s = report["summary"]
    assert cards["records"] == s["records"]
    assert cards.get("items") == s.get("items")
    for k in KINDS:
        assert cards[k] == s[k], k
    assert (cards["error"], cards["warning"], cards["info"]) == (s["errors"], s["warnings"], s["infos"])
    with_findings = len({(f["file"], f["line"]) for f in report["findings"] if "lines" not in f})  # records
    assert cards["with_findings"] == with_findings and cards["clean"] == s["records"] - with_findings
    assert root.one(id="rubric-sha256").text() == report["rubric"]["sha256"]
    h1 = root.one(lambda n: n.tag == "h1").text()
    assert report["rubric"]["name"] in h1 and report["rubric"]["version"] in h1


@pytest.mark.parametrize("name", RUN_NAMES)
def test_counts_by_clause_match_the_json_report(shipped_runs: dict, name: str) -> None:
    report, _, root, _ = shipped_runs[name]
    rubric = _rubric_of(name)
    decided = {d.label.name for d in rubric.decides}
    expected: dict[str, Counter] = {}
    for f in report["findings"]:
        expected.setdefault(clause_title(f, decided), Counter())[f["kind"]] += 1
    got: dict[str, Counter] = {}
    for row in root.one(id="clause-table").all(lambda n: n.tag == "tr" and "data-clause" in n.attrs):
        title = row.all(lambda n: n.tag == "a")[0].text()
        got[title] = Counter({td.attrs["data-kind"]: number(td.text())
                              for td in row.all(lambda n: n.tag == "td" and "data-kind" in n.attrs)
                              if td.text().strip()})
    assert got == expected
    # the chart draws the same numbers: one bar per clause (all fit under the cap here)
    bars = root.one(id="chart").all(lambda n: n.tag == "g")
    assert len(bars) == len(expected)
    drawn = Counter()
    for g in bars:
        for rect in g.all(lambda n: n.tag == "rect"):
            kind = rect.attrs["class"].removeprefix("k-")
            drawn[kind] += int(rect.one(lambda n: n.tag == "title").text().rsplit(": ", 1)[1].split()[0])
    assert drawn == Counter({k: v for k, v in Counter(f["kind"] for f in report["findings"]).items()})


@pytest.mark.parametrize("name", RUN_NAMES)
def test_every_link_into_the_guideline_lands_on_a_clause(shipped_runs: dict, name: str) -> None:
    report, _, root, guide_html = shipped_runs[name]
    guide_ids = {n.attrs["id"] for n in dom(guide_html).all(lambda n: "id" in n.attrs)}
    links = [a.attrs["href"] for a in root.all(lambda n: n.tag == "a" and n.attrs.get("href", "").startswith("GUIDE.html#"))]
    assert links
    missing = sorted({h for h in links if h.split("#", 1)[1] not in guide_ids})
    assert not missing, missing
    # every clause that has a finding links to its place in the guideline
    rubric = _rubric_of(name)
    decided = {d.label.name for d in rubric.decides}
    for f in report["findings"]:
        if f["kind"] == "unreadable":
            continue
        title = clause_title(f, decided)
        section = root.one(id="samples").all(lambda n: n.tag == "div" and "sample" in n.attrs.get("class", ""))
        heads = [s for s in section if s.one(lambda n: n.tag == "h3").all(lambda n: n.tag == "a")
                 and s.one(lambda n: n.tag == "h3").all(lambda n: n.tag == "a")[0].text() == title]
        assert len(heads) == 1, title
        href = heads[0].one(lambda n: n.tag == "h3").all(lambda n: n.tag == "a")[0].attrs["href"]
        kind = {"decision": "decide", "value": f"{_field_kind(rubric, f['label'])}", "rule": "rule",
                "escalation": "escalate", "agreement": "consensus"}[title.split()[0]]
        assert href.startswith(f"GUIDE.html#{kind}-"), (title, href)


def _field_kind(rubric: Any, name: str) -> str:
    f = rubric.field(name)
    return "label" if f is not None and f.kind == "label" else "input"


@pytest.mark.parametrize("name", RUN_NAMES)
def test_escalation_queue_and_samples(shipped_runs: dict, name: str) -> None:
    report, _, root, _ = shipped_runs[name]
    escalations = [f for f in report["findings"] if f["kind"] == "escalation"]
    rows = root.one(id="queue").all(lambda n: n.tag == "tr")[1:] if escalations else []
    assert len(rows) == min(len(escalations), 100)
    for row, f in zip(rows, escalations):
        cells = [td.text() for td in row.all(lambda n: n.tag == "td")]
        assert cells[0] == f["record"] and cells[1] == f"{f['file']}:{f['line']}" and cells[2] == f["target"]
        assert f["message"] in cells[3]
    # samples: at most --samples (3) per clause and kind, each a real finding of the run
    seen = {(f["file"], f["line"], f["kind"]) for f in report["findings"]}
    for div in root.one(id="samples").all(lambda n: n.tag == "div" and "sample" in n.attrs.get("class", "")):
        per_kind = Counter()
        for tr in div.all(lambda n: n.tag == "tr" and "data-kind" in n.attrs):
            per_kind[tr.attrs["data-kind"]] += 1
            where = tr.all(lambda n: n.tag == "td")[0].text()
            file, line = where.rsplit(":", 1)
            assert (file, int(line), tr.attrs["data-kind"]) in seen
        assert per_kind and max(per_kind.values()) <= 3


@pytest.mark.parametrize("name", RUN_NAMES)
def test_ambiguity_hotspots_match_the_json_report(shipped_runs: dict, name: str) -> None:
    report, _, root, _ = shipped_runs[name]
    item_amb = [f for f in report["findings"] if f["kind"] == "ambiguous" and "cause" in f]
    tables = root.all(id="hotspot-table")
    if not item_amb:
        assert not tables and not root.all(id="hotspots")
        return
    expected = Counter((f["label"], a) for f in item_amb for a in f["arms"])
    got = {}
    if expected:
        for tr in tables[0].all(lambda n: n.tag == "tr")[1:]:
            label, arm, n = (td.text() for td in tr.all(lambda n: n.tag == "td"))
            got[(label, arm)] = int(n)
    assert got == dict(expected)
    causes = {}
    for tr in root.one(id="cause-table").all(lambda n: n.tag == "tr")[1:]:
        label, cause, n = (td.text() for td in tr.all(lambda n: n.tag == "td"))
        causes[(label, cause)] = int(n)
    assert causes == dict(Counter((f["label"], f["cause"]) for f in item_amb))


def test_the_report_is_the_same_whatever_the_output_format(tmp_path: Path) -> None:
    rs = "rubrics/response-safety/response-safety.rubric"
    data = "rubrics/response-safety/sample.jsonl"
    pages = []
    for fmt in ("text", "json", "jsonl"):
        out = tmp_path / f"{fmt}.html"
        p = cli("check", rs, data, "--format", fmt, "-o", str(tmp_path / f"out.{fmt}"), "--report", str(out))
        assert p.returncode == 1, p.stderr
        pages.append(out.read_text(encoding="utf-8"))
    assert pages[0] == pages[1] == pages[2]
    # the default link target: GUIDE.html beside the rubric, relative to the report
    links = set(re.findall(r'href="([^"#]+)#', pages[0]))
    assert len(links) == 1
    target = (tmp_path / links.pop()).resolve()
    assert target == (ROOT / "rubrics" / "response-safety" / "GUIDE.html").resolve() and target.is_file()


# ---- coverage of the decisions -------------------------------------------------------------------------


def _coverage_rows(root: Node, label: str) -> dict[str, tuple[str, str]]:
    div = root.one(id=f"coverage-{label}")
    rows = {}
    for tr in div.all(lambda n: n.tag == "tr" and "data-arm" in n.attrs):
        counted = tr.one(lambda n: n.attrs.get("data-key") == "counted").text()
        viol = tr.all(lambda n: n.attrs.get("data-key") == "violations")
        rows[tr.attrs["data-arm"]] = (counted, viol[0].text() if viol else "")
    return rows


@pytest.mark.parametrize("name", RUN_NAMES)
def test_coverage_of_each_decision(shipped_runs: dict, name: str) -> None:
    """Uncovered, ambiguous and per-arm violations agree with the JSON report; per-arm
    record counts agree with the reference interpreter when the checker counts arms,
    and the report says they are missing when it does not."""
    report, _, root, _ = shipped_runs[name]
    rubric = _rubric_of(name)
    for d in rubric.decides:
        label = d.label.name
        rows = _coverage_rows(root, label)
        mine = [f for f in report["findings"] if f["rule"] == label and f["label"] == label]
        assert number(rows["uncovered"][0]) == sum(f["kind"] == "uncovered" for f in mine)
        assert number(rows["ambiguous"][0]) == sum(f["kind"] == "ambiguous" for f in mine)
        for a in d.arms:
            assert number(rows[a.name][1]) == sum(f["kind"] == "violation" and a.name in f["arms"] for f in mine)
    assert not root.all(id="arm-counts-missing")
    per: dict[int, Counter] = {d.index: Counter() for d in rubric.decides}
    for ln in next(d for n, _, d in RUNS if n == name).read_bytes().splitlines():
        try:
            rec = orjson.loads(ln)  # what the checker reads; unreadable lines are no records
        except orjson.JSONDecodeError:
            continue
        if not isinstance(rec, dict):
            continue
        for idx, arms in counting_arms(rubric, rec).items():
            if arms is not None:
                per[idx]["decided"] += 1
                for n in arms or (0,):
                    per[idx][n] += 1
    for d in rubric.decides:
        rows = _coverage_rows(root, d.label.name)
        for a in d.arms:
            assert number(rows[a.name][0]) == per[d.index][a.number], (d.label.name, a.name)
        assert number(rows["uncovered"][0]) == per[d.index][0]
        ran = root.one(id=f"coverage-{d.label.name}").one(lambda n: n.attrs.get("data-key") == "decided")
        assert number(ran.text()) == per[d.index]["decided"]


def test_coverage_renders_the_checker_arm_counts() -> None:
    """The coverage section from `Stats.arm_counts` / `Stats.decided` (indexed by the
    decide, arm number -> records, 0 = uncovered), as the checker reports them."""
    r = rubricdsl.load(ROOT / "rubrics" / "response-safety" / "response-safety.rubric")
    col = ReportCollector(r.ir)
    col.arm_counts_available = True
    stats = SimpleNamespace(records=1000, with_findings=10, files=["x.jsonl"],
                            counts={k: 0 for k in KINDS}, by_severity={"error": 0, "warning": 0, "info": 0},
                            arm_counts=[{1: 3, 3: 500, 4: 250, 6: 40, 0: 7}], decided=[800])
    root = dom(col.render(r.info(), stats, "GUIDE.html"))
    rows = _coverage_rows(root, "safety")
    assert number(rows["operational_uplift"][0]) == 3 and number(rows["arm 3"][0]) == 500
    assert number(rows["satire_of_violence"][0]) == 0 and number(rows["uncovered"][0]) == 7
    arm3 = root.one(id="coverage-safety").one(lambda n: n.attrs.get("data-arm") == "arm 3")
    assert "62.5%" in arm3.text()
    assert not root.all(id="arm-counts-missing")
    assert number(root.one(id="coverage-safety").one(lambda n: n.attrs.get("data-key") == "decided").text()) == 800


# ---- escaping, bounded memory, hotspots, options ------------------------------------------------------------

HOSTILE_RUBRIC = '''rubric "hostile" version "1"
record { id = id }
input prompt: text from prompt
label verdict: enum {ok, bad} from verdict
label note: text from note optional

rule note_needed "A bad verdict needs a note" {
  when verdict == bad
  require len(note) >= 50
}
escalate lead read_this "Prompt mentions a script" {
  when prompt contains "script"
}
'''
HOSTILE_TEXTS = ['<script>alert(1)</script>', '"quoted" & <b>bold</b>', 'a &amp; b', '</style><style>body{}',
                 "</svg><script>x</script>"]


def test_annotation_text_comes_out_inert(tmp_path: Path) -> None:
    rubric = tmp_path / "hostile.rubric"
    rubric.write_text(HOSTILE_RUBRIC, encoding="utf-8")
    lines = []
    for i, t in enumerate(HOSTILE_TEXTS):
        lines.append(json.dumps({"id": f"<i>{i}</i>&amp;", "prompt": f"script {t}", "verdict": "bad", "note": t}))
    lines.append(json.dumps({"id": "<script>", "prompt": "p", "verdict": "<img src=x onerror=alert(1)>"}))
    data = tmp_path / "hostile.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "report.html"
    p = cli("check", str(rubric), str(data), "--report", str(out), "--samples", "10", "-o", str(tmp_path / "o.txt"))
    assert p.returncode == 1, p.stderr
    html = out.read_text(encoding="utf-8")
    root = dom(html)
    assert_self_contained(html, root)
    tags = {n.tag for n in root.all()}
    assert "script" not in tags and "b" not in tags and "i" not in tags and "img" not in tags
    assert len(root.all(lambda n: n.tag == "style")) == 1
    text = root.text()
    for t in HOSTILE_TEXTS:
        assert json.dumps(t, ensure_ascii=False) in text, t  # values are shown as JSON, verbatim
    assert "<i>0</i>&amp;" in text and "<img src=x onerror=alert(1)>" in text
    style = root.one(lambda n: n.tag == "style").text()
    assert "alert" not in style and "body{}" not in style


def test_memory_stays_bounded_on_a_large_stream() -> None:
    r = rubricdsl.load(ROOT / "rubrics" / "response-safety" / "response-safety.rubric")
    col = ReportCollector(r.ir, samples=3, queue=100)
    n = 60_000
    for i in range(n):
        col({"kind": "violation", "line": i + 1, "record": f"r{i}", "file": "big.jsonl", "criterion": "harm",
             "rule": "rationale_substance", "label": None, "arms": None, "target": None, "severity": "warning",
             "message": "A non-safe verdict needs a rationale of at least 6 words",
             "fields": {"safety": "unsafe", "rationale": "x" * 5000}})
        col({"kind": "escalation", "line": i + 1, "record": f"r{i}", "file": "big.jsonl", "criterion": "harm",
             "rule": "crisis_disclosure", "label": None, "arms": None, "target": "senior_reviewer",
             "severity": "info", "message": "The user expresses suicidal thoughts", "fields": {"prompt": "y" * 5000}})
    assert all(len(s) <= 3 for c in col.clauses.values() for s in c.samples.values())
    assert len(col.queue) == 100 and col.escalations == n
    stats = SimpleNamespace(records=n, with_findings=n, files=["big.jsonl"],
                            counts={**{k: 0 for k in KINDS}, "violation": n, "escalation": n},
                            by_severity={"error": 0, "warning": n, "info": n})
    html = col.render(r.info(), stats, "GUIDE.html")
    assert len(html) < 200_000
    root = dom(html)
    assert f"and {n - 100:,} more" in root.one(id="queue-more").text()
    assert "x" * 300 not in html  # long values are clipped


def test_ambiguity_hotspots_from_item_findings() -> None:
    r = rubricdsl.load(ROOT / "rubrics" / "response-safety" / "response-safety.rubric")
    col = ReportCollector(r.ir)
    arms = [["arm 4", "arm 6"], ["arm 6"], ["arm 4", "arm 6"], ["satire_of_violence"]]
    for i, a in enumerate(arms):
        col({"kind": "ambiguous", "line": i + 1, "record": f"item-{i}", "file": "items.jsonl", "criterion": None,
             "rule": None, "label": "safety", "arms": a, "target": None, "severity": "warning",
             "message": "annotators disagree", "cause": "split", "values": {"safe": 1, "unsafe": 2},
             "lines": [{"file": "items.jsonl", "line": i + 1}]})
    col({"kind": "ambiguous", "line": 9, "record": "item-9", "file": "items.jsonl", "criterion": None, "rule": None,
         "label": "safety", "arms": [], "target": None, "severity": "warning", "message": "annotators disagree",
         "cause": "open", "values": {"safe": 1, "borderline": 1}, "lines": []})
    stats = SimpleNamespace(records=10, with_findings=5, files=["items.jsonl"],
                            counts={**{k: 0 for k in KINDS}, "ambiguous": 5},
                            by_severity={"error": 0, "warning": 5, "info": 0})
    root = dom(col.render(r.info(), stats, "GUIDE.html"))
    rows = [[td.text() for td in tr.all(lambda n: n.tag == "td")]
            for tr in root.one(id="hotspot-table").all(lambda n: n.tag == "tr")[1:]]
    assert rows == [["safety", "arm 6", "3"], ["safety", "arm 4", "2"], ["safety", "satire_of_violence", "1"]]
    links = [a.attrs["href"] for a in root.one(id="hotspot-table").all(lambda n: n.tag == "a")]
    assert links == ["GUIDE.html#arm-safety-6", "GUIDE.html#arm-safety-4", "GUIDE.html#arm-safety-satire_of_violence"]
    causes = [[td.text() for td in tr.all(lambda n: n.tag == "td")]
              for tr in root.one(id="cause-table").all(lambda n: n.tag == "tr")[1:]]
    assert causes == [["safety", "split", "4"], ["safety", "open", "1"]]
    # item findings are not the record-level ambiguity of the decision
    assert number(_coverage_rows(root, "safety")["ambiguous"][0]) == 0


ITEMS_RUBRIC = '''rubric "items" version "1"
record { id = id  item = item  annotator = who }
label harm: set {violence, hate} from harm
label satire: bool from satire optional
label safety: enum {safe, borderline, unsafe} from safety
decide safety {
  edge satire_edge "Satire with harm" when satire and harm is not empty -> borderline, unsafe
  when harm is empty -> safe
  when harm is not empty -> unsafe
}
consensus safety { min annotators 2  min agreement 0.67 }
escalate lead split "Annotators split on safety" per item { when distinct(safety) > 1 }
'''


def test_items_end_to_end(tmp_path: Path) -> None:
    """Item findings of a real run: the hotspot table counts, per (label, arm), the
    item-level ambiguous findings that name the arm, as the JSON report has them."""
    rubric = tmp_path / "items.rubric"
    rubric.write_text(ITEMS_RUBRIC, encoding="utf-8")
    recs = []
    for i in range(6):  # split: one annotator reads satire, one does not
        recs += [{"item": f"s{i}", "who": "a", "harm": ["hate"], "satire": True, "safety": "borderline"},
                 {"item": f"s{i}", "who": "b", "harm": ["hate"], "satire": False, "safety": "unsafe"}]
    for i in range(3):  # open: the edge allows two values
        recs += [{"item": f"o{i}", "who": "a", "harm": ["hate"], "satire": True, "safety": "borderline"},
                 {"item": f"o{i}", "who": "b", "harm": ["hate"], "satire": True, "safety": "unsafe"}]
    recs += [{"item": "lonely", "who": "a", "harm": [], "safety": "safe"}]
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    rep_json, rep_html = tmp_path / "r.json", tmp_path / "r.html"
    p = cli("check", str(rubric), str(data), "--format", "json", "-o", str(rep_json), "--report", str(rep_html),
            "--guide-url", "GUIDE.html")
    assert p.returncode == 1, p.stderr
    report = json.loads(rep_json.read_text(encoding="utf-8"))
    html = rep_html.read_text(encoding="utf-8")
    root = dom(html)
    assert_self_contained(html, root)
    item_amb = [f for f in report["findings"] if f["kind"] == "ambiguous" and "cause" in f]
    assert len(item_amb) == 9
    expected = Counter((f["label"], a) for f in item_amb for a in f["arms"])
    rows = [[td.text() for td in tr.all(lambda n: n.tag == "td")]
            for tr in root.one(id="hotspot-table").all(lambda n: n.tag == "tr")[1:]]
    assert {(r[0], r[1]): int(r[2]) for r in rows} == dict(expected)
    assert [int(r[2]) for r in rows] == sorted((int(r[2]) for r in rows), reverse=True)
    causes = {r[1]: int(r[2]) for r in ([td.text() for td in tr.all(lambda n: n.tag == "td")]
                                        for tr in root.one(id="cause-table").all(lambda n: n.tag == "tr")[1:])}
    assert causes == dict(Counter(f["cause"] for f in item_amb))
    # the consensus violation (one annotator) and the per-item escalation link to their clauses
    guide = cli("doc", str(rubric), "--format", "html").stdout
    ids = {n.attrs["id"] for n in dom(guide).all(lambda n: "id" in n.attrs)}
    hrefs = {a.attrs["href"] for a in root.all(lambda n: n.tag == "a" and n.attrs.get("href", "").startswith("GUIDE.html#"))}
    assert {"GUIDE.html#consensus-safety", "GUIDE.html#escalate-split"} <= hrefs
    assert all(h.split("#", 1)[1] in ids for h in hrefs)
    cards = {n.attrs["data-key"]: number(n.all(lambda x: "n" in x.attrs.get("class", "").split())[0].text())
             for n in root.all(lambda n: "card" in n.attrs.get("class", "").split())}
    assert cards["items"] == report["summary"]["items"] == 10


def test_guide_url_option(tmp_path: Path) -> None:
    rs = "rubrics/response-safety/response-safety.rubric"
    data = "rubrics/response-safety/sample.jsonl"
    out = tmp_path / "r.html"
    p = cli("check", rs, data, "--report", str(out), "--guide-url", "https://example.org/guides/rs.html",
            "--format", "jsonl", "-o", str(tmp_path / "o.jsonl"))
    assert p.returncode == 1
    hrefs = set(re.findall(r'href="([^"#]+)#', out.read_text(encoding="utf-8")))
    assert hrefs == {"https://example.org/guides/rs.html"}
    bad = cli("check", rs, data, "--report", str(tmp_path / "x.html"), "--guide-url", "javascript:alert(1)")
    assert bad.returncode == 2 and "rubric: error: --guide-url" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "x.html").exists()


def test_report_errors_exit_2_without_a_traceback(tmp_path: Path) -> None:
    p = cli("check", "no-such.rubric", "x.jsonl", "--report", str(tmp_path / "r.html"))
    assert p.returncode == 2 and p.stderr.strip() == "rubric: error: no-such.rubric: no such file"
    p = cli("check", "rubrics/response-safety/response-safety.rubric", "rubrics/response-safety/sample.jsonl",
            "--report", str(tmp_path / "no" / "such" / "dir" / "r.html"), "-o", str(tmp_path / "o.txt"))
    assert p.returncode == 2 and "cannot write" in p.stderr and "Traceback" not in p.stderr
