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

Timings only: the tests (tests/test_codegen.py) check that each shape compiles and
checks records as the reference interpreter does.
"""
from __future__ import annotations

import argparse
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--only", nargs="+", choices=sorted(SHAPES), default=list(SHAPES))
    args = ap.parse_args(argv)

    import rubricdsl  # noqa: PLC0415
    from rubricdsl.engine.codegen import compile_rubric  # noqa: PLC0415

    print(f"{'shape':<11} {'size':>7} {'bytes':>9} {'load s':>8} {'compile s':>10} {'x prev':>7}  findings")
    for name in args.only:
        make, record = SHAPES[name]
        prev = None
        for n in args.sizes:
            text = make(n)
            t0 = time.perf_counter()
            try:
                rubric = rubricdsl.loads(text, f"{name}.rubric")
            except Exception as e:  # noqa: BLE001 - a limit of the parser is a row of the table
                print(f"{name:<11} {n:>7} {len(text):>9} {'-':>8} {'-':>10} {'-':>7}  load failed: {type(e).__name__}")
                continue
            t1 = time.perf_counter()
            compiled = compile_rubric(rubric.ir)
            t2 = time.perf_counter()
            found = compiled.check(record) or []
            ratio = f"{(t2 - t1) / prev:.1f}" if prev else "-"
            prev = max(t2 - t1, 1e-6)
            print(f"{name:<11} {n:>7} {len(text):>9} {t1 - t0:>8.2f} {t2 - t1:>10.3f} {ratio:>7}  {len(found)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
