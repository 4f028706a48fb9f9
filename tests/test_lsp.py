"""`rubric lsp` end to end: a real client (pytest-lsp) talks to the server over
standard input and output. One server for the module; each test opens its own
documents. What the server says is compared with what the lint API, the compiler and
the formatter give for the same text, not with lists written here."""
from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

import rubricdsl
from rubricdsl.analysis.lint import lint_text
from rubricdsl.language.fmt import format_text

ROOT = Path(__file__).resolve().parents[1]
RUBRICS = sorted(ROOT.glob("rubrics/*/*.rubric"))
# the documentation's rubrics: some with errors and warnings on purpose
EXAMPLES = sorted(ROOT.glob("docs/examples/*.rubric"))
SAFETY = ROOT / "rubrics" / "response-safety" / "response-safety.rubric"

# one server per worker for the module: every test runs on the module's event loop
# (`xdist_group` keeps the module on one worker where pytest-xdist's loadgroup works; with
# pytest 9.2 it does not, and each worker starts its own server)
pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.xdist_group("lsp")]

SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning,
            "info": types.DiagnosticSeverity.Information}


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=[sys.executable, "-m", "rubricdsl", "lsp"]))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=ROOT.as_uri()))
    yield
    await lsp_client.shutdown_session()


# ---- helpers -----------------------------------------------------------------------

_counter = iter(range(1, 10**6))


def new_uri(tmp_path: Path) -> str:
    return (tmp_path / f"doc{next(_counter)}.rubric").as_uri()


async def published(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    """The next diagnostics published for `uri` (those of the text last sent)."""
    for _ in range(6000):  # a guard against a hang, not a timing
        if uri in client.diagnostics:
            return list(client.diagnostics.pop(uri))
        await asyncio.sleep(0.01)
    raise AssertionError(f"no diagnostics were published for {uri}")


async def open_doc(client: LanguageClient, uri: str, text: str) -> list[types.Diagnostic]:
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="rubric", version=1, text=text)))
    return await published(client, uri)


async def replace_text(client: LanguageClient, uri: str, text: str, version: int) -> list[types.Diagnostic]:
    client.diagnostics.pop(uri, None)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
    return await published(client, uri)


def close_doc(client: LanguageClient, uri: str) -> None:
    client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))


def pos(text: str, offset: int) -> types.Position:
    """The protocol position (UTF-16) of an offset into `text`."""
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    return types.Position(line, len(text[start:offset].encode("utf-16-le")) // 2)


def at(text: str, needle: str, skip: int = 0, nth: int = 0) -> types.Position:
    """The position `skip` characters into the `nth` occurrence of `needle`."""
    i = -1
    for _ in range(nth + 1):
        i = text.index(needle, i + 1)
    return pos(text, i + skip)


def span_range(text: str, line: int, column: int, end_line: int, end_column: int) -> types.Range:
    lines = text.split("\n")

    def p(ln: int, col: int) -> types.Position:
        return types.Position(ln - 1, len(lines[ln - 1][: col - 1].encode("utf-16-le")) // 2)

    return types.Range(p(line, column), p(end_line, end_column))


def word_at(text: str, rng: types.Range) -> str:
    lines = text.split("\n")
    assert rng.start.line == rng.end.line
    return lines[rng.start.line][rng.start.character:rng.end.character]


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """The text with non-overlapping edits applied (last first)."""
    offsets = []
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    for e in edits:
        a = starts[e.range.start.line] + e.range.start.character
        b = starts[e.range.end.line] + e.range.end.character if e.range.end.line < len(starts) else len(text)
        offsets.append((a, b, e.new_text))
    for a, b, new in sorted(offsets, reverse=True):
        text = text[:a] + new + text[b:]
    return text


# ---- diagnostics -------------------------------------------------------------------


@pytest.mark.parametrize("path", RUBRICS + EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in RUBRICS + EXAMPLES])
async def test_a_rubric_has_the_diagnostics_lint_gives(client: LanguageClient, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    got = await open_doc(client, path.as_uri(), text)
    close_doc(client, path.as_uri())
    want = lint_text(text, str(path)).diagnostics
    ranges = [span_range(text, d.span.line, d.span.column, d.span.end_line, d.span.end_column) for d in want]
    key = lambda c, s, r: (c, s, r.start.line, r.start.character, r.end.line, r.end.character)  # noqa: E731
    assert sorted(key(d.code, d.severity, d.range) for d in got) == sorted(
        key(d.code, SEVERITY[d.severity], r) for d, r in zip(want, ranges))
    if not any(d.severity == "error" for d in want):
        assert not [d for d in got if d.severity == types.DiagnosticSeverity.Error]
    for d in got:  # each links to its code's page
        page = Path(unquote(urlparse(d.code_description.href).path))
        assert page.read_bytes() == (ROOT / "docs" / "diagnostics" / f"{d.code}.md").read_bytes()


async def test_an_error_typed_is_reported_with_its_code_range_and_page_then_cleared(
        client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    text = SAFETY.read_text(encoding="utf-8")
    assert not [d for d in await open_doc(client, uri, text) if d.code == "RB101"]
    broken = text.replace("when violence in harm_categories and intent == genuine",
                          "when violence in harm_categories and intnet == genuine")
    diags = await replace_text(client, uri, broken, 2)
    unknown = [d for d in diags if d.code == "RB101"]
    assert len(unknown) == 1
    d = unknown[0]
    assert d.severity == types.DiagnosticSeverity.Error
    assert d.range.start == at(broken, "intnet ==")
    assert word_at(broken, d.range) == "intnet"
    # the page the diagnostic links to is the code's documentation page
    page = Path(unquote(urlparse(d.code_description.href).path))
    assert page.name == "RB101.md" and page.parent.name == "diagnostics"
    assert page.read_text(encoding="utf-8") == (ROOT / "docs" / "diagnostics" / "RB101.md").read_text(encoding="utf-8")
    # the same diagnostic as lint's
    lint = [x for x in lint_text(broken, "x.rubric").diagnostics if x.code == "RB101"]
    assert [x.message for x in lint] == [d.message.split("\n")[0]]
    fixed = await replace_text(client, uri, text, 3)
    assert not [x for x in fixed if x.code == "RB101"]
    close_doc(client, uri)


async def test_changes_in_a_row_are_linted_once_typing_stops(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    text = SAFETY.read_text(encoding="utf-8")
    await open_doc(client, uri, text)
    client.diagnostics.pop(uri, None)
    typed = "and intent == genuine"
    for n in range(1, len("intent") + 1):  # `and i == genuine`, `and in == genuine`, … one change each
        partial = text.replace(typed, f"and {'intent'[:n]}x == genuine", 1)
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=n + 1),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=partial)]))
    diags = await published(client, uri)
    # the first diagnostics published after the burst are those of the last text
    assert [d.message.split(";")[0] for d in diags if d.code == "RB101"] == ["unknown name `intentx`"]
    close_doc(client, uri)


