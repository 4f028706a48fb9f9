"""The two HTML pages rubricdsl writes -- the check report (`rubric check --report`) and
the rendered guideline (`rubric doc --format html`) -- loaded in a real browser: headless
Chromium driven by Playwright, on pages the CLI makes from the shipped rubrics and their
samples, and from a generated rubric and data set with many findings of every kind.

What is checked is what a reader gets: no console or page error and no request beyond
the page itself; the bar chart draws the numbers of the same run's JSON report; every
`#…` link lands on its anchor, scrolled into view and highlighted; the page fits a phone
screen and an A4 page, and prints to A4 pages.

The tests are marked `browser` (`pytest -m browser` runs them alone). Without Chromium
(or without the `playwright` package) they are skipped, unless RUBRIC_REQUIRE_BROWSER=1,
as CI sets it, makes that a failure. RUBRIC_CHROMIUM names another Chromium binary.

To check something more in a report: `opened = open_report(browser, site, RUBRIC, DATA)`
gives the page (`opened.page`, loaded), the JSON report of the same run
(`opened.report`), and what went wrong while loading (`opened.problems`).
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest
from helpers import rubric as run_rubric

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "rubrics").glob("*/*.rubric"))
# every shipped data set: (name, rubric, data file)
SHIPPED_RUNS = [(f"{p.parent.name}/{d.name}", p, d) for p in SHIPPED for d in sorted(p.parent.iterdir())
                if d.suffix == ".jsonl" or d.name == "sample.json"]
GENERATED = "generated/many-findings"
RUNS = [n for n, _, _ in SHIPPED_RUNS] + [GENERATED]
GUIDES = [p.parent.name for p in SHIPPED] + ["generated"]
def one_of_each(values: list, kind: Any = lambda v: None, ids: list[str] | None = None) -> list:
    """`values` as parameters, all but the first of each kind marked `exhaustive`: CI's
    lowest-versions pass (`-m "not slow and not exhaustive"`) runs each browser test on
    one page of each kind, to show those versions work; the first pass runs them all."""
    seen: set = set()
    out = []
    for i, v in enumerate(values):
        k = kind(v)
        marks = [pytest.mark.exhaustive] if k in seen else []
        seen.add(k)
        out.append(pytest.param(*(v if isinstance(v, tuple) else (v,)), marks=marks, id=ids[i] if ids else None))
    return out


KINDS = ("violation", "invalid", "unreadable", "ambiguous", "uncovered", "escalation")

# Debian's Chromium, without the background services that would try the network
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
A4_WIDTH = 794  # 210 mm at 96 px to the inch
A4_PRINTABLE = 688  # 210 mm less the pages' side margins (2 × 1.4 cm, the @page rule)
A4_POINTS = (595.28, 841.89)


# ---- the browser ------------------------------------------------------------------------------------------


def chromium_path() -> str | None:
    for p in (os.environ.get("RUBRIC_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")):
        if p and os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def _unavailable(why: str) -> None:
    if os.environ.get("RUBRIC_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{why}; RUBRIC_REQUIRE_BROWSER=1 requires the browser tests to run", pytrace=False)
    pytest.skip(f"{why} (the browser tests need it; RUBRIC_REQUIRE_BROWSER=1 makes this a failure)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for this module's tests. Module-scoped, not session-scoped:
    Playwright's synchronous API keeps an event loop running while it is started, and the
    language server's tests (asyncio) that may follow in the same process need none."""
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415
    except ImportError:
        _unavailable("the Python package playwright is not installed (pip install -e '.[test]')")
    exe = chromium_path()
    if exe is None:
        _unavailable("Chromium is not installed (apt-get install chromium, or RUBRIC_CHROMIUM=/path/to/chromium)")
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
    except Exception:
        pw.stop()
        raise
    yield b
    b.close()
    pw.stop()


@dataclass
class Opened:
    """A page loaded in the browser, and what went wrong in it: console errors, page
    errors (uncaught exceptions), and requests for anything but the pages themselves."""

    page: Any
    allowed: set[str]
    report: dict | None = None
    problems: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.page.context.close()


