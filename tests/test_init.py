"""`rubric init`: a starting rubric from a Label Studio labeling config or Argilla dataset
settings. Each control type maps to its typed label; the rubric written from each
shipped config compiles, lints without errors, and finds in the shipped sample the same
invalid judgments as the hand-written rubric; bad configurations are one line, exit 2."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import rubric

import rubricdsl
from rubricdsl.analysis.lint import lint_text
from rubricdsl.language.scaffold import ScaffoldError, scaffold

ROOT = Path(__file__).resolve().parents[1]
LS_DIR = ROOT / "rubrics" / "label-studio-toxicity"
AR_DIR = ROOT / "rubrics" / "argilla-feedback"


def ls_config(controls: str, objects: str = '<Text name="text" value="$text"/>') -> bytes:
    return f"<View>\n  {objects}\n  {controls}\n</View>\n".encode()


def declarations(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("label ", "input "))]


# (control XML, the label line it gives)
LS_CASES = [
    ('<Choices name="toxic" toName="text" required="true"><Choice value="yes"/><Choice value="no"/></Choices>',
     'label toxic: enum {yes, no} from @result[from_name = "toxic"].value.choices[0]'),
    ('<Choices name="tags" toName="text" choice="multiple"><Choice value="a"/><Choice value="b"/></Choices>',
     'label tags: set {a, b} from @result[from_name = "tags"].value.choices optional'),
    ('<Choices name="answer" toName="text"><Choice value="true"/><Choice value="self-harm"/>'
     '<Choice value="hate speech"/><Choice value="0"/><Choice value="ok"/></Choices>',
     'label answer: enum {"true", "self-harm", "hate speech", "0", ok} '
     'from @result[from_name = "answer"].value.choices[0] optional'),
    ('<Choices name="c" toName="text"><Choice value="Yes" alias="yes"/><Choice value="No" alias="no"/></Choices>',
     'label c: enum {yes, no} from @result[from_name = "c"].value.choices[0] optional'),
    ('<Rating name="stars" toName="text" maxRating="10"/>',
     'label stars: int 1..10 from @result[from_name = "stars"].value.rating optional'),
    ('<Rating name="stars" toName="text" required="true"/>',
     'label stars: int 1..5 from @result[from_name = "stars"].value.rating'),
    ('<Number name="score" toName="text" min="0" max="2.5"/>',
     'label score: number 0..2.5 from @result[from_name = "score"].value.number optional'),
    ('<Number name="score" toName="text" min="0"/>',
     'label score: number from @result[from_name = "score"].value.number optional'),
    ('<TextArea name="why" toName="text"/>',
     'label why: text from @result[from_name = "why"].value.text[0] optional'),
    ('<Taxonomy name="topic" toName="text"><Choice value="animals"><Choice value="cats"/></Choice>'
     '<Choice value="plants"/></Taxonomy>',
     'label topic: set {animals, cats, plants} from @result[from_name = "topic"].value.taxonomy[0] optional'),
    ('<Choices name="is toxic?" toName="text"><Choice value="y"/></Choices>',
     'label is_toxic: enum {y} from @result[from_name = "is toxic?"].value.choices[0] optional'),
    ('<Choices name="in" toName="text"><Choice value="y"/></Choices>',
     'label in_: enum {y} from @result[from_name = "in"].value.choices[0] optional'),
]


@pytest.mark.parametrize(("control", "expected"), LS_CASES, ids=[c[1].split(":")[0] for c in LS_CASES])
def test_label_studio_control_maps_to_its_typed_label(control: str, expected: str) -> None:
    out = scaffold(ls_config(control), "config.xml", "t")
    assert expected in declarations(out.text)
    assert "input text: text from data.text" in declarations(out.text)
    assert out.notes == []
    rubricdsl.loads(out.text)  # it compiles


def test_label_studio_data_fields_are_the_ones_controls_point_at() -> None:
    xml = ls_config('<Choices name="ok" toName="body,img"><Choice value="y"/></Choices>',
                    '<Text name="body" value="$comment"/><Image name="img" value="$image url"/>'
                    '<Text name="unused" value="$other"/>')
    decls = declarations(scaffold(xml, "c.xml", "t").text)
    assert 'input comment: text from data.comment' in decls
    assert 'input image_url: text from data."image url"' in decls
    assert not any("other" in d for d in decls)


def test_quoted_choice_values_check_as_the_tool_writes_them() -> None:
    xml = ls_config('<Choices name="answer" toName="text" required="true"><Choice value="true"/>'
                    '<Choice value="self-harm"/></Choices>')
    r = rubricdsl.loads(scaffold(xml, "c.xml", "t").text)

    def task(choice: object) -> dict:
        return {"id": 1, "data": {"text": "x"}, "annotations": [
            {"id": 7, "completed_by": 1, "was_cancelled": False,
             "result": [{"from_name": "answer", "value": {"choices": [choice]}}]}]}

    assert [f.kind for f in r.check(task("self-harm"))] == []
    assert [f.kind for f in r.check(task("true"))] == []
    assert [f.kind for f in r.check(task(True))] == ["invalid"]
    assert [f.kind for f in r.check(task("maybe"))] == ["invalid"]


# (question settings, the label line it gives)
AR_CASES = [
    ({"name": "sentiment", "settings": {"type": "label_selection", "options": [{"value": "pos"}, {"value": "neg"}]}},
     "label sentiment: enum {pos, neg} from @value"),
    ({"name": "topics", "type": "multi_label", "labels": ["a", "b-c"]},
     'label topics: set {a, "b-c"} from @value'),
    ({"name": "topics", "type": "label", "labels": {"x": "X", "y": "Y"}},
     "label topics: enum {x, y} from @value"),
    ({"name": "quality", "settings": {"type": "rating", "options": [{"value": v} for v in (1, 2, 3, 4, 5, 6, 7)]}},
     "label quality: int 1..7 from @value"),
    ({"name": "quality", "type": "rating", "values": [0, 1, 2]},
     "label quality: int 0..2 from @value"),
    ({"name": "note", "required": False, "settings": {"type": "text"}},
     "label note: text from @value"),
]


@pytest.mark.parametrize(("question", "expected"), AR_CASES, ids=[c[1].split(":")[0] for c in AR_CASES])
def test_argilla_question_maps_to_its_typed_label(question: dict, expected: str) -> None:
    settings = {"fields": [{"name": "prompt", "settings": {"type": "text"}}], "questions": [question]}
    out = scaffold(json.dumps(settings).encode(), "settings.json", "t")
    decls = declarations(out.text)
    assert expected in decls
    assert "input prompt: text from fields.prompt" in decls
    assert f"  each      = responses.{question['name']}" in out.text
    rubricdsl.loads(out.text)


def test_argilla_span_question_is_noted_and_other_questions_point_to_their_list() -> None:
    settings = {"fields": [{"name": "text", "required": False}], "questions": [
        {"name": "entities", "settings": {"type": "span", "field": "text", "options": [{"value": "PER"}]}},
        {"name": "label", "settings": {"type": "label_selection", "options": [{"value": "a"}]}},
        {"name": "comment", "settings": {"type": "text"}},
    ], "metadata": [{"name": "score", "settings": {"type": "float", "min": 0, "max": 1}},
                    {"name": "n", "settings": {"type": "integer", "min": 1, "max": 9}}]}
    out = scaffold(json.dumps(settings).encode(), "settings.json", "t")
    decls = declarations(out.text)
    assert "label label: enum {a} from @value" in decls
    assert "input text: text from fields.text optional" in decls
    assert "input score: number 0..1 from metadata.score optional" in decls
    assert "input n: int 1..9 from metadata.n optional" in decls
    assert len(out.notes) == 2
    assert '"entities"' in out.notes[0] and '"comment"' in out.notes[1]
    assert sum(line.startswith("# NOTE:") for line in out.text.splitlines()) == 2
    rubricdsl.loads(out.text)


def test_argilla_settings_with_nothing_to_judge_are_refused() -> None:
    settings = {"fields": [{"name": "text"}], "questions": [{"name": "e", "settings": {"type": "span"}}]}
    with pytest.raises(ScaffoldError):
        scaffold(json.dumps(settings).encode(), "settings.json", "t")


# ---- the shipped configs, end to end ---------------------------------------------------------


def invalid_judgments(rubric_path: Path, sample: Path) -> set[tuple[str, str]]:
    ran = rubric("check", str(rubric_path), str(sample), "--format", "json", text=True)
    assert ran.returncode in (0, 1), ran.err
    return {(f["record"], f["judgment"]) for f in json.loads(ran.out)["findings"] if f["kind"] == "invalid"}


@pytest.mark.parametrize(("config", "shipped"), [
    (LS_DIR / "labeling-config.xml", LS_DIR / "label-studio-toxicity.rubric"),
    (AR_DIR / "settings.json", AR_DIR / "argilla-feedback.rubric"),
], ids=["label-studio", "argilla"])
def test_shipped_config_gives_a_rubric_that_reads_the_sample(tmp_path: Path, config: Path, shipped: Path) -> None:
    out = tmp_path / "started.rubric"
    ran = rubric("init", str(config), "-o", str(out), text=True)
    assert ran.returncode == 0, ran.err
    assert ran.out == "" and ran.err == ""
    text = out.read_text(encoding="utf-8")
    rubricdsl.loads(text)
    lint = lint_text(text, str(out))
    assert [d.code for d in lint.diagnostics if d.severity == "error"] == []
    sample = config.parent / "sample.json"
    found = invalid_judgments(out, sample)
    assert found  # the samples hold malformed judgments on purpose
    assert found == invalid_judgments(shipped, sample)


def test_without_output_the_rubric_goes_to_standard_output(tmp_path: Path) -> None:
    ran = rubric("init", str(LS_DIR / "labeling-config.xml"), text=True)
    assert ran.returncode == 0
    assert ran.out.startswith('rubric "labeling-config" version "0.1"\n')
    assert "label toxic: enum {yes, no}" in ran.out
    assert list(tmp_path.iterdir()) == []


# ---- bad input --------------------------------------------------------------------------------

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<View><Text name="text" value="$text"/><Header value="&lol9;"/></View>
"""