async def test_a_syntax_error_is_reported_where_lint_puts_it(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    text = 'rubric "r" version "1"\nlabel ok: bool from ok\nrule r "must" {\n  require ok and\n}\n'
    diags = await open_doc(client, uri, text)
    want = [d for d in lint_text(text, "x").diagnostics if d.severity == "error"]
    assert want
    assert sorted((d.code, d.range) for d in diags if d.severity == types.DiagnosticSeverity.Error) == sorted(
        (d.code, span_range(text, d.span.line, d.span.column, d.span.end_line, d.span.end_column)) for d in want)
    close_doc(client, uri)


# ---- hover -------------------------------------------------------------------------


async def hover_text(client: LanguageClient, uri: str, position: types.Position) -> str:
    h = await client.text_document_hover_async(types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position))
    assert h is not None
    return h.contents.value


async def test_hover_shows_a_fields_type_path_levels_and_guidance(client: LanguageClient) -> None:
    text = SAFETY.read_text(encoding="utf-8")
    uri = SAFETY.as_uri()
    await open_doc(client, uri, text)
    from rubricdsl.language.wording import plain, type_words

    field = rubricdsl.loads(text).ir.field("severity")
    value = await hover_text(client, uri, at(text, "severity >= high", 2))
    assert field.type.describe() in value
    assert plain(type_words(field.type))[1:] in value  # as the guideline says it
    assert field.path_text in value
    assert field.doc in value
    for v, meaning in field.levels:
        assert meaning in value
    close_doc(client, uri)


async def test_hover_on_an_arm_says_its_situation_in_the_guidelines_words(client: LanguageClient) -> None:
    from rubricdsl.language.wording import build_guide, plain

    text = SAFETY.read_text(encoding="utf-8")
    uri = SAFETY.as_uri()
    await open_doc(client, uri, text)
    guide = build_guide(rubricdsl.loads(text).ir)
    decide = next(d for s in guide.sections for d in s.decides if d.label == "safety")
    for needle, arm in (("edge operational_uplift", decide.edges[0]), ("when harm_categories is empty", decide.arms[0])):
        value = await hover_text(client, uri, at(text, needle, 1))
        assert plain(arm.when) in value
    close_doc(client, uri)


async def test_hover_on_a_let_or_rule_says_what_it_means_in_the_guidelines_words(client: LanguageClient) -> None:
    from rubricdsl.language.wording import build_guide, plain

    text = SAFETY.read_text(encoding="utf-8")
    uri = SAFETY.as_uri()
    await open_doc(client, uri, text)
    guide = build_guide(rubricdsl.loads(text).ir)
    for let in guide.lets:
        value = await hover_text(client, uri, at(text, f"let {let.name} ", len("let ") + 1))
        assert plain(let.means) in value
    for rule in [r for s in guide.sections for r in s.rules]:
        value = await hover_text(client, uri, at(text, f"rule {rule.name} ", len("rule ") + 1))
        assert rule.message in value and plain(rule.require) in value
        if rule.when:
            assert plain(rule.when) in value
    close_doc(client, uri)


async def test_hover_on_a_criterion_shows_its_title_scope_and_guidance(client: LanguageClient) -> None:
    from rubricdsl.language.wording import build_guide, plain

    text = SAFETY.read_text(encoding="utf-8")
    uri = SAFETY.as_uri()
    await open_doc(client, uri, text)
    rubric = rubricdsl.loads(text).ir
    sections = {s.name: s for s in build_guide(rubric).sections}
    for c in rubric.criteria:
        value = await hover_text(client, uri, at(text, f"criterion {c.name} ", len("criterion ") + 1))
        assert c.title in value
        if c.applies is not None:
            assert plain(sections[c.name].applies) in value
        if c.doc:
            assert c.doc.splitlines()[0] in value
    close_doc(client, uri)