def open_page(browser: Any, path: Path, *, viewport: dict = DESKTOP, media: str | None = None,
              mobile: bool = False, also: tuple[Path, ...] = ()) -> Opened:
    """`path` loaded in a fresh browser context; `also`: other pages it may navigate to."""
    ctx = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile)
    page = ctx.new_page()
    opened = Opened(page, {p.resolve().as_uri() for p in (path, *also)})

    def request(r: Any) -> None:
        if r.url.split("#", 1)[0] not in opened.allowed:
            opened.problems.append(f"request for {r.url}")

    page.on("console", lambda m: m.type in ("error", "warning") and opened.problems.append(f"console {m.type}: {m.text}"))
    page.on("pageerror", lambda e: opened.problems.append(f"page error: {e}"))
    page.on("request", request)
    if media:
        page.emulate_media(media=media)
    page.goto(path.resolve().as_uri())
    return opened


# ---- the pages, made by the CLI ---------------------------------------------------------------------------


@dataclass
class Built:
    html: Path
    guide: Path
    report: dict


class Site:
    """The pages of the runs, made once per test process: for each rubric a directory
    with its guideline (GUIDE.html) and, for each data file, its report beside it (the
    report's links point into GUIDE.html there) and the JSON report of the same run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._built: dict[tuple[Path, Path], Built] = {}
        self._guides: dict[Path, Path] = {}
        self._generated: tuple[Path, Path] | None = None

    def guide(self, rubric: Path) -> Path:
        if rubric not in self._guides:
            d = self.root / f"site-{len(self._guides)}"
            d.mkdir()
            out = d / "GUIDE.html"
            p = run_rubric("doc", str(rubric), "--format", "html", "-o", str(out), text=True)
            assert p.returncode == 0, p.err
            self._guides[rubric] = out
        return self._guides[rubric]

    def report(self, rubric: Path, data: Path) -> Built:
        if (rubric, data) not in self._built:
            guide = self.guide(rubric)
            stem = data.name.split(".")[0]
            html, js = guide.parent / f"{stem}.report.html", guide.parent / f"{stem}.report.json"
            p = run_rubric("check", str(rubric), str(data), "--format", "json", "-o", str(js),
                           "--report", str(html), "--guide-url", "GUIDE.html", text=True)
            assert p.returncode in (0, 1), p.err
            self._built[(rubric, data)] = Built(html, guide, json.loads(js.read_text(encoding="utf-8")))
        return self._built[(rubric, data)]

    def generated(self) -> tuple[Path, Path]:
        if self._generated is None:
            d = self.root / "generated"
            d.mkdir()
            self._generated = write_generated(d)
        return self._generated

    def run(self, name: str) -> tuple[Path, Path]:
        if name == GENERATED:
            return self.generated()
        return next((r, d) for n, r, d in SHIPPED_RUNS if n == name)

    def rubric(self, name: str) -> Path:
        return self.generated()[0] if name == "generated" else next(p for p in SHIPPED if p.parent.name == name)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return Site(tmp_path_factory.mktemp("pages"))


def open_report(browser: Any, site: Site, rubric: Path, data: Path, **kw: Any) -> Opened:
    """The report of `rubric check RUBRIC DATA --report`, loaded (keywords as `open_page`),
    with the JSON report of the same run as `.report`."""
    built = site.report(rubric, data)
    opened = open_page(browser, built.html, also=(built.guide,), **kw)
    opened.report = built.report
    return opened


def open_run(browser: Any, site: Site, name: str, **kw: Any) -> Opened:
    return open_report(browser, site, *site.run(name), **kw)


def open_guide(browser: Any, site: Site, name: str, **kw: Any) -> Opened:
    return open_page(browser, site.guide(site.rubric(name)), **kw)


def write_generated(dest: Path, criteria: int = 9, records: int = 1500, seed: int = 7) -> tuple[Path, Path]:
    """A rubric of many clauses with long names, and records that give every kind of
    finding many times over (more clauses than the chart shows, more escalations than
    the queue holds, unreadable lines, values too long for a line)."""
    rnd = random.Random(seed)
    out = ['rubric "generated-every-kind-of-finding" version "1.0.0-with-a-rather-long-version-string"',
           "record { id = id }", ""]
    for c in range(criteria):
        out += [
            f'criterion criterion_{c}_with_a_long_name_for_wrapping "Criterion {c}: a deliberately long title, so that '
            f'headings, chart labels and table cells have to wrap somewhere" {{',
            f"  input score_{c}: int from data.s{c}",
            f"  input note_{c}: text from data.n{c} optional",
            f"  label verdict_{c}: enum {{low, mid, high}} from labels.v{c}",
            f"  label confidence_{c}: int 1..5 from labels.k{c}",
            f"  decide verdict_{c} {{",
            f'    edge extreme_score_{c} "An extreme score" when score_{c} >= 98 -> high',
            f"    when score_{c} >= 60 -> high",
            f"    when score_{c} >= 80 -> mid",
            f"    when score_{c} < 20 -> low",
            "  }",
            f'  rule confident_high_{c} "A high verdict needs a confidence of at least 3" {{',
            f"    when verdict_{c} == high",
            f"    require confidence_{c} >= 3",
            "  }",
            f'  rule short_note_{c} "A note should stay under 120 characters" severity warning {{',
            f"    when note_{c} is present",
            f"    require len(note_{c}) < 120",
            "  }",
            f'  rule low_with_note_{c} "A low verdict usually comes with a note" severity info {{',
            f"    when verdict_{c} == low",
            f"    require note_{c} is present",
            "  }",
            f'  escalate senior_reviewer_with_a_long_role_name_{c} very_high_score_{c} "A score of 95 or more goes to '
            f'a senior reviewer" {{',
            f"    when score_{c} >= 95",
            "  }",
            "}",
            "",
        ]
    rubric = dest / "generated.rubric"
    rubric.write_text("\n".join(out), encoding="utf-8")
    long_token = "https://example.org/" + "x" * 230
    lines = []
    for i in range(records):
        if i % 97 == 13:
            lines.append('{"id": "broken-%d", "data": {{{' % i)
            continue
        d, labels = {}, {}
        for c in range(criteria):
            d[f"s{c}"] = rnd.randint(0, 100) if rnd.random() > 0.02 else "not a number"
            r = rnd.random()
            if r < 0.1:
                d[f"n{c}"] = long_token
            elif r < 0.25:
                d[f"n{c}"] = "a short note, with spaces   kept"
            labels[f"v{c}"] = rnd.choice(["low", "mid", "high"]) if rnd.random() > 0.01 else "extreme"
            labels[f"k{c}"] = rnd.randint(1, 5)
        rid = f"generated-record-{i:06d}" + ("-" + "y" * 120 if i % 50 == 0 else "")
        lines.append(json.dumps({"id": rid, "data": d, "labels": labels}))
    data = dest / "generated-annotations-with-a-long-file-name-that-has-to-wrap.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rubric, data


# ---- what the JSON report says, per clause ----------------------------------------------------------------


def clause_label(f: dict) -> str:
    """The chart's label of the clause a finding belongs to: `criterion · title`."""
    if f["kind"] == "unreadable":
        return "lines that are not records"
    if f["kind"] == "invalid":
        title = f"value of {f['label']}"
    elif f["kind"] == "escalation":
        title = f"escalation {f['rule']}"
    elif f["rule"] == "consensus":
        title = f"agreement on {f['label']}"
    elif f["label"] is not None and f["rule"] == f["label"]:
        title = f"decision {f['label']}"
    else:
        title = f"rule {f['rule']}"
    return f"{f['criterion']} · {title}" if f["criterion"] else title


