"""A starting rubric from a labeling tool's own configuration (`rubric init`).

- Label Studio: the labeling config (XML). Each control (a tag with `name` and
  `toName`) becomes a typed `label` read from the JSON export
  (`@result[from_name = "NAME"].value…`); the data fields its object tags show
  (`value="$text"`) become `input`s read from `data.NAME`. Choices: `enum` (one
  choice) or `set` (`choice="multiple"`); Rating: `int 1..maxRating`; Number:
  `number` within its `min`/`max`; TextArea: `text`; Taxonomy: `set` of its values.
  Another control is noted in a comment, not mapped.
- Argilla: the dataset settings (JSON with `fields` and `questions`). Fields become
  `input`s read from `fields.NAME`; one question is the judgment's answer
  (`each = responses.QUESTION`, read from `@value`): label → `enum`, multi-label →
  `set`, rating → `int` within its values, text → `text`. A span or ranking question is
  noted, not mapped; terms, integer and float metadata become optional `input`s.

The XML is parsed with expat, refusing any document type declaration: no entity is
ever expanded, so an entity bomb is an error at its first line, never a hang. Every
problem with the configuration is a `ScaffoldError` whose text is one line.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from rubricdsl.language.fmt import format_text, is_name, number, quote

TOOLS = ("label-studio", "argilla")
MAX_CONFIG_BYTES = 16 * 1024 * 1024

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_NAME_CHAR = re.compile(r"[^A-Za-z0-9_]+")
_CONTROL = re.compile("[\x00-\x1f\x7f\u2028\u2029\u0085]")


class ScaffoldError(Exception):
    """A configuration that cannot be read; the message is one line for the user."""


@dataclass
class Scaffold:
    """The rubric's text, and the notes about what was not mapped (also in the text as
    comments)."""

    text: str
    notes: list[str] = field(default_factory=list)


# ---- names, strings, values -----------------------------------------------------------------


def _clean(s: str) -> str:
    """`s` with what no rubric string can hold (half a surrogate pair) replaced."""
    return _LONE_SURROGATE.sub("\ufffd", s)


def _lit(s: str) -> str:
    return quote(_clean(s))


def _shown(s: str) -> str:
    """A name from the configuration, for a comment or a note: quoted, escaped, one line."""
    return json.dumps(_clean(s), ensure_ascii=True)


def _segment(key: str) -> str:
    """A path segment: bare when it is a name, else quoted."""
    return key if is_name(key) else _lit(key)


def _enum_value(v: str) -> str:
    return v if is_name(v) else _lit(v)


class _Names:
    """Identifiers for the rubric's fields, each used once."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    @staticmethod
    def base(wanted: str) -> str:
        """`wanted` made an identifier that is no reserved word."""
        base = _NOT_NAME_CHAR.sub("_", wanted).strip("_") or "field"
        if base[0].isdigit():
            base = "_" + base
        if not is_name(base):  # a reserved word
            base += "_"
        return base

    def take(self, wanted: str) -> str:
        base = self.base(wanted)
        name, n = base, 2
        while name in self.used:
            name, n = f"{base}_{n}", n + 1
        self.used.add(name)
        return name


