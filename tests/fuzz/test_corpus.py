"""The regression corpus: rubrics that once crashed the language layer (deep nesting,
long operand chains, numbers beyond a double, surrogates, very large rubrics), each run
through `rubric check`, `rubric lint` and `rubric fmt --check` in-process.

A case either compiles or gets a positioned diagnostic with its expected code; never
an internal error, never a traceback. Small cases are files in tests/fuzz/corpus/
(their first line says `# corpus: compiles` or `# corpus: expect RBxxx`); the large
ones are generated below.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pytest

from tests.helpers import cli_runner

CORPUS = Path(__file__).resolve().parent / "corpus"
HEAD = 'rubric "r" version "1"\ninput a: bool from a\nlabel ok: bool from ok\n'
BIG = "1" + "0" * 400
RECORD = '{"a": true, "ok": true, "n": 1, "s": "x", "e": "v1", "p": "z"}\n'

def _gen_chain(n: int) -> str:
    return HEAD + 'rule r "m" {\n  require ' + " and ".join(["a"] * n) + "\n}\n"


def _gen_parens(depth: int) -> str:
    return HEAD + 'rule r "m" {\n  require ' + "(a and " * depth + "ok" + ")" * depth + "\n}\n"


GENERATED: dict[str, tuple[Callable[[], str], str | None]] = {
    "and_3000": (lambda: _gen_chain(3000), None),
    "lets_1000": (lambda: HEAD + "let l0 = a\n" + "".join(f"let l{i} = l{i - 1} and ok\n" for i in range(1, 1001))
                  + 'rule r "m" {\n  require l1000\n}\n', None),
    "parens_1000": (lambda: _gen_parens(1000), None),
    "parens_1001": (lambda: _gen_parens(1001), "RB009"),
    "plain_parens_1001": (lambda: HEAD + 'rule r "m" {\n  require ' + "(" * 1001 + "a" + ")" * 1001 + "\n}\n", "RB009"),
    "int_5000_digits": (lambda: HEAD + 'input n: int from n\nrule r "m" {\n  require n < ' + "9" * 5000 + "\n}\n",
                        "RB010"),
    "decide_5000_arms": (lambda: HEAD + "input n: int from n\nlabel s: enum {x, y} from s\ndecide s first {\n"
                         + "".join(f"  when n == {i} -> x\n" for i in range(5000)) + "  otherwise -> y\n}\n", None),
    "path_50000_segments": (lambda: HEAD + "input p: text from " + ".".join(f"s{i}" for i in range(50000))
                            + '\nrule r "m" {\n  require p contains "z"\n}\n', None),
    "enum_100000_values": (lambda: HEAD + "input e: enum {" + ", ".join(f"v{i}" for i in range(100000))
                           + '} from e\nrule r "m" {\n  require e == v1 or e in {v2, v99999}\n}\n', None),
}

# (case, command) pairs that take tens of seconds (run by the slow pass only): none now
KNOWN: dict[tuple[str, str], pytest.MarkDecorator] = {}

EXPECT = re.compile(r"^# corpus: (?:(compiles)|expect (RB\d{3}))$")


def _cases() -> list[tuple[str, Callable[[], str], str | None]]:
    out = []
    for p in sorted(CORPUS.glob("*.rubric")):
        first = p.read_text(encoding="utf-8").split("\n", 1)[0]
        m = EXPECT.match(first)
        assert m, f"{p.name}: the first line says `# corpus: compiles` or `# corpus: expect RBxxx`"
        out.append((p.stem, (lambda p=p: p.read_text(encoding="utf-8")), m.group(2)))
    out += [(name, gen, code) for name, (gen, code) in GENERATED.items()]
    return out


def _params() -> list:
    return [pytest.param(gen, code, command, id=f"{name}-{command}", marks=KNOWN.get((name, command), ()))
            for name, gen, code in _cases() for command in ("check", "lint", "fmt")]


def test_corpus_is_not_empty() -> None:
    assert len(list(CORPUS.glob("*.rubric"))) >= 10


@pytest.mark.parametrize(("gen", "code", "command"), _params())
def test_corpus(gen: Callable[[], str], code: str | None, command: str, tmp_path: Path) -> None:
    from rubricdsl.cli import main  # noqa: PLC0415

    rubric = tmp_path / "case.rubric"
    rubric.write_text(gen(), encoding="utf-8")
    data = tmp_path / "data.jsonl"
    data.write_text(RECORD, encoding="utf-8")
    # lint within a budget of 10 s: what it cannot decide by then is RB209, never a hang
    args = {"check": ["check", str(rubric), str(data)], "lint": ["lint", "--timeout", "10", str(rubric)],
            "fmt": ["fmt", "--check", str(rubric)]}[command]
    result = cli_runner().invoke(main, args, catch_exceptions=True)
    out = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "internal error" not in out
    assert "Traceback" not in out
    if code is None:
        assert result.exit_code in (0, 1), out[-2000:]
        assert not re.search(r"error\[RB0\d\d\]|error\[RB1\d\d\]", out), out[-2000:]
    else:
        assert result.exit_code == (1 if command == "lint" else 2), out[-2000:]  # lint: 1 on errors
        assert re.search(rf"error\[{code}\]: .*\n --> .*case\.rubric:\d+:\d+", out), out[-2000:]