def clauses_of(report: dict) -> dict[str, Counter]:
    out: dict[str, Counter] = {}
    for f in report["findings"]:
        out.setdefault(clause_label(f), Counter())[f["kind"]] += 1
    return out


def number(s: str) -> int:
    return int(s.replace(",", "").strip())


# ---- in-page checks (JavaScript run in the page) ----------------------------------------------------------

OVERFLOW_JS = """(scrollers) => {
  const cw = document.documentElement.clientWidth, out = [];
  const inScroller = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || (scrollers && inScroller(el))) continue;
    if (r.left < -1 || r.right > cw + 1)
      out.push(`${el.tagName.toLowerCase()}.${el.className.baseVal ?? el.className}#${el.id}: ` +
               `${Math.round(r.left)}..${Math.round(r.right)} px, "${(el.textContent || '').trim().slice(0, 50)}"`);
  }
  return {scrollWidth: document.documentElement.scrollWidth, clientWidth: cw,
          bodyScrollWidth: document.body.scrollWidth, outside: out.slice(0, 10), count: out.length};
}"""

LANDED_JS = """(id) => {
  const el = document.getElementById(id);
  if (!el) return null;
  const r = el.getBoundingClientRect();
  const marked = el.tagName === 'SECTION' ? el.firstElementChild : el;
  return {id, top: r.top, bottom: r.bottom, height: innerHeight, target: el.matches(':target'),
          hash: decodeURIComponent(location.hash.slice(1)), tag: el.tagName.toLowerCase(),
          background: getComputedStyle(marked).backgroundColor};
}"""

