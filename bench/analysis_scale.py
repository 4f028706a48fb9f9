"""How `rubric lint` and `rubric agreement` grow with the size of their input.

Prints, for each family of generated rubrics, lint's wall time at each size and the
ratio to the previous size (near 2 for a doubling when the growth is linear, near 4
when it is quadratic), and whether lint decided everything (no RB209) within its
budget. Families: many fields (rules over pairs of fields), many criteria (each with
its `applies when` and a rule), a `first` table whose arms are not boxes (text tests
and arithmetic), lets that read the previous let twice (`let l2 = l1 and l1`: the
inlined size doubles per level), a chain of lets, and an enum of many values. Then `rubric agreement` at a
growing number of judgments of one item.

No assertion on time: this shows the growth. Run from the repository root:

    python bench/analysis_scale.py            # the default sizes
    python bench/analysis_scale.py --quick    # smaller sizes
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from rubricdsl.analysis.lint import lint_text  # noqa: E402


def many_fields(n: int) -> str:
    out = ['rubric "fields" version "1"'] + [f"input f{i}: int 0..9 from data.f{i}" for i in range(n)]
    out.append("label y: bool from labels.y")
    out += [f'rule r{i} "r" {{ when f{i} > 3 require f{i + 1} < 5 or y }}' for i in range(0, n - 1, 2)]
    return "\n".join(out) + "\n"


def many_criteria(n: int) -> str:
    out = ['rubric "criteria" version "1"', "input x: int from data.x", "label y: bool from labels.y"]
    for i in range(n):
        out.append(f'criterion c{i} "c" {{\n  applies when x > {i}\n  rule r{i} "r" {{ require y or x < {i + 5} }}\n}}')
    return "\n".join(out) + "\n"


def mixed_arms(n: int, seed: int = 1) -> str:
    rnd = random.Random(seed)
    out = ['rubric "arms" version "1"', "input t: text from data.t", "input u: text from data.u",
           "input x: int from data.x", "input z: number from data.z", "label y: enum {a, b, c} from labels.y",
           "decide y first {"]
    for _ in range(n):
        k = rnd.randrange(4)
        if k == 0:
            c = f't contains "w{rnd.randrange(50)}" and x > {rnd.randrange(100)}'
        elif k == 1:
            c = f"x + {rnd.randrange(10)} * 2 < z and u matches /q{rnd.randrange(30)}/"
        elif k == 2:
            c = f"len(t) > {rnd.randrange(40)} or x == {rnd.randrange(100)}"
        else:
            c = f'z / 2 > x and not (t contains "v{rnd.randrange(40)}")'
        out.append(f"  when {c} -> {rnd.choice('abc')}")
    out.append("}")
    return "\n".join(out) + "\n"


def doubling_lets(levels: int) -> str:
    out = ['rubric "lets" version "1"', "input a: bool from data.a", "input t: text from data.t",
           "label y: bool from labels.y", 'let l0 = a and t contains "x"']
    out += [f"let l{i} = l{i - 1} and l{i - 1}" for i in range(1, levels + 1)]
    out.append(f'rule r "r" {{ when l{levels} require y }}')
    return "\n".join(out) + "\n"


def let_chain(n: int) -> str:
    out = ['rubric "chain" version "1"', "input a: bool from data.a", "input ok: bool from data.ok",
           "label y: bool from labels.y", "let l0 = a"]
    out += [f"let l{i} = l{i - 1} and ok" for i in range(1, n + 1)]
    out.append(f'rule r "r" {{ when l{n} require y }}')
    return "\n".join(out) + "\n"


def big_enum(n: int) -> str:
    return ('rubric "enum" version "1"\n'
            f'input e: enum {{{", ".join(f"v{i}" for i in range(n))}}} from e\nlabel y: bool from y\n'
            f'rule r "r" {{ when e == v1 or e in {{v2, v{n - 1}}} require y }}\n')


def time_lint(text: str, budget: float) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    res = lint_text(text, "bench.rubric", timeout=budget)
    dt = time.perf_counter() - t0
    undecided = sum(1 for d in res.diagnostics if d.code == "RB209")
    return dt, len(res.diagnostics), undecided


def time_agreement(n: int, tmp: Path) -> float:
    from rubricdsl.analysis.agreement import agreement
    from rubricdsl.language.load import compile_text

    rubric = compile_text('rubric "g" version "1"\nrecord { item = item  annotator = who }\n'
                          "label v: enum {x, y, z} from v\nlabel s: scale 1..7 from s\n", "g.rubric")
    rnd = random.Random(n)
    path = tmp / f"agreement-{n}.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"item": 1, "who": f"a{i}", "v": rnd.choice("xyz"), "s": rnd.randint(1, 7)}) + "\n")
    t0 = time.perf_counter()
    agreement(rubric, [str(path)])
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes")
    ap.add_argument("--budget", type=float, default=60.0, help="lint's time budget per rubric (s)")
    args = ap.parse_args(argv)
    big = [1_000, 10_000] if not args.quick else [250, 1_000]
    families = [
        ("fields", many_fields, big),
        ("criteria", many_criteria, big),
        ("first-table arms (not boxes)", mixed_arms, [100, 200, 400, 1_000] if not args.quick else [50, 100, 200]),
        ("lets read twice per level (levels)", doubling_lets, [12, 18, 24] if not args.quick else [8, 12, 16]),
        ("chained lets", let_chain, [1_000, 2_000, 4_000] if not args.quick else [250, 500, 1_000]),
        ("enum values", big_enum, [10_000, 100_000] if not args.quick else [1_000, 10_000]),
    ]
    print(f"rubric lint, budget {args.budget:g} s per rubric")
    for name, gen, sizes in families:
        print(f"\n{name}")
        prev = None
        for n in sizes:
            text = gen(n)
            dt, n_diags, undecided = time_lint(text, args.budget)
            ratio = "" if prev is None else f"  x{dt / prev[1]:.1f} for x{n / prev[0]:.1f} size"
            status = "all decided" if undecided == 0 else f"{undecided} RB209"
            print(f"  {n:>7,}: {dt:7.2f} s  {len(text) / 1e3:8.1f} kB  {n_diags} diagnostics, {status}{ratio}")
            prev = (n, max(dt, 1e-3))
    print("\nrubric agreement, judgments of one item")
    with tempfile.TemporaryDirectory() as d:
        prev = None
        for n in ([1_000, 2_000, 4_000, 8_000] if not args.quick else [500, 1_000, 2_000]):
            dt = time_agreement(n, Path(d))
            ratio = "" if prev is None else f"  x{dt / prev[1]:.1f} for x{n / prev[0]:.1f} judgments"
            print(f"  {n:>7,}: {dt:7.2f} s{ratio}")
            prev = (n, max(dt, 1e-3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
