"""`check -j` on a JSON array file: a pretty-printed export is split between processes
at element boundaries, and whatever the file holds (syntax errors, elements that are
not objects, another layout part-way, a split guessed wrong) the findings, their order,
their lines and every count are those of reading the file in one process."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rubricdsl
from rubricdsl.engine import runtime
from rubricdsl.engine.reading import array_parts

RUBRIC = '''rubric "export" version "1"
record {
  id        = id
  each      = annotations
  annotator = @completed_by
  judgment  = @id
  skip when cancelled
}
input text: text from data.text
input cancelled: bool from @was_cancelled optional
label sentiment: enum {positive, negative, neutral} from @result[from_name = "sentiment"].value.choices[0]
decide sentiment {
  when text contains "love" -> positive
  when text contains "hate" -> negative
}
consensus sentiment { min annotators 2  min agreement 0.67 }
'''




def ann(i: int, who: int, choice: str | None, **extra) -> dict:
    res = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [choice]}}] if choice else []
    return {"id": i, "completed_by": who, "result": res, **extra}


TASKS = [
    {"id": 1, "data": {"text": "I love this"},
     "annotations": [ann(1, 1, "positive"), ann(2, 2, "negative"), ann(3, 3, None, was_cancelled=True)]},
    {"id": 2, "data": {"text": "I hate Mondays"}, "annotations": [ann(1, 1, "positive"), ann(2, 2, "negative")]},
    {"id": 3, "data": {"text": "mild weather"}, "annotations": [ann(1, 1, "neutral"), ann(2, 2, "neutral")]},
    {"id": 5, "data": {"text": "nothing"}, "annotations": []},
]


@pytest.fixture(scope="module")
def rubric() -> rubricdsl.Rubric:
    return rubricdsl.loads(RUBRIC, "export.rubric")


def run(rubric: rubricdsl.Rubric, path: Path, jobs: int, chunk: int, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(runtime, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(runtime, "CHUNK_BYTES", chunk)
    found: list[dict] = []
    stats = runtime.run(rubric.compiled, [str(path)], found.append, jobs=jobs)
    return found, (stats.records, stats.judgments, stats.skipped, dict(stats.counts), stats.items)


def tasks(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        t = json.loads(json.dumps(TASKS[rng.randrange(len(TASKS))]))
        t["id"] = i
        for j, a in enumerate(t["annotations"]):
            a["id"] = i * 10 + j
        out.append(t)
    return out


def pretty(items: list) -> str:
    return json.dumps(items, indent=2) + "\n"


def test_the_parts_of_a_pretty_printed_file_are_whole_elements(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(pretty(tasks(300, 1)), encoding="utf-8")
    data = path.read_bytes()
    parts = array_parts(str(path), 4096)
    assert parts is not None and len(parts) > 5
    assert parts[0][0] == 0 and parts[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))  # contiguous, nothing left out
    for s, e in parts[:-1]:
        assert data[s:e].endswith(b"\n  },")
        assert data[e:].startswith(b"\n  {")


@pytest.mark.parametrize("text", [
    '[{"a": 1},\n{"a": 2}]', '[\n  x {"a": 1}]', '[1, 2]', '{"a": 1}\n', '[\n  x\n]', '', '[\n  [1]\n]',
])
def test_a_file_not_laid_out_one_element_per_block_is_not_split(tmp_path: Path, text: str) -> None:
    path = tmp_path / "export.json"
    path.write_text(text, encoding="utf-8")
    assert array_parts(str(path), 1) is None


def test_a_large_export_is_read_in_parts_with_the_same_findings(rubric, tmp_path, monkeypatch) -> None:
    path = tmp_path / "export.json"
    path.write_text(pretty(tasks(400, 2)), encoding="utf-8")
    parts: list = []
    rests: list = []
    monkeypatch.setattr(runtime, "array_parts", lambda *a: parts.append(array_parts(*a)) or parts[-1])
    monkeypatch.setattr(runtime, "array_rest", lambda *a: rests.append(a))
    one = run(rubric, path, 1, 8192, monkeypatch)
    two = run(rubric, path, 2, 8192, monkeypatch)
    assert two == one
    assert len(parts) == 1 and len(parts[0]) > 10 and rests == []  # split, each part read by a worker
    assert one[1][0] == 400 and one[1][1] > 400  # every task, and judgments in them
    assert len(one[0]) > 100


# What a file may hold besides well-formed tasks: each breaks the layout or the JSON at
# one element, so that the parts before and after it still split cleanly.
DEFECTS = {
    "not an object": lambda t: "  5",
    "a string": lambda t: '  "x"',
    "compact": lambda t: "  " + json.dumps(t),
    "syntax error": lambda t: '  {\n    "id": 1,\n    oops\n  }',
    "deeper layout": lambda t: "    " + json.dumps(t, indent=4).replace("\n", "\n    "),
    "a closing line inside": lambda t: '  {\n    "a": {\n  },\n    "b": 1\n  }',
    "NaN": lambda t: '  {\n    "id": NaN\n  }',
    "lone surrogate": lambda t: '  {\n    "id": "\\ud800"\n  }',
}


def with_defects(items: list[dict], defects: list[tuple[int, str]], ending: str) -> str:
    blocks = [json.dumps(t, indent=2).replace("\n", "\n  ") for t in items]
    blocks = ["  " + b for b in blocks]
    for at, kind in defects:
        blocks[at % len(blocks)] = DEFECTS[kind](items[at % len(items)])
    return "[\n" + ",\n".join(blocks) + ending


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(sorted(DEFECTS))), max_size=3),
       st.sampled_from(["\n]\n", "\n]", "\n", "\n] trailing\n", ",\n]\n"]),
       st.sampled_from([512, 2048, 9000]), st.booleans(), st.booleans())
def test_any_file_reads_in_parts_as_in_one_process(defects, ending, chunk, bom, crlf) -> None:
    import tempfile  # noqa: PLC0415

    rubric = rubricdsl.loads(RUBRIC, "export.rubric")
    text = with_defects(tasks(60, len(defects)), defects, ending)
    if crlf:
        text = text.replace("\n", "\r\n")
    with tempfile.TemporaryDirectory() as d, pytest.MonkeyPatch.context() as mp:
        path = Path(d) / "export.json"
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
        assert run(rubric, path, 2, chunk, mp) == run(rubric, path, 1, chunk, mp)


def test_a_syntax_error_in_a_middle_part_stops_the_file_there(rubric, tmp_path, monkeypatch) -> None:
    items = tasks(200, 3)
    text = with_defects(items, [(100, "syntax error")], "\n]\n")
    path = tmp_path / "export.json"
    path.write_text(text, encoding="utf-8")
    rests: list = []
    real = runtime.array_rest
    monkeypatch.setattr(runtime, "array_rest", lambda stream, *a: rests.append(stream.tell()) or real(stream, *a))
    found, counts = run(rubric, path, 2, 2048, monkeypatch)
    assert len(rests) == 1 and 0 < rests[0] < path.stat().st_size  # read on from the part that stopped
    assert (found, counts) == run(rubric, path, 1, 2048, monkeypatch)
    unreadable = [f for f in found if f["kind"] == "unreadable"]
    assert len(unreadable) == 1 and unreadable[0]["message"].endswith("the rest of the file is not read")
    assert unreadable[0]["line"] == text.split("oops")[0].count("\n") + 1
    assert counts[0] == 101  # the 100 tasks before it, and the unreadable end
