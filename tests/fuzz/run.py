#!/usr/bin/env python3
"""Run the fuzzing harness at length, on every core, and say what it did.

    python3 tests/fuzz/run.py                          # 20,000 rubrics, 5,000 data files, 2 parts
    python3 tests/fuzz/run.py --rubrics 2000 --data 500 --jobs 2 --size 3

The counts are split into `--jobs` independent parts (different random streams), each
run by a pytest process of its own, all at once. Every example of every property must pass: a generated
rubric compiles, formats, lints (every `--lint-every`-th) and checks without an internal
error; a string from the grammar compiles or gets positioned diagnostics; every line of
a corrupted data file is accounted for; any command line ends in a status, never a
traceback. A run longer than `--hang-seconds` for one example counts as a hang. At the
end the script prints the examples run per property (from Hypothesis' statistics), the
failures, and the wall time.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rubrics", type=int, default=20_000, help="generated rubrics in all")
    ap.add_argument("--grammar", type=int, default=2_000, help="strings generated from the grammar in all")
    ap.add_argument("--data", type=int, default=5_000, help="corrupted data files in all (a fifth more as gzip)")
    ap.add_argument("--cli", type=int, default=500, help="command lines in all")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--size", type=int, default=1, help="how large generated rubrics get (1: small)")
    ap.add_argument("--lint-every", type=int, default=50, help="lint one generated rubric in N")
    ap.add_argument("--hang-seconds", type=float, default=60)
    args = ap.parse_args()
    jobs = max(1, args.jobs)
    env = dict(os.environ)
    env.update(RUBRIC_FUZZ_PARTS="1", RUBRIC_FUZZ_RUBRICS=str(-(-args.rubrics // jobs)),
               RUBRIC_FUZZ_GRAMMAR=str(-(-args.grammar // jobs)), RUBRIC_FUZZ_DATA=str(-(-args.data // jobs)),
               RUBRIC_FUZZ_CLI=str(-(-args.cli // jobs)), RUBRIC_FUZZ_SIZE=str(args.size),
               RUBRIC_FUZZ_LINT_EVERY=str(args.lint_every), RUBRIC_FUZZ_HANG_SECONDS=str(args.hang_seconds))
    # the properties only (the regression corpus runs with the test suite), in `jobs`
    # pytest processes at once, each with its share of the counts and its own random
    # stream: one process per core, whatever a scheduler would make of a few tests
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "tests" / "fuzz" / "test_fuzz.py"), "-p", "no:cacheprovider",
           "-q", "-n", "0"]
    with tempfile.TemporaryDirectory() as counts:
        env["RUBRIC_FUZZ_COUNTS"] = counts
        start = time.perf_counter()
        procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for _ in range(jobs)]
        outs = [p.communicate()[0] for p in procs]
        wall = time.perf_counter() - start
        per_test: dict[str, int] = {}
        reported = sorted(Path(counts).glob("counts-*.json"))
        for f in reported:
            for name, n in json.loads(f.read_text(encoding="utf-8")).items():
                per_test[name] = per_test.get(name, 0) + n
    returncode = max(p.returncode for p in procs)
    if len(reported) != jobs:  # a part that ran nothing, or died before its end
        returncode = returncode or 1
    out = "\n".join(outs)
    failed = re.findall(r"^FAILED (.*)$", out, re.M)
    print(f"fuzzing: {jobs} parts ({len(reported)} reported their counts), size {args.size}, {wall:.0f} s wall")
    for name, n in sorted(per_test.items()):
        print(f"  {n:>7,} {name}")
    hangs = out.count("Hang: ")
    print(f"  failures: {len(failed)} (hangs among them: {hangs})")
    for f in failed:
        print(f"    {f}")
    if returncode != 0 and not failed:
        print(out[-3000:])
    return returncode


if __name__ == "__main__":
    sys.exit(main())
