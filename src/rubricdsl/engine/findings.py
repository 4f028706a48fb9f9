"""Findings as the report holds them: plain dicts built from the checker's compact
tuples (`Expander`), the messages of invalid values, record ids, and the summary.

The compact tuples are the protocol between the generated checker (`codegen`), the
reference interpreter (`evaluate`), the run (`runtime`) and items (`items`): their
first element is a `Code`.
"""
from __future__ import annotations

import difflib
from enum import IntEnum
from typing import Any, Callable

import orjson

from rubricdsl.core.paths import AT, Several, follow, path_text
from rubricdsl.core.values import MISSING, HugeNumber, json_type, number_text, report_value, show, value_text
from rubricdsl.language import ir

KINDS = ("violation", "uncovered", "ambiguous", "invalid", "unreadable", "escalation")


class Code(IntEnum):
    """What a compact finding tuple says; the rest of the tuple depends on it:

        (INVALID, field_index, raw_value_or_MISSING)    a field invalid, or missing where required
        (UNCOVERED, decide_index)                       no arm of the decide applies
        (AMBIGUOUS, decide_index, arm_numbers)          arms that apply allow different values
        (DECIDE_VIOLATION, decide_index, arm_numbers)   the label is not a value the arms allow
        (RULE_VIOLATION, rule_index)                    a rule's requirement does not hold
        (ESCALATION, escalation_index)                  an escalation's condition holds

    Indexes are into the rubric's lists (`item_rules` / `item_escalations` for the tuples
    of `per item` checks). Generated code carries the plain ints.
    """

    INVALID = 0
    UNCOVERED = 1
    AMBIGUOUS = 2
    DECIDE_VIOLATION = 3
    RULE_VIOLATION = 4
    ESCALATION = 5


# the report kind of each code (indexed by the code): one finding per tuple
CODE_KINDS = ("invalid", "uncovered", "ambiguous", "violation", "violation", "escalation")
# what a row of the per-annotator table counts: judgments checked, then findings by kind
# (unreadable lines and item findings belong to no record's annotator)
ANNOTATOR_KINDS = ("violation", "uncovered", "ambiguous", "invalid", "escalation")

# plain ints for the paths that run once per finding (an IntEnum member's lookup is slower)
INVALID, UNCOVERED, AMBIGUOUS = int(Code.INVALID), int(Code.UNCOVERED), int(Code.AMBIGUOUS)
DECIDE_VIOLATION, RULE_VIOLATION, ESCALATION = int(Code.DECIDE_VIOLATION), int(Code.RULE_VIOLATION), int(Code.ESCALATION)


# a field's path longer than this is shown in a finding by its ends and its length
PATH_SHOWN = 200


def shown_path(f: ir.FieldIR) -> str:
    """A field's path as a finding shows it: whole, or for a machine-written path of
    thousands of steps, its first steps (up to half of PATH_SHOWN characters), its last
    (up to a quarter) and how many there are."""
    text = f.path_text
    path = f.path
    if len(text) <= PATH_SHOWN or len(path) < 3:
        return text
    head = 1
    while head < len(path) - 2 and len(path_text(path[:head + 1])) <= PATH_SHOWN // 2:
        head += 1
    tail = 1
    while head + tail < len(path) - 1 and len(path_text(path[-(tail + 1):])) <= PATH_SHOWN // 4:
        tail += 1
    return f"{path_text(path[:head])}…{path_text(path[-tail:])} ({len(path):,} steps)"