async def test_hover_on_a_diagnostic_explains_its_code(client: LanguageClient, tmp_path: Path) -> None:
    from rubricdsl.analysis.lint import explain

    uri = new_uri(tmp_path)
    text = 'rubric "r" version "1"\ninput unused: bool from u\nlabel ok: bool from ok\nrule r "must" { require ok }\n'
    diags = await open_doc(client, uri, text)
    assert [d.code for d in diags] == ["RB208"]
    value = await hover_text(client, uri, diags[0].range.start)
    assert explain("RB208").strip().splitlines()[0] in value
    close_doc(client, uri)


# ---- definition and references -----------------------------------------------------


async def definition(client: LanguageClient, uri: str, position: types.Position) -> list[types.Location]:
    got = await client.text_document_definition_async(
        types.DefinitionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position))
    return list(got or [])


@pytest.mark.parametrize("use, decl", [
    ("severity >= high", "label severity:"),  # a field
    ("crisis_language\n", "let crisis_language"),  # a let
    ("violation categories_need_severity", "rule categories_need_severity"),  # a rule, named by an example
    ("== satire and", "satire, fiction, educational"),  # an enum value
    ("-> unsafe\n", "borderline, unsafe} from labels.safety"),  # an arm's value
    ("uncovered safety", "label safety:"),  # a decided label, named by an example
])
async def test_definition_goes_to_the_declaration(client: LanguageClient, use: str, decl: str) -> None:
    text = SAFETY.read_text(encoding="utf-8")
    assert use in text and decl in text
    uri = SAFETY.as_uri()
    await open_doc(client, uri, text)
    name_skip = {"severity >= high": 0, "crisis_language\n": 0, "== satire and": 3, "-> unsafe\n": 3}.get(use)
    if name_skip is None:
        name_skip = use.index(" ") + 1
    locations = await definition(client, uri, at(text, use, name_skip + 1))
    name = re.match(r"[A-Za-z_]+", use[name_skip:]).group(0)
    decl_at = text.index(decl) + decl.index(name)
    assert [(loc.uri, loc.range.start) for loc in locations] == [(uri, pos(text, decl_at))]
    assert word_at(text, locations[0].range) == name
    close_doc(client, uri)


async def test_references_find_every_use_of_a_field(client: LanguageClient) -> None:
    text = SAFETY.read_text(encoding="utf-8")
    uri = SAFETY.as_uri()
    await open_doc(client, uri, text)
    refs = await client.text_document_references_async(types.ReferenceParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=at(text, "intent == genuine", 1),
        context=types.ReferenceContext(include_declaration=True)))
    assert all(word_at(text, r.range) == "intent" for r in refs)
    lines = {r.range.start.line for r in refs}
    # every line where `intent` is compared or declared, the `given` entries that name it
    for m in re.finditer(r"\bintent (==|in) |label intent:|given \{[^}]*\bintent:", text):
        assert text.count("\n", 0, m.start()) in lines
    without = await client.text_document_references_async(types.ReferenceParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=at(text, "intent == genuine", 1),
        context=types.ReferenceContext(include_declaration=False)))
    assert len(without) == len(refs) - 1
    close_doc(client, uri)


async def test_references_of_an_enum_value_are_that_enums_values_only(client: LanguageClient) -> None:
    text = SAFETY.read_text(encoding="utf-8")
    uri = SAFETY.as_uri()
    await open_doc(client, uri, text)
    # `none` is a value of `severity` and of `stance`'s neighbours; the references of
    # severity's `none` are severity's
    refs = await client.text_document_references_async(types.ReferenceParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=at(text, "severity == none", 13),
        context=types.ReferenceContext(include_declaration=True)))
    assert refs and all(word_at(text, r.range) == "none" for r in refs)
    for m in re.finditer(r"severity (==|>|<|>=|<=|!=) none\b", text):
        assert pos(text, m.end() - 4) in [r.range.start for r in refs]
    assert pos(text, text.index("{none, low, medium") + 1) in [r.range.start for r in refs]
    close_doc(client, uri)


# ---- completion --------------------------------------------------------------------


async def complete(client: LanguageClient, uri: str, position: types.Position) -> list[types.CompletionItem]:
    got = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position))
    return got.items if isinstance(got, types.CompletionList) else list(got or [])


@pytest.mark.parametrize("line, field", [
    ("  when safety == ", "safety"),
    ("  when intent in {satire, ", "intent"),
    ("  when topic != ", "topic"),
])
async def test_completion_offers_the_values_of_the_enum_in_question(
        client: LanguageClient, tmp_path: Path, line: str, field: str) -> None:
    text = SAFETY.read_text(encoding="utf-8")
    anchor = '  rule rationale_substance'
    edited = text.replace(anchor, f"  rule probe \"p\" {{\n{line}\n  require true\n  }}\n\n{anchor}", 1)
    uri = new_uri(tmp_path)
    await open_doc(client, uri, edited)
    items = await complete(client, uri, at(edited, line, len(line)))
    values = rubricdsl.loads(text).ir.field(field).type.enum.values
    assert [i.label for i in items] == list(values)
    close_doc(client, uri)


async def test_completion_elsewhere_offers_names_and_keywords(client: LanguageClient, tmp_path: Path) -> None:
    text = SAFETY.read_text(encoding="utf-8")
    uri = new_uri(tmp_path)
    edited = text.replace("    when crisis_language\n", "    when \n", 1)
    await open_doc(client, uri, edited)
    labels = {i.label for i in await complete(client, uri, at(edited, "    when \n", 9))}
    ir = rubricdsl.loads(text).ir
    assert {f.name for f in ir.fields} <= labels
    assert {x.name for x in ir.lets} <= labels
    assert {"and", "not", "is", "empty", "matches"} <= labels
    close_doc(client, uri)


