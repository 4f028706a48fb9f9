"""The VS Code extension in editors/vscode: its TextMate grammar against the language's own
grammar (grammars/rubric.lark), and its token tests.

- Every regex of syntaxes/rubric.tmLanguage.json compiles (here with Python's `re`; the
  token tests compile them again in Oniguruma, the engine VS Code uses).
- Every keyword of grammars/rubric.lark (and `type`, `import`) is matched by some rule of
  the TextMate grammar, so that a keyword added to the language cannot be forgotten in the
  editor.
- Every shipped rubric (and each case of editors/vscode/test/cases) has a golden token
  file, and the node script editors/vscode/test/tokens.js agrees with all of them and
  with its scope assertions. The script needs `node` and the extension's dependencies
  (`npm ci` in editors/vscode, which .ci/run does when node and npm are there); without
  them that test is skipped, unless RUBRIC_REQUIRE_EDITOR=1 makes their absence a failure.
- editors/vscode/test/extension.js activates the extension against fakes of the VS Code
  API and of the language client: the server command it starts, from the settings, its
  restart, and the message when it does not start (it needs only `node`).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXTENSION = ROOT / "editors" / "vscode"
TM_GRAMMAR = EXTENSION / "syntaxes" / "rubric.tmLanguage.json"
LARK = ROOT / "grammars" / "rubric.lark"
GOLDEN = EXTENSION / "test" / "golden"
# keywords of declarations being added to the language beside those in rubric.lark
EXTRA_KEYWORDS = {"type", "import"}


def tm_grammar() -> dict[str, Any]:
    return json.loads(TM_GRAMMAR.read_text(encoding="utf-8"))


def regexes(node: Any, where: str = "$") -> Iterator[tuple[str, str]]:
    """(where, regex) for every `match`, `begin`, `end` and `while` of the grammar."""
    if isinstance(node, list):
        for i, n in enumerate(node):
            yield from regexes(n, f"{where}[{i}]")
    elif isinstance(node, dict):
        for k, v in node.items():
            if k in ("match", "begin", "end", "while") and isinstance(v, str):
                yield f"{where}.{k}", v
            else:
                yield from regexes(v, f"{where}.{k}")


def lark_keywords() -> set[str]:
    """The words the parser reads as keywords: the quoted words of rubric.lark's rules and
    terminals (`"rubric"`, `OPTIONAL: "optional"`, `OUTCOME_KIND: "violation" | …`)."""
    text = "\n".join(line.split("//", 1)[0] for line in LARK.read_text(encoding="utf-8").splitlines())
    return set(re.findall(r'"([a-z]+)"', text))


def test_the_lark_grammar_has_the_keywords_the_docs_list() -> None:
    # a guard on lark_keywords itself: it finds the language's keywords, not nothing
    words = lark_keywords()
    assert {"rubric", "criterion", "decide", "matches", "optional", "violation", "none", "and", "true"} <= words
    assert len(words) > 50


def test_every_regex_of_the_textmate_grammar_compiles() -> None:
    found = list(regexes(tm_grammar()))
    assert len(found) > 50
    for where, source in found:
        # \G (where the last match ended) is Oniguruma's; Python has no equivalent, so it is
        # checked as another zero-width anchor
        try:
            re.compile(source.replace(r"\G", r"\A"))
        except re.error as e:
            pytest.fail(f"{TM_GRAMMAR.name} {where}: {source!r} does not compile: {e}")


def test_every_keyword_of_the_language_is_in_the_textmate_grammar() -> None:
    # a regex's escapes (\b, \s, \G...) are blanked so that `\bmatches` reads as `matches`
    texts = [re.sub(r"\\.", " ", source) for _, source in regexes(tm_grammar())]
    missing = sorted(w for w in lark_keywords() | EXTRA_KEYWORDS
                     if not any(re.search(rf"(?<![A-Za-z0-9_]){w}(?![A-Za-z0-9_])", t) for t in texts))
    assert not missing, f"keywords of {LARK.name} that no rule of {TM_GRAMMAR.name} matches: {missing}"


def test_the_textmate_grammar_includes_only_rules_it_defines() -> None:
    g = tm_grammar()
    defined = set(g["repository"])
    included: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, dict):
            for k, v in node.items():
                if k == "include" and isinstance(v, str):
                    included.add(v)
                else:
                    walk(v)

    walk(g)
    assert g["scopeName"] == "source.rubric"
    assert {i for i in included if not i.startswith("#")} <= {"$self", "$base"}
    assert {i[1:] for i in included if i.startswith("#")} <= defined
    assert defined <= {i[1:] for i in included if i.startswith("#")}, "a repository rule nothing includes"


def test_the_extension_contributes_the_language_grammar_and_server_settings() -> None:
    pkg = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
    (lang,) = pkg["contributes"]["languages"]
    assert lang["id"] == "rubric" and lang["extensions"] == [".rubric"]
    assert (EXTENSION / lang["configuration"]).is_file()
    (grammar,) = pkg["contributes"]["grammars"]
    assert grammar["language"] == "rubric" and grammar["scopeName"] == tm_grammar()["scopeName"]
    assert (EXTENSION / grammar["path"]).resolve() == TM_GRAMMAR
    settings = pkg["contributes"]["configuration"]["properties"]
    assert settings["rubric.server.path"]["default"] == "rubric"
    assert settings["rubric.server.args"]["default"] == ["lsp"]
    main = (EXTENSION / pkg["main"]).read_text(encoding="utf-8")
    assert "getConfiguration('rubric.server')" in main and "get('path')" in main and "get('args')" in main
    assert "vscode-languageclient" in pkg["dependencies"]
    assert pkg["license"] == "Apache-2.0"
    lock = json.loads((EXTENSION / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"][""]["dependencies"] == pkg["dependencies"]
    assert lock["packages"][""]["devDependencies"] == pkg["devDependencies"]
    conf = json.loads((EXTENSION / lang["configuration"]).read_text(encoding="utf-8"))
    assert conf["comments"]["lineComment"] == "#"
    assert ["{", "}"] in conf["brackets"]
    re.compile(conf["wordPattern"])
    assert re.fullmatch(conf["wordPattern"], "harm_categories")


def test_every_shipped_rubric_has_a_golden_token_file() -> None:
    shipped = {f"rubrics-{p.stem}" for p in (ROOT / "rubrics").glob("*/*.rubric")}
    shipped |= {f"examples-{p.stem}" for p in (ROOT / "docs" / "examples").glob("*.rubric")}
    shipped |= {f"cases-{p.stem}" for p in (EXTENSION / "test" / "cases").glob("*.rubric")}
    golden = {p.stem for p in GOLDEN.glob("*.tokens")}
    assert shipped, "no shipped rubric found"
    assert shipped == golden, ("golden token files differ from the shipped rubrics "
                               "(cd editors/vscode && node test/tokens.js --update)")


def _unavailable(why: str) -> None:
    if os.environ.get("RUBRIC_REQUIRE_EDITOR") == "1":
        pytest.fail(f"{why}; RUBRIC_REQUIRE_EDITOR=1 requires the editor token tests to run", pytrace=False)
    pytest.skip(f"{why} (the editor token tests need it; RUBRIC_REQUIRE_EDITOR=1 makes this a failure)")


def test_token_golden_files_and_scope_assertions() -> None:
    node = shutil.which("node")
    if node is None:
        _unavailable("node is not installed")
    if not (EXTENSION / "node_modules" / "vscode-textmate").is_dir():
        _unavailable("the extension's dependencies are not installed (cd editors/vscode && npm ci)")
    p = subprocess.run([node, "test/tokens.js"], cwd=EXTENSION, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, f"node test/tokens.js failed:\n{p.stdout}\n{p.stderr}"
    summary = p.stdout.strip().splitlines()[-1]
    m = re.fullmatch(r"tokens: (\d+) passed, (\d+) failed", summary)
    assert m, f"unexpected last line: {summary!r}"
    # the regexes, one per shipped rubric, and the assertions
    assert int(m.group(1)) > len(list(GOLDEN.glob("*.tokens"))) + 50
    assert m.group(2) == "0"


def test_extension_starts_the_configured_server() -> None:
    node = shutil.which("node")
    if node is None:
        _unavailable("node is not installed")
    p = subprocess.run([node, "test/extension.js"], cwd=EXTENSION, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"node test/extension.js failed:\n{p.stdout}\n{p.stderr}"
    assert re.fullmatch(r"extension: [1-9]\d* passed, 0 failed", p.stdout.strip().splitlines()[-1]), p.stdout
