#!/usr/bin/env python3
"""`rubric check --engine spark` against `rubric check -j 2`, on one machine, in one run.

Generates a JSONL file of N records (default 2,000,000; about 330 bytes each) of items of
three annotators, shuffled (the data and rubric of `bench/items_memory.py`, item checks
included), then times, each as a subprocess writing its findings:

  (a) `rubric check -j 2 --format jsonl`          the one-machine engine, two processes
  (b) `rubric check --engine spark --master local[1]`
  (c) `rubric check --engine spark --master local[2]`
  (d) (c) on a file of 1,000 records: what starting Spark costs, whatever the data

and checks that (b) and (c) wrote exactly (a)'s findings, in (a)'s order, with the same
summary. Prints the times, the speed-up from one core to two on Spark (b / c) and the
overhead of Spark against `-j 2` (c / a). Needs rubricdsl[spark] and Java.

    python bench/spark_scale.py                      # 2,000,000 records
    python bench/spark_scale.py --records 200000     # a smaller run
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from items_memory import ITEMS_PART, RUBRIC, generate  # noqa: E402


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if p.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed (exit {p.returncode}):\n{p.stderr}")
    return dt


def spark_lines(out: Path) -> tuple[list[bytes], dict]:
    lines = [ln for part in sorted(out.glob("part-*")) for ln in part.read_bytes().splitlines()]
    return lines, json.loads((out / "_summary.json").read_bytes())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=2_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rubric-spark-bench-"))
    try:
        rubric = tmp / "items.rubric"
        rubric.write_text(RUBRIC + ITEMS_PART, encoding="utf-8")
        data = tmp / "data.jsonl"
        t = time.perf_counter()
        generate(data, args.records)
        small = tmp / "small.jsonl"
        generate(small, 1000)
        size = data.stat().st_size
        print(f"generated {args.records:,} records ({size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s",
              flush=True)
        rubric_cmd = [sys.executable, "-m", "rubricdsl", "check", str(rubric)]

        local_out = tmp / "local.jsonl"
        t_local = timed([*rubric_cmd, str(data), "-j", "2", "--format", "jsonl", "-o", str(local_out),
                         "--no-progress"])
        print(f"rubric check -j 2: {t_local:.1f} s", flush=True)
        want = local_out.read_bytes().splitlines()
        want_findings, want_summary = want[:-1], json.loads(want[-1])

        times = {}
        for master in ("local[1]", "local[2]"):
            out = tmp / f"spark-{master[6]}"
            times[master] = timed([*rubric_cmd, str(data), "--engine", "spark", "--master", master, "-o", str(out)])
            got, summary = spark_lines(out)
            same = got == want_findings and summary == want_summary
            print(f"--engine spark --master {master}: {times[master]:.1f} s; findings "
                  f"{'identical to' if same else 'DIFFERENT from'} rubric check's ({len(got):,})", flush=True)
            if not same:
                return 1
            shutil.rmtree(out)
        t_start = timed([*rubric_cmd, str(small), "--engine", "spark", "--master", "local[2]", "-o",
                         str(tmp / "spark-small")])
        print(f"--engine spark --master local[2] on 1,000 records (starting Spark): {t_start:.1f} s")
        print()
        print(f"records: {args.records:,}  ({size / 1e6:.0f} MB, items: {want_summary['summary'].get('items'):,})")
        print(f"speed-up on Spark from local[1] to local[2]: {times['local[1]'] / times['local[2]']:.2f}x")
        print(f"Spark local[2] / rubric check -j 2: {times['local[2]'] / t_local:.2f}x the time")
        print(f"Spark local[2] less its start-up / rubric check -j 2: {(times['local[2]'] - t_start) / t_local:.2f}x")
        return 0
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
