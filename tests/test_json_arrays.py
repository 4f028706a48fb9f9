"""JSON array files read as a stream: every element with the line where it starts,
whatever the layout and wherever the file is cut into windows; unreadable elements and
syntax errors said in the project's words; nothing lost, nothing invented."""
from __future__ import annotations

import gzip
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rubricdsl.core.values import HugeNumber
from rubricdsl.engine.reading import ARRAY_STOPS, ArrayReader, is_json_array, open_data

AFTER_END = "text after the end of the JSON array (a file that starts with `[` is read as one JSON array)"


def read(data: bytes, window: int = 7) -> list[tuple[int, object, str | None]]:
    stream = io.BufferedReader(io.BytesIO(data))
    assert is_json_array(stream)
    return list(ArrayReader(stream, "export.json", window=window))


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
                         st.floats(allow_nan=False, allow_infinity=False),
                         st.text(st.characters().filter(lambda c: not "\ud800" <= c <= "\udfff"), max_size=12))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)), max_leaves=12)
elements = st.lists(st.one_of(st.dictionaries(st.text(max_size=6), json_values, max_size=5), json_scalars),
                    max_size=12)
layouts = st.sampled_from([None, 0, 1, 2, 4, "\t"])


def build(items: list, indent, blank_lines: list[int], crlf: bool) -> tuple[bytes, list[int]]:
    """The text of an array of `items`, each dumped on its own with `indent`, and the
    line where each starts, counted while it is built."""
    out = ["["]
    lines = []
    nl = "\r\n" if crlf else "\n"
    for i, item in enumerate(items):
        out.append(nl * (1 + blank_lines[i % len(blank_lines)]) + "  ")
        lines.append("".join(out).count("\n") + 1)
        text = json.dumps(item, indent=indent, ensure_ascii=False)
        out.append(text.replace("\n", nl + "  ") + ("," if i < len(items) - 1 else ""))
    out.append(nl + "]" + nl)
    return "".join(out).encode(), lines


@settings(max_examples=150, deadline=None)
@given(items=elements, indent=layouts, blanks=st.lists(st.integers(0, 2), min_size=1, max_size=3),
       crlf=st.booleans(), window=st.sampled_from([1, 2, 3, 5, 8, 64, 1 << 16]), bom=st.booleans())
def test_every_element_is_read_with_the_line_it_starts_on(items, indent, blanks, crlf, window, bom) -> None:
    data, lines = build(items, indent, blanks, crlf)
    got = read((b"\xef\xbb\xbf" if bom else b"") + data, window)
    assert [line for line, _, _ in got] == lines
    for (_, value, why), item in zip(got, items):
        if isinstance(item, dict):
            assert why is None and value == json.loads(json.dumps(item))
        else:
            assert value is None and why is not None and why.endswith("not an object")


@settings(max_examples=100, deadline=None)
@given(items=st.lists(st.dictionaries(st.text(max_size=4), json_scalars, max_size=3), min_size=1, max_size=8),
       indent=layouts, cut=st.integers(0, 10_000), window=st.sampled_from([1, 4, 64]))
def test_a_cut_file_reads_what_it_holds_then_one_unreadable_finding(items, indent, cut, window) -> None:
    data, lines = build(items, indent, [0], False)
    cut = 1 + cut % (len(data) - 3)  # keep the `[`, lose at least the closing `]`
    got = read(data[:cut], window)
    *whole, last = got
    assert last[1] is None and last[2] is not None  # the error that ends the file
    assert all(why is None for _, _, why in whole)
    assert [v for _, v, _ in whole] == items[:len(whole)]
    assert [line for line, _, _ in whole] == lines[:len(whole)]
    assert last[0] == data[:cut].count(b"\n") + 1 or last[0] <= data[:cut].count(b"\n") + 1


