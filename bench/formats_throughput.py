#!/usr/bin/env python3
"""Throughput of `rubric check` by data format: JSONL, CSV and Parquet.

The records and the rubric are those of bench/check_throughput.py (its generator, its
seed), written three ways: JSONL, CSV with dotted column names (`labels.safety`, a
list as JSON text) and Parquet (struct columns, one row group per 65,536 rows). A
Parquet column holds one type, so the few records whose `confidence` or `satire` is of
another type than the rest of its column (a float or a string among integers, a
string among booleans) are left out of all three files, and a null value is left out
of the record (as an empty cell and a Parquet null are): all three files hold the same
records. Each file is checked by `python -m rubricdsl check RUBRIC FILE --format jsonl
--output F` as a subprocess, best of N; the script prints records/s for each format,
the ratio to JSONL, and whether the findings agree per kind (a disagreement exits 1).
Parquet needs pyarrow (`pip install 'rubricdsl[parquet]'`).

    python bench/formats_throughput.py                   # 500,000 records, best of 3
    python bench/formats_throughput.py --records 100000 --repeat 2
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import check_throughput as ct  # noqa: E402  (the generator, the rubric, running the command)

COLUMNS = ["id", "annotator", "data.prompt", "data.response", "data.domain", "labels.safety", "labels.harm",
           "labels.confidence", "labels.satire", "labels.rationale"]
ROW_GROUP = 1 << 16


def records(n: int, seed: int) -> tuple[list[dict], int]:
    """The generator's records, those of one type per column, nulls left out; and how
    many were left out."""
    rng = random.Random(seed)
    width = max(6, len(str(n)))
    out, skipped = [], 0
    for i in range(1, n + 1):
        r = ct._record(rng, i, width)
        labels = r.get("labels", {})
        if type(labels.get("confidence", 0)) is not int or type(labels.get("satire", False)) is not bool:
            skipped += 1
            continue
        for part in (r, r.get("data", {}), labels):
            for k in [k for k, v in part.items() if v is None]:
                del part[k]
        out.append(r)
    return out, skipped


def write_jsonl(path: Path, recs: list[dict]) -> None:
    with open(path, "wb") as f:
        for r in recs:
            f.write(orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE))


def write_csv(path: Path, recs: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for r in recs:
            row = []
            for col in COLUMNS:
                v: object = r
                for step in col.split("."):
                    v = v.get(step) if isinstance(v, dict) else None
                if v is None:
                    row.append("")
                elif isinstance(v, bool):
                    row.append("true" if v else "false")
                elif isinstance(v, (list, dict)):
                    row.append(json.dumps(v))
                else:
                    row.append(str(v))
            w.writerow(row)


def write_parquet(path: Path, recs: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.Table.from_pylist(recs[:ROW_GROUP]).schema
    with pq.ParquetWriter(path, schema) as w:
        for start in range(0, len(recs), ROW_GROUP):
            w.write_table(pa.Table.from_pylist(recs[start:start + ROW_GROUP], schema=schema))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=500_000, help="records to generate (default 500000)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs per format (default 3)")
    ap.add_argument("--seed", type=int, default=20240611, help="generator seed (default 20240611)")
    opts = ap.parse_args(argv)
    if opts.records < 10 or opts.repeat < 1:
        ap.error("--records must be >= 10 and --repeat >= 1")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        print("Parquet needs pyarrow: pip install 'rubricdsl[parquet]'", file=sys.stderr)
        return 2
    cmd, env, _ = ct.rubric_command()
    usable, has_output, why = ct.check_available(cmd, env)
    if not usable:
        print(f"rubric check is not available: {why}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="rubric-formats-"))
    try:
        t0 = time.perf_counter()
        recs, skipped = records(opts.records, opts.seed)
        rubric = work / "bench.rubric"
        rubric.write_text(ct.RUBRIC, encoding="utf-8")
        files = {"jsonl": work / "records.jsonl", "csv": work / "records.csv", "parquet": work / "records.parquet"}
        write_jsonl(files["jsonl"], recs)
        write_csv(files["csv"], recs)
        write_parquet(files["parquet"], recs)
        n = len(recs)
        del recs
        print(f"{n:,} records ({skipped} left out: a type unlike the rest of their column), "
              f"written in {time.perf_counter() - t0:.1f}s")
        best: dict[str, float] = {}
        kinds = {}
        for _ in range(opts.repeat):
            for fmt, path in files.items():
                out = work / f"findings-{fmt}.jsonl"
                t = ct.run_check(cmd, env, has_output, rubric, path, out)
                best[fmt] = min(best.get(fmt, t), t)
                kinds[fmt], _, summary, _ = ct.count_findings(out)
                if summary is not None and summary.get("records") != n:
                    print(f"{fmt}: {summary.get('records')} records read, not {n}", file=sys.stderr)
                    return 1
        base = n / best["jsonl"]
        print(f"{'format':8} {'size MB':>8} {'best s':>7} {'records/s':>10} {'vs JSONL':>8}")
        for fmt, path in files.items():
            rate = n / best[fmt]
            print(f"{fmt:8} {path.stat().st_size / 1e6:8.1f} {best[fmt]:7.2f} {rate:10,.0f} {rate / base:7.2f}x")
        agree = kinds["jsonl"] == kinds["csv"] == kinds["parquet"]
        print("findings per kind:", dict(sorted(kinds["jsonl"].items())))
        if not agree:
            for fmt in ("csv", "parquet"):
                print(f"  {fmt}:", dict(sorted(kinds[fmt].items())))
            print("the findings per kind DISAGREE between formats", file=sys.stderr)
            return 1
        print("the findings per kind agree across the three formats")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
