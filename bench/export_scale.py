#!/usr/bin/env python3
"""A Label Studio export checked as it is, next to the same judgments flattened to JSONL.

Writes (deterministically, streaming, never holding the export in memory):

  export.json   -- a pretty-printed Label Studio JSON export (`json.dump(tasks, f,
                   indent=2)`, as the tool writes it): tasks with 2-4 annotations each,
                   every annotation a `result` list of controls found by `from_name`,
                   with the fields Label Studio writes around them;
  flat.jsonl    -- the same judgments, one JSONL line per annotation ({"id", "data",
                   "annotation"}), what a user's flattening script would give;

then runs, as subprocesses, best of N rounds each:

  (a) export  -- `rubric check EXPORT_RUBRIC export.json --format jsonl -o F`
                 (`each = annotations`, `@` paths, selectors);
  (b) flat    -- `rubric check FLAT_RUBRIC flat.jsonl --format jsonl -o F`
                 (the same rubric with `annotation.` paths instead of `@` ones).

and prints judgments per second of both, their ratio (target: export >= 0.7x flat) and
the peak RSS of the export run, summed over its processes (target: under 300 MB, whatever
the file's size). `--jobs N` passes `-j N` to both runs (default: the CLI's, one per CPU).

Sanity: both runs must give the same findings, counted per (kind, rule or label, task,
judgment): a benchmark comparing unequal work is worthless, so a mismatch exits 1.

    python bench/export_scale.py                        # 1,000,000 judgments (about 1.2 GB)
    python bench/export_scale.py --judgments 20000      # smoke test
    python bench/export_scale.py --keep                 # keep/reuse the files in bench/out/
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "out"  # gitignored
GEN_VERSION = 1
TARGET_RATIO = 0.7
TARGET_RSS_MB = 300

EXPORT_RUBRIC = r'''rubric "bench-label-studio-toxicity" version "1.0"

record {
  id        = id
  each      = annotations
  annotator = @completed_by
  judgment  = @id
}

input text: text from data.text
input source: enum {forum, chat, review} from data.source
input flagged: bool from data.flagged optional

label toxic: enum {toxic, not_toxic} from @result[from_name = "toxic"].value.choices[0]
label severity: int 1..5 from @result[from_name = "severity"].value.rating required when toxic == toxic
label category: set {hate, harassment, violence, other} from @result[from_name = "category"].value.choices optional

decide toxic {
  when flagged -> toxic
  when not flagged and source == review -> not_toxic
  when source == chat and text contains "!" -> toxic, not_toxic
  edge insult "an insult in quotes" when text matches /"[^"]*idiot[^"]*"/ -> toxic, not_toxic
}

rule categorised "a toxic judgment names its category" severity warning {
  when toxic == toxic
  require category is present and category is not empty
}

escalate safety_team high_severity "severity 5 needs a second look" {
  when severity == 5
}

consensus toxic { min annotators 2  min agreement 0.6 }
'''


def flat_rubric() -> str:
    text = EXPORT_RUBRIC.replace("@", "annotation.")
    text = text.replace("  each      = annotations\n", "").replace("  judgment  = annotation.id\n", "")
    text = text.replace("  id        = id\n", "  id        = id\n  item      = id\n")
    return text


TEXTS = ["I love this place, great service", "what an idiot, honestly!", 'he said "you idiot" and left',
         "this is fine", "shut up!", "the review is balanced and fair", "terrible, never again",
         "you people are all the same!", "thanks for the help", "stop it"]


def tasks(n_judgments: int, seed: int = 7):
    """Tasks until `n_judgments` annotations are written; each task as Label Studio writes it."""
    rng = random.Random(seed)
    made = 0
    tid = 0
    while made < n_judgments:
        tid += 1
        k = min(rng.randint(2, 4), n_judgments - made)
        anns = []
        for j in range(k):
            aid = tid * 10 + j
            toxic = rng.choice(["toxic", "not_toxic"]) if rng.random() < 0.5 else "not_toxic"
            result = [{"value": {"choices": [toxic]}, "id": f"t{aid}", "from_name": "toxic", "to_name": "text",
                       "type": "choices", "origin": "manual"}]
            if toxic == "toxic" and rng.random() < 0.95:
                result.append({"value": {"rating": rng.randint(1, 5)}, "id": f"s{aid}", "from_name": "severity",
                               "to_name": "text", "type": "rating", "origin": "manual"})
            if toxic == "toxic" and rng.random() < 0.8:
                result.append({"value": {"choices": rng.sample(["hate", "harassment", "violence", "other"], 1)},
                               "id": f"c{aid}", "from_name": "category", "to_name": "text", "type": "choices",
                               "origin": "manual"})
            anns.append({
                "id": aid, "completed_by": 1 + (tid + j) % 12, "result": result, "was_cancelled": False,
                "ground_truth": False, "created_at": "2024-05-02T10:11:12.123456Z",
                "updated_at": "2024-05-02T10:12:13.654321Z", "draft_created_at": None,
                "lead_time": round(rng.uniform(2, 90), 3), "prediction": {}, "result_count": 0,
                "unique_id": f"{rng.getrandbits(64):016x}-{rng.getrandbits(32):08x}", "import_id": None,
                "last_action": None, "task": tid, "project": 3, "updated_by": 1 + (tid + j) % 12,
                "parent_prediction": None, "parent_annotation": None, "last_created_by": None})
        made += k
        yield {
            "id": tid, "annotations": anns, "file_upload": "b1c2d3e4-comments.json", "drafts": [], "predictions": [],
            "data": {"text": rng.choice(TEXTS), "source": rng.choice(["forum", "chat", "review"]),
                     **({"flagged": rng.random() < 0.2} if rng.random() < 0.7 else {})},
            "meta": {}, "created_at": "2024-05-01T09:00:00.000000Z", "updated_at": "2024-05-02T10:12:13.654321Z",
            "inner_id": tid, "total_annotations": k, "cancelled_annotations": 0, "total_predictions": 0,
            "comment_count": 0, "unresolved_comment_count": 0, "last_comment_updated_at": None, "project": 3,
            "updated_by": 1, "comment_authors": []}


def write_files(n: int, out: Path) -> tuple[Path, Path, int]:
    export, flat = out / f"export-{n}-v{GEN_VERSION}.json", out / f"flat-{n}-v{GEN_VERSION}.jsonl"
    if export.exists() and flat.exists():
        n_tasks = sum(1 for _ in tasks(n))
        return export, flat, n_tasks
    tmp_e, tmp_f = export.with_suffix(".tmp"), flat.with_suffix(".tmp")
    n_tasks = 0
    with open(tmp_e, "w", encoding="utf-8") as fe, open(tmp_f, "wb") as ff:
        fe.write("[")
        for i, task in enumerate(tasks(n)):
            n_tasks += 1
            fe.write(("," if i else "") + "\n  " + json.dumps(task, indent=2).replace("\n", "\n  "))
            for ann in task["annotations"]:
                ff.write(orjson.dumps({"id": task["id"], "data": task["data"], "annotation": ann}) + b"\n")
        fe.write("\n]\n")
    tmp_e.replace(export)
    tmp_f.replace(flat)
    return export, flat, n_tasks


def rubric_cmd() -> list[str]:
    exe = shutil.which("rubric")
    return [exe] if exe else [sys.executable, "-m", "rubricdsl"]


def tree_rss_mb(pid: int) -> float:
    """The resident memory of a process and all its descendants now, in MB (Linux /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents[int(d)] = int(fields[1])
        rss[int(d)] = int(fields[21])
    tree, grew = {pid}, True
    while grew:
        more = {p for p, pp in parents.items() if pp in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(rss.get(p, 0) for p in tree) * os.sysconf("SC_PAGE_SIZE") / 1e6


def run(rubric: Path, data: Path, out: Path, jobs: int | None) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB of the whole process tree, sampled, exit status) of one
    `rubric check`: with -j the workers' memory counts too."""
    start = time.perf_counter()
    extra = ["-j", str(jobs)] if jobs is not None else []
    proc = subprocess.Popen([*rubric_cmd(), "check", str(rubric), str(data), "--format", "jsonl", "-o", str(out),
                             *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while proc.poll() is None:
        try:
            peak = max(peak, tree_rss_mb(proc.pid))
        except OSError:
            pass
        time.sleep(0.05)
    took = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0, 1):
        sys.exit(f"rubric check {data.name} failed (exit {proc.returncode}): {err.strip()}")
    return took, peak, proc.returncode


def findings(path: Path) -> Counter:
    """Findings counted per (kind, rule or label, task): the same in both runs."""
    seen: Counter = Counter()
    with open(path, "rb") as f:
        for line in f:
            d = orjson.loads(line)
            if "kind" not in d:
                continue  # the summary line
            seen[(d["kind"], d.get("rule") or d.get("label") or d.get("target"), str(d.get("record")))] += 1
    return seen


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--judgments", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=None, help="pass -j N to both runs (default: the CLI's default)")
    ap.add_argument("--keep", action="store_true", help="keep and reuse the generated files in bench/out/")
    args = ap.parse_args()
    out = OUT_DIR if args.keep else Path(tempfile.mkdtemp(prefix="rubric-export-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        export, flat, n_tasks = write_files(args.judgments, out)
        print(f"files: {export.name} {export.stat().st_size / 1e9:.2f} GB ({n_tasks:,} tasks, "
              f"{args.judgments:,} judgments), {flat.name} {flat.stat().st_size / 1e9:.2f} GB "
              f"[{time.perf_counter() - t:.1f} s]")
        r_export, r_flat = out / "export.rubric", out / "flat.rubric"
        r_export.write_text(EXPORT_RUBRIC, encoding="utf-8")
        r_flat.write_text(flat_rubric(), encoding="utf-8")
        best_e = best_f = float("inf")
        rss_e = rss_f = 0.0
        for _ in range(args.repeat):
            te, me, _ = run(r_export, export, out / "export-findings.jsonl", args.jobs)
            tf, mf, _ = run(r_flat, flat, out / "flat-findings.jsonl", args.jobs)
            best_e, best_f = min(best_e, te), min(best_f, tf)
            rss_e, rss_f = max(rss_e, me), max(rss_f, mf)
        fe = findings(out / "export-findings.jsonl")
        ff = findings(out / "flat-findings.jsonl")
        n = args.judgments
        print(f"export path: {best_e:7.2f} s  {n / best_e:>12,.0f} judgments/s  peak RSS {rss_e:7.1f} MB")
        print(f"flat path:   {best_f:7.2f} s  {n / best_f:>12,.0f} judgments/s  peak RSS {rss_f:7.1f} MB")
        ratio = best_f / best_e
        print(f"ratio export/flat: {ratio:.2f}x (target >= {TARGET_RATIO}x); "
              f"export peak RSS {rss_e:.0f} MB (target < {TARGET_RSS_MB} MB)")
        if fe != ff:
            print("MISMATCH: the two runs found different things:", file=sys.stderr)
            for key in sorted(set(fe) | set(ff), key=str)[:20]:
                if fe[key] != ff[key]:
                    print(f"  {key}: export {fe[key]}, flat {ff[key]}", file=sys.stderr)
            return 1
        print(f"findings equal per kind, name and task: {sum(fe.values()):,} findings")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