def _distinct(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        seen.setdefault(_clean(v), None)
    return list(seen)


def _todo(name: str, what: str) -> str:
    return f'"""TODO: {what} When is each answer of `{name}` right?"""'


def _skeleton(label: str | None) -> list[str]:
    lines = [
        "",
        "# TODO: the guideline's decisions and rules. For example:",
    ]
    if label:
        lines += [
            f"# decide {label} {{",
            f"#   when CONDITION -> VALUE",
            "# }",
        ]
    lines += [
        '# rule NAME "What every judgment must satisfy" {',
        "#   when CONDITION",
        "#   require CONDITION",
        "# }",
    ]
    return lines


def _finish(lines: list[str], source: str) -> str:
    text = "\n".join(lines) + "\n"
    try:
        return format_text(text, source)
    except Exception as e:  # pragma: no cover - the text above is built to parse
        raise ScaffoldError(f"{source}: the rubric written from it does not parse ({type(e).__name__})") from None


def _header(name: str, source_desc: str, export: str, part: str) -> list[str]:
    return [
        f"rubric {_lit(name)} version \"0.1\"",
        '"""',
        "TODO: what is labeled, and why.",
        "",
        f"Written by `rubric init` from {source_desc}.",
        f"It reads {export}: each label is one of the tool's {part},",
        "typed as its answers are.",
        '"""',
        "",
    ]


# ---- Label Studio ---------------------------------------------------------------------------


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list["_Element"] = field(default_factory=list)

    def iter(self):
        stack = [self]
        while stack:
            el = stack.pop()
            yield el
            stack.extend(reversed(el.children))


class _Refused(Exception):
    pass


def parse_xml(data: bytes, source: str) -> _Element:
    """The element tree of `data`, with any DTD refused (no entity is ever expanded)."""
    from xml.parsers import expat  # noqa: PLC0415

    parser = expat.ParserCreate()
    root: list[_Element] = []
    stack: list[_Element] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        el = _Element(tag, attrs, parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(el)
        else:
            root.append(el)
        stack.append(el)

    def end(tag: str) -> None:
        stack.pop()

    def refuse(*args: Any) -> None:
        raise _Refused

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    try:
        parser.Parse(data, True)
    except _Refused:
        raise ScaffoldError(f"{source}:{parser.CurrentLineNumber}: a document type declaration (<!DOCTYPE>) "
                            "is not accepted in a labeling config") from None
    except expat.ExpatError as e:
        raise ScaffoldError(f"{source}:{e.lineno}: not well-formed XML: {expat.ErrorString(e.code)} "
                            f"at column {e.offset + 1}") from None
    return root[0]


# object tags: what a control labels; a `value="$key"` names the task's data field
_LAYOUT = {"View", "Header", "Style", "Collapse", "Filter", "Choice", "Label", "Relation", "Shortcut",
           "Panel", "Block", "Legend", "Tooltip"}


def _truthy(v: str | None) -> bool:
    return (v or "").strip().lower() == "true"


def _number_attr(el: _Element, name: str) -> float | int | None:
    raw = el.attrs.get(name)
    if raw is None:
        return None
    try:
        f = float(raw)
    except ValueError:
        return None
    if f != f or f in (float("inf"), float("-inf")):
        return None
    return int(f) if f.is_integer() else f


def _choice_values(el: _Element, child_tag: str) -> list[str]:
    out = []
    for c in el.iter():
        if c is not el and c.tag == child_tag:
            v = c.attrs.get("alias") or c.attrs.get("value")
            if v is not None:
                out.append(v)
    return _distinct(out)


def from_label_studio(data: bytes, source: str, name: str) -> Scaffold:
    root = parse_xml(data, source)
    objects: dict[str, str] = {}  # object tag name -> data key
    controls: list[_Element] = []
    for el in root.iter():
        nm = el.attrs.get("name")
        if nm is None or el.tag in _LAYOUT:
            continue
        if "toName" in el.attrs:
            controls.append(el)
        else:
            value = el.attrs.get("value", "")
            if value.startswith("$") and len(value) > 1:
                objects[nm] = value[1:]
    names = _Names()
    names.take("cancelled")
    notes: list[str] = []
    labels: list[list[str]] = []
    first_label: str | None = None
    wanted_data: list[str] = []
    for el in controls:
        ctl = el.attrs["name"]
        for target in el.attrs["toName"].split(","):
            key = objects.get(target.strip())
            if key is not None and key not in wanted_data:
                wanted_data.append(key)
        at = f'@result[from_name = {_lit(ctl)}].value'
        tag = el.tag
        multiple = (el.attrs.get("choice") or "").strip().lower() == "multiple"
        if tag == "Choices":
            values = _choice_values(el, "Choice")
            typ = "set" if multiple else "enum"
            path = f"{at}.choices" if multiple else f"{at}.choices[0]"
            what = "one choice of several." if not multiple else "every choice that applies."
            if not values:
                notes.append(f"line {el.line}: Choices {_shown(ctl)} lists no Choice: not mapped")
                continue
            decl_type = f"{typ} {{{', '.join(_enum_value(v) for v in values)}}}"
        elif tag == "Taxonomy":
            values = _choice_values(el, "Choice")
            if not values:
                notes.append(f"line {el.line}: Taxonomy {_shown(ctl)} lists no Choice: not mapped")
                continue
            decl_type = f"set {{{', '.join(_enum_value(v) for v in values)}}}"
            path = f"{at}.taxonomy[0]"
            what = "the first choice's path from the root of the taxonomy (Label Studio writes each as such a list)."
        elif tag == "Rating":
            top = _number_attr(el, "maxRating")
            top = top if isinstance(top, int) and top >= 1 else 5
            decl_type = f"int 1..{top}"
            path = f"{at}.rating"
            what = f"a rating from 1 to {top}."
        elif tag == "Number":
            lo, hi = _number_attr(el, "min"), _number_attr(el, "max")
            if lo is not None and hi is not None and lo <= hi:
                decl_type = f"number {number(lo)}..{number(hi)}"
            else:
                decl_type = "number"
            path = f"{at}.number"
            what = "a number."
            if (lo is None) != (hi is None):
                bound = f"at least {number(lo)}" if lo is not None else f"at most {number(hi)}"
                what = f"a number, {bound} (a range needs both bounds: add a `rule`)."
        elif tag == "TextArea":
            decl_type = "text"
            path = f"{at}.text[0]"
            what = "free text."
        else:
            notes.append(f"line {el.line}: control <{tag}> {_shown(ctl)} is not mapped: add its label by hand")
            continue
        field_name = names.take(ctl)
        first_label = first_label or field_name
        presence = "" if _truthy(el.attrs.get("required")) else " optional"
        labels.append([f"label {field_name}: {decl_type} from {path}{presence}", _todo(field_name, what), ""])
    if not controls:
        notes.append("the config has no control (a tag with name and toName): no label to write")
    lines = _header(name, "a Label Studio labeling config", "the tool's Export → JSON", "controls")
    lines += [
        "record {",
        "  id = id",
        "  each = annotations",
        "  annotator = @completed_by",
        "  judgment = @id",
        "  skip when cancelled",
        "}",
        "",
    ]
    for key in wanted_data:
        lines.append(f"input {names.take(key)}: text from data.{_segment(key)}")
    lines += [
        "input cancelled: bool from @was_cancelled optional",
        '"""An annotator who skips a task leaves a cancelled annotation: it is not a judgment."""',
        "",
    ]
    for block in labels:
        lines += block
    lines += [f"# NOTE: {n}" for n in notes]
    lines += _skeleton(first_label)
    return Scaffold(_finish(lines, source), notes)


# ---- Argilla --------------------------------------------------------------------------------


def _kind(entry: dict[str, Any]) -> str:
    settings = entry.get("settings")
    kind = entry.get("type")
    if not isinstance(kind, str) and isinstance(settings, dict):
        kind = settings.get("type")
    return kind if isinstance(kind, str) else ""


def _options(entry: dict[str, Any], *keys: str) -> list[Any]:
    """The option values of a question or a metadata property, in any of the shapes the
    SDKs write (`labels` as a list or a dict, `values`, `settings.options[].value`)."""
    settings = entry.get("settings") if isinstance(entry.get("settings"), dict) else {}
    for where in (entry, settings):
        for key in keys:
            got = where.get(key)
            if isinstance(got, dict):
                return list(got)
            if isinstance(got, list):
                out = []
                for o in got:
                    if isinstance(o, dict):
                        o = o.get("value")
                    if o is not None:
                        out.append(o)
                return out
    return []


def _entries(settings: dict[str, Any], key: str, source: str) -> list[dict[str, Any]]:
    got = settings.get(key, [])
    if got is None:
        return []
    if not isinstance(got, list) or not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in got):
        raise ScaffoldError(f"{source}: `{key}` must be a list of objects, each with a `name`")
    return got


def _question_type(q: dict[str, Any]) -> tuple[str, str] | str:
    """(type, what) for a question the rubric can read, or the reason it cannot."""
    kind = _kind(q)
    if kind in ("label", "label_selection", "multi_label", "multi_label_selection"):
        values = [str(v) for v in _options(q, "labels", "options", "values")]
        values = _distinct(values)
        if not values:
            return "it lists no labels"
        multi = kind.startswith("multi")
        listed = ", ".join(_enum_value(v) for v in values)
        return (f"set {{{listed}}}" if multi else f"enum {{{listed}}}",
                "every label that applies." if multi else "one label of several.")
    if kind == "rating":
        values = [v for v in _options(q, "values", "options") if isinstance(v, int) and not isinstance(v, bool)]
        if not values:
            return "it lists no integer values"
        return f"int {min(values)}..{max(values)}", f"a rating from {min(values)} to {max(values)}."
    if kind == "text":
        return "text", "free text."
    if kind == "span":
        return "a span question marks parts of a field; a rubric reads whole values"
    if kind == "ranking":
        return "a ranking question has no type in the language"
    return f"its type {_shown(kind)} is not known"


def _metadata_type(m: dict[str, Any]) -> str | None:
    kind = _kind(m)
    settings = m.get("settings") if isinstance(m.get("settings"), dict) else {}
    if kind == "terms":
        values = _distinct([str(v) for v in _options(m, "options", "values") if isinstance(v, str)])
        return f"enum {{{', '.join(_enum_value(v) for v in values)}}}" if values else "text"
    if kind in ("integer", "float"):
        lo = m.get("min", settings.get("min"))
        hi = m.get("max", settings.get("max"))
        base = "int" if kind == "integer" else "number"
        ok = all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in (lo, hi))
        if ok and lo <= hi and (kind == "float" or all(float(b).is_integer() for b in (lo, hi))):
            return f"{base} {number(lo)}..{number(hi)}"
        return base
    return None