# ---- symbols -----------------------------------------------------------------------


async def test_document_symbols_outline_the_rubric(client: LanguageClient) -> None:
    text = SAFETY.read_text(encoding="utf-8")
    uri = SAFETY.as_uri()
    await open_doc(client, uri, text)
    got = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    names: set[str] = set()

    def walk(syms) -> None:
        for s in syms:
            names.add(s.name)
            walk(s.children or [])

    walk(got)
    ir = rubricdsl.loads(text).ir
    assert {c.name for c in ir.criteria} <= {s.name for s in got}  # criteria at the top
    assert {r.name for r in ir.rules + ir.item_rules} <= names
    assert {x.name for x in ir.lets} <= names
    assert {x.title for x in ir.examples} <= names
    assert {f"decide {d.label.name}" for d in ir.decides} <= names
    close_doc(client, uri)


# ---- formatting --------------------------------------------------------------------


async def test_formatting_gives_rubric_fmts_layout(client: LanguageClient, tmp_path: Path) -> None:
    text = SAFETY.read_text(encoding="utf-8")
    messy = text.replace("label safety: enum {safe, borderline, unsafe}",
                         "label   safety :enum{safe,borderline,unsafe}").replace("\n  rule ", "\n      rule ")
    assert messy != text
    uri = new_uri(tmp_path)
    await open_doc(client, uri, messy)
    edits = await client.text_document_formatting_async(types.DocumentFormattingParams(
        text_document=types.TextDocumentIdentifier(uri=uri), options=types.FormattingOptions(tab_size=2, insert_spaces=True)))
    assert apply(messy, edits) == format_text(messy)
    close_doc(client, uri)


async def test_formatting_leaves_a_file_with_syntax_errors_alone(client: LanguageClient, tmp_path: Path) -> None:
    text = 'rubric "r" version "1"\nlabel ok: bool from ok\nrule r "must" {\n  require ok and\n}\n'
    uri = new_uri(tmp_path)
    await open_doc(client, uri, text)
    edits = await client.text_document_formatting_async(types.DocumentFormattingParams(
        text_document=types.TextDocumentIdentifier(uri=uri), options=types.FormattingOptions(tab_size=2, insert_spaces=True)))
    assert not edits
    close_doc(client, uri)


# ---- code actions ------------------------------------------------------------------


async def code_actions(client: LanguageClient, uri: str, d: types.Diagnostic) -> list[types.CodeAction]:
    got = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=d.range, context=types.CodeActionContext(diagnostics=[d])))
    return [a for a in got or [] if isinstance(a, types.CodeAction)]


@pytest.mark.parametrize("right, wrong", [
    ("and intent == genuine", "and intnet == genuine"),  # a field
    ("intent == genuine and severity", "intent == genuin and severity"),  # an enum value
    ("require words(rationale) >= 6", "require wrods(rationale) >= 6"),  # a function
    ('at least 6 words" severity warning', 'at least 6 words" severity warnign'),  # a severity
    ("violation categories_need_severity\n", "violation categories_need_severty\n"),  # an outcome
    ("    harm_categories: {misinformation},", "    harm_categorie: {misinformation},"),  # a given entry
])
async def test_a_did_you_mean_is_a_quick_fix(client: LanguageClient, tmp_path: Path, right: str, wrong: str) -> None:
    text = SAFETY.read_text(encoding="utf-8")
    assert right in text
    broken = text.replace(right, wrong, 1)
    uri = new_uri(tmp_path)
    diags = [d for d in await open_doc(client, uri, broken) if d.severity == types.DiagnosticSeverity.Error]
    assert len(diags) == 1 and "did you mean" in diags[0].message
    actions = await code_actions(client, uri, diags[0])
    assert len(actions) == 1
    fixed = apply(broken, actions[0].edit.changes[uri])
    assert fixed == text
    close_doc(client, uri)


GAP = """rubric "g" version "1"

label harm: set {violence, hate} from harm
label level: enum {low, "very high"} from level
label safety: enum {safe, unsafe} from safety

decide safety {
  when harm is empty -> safe
  when violence in harm -> unsafe
  when hate in harm and level == low -> safe
}
"""


@pytest.mark.parametrize("code", ["RB204", "RB205"])
async def test_a_gap_or_overlap_witness_becomes_an_example(client: LanguageClient, tmp_path: Path, code: str) -> None:
    uri = new_uri(tmp_path)
    diags = await open_doc(client, uri, GAP)
    found = [d for d in diags if d.code == code]
    assert len(found) == 1
    witness = next(d for d in lint_text(GAP, "g").diagnostics if d.code == code).witness
    actions = [a for a in await code_actions(client, uri, found[0]) if "example" in a.title]
    assert len(actions) == 1
    new = apply(GAP, actions[0].edit.changes[uri])
    assert new.startswith(GAP)
    assert format_text(GAP) == GAP and format_text(new) == new  # the example comes in rubric fmt's layout
    rubric = rubricdsl.loads(new)
    (example,) = rubric.ir.examples
    def norm(values: dict) -> dict:
        return {k: sorted(v) if isinstance(v, (list, set, frozenset)) else v for k, v in values.items() if v is not None}

    assert norm(example.given) == norm(witness)
    # the example pins what the rubric gives for the witness today, so it passes
    assert [r.passed for r in rubric.test()] == [True]
    close_doc(client, uri)