def one_line_error(ran) -> str:
    assert ran.returncode == 2
    assert ran.out == ""
    assert ran.err.count("\n") == 1 and ran.err.startswith("rubric: error: ")
    return ran.err


def test_entity_bomb_is_one_line_error(tmp_path: Path) -> None:
    src = tmp_path / "bomb.xml"
    src.write_bytes(BOMB)
    err = one_line_error(rubric("init", str(src), "-o", str(tmp_path / "out.rubric"), text=True))
    assert f"{src}:2:" in err and "DOCTYPE" in err
    assert not (tmp_path / "out.rubric").exists()


def test_external_entity_is_refused_too(tmp_path: Path) -> None:
    src = tmp_path / "ext.xml"
    src.write_text('<!DOCTYPE v SYSTEM "/etc/passwd"><View/>\n')
    assert "DOCTYPE" in one_line_error(rubric("init", str(src), text=True))


def test_malformed_xml_is_one_line_error_with_its_line(tmp_path: Path) -> None:
    src = tmp_path / "bad.xml"
    src.write_text('<View>\n  <Text name="text" value="$text"/>\n  <Choices name="a" toName="text">\n</View>\n')
    assert f"{src}:4:" in one_line_error(rubric("init", str(src), text=True))


@pytest.mark.parametrize("content", [b"", b"not a config", b'{"records": []}', b"[1, 2]", b'{"fields": '],
                         ids=["empty", "text", "json-object", "json-array", "truncated-json"])
