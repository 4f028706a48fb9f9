#!/usr/bin/env python3
"""Scale and exactness benchmark for `rubric lint` on DMN-sized `first` decisions.

For each requested size N (default 1,000 and 5,000 arms) the script

1. generates, deterministically from --seed, a rubric with 7 inputs (four small enums,
   three small integer ranges: 576,000 situations in all) and one label decided by
   `decide outcome first { ... }` with N arms and no `otherwise`. Each arm tests 4-6 of
   the 7 fields (`f in {a, b}`, `f == a`, `g >= 3 and g <= 6`, `g <= 4`, `g >= 7`),
   joined with `and`, and allows one or two outcome values. The arms mix
     fresh    random boxes (some end up shadowed by chance, mostly by a union);
     sub      a narrowing of one earlier arm (shadowed by a single arm);
     piece/union
              a region split into 2-3 arms along one or two fields, followed a few arms
              later by an arm covering exactly the region or a part of it that straddles
              the split (shadowed by the UNION of the pieces, by no single one of them);
     near     the same with a piece left out, or the union widened by one value (a near
              miss: not shadowed unless other arms happen to cover the hole);
   and a few reserved situations that no arm may cover, so the table has gaps
   (--no-gaps instead makes the last arm a catch-all, so that it has none). Two error
   rules follow the decision (`RULES`; --no-rules leaves them out): lint analyses the
   decision under them, so a situation they forbid is no gap, and an arm that matches
   only such situations is dead (RB201). Larger
   tables get narrower tests, so that coverage does not saturate: with seed 1 about
   27% (1,000 arms) and 30% (5,000 arms) of the arms are shadowed, more than half of
   those by a union of earlier arms only;
2. computes exactly, by brute force over all situations the rules allow, which arms are
   dead (they match no such situation) or shadowed (every such situation they match
   matches an earlier arm), which situations are uncovered (the gap), and whether a gap
   exists: it evaluates the `first` table on every situation (which arm decides it, if
   any) -- with numpy when available, else in plain Python -- and cross-checks with an
   incremental "covered so far" pass;
3. runs `python -m rubricdsl lint FILE --format json` as a subprocess, timed with
   time.perf_counter (interpreter start-up included; the start-up alone is measured on a
   tiny rubric and shown too), and compares: the lines of `shadowed` diagnostics must be
   exactly the lines of the brute-force shadowed arms, and the lines of `dead` ones those
   of the dead arms; a `gap` must be reported iff one exists, every gap witness must be
   covered by no arm, and the gap's regions (every one is in the JSON output, with the
   values of each field) must be disjoint and together exactly the uncovered situations. Covering arms named by a
   shadowed diagnostic (in its message or a field) are printed and checked (they must
   be earlier and must together cover the arm; a list cut short, "arm 4, ... and 3
   more", is only printed), as are shadowed witnesses (the arm must match them); those
   two are reported as warnings and do not fail the run;
4. prints a table (arms, fields, situations, lint seconds, brute-force seconds,
   shadowed found/expected, gap found/expected, PASS/FAIL) against the target
   "5,000 arms over 7 fields in <= 10 s": every size up to 5,000 arms must lint in
   <= 10 s and agree with brute force. Exit status 1 on any FAIL, 0 otherwise. With
   --baseline SRC, the same files are linted by another checkout's sources too (e.g.
   the main branch, without assumptions and regions), and the ratio of the two times
   is printed: on a busy machine the ratio means more than either time. lint's own time
   budget is wall-clock (60 s by default): on a very busy machine pass --solver-timeout
   600 so that it does not run out and report RB209 instead of the answers.

    python bench/lint_scale.py                     # 1,000 and 5,000 arms, seed 1
    python bench/lint_scale.py --arms 200 --seed 7 --keep
    python bench/lint_scale.py --no-lint           # generate + brute force only
    python bench/lint_scale.py --json              # JSON on stdout, the table on stderr
    python bench/lint_scale.py --rounds 3          # best of 3 lint timings (busy machine)
    python bench/lint_scale.py --no-gaps           # last arm a catch-all: expect no gap
    python bench/lint_scale.py --baseline ../main/src   # time another checkout too
    python bench/lint_scale.py --no-rules          # no error rules in the generated rubric
    python bench/lint_scale.py --engine python     # brute force without numpy
    python bench/lint_scale.py --fake-lint         # test the comparison itself with
                                                   # diagnostics made from brute force
                                                   # (correct, then deliberately wrong)

Generated files go to bench/out/ (gitignored) and are deleted afterwards unless --keep.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import resource
import subprocess
import sys
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import numpy as np
except ImportError:  # pragma: no cover - plain-Python fallback
    np = None

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT_DIR = HERE / "out"          # gitignored (/bench/out/)
GEN_VERSION = 1                 # bump when the generator changes (names the files)
TARGET_ARMS = 5000
TARGET_SECONDS = 10.0

# ---------------------------------------------------------------------------------------
# Fields
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str
    kind: str                   # "enum" | "int"
    values: tuple               # enum: value names; int: the integers lo..hi

    @property
    def size(self) -> int:
        return len(self.values)

    def decl(self) -> str:
        if self.kind == "enum":
            return f"input {self.name}: enum {{{', '.join(self.values)}}}"
        return f"input {self.name}: int {self.values[0]}..{self.values[-1]}"


FIELDS: tuple[Field, ...] = (
    Field("domain", "enum", ("general", "medical", "legal", "political", "coding")),
    Field("turns", "int", tuple(range(1, 17))),          # 1..16
    Field("lang", "enum", ("en", "de", "fr", "es", "ja")),
    Field("risk", "int", tuple(range(0, 12))),           # 0..11
    Field("tone", "enum", ("neutral", "hostile", "playful")),
    Field("source", "enum", ("web", "chat", "api", "email")),
    Field("depth", "int", tuple(range(0, 10))),          # 0..9
)
OUTCOMES = ("accept", "revise", "reject", "flag")
LABEL = "outcome"

# Error rules of the generated rubric: lint analyses the decision under them (a situation
# that violates one is no gap), and the brute force counts only the situations they
# allow. Each is (name, message, field of `when`, its values, field of `require`, its
# values): violated where the `when` field has one of its values and the `require` field
# has none of its values.
RULES = (
    ("coding_risk", "Coding questions are never rated above risk 8", "domain", ("coding",), "risk", tuple(range(0, 9))),
    ("email_tone", "Email is never playful", "source", ("email",), "tone", ("neutral", "hostile")),
)


def situations(fields=FIELDS) -> int:
    n = 1
    for f in fields:
        n *= f.size
    return n


# A box gives, per field, None (not tested: every value) or a sorted tuple of the
# allowed value indices (contiguous for an int field).
Box = tuple


def allowed(box: Box, i: int) -> tuple[int, ...]:
    a = box[i]
    return tuple(range(FIELDS[i].size)) if a is None else a


def tested(box: Box) -> int:
    return sum(a is not None for a in box)


def box_size(box: Box) -> int:
    n = 1
    for i in range(len(FIELDS)):
        n *= len(allowed(box, i))
    return n


def box_contains(box: Box, cell: tuple[int, ...]) -> bool:
    return all(a is None or c in a for a, c in zip(box, cell))


def subbox(inner: Box, outer: Box) -> bool:
    return all(set(allowed(inner, i)) <= set(allowed(outer, i)) for i in range(len(FIELDS)))


# ---------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------


@dataclass
class Arm:
    number: int                 # 1-based, in the order written
    box: Box
    values: tuple[str, ...]
    tag: str                    # how it was made (also written as a trailing comment)
    text: str = ""              # the `when ... -> ...` source
    line: int = 0


class Generator:
    def __init__(self, seed: int, n: int, no_gaps: bool):
        self.rng = random.Random(f"lint-scale:{seed}:{n}:{no_gaps}")
        self.n = n
        # bigger tables get narrower arms, so that coverage does not saturate
        self.narrow = min(1.0, (1000 / n) ** 0.7)
        self.no_gaps = no_gaps
        self.arms: list[Arm] = []
        self.pending: list[tuple[int, Box, str]] = []      # (due index, box, tag)
        # reserved situations no arm may cover (guaranteed gaps)
        self.holes: list[tuple[int, ...]] = [] if no_gaps else [
            tuple(self.rng.randrange(f.size) for f in FIELDS) for _ in range(3)]

    # ---- random pieces ------------------------------------------------------------

    def rand_set(self, i: int, wide: bool = False) -> tuple[int, ...]:
        f, r, q = FIELDS[i], self.rng, self.narrow
        if f.kind == "enum":
            k = r.choices((1, 2, 3), weights=(3, 4 * q, 2 * q) if wide else (6, 3 * q, 1 * q))[0]
            k = min(k, f.size - 1)
            return tuple(sorted(r.sample(range(f.size), k)))
        hi_w = max(1, round(f.size * (0.6 if wide else 0.4) * q))
        w = r.randint(1, hi_w)
        lo = r.randrange(f.size - w + 1)
        return tuple(range(lo, lo + w))

    def rand_box(self, k: int, wide: bool = False) -> Box:
        chosen = set(self.rng.sample(range(len(FIELDS)), k))
        return tuple(self.rand_set(i, wide) if i in chosen else None for i in range(len(FIELDS)))

    def avoid_holes(self, box: Box) -> Box | None:
        """Shrink box so that it covers none of the reserved situations (None: give up)."""
        box = list(box)
        for cell in self.holes:
            if not box_contains(tuple(box), cell):
                continue
            cands = [i for i, a in enumerate(box) if a is not None and len(a) > 1]
            if cands:
                i = self.rng.choice(cands)
                a = box[i]
                if FIELDS[i].kind == "enum":
                    box[i] = tuple(v for v in a if v != cell[i])
                else:
                    left = tuple(v for v in a if v < cell[i])
                    right = tuple(v for v in a if v > cell[i])
                    box[i] = left if len(left) >= len(right) else right
                continue
            free = [i for i, a in enumerate(box) if a is None]
            if tested(tuple(box)) >= 6 or not free:
                return None
            i = self.rng.choice(free)
            f = FIELDS[i]
            if f.kind == "enum":
                rest = [v for v in range(f.size) if v != cell[i]]
                box[i] = tuple(sorted(self.rng.sample(rest, self.rng.randint(1, len(rest)))))
            else:
                left, right = tuple(range(0, cell[i])), tuple(range(cell[i] + 1, f.size))
                box[i] = left if len(left) >= len(right) else right
        return tuple(box)

    def split_parts(self, i: int, a: tuple[int, ...], parts: int) -> list[tuple[int, ...]]:
        """Partition the allowed indices a of field i into `parts` non-empty parts."""
        parts = min(parts, len(a))
        if FIELDS[i].kind == "int":                       # contiguous pieces
            cuts = sorted(self.rng.sample(range(1, len(a)), parts - 1))
            bounds = [0, *cuts, len(a)]
            return [a[bounds[j]:bounds[j + 1]] for j in range(parts)]
        vals = list(a)
        self.rng.shuffle(vals)
        cuts = sorted(self.rng.sample(range(1, len(vals)), parts - 1))
        bounds = [0, *cuts, len(vals)]
        return [tuple(sorted(vals[bounds[j]:bounds[j + 1]])) for j in range(parts)]

    # ---- strategies -----------------------------------------------------------------

    def fresh(self) -> list[tuple[Box, str]]:
        for _ in range(100):
            k = self.rng.choices((4, 5, 6), weights=(2, 4, 4))[0]
            b = self.avoid_holes(self.rand_box(k))
            if b is not None and 4 <= tested(b) <= 6:
                return [(b, "fresh")]
        raise RuntimeError("cannot place a fresh arm")

    def sub(self) -> list[tuple[Box, str]]:
        """A narrowing of one earlier arm: shadowed by that arm alone."""
        if not self.arms:
            return self.fresh()
        base = self.rng.choice(self.arms)
        for _ in range(50):
            b = list(base.box)
            for _ in range(self.rng.randint(1, 2)):
                i = self.rng.randrange(len(FIELDS))
                a = allowed(tuple(b), i)
                if b[i] is None and tested(tuple(b)) >= 6:
                    continue
                if len(a) == 1:
                    continue
                if FIELDS[i].kind == "enum":
                    b[i] = tuple(sorted(self.rng.sample(a, self.rng.randint(1, len(a) - 1))))
                else:
                    w = self.rng.randint(1, len(a) - 1)
                    s = self.rng.randrange(len(a) - w + 1)
                    b[i] = a[s:s + w]
            b = tuple(b)
            if b != base.box and 4 <= tested(b) <= 6:
                return [(b, f"sub of arm {base.number}")]
        return self.fresh()

    def region(self) -> tuple[Box, list[Box]] | None:
        """A region and 2-3 boxes that partition it (along one or two fields)."""
        r = self.rng
        k = r.choice((4, 4, 5))
        reg = self.avoid_holes(self.rand_box(k, wide=True))
        if reg is None or not 4 <= tested(reg) <= 6:
            return None
        # split field: tested with >= 2 values, or untested while pieces stay <= 6 tests
        cands = [i for i in range(len(FIELDS))
                 if len(allowed(reg, i)) >= 2 and (reg[i] is not None or tested(reg) < 6)]
        if not cands:
            return None
        i = r.choice(cands)
        nparts = 3 if len(allowed(reg, i)) >= 3 and r.random() < 0.3 else 2
        parts = self.split_parts(i, allowed(reg, i), nparts)
        pieces = [tuple(p if j == i else reg[j] for j in range(len(FIELDS))) for p in parts]
        if r.random() < 0.35:                             # split the last piece again
            last = pieces[-1]
            c2 = [j for j in range(len(FIELDS))
                  if j != i and len(allowed(last, j)) >= 2 and (last[j] is not None or tested(last) < 6)]
            if c2:
                j = r.choice(c2)
                sub_parts = self.split_parts(j, allowed(last, j), 2)
                pieces = pieces[:-1] + [tuple(p if x == j else last[x] for x in range(len(FIELDS)))
                                        for p in sub_parts]
        if not all(4 <= tested(p) <= 6 for p in pieces):
            return None
        return reg, pieces

    def union(self) -> list[tuple[Box, str]]:
        """Pieces now; later an arm covering their union (or a straddling part of it)."""
        for _ in range(50):
            got = self.region()
            if got is None:
                continue
            reg, pieces = got
            target = reg
            if self.rng.random() < 0.4:               # a part of the region that still
                target = self.straddle(reg, pieces)   # needs more than one piece
                if target is None:
                    continue
            first = len(self.arms) + 1
            names = ", ".join(str(first + j) for j in range(len(pieces)))
            out = [(p, f"piece {j + 1}/{len(pieces)} of a region") for j, p in enumerate(pieces)]
            due = len(self.arms) + len(out) + self.rng.randint(0, 40)
            self.pending.append((due, target, f"union of arms {names}"))
            return out
        return self.fresh()

    def straddle(self, reg: Box, pieces: list[Box]) -> Box | None:
        """Shrink reg on fields the pieces agree on, keeping it across >= 2 pieces."""
        b = list(reg)
        for i in range(len(FIELDS)):
            if all(p[i] == reg[i] for p in pieces) and reg[i] is not None and len(reg[i]) > 1 \
                    and self.rng.random() < 0.5:
                w = self.rng.randint(1, len(reg[i]) - 1)
                s = self.rng.randrange(len(reg[i]) - w + 1)
                b[i] = reg[i][s:s + w]
        b = tuple(b)
        if sum(all(set(allowed(b, i)) & set(allowed(p, i)) for i in range(len(FIELDS)))
               for p in pieces) < 2:            # it must meet at least two pieces
            return None
        return b if 4 <= tested(b) <= 6 else None

    def near(self) -> list[tuple[Box, str]]:
        """A near miss: pieces with one left out, or the union widened by one value."""
        for _ in range(50):
            got = self.region()
            if got is None:
                continue
            reg, pieces = got
            if self.rng.random() < 0.5 and len(pieces) >= 2:
                drop = self.rng.randrange(len(pieces))
                kept = [p for j, p in enumerate(pieces) if j != drop]
                target, why = reg, f"piece {drop + 1} left out"
            else:
                kept = pieces
                grow = [i for i in range(len(FIELDS)) if reg[i] is not None and len(reg[i]) < FIELDS[i].size]
                if not grow:
                    continue
                i = self.rng.choice(grow)
                a = reg[i]
                if FIELDS[i].kind == "enum":
                    extra = self.rng.choice([v for v in range(FIELDS[i].size) if v not in a])
                    na = tuple(sorted(a + (extra,)))
                else:
                    opts = ([a[0] - 1] if a[0] > 0 else []) + ([a[-1] + 1] if a[-1] + 1 < FIELDS[i].size else [])
                    extra = self.rng.choice(opts)
                    na = tuple(sorted(a + (extra,)))
                target = self.avoid_holes(tuple(na if j == i else reg[j] for j in range(len(FIELDS))))
                if target is None or not 4 <= tested(target) <= 6:
                    continue
                why = f"widened on {FIELDS[i].name}"
            first = len(self.arms) + 1
            names = ", ".join(str(first + j) for j in range(len(kept)))
            out = [(p, f"piece of a near miss") for p in kept]
            due = len(self.arms) + len(out) + self.rng.randint(0, 40)
            self.pending.append((due, target, f"near miss over arms {names} ({why})"))
            return out
        return self.fresh()

    # ---- driver -----------------------------------------------------------------------

    def run(self) -> list[Arm]:
        strategies = (self.fresh, self.sub, self.union, self.near)
        weights = (70, 6, 14, 6)
        while len(self.arms) < self.n:
            due = [p for p in self.pending if p[0] <= len(self.arms)]
            if due:
                p = min(due, key=lambda q: q[0])
                self.pending.remove(p)
                batch = [(p[1], p[2])]
            else:
                batch = self.rng.choices(strategies, weights=weights)[0]()
            for box, tag in batch:
                if len(self.arms) >= self.n:
                    break
                if self.no_gaps and len(self.arms) == self.n - 1:
                    box, tag = self.catch_all(), "catch-all (--no-gaps)"
                values = tuple(sorted(self.rng.sample(OUTCOMES, self.rng.choice((1, 1, 2))),
                                      key=OUTCOMES.index))
                self.arms.append(Arm(len(self.arms) + 1, box, values, tag))
        return self.arms

    def catch_all(self) -> Box:
        """Tests 4 fields, each with its whole domain: covers every situation."""
        chosen = set(self.rng.sample(range(len(FIELDS)), 4))
        return tuple(tuple(range(FIELDS[i].size)) if i in chosen else None for i in range(len(FIELDS)))


def render_test(i: int, a: tuple[int, ...], rng: random.Random) -> str:
    f = FIELDS[i]
    if f.kind == "enum":
        if len(a) == 1 and rng.random() < 0.3:
            return f"{f.name} == {f.values[a[0]]}"
        return f"{f.name} in {{{', '.join(f.values[v] for v in a)}}}"
    lo, hi = f.values[a[0]], f.values[a[-1]]
    if lo == hi and rng.random() < 0.3:
        return f"{f.name} == {lo}"
    if a[0] == 0 and a[-1] < f.size - 1 and rng.random() < 0.5:
        return f"{f.name} <= {hi}"
    if a[-1] == f.size - 1 and a[0] > 0 and rng.random() < 0.5:
        return f"{f.name} >= {lo}"
    return f"{f.name} >= {lo} and {f.name} <= {hi}"


def render(arms: list[Arm], n: int, seed: int, no_gaps: bool, rules: bool = True) -> tuple[str, int]:
    rng = random.Random(f"lint-scale-render:{seed}:{n}")
    lines = [f'rubric "lint-scale-{n}-s{seed}" version "{GEN_VERSION}"',
             f'"""Generated by bench/lint_scale.py: {n} arms under `first` over {len(FIELDS)} fields'
             f'{"" if not no_gaps else ", no gaps"}."""',
             ""]
    lines += [f.decl() for f in FIELDS]
    lines.append(f"label {LABEL}: enum {{{', '.join(OUTCOMES)}}}")
    lines.append("")
    decide_line = len(lines) + 1
    lines.append(f"decide {LABEL} first {{")
    for arm in arms:
        order = [i for i in range(len(FIELDS)) if arm.box[i] is not None]
        rng.shuffle(order)
        cond = " and ".join(render_test(i, arm.box[i], rng) for i in order)
        arm.text = f"when {cond} -> {', '.join(arm.values)}"
        arm.line = len(lines) + 1
        lines.append(f"  {arm.text}  # arm {arm.number}: {arm.tag}")
    lines.append("}")
    for name, message, wf, wv, rf, rv in (RULES if rules else ()):
        lines += ["", f'rule {name} "{message}" {{', f"  when {_in_test(wf, wv)}", f"  require {_in_test(rf, rv)}", "}"]
    return "\n".join(lines) + "\n", decide_line