# ---- the project's configuration ---------------------------------------------------

UNUSED = 'rubric "r" version "1"\ninput unused: bool from u\nlabel ok: bool from ok\nrule r "must" { require ok }\n'


async def test_the_configuration_disables_checks_for_its_files(client: LanguageClient, tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "sub").mkdir(parents=True)
    elsewhere.mkdir()
    (project / "rubric.toml").write_text('ignore = ["unused-field"]\n', encoding="utf-8")
    inside, outside = (project / "sub" / "a.rubric").as_uri(), (elsewhere / "a.rubric").as_uri()
    assert [d.code for d in await open_doc(client, outside, UNUSED)] == ["RB208"]
    assert [d.code for d in await open_doc(client, inside, UNUSED)] == []
    # errors are reported whatever the configuration says
    broken = UNUSED.replace("require ok", "require okk")
    assert [d.code for d in await replace_text(client, inside, broken, 2)] == ["RB101"]
    close_doc(client, inside)
    close_doc(client, outside)


async def test_completion_after_from_offers_the_paths_of_the_sample_data(client: LanguageClient,
                                                                          tmp_path: Path) -> None:
    from rubricdsl.engine.sampling import infer_fields, read_sample
    from rubricdsl.lsp.project import SAMPLE_RECORDS

    sample = ROOT / "rubrics" / "response-safety" / "sample.jsonl"
    (tmp_path / "rubric.toml").write_text(f"data = [{json.dumps(str(sample))}]\n", encoding="utf-8")
    uri = (tmp_path / "new.rubric").as_uri()
    text = 'rubric "r" version "1"\nlabel safety: enum {safe, unsafe} from labels.\n'
    await open_doc(client, uri, text)
    items = await complete(client, uri, at(text, "labels.", len("labels.")))
    want = {".".join(f.path) for f in infer_fields(read_sample(str(sample), SAMPLE_RECORDS))[0]}
    assert {i.label for i in items} == want
    assert "labels.safety" in want
    edit = next(i for i in items if i.label == "labels.safety").text_edit
    assert apply(text, [edit]) == text.replace("from labels.", "from labels.safety")
    close_doc(client, uri)


# ---- bad input -----------------------------------------------------------------------

BAD = {
    "empty": "",
    "header only": 'rubric "r" version "1"\n',
    "no header": "label ok: bool\n",
    "unclosed": 'rubric "r" version "1"\nlabel ok: bool from ok\ndecide ok {\n  when ok ->\n',
    "control characters": 'rubric "r\x1b[31m" version "1"\nlabel ok\x00: bool\n\U0001F600 {{{\n',
    "a lone surrogate": 'rubric "r" version "1"\nlabel ok: enum {a, b} from ok\nrule r "\ud83d" { require ok == \ud83d }\n',
    "crlf and a bom": '\ufeffrubric "r" version "1"\r\nlabel ok: bool from ok\r\nrule r "m" { require okk }\r\n',
}


@pytest.mark.parametrize("name", list(BAD))
async def test_bad_text_gets_lints_diagnostics_and_every_request_an_answer(
        client: LanguageClient, tmp_path: Path, name: str) -> None:
    text = BAD[name]
    uri = new_uri(tmp_path)
    got = await open_doc(client, uri, text)
    # the text as the server reads it: a lone surrogate (which JSON can carry) is U+FFFD
    want = lint_text(re.sub("[\ud800-\udfff]", "\ufffd", text), "x").diagnostics
    assert sorted(d.code for d in got) == sorted(d.code for d in want)
    tid = types.TextDocumentIdentifier(uri=uri)
    lines = text.replace("\r\n", "\n").split("\n")
    for line in range(len(lines) + 1):
        for character in (0, 3, 200):
            p = types.Position(line, character)
            await client.text_document_hover_async(types.HoverParams(text_document=tid, position=p))
            await client.text_document_definition_async(types.DefinitionParams(text_document=tid, position=p))
            await client.text_document_references_async(types.ReferenceParams(
                text_document=tid, position=p, context=types.ReferenceContext(include_declaration=True)))
            await client.text_document_completion_async(types.CompletionParams(text_document=tid, position=p))
    await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=tid))
    edits = await client.text_document_formatting_async(types.DocumentFormattingParams(
        text_document=tid, options=types.FormattingOptions(tab_size=2, insert_spaces=True)))
    if any(d.check == "syntax" for d in want):
        assert not edits
    for d in got:
        await client.text_document_code_action_async(types.CodeActionParams(
            text_document=tid, range=d.range, context=types.CodeActionContext(diagnostics=[d])))
    close_doc(client, uri)


# ---- imports -----------------------------------------------------------------------

COMMON = '''"""Scales the team's rubrics share."""
type likert5 = scale 1..5
level 1 "Strongly disagree"
level 5 "Strongly agree"
type tone = enum {calm, hostile}
level hostile "Insults or threats."
let max_len = 280
'''

MAIN = '''rubric "main" version "1"
import "shared/common.rubric"
input answer: text from answer
label clarity: likert5 from clarity
level 5 "Clear to a first reader"
label mood: tone from mood
rule short "answers stay short" { require len(answer) <= max_len }
rule flagged "a hostile answer is unclear" { when mood == hostile require clarity <= 2 }
'''