# Follow each link as a reader would: scroll it into view, check that it is what a click
# at its middle hits, click it, and see where the page went.
FOLLOW_JS = """(hrefs) => {
  const landed = """ + LANDED_JS + """;
  return hrefs.map(href => {
    const a = [...document.querySelectorAll('a')].find(x => x.getAttribute('href') === href);
    a.scrollIntoView({block: 'center'});
    const r = a.getClientRects()[0];
    const hit = document.elementFromPoint(r.left + Math.min(r.width / 2, 4), r.top + r.height / 2);
    const clickable = hit !== null && (hit === a || a.contains(hit));
    a.click();
    return {href, clickable, landed: landed(decodeURIComponent(href.slice(1)))};
  });
}"""

HIGHLIGHTED = ("section", "div", "tr", "li")  # what the style sheet highlights when it is the link's target


def assert_landed(got: dict | None, target: str, how: str) -> None:
    assert got is not None, f"{how}: no element has the id {target!r}"
    assert got["hash"] == target, (how, got)
    assert got["target"], f"{how}: #{target} is not the :target"
    # in view: its top is on the screen (or it began above and still covers the screen)
    assert got["top"] < got["height"] and got["bottom"] > 0, f"{how}: #{target} is not in the viewport: {got}"
    assert got["top"] > -1 or got["bottom"] >= got["height"], f"{how}: #{target} is scrolled past: {got}"
    if got["tag"] in HIGHLIGHTED:
        assert got["background"] not in ("rgba(0, 0, 0, 0)", "transparent"), f"{how}: #{target} is not highlighted"


def in_page_links(opened: Opened) -> list[str]:
    return opened.page.eval_on_selector_all(
        'a[href^="#"]', "els => [...new Set(els.map(a => a.getAttribute('href')))]")


# Links are the pages' only controls (no script, no form, no <details>): a page that
# gains another must have it tested here.
CONTROLS_JS = "document.querySelectorAll('script, details, summary, button, input, select, textarea, dialog').length"


def click_every_in_page_link(opened: Opened) -> int:
    """Follow one link to every `#…` target; each must land on its anchor. The first
    two links are clicked with the mouse, the others in the page (much faster)."""
    hrefs = in_page_links(opened)
    for href in hrefs[:2]:
        opened.page.locator(f'a[href="{href}"]').first.click(no_wait_after=True)
        target = href[1:]
        assert_landed(opened.page.evaluate(LANDED_JS, target), target, f"the link {href} (mouse)")
    for got in opened.page.evaluate(FOLLOW_JS, hrefs):
        assert got["clickable"], f"the link {got['href']} is covered by another element"
        assert_landed(got["landed"], got["href"][1:], f"the link {got['href']}")
    return len(hrefs)


def assert_fits(opened: Opened, what: str, scrollers: bool) -> None:
    got = opened.page.evaluate(OVERFLOW_JS, scrollers)
    assert got["scrollWidth"] <= got["clientWidth"], (what, got)
    assert got["bodyScrollWidth"] <= got["clientWidth"], (what, got)
    assert got["count"] == 0, (what, got)


# ---- the report --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", one_of_each(RUNS))
def test_report_loads_and_every_link_lands(browser: Any, site: Site, name: str) -> None:
    opened = open_run(browser, site, name)
    try:
        page = opened.page
        assert page.title().startswith("Check report")
        assert page.evaluate(CONTROLS_JS) == 0, "the report has controls that these tests do not try"
        n = click_every_in_page_link(opened)
        assert n >= 6  # the contents, and a link per clause with findings
        for bar in page.query_selector_all("#chart rect")[:5]:  # the chart's tooltips
            bar.hover()
        assert opened.problems == []
    finally:
        opened.close()


