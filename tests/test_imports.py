"""Imports across files: tests/cases/imports/CASE/, and the commands on rubrics that import.

Each case is a directory whose `main.rubric` is compiled (`rubricdsl.load`). Any file of
the case may end a line with `# expect: CODE[:COLUMN] [help: TEXT]`, as in
tests/cases/diagnostics: the diagnostics must be exactly the expected (file, code, line
[, column]), each in the file it names. A case without markers must compile; its
`main.rubric` may say `# imports: A, B, ...`, the imported files in the order the
digest takes them.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from helpers import rubric

import rubricdsl
from rubricdsl.core.diagnostics import RubricError
from rubricdsl.language import ast, cache, imports, load, syntax
from rubricdsl.language.digest import combined_sha256
from rubricdsl.language.fmt import format_text

CASES = Path(__file__).resolve().parent / "cases" / "imports"
MARKER = re.compile(r"#\s*expect:\s*(?P<items>.+?)(?:\s+help:\s*(?P<help>.+?))?\s*$")
ITEM = re.compile(r"^(?P<code>RB\d{3})(?::(?P<col>\d+))?$")
IMPORTS = re.compile(r"^#\s*imports:\s*(.+)$", re.M)


def _expectations(case: Path) -> list[tuple[str, str, int, int | None, str | None]]:
    out = []
    for path in sorted(case.rglob("*.rubric")):
        if not path.is_file():
            continue
        rel = path.relative_to(case).as_posix()
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            m = MARKER.search(line)
            if m is None:
                continue
            for item in m.group("items").split():
                im = ITEM.match(item)
                assert im, f"{rel}:{lineno}: bad expectation {item!r}"
                col = int(im.group("col")) if im.group("col") else None
                out.append((rel, im.group("code"), lineno, col, m.group("help")))
    return out


def _cases() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if (p / "main.rubric").is_file())


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_import_case(case: Path) -> None:
    expected = _expectations(case)
    main = case / "main.rubric"
    if not expected:
        r = rubricdsl.load(main)
        m = IMPORTS.search(main.read_text(encoding="utf-8"))
        if m:
            names = [n.strip() for n in m.group(1).split(",")]
            assert [p for p, _ in r.ir.imports] == names
            shas = [hashlib.sha256((case / n).read_bytes()).hexdigest() for n in names]
            assert [s for _, s in r.ir.imports] == shas
            assert r.sha256 == combined_sha256(hashlib.sha256(main.read_bytes()).hexdigest(), shas)
        return
    with pytest.raises(RubricError) as info:
        rubricdsl.load(main)
    actual = [(Path(os.path.relpath(d.file, case)).as_posix(), d.code, d.line, d.column, d.help)
              for d in info.value.diagnostics]
    left = list(expected)
    unexpected = []
    for file, code, line, col, help_ in actual:
        for i, (f, c, ln, cl, h) in enumerate(left):
            if (f, c, ln) == (file, code, line) and (cl is None or cl == col) and (h is None or h in (help_ or "")):
                del left[i]
                break
        else:
            unexpected.append((file, code, line, col))
    details = "\n".join(f"  {d.file}:{d.line}:{d.column} {d.code} {d.message}" for d in info.value.diagnostics)
    assert not left and not unexpected, f"missing: {left}\nunexpected: {unexpected}\nall:\n{details}"
    # every file a diagnostic points into is there to render it
    for d in info.value.diagnostics:
        assert d.file in info.value.sources
    rendered = info.value.render()
    assert "Traceback" not in rendered


def test_every_case_file_formats_and_round_trips() -> None:
    """Case files are rubric files like any other: `rubric fmt` keeps `import` lines as they
    are (it never inlines them) and is idempotent."""
    for path in sorted(CASES.rglob("*.rubric")):
        if not path.is_file() or path.parent.name == "syntax_error":
            continue
        text = path.read_text(encoding="utf-8")
        once = format_text(text, path.name)
        assert format_text(once, path.name) == once
        tree, _ = syntax.parse(text, header=False)
        again, _ = syntax.parse(once, header=False)
        assert tree == again
        assert tree is not None
        paths = [n.path for n in tree.items if isinstance(n, ast.Import)]
        assert [ln.split("  #")[0] for ln in once.splitlines() if ln.startswith("import ")] == [
            f'import "{p}"' for p in paths]


# ---- levels and lets through imports ---------------------------------------------------------------


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")


COMMON = ('type likert5 = scale 1..5\nlevel 1 "Strongly disagree"\nlevel 5 "Strongly agree"\n'
          'type harm = set {hate, violence, self_harm}\nlet max_len = 280\nlet twice = max_len * 2\n'
          'let unused = 1\n')
MAIN = ('rubric "answers" version "1"\nimport "shared/common.rubric"\nlabel clarity: likert5\n'
        'level 3 "Neutral"\nlevel 5 "Crystal clear"\nlabel harms: harm\ninput answer: text\n'
        'rule short "answers stay short" { require len(answer) <= twice }\n')


def test_a_label_inherits_its_types_levels_and_overrides_some(tmp_path: Path) -> None:
    _write(tmp_path, {"shared/common.rubric": COMMON, "main.rubric": MAIN})
    r = rubricdsl.load(tmp_path / "main.rubric")
    clarity = r.ir.field("clarity")
    assert clarity is not None
    assert clarity.levels == [(1, "Strongly disagree"), (3, "Neutral"), (5, "Crystal clear")]
    assert clarity.type.kind == "scale" and (clarity.type.lo, clarity.type.hi) == (1, 5)
    assert clarity.type_name == "likert5" and r.ir.field("answer").type_name is None
    # the lets the rubric reads come with it (through other lets too); the others do not
    assert [x.name for x in r.ir.lets] == ["max_len", "twice"]
    found = (r.check_dicts({"clarity": 3, "harms": [], "answer": "x" * 561})
             + r.check_dicts({"clarity": 3, "harms": ["spam"], "answer": "ok"}))
    assert [(f["kind"], f.get("rule") or f.get("label")) for f in found] == [("violation", "short"),
                                                                            ("invalid", "harms")]


def test_unused_imported_lets_are_not_reported_by_lint(tmp_path: Path) -> None:
    _write(tmp_path, {"shared/common.rubric": COMMON, "main.rubric": MAIN})
    ran = rubric("lint", "main.rubric", "--format", "json", cwd=tmp_path, text=True)
    assert ran.returncode == 0, ran.err
    out = json.loads(ran.out)
    assert out["diagnostics"] == []
    main_sha = hashlib.sha256((tmp_path / "main.rubric").read_bytes()).hexdigest()
    common_sha = hashlib.sha256((tmp_path / "shared/common.rubric").read_bytes()).hexdigest()
    assert out["rubrics"][0]["sha256"] == combined_sha256(main_sha, [common_sha])


# ---- the commands ---------------------------------------------------------------------------------------


def _sha(ran) -> str:
    return json.loads(ran.out)["rubric"]["sha256"]


def test_check_follows_imports_from_another_directory(tmp_path: Path) -> None:
    _write(tmp_path, {"g/shared/common.rubric": COMMON, "g/main.rubric": MAIN,
                      "data.jsonl": '{"clarity": 6, "harms": [], "answer": "a"}\n'})
    ran = rubric("check", "g/main.rubric", "data.jsonl", "--format", "json", cwd=tmp_path, text=True,
                 env={"RUBRIC_NO_CACHE": "1"})
    assert ran.returncode == 1, ran.err
    findings = json.loads(ran.out)["findings"]
    assert [(f["kind"], f["label"]) for f in findings] == [("invalid", "clarity")]


def test_an_edit_of_an_imported_file_changes_the_digest_and_misses_the_cache(tmp_path: Path, monkeypatch) -> None:
    _write(tmp_path, {"shared/common.rubric": COMMON, "main.rubric": MAIN, "data.jsonl": '{"clarity": 2, "harms": [], "answer": "a"}\n'})
    env = {"RUBRIC_CACHE_DIR": str(tmp_path / "cache"), "RUBRIC_NO_CACHE": None}
    first = rubric("check", "main.rubric", "data.jsonl", "--format", "json", cwd=tmp_path, text=True, env=env)
    assert first.returncode == 0, first.err
    main_sha = hashlib.sha256((tmp_path / "main.rubric").read_bytes()).hexdigest()
    common_sha = hashlib.sha256((tmp_path / "shared/common.rubric").read_bytes()).hexdigest()
    assert _sha(first) == combined_sha256(main_sha, [common_sha]) != main_sha
    assert list((tmp_path / "cache").glob("ir-*.json")), "the compiled rubric was not cached"
    second = rubric("check", "main.rubric", "data.jsonl", "--format", "json", cwd=tmp_path, text=True, env=env)
    assert _sha(second) == _sha(first)
    # the common file changes: a cached rubric is not used, the digest changes, the new scale applies
    edited = COMMON.replace("scale 1..5", "scale 3..5").replace("level 1 ", "level 3 ")
    (tmp_path / "shared/common.rubric").write_text(edited, encoding="utf-8")
    third = rubric("check", "main.rubric", "data.jsonl", "--format", "json", cwd=tmp_path, text=True, env=env)
    assert _sha(third) != _sha(first)
    assert third.returncode == 1
    assert [f["label"] for f in json.loads(third.out)["findings"]] == ["clarity"]


def test_the_cache_is_read_only_while_the_imported_files_are_unchanged(tmp_path: Path, monkeypatch) -> None:
    _write(tmp_path, {"shared/common.rubric": COMMON, "main.rubric": MAIN})
    monkeypatch.setenv("RUBRIC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RUBRIC_NO_CACHE", raising=False)
    path = str(tmp_path / "main.rubric")
    text, sha = load.read_rubric_file(path)
    first = load.compile_text(text, path, sha, use_cache=True)

    def no_parse(*args, **kwargs):
        raise AssertionError("parsed: the cache was not used")

    monkeypatch.setattr(syntax, "parse", no_parse)
    hit = load.compile_text(text, path, sha, use_cache=True)
    assert hit.sha256 == first.sha256 and hit.imports == first.imports
    (tmp_path / "shared/common.rubric").write_text(COMMON + "let more = 2\n", encoding="utf-8")
    assert cache.load(sha, path, str(tmp_path)) is None
    with pytest.raises(AssertionError, match="the cache was not used"):
        load.compile_text(text, path, sha, use_cache=True)


def test_errors_in_an_imported_file_point_into_it(tmp_path: Path) -> None:
    _write(tmp_path, {"lib/common.rubric": "type likert5 = scale 1..5\nlet x = nope\n",
                      "main.rubric": 'rubric "m" version "1"\nimport "lib/common.rubric"\nlabel q: likert5\n'})
    ran = rubric("check", "main.rubric", "/dev/null", cwd=tmp_path, text=True)
    assert ran.returncode == 2
    assert "--> lib/common.rubric:2:9" in ran.err
    assert "2 | let x = nope" in ran.err
    lint = rubric("lint", "main.rubric", "--format", "json", cwd=tmp_path, text=True)
    diags = json.loads(lint.out)["diagnostics"]
    assert [(d["code"], d["file"], d["line"], d["column"]) for d in diags] == [("RB101", "lib/common.rubric", 2, 9)]
    text = rubric("lint", "main.rubric", cwd=tmp_path, text=True)
    assert "--> lib/common.rubric:2:9" in text.out and "2 | let x = nope" in text.out


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("directory", "is a directory"),
    (b"type t = enum {caf\xe9}\n", "not UTF-8 text (byte 18)"),
])
def test_an_unreadable_import_is_one_error_at_the_import_line(tmp_path: Path, content, message) -> None:
    files: dict[str, str | bytes] = {"main.rubric": 'rubric "m" version "1"\n\nimport "common.rubric"\nlabel q: t\n'}
    if content == "directory":
        files["common.rubric/inside.rubric"] = "type t = bool\n"
    elif content is not None:
        files["common.rubric"] = content
    _write(tmp_path, files)
    ran = rubric("check", "main.rubric", "/dev/null", cwd=tmp_path, text=True)
    assert ran.returncode == 2
    assert "error[RB117]" in ran.err and message in ran.err
    assert "--> main.rubric:3:8" in ran.err
    assert "RB101" not in ran.err  # `t` may be declared in what could not be read
    assert "Traceback" not in ran.err


def test_an_import_never_reads_a_device_or_a_pipe(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    os.mkfifo(tmp_path / "pipe.rubric")
    _write(tmp_path, {"main.rubric": 'rubric "m" version "1"\nimport "pipe.rubric"\n'})
    ran = rubric("lint", "main.rubric", cwd=tmp_path, text=True)
    assert ran.returncode == 1
    assert "error[RB117]: cannot import `pipe.rubric`: not a regular file" in ran.out


def test_an_import_cycle_names_the_chain(tmp_path: Path) -> None:
    _write(tmp_path, {"main.rubric": 'rubric "m" version "1"\nimport "a.rubric"\n',
                      "a.rubric": 'import "sub/b.rubric"\n', "sub/b.rubric": 'import "../main.rubric"\n'})
    ran = rubric("check", "main.rubric", "/dev/null", cwd=tmp_path, text=True)
    assert ran.returncode == 2
    assert "import cycle: main.rubric -> a.rubric -> sub/b.rubric -> main.rubric" in ran.err
    assert "--> sub/b.rubric:1:8" in ran.err


def test_fmt_keeps_imports_and_never_touches_the_imported_file(tmp_path: Path) -> None:
    _write(tmp_path, {"shared/common.rubric": "type   likert5 =   scale 1..5\n",
                      "main.rubric": 'rubric "m"   version "1"\nimport   "shared/common.rubric"\ntype  l = likert5\n'
                                     'label q :l\n'})
    before = (tmp_path / "shared/common.rubric").read_bytes()
    ran = rubric("fmt", "main.rubric", cwd=tmp_path, text=True)
    assert ran.returncode == 0, ran.err
    assert (tmp_path / "main.rubric").read_text(encoding="utf-8") == (
        'rubric "m" version "1"\n\nimport "shared/common.rubric"\ntype l = likert5\nlabel q: l\n')
    assert (tmp_path / "shared/common.rubric").read_bytes() == before
    again = rubric("fmt", "--check", "main.rubric", cwd=tmp_path, text=True)
    assert again.returncode == 0, again.out + again.err


def test_diff_compares_the_resolved_rubrics(tmp_path: Path) -> None:
    _write(tmp_path, {"old/common.rubric": "type likert = scale 1..5\n", "new/common.rubric": "type likert = scale 1..7\n",
                      "old/main.rubric": 'rubric "m" version "1"\nimport "common.rubric"\nlabel q: likert\n'})
    shutil.copy(tmp_path / "old/main.rubric", tmp_path / "new/main.rubric")
    ran = rubric("diff", "old/main.rubric", "new/main.rubric", "--format", "json", cwd=tmp_path, text=True)
    assert ran.returncode in (0, 1), ran.err
    out = json.loads(ran.out)
    assert out["old"]["sha256"] != out["new"]["sha256"]
    assert any(c["name"] == "q" for c in out["changes"]), out["changes"]


def test_doc_shows_the_levels_a_type_gives(tmp_path: Path) -> None:
    _write(tmp_path, {"shared/common.rubric": COMMON, "main.rubric": MAIN})
    ran = rubric("doc", "main.rubric", "-o", "guide.md", cwd=tmp_path, text=True)
    assert ran.returncode == 0, ran.err
    guide = (tmp_path / "guide.md").read_text(encoding="utf-8")
    assert "Strongly disagree" in guide and "Crystal clear" in guide and "Strongly agree" not in guide


def test_a_named_type_is_its_structure_for_diff(tmp_path: Path) -> None:
    """The same rubric with its types named (one of them imported) and written out: `rubric
    diff` finds no change to a field, and the rule that reads an imported `let` instead of
    its arithmetic means the same."""
    _write(tmp_path, {
        "shared/common.rubric": COMMON,
        "named.rubric": MAIN + 'type verdict = enum ordered {low, high}\nlabel risk: verdict\n',
        "inline.rubric": MAIN.replace('import "shared/common.rubric"\n', "")
        .replace("label clarity: likert5", 'label clarity: scale 1..5\nlevel 1 "Strongly disagree"')
        .replace("label harms: harm", "label harms: set {hate, violence, self_harm}")
        .replace("<= twice", "<= 280 * 2") + "label risk: enum ordered {low, high}\n",
    })
    ran = rubric("diff", "inline.rubric", "named.rubric", "--format", "json", cwd=tmp_path, text=True)
    assert ran.returncode == 0, ran.out + ran.err
    out = json.loads(ran.out)
    assert [(c["kind"], c["what"], c["name"]) for c in out["changes"]] == [
        ("structural", "rule", "short"), ("semantic", "rule", "short")], out["changes"]
    assert out["changes"][1]["status"] == "equivalent"


def test_a_shared_file_lints_on_its_own(tmp_path: Path) -> None:
    """A header-less file of types and lets is no rubric missing its header: lint checks it,
    and does not call its lets unused (the rubrics that import it read them)."""
    _write(tmp_path, {"common.rubric": COMMON, "bad.rubric": COMMON + "let worse = nope\n",
                      "not_shared.rubric": "let a = 1\ninput x: int\n"})
    ran = rubric("lint", "common.rubric", "--format", "json", cwd=tmp_path, text=True)
    assert ran.returncode == 0, ran.out + ran.err
    assert json.loads(ran.out)["diagnostics"] == []
    bad = rubric("lint", "bad.rubric", "--format", "json", cwd=tmp_path, text=True)
    assert [(d["code"], d["line"]) for d in json.loads(bad.out)["diagnostics"]] == [("RB101", 8)]
    other = rubric("lint", "not_shared.rubric", "--format", "json", cwd=tmp_path, text=True)
    assert "RB004" in [d["code"] for d in json.loads(other.out)["diagnostics"]]


def test_imports_nest_at_most_64_files_deep(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {f"f{i}.rubric": f'import "f{i + 1}.rubric"\n' for i in range(70)}
    files["f70.rubric"] = "type deep = bool\n"
    files["main.rubric"] = 'rubric "m" version "1"\nimport "f0.rubric"\nlabel q: deep\n'
    _write(tmp_path, files)
    with pytest.raises(RubricError) as info:
        rubricdsl.load(tmp_path / "main.rubric")
    diags = info.value.diagnostics
    assert [(d.code, Path(d.file).name, d.line) for d in diags] == [("RB117", "f63.rubric", 1)]  # f0..f63 are 64 files: f64 is one more
    assert "more than 64 files deep" in diags[0].message
    files["main.rubric"] = 'rubric "m" version "1"\nimport "f10.rubric"\nlabel q: deep\n'
    _write(tmp_path, files)
    assert rubricdsl.load(tmp_path / "main.rubric").ir.field("q").type.kind == "bool"


# ---- where the files are read from ---------------------------------------------------------------


class _Memory(imports.Files):
    """Files from a mapping (path -> text), as a rubric read from git or shipped with a
    Spark job reads them: nothing from the disk."""

    def __init__(self, files: dict[str, str]) -> None:
        super().__init__()
        self.texts = files
        self.read_paths: list[str] = []

    def key(self, path: str) -> str:
        return os.path.normpath(path)

    def name(self, path: str) -> str:
        return "mem:" + path

    def read(self, path: str) -> bytes:
        self.read_paths.append(path)
        if path.startswith(".."):
            raise imports.Refused(f"{path} is out of reach", "keep it inside")
        if path not in self.texts:
            raise FileNotFoundError(2, "no such file", path)
        return self.texts[path].encode("utf-8")


def test_imports_are_read_through_the_files_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # nothing here: every file comes from the mapping
    shared = "type score = int 1..5\nlet high = 4\n"
    files = _Memory({"g/shared/a.rubric": 'import "b.rubric"\n' + shared, "g/shared/b.rubric": "let low = 1\n"})
    main = ('rubric "m" version "1"\nimport "shared/a.rubric"\nimport "shared/../shared/b.rubric"\n'
            'label s: score from s\nrule r "r" { require s >= high and s > low }\n')
    rub = load.compile_text(main, "g/m.rubric", "0" * 64, base="g", reader=files)
    assert files.read_paths == ["g/shared/a.rubric", "g/shared/b.rubric"]  # each once
    assert rub.imports == tuple((p, hashlib.sha256(files.texts["g/" + p].encode()).hexdigest())
                                for p in ("shared/a.rubric", "shared/b.rubric"))
    assert rub.sha256 == combined_sha256("0" * 64, [sha for _, sha in rub.imports])
    # a file the mapping does not hold, and one it refuses: RB117 at the import, named as it names them
    with pytest.raises(RubricError) as err:
        load.compile_text(main.replace("shared/a.rubric", "shared/c.rubric").replace(
            "shared/../shared/b.rubric", "../../b.rubric"), "g/m.rubric", base="g", reader=_Memory({}))
    got = [(d.code, d.span.line, d.message) for d in err.value.diagnostics if d.code == "RB117"]
    assert got == [("RB117", 2, "cannot import `shared/c.rubric`: no such file (mem:g/shared/c.rubric)"),
                   ("RB117", 3, "cannot import `../../b.rubric`: ../b.rubric is out of reach")]
    assert next(d for d in err.value.diagnostics if d.span.line == 3).help == "keep it inside"