def write_project(tmp_path: Path) -> tuple[Path, Path]:
    """A rubric and the shared file it imports (in a subdirectory), on disk."""
    (tmp_path / "shared").mkdir()
    common = tmp_path / "shared" / "common.rubric"
    common.write_text(COMMON, encoding="utf-8")
    main = tmp_path / "main.rubric"
    main.write_text(MAIN, encoding="utf-8")
    assert not lint_text(MAIN, str(main)).diagnostics  # the pair is clean as written
    return main, common


def path_of(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


def name_at(text: str, needle: str, name: str) -> int:
    """The offset of `name` inside the first occurrence of `needle`."""
    return text.index(needle) + needle.index(name)


@pytest.mark.parametrize("use, decl, name", [
    ("clarity: likert5", "type likert5", "likert5"),  # an imported type
    ("<= max_len", "let max_len", "max_len"),  # an imported let
    ("== hostile", "calm, hostile", "hostile"),  # a value of an imported enum type
    ('level 5 "Clear', 'level 5 "Strongly', "5"),  # a level of an imported scale type
])
async def test_definition_of_an_imported_name_is_its_declaration_in_the_imported_file(
        client: LanguageClient, tmp_path: Path, use: str, decl: str, name: str) -> None:
    main, common = write_project(tmp_path)
    await open_doc(client, main.as_uri(), MAIN)  # the imported file is not open: read from disk
    locations = await definition(client, main.as_uri(), pos(MAIN, name_at(MAIN, use, name) + 1))
    assert len(locations) == 1
    loc = locations[0]
    assert path_of(loc.uri) == common
    assert loc.range.start == pos(COMMON, name_at(COMMON, decl, name))
    assert word_at(COMMON, loc.range) == name
    close_doc(client, main.as_uri())


async def test_definition_on_an_import_path_opens_the_imported_file(client: LanguageClient, tmp_path: Path) -> None:
    main, common = write_project(tmp_path)
    await open_doc(client, main.as_uri(), MAIN)
    locations = await definition(client, main.as_uri(), at(MAIN, "shared/common", 3))
    assert [(path_of(loc.uri), loc.range.start, loc.range.end) for loc in locations] == [
        (common, types.Position(0, 0), types.Position(0, 0))]
    # a path that names no file goes nowhere
    missing = MAIN.replace("shared/common.rubric", "shared/nothing.rubric")
    await replace_text(client, main.as_uri(), missing, 2)
    assert await definition(client, main.as_uri(), at(missing, "shared/nothing", 3)) == []
    close_doc(client, main.as_uri())


async def references(client: LanguageClient, uri: str, position: types.Position,
                     declaration: bool = True) -> set[tuple[Path, int, int]]:
    got = await client.text_document_references_async(types.ReferenceParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position,
        context=types.ReferenceContext(include_declaration=declaration)))
    return {(path_of(r.uri), r.range.start.line, r.range.start.character) for r in got or []}


def words(path: Path, text: str, word: str) -> set[tuple[Path, int, int]]:
    """Every place `word` stands as a whole word in `text` outside strings."""
    out = set()
    for m in re.finditer(rf"\b{word}\b", text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        if text[line_start:m.start()].count('"') % 2 == 0:
            p = pos(text, m.start())
            out.add((path, p.line, p.character))
    return out


async def test_references_of_an_imported_declaration_reach_the_rubrics_that_import_it(
        client: LanguageClient, tmp_path: Path) -> None:
    main, common = write_project(tmp_path)
    # a second rubric that imports the file, and one that declares the same names itself
    other = tmp_path / "other.rubric"
    other_text = MAIN.replace('"main"', '"other"').replace("<= max_len", "<= max_len - 30")
    other.write_text(other_text, encoding="utf-8")
    alone = tmp_path / "alone.rubric"
    alone_text = ('rubric "alone" version "1"\nlet max_len = 10\ninput answer: text from answer\n'
                  'label mood: enum {calm, hostile} from mood\n'
                  'rule short "short" { when mood == hostile require len(answer) <= max_len }\n')
    alone.write_text(alone_text, encoding="utf-8")
    for path, text in ((main, MAIN), (other, other_text), (alone, alone_text), (common, COMMON)):
        await open_doc(client, path.as_uri(), text)
    # from the declaration in the imported file
    got = await references(client, common.as_uri(), at(COMMON, "let max_len", 5))
    want = words(common, COMMON, "max_len") | words(main, MAIN, "max_len") | words(other, other_text, "max_len")
    assert got == want and len(want) == 3
    assert await references(client, common.as_uri(), at(COMMON, "let max_len", 5), declaration=False) == (
        want - words(common, COMMON, "max_len"))
    # from a use in a rubric: the same places; the value `hostile` of the imported type
    # (its declaration and its level line in the imported file), never `alone`'s own
    assert await references(client, main.as_uri(), at(MAIN, "<= max_len", 4)) == want
    got = await references(client, main.as_uri(), at(MAIN, "== hostile", 4))
    assert got == words(common, COMMON, "hostile") | words(main, MAIN, "hostile") | words(
        other, other_text, "hostile")
    assert not {p for p, _, _ in got} & {alone}
    # with the imported file closed, a rubric's request still reaches its declaration there
    close_doc(client, common.as_uri())
    assert await references(client, main.as_uri(), at(MAIN, "<= max_len", 4)) == want
    for path in (main, other, alone):
        close_doc(client, path.as_uri())


def set_folder(client: LanguageClient, folder: Path, added: bool) -> None:
    """Add (or remove) a workspace folder, as an editor does when one is opened."""
    change = [types.WorkspaceFolder(uri=folder.as_uri(), name=folder.name)]
    client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
        event=types.WorkspaceFoldersChangeEvent(added=change if added else [], removed=[] if added else change)))


