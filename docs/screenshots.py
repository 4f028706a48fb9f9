"""Screenshots of the two HTML pages rubricdsl writes, for the documentation.

    python3 docs/screenshots.py [--chromium /usr/bin/chromium]

writes docs/images/{report,guide}-{desktop,phone}.png: the check report of the shipped
response-safety sample (`rubric check … --report`) and its shipped guideline (GUIDE.html, as `rubric doc
--format html` renders it), at 1280×900 and at a phone's 390×844, each the first screen of the page
(the report's desktop shot scrolled to its chart). It needs the test extra's playwright
and Debian's chromium (`apt-get install chromium`); it downloads nothing.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images"
RUBRIC = "rubrics/response-safety/response-safety.rubric"
DATA = "rubrics/response-safety/sample.jsonl"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", "--force-color-profile=srgb"]
SIZES = {"desktop": ({"width": 1280, "height": 900}, False), "phone": ({"width": 390, "height": 844}, True)}


def rubric(*args: str) -> None:
    p = subprocess.run([sys.executable, "-m", "rubricdsl", *args], cwd=ROOT, capture_output=True, text=True)
    if p.returncode not in (0, 1):  # 1: the sample has findings on purpose
        sys.exit(f"rubric {' '.join(args)} failed:\n{p.stderr}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    opts = ap.parse_args()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        report, guide = Path(tmp) / "report.html", ROOT / Path(RUBRIC).parent / "GUIDE.html"
        rubric("check", RUBRIC, DATA, "-o", str(Path(tmp) / "report.txt"), "--report", str(report),
               "--guide-url", "GUIDE.html")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=opts.chromium, args=ARGS)
            for page_name, path in (("report", report), ("guide", guide)):
                for size, (viewport, mobile) in SIZES.items():
                    ctx = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile,
                                              color_scheme="light")
                    page = ctx.new_page()
                    page.goto(path.as_uri())
                    if page_name == "report" and size == "desktop":
                        page.evaluate("document.getElementById('summary').scrollIntoView()")
                    out = OUT / f"{page_name}-{size}.png"
                    page.screenshot(path=str(out))
                    print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size // 1024} kB)")
                    ctx.close()
            browser.close()


if __name__ == "__main__":
    main()
