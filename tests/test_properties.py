"""Property tests (Hypothesis): checking never raises, and compiling raises nothing but
RubricError, whatever the input."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rubricdsl
from rubricdsl.core.paths import put
from rubricdsl.core.diagnostics import RubricError

EVERY_TYPE = '''rubric "every-type" version "1"
record { id = meta.id  item = meta.item  annotator = meta.who }
input prompt: text from data."prompt text"
input domain: enum {general, medical, "self-harm"} from data.domain optional
label flag: bool from labels.flag
label stars: int 1..5 from labels.stars
label free: int from labels.free optional
label score: number 0..1 from labels.score optional
label ratio: number from labels.ratio optional
label note: text from labels.notes[0].text optional
label safety: enum {safe, borderline, unsafe} from labels.safety
label severity: enum ordered {none, low, high} from labels.severity required when safety != safe
label harm: set {violence, hate, "self-harm"} from labels.harm
label conf: scale -2..2 from labels.conf optional
let per_star = score / (stars - 3)
let long_note = len(note) > 20 or words(note) >= 4
let sensitive = domain in {medical, "self-harm"} or prompt matches /\\b(dose|kill)\\b/i
criterion harm_crit "Harm" {
  applies when not (domain == general)
  decide safety {
    edge satire "satire" when flag and violence in harm -> borderline, unsafe
    when harm is empty -> safe
    when harm any of {violence, hate} -> unsafe
    when count(harm) >= 2 -> unsafe, borderline
    otherwise -> borderline
  }
  rule severe "unsafe is severe" severity warning { when safety == unsafe require severity >= low }
}
decide stars first { when per_star > 0.1 -> 4, 5  when conf < 0 -> 1, 2  when sensitive -> 3 }
decide conf { when long_note -> 1, 2  when note contains prompt -> 0 }
rule note_mentions "a note for risky answers" { when harm all of {hate} or harm none of {violence} require note is present and not (note == "") }
rule ratio_sane "ratio" severity info { require ratio * 2 + free - 1 > -(free) or ratio is missing }
escalate senior sensitive_low "sensitive, low stars" { when sensitive and stars <= 2 and harm is not empty }
'''

RUBRIC = rubricdsl.loads(EVERY_TYPE)
PATHS = [
    ("data", "prompt text"), ("data", "domain"), ("labels", "flag"), ("labels", "stars"), ("labels", "free"),
    ("labels", "score"), ("labels", "ratio"), ("labels", "notes", 0, "text"), ("labels", "safety"),
    ("labels", "severity"), ("labels", "harm"), ("labels", "conf"), ("meta", "id"), ("meta", "item"), ("meta", "who"),
]
KINDS = {"violation", "uncovered", "ambiguous", "invalid", "unreadable", "escalation"}

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
           | st.sampled_from(["safe", "borderline", "unsafe", "none", "low", "high", "violence", "hate",
                              "self-harm", "general", "medical", "dose", "", "3", "true"]))
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
plausible = (json_values | st.integers(-3, 6) | st.floats(-1.5, 1.5, allow_nan=False)
             | st.lists(st.sampled_from(["violence", "hate", "self-harm", "sex"]), max_size=4))


@st.composite
def records(draw) -> dict:
    record = draw(st.dictionaries(st.sampled_from(["data", "labels", "meta", "x"]), json_values, max_size=3))
    for path in PATHS:
        if draw(st.booleans()):
            put(record, path, draw(plausible))
    return record


def _check_findings(findings: list[dict], line: int) -> None:
    for f in findings:
        assert f["kind"] in KINDS
        assert f["severity"] in ("error", "warning", "info")
        assert isinstance(f["record"], str) and f["line"] == line
        if f["kind"] in ("ambiguous", "violation") and f["arms"] is not None:
            assert f["arms"] and all(isinstance(a, str) for a in f["arms"])
        json.dumps(f, default=str)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_check_never_raises_on_json_objects(record: dict) -> None:
    findings = RUBRIC.check_dicts(record, line=7)
    _check_findings(findings, 7)
    models = RUBRIC.check(record, line=7)  # the pydantic models accept every finding
    assert [m.kind for m in models] == [f["kind"] for f in findings]
    # an invalid field is reported once
    invalid = [f["label"] for f in findings if f["kind"] == "invalid"]
    assert len(invalid) == len(set(invalid))


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_check_never_raises_on_arbitrary_objects(record: dict) -> None:
    _check_findings(RUBRIC.check_dicts(record), 1)


@settings(max_examples=50, deadline=None)
@given(json_values.filter(lambda v: not isinstance(v, dict)))
def test_a_non_object_is_unreadable(value) -> None:
    findings = RUBRIC.check_dicts(value)
    assert [f["kind"] for f in findings] == ["unreadable"]


def _compile(text: str) -> None:
    try:
        r = rubricdsl.loads(text)
    except RubricError as e:
        assert e.diagnostics, "a RubricError carries at least one diagnostic"
        for d in e.diagnostics:
            assert d.line >= 1 and d.column >= 1
        e.render()
        return
    r.compiled  # noqa: B018 - generating the checker must not raise either
    r.check_dicts({})


TOKENS = ['rubric "r" version "1"', "label", "input", "let", "rule", "escalate", "decide", "criterion", "example",
          "record", "level", "applies", "when", "require", "edge", "otherwise", "first", "given", "expect", "pass",
          "x", "y", "safety", ":", "=", "->", "{", "}", "(", ")", ",", ".", "..", "[0]", "bool", "int", "number",
          "text", "enum", "ordered", "set", "scale", "from", "optional", "required", "and", "or", "not", "in", "is",
          "empty", "present", "missing", "any", "all", "none", "of", "contains", "matches", "/a(b/", "/x/q", "1",
          "-2", "0.5", '"s"', '"\\q"', '"""doc"""', "true", "false", "==", "<", ">=", "+", "*", "/", "-", "len",
          "count", "words", "#c\n", "\n", "severity", "warning", "violation", "invalid"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_compiler_raises_only_rubric_error_on_text(text: str) -> None:
    _compile(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40), st.sampled_from([" ", "\n"]))
def test_compiler_raises_only_rubric_error_on_token_soup(tokens: list[str], sep: str) -> None:
    _compile('rubric "r" version "1"\n' + sep.join(tokens))


@st.composite
def mutations(draw) -> str:
    text = EVERY_TYPE
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "delete_span", "insert"]))
        if op == "delete":
            text = text[:i] + text[i + 1:]
        elif op == "duplicate":
            text = text[:i] + text[i] + text[i:]
        elif op == "delete_span":
            text = text[:i] + text[i + draw(st.integers(1, 12)):]
        else:
            text = text[:i] + draw(st.sampled_from(list('{}()"/\\#.,:-=<>\n') + ["not ", "and ", "is "])) + text[i:]
    return text


@settings(max_examples=200, deadline=None)
@given(mutations())
def test_compiler_raises_only_rubric_error_on_mutations(text: str) -> None:
    _compile(text)


def test_the_every_type_rubric_checks_what_it_says() -> None:
    """The rubric the properties run on is meaningful: two hand-checked records."""
    def short(rec):
        return [(f["kind"], f["rule"], f["arms"], f["record"]) for f in RUBRIC.check_dicts(rec)]

    assert short({"data": {"prompt text": "hi"}, "labels": {"flag": False, "stars": 3, "safety": "safe", "harm": []}}) \
        == [("uncovered", "stars", [], "1"), ("violation", "note_mentions", None, "1")]
    rec = {"data": {"prompt text": "what dose?", "domain": "medical"}, "meta": {"id": 7},
           "labels": {"flag": True, "stars": 2, "safety": "safe", "harm": ["violence"], "conf": -1,
                      "notes": [{"text": "a b c d"}]}}
    assert short(rec) == [("violation", "safety", ["satire"], "7"), ("violation", "conf", ["arm 1"], "7"),
                          ("escalation", "sensitive_low", None, "7")]


def _lint(text: str) -> None:
    from rubricdsl.core.codes import CODES
    from rubricdsl.analysis.lint import lint_text

    res = lint_text(text, "m.rubric", timeout=30)
    for d in res.diagnostics:
        assert d.code in CODES and d.line >= 1 and d.column >= 1, d
    errors = [d for d in res.diagnostics if d.severity == "error"]
    try:
        rubricdsl.loads(text)
    except RubricError:
        assert errors, "lint calls a rubric clean that does not compile"
    else:
        assert not [d for d in errors if d.code != "RB110"], "lint reports an error in a rubric that compiles"


@settings(max_examples=100, deadline=None)
@given(mutations())
def test_lint_recovers_from_mutations(text: str) -> None:
    """Lint analyses broken files as far as they compile: it never raises, and it reports
    an error exactly when the rubric does not compile."""
    _lint(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40), st.sampled_from([" ", "\n"]))
def test_lint_recovers_from_token_soup(tokens: list[str], sep: str) -> None:
    _lint('rubric "r" version "1"\n' + sep.join(tokens))