@pytest.mark.parametrize("name", one_of_each(RUNS))
def test_report_links_into_the_guideline_land(browser: Any, site: Site, name: str) -> None:
    opened = open_run(browser, site, name)
    try:
        page = opened.page
        hrefs = page.eval_on_selector_all(
            'a[href^="GUIDE.html#"]', "els => [...new Set(els.map(a => a.getAttribute('href')))]")
        assert hrefs
        # a real click from the report opens the guideline at the clause
        first = hrefs[0]
        page.locator(f'a[href="{first}"]').first.click()
        page.wait_for_load_state()
        assert page.url.split("#")[0].endswith("/GUIDE.html")
        assert_landed(page.evaluate(LANDED_JS, first.split("#", 1)[1]), first.split("#", 1)[1], f"the link {first}")
        # and every other place the report links to is there
        places = page.evaluate("""(ids) => { const landed = """ + LANDED_JS + """;
          return ids.map(id => { location.hash = id; return landed(id); }); }""",
                               [h.split("#", 1)[1] for h in hrefs[1:]])
        for href, got in zip(hrefs[1:], places):
            assert_landed(got, href.split("#", 1)[1], f"the link {href}")
        assert opened.problems == []
    finally:
        opened.close()


def chart_rows(page: Any) -> list[dict]:
    """What the SVG chart shows, row by row: the label, the total written after the bar,
    and each segment's kind, count (its tooltip) and drawn width."""
    return page.eval_on_selector_all("#chart g.row", """rows => rows.map(g => {
      const texts = [...g.querySelectorAll('text')];
      return {label: texts[0].textContent, total: texts[texts.length - 1].textContent,
              segments: [...g.querySelectorAll('rect')].map(r => ({
                kind: r.getAttribute('class').replace(/^k-/, ''), title: r.querySelector('title').textContent,
                x: r.getBBox().x, width: r.getBBox().width}))};
    })""")


@pytest.mark.parametrize("name", one_of_each(RUNS))
def test_chart_shows_the_counts_of_the_json_report(browser: Any, site: Site, name: str) -> None:
    opened = open_run(browser, site, name)
    try:
        page, report = opened.page, opened.report
        assert report is not None
        expected = clauses_of(report)
        s = report["summary"]
        # the JSON report's clauses add up to its summary (the grouping below is sound)
        total = Counter()
        for c in expected.values():
            total.update(c)
        assert {k: total[k] for k in KINDS} == {k: s[k] for k in KINDS}

        rows = chart_rows(page)
        assert rows and len(rows) == min(30, len(expected))
        more = len(expected) - len(rows)
        more_text = page.locator("#by-clause p.muted").first.inner_text() if more else ""
        assert (f"and {more} more clause" in more_text) if more else True
        drawn, seen = Counter(), set()
        for row in rows:
            label = row["label"]
            matches = [k for k in expected if k == label or (label.endswith("…") and k.startswith(label[:-1]))]
            assert len(matches) == 1, (label, matches)
            clause = matches[0]
            assert clause not in seen
            seen.add(clause)
            shown = Counter()
            for seg in row["segments"]:
                head, _, tail = seg["title"].rpartition(": ")
                n, kind = tail.split()
                assert head == label and kind == seg["kind"], seg
                shown[kind] += number(n)
            assert shown == expected[clause], clause
            assert number(row["total"]) == sum(expected[clause].values()), clause
            drawn.update(shown)
        # largest first, and the rows not drawn have no more findings than the last one drawn
        totals = [number(r["total"]) for r in rows]
        assert totals == sorted(totals, reverse=True)
        assert all(sum(c.values()) <= totals[-1] for k, c in expected.items() if k not in seen)
        if not more:
            assert {k: drawn[k] for k in KINDS} == {k: s[k] for k in KINDS}
        # bar lengths are proportional to the counts (a segment is at least 1 unit wide)
        top = rows[0]
        scale = sum(seg["width"] for seg in top["segments"]) / number(top["total"])
        for row in rows:
            for seg in row["segments"]:
                n = number(seg["title"].rpartition(": ")[2].split()[0])
                assert seg["width"] == pytest.approx(max(n * scale, 1.0), abs=0.05), (row["label"], seg)
        # and nothing the chart writes is cut off by its edges
        clipped = page.evaluate("""() => {
          const svg = document.getElementById('chart').getBoundingClientRect();
          return [...document.querySelectorAll('#chart text')].filter(t => {
            const r = t.getBoundingClientRect();
            return r.left < svg.left - 0.5 || r.right > svg.right + 0.5 || r.top < svg.top - 0.5 || r.bottom > svg.bottom + 0.5;
          }).map(t => t.textContent);
        }""")
        assert clipped == []
        # the summary cards say the same as the JSON summary
        cards = {k: number(v) for k, v in page.eval_on_selector_all(
            ".card", "cs => cs.map(c => [c.dataset.key, c.querySelector('.n').innerText])")}
        assert {k: cards[k] for k in KINDS} == {k: s[k] for k in KINDS}
        assert (cards["error"], cards["warning"], cards["info"]) == (s["errors"], s["warnings"], s["infos"])
        assert cards["records"] == s["records"]
        assert opened.problems == []
    finally:
        opened.close()