def invalid_reason(f: ir.FieldIR, raw: Any) -> str:
    t = f.type
    where = f"`{f.name}`" if f.path_text == f.name else f"`{f.name}` (at {shown_path(f)})"
    if raw.__class__ is Several:
        return f"{where}: {raw.message()}"
    if raw is MISSING:
        if f.required_when is not None:
            return f"{where} is missing, and it is required here"
        return f"{where} is missing"
    k = t.kind
    if raw.__class__ is HugeNumber and k in ("int", "scale", "number"):
        what = "a number" if k == "number" else "an integer"
        rng = f" in {number_text(t.lo)}..{number_text(t.hi)}" if t.lo is not None else ""
        return f"{where} must be {what}{rng}, got {raw.text}, not a finite number"
    if k == "bool":
        return f"{where} must be true or false, got {json_type(raw)} {show(raw)}"
    if k in ("int", "scale"):
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and (isinstance(raw, int) or raw.is_integer()):
            return f"{where} must be an integer in {number_text(t.lo)}..{number_text(t.hi)}, got {show(raw)}"
        return f"{where} must be an integer{f' in {number_text(t.lo)}..{number_text(t.hi)}' if t.lo is not None else ''}, got {json_type(raw)} {show(raw)}"
    if k == "number":
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return f"{where} must be a number in {number_text(t.lo)}..{number_text(t.hi)}, got {show(raw)}"
        return f"{where} must be a number, got {json_type(raw)} {show(raw)}"
    if k == "text":
        return f"{where} must be a string, got {json_type(raw)} {show(raw)}"
    assert t.enum is not None
    values = values_text(t.enum.values)
    if k == "enum":
        if isinstance(raw, str):
            return f"{where} is {show(raw)}, not one of: {values}{_did_you_mean(raw, t.enum.values)}"
        return f"{where} must be one of: {values}; got {json_type(raw)} {show(raw)}"
    # set
    if not isinstance(raw, list):
        return f"{where} must be an array of distinct values from: {values}; got {json_type(raw)} {show(raw)}"
    seen: list[Any] = []
    for x in raw:
        if not isinstance(x, str) or x not in _lookup(t.enum.values)[0]:
            hint = _did_you_mean(x, t.enum.values) if isinstance(x, str) else ""
            return f"{where} holds {show(x)}, not one of: {values}{hint}"
        if x in seen:
            return f"{where} lists {show(x)} twice"
        seen.append(x)
    return f"{where} is not a valid set: {show(raw)}"


# An enum of more values than this is listed in a finding by its first LISTED values and
# a count; one of more than NEAR_MAX values is searched for a near miss by case, spacing
# and punctuation only (a machine-written taxonomy may hold 100,000 values: a finding
# must not print them all, nor compare a value with each)
LISTED = 20
LIST_ALL = 30
NEAR_MAX = 2_000


def values_text(values: tuple[str, ...]) -> str:
    """An enum's values as a finding lists them: all of them, or for a long enum the
    first LISTED and how many more."""
    if len(values) <= LIST_ALL:
        return ", ".join(values)
    return ", ".join(values[:LISTED]) + f", … ({len(values) - LISTED:,} more)"


def _did_you_mean(raw: str, values: tuple[str, ...]) -> str:
    """`; did you mean V?` for a data value that is an enum value in another case
    (`Profanity`), with other spacing or punctuation (`self harm`), or a near miss
    (`profanty`); empty when nothing is close."""
    key = _fold(raw)
    folded = _lookup(values)[1].get(key, ()) if key else ()
    if len(folded) == 1:
        return f"; did you mean {folded[0]}?"
    if len(raw) > 200 or len(values) > NEAR_MAX:
        return ""
    close = difflib.get_close_matches(raw.lower(), [v.lower() for v in values], n=1, cutoff=0.75)
    if close:
        return f"; did you mean {next(v for v in values if v.lower() == close[0])}?"
    return ""


_LOOKUPS: dict[int, tuple[tuple[str, ...], frozenset[str], dict[str, tuple[str, ...]]]] = {}