def _in_test(name: str, values: tuple) -> str:
    return f"{name} in {{{', '.join(map(str, values))}}}"


def valid_mask() -> Any:
    """The situations no rule of RULES forbids (numpy), indexed like the brute force."""
    shape = tuple(f.size for f in FIELDS)
    valid = np.ones(shape, dtype=bool)
    by_name = {f.name: i for i, f in enumerate(FIELDS)}
    for _, _, wf, wv, rf, rv in RULES:
        ix = [list(range(f.size)) for f in FIELDS]
        ix[by_name[wf]] = [FIELDS[by_name[wf]].values.index(v) for v in wv]
        ix[by_name[rf]] = [j for j, v in enumerate(FIELDS[by_name[rf]].values) if v not in rv]
        valid[np.ix_(*ix)] = False
    return valid


_TEST = re.compile(r"^(\w+) (in|==|>=|<=) (\{[^}]*\}|[-\w]+)$")


def parse_back(text: str) -> Box:
    """Rebuild an arm's box from its source text (guards the renderer)."""
    cond = text[len("when "):text.index(" -> ")]
    by_name = {f.name: i for i, f in enumerate(FIELDS)}
    sets: dict[int, set[int]] = {}
    for part in cond.split(" and "):
        m = _TEST.match(part)
        assert m, part
        i = by_name[m.group(1)]
        f = FIELDS[i]
        cur = sets.setdefault(i, set(range(f.size)))
        op, rhs = m.group(2), m.group(3)
        if op == "in":
            names = [s.strip() for s in rhs[1:-1].split(",")]
            cur &= {f.values.index(v) for v in names}
        elif f.kind == "enum":
            cur &= {f.values.index(rhs)}
        else:
            v = int(rhs)
            keep = {j for j, x in enumerate(f.values)
                    if (x == v if op == "==" else x >= v if op == ">=" else x <= v)}
            cur &= keep
    return tuple(tuple(sorted(sets[i])) if i in sets else None for i in range(len(FIELDS)))


