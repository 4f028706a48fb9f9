#!/usr/bin/env python3
"""How the time of a rubric's regex tests grows with the text they read.

Patterns that make a backtracking engine take exponential or quadratic time on
adversarial text (`^(a+)+$`, `(a|aa)*c`, `(x+x+)+y`) are run through the compiled
checker on texts of 25, 50, 100, 200 and 400 KB. The baseline, measured in the same
run on the same texts, is a plain `str.count` scan, which is linear by construction.
For each size the script prints the seconds and the ratio of the regex time to the
baseline; a linear-time engine keeps that ratio about flat as the text doubles (a
backtracking engine's would double or worse at every step, and the runs would not end).

    python3 bench/regex_scale.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import time

import rubricdsl

RUBRIC = '''rubric "regex-scale" version "1"
label t: text
escalate reviewer nested "nested quantifiers" { when t matches /^(a+)+$/ }
escalate reviewer alternation "overlapping alternation" { when t matches /(a|aa)*c/ }
escalate reviewer doubled "doubled plus" { when t matches /(x+x+)+y/ }
'''


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rubric = rubricdsl.loads(RUBRIC)
    print(f"{'KB':>5} {'regex s':>10} {'scan s':>10} {'ratio':>8} {'ratio / first':>14}")
    first = None
    for kb in (25, 50, 100, 200, 400):
        text = "a" * (kb * 1024) + "!"
        record = {"t": text}
        assert rubric.check(record) == []
        regex_s = best(lambda: rubric.check(record), args.repeat)
        scan_s = best(lambda: text.count("a") + text.count("x") + text.count("!"), args.repeat)
        ratio = regex_s / scan_s
        first = first or ratio
        print(f"{kb:>5} {regex_s:>10.5f} {scan_s:>10.5f} {ratio:>8.1f} {ratio / first:>14.2f}")


if __name__ == "__main__":
    main()