def from_argilla(data: bytes, source: str, name: str) -> Scaffold:
    settings = _json(data, source)
    if not isinstance(settings, dict):
        raise ScaffoldError(f"{source}: Argilla settings are a JSON object with `fields` and `questions`")
    fields = _entries(settings, "fields", source)
    questions = _entries(settings, "questions", source)
    metadata = _entries(settings, "metadata", source)
    names = _Names()
    names.take("status")
    notes: list[str] = []
    readable: list[tuple[dict[str, Any], str, str]] = []
    for q in questions:
        got = _question_type(q)
        if isinstance(got, str):
            notes.append(f"question {_shown(q['name'])} is not mapped: {got}")
        else:
            readable.append((q, *got))
    if not readable:
        raise ScaffoldError(f"{source}: no question a rubric can read (label, multi-label, rating or text): "
                           "nothing to judge")
    main_q = next((r for r in readable if r[0].get("required", True) is True), readable[0])
    q, qtype, what = main_q
    qname = q["name"]
    lines = _header(name, "Argilla dataset settings", "`dataset.records.to_json(...)`", "questions")
    lines += [
        "record {",
        "  id = id",
        f"  each = responses.{_segment(qname)}",
        "  annotator = @user_id",
        "  judgment = @user_id",
        "  skip when status in {discarded, draft}",
        "}",
        "",
    ]
    for f in fields:
        if _kind(f) not in ("", "text"):
            notes.append(f"field {_shown(f['name'])} of type {_shown(_kind(f))} is not mapped: not text")
            continue
        presence = "" if f.get("required", True) is True else " optional"
        lines.append(f"input {names.take(f['name'])}: text from fields.{_segment(f['name'])}{presence}")
    for m in metadata:
        mtype = _metadata_type(m)
        if mtype is None:
            notes.append(f"metadata {_shown(m['name'])} of type {_shown(_kind(m))} is not mapped")
            continue
        lines.append(f"input {names.take(m['name'])}: {mtype} from metadata.{_segment(m['name'])} optional")
    lines += [
        "input status: enum {submitted, discarded, draft} from @status optional",
        '"""A discarded response, or a draft not yet submitted, is not a judgment."""',
        "",
    ]
    label = names.take(qname)
    lines += [f"label {label}: {qtype} from @value", _todo(label, what), ""]
    for other, otype, _ in readable:
        if other is q:
            continue
        notes.append(f"question {_shown(other['name'])} ({otype}) is another list of responses: "
                     f"read it with a rubric whose `each` is responses.{_segment(other['name'])}")
    lines += [f"# NOTE: {n}" for n in notes]
    lines += _skeleton(label)
    return Scaffold(_finish(lines, source), notes)