def generate(n: int, seed: int, no_gaps: bool = False, rules: bool = True) -> tuple[list[Arm], str, int, list]:
    g = Generator(seed, n, no_gaps)
    arms = g.run()
    text, decide_line = render(arms, n, seed, no_gaps, rules)
    for arm in arms:
        assert parse_back(arm.text) == arm.box, (arm.number, arm.text, arm.box)
        assert 4 <= tested(arm.box) <= 6 and box_size(arm.box) > 0, arm
        assert not any(box_contains(arm.box, h) for h in g.holes), arm
    return arms, text, decide_line, g.holes


# ---------------------------------------------------------------------------------------
# Brute force
# ---------------------------------------------------------------------------------------


def brute_force(arms: list[Arm], engine: str, rules: bool = False) -> dict[str, Any]:
    """Evaluate the `first` table on every situation.

    decider[s] = number of the first arm matching situation s (0: none). An arm is
    shadowed iff it decides no situation; a gap exists iff some decider is 0. Cross-
    checked by an incremental pass: arm i is shadowed iff its box is already covered.
    """
    t0 = time.perf_counter()
    n = len(arms)
    shape = tuple(f.size for f in FIELDS)
    if engine == "numpy":
        valid = valid_mask() if rules else np.ones(shape, dtype=bool)
        decider = np.zeros(shape, dtype=np.int32)
        for arm in reversed(arms):                     # the first matching arm wins
            decider[np.ix_(*[allowed(arm.box, i) for i in range(len(FIELDS))])] = arm.number
        decider[~valid] = -1                           # a situation a rule forbids: no valid record
        deciding = set(np.unique(decider).tolist()) - {0, -1}
        gap_mask = decider == 0
        uncovered = int(np.count_nonzero(gap_mask))
        decided = np.bincount(np.maximum(decider, 0).ravel(), minlength=n + 1)
        dead = {a.number for a in arms
                if not valid[np.ix_(*[allowed(a.box, i) for i in range(len(FIELDS))])].any()}
        # cross-check: an arm is shadowed or dead iff what it matches is covered or forbidden
        covered = ~valid
        inc = set()
        for arm in arms:
            ix = np.ix_(*[allowed(arm.box, i) for i in range(len(FIELDS))])
            if covered[ix].all():
                inc.add(arm.number)
            covered[ix] = True
        gap_cells = np.argwhere(gap_mask)[:5].tolist() if uncovered else []
        decided_count = {a.number: int(decided[a.number]) for a in arms}
    else:
        strides = []
        s = 1
        for f in reversed(FIELDS):
            strides.append(s)
            s *= f.size
        strides.reverse()
        total = s
        decider = array("i", bytes(4 * total))
        offs_of = lambda arm: [[v * strides[i] for v in allowed(arm.box, i)] for i in range(len(FIELDS))]
        for arm in reversed(arms):
            num = arm.number
            for offs in itertools.product(*offs_of(arm)):
                decider[sum(offs)] = num
        counts = [0] * (n + 1)
        for d in decider:
            counts[d] += 1
        deciding = {i for i in range(1, n + 1) if counts[i]}
        uncovered = counts[0]
        covered = bytearray(total)
        inc = set()
        for arm in arms:
            cells = [sum(o) for o in itertools.product(*offs_of(arm))]
            if all(covered[c] for c in cells):
                inc.add(arm.number)
            for c in cells:
                covered[c] = 1
        gap_cells = []
        for idx in range(total):
            if decider[idx] == 0:
                gap_cells.append([(idx // strides[i]) % FIELDS[i].size for i in range(len(FIELDS))])
                if len(gap_cells) == 5:
                    break
        decided_count = {a.number: counts[a.number] for a in arms}
        dead, gap_mask, valid = set(), None, None
    shadowed = {a.number for a in arms} - deciding - dead
    if shadowed | dead != inc:
        raise AssertionError(f"brute force disagrees with itself: {sorted((shadowed | dead) ^ inc)[:20]}")
    return {"shadowed": shadowed, "dead": dead, "gap_mask": gap_mask, "valid": valid if engine == "numpy" else None, "uncovered": uncovered, "gap": uncovered > 0,
            "gap_examples": [situation_of(c) for c in gap_cells], "decided": decided_count,
            "seconds": time.perf_counter() - t0}


def field_masks(box: Box) -> list[int]:
    return [sum(1 << v for v in allowed(box, i)) for i in range(len(FIELDS))]


def shadowed_by_union_only(arms: list[Arm], shadowed: set[int]) -> set[int]:
    """The shadowed arms that no single earlier arm contains."""
    masks = [field_masks(a.box) for a in arms]
    out = set()
    if np is not None:
        m = np.array(masks, dtype=np.int64)
        for num in shadowed:
            k = num - 1
            if k and not ((m[k] & ~m[:k]) == 0).all(axis=1).any():
                out.add(num)
        return out
    for num in shadowed:
        k = num - 1
        mk = masks[k]
        if not any(all(x & ~y == 0 for x, y in zip(mk, masks[j])) for j in range(k)):
            out.add(num)
    return out


def situation_of(cell) -> dict[str, Any]:
    return {f.name: f.values[c] for f, c in zip(FIELDS, cell)}


def cell_of(witness: dict[str, Any]) -> tuple[int, ...] | str:
    """The situation of a witness, or why it is not one."""
    cell = []
    for f in FIELDS:
        if f.name not in witness:
            return f"no value for {f.name}"
        v = witness[f.name]
        if f.kind == "int" and (isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v)):
            return f"{f.name} = {v!r} is not an integer"
        if f.kind == "int":
            v = int(v)
        if v not in f.values:
            return f"{f.name} = {v!r} is outside its domain"
        cell.append(f.values.index(v))
    return tuple(cell)


def covered_by_union(box: Box, cover: list[Box], valid: Any = None) -> bool:
    """Is every situation of box in some box of cover, or forbidden by a rule (`valid`
    False there)? (exact, over box's situations)"""
    axes = [allowed(box, i) for i in range(len(FIELDS))]
    if np is not None:
        hit = np.zeros(tuple(len(a) for a in axes), dtype=bool)
        if valid is not None:
            hit |= ~valid[np.ix_(*axes)]
        for c in cover:
            local = []
            for i, a in enumerate(axes):
                cs = set(allowed(c, i))
                local.append([j for j, v in enumerate(a) if v in cs])
            if all(local):
                hit[np.ix_(*local)] = True
        return bool(hit.all())
    return all(any(box_contains(c, cell) for c in cover) for cell in itertools.product(*axes))


# ---------------------------------------------------------------------------------------
# Running lint
# ---------------------------------------------------------------------------------------


BASELINE_SRC: str | None = None  # --baseline: another checkout's src/, timed on the same file


def lint_command(src: str | None = None) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
        return [sys.executable, "-m", "rubricdsl"], env
    try:
        import rubricdsl  # noqa: F401
    except ImportError:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return [sys.executable, "-m", "rubricdsl"], env


def lint_available() -> str | None:
    cmd, env = lint_command()
    p = subprocess.run(cmd + ["lint", "--help"], cwd=REPO, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        return (p.stderr or p.stdout).strip().splitlines()[-1:] or ["lint --help failed"]
    return None


def run_lint(path: Path, out: Path, wall: float, solver_timeout: float | None,
             src: str | None = None) -> dict[str, Any]:
    cmd, env = lint_command(src)
    argv = cmd + ["lint", str(path), "--format", "json", "--output", str(out)]
    if solver_timeout is not None:
        argv += ["--timeout", str(solver_timeout)]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        p = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=wall)
    except subprocess.TimeoutExpired:
        return {"seconds": time.perf_counter() - t0, "rc": None, "error": f"killed after {wall:.0f} s"}
    secs = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    res: dict[str, Any] = {"seconds": secs, "cpu_seconds": cpu, "rc": p.returncode, "stderr": p.stderr[-2000:]}
    try:
        res["report"] = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        res["error"] = f"no JSON report ({e}); exit {p.returncode}; {p.stderr.strip()[-500:]}"
    return res


def startup_seconds(wall: float) -> float | None:
    OUT_DIR.mkdir(exist_ok=True)
    tiny = OUT_DIR / "lint-scale-startup.rubric"
    tiny.write_text('rubric "t" version "1"\ninput x: enum {a, b}\nlabel y: enum {p, q}\n'
                    'decide y first {\n  when x == a -> p\n  when x == b -> q\n}\n', encoding="utf-8")
    best = None
    for _ in range(2):
        r = run_lint(tiny, OUT_DIR / "lint-scale-startup.json", wall, None)
        if r.get("rc") is None:
            return None
        best = r["seconds"] if best is None else min(best, r["seconds"])
    for p in (tiny, OUT_DIR / "lint-scale-startup.json"):
        p.unlink(missing_ok=True)
    return best


def fake_report(path: Path, arms: list[Arm], decide_line: int, bf: dict[str, Any],
                mutate: str | None = None) -> dict[str, Any]:
    """Diagnostics as a correct linter would write them, made from the brute force
    (with mutate: deliberately wrong, to show the comparison catches it)."""
    diags = []
    if "fake_covers" not in bf:             # every earlier arm that meets it: a (non-minimal) cover
        masks = [field_masks(a.box) for a in arms]
        bf["fake_covers"] = {
            arm.number: [a for a in arms[:arm.number - 1]
                         if all(x & y for x, y in zip(masks[arm.number - 1], masks[a.number - 1]))]
            for arm in arms if arm.number in bf["shadowed"]}
    for arm in arms:
        if arm.number in bf["shadowed"]:
            cover = bf["fake_covers"][arm.number]
            cell = tuple(allowed(arm.box, i)[0] for i in range(len(FIELDS)))
            diags.append({"check": "shadowed", "code": "RB206", "severity": "warning", "file": str(path),
                          "line": arm.line, "column": 3,
                          "message": f"arm {arm.number} of `decide {LABEL}` never decides: "
                                     f"{', '.join(f'arm {a.number}' for a in cover)} together cover every situation it matches",
                          "witness": situation_of(cell)})
    if bf["gap"]:
        diags.append({"check": "gap", "code": "RB204", "severity": "warning", "file": str(path),
                      "line": decide_line, "column": 1, "message": f"`decide {LABEL}` has a gap",
                      "witness": bf["gap_examples"][0]})
    if mutate == "drop-shadowed" and any(d["check"] == "shadowed" for d in diags):
        diags.remove(next(d for d in diags if d["check"] == "shadowed"))
    elif mutate == "extra-shadowed":
        live = next(a for a in arms if a.number not in bf["shadowed"] and a.number > 1)
        diags.append({"check": "shadowed", "code": "RB206", "severity": "warning", "file": str(path),
                      "line": live.line, "column": 3, "message": f"arm {live.number} never decides: arm 1 covers it",
                      "witness": {}})
    elif mutate == "bad-gap-witness":
        for d in diags:
            if d["check"] == "gap":
                arm = arms[-1]
                d["witness"] = situation_of(tuple(allowed(arm.box, i)[0] for i in range(len(FIELDS))))
    elif mutate == "no-gap":
        diags = [d for d in diags if d["check"] != "gap"]
    return {"diagnostics": diags}


# ---------------------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------------------

_COVER_MSG = re.compile(r"never decides:\s*(.*?)\s+(?:covers|together cover)\b")
_ARM_REF = re.compile(r"\barm\s+(\d+)\b")


def named_cover(d: dict[str, Any]) -> tuple[list[int], bool] | None:
    """The covering arms a shadowed diagnostic names, and whether the list is cut short
    ("arm 4, arm 7 and 3 more"); None when it names none."""
    m = _COVER_MSG.search(d.get("message", ""))
    cut = bool(m and _MORE.search(m.group(1)))
    nums = _named_cover(d)
    return None if nums is None else (nums, cut)


_MORE = re.compile(r"\band\s+\d+\s+more\b")


def _named_cover(d: dict[str, Any]) -> list[int] | None:
    for key in ("covered_by", "cover", "covering", "by", "arms"):
        v = d.get(key)
        if isinstance(v, list) and v:
            nums = []
            for x in v:
                if isinstance(x, int):
                    nums.append(x)
                elif isinstance(x, str) and _ARM_REF.search(x):
                    nums.append(int(_ARM_REF.search(x).group(1)))
            if nums:
                return nums
    m = _COVER_MSG.search(d.get("message", ""))
    if m:
        nums = [int(x) for x in _ARM_REF.findall(m.group(1))]
        if nums:
            return nums
    return None


def compare(arms: list[Arm], decide_line: int, bf: dict[str, Any], report: dict[str, Any],
            verbose: bool, need_regions: bool = False) -> dict[str, Any]:
    diags = report.get("diagnostics", [])
    by_line = {a.line: a for a in arms}
    by_number = {a.number: a for a in arms}
    expected = {a.line for a in arms if a.number in bf["shadowed"]}
    shadow_diags = [d for d in diags if d.get("check") == "shadowed"]
    found = {d.get("line") for d in shadow_diags}
    gap_diags = [d for d in diags if d.get("check") == "gap"]
    other: dict[str, int] = {}
    for d in diags:
        if d.get("check") not in ("shadowed", "gap"):
            other[d.get("check", "?")] = other.get(d.get("check", "?"), 0) + 1
    problems: list[str] = []
    warnings: list[str] = []

    def describe(line: int) -> str:
        a = by_line.get(line)
        if a is None:
            return f"line {line} (not an arm)"
        return f"arm {a.number} (line {a.line}, {a.tag}): {a.text}"

    missed = sorted(expected - found)
    spurious = sorted(found - expected)
    for ln in missed:
        a = by_line[ln]
        problems.append(f"shadowed but not reported: {describe(ln)}")
    for ln in spurious:
        a = by_line.get(ln)
        extra = "" if a is None else f" -- it decides {bf['decided'][a.number]} situation(s)"
        problems.append(f"reported shadowed but is not: {describe(ln)}{extra}")
    dup = len(shadow_diags) - len(found)
    if dup:
        warnings.append(f"{dup} duplicate shadowed diagnostic(s) on one line")

    # gap
    gap_found = bool(gap_diags)
    if gap_found != bf["gap"]:
        problems.append(f"gap {'reported' if gap_found else 'not reported'} but brute force finds "
                        f"{bf['uncovered']} uncovered situation(s)"
                        + (f", e.g. {bf['gap_examples'][0]}" if bf["gap_examples"] else ""))
    gap_witness_ok = 0
    for d in gap_diags:
        if d.get("line") != decide_line:
            warnings.append(f"gap reported at line {d.get('line')}, the decide is at line {decide_line}")
        w = d.get("witness")
        if not isinstance(w, dict):
            problems.append(f"gap diagnostic without a witness: {d.get('message')}")
            continue
        cell = cell_of(w)
        if isinstance(cell, str):
            problems.append(f"gap witness {w} is not a situation: {cell}")
            continue
        hits = [a for a in arms if box_contains(a.box, cell)]
        if hits:
            problems.append(f"gap witness {w} is covered by {len(hits)} arm(s), e.g. "
                            f"arm {hits[0].number} (line {hits[0].line}): {hits[0].text}")
        else:
            gap_witness_ok += 1

    # dead arms: under the rules, an arm that matches only forbidden situations
    dead_found = {d.get("line") for d in diags if d.get("code") == "RB201"}
    dead_expected = {a.line for a in arms if a.number in bf.get("dead", set())}
    for ln in sorted(dead_expected - dead_found):
        problems.append(f"dead (matches only situations a rule forbids) but not reported: {describe(ln)}")
    for ln in sorted(dead_found - dead_expected):
        problems.append(f"reported dead but is not: {describe(ln)}")
    other.pop("dead", None)

    # every gap region: disjoint, and together exactly the uncovered situations
    regions_checked = None
    if need_regions and gap_diags and bf.get("gap_mask") is not None:
        d = gap_diags[0]
        regions = d.get("regions") or []
        if d.get("regions_total") != len(regions):
            problems.append(f"gap regions listed {len(regions)} of {d.get('regions_total')}: not all listed")
        count = np.zeros(bf["gap_mask"].shape, dtype=np.int32)
        for r in regions:
            vals = r.get("values") or {}
            try:
                ix = [[f.values.index(v) for v in vals[f.name]] if f.name in vals else list(range(f.size))
                      for f in FIELDS]
            except (ValueError, TypeError) as e:
                problems.append(f"gap region {r.get('where')!r} has values outside the domains: {e}")
                continue
            count[np.ix_(*ix)] += 1
        if (count > 1).any():
            problems.append(f"gap regions overlap: {int((count > 1).sum())} situation(s) in two regions")
        if ((count > 0) != bf["gap_mask"]).any():
            problems.append(f"gap regions cover {int((count > 0).sum())} situations, the gap has {bf['uncovered']}")
        regions_checked = len(regions)

    # covering arms and witnesses of shadowed diagnostics (warnings only)
    cover_named = cover_ok = witness_ok = union_cover = cover_cut = 0
    examples: list[str] = []
    for d in shadow_diags:
        a = by_line.get(d.get("line"))
        if a is None:
            continue
        got = named_cover(d)
        if got is not None:
            cover, cut = got
            cover_named += 1
            bad = [c for c in cover if c not in by_number or c >= a.number]
            if bad:
                warnings.append(f"arm {a.number}: named covering arms {bad} are not earlier arms")
            elif cut:                       # a partial list cannot be checked to cover
                cover_cut += 1
            elif not covered_by_union(a.box, [by_number[c].box for c in cover], bf.get("valid")):
                warnings.append(f"arm {a.number}: named covering arms {cover} do not cover it "
                                f"({a.text})")
            else:
                cover_ok += 1
                if len(cover) > 1:
                    union_cover += 1
            if verbose or (len(examples) < 6 and a.tag.startswith("union") and len(cover) > 1):
                examples.append(f"arm {a.number} [{a.tag}] <- arms {', '.join(map(str, cover))}"
                                f"{' and more' if cut else ''}")
        w = d.get("witness")
        if isinstance(w, dict) and w:
            cell = cell_of(w)
            if isinstance(cell, str):
                warnings.append(f"arm {a.number}: shadowed witness {w} is not a situation: {cell}")
            elif not box_contains(a.box, cell):
                warnings.append(f"arm {a.number}: shadowed witness {w} does not match the arm")
            elif LABEL in w and w[LABEL] not in OUTCOMES:
                warnings.append(f"arm {a.number}: shadowed witness {w} gives {LABEL} a value outside its enum")
            else:
                witness_ok += 1
    return {
        "shadowed_found": len(found),
        "shadowed_expected": len(expected),
        "shadowed_missed": [by_line[ln].number for ln in missed],
        "shadowed_spurious": [by_line[ln].number if ln in by_line else f"line {ln}" for ln in spurious],
        "gap_found": gap_found, "gap_expected": bf["gap"], "gap_witnesses_ok": gap_witness_ok,
        "gap_witnesses": [d.get("witness") for d in gap_diags],
        "cover_named": cover_named, "cover_verified": cover_ok, "cover_truncated": cover_cut, "cover_union": union_cover,
        "shadow_witness_ok": witness_ok, "cover_examples": examples,
        "dead_found": len(dead_found), "dead_expected": len(dead_expected), "gap_regions": regions_checked,
        "other_diagnostics": other, "problems": problems, "warnings": warnings,
        "correct": not problems,
    }


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------


def tag_kind(tag: str) -> str:
    return tag.split(" ")[0]


def one_size(n: int, args, log) -> dict[str, Any]:
    OUT_DIR.mkdir(exist_ok=True)
    stem = (f"lint-scale-{n}-s{args.seed}-g{GEN_VERSION}{'-nogap' if args.no_gaps else ''}"
            f"{'-norules' if args.no_rules else ''}")
    rubric_path = OUT_DIR / f"{stem}.rubric"
    t0 = time.perf_counter()
    arms, text, decide_line, holes = generate(n, args.seed, args.no_gaps, not args.no_rules)
    gen_s = time.perf_counter() - t0
    rubric_path.write_text(text, encoding="utf-8")
    bf = brute_force(arms, args.engine, not args.no_rules)
    kinds: dict[str, list[int]] = {}
    for a in arms:
        k = tag_kind(a.tag)
        tot_sh = kinds.setdefault(k, [0, 0])
        tot_sh[0] += 1
        tot_sh[1] += a.number in bf["shadowed"]
    by_union = len(shadowed_by_union_only(arms, bf["shadowed"]))
    row: dict[str, Any] = {
        "arms": n, "fields": len(FIELDS), "situations": situations(), "seed": args.seed,
        "file": str(rubric_path), "generate_seconds": gen_s, "brute_force_seconds": bf["seconds"],
        "engine": args.engine, "shadowed_expected": len(bf["shadowed"]),
        "shadowed_by_union_only": by_union, "uncovered_situations": bf["uncovered"],
        "gap_expected": bf["gap"], "reserved_gaps": [situation_of(h) for h in holes], "by_construction": {k: {"arms": v[0], "shadowed": v[1]} for k, v in kinds.items()},
    }
    log(f"  {n} arms: generated in {gen_s:.2f} s ({len(text) / 1e6:.2f} MB, {rubric_path.relative_to(REPO)}); "
        f"brute force ({args.engine}) {bf['seconds']:.2f} s: {len(bf['shadowed'])} shadowed "
        f"({by_union} by a union only), {len(bf['dead'])} dead, {bf['uncovered']} uncovered situation(s)"
        f"{'' if args.no_rules else ' the rules allow'}")
    log("    by construction (arms/shadowed): " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(kinds.items())))
    if args.no_lint:
        row["status"] = "n/a"
    else:
        if args.fake_lint:
            results = []
            for mutate in (None, "drop-shadowed", "extra-shadowed", "bad-gap-witness", "no-gap"):
                if mutate in ("bad-gap-witness", "no-gap") and not bf["gap"]:
                    continue
                rep = fake_report(rubric_path, arms, decide_line, bf, mutate)
                c = compare(arms, decide_line, bf, rep, args.verbose)
                ok = c["correct"] == (mutate is None)
                log(f"    fake lint{'' if mutate is None else ' (' + mutate + ')'}: "
                    f"{'agrees' if c['correct'] else str(len(c['problems'])) + ' problem(s): ' + c['problems'][0][:150]}"
                    f" -> comparison {'OK' if ok else 'BROKEN'}")
                results.append(ok)
            lint = {"seconds": 0.0, "rc": 1 if bf["shadowed"] or bf["gap"] else 0,
                    "report": fake_report(rubric_path, arms, decide_line, bf)}
            row["fake_lint_selftest"] = all(results)
        else:
            out_json = OUT_DIR / f"{stem}.lint.json"
            lint = run_lint(rubric_path, out_json, args.lint_timeout, args.solver_timeout)
            times = [lint["seconds"]]
            for _ in range(args.rounds - 1):   # timing only: the first run's report is compared
                if "report" not in lint:
                    break
                again = run_lint(rubric_path, OUT_DIR / f"{stem}.lint-again.json", args.lint_timeout,
                                 args.solver_timeout)
                (OUT_DIR / f"{stem}.lint-again.json").unlink(missing_ok=True)
                times.append(again["seconds"])
                if again["seconds"] < lint["seconds"]:
                    lint["seconds"], lint["cpu_seconds"] = again["seconds"], again.get("cpu_seconds")
            row["lint_seconds_all"] = times
            if args.baseline:
                base = run_lint(rubric_path, OUT_DIR / f"{stem}.baseline.json", args.lint_timeout,
                                args.solver_timeout, args.baseline)
                (OUT_DIR / f"{stem}.baseline.json").unlink(missing_ok=True)
                row["baseline_seconds"] = base["seconds"]
                row["baseline_cpu_seconds"] = base.get("cpu_seconds")
                bcpu, cpu = base.get("cpu_seconds"), lint.get("cpu_seconds")
                ratio = "" if not bcpu or cpu is None else f", CPU {cpu / bcpu:.2f}"
                log(f"    baseline ({args.baseline}) lint {base['seconds']:.2f} s"
                    f"{'' if bcpu is None else f', {bcpu:.2f} s CPU'}; this lint / baseline: wall "
                    f"{lint['seconds'] / base['seconds']:.2f}{ratio}")
            if not args.keep:
                out_json.unlink(missing_ok=True)
        row["lint_seconds"] = lint["seconds"]
        row["lint_cpu_seconds"] = lint.get("cpu_seconds")
        row["lint_exit"] = lint.get("rc")
        if "report" not in lint:
            row.update(status="FAIL", correct=False, problems=[lint.get("error", "lint failed")])
            log(f"    lint: {lint.get('error')}")
        else:
            c = compare(arms, decide_line, bf, lint["report"], args.verbose, need_regions=bf.get("gap_mask") is not None)
            row.update({k: v for k, v in c.items()})
            want_rc = 1 if c["shadowed_found"] or c["gap_found"] or c["other_diagnostics"] else 0
            if lint.get("rc") != want_rc:
                c["warnings"].append(f"lint exited {lint.get('rc')}, expected {want_rc}")
            timed = n <= TARGET_ARMS
            fast = (lint["seconds"] <= TARGET_SECONDS) if timed else None
            row["within_target"] = fast
            if args.fake_lint:
                row["status"] = "PASS" if c["correct"] and row["fake_lint_selftest"] else "FAIL"
            else:
                row["status"] = "PASS" if c["correct"] and fast is not False else "FAIL"
            cpu = lint.get("cpu_seconds")
            rounds = row.get("lint_seconds_all", [])
            log(f"    lint {lint['seconds']:.2f} s"
                f"{'' if cpu is None else f', {cpu:.2f} s CPU'}"
                f"{'' if len(rounds) < 2 else ' (best of ' + ', '.join(f'{t:.2f}' for t in rounds) + ')'}"
                f" (exit {lint.get('rc')}): shadowed {c['shadowed_found']}"
                f"/{c['shadowed_expected']}, gap {'yes' if c['gap_found'] else 'no'}/"
                f"{'yes' if c['gap_expected'] else 'no'} (gap witnesses uncovered: {c['gap_witnesses_ok']}/"
                f"{len(c['gap_witnesses'])}), covering arms named {c['cover_named']}/{len(bf['shadowed'])}, "
                f"verified {c['cover_verified']} ({c['cover_union']} unions; {c['cover_truncated']} lists cut short, "
                f"not checked), shadowed witnesses ok "
                f"{c['shadow_witness_ok']}")
            if c["gap_regions"] is not None:
                log(f"    gap regions: {c['gap_regions']} listed, disjoint and together exactly the "
                    f"{bf['uncovered']} uncovered situations: {'yes' if not any('region' in p for p in c['problems']) else 'NO'}")
            log(f"    dead arms (only forbidden situations): {c['dead_found']}/{c['dead_expected']}")
            if c["gap_witnesses"]:
                log(f"    gap witness: {c['gap_witnesses'][0]}")
            for e in c["cover_examples"]:
                log(f"    cover: {e}")
            if c["other_diagnostics"]:
                log(f"    other diagnostics: {c['other_diagnostics']}")
            for p in c["problems"][:args.max_report]:
                log(f"    DISAGREE: {p}")
            if len(c["problems"]) > args.max_report:
                log(f"    ... and {len(c['problems']) - args.max_report} more disagreement(s)")
            for w in c["warnings"][:args.max_report]:
                log(f"    warning: {w}")
    if not args.keep:
        rubric_path.unlink(missing_ok=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arms", default="1000,5000", help="comma-separated arm counts (default 1000,5000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the generated rubric(s) and lint JSON in bench/out/")
    ap.add_argument("--json", action="store_true", help="write the results as JSON on stdout (table on stderr)")
    ap.add_argument("--no-lint", action="store_true", help="only generate and brute-force")
    ap.add_argument("--fake-lint", action="store_true",
                    help="compare against diagnostics made from the brute force (correct and mutated) "
                         "instead of running lint: tests this script")
    ap.add_argument("--no-gaps", action="store_true", help="make the last arm a catch-all: no gap")
    ap.add_argument("--baseline", metavar="SRC", default=None,
                    help="also time the lint of another checkout's src/ (e.g. ../main/src) on the same files, "
                         "and print the ratio (a busy machine slows both alike)")
    ap.add_argument("--no-rules", action="store_true",
                    help="generate no error rules (by default two, which lint assumes and the brute force honours)")
    ap.add_argument("--engine", choices=("auto", "numpy", "python"), default="auto")
    ap.add_argument("--rounds", type=int, default=1, help="time lint this many times, keep the best (default 1)")
    ap.add_argument("--lint-timeout", type=float, default=900.0, help="wall-clock limit per lint run (s)")
    ap.add_argument("--solver-timeout", type=float, default=None, help="pass --timeout to rubric lint")
    ap.add_argument("--max-report", type=int, default=40, help="disagreements listed per size")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every covering-arm list")
    args = ap.parse_args(argv)
    if args.engine == "auto":
        args.engine = "numpy" if np is not None else "python"
    if args.engine == "numpy" and np is None:
        ap.error("numpy is not installed")
    if args.engine == "python" and not args.no_rules:
        args.no_rules = True  # the rules' brute force and the region check need numpy
    sizes = [int(x) for x in args.arms.split(",") if x.strip()]
    if not sizes or min(sizes) < 2:
        ap.error("--arms needs sizes >= 2")
    out = sys.stderr if args.json else sys.stdout

    def log(msg: str) -> None:
        print(msg, file=out, flush=True)

    log(f"lint_scale: {len(FIELDS)} fields ({', '.join(f.name + ':' + str(f.size) for f in FIELDS)}), "
        f"{situations():,} situations, seed {args.seed}")
    startup = None
    if not args.no_lint and not args.fake_lint:
        why = lint_available()
        if why:
            log(f"`rubric lint` is not available ({why}); use --no-lint or --fake-lint")
            return 2
        startup = startup_seconds(args.lint_timeout)
        log(f"  lint start-up (tiny rubric, best of 2): {startup:.2f} s" if startup else "  lint start-up: ?")
    rows = [one_size(n, args, log) for n in sizes]

    # table
    hdr = ("arms", "fields", "situations", "lint s", "lint CPU s", "brute s", "shadowed found/exp", "gap found/exp", "result")
    lines = []
    for r in rows:
        lint_s = "-" if "lint_seconds" not in r else f"{r['lint_seconds']:.2f}"
        if args.fake_lint and "lint_seconds" in r:
            lint_s = "fake"
        sh = f"-/{r['shadowed_expected']}" if "shadowed_found" not in r else \
            f"{r['shadowed_found']}/{r['shadowed_expected']}"
        yn = lambda b: "yes" if b else "no"
        gap = f"-/{yn(r['gap_expected'])}" if "gap_found" not in r else f"{yn(r['gap_found'])}/{yn(r['gap_expected'])}"
        res = r["status"]
        if res == "FAIL" and r.get("correct") and r.get("within_target") is False:
            res = "FAIL (slow)"
        elif res == "FAIL":
            res = "FAIL (wrong)"
        cpu_s = "-" if r.get("lint_cpu_seconds") is None else f"{r['lint_cpu_seconds']:.2f}"
        lines.append((str(r["arms"]), str(r["fields"]), f"{r['situations']:,}", lint_s, cpu_s,
                      f"{r['brute_force_seconds']:.2f}", sh, gap, res))
    widths = [max(len(h), *(len(l[i]) for l in lines)) for i, h in enumerate(hdr)]
    log("")
    log(f"target: {TARGET_ARMS:,} arms over {len(FIELDS)} fields in <= {TARGET_SECONDS:.0f} s "
        f"(lint wall time incl. start-up{'' if startup is None else f' of {startup:.2f} s'}), "
        f"results equal to brute force")
    log("  ".join(h.rjust(w) for h, w in zip(hdr, widths)))
    for l in lines:
        log("  ".join(c.rjust(w) for c, w in zip(l, widths)))
    failed = any(r["status"] == "FAIL" for r in rows)
    if not args.no_lint:
        log(f"overall: {'FAIL' if failed else 'PASS'}")
    if args.json:
        print(json.dumps({"target": {"arms": TARGET_ARMS, "fields": len(FIELDS), "seconds": TARGET_SECONDS},
                          "lint_startup_seconds": startup, "results": rows,
                          "overall": None if args.no_lint else ("FAIL" if failed else "PASS")},
                         indent=2, default=sorted))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