@pytest.mark.parametrize("window", [3, 1 << 20])
@pytest.mark.parametrize(("text", "expected"), [
    (b"[]", []),
    (b"  \n[\n]\n\n", []),
    (b'[{"a": 1}, 2, "x", [3], null]',
     [(1, {"a": 1}, None), (1, None, "a JSON integer, not an object"), (1, None, "a JSON string, not an object"),
      (1, None, "a JSON array, not an object"), (1, None, "a JSON null, not an object")]),
    (b'[{"a": 1},\n{"a": 2}\n', [(1, {"a": 1}, None), (2, {"a": 2}, None), (3, None, "the JSON array ends early: no closing `]`; " + ARRAY_STOPS)]),
    (b'[{"a": 1},\n{"a": 2},\n]', [(1, {"a": 1}, None), (2, {"a": 2}, None), (3, None, "a comma before `]`; " + ARRAY_STOPS)]),
    (b'[{"a": 1}]\n[{"a": 2}]\n', [(1, {"a": 1}, None), (2, None, f"{AFTER_END}; {ARRAY_STOPS}")]),
    (b'[\n{"a": 1},\n{"a": NaN}\n]', [(2, {"a": 1}, None), (3, None, "NaN is not JSON; " + ARRAY_STOPS)]),
    (b'[\n{"a": 1}\n{"a": 2}]', [(2, {"a": 1}, None), (3, None, "expected `,` or `]` after an element of the JSON array, found `{`; " + ARRAY_STOPS)]),
    (b'[\n  {\n    "a": "x\xffy"\n  }\n]', [(3, None, "invalid UTF-8; " + ARRAY_STOPS)]),
    (b'[\n  {\n    "a": "\\ud800"\n  },\n  {\n    "b": 1\n  }\n]',
     [(2, None, "a string holds a lone surrogate \\ud800 (half of a pair)"), (5, {"b": 1}, None)]),
    (b'[\n  {\n    "a": tru\n  }\n]', [(3, None, "unexpected `t` at column 10; " + ARRAY_STOPS)]),
])
def test_unreadable_elements_and_errors(text: bytes, expected: list, window: int) -> None:
    assert read(text, window) == expected


def test_numbers_read_as_in_jsonl_files() -> None:
    [(_, value, why)] = read(b'[{"n": 18446744073709551616, "m": -9223372036854775808, "x": 3.0}]', 4)
    assert why is None
    assert value == {"n": 18446744073709551616.0, "m": -(2**63), "x": 3.0}
    assert isinstance(value["n"], float) and isinstance(value["m"], int)


@pytest.mark.parametrize("window", [2, 1 << 20])
def test_a_number_beyond_a_double_is_read_and_kept_as_written(window: int) -> None:
    [(line, value, why)] = read(b'[\n  {\n    "b": 1e400\n  }\n]', window)
    assert (line, why) == (2, None)
    assert isinstance(value["b"], HugeNumber) and value["b"].text == "1e400"


def test_a_duplicate_key_keeps_its_last_value() -> None:
    assert read(b'[\n  {\n    "a": 1,\n    "a": 2\n  }\n]', 5) == [(2, {"a": 2}, None)]


@pytest.mark.parametrize(("head", "is_array"), [
    (b"[{}]", True), (b"\xef\xbb\xbf \n\t[", True), (b'{"a": 1}\n', False), (b"", False), (b"\n\n", False),
    (b" " * 5000 + b"[]", True),
])
def test_an_array_file_is_known_by_its_first_non_blank_character(head: bytes, is_array: bool) -> None:
    stream = io.BufferedReader(io.BytesIO(head))
    assert is_json_array(stream) is is_array
    assert stream.read() == head  # nothing consumed


def test_a_gzipped_array_is_read_as_a_stream(tmp_path) -> None:
    items = [{"id": i, "annotations": [{"result": []}] * (i % 3)} for i in range(500)]
    path = tmp_path / "export.json.gz"
    path.write_bytes(gzip.compress(json.dumps(items, indent=2).encode()))
    stream, name, _, _ = open_data(str(path))
    with stream:
        assert is_json_array(stream)
        got = list(ArrayReader(stream, name, window=1000))
    assert [v for _, v, _ in got] == items


class _Counting(io.RawIOBase):
    """A stream that counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # noqa: ANN001
        n = min(len(b), len(self.data) - self.pos)
        b[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n


@pytest.mark.parametrize("layout", ["one per line", "pretty", "one line"])
def test_reading_stays_a_few_windows_ahead_of_the_elements_whatever_the_layout(layout: str) -> None:
    items = [{"id": i, "text": "x" * 40, "labels": {"a": [1, 2]}} for i in range(4000)]
    if layout == "one per line":  # the first element opens a line, but no line closes one
        data = ("[\n" + ",\n".join(json.dumps(t) for t in items) + "\n]\n").encode()
    elif layout == "pretty":
        data = (json.dumps(items, indent=2) + "\n").encode()
    else:
        data = json.dumps(items).encode()
    window = 1024
    raw = _Counting(data)
    ahead = []
    got = []
    for line, value, why in ArrayReader(raw, "export.json", window=window):
        ahead.append(raw.pos - data.find(b'"id": %d,' % value["id"]))
        got.append((value, why))
    assert [v for v, _ in got] == items and all(w is None for _, w in got)
    assert max(ahead) <= 6 * window  # never the whole file (about 300 KB) in memory
