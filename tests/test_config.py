"""Project configuration (`rubric.toml`, `pyproject.toml`'s `[tool.rubric]`): how it is
found, what each setting does to `rubric lint`, `check` and `diff`, the command line
winning over it, `--config`, `--isolated`, `--show-config`, and malformed files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import Ran, rubric

from rubricdsl.core.codes import CODES
from rubricdsl.core.config import KEYS, ConfigError, ProjectConfig, find_config, load_config

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"

# two warnings: RB208 (input `spare` is never read) on line 4, RB204 (a gap) on line 7
WARNINGS = '''rubric "cfg" version "1"

input source: enum {forum, news, chat} from data.source
input spare: text from data.spare
label cred: enum {low, high} from labels.cred

decide cred {
  when source == news -> high
  when source == forum -> low
}
'''
# one error: RB101 (unknown name `sauce`)
ERROR = '''rubric "cfg-err" version "1"

input source: enum {forum, news} from data.source
label cred: enum {low, high} from labels.cred

decide cred {
  when sauce == news -> high
  when source == forum -> low
}
'''


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def lint(cwd: Path, *args: str) -> Ran:
    return rubric("lint", *args, cwd=cwd, text=True)


def codes(ran: Ran) -> dict[str, list[str]]:
    """`rubric lint --format json`'s codes, per file."""
    assert ran.returncode in (0, 1), ran.err
    doc = json.loads(ran.out)
    out: dict[str, list[str]] = {r["file"]: [] for r in doc["rubrics"]}
    for d in doc["diagnostics"]:
        out[d["file"]].append(d["code"])
    return {f: sorted(c) for f, c in out.items()}


def config_error(tmp_path: Path, text: str, name: str = "rubric.toml") -> ConfigError:
    for other in ("rubric.toml", "pyproject.toml"):
        (tmp_path / other).unlink(missing_ok=True)
    write(tmp_path / name, text)
    with pytest.raises(ConfigError) as e:
        find_config(tmp_path / "x.rubric")
    assert e.value.file == tmp_path / name
    return e.value


# ---- finding the file ------------------------------------------------------------------------


def test_the_nearest_configuration_above_a_file_applies(tmp_path: Path) -> None:
    write(tmp_path / "rubric.toml", 'fail-level = "error"\n')
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    for start in (deep, deep / "x.rubric", write(deep / "y.rubric", WARNINGS)):
        cfg = find_config(start)
        assert (cfg.path, cfg.root, cfg.fail_level) == (tmp_path / "rubric.toml", tmp_path, "error")
    write(tmp_path / "a" / "rubric.toml", 'fail-level = "info"\n')
    cfg = find_config(deep / "x.rubric")
    assert (cfg.path, cfg.fail_level) == (tmp_path / "a" / "rubric.toml", "info")
    # a nearer file replaces a farther one whole: nothing is merged
    write(tmp_path / "rubric.toml", 'fail-level = "error"\nignore = ["RB208"]\n')
    assert find_config(deep).ignore == ()
    assert find_config(tmp_path).ignore == ("RB208",)


def test_rubric_toml_wins_over_pyproject_toml_in_one_directory(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.rubric]\nfail-level = "info"\n')
    assert find_config(tmp_path).fail_level == "info"
    write(tmp_path / "rubric.toml", 'fail-level = "error"\n')
    cfg = find_config(tmp_path / "x.rubric")
    assert (cfg.path.name, cfg.fail_level) == ("rubric.toml", "error")


def test_a_pyproject_toml_without_tool_rubric_is_passed_over(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.rubric]\nselect = ["RB2"]\n')
    write(tmp_path / "sub" / "pyproject.toml", '[project]\nname = "x"\n\n[tool.other]\nselect = 3\n')
    cfg = find_config(tmp_path / "sub" / "x.rubric")
    assert (cfg.path, cfg.root, cfg.select) == (tmp_path / "pyproject.toml", tmp_path, ("RB2",))


