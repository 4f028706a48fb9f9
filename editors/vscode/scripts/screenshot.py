"""The editor screenshot of the README: a shipped rubric with one deliberate error, coloured
by the extension's TextMate grammar, with the error's marker and its hover.

    cd editors/vscode && npm ci && npm ci --prefix scripts
    python3 editors/vscode/scripts/screenshot.py [--chromium /usr/bin/chromium]

writes docs/images/editor.png. The rubric is rubrics/response-safety/response-safety.rubric
with a misspelt label name; its diagnostics are those of `rubric lint --format json` on it.
The page (scripts/editor.html) runs the Monaco editor (scripts/package.json) with
vscode-textmate and vscode-oniguruma (the extension's package.json), as VS Code colours a
file; every file it loads is served from disk, nothing is fetched. It needs the test
extra's playwright and Debian's chromium (`apt-get install chromium`).
"""
from __future__ import annotations

import argparse
import json
import mimetypes
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
EXTENSION = HERE.parent
ROOT = EXTENSION.parents[1]
OUT = ROOT / "docs" / "images" / "editor.png"
RUBRIC = ROOT / "rubrics" / "response-safety" / "response-safety.rubric"
# the deliberate error: a misspelt label name in a rule
CORRECT = "require satire_markers is not empty"
MISTAKE = "require satire_marker is not empty"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", "--force-color-profile=srgb"]
ORIGIN = "http://rubric.invalid"
VIEWPORT = {"width": 1200, "height": 620}


def lint(source: str, name: str) -> list[dict[str, Any]]:
    """The diagnostics of `rubric lint --format json` on `source`, saved as `name`."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(source, encoding="utf-8")
        p = subprocess.run([sys.executable, "-m", "rubricdsl", "lint", "--format", "json", name],
                           cwd=tmp, capture_output=True, text=True)
        if p.returncode not in (0, 1):
            sys.exit(f"rubric lint failed:\n{p.stderr}")
        return json.loads(p.stdout)["diagnostics"]


def files() -> dict[str, Path]:
    """What the page may load: URL path -> file."""
    monaco = HERE / "node_modules" / "monaco-editor" / "min"
    modules = EXTENSION / "node_modules"
    need = {"monaco-editor (npm ci --prefix scripts)": monaco / "vs" / "loader.js",
            "vscode-textmate (npm ci)": modules / "vscode-textmate" / "release" / "main.js"}
    for what, path in need.items():
        if not path.is_file():
            sys.exit(f"{path.relative_to(ROOT)} is missing: install {what} in editors/vscode")
    return {
        "/editor.html": HERE / "editor.html",
        "/grammar.json": EXTENSION / "syntaxes" / "rubric.tmLanguage.json",
        "/textmate/main.js": modules / "vscode-textmate" / "release" / "main.js",
        "/onig/main.js": modules / "vscode-oniguruma" / "release" / "main.js",
        "/onig/onig.wasm": modules / "vscode-oniguruma" / "release" / "onig.wasm",
        "/monaco/": monaco,  # a folder: everything under it
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--output", type=Path, default=OUT)
    opts = ap.parse_args()
    from playwright.sync_api import Route, sync_playwright  # noqa: PLC0415

    source = RUBRIC.read_text(encoding="utf-8")
    if source.count(CORRECT) != 1:
        sys.exit(f"{RUBRIC.relative_to(ROOT)} no longer has {CORRECT!r} once: choose another deliberate error")
    source = source.replace(CORRECT, MISTAKE)
    diagnostics = lint(source, RUBRIC.name)
    if [d["code"] for d in diagnostics] != ["RB101"]:
        sys.exit(f"expected one RB101 from the deliberate error, got {diagnostics}")
    case = json.dumps({"file": f"rubrics/response-safety/{RUBRIC.name}", "source": source,
                       "diagnostics": diagnostics, "above": 13}).encode()
    served = files()
    problems: list[str] = []

    def serve(route: Route) -> None:
        path = route.request.url.removeprefix(ORIGIN).split("?", 1)[0]
        if path == "/case.json":
            route.fulfill(body=case, content_type="application/json")
            return
        for prefix, target in served.items():
            if prefix.endswith("/") and path.startswith(prefix):
                target = (target / path.removeprefix(prefix)).resolve()
                if not target.is_relative_to(served[prefix].resolve()):
                    break
            elif path != prefix:
                continue
            if target.is_file():
                kind = "application/wasm" if target.suffix == ".wasm" else mimetypes.guess_type(target.name)[0]
                route.fulfill(body=target.read_bytes(), content_type=kind or "application/octet-stream")
                return
            break
        problems.append(f"request for {route.request.url}")
        route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=opts.chromium, args=ARGS)
        ctx = browser.new_context(viewport=VIEWPORT, color_scheme="light", device_scale_factor=1)
        ctx.route("**/*", serve)
        page = ctx.new_page()
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.goto(f"{ORIGIN}/editor.html")
        page.wait_for_function("window.editorReady || window.editorError", timeout=60_000)
        if error := page.evaluate("window.editorError"):
            sys.exit(f"the editor page failed: {error}")
        point = page.evaluate("window.markerPoint()")
        page.mouse.move(point["x"] - 40, point["y"])
        page.mouse.move(point["x"], point["y"], steps=5)
        page.wait_for_selector(".monaco-hover:not(.hidden) .marker", timeout=10_000)
        page.wait_for_timeout(500)  # the hover fades in
        opts.output.parent.mkdir(parents=True, exist_ok=True)
        tmp = opts.output.with_suffix(".tmp.png")
        page.screenshot(path=str(tmp))
        tmp.replace(opts.output)
        browser.close()
    for p in problems:
        print(f"warning: {p}", file=sys.stderr)
    print(f"wrote {opts.output.relative_to(ROOT) if opts.output.is_relative_to(ROOT) else opts.output} "
          f"({opts.output.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