# ---- a sample of records --------------------------------------------------------------------
#
# `engine/sampling.py` reads the records and says which type reads each path's values
# (a `SampledField`); this writes the rubric. What data cannot tell is guessed, and
# every guess is a TODO:
# - the `record` block: a top-level field named like an id (present in every record,
#   each value once), an item or an annotator (RECORD_NAMES); an id-named field whose
#   values repeat is the item when no field is named like one;
# - label or input: a field is a label when a word of its path is one of LABEL_WORDS
#   (`labels.safety`, `rating`, `final_answer`), unless it is long text (what the
#   annotator read); every other field is an input;
# - a text field is an `enum` of the values seen when it has at most ENUM_MAX of them,
#   each at most ENUM_VALUE_LEN characters on one line, and either each value comes
#   back (at least twice as many records as values) or its name says it is a label;
#   a field whose last key has a word of TEXT_WORDS (`text`, `prompt`, ...) stays text;
# - an integer's range in the sample is said in the TODO, not made a constraint: the
#   sample may not hold the smallest or the largest value.

ENUM_MAX = 20
ENUM_VALUE_LEN = 40
MAX_DEPTH = 16  # keys of objects nested deeper are not declared
MAX_FIELDS = 500  # fields declared at most; the others are named in a note
NAME_LEN = 40  # a field's name is cut to this many characters (its path is kept whole)