def _lookup(values: tuple[str, ...]) -> tuple[frozenset[str], dict[str, tuple[str, ...]]]:
    """An enum's values as a set, and by their folded form (`_fold`): built once per
    tuple of values (kept, so that its id is not reused)."""
    got = _LOOKUPS.get(id(values))
    if got is None or got[0] is not values:
        if len(_LOOKUPS) >= 64:  # a long-lived process (the language server) compiles many
            _LOOKUPS.clear()
        by: dict[str, tuple[str, ...]] = {}
        for v in values:
            key = _fold(v)
            by[key] = by.get(key, ()) + (v,)
        got = _LOOKUPS[id(values)] = (values, frozenset(values), by)
    return got[1], got[2]


def _fold(s: str) -> str:
    return "".join(ch for ch in s.casefold() if ch.isalnum())


# ---- record ids -------------------------------------------------------------------------


def getter(path: tuple[str | int, ...]) -> Callable[[Any], Any]:
    """A function that follows `path` (the same result as `follow`, faster)."""
    if all(isinstance(p, str) for p in path):
        if len(path) == 1:
            (k,) = path
            return lambda rec: rec.get(k) if rec.__class__ is dict else None
        if len(path) == 2:
            k1, k2 = path

            def get2(rec: Any) -> Any:
                x = rec.get(k1) if rec.__class__ is dict else None
                return x.get(k2) if x.__class__ is dict else None

            return get2
    return lambda rec: _one(follow(rec, path))


def judgment_getter(path: tuple) -> Callable[[Any, Any], Any]:
    """A function of (record, judgment) that follows `path`, from the judgment when it
    is led by `@`; None where a selector picks several elements."""
    if path and path[0] is AT:
        get = getter(path[1:])
        return lambda rec, jud: get(jud)
    get = getter(path)
    return lambda rec, jud: get(rec)


def _one(v: Any) -> Any:
    return None if v.__class__ is Several else v