def test_no_configuration_is_the_defaults(tmp_path: Path) -> None:
    cfg = find_config(tmp_path / "x.rubric")
    assert cfg == ProjectConfig(path=None, root=tmp_path)
    assert (cfg.fail_level, cfg.select, cfg.ignore, cfg.per_file_ignores, cfg.data, cfg.output_format) == \
        (None, ("all",), (), (), (), None)
    assert cfg.ignored_codes_for(tmp_path / "x.rubric") == frozenset()


def test_data_paths_are_taken_from_the_configurations_directory_and_never_expanded(tmp_path: Path,
                                                                                   monkeypatch) -> None:
    write(tmp_path / "proj" / "rubric.toml",
          'data = ["samples/a.jsonl", "../b.jsonl", "~/c.jsonl", "$HOME/d.jsonl", "/abs/e.jsonl"]\n')
    monkeypatch.chdir(tmp_path)
    cfg = find_config(tmp_path / "proj" / "sub")
    proj = tmp_path / "proj"
    assert cfg.data == (proj / "samples" / "a.jsonl", tmp_path / "b.jsonl", proj / "~" / "c.jsonl",
                        proj / "$HOME" / "d.jsonl", Path("/abs/e.jsonl"))


# ---- which codes are enabled ------------------------------------------------------------------


def test_select_and_ignore_the_more_specific_selector_wins(tmp_path: Path) -> None:
    def disabled(select: list[str] | None, ignore: list[str]) -> set[str]:
        text = (f"select = {json.dumps(select)}\n" if select is not None else "") + f"ignore = {json.dumps(ignore)}\n"
        write(tmp_path / "rubric.toml", text)
        return set(find_config(tmp_path).ignored_codes_for(tmp_path / "x.rubric"))

    rb2 = {c for c in CODES if c.startswith("RB2")}
    assert disabled(None, ["RB2"]) == rb2
    assert disabled(["RB204"], ["RB2"]) == rb2 - {"RB204"}  # a code is more specific than a prefix
    assert disabled(["RB2"], ["RB204"]) == {"RB204"}
    assert disabled(["RB20"], ["RB2"]) == set()  # the longer prefix is the more specific
    assert disabled(["all"], ["decision-gap", "unused_field"]) == {"RB204", "RB208"}  # a name, a check
    assert disabled(["gap"], ["gap"]) == rb2 - set()  # a tie: ignore wins, and nothing else is selected
    assert disabled(["RB204"], []) == rb2 - {"RB204"}
    assert disabled([], []) == rb2  # nothing selected: every warning off, errors still on


def test_errors_are_never_disabled(tmp_path: Path) -> None:
    write(tmp_path / "rubric.toml", 'ignore = ["all"]\n')
    cfg = find_config(tmp_path)
    assert all(CODES[c].severity != "error" for c in cfg.ignored_codes_for(tmp_path / "x.rubric"))
    assert cfg.is_enabled("RB101", tmp_path / "x.rubric") and cfg.is_enabled("unknown-name", tmp_path / "x")
    assert not cfg.is_enabled("RB204", tmp_path / "x.rubric") and not cfg.is_enabled("decision-gap", tmp_path / "x")