RECORD_NAMES: dict[str, tuple[str, ...]] = {
    "id": ("id", "record_id", "annotation_id", "uuid", "uid", "_id", "_task_hash", "key"),
    "item": ("item", "item_id", "task_id", "task", "_input_hash", "example_id", "doc_id", "document_id",
             "question_id"),
    "annotator": ("annotator", "annotator_id", "worker_id", "worker", "user", "user_id", "_annotator_id", "rater",
                  "rater_id", "labeler", "labeler_id", "completed_by"),
}
LABEL_WORDS = frozenset({
    "label", "labels", "answer", "answers", "rating", "ratings", "choice", "choices", "judgment", "judgement",
    "judgments", "judgements", "verdict", "grade", "decision", "annotation", "annotations", "class", "category",
    "categories", "sentiment", "tag", "tags", "score", "scores", "accept", "preference", "preferred",
})

# words of what an annotator reads: such a text field stays `text`, never an enum
TEXT_WORDS = frozenset({
    "text", "prompt", "question", "response", "comment", "body", "content", "message", "sentence", "document",
    "title", "context", "passage", "query", "description", "summary", "url", "email", "date", "time", "created",
    "updated",
})

_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


@dataclass
class SampledField:
    """What a sample of records holds at one path: the type that reads every value there
    (`kind`: bool, int, number, text, set; None when none does, `why` says so), in how
    many of the sample's `records` it is `present` (not missing, not null), whether each
    value was `unique` (kept for top-level fields named like an id only), the distinct
    `values` of a set, or of a text field when few and short, the smallest and largest
    number (`lo`, `hi`), and whether some text is `long`."""

    path: tuple[str, ...]
    kind: str | None
    present: int
    records: int
    unique: bool = False
    values: list[str] | None = None
    lo: float | int | None = None
    hi: float | int | None = None
    long: bool = False
    why: str = ""


def _path_text(path: tuple[str, ...]) -> str:
    return ".".join(_segment(k) for k in path)


def _word(segments: tuple[str, ...], words: frozenset[str]) -> str | None:
    """The first word of `segments` (split at `_`, `-`, spaces, digits and camelCase) in `words`."""
    for seg in segments:
        for w in _WORD.findall(seg[:200]):
            if w.lower() in words:
                return w.lower()
    return None


def _record_lines(fields: list[SampledField], records: int) -> dict[str, SampledField]:
    top = {f.path[0].lower(): f for f in reversed(fields)
           if len(f.path) == 1 and f.kind in ("text", "int")}  # the first of names that differ in case only
    chosen: dict[str, SampledField] = {}
    for n in RECORD_NAMES["id"]:
        f = top.get(n)
        if f is not None and f.unique and f.present == records:
            chosen["id"] = f
            break
    for n in RECORD_NAMES["item"]:
        if n in top:
            chosen["item"] = top[n]
            break
    else:
        for n in RECORD_NAMES["id"]:
            f = top.get(n)
            if f is not None and f is not chosen.get("id") and not f.unique:
                chosen["item"] = f
                break
    for n in RECORD_NAMES["annotator"]:
        if n in top:
            chosen["annotator"] = top[n]
            break
    return chosen