async def test_references_of_a_shared_declaration_reach_the_workspaces_rubrics_that_are_not_open(
        client: LanguageClient, tmp_path: Path) -> None:
    """Renaming a shared type or let starts from its references: the rubrics of the
    workspace folders that import it are read from disk, open or not, and read again
    once they change."""
    project = tmp_path / "project"
    project.mkdir()
    main, common = write_project(project)
    other = project / "guides" / "other.rubric"
    other.parent.mkdir()
    other_text = (MAIN.replace('"main"', '"other"').replace("shared/common.rubric", "../shared/common.rubric")
                  .replace("<= max_len", "<= max_len - 30"))
    other.write_text(other_text, encoding="utf-8")
    alone = project / "alone.rubric"  # the same name, its own declaration
    alone_text = ('rubric "alone" version "1"\nlet max_len = 10\ninput answer: text from answer\n'
                  'rule short "short" { require len(answer) <= max_len }\n')
    alone.write_text(alone_text, encoding="utf-8")
    hidden = project / ".cache" / "copy.rubric"  # a hidden directory is not read
    hidden.parent.mkdir()
    hidden.write_text(MAIN.replace("shared/common.rubric", "../shared/common.rubric"), encoding="utf-8")
    set_folder(client, project, True)
    try:
        await open_doc(client, common.as_uri(), COMMON)  # only the shared file is open
        want = words(common, COMMON, "max_len") | words(main, MAIN, "max_len") | words(other, other_text, "max_len")
        assert len(want) == 3
        assert await references(client, common.as_uri(), at(COMMON, "let max_len", 5)) == want
        # a rubric edited on disk is read again: its use is gone from the references
        edited = other_text.replace("<= max_len - 30", "<= 70")
        other.write_text(edited, encoding="utf-8")
        assert await references(client, common.as_uri(), at(COMMON, "let max_len", 5)) == (
            want - words(other, other_text, "max_len"))
        close_doc(client, common.as_uri())
    finally:
        set_folder(client, project, False)


async def test_hover_on_an_imported_name_says_where_it_is_declared(client: LanguageClient, tmp_path: Path) -> None:
    main, common = write_project(tmp_path)
    await open_doc(client, main.as_uri(), MAIN)
    clarity = rubricdsl.load(main).ir.field("clarity")
    value = await hover_text(client, main.as_uri(), at(MAIN, "clarity: likert5", len("clarity: ") + 1))
    line = COMMON[:COMMON.index("type likert5")].count("\n") + 1
    assert f"`shared/common.rubric`, line {line}" in value
    assert clarity.type.describe() in value
    assert "Strongly disagree" in value and "Strongly agree" in value
    value = await hover_text(client, main.as_uri(), at(MAIN, "<= max_len", 4))
    line = COMMON[:COMMON.index("let max_len")].count("\n") + 1
    assert "max_len" in value and f"`shared/common.rubric`, line {line}" in value
    # what the imported file's own hover shows for its declaration, and where it is
    await open_doc(client, common.as_uri(), COMMON)
    local = await hover_text(client, common.as_uri(), at(COMMON, "type likert5", len("type ") + 1))
    imported = await hover_text(client, main.as_uri(), at(MAIN, "clarity: likert5", len("clarity: ") + 1))
    assert imported.startswith(local) and "Declared in" not in local
    close_doc(client, common.as_uri())
    close_doc(client, main.as_uri())


async def test_an_edit_of_an_open_imported_file_relints_the_rubrics_that_import_it(
        client: LanguageClient, tmp_path: Path) -> None:
    main, common = write_project(tmp_path)
    assert await open_doc(client, main.as_uri(), MAIN) == []
    client.diagnostics.pop(main.as_uri(), None)
    await open_doc(client, common.as_uri(), COMMON)
    # opening the imported file lints the rubric again (from the editor's text: the same)
    assert await published(client, main.as_uri()) == []
    # the let removed in the editor, not on disk: the rubric's use of it is unknown
    edited = COMMON.replace("let max_len = 280\n", "")
    await replace_text(client, common.as_uri(), edited, 2)
    diags = await published(client, main.as_uri())
    assert [(d.code, word_at(MAIN, d.range)) for d in diags] == [("RB101", "max_len")]
    assert common.read_text(encoding="utf-8") == COMMON
    # an error inside the imported file: shown at the rubric's import line, with its place there
    broken = COMMON.replace('level 5 "Strongly agree"', 'level 7 "Strongly agree"')
    want = lint_text(broken, str(common)).diagnostics
    assert [d.code for d in want] == ["RB103"]
    client.diagnostics.pop(main.as_uri(), None)
    assert [d.code for d in await replace_text(client, common.as_uri(), broken, 3)] == ["RB103"]
    diags = await published(client, main.as_uri())
    assert [d.code for d in diags] == ["RB103"]
    d = diags[0]
    assert word_at(MAIN, d.range) == '"shared/common.rubric"'
    assert str(common) in d.message
    [related] = d.related_information
    assert path_of(related.location.uri) == common
    assert related.location.range == span_range(broken, want[0].span.line, want[0].span.column,
                                                want[0].span.end_line, want[0].span.end_column)
    # hover on the import line explains it; at its offset in the imported file's text it is not here
    from rubricdsl.analysis.lint import explain

    value = await hover_text(client, main.as_uri(), at(MAIN, "shared/common", 2))
    assert "RB103" in value and explain("RB103").strip().splitlines()[0] in value
    elsewhere = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=main.as_uri()), position=pos(MAIN, want[0].span.start)))
    assert elsewhere is None or "RB103" not in elsewhere.contents.value
    # closed unsaved: the rubric reads the file from disk again
    client.diagnostics.pop(main.as_uri(), None)
    close_doc(client, common.as_uri())
    assert await published(client, main.as_uri()) == []
    close_doc(client, main.as_uri())


