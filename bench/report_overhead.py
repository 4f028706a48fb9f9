#!/usr/bin/env python3
"""What `rubric check --report FILE.html` adds to a check, on a large input.

Generates the synthetic records of bench/check_throughput.py (~500 bytes each, about
7% with findings; 1,000,000 by default) and its rubric, then times, best of N rounds:

  (a) rubric check RUBRIC DATA --format jsonl -o /dev/null
  (b) the same with --report REPORT.html

and prints the ratio (b)/(a), in wall-clock time and in CPU time (the command and its
worker processes; steadier than wall-clock time on a busy machine), and the report's
size. Targets: the report adds under 10% to the check's time, and the report stays
under 2 MB however large the input (it keeps counts and a few samples, never every
finding). The report's cost includes the per-arm record counts of its coverage
section, which the checker gathers for it.

Sanity check: the report's summary cards must equal the summary line of a jsonl run
of the same data; a mismatch makes the script exit 1. `--strict` also exits 1 when a
target is missed.

    python bench/report_overhead.py                     # 1,000,000 records, best of 3
    python bench/report_overhead.py --records 50000     # smoke test
    python bench/report_overhead.py --keep              # keep/reuse bench/out/
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from check_throughput import GEN_VERSION, OUT_DIR, RUBRIC, generate  # noqa: E402

TARGET_RATIO = 1.10
TARGET_BYTES = 2_000_000


def command() -> tuple[list[str], dict]:
    """`python -m rubricdsl` running this checkout (its src/ first on PYTHONPATH)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["NO_COLOR"] = "1"
    return [sys.executable, "-m", "rubricdsl"], env


def run(cmd: list[str], env: dict, args: list[str]) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds of the command and its worker processes)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd + args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode not in (0, 1):
        raise SystemExit(f"`rubric {' '.join(args)}` failed ({p.returncode}):\n{p.stderr}")
    return dt, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


class _Cards(HTMLParser):
    """The numbers of the report's summary cards, by their data-key."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, int] = {}
        self._key: str | None = None
        self._in_n = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "card" in (a.get("class") or "").split():
            self._key = a.get("data-key")
        elif self._key and "n" in (a.get("class") or "").split():
            self._in_n = True

    def handle_data(self, data: str) -> None:
        if self._in_n and self._key:
            self.cards[self._key] = int(data.replace(",", ""))
            self._in_n = False
            self._key = None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000, help="non-blank lines to generate (default 1000000)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs of each command (default 3)")
    ap.add_argument("--seed", type=int, default=20240611, help="generator seed (default 20240611)")
    ap.add_argument("-j", "--jobs", type=int, default=0, help="rubric check -j (default 0: one per CPU, at most 8)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files in bench/out/ and reuse them")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    opts = ap.parse_args(argv)
    if opts.records < 10 or opts.repeat < 1:
        ap.error("--records must be >= 10 and --repeat >= 1")

    if opts.keep:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        work, tmp = OUT_DIR, None
    else:
        tmp = tempfile.mkdtemp(prefix="rubric-report-bench-")
        work = Path(tmp)
    try:
        data = work / f"records-{opts.records}-s{opts.seed}-g{GEN_VERSION}.jsonl"
        rubric = work / "bench.rubric"
        rubric.write_text(RUBRIC, encoding="utf-8")
        if opts.keep and data.is_file():
            size = data.stat().st_size
            print(f"reusing {data} ({size / 1e6:.1f} MB)")
        else:
            t0 = time.perf_counter()
            size = generate(data, opts.records, opts.seed)["bytes"]
            print(f"generated {opts.records:,} lines, {size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f}s -> {data}")
        cmd, env = command()
        report = work / "report.html"
        base = ["check", str(rubric), str(data), "--format", "jsonl", "-o", os.devnull, "-j", str(opts.jobs),
                "--no-progress"]
        with_report = base + ["--report", str(report)]
        print(f"rubric check: {' '.join(cmd)} (src: {REPO / 'src'}), -j {opts.jobs}")

        inf = float("inf")
        best = {"check": inf, "report": inf, "check_cpu": inf, "report_cpu": inf}
        for rnd in range(opts.repeat):  # alternate, so a slow stretch does not fall on one side only
            for key, args in (("check", base), ("report", with_report)):
                wall, cpu = run(cmd, env, args)
                best[key] = min(best[key], wall)
                best[key + "_cpu"] = min(best[key + "_cpu"], cpu)
            print(f"  round {rnd + 1}/{opts.repeat}: check {best['check']:.2f}s ({best['check_cpu']:.2f}s CPU), "
                  f"check --report {best['report']:.2f}s ({best['report_cpu']:.2f}s CPU) (best so far)")

        # sanity: the report's cards against the summary line of the same data
        summary_file = work / "summary.jsonl"
        run(cmd, env, ["check", str(rubric), str(data), "--format", "jsonl", "-o", str(summary_file),
                       "-j", str(opts.jobs), "--no-progress"])
        with open(summary_file, "rb") as fh:
            fh.seek(max(0, summary_file.stat().st_size - 65536))
            summary = json.loads(fh.read().splitlines()[-1])["summary"]
        summary_file.unlink()
        parser = _Cards()
        html = report.read_text(encoding="utf-8")
        parser.feed(html)
        cards = parser.cards
        keys = ["records", "violation", "invalid", "unreadable", "ambiguous", "uncovered", "escalation"]
        mismatch = {k: (cards.get(k), summary.get(k)) for k in keys if cards.get(k) != summary.get(k)}
        if re.search(r"<script|<link|@import|url\(", html, re.I):
            mismatch["self-contained"] = ("no", "yes")

        ratio = best["report"] / best["check"]
        cpu_ratio = best["report_cpu"] / best["check_cpu"]
        rsize = report.stat().st_size
        print()
        print(f"records           {opts.records:,} ({size / 1e6:.0f} MB)")
        print(f"findings          {sum(summary[k] for k in keys[1:]):,}")
        print(f"check             {best['check']:.2f}s wall, {best['check_cpu']:.2f}s CPU (best of {opts.repeat})")
        print(f"check --report    {best['report']:.2f}s wall, {best['report_cpu']:.2f}s CPU")
        print(f"ratio             {ratio:.3f} wall, {cpu_ratio:.3f} CPU  (target < {TARGET_RATIO:.2f}: "
              f"{'met' if ratio < TARGET_RATIO else 'MISSED'})")
        print(f"report size       {rsize / 1e3:.1f} kB  (target < {TARGET_BYTES / 1e6:.0f} MB: "
              f"{'met' if rsize < TARGET_BYTES else 'MISSED'})")
        if mismatch:
            print(f"MISMATCH between the report and the jsonl summary: {mismatch}")
            return 1
        print("report cards match the jsonl summary")
        if opts.strict and (ratio >= TARGET_RATIO or rsize >= TARGET_BYTES):
            return 1
        return 0
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