def _field_name(names: _Names, path: tuple[str, ...]) -> str:
    leaf = names.base(path[-1][:NAME_LEN])
    if leaf in names.used and len(path) > 1:
        return names.take(f"{path[-2][:NAME_LEN]}_{path[-1][:NAME_LEN]}")
    return names.take(leaf)


def _declaration(f: SampledField, names: _Names) -> tuple[str, list[str]]:
    """("label" or "input", the lines of its declaration and its TODO)."""
    word = _word(f.path, LABEL_WORDS)
    long_text = f.kind == "text" and f.long
    if long_text:
        role, why = "input", "an input (what the annotator saw), as long text usually is"
    elif word is not None:
        role, why = "label", f"a label (what the annotator decided), as its name says (\u201c{word}\u201d)"
    else:
        role, why = "input", "an input (what the annotator saw), as its name says nothing of a label"
    other = "input" if role == "label" else "label"
    todo = [f"TODO: {why}; make it an {other} if it is not." if other == "input"
            else f"TODO: {why}; make it a {other} if annotators decide it."]
    kind = f.kind
    if kind in ("int", "number"):
        typ = kind
        what = "integers" if kind == "int" else "numbers"
        if f.lo == f.hi:
            todo.append(f"The sample holds only the {what[:-1]} {number(f.lo)}.")
        else:
            todo.append(f"The sample holds {what} from {number(f.lo)} to {number(f.hi)}"
                        + (f" (`int {number(f.lo)}..{number(f.hi)}` if that is the range)." if kind == "int" else "."))
    elif kind == "text" and f.values and (f.present >= 2 * len(f.values) or word is not None) and (
            _word(f.path[-1:], TEXT_WORDS) is None):
        typ = f"enum {{{', '.join(_enum_value(v) for v in f.values)}}}"
        todo.append(f"The {len(f.values)} value{'' if len(f.values) == 1 else 's'} the sample holds: "
                    "add those it lacks.")
    elif kind == "text":
        typ = "text"
        if f.values and _word(f.path[-1:], TEXT_WORDS) is not None:
            todo.append("Text, as its name says.")
        elif f.values:
            todo.append(f"Text: {_plural(len(f.values), 'distinct value')} in {_plural(f.present, 'record')}, too "
                        "few records to call it an enum.")
        elif not long_text:
            todo.append(f"Text: more than {ENUM_MAX} distinct values.")
    elif kind == "set":
        typ = f"set {{{', '.join(_enum_value(v) for v in f.values or [])}}}"
        todo.append("The values the sample's arrays hold: add those it lacks.")
    else:
        typ = "bool"
    presence = ""
    if f.present < f.records:
        presence = " optional"
        todo.append(f"Missing in {f.records - f.present} of {f.records} records.")
    name = _field_name(names, f.path)
    line = f"{role} {name}: {typ} from {_path_text(f.path)}{presence}"
    return role, [line, '"""' + " ".join(todo) + '"""', ""]


def _plural(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


_PLAIN_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ +-]{0,120}")


