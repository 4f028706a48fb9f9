#!/usr/bin/env python3
"""Reading the elements of a JSON array file: rubricdsl's `ArrayReader` against ijson.

`rubric check` reads a JSON array file as a stream with its own reader
(`engine/reading.py`): a pretty-printed array, as annotation tools write it, is cut
into elements by finding each element's closing line, and each element is parsed by
orjson; any other layout goes by a general path that decodes one element at a time
from a window of text. The obvious alternative is ijson, an incremental JSON parser,
with its C backend (yajl2_c). This script times both over the same export, in one
run, best of N rounds, and prints elements per second and the ratio:

  ours (pretty)   -- ArrayReader over a pretty-printed Label Studio export (the usual case);
  ours (compact)  -- ArrayReader over the same elements, one per line (the general path);
  ijson           -- ijson.items(f, "item", use_float=True) over the pretty-printed file.

ijson gives neither the line where an element starts nor this project's unreadable
rules (a number beyond a double kept as written, a lone surrogate, NaN): what it is
timed doing here is less than what the reader does, so the comparison favours it.

    python bench/array_reader.py                     # 100,000 judgments (about 130 MB)
    python bench/array_reader.py --judgments 20000   # smoke test
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from export_scale import OUT_DIR, write_files  # noqa: E402

from rubricdsl.engine.reading import ArrayReader  # noqa: E402


def ours(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        for _line, _value, why in ArrayReader(f, str(path)):
            assert why is None, why
            n += 1
    return n


def with_ijson(path: Path) -> int:
    import ijson  # noqa: PLC0415

    n = 0
    with open(path, "rb") as f:
        for _value in ijson.items(f, "item", use_float=True):
            n += 1
    return n


def compact_copy(path: Path, out: Path) -> Path:
    """The same elements, one per line (`[\\n{...},\\n{...}\\n]`), written as a stream."""
    import orjson  # noqa: PLC0415

    dest = out / (path.stem + "-compact.json")
    if dest.exists():
        return dest
    tmp = dest.with_suffix(".tmp")
    with open(path, "rb") as f, open(tmp, "wb") as w:
        w.write(b"[\n")
        for i, (_line, value, _why) in enumerate(ArrayReader(f, str(path))):
            w.write((b",\n" if i else b"") + orjson.dumps(value))
        w.write(b"\n]\n")
    tmp.replace(dest)
    return dest


def best(fn, path: Path, rounds: int) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(rounds):
        t = time.perf_counter()
        n = fn(path)
        times.append(time.perf_counter() - t)
    return min(times), n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--judgments", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    out = OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory():
        export, _flat, n_tasks = write_files(args.judgments, out)
        compact = compact_copy(export, out)
        print(f"{export.name}: {export.stat().st_size / 1e6:.0f} MB, {n_tasks:,} elements; "
              f"{compact.name}: {compact.stat().st_size / 1e6:.0f} MB")
        t_ours, n1 = best(ours, export, args.rounds)
        t_compact, n2 = best(ours, compact, args.rounds)
        print(f"ours (pretty):  {t_ours:6.2f} s  {n1 / t_ours:>10,.0f} elements/s")
        print(f"ours (compact): {t_compact:6.2f} s  {n2 / t_compact:>10,.0f} elements/s")
        try:
            import ijson  # noqa: PLC0415
        except ImportError:
            print("ijson: not installed (pip install ijson) - nothing to compare with")
            return 0
        t_ijson, n3 = best(with_ijson, export, args.rounds)
        print(f"ijson ({ijson.backend}): {t_ijson:6.2f} s  {n3 / t_ijson:>10,.0f} elements/s")
        assert n1 == n2 == n3 == n_tasks
        print(f"ratio ours/ijson: pretty {t_ijson / t_ours:.1f}x, compact {t_ijson / t_compact:.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
