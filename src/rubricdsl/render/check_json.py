"""The machine formats of `rubric check`: `json` (one report object) and `jsonl` (one
finding per line, then a summary line), in the shape of `engine/report.py`'s models.

Findings arrive already encoded as JSON (orjson, where the checking happens, in the
worker processes of a parallel run) and are written to a binary stream. A writer has
`emit` (what the run hands each finding to), `encode` (how the run encodes a finding)
and `finish(stats)` (the rest of the report, once the run is over).
"""
from __future__ import annotations

from typing import Any, BinaryIO

import orjson

from rubricdsl.engine.findings import summary_dict

_BLOCK = 4096  # findings written at once


def _summary(stats: Any) -> dict:
    return summary_dict(stats.records, stats.counts, stats.by_severity, stats.items, stats.judgments, stats.skipped,
                        getattr(stats, "by_annotator", None))


class JsonWriter:
    """`--format json`: the rubric, the summary and the files, then the findings, one per
    line inside the document (readable, and written from the encoded pieces)."""

    encode = staticmethod(orjson.dumps)

    def __init__(self, out: BinaryIO, info: dict) -> None:
        self.out = out
        self.info = info
        self.encoded: list[bytes] = []
        self.emit = self.encoded.append

    def finish(self, stats: Any) -> None:
        encoded = self.encoded
        head = {"rubric": self.info, "summary": _summary(stats), "files": stats.files}
        w = self.out.write
        w(orjson.dumps(head, option=orjson.OPT_INDENT_2)[:-2] + b',\n  "findings": [')
        for i in range(0, len(encoded), _BLOCK):
            part = encoded[i:i + _BLOCK]
            w((b"\n    " if i == 0 else b",\n    ") + b",\n    ".join(part))
        w(b"\n  ]\n}\n" if encoded else b"]\n}\n")


class JsonlWriter:
    """`--format jsonl`: each finding on its line as it comes (in blocks), then a line
    `{"kind": "summary", ...}`. A run that stops early leaves whole lines and no summary."""

    encode = staticmethod(orjson.dumps)

    def __init__(self, out: BinaryIO, info: dict) -> None:
        self.info = info
        self.write = write = out.write
        buf: list[bytes] = []
        self.buf = buf

        def emit(b: bytes) -> None:
            buf.append(b)
            if len(buf) >= _BLOCK:
                write(b"\n".join(buf) + b"\n")
                buf.clear()

        self.emit = emit

    def finish(self, stats: Any) -> None:
        if self.buf:
            self.write(b"\n".join(self.buf) + b"\n")
            self.buf.clear()
        self.write(orjson.dumps({"kind": "summary", "rubric": self.info, "files": stats.files,
                                 "summary": _summary(stats)}) + b"\n")