@pytest.mark.parametrize("name", one_of_each(RUNS))
def test_coverage_bars_draw_the_shares_written_beside_them(browser: Any, site: Site, name: str) -> None:
    opened = open_run(browser, site, name)
    try:
        report = opened.report
        assert report is not None
        rows = opened.page.eval_on_selector_all("table.coverage tr[data-arm]", """rows => rows.map(tr => {
          const bar = tr.querySelector('svg.minibar rect.bar');
          return {arm: tr.dataset.arm, label: tr.closest('div.coverage').id.replace(/^coverage-/, ''),
                  counted: tr.querySelector('[data-key=counted]').textContent,
                  share: tr.querySelectorAll('td.num')[1].textContent.trim(),
                  width: bar ? bar.getBBox().width : null};
        })""")
        uncovered = Counter(f["label"] for f in report["findings"] if f["kind"] == "uncovered" and "cause" not in f)
        labels = {r["label"] for r in rows}
        assert labels
        for r in rows:
            if r["width"] is not None:
                pct = float(r["share"].rstrip("%").replace(",", "")) if r["share"] else 0.0
                assert r["width"] == pytest.approx(min(pct, 100.0), abs=0.6), r
            if r["arm"] == "uncovered":
                assert number(r["counted"]) == uncovered.get(r["label"], 0), r
        assert opened.problems == []
    finally:
        opened.close()


QUEUE_ROWS_JS = """() => [...document.querySelectorAll('#queue tbody tr')].map(tr => {
  const cell = k => tr.querySelector(`td[data-key="${k}"]`);
  const box = cell('context').getBoundingClientRect();
  return {record: tr.cells[0].innerText, annotator: cell('annotator').innerText.trim(),
          context: cell('context').innerText, shown: box.width > 0 && box.height > 0};
})"""

ESCALATING_RUNS = [n for n in RUNS if n.startswith("label-studio-toxicity/")]


@pytest.mark.parametrize("name", ESCALATING_RUNS)
def test_escalation_queue_shows_context_and_annotator(browser: Any, site: Site, name: str) -> None:
    """A reviewer working the queue sees, for each escalated judgment, who annotated it
    and the fields the rubric's `show` line names, as the JSON report of the run has them."""
    opened = open_run(browser, site, name)
    try:
        escalations = [f for f in opened.report["findings"] if f["kind"] == "escalation"]
        assert escalations and all(f.get("context") for f in escalations), "the run escalates, with context"
        rows = opened.page.evaluate(QUEUE_ROWS_JS)
        assert len(rows) == len(escalations)
        for row, f in zip(rows, escalations):
            assert row["shown"]
            assert f["record"] in row["record"]
            assert row["annotator"] == f.get("annotator", "")
            for path, value in f["context"].items():
                assert path in row["context"]
                if isinstance(value, str):
                    assert value in row["context"]
        assert opened.problems == []
    finally:
        opened.close()


# ---- both pages: phone, print -------------------------------------------------------------------------------