@pytest.mark.parametrize(("glob", "matches", "not_matches"), [
    ("drafts/*.rubric", ["drafts/a.rubric"], ["drafts/sub/a.rubric", "x/drafts/a.rubric", "a.rubric"]),
    ("drafts/**/*.rubric", ["drafts/a.rubric", "drafts/s/t/a.rubric"], ["x/drafts/a.rubric"]),
    ("drafts/", ["drafts/a.rubric", "drafts/s/a.rubric", "x/drafts/a.rubric"], ["drafts", "drafts2/a.rubric"]),
    ("./drafts/", ["drafts/a.rubric", "drafts/s/a.rubric"], ["x/drafts/a.rubric"]),
    ("drafts", ["drafts/a.rubric", "x/drafts/a.rubric", "drafts"], ["drafts2/a.rubric"]),
    ("*.old.rubric", ["a.old.rubric", "x/y/a.old.rubric"], ["a.rubric", "old.rubric.txt"]),
    ("./top.rubric", ["top.rubric"], ["x/top.rubric"]),
    ("r?.rubric", ["r1.rubric"], ["r12.rubric"]),
    ("[ab]*.rubric", ["a1.rubric", "b.rubric"], ["c.rubric"]),
    ("[!ab]*.rubric", ["c.rubric"], ["a.rubric"]),
])
def test_per_file_ignore_globs(tmp_path: Path, glob: str, matches: list[str], not_matches: list[str]) -> None:
    write(tmp_path / "rubric.toml", f'[per-file-ignores]\n{json.dumps(glob)} = ["RB208"]\n')
    cfg = find_config(tmp_path)
    for f in matches:
        assert cfg.ignored_codes_for(tmp_path / f) == {"RB208"}, f
        assert not cfg.is_enabled("RB208", tmp_path / f)
    for f in not_matches:
        assert cfg.ignored_codes_for(tmp_path / f) == frozenset(), f
    assert cfg.ignored_codes_for(tmp_path.parent / "drafts" / "a.old.rubric") == frozenset()  # not below the root


# ---- malformed files ----------------------------------------------------------------------------


def test_bad_toml_is_an_error_with_its_line(tmp_path: Path) -> None:
    e = config_error(tmp_path, 'fail-level = "error"\n\nselect = ["RB2",\n  RB204]\n')
    assert e.line == 4
    assert str(e).startswith(f"{tmp_path / 'rubric.toml'}:4: ")
    e = config_error(tmp_path, '[tool.rubric]\nfail-level = "error\n', "pyproject.toml")
    assert e.line == 2


def test_unknown_keys_are_errors_with_a_suggestion(tmp_path: Path) -> None:
    e = config_error(tmp_path, 'select = ["RB2"]\nfail_level = "error"\n')
    assert (e.line, "`fail_level`" in e.message, "`fail-level`" in e.message) == (2, True, True)
    e = config_error(tmp_path, '[project]\nname = "x"\n\n[tool.rubric]\nignore = []\nper-file-ignore = {}\n',
                     "pyproject.toml")
    assert (e.line, "`per-file-ignores`" in e.message) == (6, True)
    e = config_error(tmp_path, '[tool.rubric]\nignore = []\n')  # a rubric.toml is the table itself
    assert (e.line, "`tool`" in e.message) == (1, True)


@pytest.mark.parametrize(("text", "line", "key"), [
    ('fail-level = 3\n', 1, "fail-level"),
    ('\nfail-level = "fatal"\n', 2, "fail-level"),
    ('select = "RB2"\n', 1, "select"),
    ('ignore = ["RB208", 204]\n', 1, "ignore"),
    ('per-file-ignores = ["a"]\n', 1, "per-file-ignores"),
    ('[per-file-ignores]\n"a/*" = "RB208"\n', 2, "per-file-ignores.a/*"),
    ('data = "a.jsonl"\n', 1, "data"),
    ('output-format = "xml"\n', 1, "output-format"),
])
def test_wrong_types_and_values_are_errors(tmp_path: Path, text: str, line: int, key: str) -> None:
    e = config_error(tmp_path, text)
    assert (e.line, e.message.startswith(key)) == (line, True), str(e)


def test_unknown_codes_are_errors_on_their_line(tmp_path: Path) -> None:
    e = config_error(tmp_path, 'ignore = [\n  "RB208",\n  "RB2O4",\n]\n')
    assert (e.line, "`RB2O4`" in e.message, "`RB204`" in e.message) == (3, True, True)
    e = config_error(tmp_path, 'select = ["decision-gpa"]\n')
    assert "`decision-gap`" in e.message
    e = config_error(tmp_path, '[per-file-ignores]\n"a/*" = ["RB208"]\n"b/*" = ["nothing-like-it"]\n')
    assert e.line == 3
    # an ignore that names only errors would do nothing: said, not silently accepted
    e = config_error(tmp_path, 'ignore = ["RB101"]\n')
    assert (e.line, "RB101" in e.message) == (1, True)


