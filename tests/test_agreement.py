"""`rubric agreement`: the statistics against published worked examples, the package
call against the formula it implements, and the per-annotator and per-arm tables."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from helpers import Ran, rubric

import rubricdsl
from rubricdsl.analysis import agreement as ag

DATA = Path(__file__).resolve().parent / "data" / "agreement"


def cli(*args: str, cwd: Path | None = None) -> Ran:
    return rubric("agreement", *args, cwd=cwd, text=True)


def _write(tmp: Path, rubric: str, records: list[dict]) -> tuple[str, str]:
    (tmp / "r.rubric").write_text(rubric, encoding="utf-8")
    (tmp / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(tmp / "r.rubric"), str(tmp / "d.jsonl")


# ---- Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability" -------------------------------


@pytest.mark.parametrize("label,level,expected", [
    ("score", "nominal", 0.743),
    ("score", None, 0.815),     # a scale: ordinal by default
    ("amount", None, 0.849),    # an int: interval by default
    ("score", "interval", 0.849),
    ("amount", "ordinal", 0.815),
])
def test_published_example_through_the_command(label: str, level: str | None, expected: float) -> None:
    args = ["krippendorff2011.rubric", "krippendorff2011.jsonl", "--format", "json"]
    if level:
        args += ["--level", f"{label}={level}"]
    proc = cli(*args, cwd=DATA)
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    stats = rep["labels"][label]
    assert stats["level"] == (level or {"score": "ordinal", "amount": "interval"}[label])
    assert round(stats["alpha"], 3) == expected
    assert stats["items"] == 11  # unit 12 has one value: not pairable
    assert rep["records"] == 41 and rep["items"] == 12


def test_text_report_shows_the_tables() -> None:
    proc = cli("krippendorff2011.rubric", "krippendorff2011.jsonl", cwd=DATA)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "41 records, 12 items" in out
    assert "labels" in out and "annotators" in out
    assert "0.815" in out and "0.849" in out


# ---- the package call against the formula, on random data ---------------------------------------------


RANDOM_RUBRIC = '''rubric "random" version "1"
record { item = item  annotator = who }
label nominal: enum {a, b, c, d}
label ordered: enum ordered {low, mid, high}
label score: scale 1..7
label amount: number
label tags: set {x, y, z}
label flag: bool
'''


def _random_records(seed: int, items: int = 60) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(items):
        base = rng.randrange(4)
        for who in rng.sample(["p", "q", "r", "s", "t"], rng.choice((1, 2, 3, 5))):
            out.append({"item": i, "who": who,
                        "nominal": "abcd"[base if rng.random() < 0.6 else rng.randrange(4)],
                        "ordered": ["low", "mid", "high"][min(2, base // 2 + rng.choice((0, 0, 1)))],
                        "score": min(7, max(1, base * 2 + rng.randrange(-1, 2))),
                        "amount": round(base * 1.5 + rng.random(), 2),
                        "tags": rng.sample(["x", "y", "z"], rng.randrange(4)),
                        "flag": rng.random() < 0.3 + 0.1 * base})
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_package_and_pattern_formula_agree(seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r, d = _write(tmp_path, RANDOM_RUBRIC, _random_records(seed))
    rubric = rubricdsl.load(r)
    by_package = ag.agreement(rubric.ir, [d])
    monkeypatch.setattr(ag, "LIBRARY_CELLS", 0)
    by_formula = ag.agreement(rubric.ir, [d])
    for label, stats in by_package["labels"].items():
        assert stats["alpha"] is not None, label
        assert by_formula["labels"][label]["alpha"] == pytest.approx(stats["alpha"], abs=1e-9), label
    levels = {k: v["level"] for k, v in by_package["labels"].items()}
    assert levels == {"nominal": "nominal", "ordered": "ordinal", "score": "ordinal", "amount": "interval",
                      "tags": "jaccard", "flag": "nominal"}


def test_jaccard_alpha_gives_partial_credit(tmp_path: Path) -> None:
    """Overlapping multi-selects agree more than disjoint ones; identical ones perfectly."""
    rubric = 'rubric "s" version "1"\nrecord { item = item  annotator = who }\nlabel tags: set {x, y, z, w}\n'

    def alpha(pairs: list[tuple[list[str], list[str]]]) -> float:
        recs = []
        for i, (a, b) in enumerate(pairs):
            recs += [{"item": i, "who": "p", "tags": a}, {"item": i, "who": "q", "tags": b}]
        r, d = _write(tmp_path, rubric, recs)
        return ag.agreement(rubricdsl.load(r).ir, [d])["labels"]["tags"]["alpha"]

    units = [["x"], ["y"], ["z"], ["w"], ["x", "y"], ["z", "w"]]
    overlap = alpha([(u, u + ["x"] if "x" not in u else u + ["y"]) for u in units])
    disjoint = alpha([(u, [v for v in ["x", "y", "z", "w"] if v not in u][:1]) for u in units])
    assert disjoint < overlap < 1.0
    assert alpha([(u, u) for u in units]) == 1.0


# ---- Fleiss (1971) and Cohen (1960) ---------------------------------------------------------------------


FLEISS_TABLE = [  # 10 subjects x 5 categories, 14 raters each (Fleiss' kappa = 0.210)
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]


def test_fleiss_kappa_of_the_standard_example(tmp_path: Path) -> None:
    recs = []
    for i, row in enumerate(FLEISS_TABLE):
        rater = 0
        for cat, n in enumerate(row):
            for _ in range(n):
                recs.append({"item": f"s{i}", "who": f"r{rater}", "c": f"c{cat + 1}"})
                rater += 1
    rubric = ('rubric "f" version "1"\nrecord { item = item  annotator = who }\n'
              'label c: enum {c1, c2, c3, c4, c5}\n')
    r, d = _write(tmp_path, rubric, recs)
    stats = ag.agreement(rubricdsl.load(r).ir, [d])["labels"]["c"]
    assert round(stats["fleiss_kappa"], 3) == 0.210
    assert stats["cohen_kappa"] is None  # fourteen annotators
    # unequal numbers of judgments per item: no Fleiss' kappa
    r, d = _write(tmp_path, rubric, recs[:-1])
    assert ag.agreement(rubricdsl.load(r).ir, [d])["labels"]["c"]["fleiss_kappa"] is None


def test_cohen_kappa_of_the_standard_example(tmp_path: Path) -> None:
    """50 items, two readers: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> kappa 0.4."""
    recs = []
    cells = [("yes", "yes", 20), ("yes", "no", 5), ("no", "yes", 10), ("no", "no", 15)]
    i = 0
    for a, b, n in cells:
        for _ in range(n):
            recs += [{"item": i, "who": "A", "v": a}, {"item": i, "who": "B", "v": b}]
            i += 1
    rubric = 'rubric "c" version "1"\nrecord { item = item  annotator = who }\nlabel v: enum {yes, no}\n'
    r, d = _write(tmp_path, rubric, recs)
    stats = ag.agreement(rubricdsl.load(r).ir, [d])["labels"]["v"]
    assert stats["cohen_kappa"] == pytest.approx(0.4)
    assert stats["percent_agreement"] == pytest.approx(0.7)


# ---- annotators and arms -------------------------------------------------------------------------------


ARMS_RUBRIC = '''rubric "arms" version "1"
record { item = item  annotator = who }
input kind: enum {news, joke}
label harm: bool
label safety: enum {safe, unsafe}
decide safety {
  edge joke "A joke" when kind == joke -> safe, unsafe
  when harm -> unsafe
  when not harm -> safe
}
'''


def test_annotators_and_hotspots(tmp_path: Path) -> None:
    recs = [
        # item 1: news, all agree harm -> unsafe
        {"item": 1, "who": "a", "kind": "news", "harm": True, "safety": "unsafe"},
        {"item": 1, "who": "b", "kind": "news", "harm": True, "safety": "unsafe"},
        {"item": 1, "who": "c", "kind": "news", "harm": True, "safety": "unsafe"},
        # item 2: a joke, annotators split (the edge allows both)
        {"item": 2, "who": "a", "kind": "joke", "harm": True, "safety": "safe"},
        {"item": 2, "who": "b", "kind": "joke", "harm": True, "safety": "unsafe"},
        {"item": 2, "who": "c", "kind": "joke", "harm": True, "safety": "safe"},
        # item 3: news, c calls it unsafe against the guideline (a violation)
        {"item": 3, "who": "a", "kind": "news", "harm": False, "safety": "safe"},
        {"item": 3, "who": "b", "kind": "news", "harm": False, "safety": "safe"},
        {"item": 3, "who": "c", "kind": "news", "harm": False, "safety": "unsafe"},
    ]
    r, d = _write(tmp_path, ARMS_RUBRIC, recs)
    rep = ag.agreement(rubricdsl.load(r).ir, [d])
    arms = [(a["arm"], a["items"], a["disagreement"]) for a in rep["arms"]]
    assert arms == [("joke", 1, 1.0), ("arm 3", 1, 1.0), ("arm 2", 1, 0.0)]  # ties in source order
    c = rep["annotators"]["c"]
    assert c["judgments"] == 3
    assert c["violation_rate"] == pytest.approx(1 / 3)
    # c against the others' majority: harm 3/3 (the others agree each time);
    # safety: item 1 yes, item 2 a tie of the others (not compared), item 3 no
    assert c["compared"] == 5 and c["agreement_with_majority"] == pytest.approx(4 / 5)
    assert rep["annotators"]["a"]["violation_rate"] == 0.0


# ---- errors ----------------------------------------------------------------------------------------------


def test_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "noitem.rubric").write_text('rubric "n" version "1"\nlabel v: bool\n', encoding="utf-8")
    (tmp_path / "d.jsonl").write_text('{"v": true}\n', encoding="utf-8")
    proc = cli("noitem.rubric", "d.jsonl", cwd=tmp_path)
    assert proc.returncode == 2 and "record" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli(str(DATA / "krippendorff2011.rubric"), "missing.jsonl", cwd=tmp_path)
    assert proc.returncode == 2 and "missing.jsonl: no such file" in proc.stderr
    proc = cli(str(DATA / "krippendorff2011.rubric"), str(DATA / "krippendorff2011.jsonl"), "--level", "nope=nominal")
    assert proc.returncode == 2 and "not a label" in proc.stderr
    proc = cli(str(DATA / "krippendorff2011.rubric"), str(DATA / "krippendorff2011.jsonl"), "--level", "score")
    assert proc.returncode == 2 and "LABEL=LEVEL" in proc.stderr


def test_unreadable_lines_are_counted_not_fatal(tmp_path: Path) -> None:
    lines = (DATA / "krippendorff2011.jsonl").read_text(encoding="utf-8").splitlines()
    lines.insert(3, "{broken")
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = cli(str(DATA / "krippendorff2011.rubric"), str(tmp_path / "d.jsonl"), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    assert rep["records"] == 42 and rep["unreadable"] == 1
    assert round(rep["labels"]["amount"]["alpha"], 3) == 0.849
