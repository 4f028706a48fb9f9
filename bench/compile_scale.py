#!/usr/bin/env python3
"""How the time to load and compile a rubric for `rubric check` grows with its size.

For 1,000 and 10,000 (or the sizes given) fields, `decide` arms (a plain decide and a
`first` one), criteria, operands of one `and` chain, steps of one path and values of
one enum, the script generates a rubric, then times loading it (parse, resolve, type
check: `rubricdsl.loads`) and compiling its checker (`compile_rubric`, which includes
CPython's `compile` of the generated module) and checks one record with it. It prints a
table with the rubric's size in bytes, both times, and the ratio of compile time
between consecutive sizes (near 10 for a tenfold size is linear growth).

    python bench/compile_scale.py                    # 1,000 and 10,000
    python bench/compile_scale.py --sizes 500 5000 50000 --only path enum
    python bench/compile_scale.py --baseline ../main/src --only fields arms criteria

With --baseline SRC, the same rubrics are also loaded and compiled by another checkout's
sources (e.g. the main branch), in a subprocess after this one's rows, and the table
shows that checkout's times and this one's as a share of them: on a busy machine the
ratio means more than either time. The findings of both must agree.

Timings only: the tests (tests/test_codegen.py) check that each shape compiles and
checks records as the reference interpreter does.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Callable

HEAD = 'rubric "scale" version "1"\n'


def fields(n: int) -> str:
    return HEAD + "".join(f"label f{k}: int 0..9 optional\n" for k in range(n)) + \
        f'rule r "m" {{ require f0 != 3 and f{n - 1} != 4 }}\n'


def arms(n: int, first: bool = False) -> str:
    body = "".join(f"  when a == {k} -> {'p' if k % 3 else 'q'}\n" for k in range(n))
    return (HEAD + f"input a: int 0..{n}\nlabel y: enum {{p, q}}\n"
            + f"decide y{' first' if first else ''} {{\n{body}  otherwise -> q\n}}\n")


def criteria(n: int) -> str:
    return HEAD + "label ok: bool\nlabel x: int 0..9\n" + "".join(
        f'criterion c{k} "C{k}" {{\n  applies when x > {k % 9}\n  rule r{k} "m{k}" {{ require ok or x != {k % 10} }}\n}}\n'
        for k in range(n))


def chain(n: int) -> str:
    return HEAD + "label ok: bool\n" + f'rule r "m" {{ require {" and ".join(["ok"] * n)} }}\n'


def path(n: int) -> str:
    return HEAD + f'label ok: bool from {".".join(f"s{k}" for k in range(n))}\nrule r "m" {{ require ok }}\n'


def enum(n: int) -> str:
    return HEAD + f'label e: enum {{{", ".join(f"v{k}" for k in range(n))}}}\nrule r "m" {{ require e != v1 }}\n'


SHAPES: dict[str, tuple[Callable[[int], str], dict]] = {
    "fields": (fields, {"f0": 3}),
    "arms": (arms, {"a": 2, "y": "q"}),
    "arms-first": (lambda n: arms(n, True), {"a": 2, "y": "q"}),
    "criteria": (criteria, {"ok": False, "x": 5}),
    "and-chain": (chain, {"ok": True}),
    "path": (path, {"s0": {"s1": True}}),
    "enum": (enum, {"e": "v1"}),
}


def measure(names: list[str], sizes: list[int]) -> list[dict]:
    """Load and compile each shape at each size: one row each."""
    import rubricdsl  # noqa: PLC0415
    from rubricdsl.engine.codegen import compile_rubric  # noqa: PLC0415

    rows = []
    for name in names:
        make, record = SHAPES[name]
        for n in sizes:
            text = make(n)
            row: dict = {"shape": name, "size": n, "bytes": len(text.encode("utf-8"))}
            t0 = time.perf_counter()
            try:
                rubric = rubricdsl.loads(text, f"{name}.rubric")
            except Exception as e:  # noqa: BLE001 - a limit of the parser is a row of the table
                row["error"] = f"load failed: {type(e).__name__}"
                rows.append(row)
                continue
            t1 = time.perf_counter()
            compiled = compile_rubric(rubric.ir)
            t2 = time.perf_counter()
            row.update(load=t1 - t0, compile=t2 - t1, findings=len(compiled.check(record) or []))
            rows.append(row)
    return rows


def baseline_rows(src: str, names: list[str], sizes: list[int]) -> list[dict]:
    """The rows of another checkout's sources, measured in a subprocess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.abspath(src), env.get("PYTHONPATH")]))
    argv = [sys.executable, __file__, "--json", "--sizes", *map(str, sizes), "--only", *names]
    p = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--only", nargs="+", choices=sorted(SHAPES), default=list(SHAPES))
    ap.add_argument("--baseline", metavar="SRC", default=None,
                    help="also time another checkout's src/ (e.g. ../main/src) and print the ratios")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = ap.parse_args(argv)

    rows = measure(args.only, args.sizes)
    if args.json:
        print(json.dumps(rows))
        return 0
    base = {(r["shape"], r["size"]): r for r in baseline_rows(args.baseline, args.only, args.sizes)} \
        if args.baseline else {}
    head = f"{'shape':<11} {'size':>7} {'bytes':>9} {'load s':>8} {'compile s':>10} {'x prev':>7}  findings"
    if base:
        head += f"  {'base load s':>11} {'base compile s':>14} {'load / base':>11} {'compile / base':>14}"
    print(head)
    prev: dict[str, float] = {}
    failed = False
    for r in rows:
        name, n = r["shape"], r["size"]
        if "error" in r:
            print(f"{name:<11} {n:>7} {r['bytes']:>9} {'-':>8} {'-':>10} {'-':>7}  {r['error']}")
            continue
        ratio = f"{r['compile'] / prev[name]:.1f}" if name in prev else "-"
        prev[name] = max(r["compile"], 1e-6)
        line = f"{name:<11} {n:>7} {r['bytes']:>9} {r['load']:>8.2f} {r['compile']:>10.3f} {ratio:>7}  {r['findings']:<8}"
        b = base.get((name, n))
        if b is not None and "error" not in b:
            line += (f"  {b['load']:>11.2f} {b['compile']:>14.3f} {r['load'] / b['load']:>11.2f}"
                     f" {r['compile'] / b['compile']:>14.2f}")
            if b["findings"] != r["findings"]:
                line += f"  DISAGREE: baseline finds {b['findings']}"
                failed = True
        elif b is not None:
            line += f"  baseline: {b['error']}"
        print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
