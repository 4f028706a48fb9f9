#!/usr/bin/env python3
"""Time and memory of item checks: `rubric check` on a shuffled file of items.

Generates a JSONL file of N records (default 1,000,000; about 370 bytes each): items of
three annotators each, shuffled so that an item's records lie anywhere in the file.
Then runs, each as a subprocess, and reports wall time and peak memory:

  (a) baseline -- `rubric check -j J` with the same rubric minus its item checks
                  (`consensus`, `per item`): the per-record work alone;
  (b) items    -- `rubric check -j J` with them: every record also leaves a row, the
                  rows are partitioned by item and each partition is judged by a worker;
  (c) one      -- (b) with `-j 1`, whose output must be the same bytes as (b)'s.

Prints the ratio (b) / (a) of wall times (target <= 1.6 with -j 2) and two figures of
memory for (b): the largest resident set of any one process of the run (target < 300
MB), and the largest sum of the resident sets of all its processes at once (sampled
every 20 ms). The machine's load average is printed before and after: on a loaded
machine the times are not comparable with other runs, the ratio less so.

    python bench/items_memory.py                     # 1,000,000 records, -j 2
    python bench/items_memory.py --records 100000    # smoke test
    python bench/items_memory.py --keep              # keep/reuse bench/out/items-*.jsonl
    python bench/items_memory.py --jobs 3            # another -j
"""
from __future__ import annotations

import argparse
import filecmp
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "out"
TARGET_MB = 300
TARGET_RATIO = 1.6

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


# Runs a command, sampling the resident sets of its process tree every 20 ms; prints
# seconds, the largest resident set of one process (KB), the largest sum (KB), exit status.
_MEASURE = r"""
import os, resource, subprocess, sys, threading, time

def tree_rss(pid):
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            pass
    return total

t = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
peak = 0
while p.poll() is None:
    peak = max(peak, tree_rss(p.pid))
    time.sleep(0.02)
dt = time.perf_counter() - t
print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, peak, p.returncode)
"""


def measure(rubric: Path, data: Path, jobs: int, out: Path) -> tuple[float, float, float, dict]:
    """(seconds, largest RSS of one process in MB, largest total RSS in MB, summary) of one
    `rubric check` run in a fresh process tree; its output goes to `out`."""
    cmd = [sys.executable, "-c", _MEASURE, sys.executable, "-m", "rubricdsl", "check", str(rubric), str(data),
           "--format", "jsonl", "-o", str(out), "-j", str(jobs), "--no-progress"]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    dt, rss_kb, total_kb, rc = res.stdout.split()
    if int(rc) not in (0, 1):
        err = subprocess.run(cmd[3:], capture_output=True, text=True).stderr
        raise SystemExit(f"rubric check failed (exit {rc}):\n{err}")
    with open(out, "rb") as f:
        last = f.readlines()[-1]
    return float(dt), int(rss_kb) / 1024, int(total_kb) / 1024, json.loads(last)["summary"]


def load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    except OSError:
        return "unknown"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the generated file in bench/out/ and reuse it")
    ap.add_argument("--jobs", type=int, default=2, help="-j of the runs compared (default 2)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="rubric-items-bench-"))
    try:
        return _bench(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _bench(args: argparse.Namespace, tmp: Path) -> int:
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
          f"file {data.stat().st_size / 1e6:.0f} MB; load average {load()}")
    j = args.jobs
    bt, brss, btotal, _ = measure(base_rubric, data, j, tmp / "out-base.jsonl")
    it, irss, itotal, summary = measure(items_rubric, data, j, tmp / "out-items.jsonl")
    ot, orss, ototal, _ = measure(items_rubric, data, 1, tmp / "out-one.jsonl")
    same = filecmp.cmp(tmp / "out-items.jsonl", tmp / "out-one.jsonl", shallow=False)
    print(f"-j {j}:")
    print(f"  baseline (no item checks): {bt:7.1f} s  peak RSS {brss:5.0f} MB one process, {btotal:5.0f} MB all")
    print(f"  with item checks:          {it:7.1f} s  peak RSS {irss:5.0f} MB one process, {itotal:5.0f} MB all   "
          f"({summary.get('items', 0):,} items; {summary['ambiguous']:,} ambiguous, "
          f"{summary['escalation']:,} escalations)")
    print(f"-j 1 with item checks:       {ot:7.1f} s  peak RSS {orss:5.0f} MB")
    ratio = it / bt
    print(f"time with items / without, -j {j}: {ratio:.2f}x (target <= {TARGET_RATIO}x): "
          f"{'OK' if ratio <= TARGET_RATIO else 'MISSED'}")
    ok = irss < TARGET_MB
    print(f"peak RSS with item checks, -j {j}: {irss:.0f} MB in one process, {itotal:.0f} MB in all "
          f"(target < {TARGET_MB} MB): {'OK' if ok else 'MISSED'}")
    print(f"findings of -j {j} and -j 1: {'identical' if same else 'DIFFERENT'}")
    print(f"load average after: {load()}")
    return 0 if ok and same else 1


if __name__ == "__main__":
    sys.exit(main())