def test_what_is_no_config_is_one_line_error(tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "config"
    src.write_bytes(content)
    assert str(src) in one_line_error(rubric("init", str(src), text=True))


def test_missing_source_is_one_line_error(tmp_path: Path) -> None:
    assert "cannot read" in one_line_error(rubric("init", str(tmp_path / "nope.xml"), text=True))


def test_unknown_control_is_noted_not_mapped(tmp_path: Path) -> None:
    src = tmp_path / "c.xml"
    src.write_bytes(ls_config('<Labels name="ner" toName="text"><Label value="PER"/></Labels>\n'
                              '  <Choices name="ok" toName="text"><Choice value="y"/></Choices>'))
    ran = rubric("init", str(src), text=True)
    assert ran.returncode == 0
    assert "<Labels>" in ran.err and '"ner"' in ran.err and ran.err.startswith("rubric: note: ")
    assert any(line.startswith("# NOTE:") and "<Labels>" in line for line in ran.out.splitlines())
    assert not any(d.startswith("label ner") for d in declarations(ran.out))
    rubricdsl.loads(ran.out)


def test_existing_output_is_refused_without_force(tmp_path: Path) -> None:
    out = tmp_path / "mine.rubric"
    out.write_text("my own rubric\n")
    src = str(LS_DIR / "labeling-config.xml")
    err = one_line_error(rubric("init", src, "-o", str(out), text=True))
    assert "--force" in err
    assert out.read_text() == "my own rubric\n"
    ran = rubric("init", src, "-o", str(out), "--force", text=True)
    assert ran.returncode == 0
    assert out.read_text().startswith('rubric "mine" version "0.1"\n')


def test_output_over_the_source_is_refused_even_with_force(tmp_path: Path) -> None:
    src = tmp_path / "c.xml"
    src.write_bytes(ls_config('<Choices name="ok" toName="text"><Choice value="y"/></Choices>'))
    one_line_error(rubric("init", str(src), "-o", str(src), "--force", text=True))
    assert src.read_bytes().startswith(b"<View>")


def test_from_overrides_detection(tmp_path: Path) -> None:
    src = tmp_path / "c.xml"
    src.write_bytes(ls_config('<Choices name="ok" toName="text"><Choice value="y"/></Choices>'))
    assert str(src) in one_line_error(rubric("init", str(src), "--from", "argilla", text=True))
    assert rubric("init", str(src), "--from", "label-studio").returncode == 0


def test_config_without_controls_gives_a_rubric_without_labels_and_a_note(tmp_path: Path) -> None:
    src = tmp_path / "c.xml"
    src.write_bytes(ls_config(""))
    ran = rubric("init", str(src), text=True)
    assert ran.returncode == 0
    assert ran.err.startswith("rubric: note: ") and ran.err.count("\n") == 1
    assert not any(d.startswith("label ") for d in declarations(ran.out))
    rubricdsl.loads(ran.out)


@pytest.mark.parametrize("settings", [
    {"fields": {"review": {}}, "questions": []},
    {"fields": [], "questions": [{"title": "no name"}]},
], ids=["fields-not-a-list", "question-without-name"])
def test_argilla_settings_of_the_wrong_shape_are_one_line_error(tmp_path: Path, settings: dict) -> None:
    src = tmp_path / "settings.json"
    src.write_text(json.dumps(settings))
    assert str(src) in one_line_error(rubric("init", str(src), text=True))


def test_output_in_a_missing_directory_is_one_line_error(tmp_path: Path) -> None:
    err = one_line_error(rubric("init", str(LS_DIR / "labeling-config.xml"), "-o",
                                str(tmp_path / "no" / "such.rubric"), text=True))
    assert "such.rubric" in err


def _body(shipped: str) -> str:
    """The shipped rubric's guideline proper: from its first `let` to its first example."""
    start = shipped.index("\nlet ")
    return shipped[start:shipped.index("\nexample ")]


def _findings(rubric_path: Path, sample: Path) -> list[tuple]:
    ran = rubric("check", str(rubric_path), str(sample), "--format", "json", text=True)
    assert ran.returncode in (0, 1), ran.err
    return sorted((f["kind"], f["severity"], f["rule"] or "", f["label"] or "", f["target"] or "", f["record"],
                   f.get("judgment") or "", f["line"]) for f in json.loads(ran.out)["findings"])


@pytest.mark.parametrize(("config", "shipped", "extra", "renames"), [
    (LS_DIR / "labeling-config.xml", LS_DIR / "label-studio-toxicity.rubric",
     "input source: enum {forum, chat, review} from data.source\n", {}),
    (AR_DIR / "settings.json", AR_DIR / "argilla-feedback.rubric",
     "input suggested: enum {positive, negative, neutral, mixed} from suggestions.sentiment.value optional\n"
     "input suggestion_score: number 0..1 from suggestions.sentiment.score optional\n",
     {"text": "review", "product": "category"}),
], ids=["label-studio", "argilla"])
def test_the_started_rubric_with_the_shipped_guideline_finds_what_the_shipped_rubric_finds(
        tmp_path: Path, config: Path, shipped: Path, extra: str, renames: dict[str, str]) -> None:
    """What an author does after `rubric init`: add the inputs the config does not know
    of and write the guideline's decisions and rules (here, the shipped ones, with the
    started rubric's names for its fields)."""
    import re  # noqa: PLC0415

    started = tmp_path / "started.rubric"
    assert rubric("init", str(config), "-o", str(started)).returncode == 0
    body = _body(shipped.read_text(encoding="utf-8"))
    for old, new in renames.items():
        body = re.sub(rf"\b{old}\b(?= (?:matches|contains|in|is)\b| ==| !=)", new, body)
    started.write_text(started.read_text(encoding="utf-8") + extra + body + "\n", encoding="utf-8")
    sample = config.parent / "sample.json"
    assert _findings(started, sample) == _findings(shipped, sample)