async def test_an_imported_file_opened_alone_has_its_own_diagnostics_symbols_and_hover(
        client: LanguageClient, tmp_path: Path) -> None:
    _main, common = write_project(tmp_path)
    uri = common.as_uri()
    # no header, no field: not a rubric, and none of its lets is "never read"
    assert await open_doc(client, uri, COMMON) == []
    got = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    assert [(s.name, s.kind) for s in got] == [("likert5", types.SymbolKind.Class), ("tone", types.SymbolKind.Class),
                                              ("max_len", types.SymbolKind.Variable)]
    assert [word_at(COMMON, s.selection_range) for s in got] == ["likert5", "tone", "max_len"]
    value = await hover_text(client, uri, at(COMMON, "type tone", len("type ") + 1))
    assert "enum {calm, hostile}" in value and "Insults or threats." in value
    value = await hover_text(client, uri, at(COMMON, "level hostile", len("level ") + 1))
    assert "Insults or threats." in value
    # its own errors, as lint gives them; a header changes nothing
    bad = 'rubric "common" version "1"\n' + COMMON.replace("= 280", "= 280 + nope").replace("level 5", "level 7")
    diags = await replace_text(client, uri, bad, 2)
    want = lint_text(bad, str(common)).diagnostics
    assert sorted(d.code for d in want) == ["RB101", "RB103"]
    assert sorted((d.code, d.range.start.line, d.range.start.character) for d in diags) == sorted(
        (d.code, d.span.line - 1, d.span.column - 1) for d in want)
    close_doc(client, uri)


BASE = '''type grade = enum {low, mid, high}
level high "Needs a reviewer."
let limit = 3
'''

MIDDLE = '''import "base.rubric"
type risk = grade
let twice = limit * 2
'''

TOP = '''rubric "top" version "1"
import "shared/middle.rubric"
input n: int from n
label r: risk from r
rule big "a high risk stays small" { when r == high require n <= twice }
'''


async def test_imports_of_imports_are_followed_to_their_declarations(client: LanguageClient, tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    base, middle, top = tmp_path / "shared" / "base.rubric", tmp_path / "shared" / "middle.rubric", tmp_path / "top.rubric"
    for path, text in ((base, BASE), (middle, MIDDLE), (top, TOP)):
        path.write_text(text, encoding="utf-8")
    assert not lint_text(TOP, str(top)).diagnostics
    assert await open_doc(client, top.as_uri(), TOP) == []

    async def goes(uri: str, text: str, use: str, name: str) -> tuple[Path, types.Position]:
        [loc] = await definition(client, uri, pos(text, name_at(text, use, name) + 1))
        return path_of(loc.uri), loc.range.start

    assert await goes(top.as_uri(), TOP, "r: risk", "risk") == (middle, pos(MIDDLE, name_at(MIDDLE, "type risk", "risk")))
    assert await goes(top.as_uri(), TOP, "<= twice", "twice") == (middle, pos(MIDDLE, MIDDLE.index("twice")))
    # a value of a type that names a type of another file: declared in that file
    assert await goes(top.as_uri(), TOP, "== high", "high") == (base, pos(BASE, name_at(BASE, "mid, high", "high")))
    value = await hover_text(client, top.as_uri(), at(TOP, "== high", 4))
    assert "Needs a reviewer." in value and "`shared/base.rubric`, line 1" in value
    # what an import line brings in, its own and through its imports
    value = await hover_text(client, top.as_uri(), at(TOP, "shared/middle", 2))
    assert all(f"`{n}`" in value for n in ("risk", "twice", "grade", "limit"))
    # completion offers the imported lets, and the values of an imported enum type
    edited = TOP.replace("require n <= twice", "require n <= ")
    await replace_text(client, top.as_uri(), edited, 2)
    labels = {i.label for i in await complete(client, top.as_uri(), at(edited, "n <= ", len("n <= ")))}
    assert {"twice", "limit"} <= labels
    edited = TOP.replace("when r == high", "when r == ")
    await replace_text(client, top.as_uri(), edited, 3)
    assert [i.label for i in await complete(client, top.as_uri(), at(edited, "r == ", len("r == ")))] == [
        "low", "mid", "high"]
    # from the middle file, opened: its import's let
    await open_doc(client, middle.as_uri(), MIDDLE)
    assert await goes(middle.as_uri(), MIDDLE, "limit * 2", "limit") == (base, pos(BASE, BASE.index("limit")))
    close_doc(client, middle.as_uri())
    close_doc(client, top.as_uri())
