#!/usr/bin/env python3
"""Memory and time of item grouping: `rubric check` on a shuffled file of items.

Generates a JSONL file of N records (default 1,000,000; about 330 bytes each): items of
three annotators each, shuffled so that an item's records lie anywhere in the file.
Then runs, each as a subprocess, and reports wall time and peak RSS (the largest
resident set of the command and any process it started):

  (a) baseline -- `rubric check` with the same rubric minus its item checks
                  (`consensus`, `per item`): the per-record work alone;
  (b) items    -- `rubric check` with them: every record also grouped by item
                  (in memory up to RUBRIC_ITEM_MEMORY_ROWS rows, then on disk).

Both with `-j 1` (one process) and with the default `-j` (one per CPU). Prints the
ratios items / baseline. Target: peak RSS of (b) under 300 MB for 1M records.

    python bench/items_memory.py                     # 1,000,000 records
    python bench/items_memory.py --records 100000    # smoke test
    python bench/items_memory.py --keep              # keep/reuse bench/out/items-*.jsonl
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "out"
TARGET_MB = 300

ITEMS_PART = '''
consensus safety {
  min annotators 3
  min agreement 0.67
}

rule calm_scores "Helpfulness scores of one item stay within two points" per item severity warning {
  require spread(helpfulness) <= 2
}

escalate adjudicator no_majority "No clear majority on safety" per item {
  when agreement(safety) < 0.5 or share(harm is not empty) == 0.5
}
'''

RUBRIC = '''rubric "bench-items" version "1"
record {
  id        = id
  item      = item
  annotator = annotator
}
input prompt: text from data.prompt
input response: text from data.response
label harm: set {violence, hate, self_harm, sexual} from labels.harm
label satire: bool from labels.satire optional
label safety: enum {safe, borderline, unsafe} from labels.safety
label helpfulness: scale 1..5 from labels.helpfulness

decide safety {
  edge satirical "Satire with a harm category" when satire and harm is not empty -> borderline, unsafe
  when harm is empty -> safe
  when harm any of {violence, self_harm} -> unsafe
  when harm is not empty -> borderline, unsafe
}

rule short_unsafe "Unsafe responses are rarely one word" severity info {
  when safety == unsafe
  require words(response) > 1
}
'''


def generate(path: Path, records: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    n_items = records // 3
    order = list(range(n_items * 3))
    rng.shuffle(order)
    words = "the a response answer question model help please explain why how what safe risk".split()
    harms = [[], [], [], ["violence"], ["hate"], ["self_harm"], ["hate", "violence"], ["sexual"]]
    with open(path, "w", encoding="utf-8") as f:
        for k in order:
            item, who = divmod(k, 3)
            r = random.Random(item * 7 + 1)  # the item's own truth, shared by its annotators
            harm = r.choice(harms)
            sat = r.random() < 0.1
            safety = "safe" if not harm else ("unsafe" if set(harm) & {"violence", "self_harm"} else "borderline")
            if rng.random() < 0.12:
                safety = rng.choice(("safe", "borderline", "unsafe"))
            rec = {"id": f"r{k}", "item": f"item-{item}", "annotator": f"ann{(item + who) % 17}",
                   "data": {"prompt": " ".join(r.choice(words) for _ in range(12)),
                            "response": " ".join(r.choice(words) for _ in range(20))},
                   "labels": {"harm": harm, "satire": sat, "safety": safety,
                              "helpfulness": max(1, min(5, r.randrange(1, 6) + rng.choice((-1, 0, 0, 1))))}}
            f.write(json.dumps(rec) + "\n")


def measure(rubric: Path, data: Path, jobs: int) -> tuple[float, float, dict]:
    """(seconds, peak RSS in MB, summary) of one `rubric check` run in a fresh process tree."""
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "dt = time.perf_counter() - t\n"
        "print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)\n"
    )
    out = Path(tempfile.mkstemp(suffix=".jsonl")[1])
    try:
        cmd = [sys.executable, "-c", code, sys.executable, "-m", "rubricdsl", "check", str(rubric), str(data),
               "--format", "jsonl", "-o", str(out), "-j", str(jobs), "--no-progress"]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        dt, rss_kb, rc = res.stdout.split()
        if int(rc) not in (0, 1):
            err = subprocess.run(cmd[3:], capture_output=True, text=True).stderr
            raise SystemExit(f"rubric check failed (exit {rc}):\n{err}")
        with open(out, "rb") as f:
            last = f.readlines()[-1]
        return float(dt), int(rss_kb) / 1024, json.loads(last)["summary"]
    finally:
        out.unlink(missing_ok=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the generated file in bench/out/ and reuse it")
    ap.add_argument("--jobs", type=int, nargs="*", default=[1, 0], help="values of -j to measure (0: one per CPU)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="rubric-items-bench-"))
    if args.keep:
        OUT_DIR.mkdir(exist_ok=True)
        data = OUT_DIR / f"items-{args.records}.jsonl"
    else:
        data = tmp / "items.jsonl"
    if not data.exists():
        t = time.perf_counter()
        generate(data, args.records)
        print(f"generated {data} ({data.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s")
    base_rubric = tmp / "baseline.rubric"
    base_rubric.write_text(RUBRIC, encoding="utf-8")
    items_rubric = tmp / "items.rubric"
    items_rubric.write_text(RUBRIC + ITEMS_PART, encoding="utf-8")
    print(f"{args.records:,} records, {args.records // 3:,} items of 3 annotators, shuffled; "
          f"file {data.stat().st_size / 1e6:.0f} MB")
    worst = 0.0
    for jobs in args.jobs:
        bt, brss, _ = measure(base_rubric, data, jobs)
        it, irss, summary = measure(items_rubric, data, jobs)
        worst = max(worst, irss)
        label = f"-j {jobs}" if jobs else "-j 0 (one per CPU)"
        print(f"{label}:")
        print(f"  baseline (no item checks): {bt:7.1f} s  peak RSS {brss:6.0f} MB")
        print(f"  with item checks:          {it:7.1f} s  peak RSS {irss:6.0f} MB   "
              f"({summary.get('items', 0):,} items; {summary['ambiguous']:,} ambiguous, "
              f"{summary['escalation']:,} escalations)")
        print(f"  ratio items/baseline: time {it / bt:.2f}x, memory {irss / brss:.2f}x")
    ok = worst < TARGET_MB
    print(f"peak RSS with item checks: {worst:.0f} MB (target < {TARGET_MB} MB): {'OK' if ok else 'MISSED'}")
    for p in tmp.iterdir():
        p.unlink()
    tmp.rmdir()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
