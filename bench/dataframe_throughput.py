#!/usr/bin/env python3
"""Throughput of `Rubric.check_dataframe` and `Rubric.check_arrow` against `rubric check`
on the same records as JSONL, measured in the same run.

The records and the rubric are those of bench/formats_throughput.py (the generator of
bench/check_throughput.py, its seed; records of one type per column, nulls left out),
written as JSONL and built as frames: a pandas DataFrame with dotted columns
(`pd.json_normalize`: `labels.safety`), a pandas DataFrame with the nested objects as
cells (`pd.DataFrame(records)`), a polars DataFrame and a pyarrow Table (struct
columns). `rubric check RUBRIC FILE --format jsonl --output F` runs as a subprocess
(start-up and writing included); each frame is checked in this process (the frame
built beforehand, the findings frame built within). Best of N each, by wall-clock time
and by CPU time (the subprocess's, from `getrusage`; this process's, from
`process_time`), the second being the fairer figure on a machine others share. The
script prints records/s, the ratio to `rubric check`, and whether the findings agree per
kind (a disagreement exits 1). Needs pandas, polars and pyarrow
(`pip install 'rubricdsl[pandas,polars,parquet]'`).

    python bench/dataframe_throughput.py                   # 200,000 records, best of 3
    python bench/dataframe_throughput.py --records 50000 --repeat 2
"""
from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import check_throughput as ct  # noqa: E402  (the rubric, running the command, counting findings)
import formats_throughput as ft  # noqa: E402  (the records of one type per column)


def _children_cpu() -> float:
    """CPU seconds (user and system) of this process's finished children."""
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=200_000, help="records to generate (default 200000)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs each (default 3)")
    ap.add_argument("--seed", type=int, default=20240611, help="generator seed (default 20240611)")
    opts = ap.parse_args(argv)
    if opts.records < 10 or opts.repeat < 1:
        ap.error("--records must be >= 10 and --repeat >= 1")
    try:
        import pandas as pd
        import polars as pl
        import pyarrow as pa
    except ImportError as e:
        print(f"this benchmark needs pandas, polars and pyarrow ({e}): "
              "pip install 'rubricdsl[pandas,polars,parquet]'", file=sys.stderr)
        return 2
    import rubricdsl

    cmd, env, _ = ct.rubric_command()
    usable, has_output, why = ct.check_available(cmd, env)
    if not usable:
        print(f"rubric check is not available: {why}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="rubric-frames-"))
    try:
        t0 = time.perf_counter()
        recs, skipped = ft.records(opts.records, opts.seed)
        rubric_path = work / "bench.rubric"
        rubric_path.write_text(ct.RUBRIC, encoding="utf-8")
        jsonl = work / "records.jsonl"
        ft.write_jsonl(jsonl, recs)
        n = len(recs)
        frames = {
            "pandas, dotted columns": ("check_dataframe", pd.json_normalize(recs)),
            "pandas, nested cells": ("check_dataframe", pd.DataFrame(recs)),
            "polars": ("check_dataframe", pl.DataFrame(recs, infer_schema_length=None)),
            "pyarrow Table": ("check_arrow", pa.Table.from_pylist(recs)),
        }
        del recs
        print(f"{n:,} records ({skipped} left out: a type unlike the rest of their column), "
              f"JSONL and frames made in {time.perf_counter() - t0:.1f}s")
        rubric = rubricdsl.load(rubric_path)
        rubric.compiled  # noqa: B018  (compiled once, outside the timings; `rubric check` reads its cache)
        best: dict[str, float] = {}
        cpu: dict[str, float] = {}
        kinds: dict[str, Counter] = {}
        for _ in range(opts.repeat):
            out = work / "findings.jsonl"
            c0 = _children_cpu()
            t = ct.run_check(cmd, env, has_output, rubric_path, jsonl, out)
            c = _children_cpu() - c0
            best["rubric check (JSONL)"] = min(best.get("rubric check (JSONL)", t), t)
            cpu["rubric check (JSONL)"] = min(cpu.get("rubric check (JSONL)", c), c)
            kinds["rubric check (JSONL)"], _, summary, _ = ct.count_findings(out)
            if summary is not None and summary.get("records") != n:
                print(f"rubric check: {summary.get('records')} records read, not {n}", file=sys.stderr)
                return 1
            for name, (method, frame) in frames.items():
                t1, c1 = time.perf_counter(), time.process_time()
                res = getattr(rubric, method)(frame)
                t, c = time.perf_counter() - t1, time.process_time() - c1
                best[name] = min(best.get(name, t), t)
                cpu[name] = min(cpu.get(name, c), c)
                if res.summary.records != n:
                    print(f"{name}: {res.summary.records} records read, not {n}", file=sys.stderr)
                    return 1
                column = res.findings["kind"]
                kinds[name] = Counter(column.to_pylist() if hasattr(column, "to_pylist") else column.to_list())
        base = n / best["rubric check (JSONL)"]
        base_cpu = n / cpu["rubric check (JSONL)"]
        print(f"{'input':24} {'wall s':>7} {'records/s':>10} {'vs check':>8}   {'CPU s':>6} {'records/s':>10} "
              f"{'vs check':>8}")
        for name, t in best.items():
            rate, rate_cpu = n / t, n / cpu[name]
            print(f"{name:24} {t:7.2f} {rate:10,.0f} {rate / base:7.2f}x   {cpu[name]:6.2f} {rate_cpu:10,.0f} "
                  f"{rate_cpu / base_cpu:7.2f}x")
        first = kinds["rubric check (JSONL)"]
        print("findings per kind:", dict(sorted(first.items())))
        wrong = [name for name, k in kinds.items() if k != first]
        if wrong:
            for name in wrong:
                print(f"  {name}:", dict(sorted(kinds[name].items())))
            print("the findings per kind DISAGREE between rubric check and the frames", file=sys.stderr)
            return 1
        print("the findings per kind agree between rubric check and every frame")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