@pytest.mark.parametrize("glob", ["a[b", "/abs/*.rubric", "../up/*.rubric", "", "a[/]b"])
def test_bad_globs_are_errors(tmp_path: Path, glob: str) -> None:
    e = config_error(tmp_path, f'select = ["all"]\n\n[per-file-ignores]\n{json.dumps(glob)} = ["RB208"]\n')
    assert e.line == 4, str(e)


def test_a_pyproject_tool_rubric_that_is_not_a_table_or_not_utf8(tmp_path: Path) -> None:
    e = config_error(tmp_path, '[tool]\nrubric = 3\n', "pyproject.toml")
    assert e.line == 2
    (tmp_path / "rubric.toml").write_bytes(b'select = ["RB2"]\n# caf\xe9\n')
    with pytest.raises(ConfigError) as info:
        find_config(tmp_path)
    assert info.value.line == 2


def test_load_config_reads_a_named_file(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path / "ci" / "strict.toml", 'fail-level = "info"\n'))
    assert (cfg.path, cfg.root, cfg.fail_level) == (tmp_path / "ci" / "strict.toml", tmp_path / "ci", "info")
    with pytest.raises(ConfigError):
        load_config(write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n'))
    with pytest.raises(ConfigError):
        load_config(tmp_path / "missing.toml")


# ---- rubric lint ----------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path / "g.rubric", WARNINGS)
    write(tmp_path / "drafts" / "g.rubric", WARNINGS)
    write(tmp_path / "e.rubric", ERROR)
    return tmp_path


def test_lint_without_configuration(project: Path) -> None:
    ran = lint(project, "--format", "json", "g.rubric")
    assert ran.returncode == 1
    assert codes(ran) == {"g.rubric": ["RB204", "RB208"]}


def test_fail_level_sets_lints_exit_status(project: Path) -> None:
    write(project / "rubric.toml", 'fail-level = "error"\n')
    ran = lint(project, "--format", "json", "g.rubric")
    assert (ran.returncode, codes(ran)) == (0, {"g.rubric": ["RB204", "RB208"]})
    assert lint(project, "e.rubric").returncode == 1
    # the command line wins
    assert lint(project, "--fail-level", "warning", "g.rubric").returncode == 1


def test_select_and_ignore_set_what_lint_reports(project: Path) -> None:
    write(project / "rubric.toml", 'select = ["RB204"]\n')
    assert codes(lint(project, "--format", "json", "g.rubric")) == {"g.rubric": ["RB204"]}
    write(project / "rubric.toml", 'ignore = ["unused-field", "gap"]\n')
    ran = lint(project, "--format", "json", "g.rubric")
    assert (ran.returncode, codes(ran)) == (0, {"g.rubric": []})
    text = lint(project, "g.rubric")
    assert (text.returncode, "RB204" in text.out, "RB208" in text.out) == (0, False, False)
    # the command line replaces the configuration's lists
    assert codes(lint(project, "--format", "json", "--ignore", "RB204", "g.rubric")) == {"g.rubric": ["RB208"]}
    assert codes(lint(project, "--format", "json", "--select", "RB2", "--ignore", "RB208", "g.rubric")) == \
        {"g.rubric": ["RB204"]}
    assert codes(lint(project, "--format", "json", "--select", "unused-field,gap", "--ignore", "all",
                      "g.rubric")) == {"g.rubric": ["RB204", "RB208"]}


def test_errors_are_reported_whatever_the_configuration_says(project: Path) -> None:
    write(project / "rubric.toml", 'select = []\nignore = ["all"]\nfail-level = "error"\n')
    ran = lint(project, "--format", "json", "e.rubric", "g.rubric")
    assert (ran.returncode, codes(ran)) == (1, {"e.rubric": ["RB101"], "g.rubric": []})


def test_per_file_ignores_in_lint(project: Path) -> None:
    write(project / "rubric.toml", '[per-file-ignores]\n"drafts/" = ["RB2"]\n"g.rubric" = ["RB204"]\n')
    ran = lint(project, "--format", "json", "g.rubric", "drafts/g.rubric")
    assert codes(ran) == {"g.rubric": ["RB208"], "drafts/g.rubric": []}
    assert ran.returncode == 1
    # globs are taken from the configuration's directory, wherever lint runs from
    ran = lint(project / "drafts", "--format", "json", "g.rubric", "../g.rubric")
    assert codes(ran) == {"g.rubric": [], "../g.rubric": ["RB208"]}


def test_each_rubric_follows_its_own_configuration(project: Path) -> None:
    write(project / "rubric.toml", 'ignore = ["RB208"]\n')
    write(project / "drafts" / "rubric.toml", 'fail-level = "error"\n')
    ran = lint(project, "--format", "json", "drafts/g.rubric")
    assert (ran.returncode, codes(ran)) == (0, {"drafts/g.rubric": ["RB204", "RB208"]})
    ran = lint(project, "--format", "json", "drafts/g.rubric", "g.rubric")
    assert (ran.returncode, codes(ran)) == (1, {"drafts/g.rubric": ["RB204", "RB208"], "g.rubric": ["RB204"]})


def test_output_format_is_lints_default_format(project: Path) -> None:
    write(project / "pyproject.toml", '[tool.rubric]\noutput-format = "json"\n')
    ran = lint(project, "g.rubric")
    assert codes(ran) == {"g.rubric": ["RB204", "RB208"]}
    ran = lint(project, "--format", "github", "g.rubric")
    assert ran.out.startswith("::warning ") and "RB204" in ran.out
    write(project / "pyproject.toml", '[tool.rubric]\n\noutput-format = "jsonl"\n')  # check's, not lint's
    ran = lint(project, "g.rubric")
    assert (ran.returncode, ran.out) == (2, "")
    assert ran.err.startswith(f"rubric: error: {project / 'pyproject.toml'}:3: ") and ran.err.count("\n") == 1
    assert lint(project, "--format", "text", "g.rubric").returncode == 1


def test_isolated_reads_no_configuration(project: Path) -> None:
    write(project / "rubric.toml", 'ignore = ["all"]\n')
    assert codes(lint(project, "--format", "json", "g.rubric")) == {"g.rubric": []}
    ran = lint(project, "--isolated", "--format", "json", "g.rubric")
    assert (ran.returncode, codes(ran)) == (1, {"g.rubric": ["RB204", "RB208"]})
    write(project / "rubric.toml", 'ignore = [\n')  # not even read
    assert lint(project, "--isolated", "g.rubric").returncode == 1
    assert lint(project, "g.rubric").returncode == 2


def test_config_names_the_configuration_file(project: Path) -> None:
    write(project / "rubric.toml", 'ignore = ["all"]\n')
    write(project / "ci" / "strict.toml", 'ignore = ["RB204"]\nfail-level = "error"\n')
    ran = lint(project, "--config", "ci/strict.toml", "--format", "json", "g.rubric", "drafts/g.rubric")
    assert (ran.returncode, codes(ran)) == (0, {"g.rubric": ["RB208"], "drafts/g.rubric": ["RB208"]})
    write(project / "ci" / "pyproject.toml", '[tool.rubric]\nselect = ["RB204"]\n')
    assert codes(lint(project, "--config", "ci/pyproject.toml", "--format", "json", "g.rubric")) == \
        {"g.rubric": ["RB204"]}
    for args in (["--config", "ci/missing.toml"], ["--config", "ci"], ["--config", "ci/strict.toml", "--isolated"]):
        ran = lint(project, *args, "g.rubric")
        assert (ran.returncode, ran.out, ran.err.count("\n")) == (2, "", 1), args
        assert ran.err.startswith("rubric: error: ")
    write(project / "ci" / "pyproject.toml", '[project]\nname = "x"\n')
    ran = lint(project, "--config", "ci/pyproject.toml", "g.rubric")
    assert (ran.returncode, "[tool.rubric]" in ran.err) == (2, True)


def test_show_config(project: Path) -> None:
    write(project / "rubric.toml", 'fail-level = "error"\n\nignore = ["RB208"]\n\n[per-file-ignores]\n'
                                   '"drafts/" = ["gap"]\n')
    ran = lint(project, "--show-config", "drafts/g.rubric")
    assert ran.returncode == 0, ran.err
    lines = ran.out.splitlines()
    assert f"config: {project / 'rubric.toml'}" in lines
    assert 'fail-level = "error"  # rubric.toml:1' in lines
    assert 'ignore = ["RB208"]  # rubric.toml:3' in lines
    assert 'output-format = "text"  # default' in lines
    assert lines[-1].startswith("disabled for this file: RB204, RB208 ")
    ran = lint(project, "--show-config", "g.rubric", "--ignore", "RB205", "--format", "json")
    doc = json.loads(ran.out)
    assert doc["config"] == str(project / "rubric.toml")
    assert (doc["settings"]["ignore"], doc["sources"]["ignore"]) == (["RB205"], "command line")
    assert (doc["settings"]["fail-level"], doc["sources"]["fail-level"]) == ("error", "rubric.toml:1")
    assert (doc["disabled"], doc["matching_per_file_ignores"]) == (["RB205"], [])
    ran = lint(project, "--isolated", "--show-config", "g.rubric")
    assert "config: none (the defaults)" in ran.out.splitlines()
    assert 'select = ["all"]  # default' in ran.out.splitlines()
    assert lint(project, "--show-config", "g.rubric", "e.rubric").returncode == 2


@pytest.mark.parametrize(("text", "line"), [
    ('select = ["RB2",\n  RB204]\n', 2),
    ('fail_level = "error"\n', 1),
    ('fail-level = ["error"]\n', 1),
    ('ignore = ["RB208"]\nselect = ["RB2", "RB999"]\n', 2),
])
def test_a_malformed_configuration_is_one_line_and_exit_2(project: Path, text: str, line: int) -> None:
    write(project / "rubric.toml", text)
    for command in (["lint", "g.rubric"], ["check", "g.rubric", str(DATA / "clean.jsonl")],
                    ["diff", "g.rubric", "g.rubric"], ["lint", "--show-config", "g.rubric"]):
        ran = rubric(*command, cwd=project / "drafts", text=True)
        assert (ran.returncode, ran.out) == (2, ""), command
        assert ran.err.startswith(f"rubric: error: {project / 'rubric.toml'}:{line}: "), ran.err
        assert ran.err.count("\n") == 1 and "Traceback" not in ran.err


# ---- rubric check and rubric diff ---------------------------------------------------------------


def test_output_format_is_checks_default_format(tmp_path: Path) -> None:
    write(tmp_path / "rubric.toml", 'output-format = "json"\n')
    r = write(tmp_path / "r.rubric", (DATA / "cli.rubric").read_text(encoding="utf-8"))
    ran = rubric("check", str(r), str(DATA / "mixed.jsonl"), text=True, cwd=tmp_path)
    assert json.loads(ran.out)["summary"]["records"] == 9
    ran = rubric("check", "--format", "jsonl", str(r), str(DATA / "mixed.jsonl"), text=True, cwd=tmp_path)
    assert json.loads(ran.out.splitlines()[-1])["kind"] == "summary"
    ran = rubric("check", "--isolated", str(r), str(DATA / "mixed.jsonl"), text=True, cwd=tmp_path)
    assert not ran.out.startswith("{")
    write(tmp_path / "ci.toml", 'output-format = "jsonl"\n')
    ran = rubric("check", "--config", "ci.toml", str(r), str(DATA / "mixed.jsonl"), text=True, cwd=tmp_path)
    assert json.loads(ran.out.splitlines()[-1])["kind"] == "summary"
    write(tmp_path / "rubric.toml", '\noutput-format = "sarif"\n')  # lint's, not check's
    ran = rubric("check", str(r), str(DATA / "mixed.jsonl"), text=True, cwd=tmp_path)
    assert (ran.returncode, ran.out) == (2, "")
    assert ran.err.startswith(f"rubric: error: {tmp_path / 'rubric.toml'}:2: ")
    assert rubric("check", "--format", "json", str(r), str(DATA / "clean.jsonl"), cwd=tmp_path).returncode == 0


def test_diff_takes_its_data_from_the_configuration(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    text = (DATA / "cli.rubric").read_text(encoding="utf-8")
    write(proj / "old.rubric", text)
    write(proj / "new.rubric", text)
    write(proj / "samples" / "mixed.jsonl", (DATA / "mixed.jsonl").read_text(encoding="utf-8"))
    write(proj / "samples" / "clean.jsonl", (DATA / "clean.jsonl").read_text(encoding="utf-8"))
    write(proj / "rubric.toml", 'data = ["samples/mixed.jsonl"]\n')

    def records(*args: str) -> int:
        ran = rubric("diff", "--format", "json", *args, cwd=tmp_path, text=True)
        assert ran.returncode == 0, ran.err
        return json.loads(ran.out)["summary"].get("records", 0)

    assert records("proj/old.rubric", "proj/new.rubric") == 9  # from anywhere: the data of NEW's configuration
    assert records("--data", str(proj / "samples" / "clean.jsonl"), "proj/old.rubric", "proj/new.rubric") == \
        len((DATA / "clean.jsonl").read_text(encoding="utf-8").splitlines())
    assert records("--isolated", "proj/old.rubric", "proj/new.rubric") == 0
    write(proj / "rubric.toml", '\ndata = ["samples/missing.jsonl"]\n')
    ran = rubric("diff", "proj/old.rubric", "proj/new.rubric", cwd=tmp_path, text=True)
    assert (ran.returncode, ran.out) == (2, "")
    assert ran.err.startswith(f"rubric: error: {proj / 'rubric.toml'}:2: ") and "missing.jsonl" in ran.err


# ---- documentation ------------------------------------------------------------------------------


def test_docs_describe_every_key() -> None:
    cli_md = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = cli_md[cli_md.index("## Configuration"):cli_md.index("## Exit status")]
    for key in KEYS:
        assert f"`{key}`" in section, key
    for option in ("--config", "--isolated", "--show-config"):
        assert option in section, option
    assert "rubric.toml" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_docs_configuration_examples_are_valid(tmp_path: Path) -> None:
    cli_md = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = cli_md[cli_md.index("## Configuration"):cli_md.index("## Exit status")]
    blocks = [b.split("```", 1)[0] for b in section.split("```toml\n")[1:]]
    assert len(blocks) == 2
    loaded = []
    for i, block in enumerate(blocks):
        name = "pyproject.toml" if block.startswith("[tool.rubric]") else "rubric.toml"
        loaded.append(load_config(write(tmp_path / str(i) / name, block)))
    assert [c.settings() | {"data": None} for c in loaded] == [loaded[0].settings() | {"data": None}] * 2
    assert loaded[0].ignore == ("dead-condition",) and loaded[0].per_file_ignores == (("drafts/", ("gap", "RB205")),)


def test_show_config_of_a_file_not_written_yet(project: Path) -> None:
    write(project / "drafts" / "rubric.toml", 'fail-level = "info"\n')
    ran = lint(project, "--show-config", "drafts/new/later.rubric")
    assert f"config: {project / 'drafts' / 'rubric.toml'}" in ran.out.splitlines()
    assert 'fail-level = "info"  # rubric.toml:1' in ran.out.splitlines()