def id_text(v: Any) -> str | None:
    """An id or item value compared as a string: 1 and "1" are the same."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    try:
        return orjson.dumps(v).decode()
    except TypeError:  # beyond JSON's reach: an int over 64 bits, given through the Python API
        return str(v)


# ---- turning tuples into findings ---------------------------------------------------------


class Expander:
    """Builds report findings (plain dicts, the JSON report's shape) from finding tuples."""

    def __init__(self, rubric: ir.RubricIR) -> None:
        self.r = rubric
        self.fields = rubric.fields
        self.decides = rubric.decides
        self.rules = rubric.rules
        self.escalations = rubric.escalations
        self.id_path = rubric.record_id
        self._reads = {
            ("r", r.index): [(f.name, judgment_getter(f.path)) for f in rubric.fields if f.name in r.mentions]
            for r in rubric.rules
        }
        self._reads.update({
            ("e", e.index): [(f.name, judgment_getter(f.path)) for f in rubric.fields if f.name in e.mentions]
            for e in rubric.escalations
        })
        self._id = getter(rubric.record_id) if rubric.record_id is not None else None
        self._label_get = [judgment_getter(d.label.path) for d in rubric.decides]
        self._messages: dict[tuple, str] = {}
        # what every finding about a record (or judgment) carries: its annotator, and its
        # context (`show`); read only for records that have findings
        self._annotator = judgment_getter(rubric.record_annotator) if rubric.record_annotator is not None else None
        self._show = [(text, judgment_getter(path)) for text, path in rubric.record_show]
        self.describes = self._annotator is not None or bool(self._show)

    def record_id(self, rec: dict, line: int) -> str:
        if self._id is not None:
            v = self._id(rec)
            if v.__class__ is str:
                return v
            v = id_text(v)
            if v is not None:
                return v
        return str(line)

    def expand(self, tuples: list, rec: dict, file: str, line: int, jud: Any = None,
               judgment: str | None = None) -> list[dict]:
        """Findings from one record's tuples; with `each`, from one judgment's (`jud`),
        each finding naming it (`judgment`)."""
        out = self._expand(tuples, rec, file, line, jud)
        if judgment is not None:
            for f in out:
                f["judgment"] = judgment
        if self.describes:
            self.describe(out, rec, jud)
        return out

    def annotator(self, rec: Any, jud: Any = None) -> str | None:
        """The annotator of a record (or, with `each`, of a judgment) as text; None when
        the rubric names none or the record has none."""
        return None if self._annotator is None else id_text(self._annotator(rec, jud))

    def context(self, rec: Any, jud: Any = None) -> dict[str, Any]:
        """The values of the `show` paths in a record (or judgment), by the path as written:
        null where the path finds nothing (or a selector picks several elements)."""
        return {text: report_value(get(rec, jud)) for text, get in self._show}

    def describe(self, findings: list[dict], rec: Any, jud: Any = None) -> None:
        """Give findings about one record (or judgment) its `annotator`, when it has one,
        and its `context`, when the rubric has a `show` line. `jud` is None for a finding
        about the record's list of judgments: `@` paths then find nothing."""
        if not findings:
            return
        ann = self.annotator(rec, jud)
        if ann is not None:
            for f in findings:
                f["annotator"] = ann
        if self._show:
            ctx = self.context(rec, jud)
            findings[0]["context"] = ctx
            for f in findings[1:]:
                f["context"] = dict(ctx)

    def _expand(self, tuples: list, rec: dict, file: str, line: int, jud: Any) -> list[dict]:
        rid = self.record_id(rec, line)
        out = []
        for t in tuples:
            code = t[0]
            if code == INVALID:
                f = self.fields[t[1]]
                raw = t[2]
                out.append(_finding("invalid", line, rid, file, f.criterion, None, f.name, None, None, "error",
                                    invalid_reason(f, raw),
                                    value=None if raw is MISSING or raw.__class__ is Several else report_value(raw)))
            elif code == UNCOVERED or code == AMBIGUOUS or code == DECIDE_VIOLATION:
                d = self.decides[t[1]]
                label = d.label.name
                value = self._label_get[t[1]](rec, jud)
                if code == DECIDE_VIOLATION and value.__class__ in (str, int, bool):
                    cached = self._messages.get((t, value))
                    if cached is not None:
                        out.append(_finding("violation", line, rid, file, d.criterion, label, label, list(cached[1]),
                                            None, "error", cached[0], value=value))
                        continue
                arms = [d.arms[n - 1] for n in t[2]] if len(t) > 2 else []
                names = [a.name for a in arms]
                if code == UNCOVERED:
                    msg = self._messages.get((UNCOVERED, t[1])) or self._messages.setdefault(
                        (UNCOVERED, t[1]), f"no arm of `decide {label}` covers this record; the guideline is silent here")
                    out.append(_finding("uncovered", line, rid, file, d.criterion, label, label, [], None, "warning", msg,
                                        value=value))
                elif code == AMBIGUOUS:
                    msg = self._messages.get(t[:3])
                    if msg is None:
                        parts = "; ".join(f"{a.name} allows {', '.join(value_text(x) for x in a.values)}" for a in arms)
                        msg = self._messages[t[:3]] = f"the guideline gives more than one answer for `{label}`: {parts}"
                    out.append(_finding("ambiguous", line, rid, file, d.criterion, label, label, names, None, "warning",
                                        msg, value=value))
                else:
                    allowed: list[Any] = []
                    for a in arms:
                        allowed += [x for x in a.values if x not in allowed]
                    which = " and ".join(a.name for a in arms)
                    verb = "allows" if len(arms) == 1 else "allow"
                    msg = (f"`{label}` is {show(value)}, but {which} of `decide {label}` {verb} "
                           f"{'only ' if len(allowed) == 1 else ''}{', '.join(value_text(x) for x in allowed)}")
                    if value.__class__ in (str, int, bool) and len(self._messages) < 10_000:
                        self._messages[(t, value)] = (msg, tuple(names))
                    out.append(_finding("violation", line, rid, file, d.criterion, label, label, names, None, "error",
                                        msg, value=value))
            elif code == RULE_VIOLATION:
                r = self.rules[t[1]]
                out.append({"kind": "violation", "line": line, "record": rid, "file": file, "criterion": r.criterion,
                            "rule": r.name, "label": None, "arms": None, "target": None, "severity": r.severity,
                            "message": r.message, "fields": self._values(rec, jud, ("r", r.index))})
            else:  # ESCALATION
                e = self.escalations[t[1]]
                out.append({"kind": "escalation", "line": line, "record": rid, "file": file, "criterion": e.criterion,
                            "rule": e.name, "label": None, "arms": None, "target": e.target, "severity": "info",
                            "message": e.reason, "fields": self._values(rec, jud, ("e", e.index))})
        return out

    def _values(self, rec: dict, jud: Any, key: tuple) -> dict[str, Any]:
        out = {}
        for name, get in self._reads[key]:
            v = get(rec, jud)
            if v.__class__ is str and len(v) > 200:
                v = v[:197] + "..."
            out[name] = v
        return out


def _finding(kind, line, record, file, criterion, rule, label, arms, target, severity, message, **extra) -> dict:
    d = {"kind": kind, "line": line, "record": record, "file": file, "criterion": criterion, "rule": rule,
         "label": label, "arms": arms, "target": target, "severity": severity, "message": message}
    d.update(extra)
    return d


def unreadable_finding(file: str, line: int, why: str, what: str = "a JSON object") -> dict:
    """An unreadable line: `what` a record is there (a JSON object, a CSV row) and why not."""
    return _finding("unreadable", line, str(line), file, None, None, None, None, None, "error",
                    f"line {line} is not {what}: {why}")


def each_finding(file: str, line: int, record: str, each: str, message: str, judgment: str | None,
                 value: Any = None) -> dict:
    """An invalid finding about a record's list of judgments (`each`) or one of its
    elements: `label` null; `judgment` the element's position, when about one."""
    f = _finding("invalid", line, record, file, None, None, None, None, None, "error", message,
                 value=report_value(value))
    if judgment is not None:
        f["judgment"] = judgment
    return f


def annotator_row() -> dict[str, int]:
    """A row of the per-annotator table (`rubric check --by annotator`), all zeros."""
    return dict.fromkeys(("judgments", *ANNOTATOR_KINDS), 0)


def annotator_rows(table: dict[str | None, dict[str, int]]) -> list[dict[str, Any]]:
    """The per-annotator table as the report's `by_annotator` holds it: one row per
    annotator, in the order of their names, the records without an annotator last
    (`annotator` null); each with `judgments`, one count per kind and their total
    (`findings`)."""
    out = []
    for name in sorted(table, key=lambda a: (a is None, a or "")):
        row = table[name]
        out.append({"annotator": name, **row, "findings": sum(row[k] for k in ANNOTATOR_KINDS)})
    return out


def summary_dict(records: int, counts: dict[str, int], by_severity: dict[str, int] | None = None,
                 items: int | None = None, judgments: int | None = None, skipped: int | None = None,
                 by_annotator: dict[str | None, dict[str, int]] | None = None) -> dict:
    """The report's `summary`: records, unreadable, one count per finding kind, and per severity
    (and `items` when the rubric has item checks; `judgments` and `skipped` with `each`;
    `by_annotator` with `rubric check --by annotator`)."""
    s: dict[str, Any] = {"records": records}
    if judgments is not None:
        s["judgments"] = judgments
        s["skipped"] = skipped or 0
    if items is not None:
        s["items"] = items
    for k in ("unreadable", "violation", "uncovered", "ambiguous", "invalid", "escalation"):
        s[k] = counts.get(k, 0)
    sev = by_severity or {}
    s["errors"] = sev.get("error", 0)
    s["warnings"] = sev.get("warning", 0)
    s["infos"] = sev.get("info", 0)
    if by_annotator is not None:
        s["by_annotator"] = annotator_rows(by_annotator)
    return s