def from_sample(fields: list[SampledField], notes: list[str], name: str, *, file_name: str, read: int,
                unreadable: int, more: bool, table: str | None = None) -> Scaffold:
    """The starting rubric for the fields of a sample of records (`engine/sampling.py`):
    `read` records read from the file `file_name` (`more`: the file has more),
    `unreadable` of them not used."""
    records = read - unreadable
    notes = list(notes)
    shown_file = file_name if _PLAIN_FILE_NAME.fullmatch(file_name) else "the data file"
    which = f"the first {_plural(read, 'record')}" if more else (
        "the record" if read == 1 else f"the {_plural(read, 'record')}")
    lines = [
        f"rubric {_lit(name)} version \"0.1\"",
        '"""',
        "TODO: what is labeled, and why.",
        "",
        f"Written by `rubric init` from {which} of {shown_file}"
        + (f" ({unreadable} unreadable, not used)." if unreadable else "."),
        "Each field is typed by the values the sample holds; each TODO says what was guessed",
        "(whether the field is an input the annotator saw or a label the annotator decided) and",
        "what the sample suggests.",
    ]
    if table:
        lines.append(f"The {table.upper()} file's cells are converted by these types when checked.")
    lines += ['"""', ""]
    record = _record_lines([f for f in fields if f.kind is not None], records)
    if record:
        keys = list(record)
        said = keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " and " + keys[-1]
        lines.append(f"# TODO: the record's {said} {'is' if len(keys) == 1 else 'are'} guessed from the fields' names.")
        lines.append("record {")
        lines += [f"  {key} = {_path_text(f.path)}" for key, f in record.items()]
        lines += ["}", ""]
    else:
        lines += ["# TODO: no field is named like an id, an item or an annotator: a `record` block says",
                  "# which fields are (`record { id = ..., item = ..., annotator = ... }`).", ""]
    used = {id(f) for f in record.values()}
    names = _Names()
    declared: dict[str, list[list[str]]] = {"input": [], "label": []}
    first_label: str | None = None
    left: list[SampledField] = []
    for f in fields:
        if id(f) in used:
            continue
        if f.kind is None:
            notes.append(f"{_path_text(f.path)} is not declared: {f.why}")
            continue
        if len(declared["input"]) + len(declared["label"]) >= MAX_FIELDS:
            left.append(f)
            continue
        role, block = _declaration(f, names)
        if role == "label" and first_label is None:
            first_label = block[0].split(" ", 2)[1].rstrip(":")
        declared[role].append(block)
    if left:
        notes.append(f"{_plural(len(left), 'more field')} not declared (a rubric declares at most {MAX_FIELDS} "
                     f"here), from {_path_text(left[0].path)} on")
    if not declared["label"] and declared["input"]:
        notes.append("no field is named like a label: make `label` each field annotators decide")
    if not declared["label"] and not declared["input"]:
        notes.append("the sample has no field a type reads: no input or label to write")
    for block in declared["input"] + declared["label"]:
        lines += block
    notes = [_one_line(n) for n in notes]
    lines += [f"# NOTE: {n}" for n in notes]
    lines += _skeleton(first_label)
    return Scaffold(_finish(lines, shown_file), notes)


def _one_line(s: str) -> str:
    """A note as one line of a comment: control characters (a file name's newline) escaped."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", _clean(s))


# ---- the front door -------------------------------------------------------------------------


def _json(data: bytes, source: str) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ScaffoldError(f"{source}: not UTF-8 (byte {e.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ScaffoldError(f"{source}:{e.lineno}: not JSON: {e.msg} at column {e.colno}") from None
    except RecursionError:
        raise ScaffoldError(f"{source}: not JSON this tool reads: nested too deeply") from None


def detect(data: bytes, source: str) -> str:
    """Which tool's configuration `data` is: XML is Label Studio's, a JSON object with
    `fields` or `questions` Argilla's; "records" for a sample of records (a JSON
    array, JSONL: a JSON value followed by more, gzip, Parquet)."""
    if data.startswith((b"\x1f\x8b", b"PAR1")):  # gzip, Parquet: never a configuration
        return "records"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "label-studio"
    if head.startswith(b"["):
        return "records"
    if head.startswith(b"{"):
        try:
            got = json.loads(data.decode("utf-8-sig"))
        except json.JSONDecodeError as e:
            if e.msg == "Extra data" and data[:e.pos].strip():  # one JSON value, then more: JSONL
                return "records"
            got = _json(data, source)  # the error, in the project's words
        except (UnicodeDecodeError, RecursionError):
            got = _json(data, source)
        if isinstance(got, dict) and ("fields" in got or "questions" in got):
            return "argilla"
    raise ScaffoldError(f"{source}: not a Label Studio labeling config (XML), Argilla settings (a JSON object "
                        "with `fields` and `questions`) or records (JSONL, a JSON array); say which with --from")


def scaffold(data: bytes, source: str, name: str, tool: str | None = None) -> Scaffold:
    """The starting rubric for the configuration `data` (read from `source`)."""
    if len(data) > MAX_CONFIG_BYTES:
        raise ScaffoldError(f"{source}: larger than {MAX_CONFIG_BYTES // (1024 * 1024)} MiB: not a configuration")
    tool = tool or detect(data, source)
    if tool == "label-studio":
        return from_label_studio(data, source, name)
    if tool == "argilla":
        return from_argilla(data, source, name)
    raise ValueError(tool)  # pragma: no cover - the command line offers TOOLS only