PAGES = [("report", n) for n in RUNS] + [("guide", n) for n in GUIDES]
PAGE_IDS = [f"{k}:{n}" for k, n in PAGES]


def _open(browser: Any, site: Site, kind: str, name: str, **kw: Any) -> Opened:
    return open_run(browser, site, name, **kw) if kind == "report" else open_guide(browser, site, name, **kw)


@pytest.mark.parametrize(("kind", "name"), one_of_each(PAGES, kind=lambda p: p[0], ids=PAGE_IDS))
def test_fits_a_phone_screen(browser: Any, site: Site, kind: str, name: str) -> None:
    """At 390 px nothing widens the page; a wide table scrolls inside its own box."""
    opened = _open(browser, site, kind, name, viewport=PHONE, mobile=True)
    try:
        assert opened.page.evaluate("innerWidth") == PHONE["width"]  # the viewport meta is honoured
        assert_fits(opened, "phone", scrollers=True)
        # a table wider than the screen sits in a box of the screen's width that scrolls
        wide = opened.page.evaluate("""() => [...document.querySelectorAll('table')].filter(
            t => t.getBoundingClientRect().width > document.documentElement.clientWidth + 1).map(t => {
              const w = t.closest('.table-wrap');
              return w ? getComputedStyle(w).overflowX : 'none';
            })""")
        assert all(o == "auto" for o in wide), wide
        assert opened.problems == []
    finally:
        opened.close()


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """The size (points) of each page of a PDF as Chromium writes it."""
    assert pdf.startswith(b"%PDF-")
    n = len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf))
    boxes = [tuple(float(v) for v in m.groups()) for m in
             re.finditer(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)]
    assert n and boxes, "no page in the PDF"
    return [boxes[i if i < len(boxes) else -1] for i in range(n)]  # type: ignore[misc]


@pytest.mark.parametrize(("kind", "name"), one_of_each(PAGES, kind=lambda p: p[0], ids=PAGE_IDS))
def test_prints_on_a4(browser: Any, site: Site, kind: str, name: str) -> None:
    """Printed, nothing runs past the right edge of an A4 page (a table cannot scroll on
    paper), and printing gives A4 pages."""
    for width in (A4_WIDTH, A4_PRINTABLE):
        opened = _open(browser, site, kind, name, viewport={"width": width, "height": 1123}, media="print")
        try:
            assert opened.page.evaluate("matchMedia('print').matches")
            assert_fits(opened, f"print at {width} px", scrollers=False)
            if width == A4_PRINTABLE:
                pages = pdf_pages(opened.page.pdf(format="A4"))
                assert all(w == pytest.approx(A4_POINTS[0], abs=1) and h == pytest.approx(A4_POINTS[1], abs=1)
                           for w, h in pages), pages
                height = opened.page.evaluate("document.documentElement.scrollHeight")
                # at least as many pages as the printed layout is tall (1 page: 297 mm less 3.2 cm of margins)
                assert len(pages) >= height // round((297 - 32) / 25.4 * 96), (len(pages), height)
            assert opened.problems == []
        finally:
            opened.close()


# ---- the guideline -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", one_of_each(GUIDES))
def test_guideline_loads_and_every_link_lands(browser: Any, site: Site, name: str) -> None:
    opened = open_guide(browser, site, name)
    try:
        assert "labeling guideline" in opened.page.title()
        assert opened.page.evaluate(CONTROLS_JS) == 0, "the guideline has controls that these tests do not try"
        hrefs = in_page_links(opened)
        contents = opened.page.eval_on_selector_all("nav#contents a", "els => els.map(a => a.getAttribute('href'))")
        assert contents and set(contents) <= set(hrefs)
        assert click_every_in_page_link(opened) == len(hrefs)
        assert opened.problems == []
    finally:
        opened.close()


def test_missing_browser_is_a_failure_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Chromium the browser tests skip, and fail when RUBRIC_REQUIRE_BROWSER=1."""
    monkeypatch.delenv("RUBRIC_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="RUBRIC_REQUIRE_BROWSER=1 makes this a failure"):
        _unavailable("Chromium is not installed")
    monkeypatch.setenv("RUBRIC_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="requires the browser tests"):
        _unavailable("Chromium is not installed")
