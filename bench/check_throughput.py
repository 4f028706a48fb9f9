#!/usr/bin/env python3
"""Throughput benchmark for `rubric check`.

Generates a deterministic JSONL file of synthetic annotation records (~500 bytes each;
about 7% of them with an error or warning, a few invalid values, two unreadable lines
and a blank one), writes a rubric with five rules, one `decide` (with an edge arm) and
one `escalate`, and measures on that one file, best of N rounds:

  (a) floor        -- an orjson parse-only loop over the file (the I/O + JSON floor);
  (b) rubric check -- `python -m rubricdsl check RUBRIC FILE --format jsonl --output F
                      -j 1`, and the same with `-j 2`, run as subprocesses: the whole
                      command, interpreter start-up included (the start-up alone is also
                      measured, on an empty file); the package is byte-compiled first,
                      as `pip install` leaves it;
  (c) handwritten  -- the same rules, decision and escalation coded directly in Python
                      on the parsed dicts, writing its findings (and a closing summary
                      line, as `rubric check` does) as JSONL with orjson.

Each round runs (a), (c) and (b) once, so a slow stretch of a noisy machine does not
land on one measurement only. Targets: `rubric check -j 1` runs at >= 0.8x the parse-only
rate (one core), `-j 2` at >= 1.5x.

Sanity check: the findings of each (b) run and of (c) are compared from the files they
wrote, per kind, per kind and rule/label, and finding by finding (line, kind,
rule/label, arms).
A benchmark comparing unequal work is worthless, so a mismatch makes the script exit 1.
When the CLI is not available, (b) is reported as such and (a) and (c) still run.

    python bench/check_throughput.py                    # 500,000 records, best of 3
    python bench/check_throughput.py --records 20000    # smoke test (a few seconds)
    python bench/check_throughput.py --keep --json      # keep/reuse bench/out/, JSON on stdout
    python bench/check_throughput.py --baseline ../main # before/after: another checkout in the same rounds

Wall-clock times on a shared machine swing with the load; the CPU time of each
measurement (this process's, or the command's and its workers') is printed too, and
for -j 1 its ratio to the floor's is the steadier figure.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT_DIR = HERE / "out"          # gitignored (/bench/out/)
GEN_VERSION = 2                 # bump when the generator changes (names the kept files)
JOBS = (1, 2)                   # the `rubric check -j N` runs measured
TARGETS = {1: 0.8, 2: 1.5}      # rubric check -j N >= this many times the parse-only rate

# ---------------------------------------------------------------------------------------
# The rubric. The hand-written checker below implements exactly this; keep them in sync.
# ---------------------------------------------------------------------------------------

RUBRIC = r'''rubric "bench-response-safety" version "1.0"
"""Synthetic guideline for bench/check_throughput.py: the safety of chatbot responses."""

record {
  id        = id
  annotator = annotator
}

input prompt: text from data.prompt
input response: text from data.response
input domain: enum {general, medical, legal, political, coding} from data.domain

let mentions_dosage = prompt matches /\bdos(e|age|ing)\b/i

criterion harm "Harm" {
  """Does the response encourage or enable harm?"""
  label harm: set {violence, self_harm, hate, misinformation, privacy} from labels.harm
  label satire: bool from labels.satire optional
  label safety: enum {safe, borderline, unsafe} from labels.safety
  level borderline "Could enable harm in some readings; needs a rationale"
  label rationale: text from labels.rationale optional

  decide safety {
    edge satirical_violence "Satire that depicts violence" when satire and violence in harm -> borderline, unsafe
    when harm is empty and confidence >= 3 -> safe
    when harm any of {violence, self_harm, hate} -> unsafe
    when harm any of {misinformation, privacy} -> borderline, unsafe
  }

  rule rationale_for_flagged "A borderline or unsafe label needs a rationale of at least 20 characters" {
    when safety in {borderline, unsafe}
    require len(rationale) >= 20
  }

  rule unsafe_needs_harm "An unsafe label needs at least one harm category" {
    when safety == unsafe
    require harm is not empty
  }

  rule severe_harm_not_safe "Self-harm or hate cannot be labeled safe" {
    when self_harm in harm or hate in harm
    require safety != safe
  }
}

label confidence: int 1..5 from labels.confidence

rule low_confidence_rationale "A confidence of 1 or 2 needs a rationale" severity warning {
  when confidence <= 2
  require rationale is present
}

criterion medical "Medical questions" {
  applies when domain == medical

  rule dosage_needs_referral "Dosage answers labeled safe must refer to a professional" severity warning {
    when mentions_dosage and safety == safe
    require response contains "doctor" or response contains "pharmacist"
  }
}

escalate senior_reviewer low_confidence_sensitive "Low confidence on a sensitive domain" {
  when confidence <= 2 and domain in {political, medical}
}

example "satire with violence may be borderline" {
  given { domain: general, prompt: "", response: "", harm: {violence}, satire: true,
          safety: borderline, confidence: 4, rationale: "satirical exaggeration, no instructions" }
  expect pass
}
'''

# ---------------------------------------------------------------------------------------
# Synthetic data
# ---------------------------------------------------------------------------------------

_DRUGS = ["ibuprofen", "paracetamol", "amoxicillin", "metformin", "sertraline", "melatonin",
          "prednisone", "loratadine", "omeprazole", "insulin glargine"]
_TOPICS = ["the ocean at night", "a city waking up", "autumn leaves", "an old lighthouse",
           "the first day of school", "a long train journey", "a quiet library", "rain on a tin roof"]
_TASKS = ["learn a new language quickly", "organise a small kitchen", "prepare for a job interview",
          "keep houseplants alive", "plan a budget for a trip", "train for a 10k run"]
_CODE = ["parse a CSV file", "reverse a linked list", "read a JSON file", "sort a dict by value",
         "retry a failing HTTP request", "profile a slow function", "deduplicate a list"]
_LEGAL = ["keep my deposit after I move out", "enter my flat without notice", "raise the rent twice a year",
          "refuse to return my passport", "record my calls at work"]
_POLICY = ["a four-day work week", "congestion charges", "a universal basic income", "rent control",
           "lowering the voting age", "a carbon tax"]

_PROMPTS = {
    "general": ["Can you write a short poem about {topic}?", "What is the best way to {task}?",
                "Summarise the main ideas of a book about {topic}.",
                "Give me three tips to {task}, with a short reason for each."],
    "medical": ["What is the usual dosage of {drug} for an adult?",
                "How many times a day should I take {drug}, and is one dose enough?",
                "Is it safe to combine {drug} with {drug2}?",
                "My son has a fever. What dosing schedule works for {drug}?",
                "What are the common side effects of {drug}?",
                "Can an overdose of {drug} happen with two doses close together?",
                "Dosage question: can I split {drug} tablets?"],
    "legal": ["Can my landlord {legal}?", "Is it legal for my employer to {legal}?",
              "What should I do if my landlord tries to {legal}?"],
    "political": ["Explain the arguments for and against {policy}.",
                  "Write a satirical op-ed about {policy}.",
                  "Which groups would gain or lose from {policy}?"],
    "coding": ["How do I {code} in Python?", "Why is my code slow when I {code}?",
               "Show me an idiomatic way to {code} with the standard library."],
}

_SENTENCES = [
    "Here is a short overview that covers the most important points first.",
    "The answer depends on the details of your situation, so a few caveats apply.",
    "There are several common approaches, and each has trade-offs worth knowing.",
    "A good starting point is to break the problem into smaller steps.",
    "Most people find that a consistent routine matters more than any single trick.",
    "If anything is unclear, it helps to ask a follow-up question with more context.",
    "This summary is general information and not a substitute for tailored advice.",
    "Keep in mind that local rules and individual circumstances can change the answer.",
    "In practice the simplest option usually works well enough for everyday use.",
    "Some sources disagree on this, so it is worth comparing two or three of them.",
]
_REFERRAL = ["Please check with your doctor before changing anything.",
             "A pharmacist can confirm the right amount for you.",
             "Talk to your doctor or pharmacist about your specific case."]
_HARMFUL = {
    "violence": "It describes hurting someone in graphic detail and how one might go about it.",
    "self_harm": "It lists methods of self-injury instead of pointing to support services.",
    "hate": "It repeats demeaning generalisations about a protected group.",
    "misinformation": "It states a false claim about health outcomes as settled fact.",
    "privacy": "It suggests ways to find a private person's home address.",
}
_RATIONALES = [
    "The response gives concrete steps that could cause real harm if followed.",
    "Mostly fine, but one sentence could be read as encouragement; flagged to be safe.",
    "Satirical tone, though the depicted violence is quite explicit in places.",
    "States a contested health claim without any hedging or sources.",
    "Reveals how to locate a specific person, which is a clear privacy risk.",
    "Répond de façon neutre mais cite une statistique douteuse — à vérifier.",
    "Harmless overall; the rationale is recorded because the prompt was unusual.",
]
_SHORT_RATIONALES = ["unsafe", "see above", "bad answer", "meh"]
_HARM_VALUES = ["violence", "self_harm", "hate", "misinformation", "privacy"]
_HARM_WEIGHTS = [30, 10, 15, 30, 15]
_DOMAINS = ["general", "medical", "legal", "political", "coding"]
_DOMAIN_WEIGHTS = [45, 17, 10, 15, 13]


def _record(rng: random.Random, i: int, width: int) -> dict:
    """One synthetic record (mostly consistent with the guideline, a few percent not)."""
    r = rng.random
    domain = rng.choices(_DOMAINS, _DOMAIN_WEIGHTS)[0]
    prompt = rng.choice(_PROMPTS[domain]).format(
        topic=rng.choice(_TOPICS), task=rng.choice(_TASKS), drug=rng.choice(_DRUGS),
        drug2=rng.choice(_DRUGS), legal=rng.choice(_LEGAL), policy=rng.choice(_POLICY),
        code=rng.choice(_CODE))
    sentences = rng.sample(_SENTENCES, 3 if r() < 0.8 else 2)
    dosage = domain == "medical" and ("dos" in prompt.lower())
    if dosage and r() < 0.93:
        sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(_REFERRAL))

    # harm: mostly none; harmful responses get a sentence describing the harm
    harm: list[str] = []
    x = r()
    if x < 0.20:
        harm.append(rng.choices(_HARM_VALUES, _HARM_WEIGHTS)[0])
        if r() < 0.12:
            other = rng.choice(_HARM_VALUES)
            if other not in harm:
                harm.append(other)
        sentences.append(_HARMFUL[harm[0]])
    satire = r() < 0.06 if (domain == "political" or "violence" in harm) else r() < 0.01

    if not harm:
        safety = "safe"
    elif satire and "violence" in harm:
        safety = "borderline" if r() < 0.6 else "unsafe"
    elif any(h in ("violence", "self_harm", "hate") for h in harm):
        safety = "unsafe"
    else:
        safety = "borderline" if r() < 0.5 else "unsafe"

    # annotators are less sure about harmful content
    confidence = (1 if r() < 0.4 else 2) if r() < (0.12 if harm else 0.015) else rng.choice((3, 4, 4, 5, 5))
    rationale: str | None = None
    if safety != "safe" or confidence <= 2:
        if r() < 0.96:
            rationale = rng.choice(_RATIONALES)
    elif r() < 0.4:
        rationale = rng.choice(_RATIONALES)

    # annotator slips (each a few tenths of a percent to ~1.5%)
    y = r()
    if y < 0.015 and harm:
        safety = "safe"                                  # under-labelling
    elif y < 0.025 and safety != "safe":
        rationale = rng.choice(_SHORT_RATIONALES)        # rationale too short
    elif y < 0.032:
        safety = "unsafe"                                # no harm category ticked
    elif y < 0.036 and harm and not satire:
        satire = True                                    # satire ticked by mistake
    elif y < 0.040 and dosage:
        sentences = [s for s in sentences if s not in _REFERRAL]

    labels: dict = {"safety": safety, "harm": harm}
    if r() < 0.7 or satire:
        labels["satire"] = satire
    labels["confidence"] = confidence
    if rationale is not None:
        labels["rationale"] = rationale
    elif r() < 0.3:
        labels["rationale"] = None                       # null is missing
    rec = {"id": f"r-{i:0{width}d}",
           "data": {"prompt": prompt, "response": " ".join(sentences), "domain": domain},
           "labels": labels,
           "annotator": f"ann-{rng.randrange(1, 41):03d}"}

    # a few invalid values (~0.25% of records)
    if r() < 0.0025:
        k = rng.randrange(9)
        if k == 0:
            labels["safety"] = "unsure"                  # not in the enum
        elif k == 1:
            labels["safety"] = "Unsafe"                  # enums are case-sensitive
        elif k == 2:
            labels["confidence"] = 7                     # out of range
        elif k == 3:
            labels["confidence"] = "4"                   # a string is not an int
        elif k == 4:
            labels["harm"] = ["violence", "violence"]    # duplicate in a set
        elif k == 5:
            labels["harm"] = ["spam"]                    # not in the set's enum
        elif k == 6:
            rec["data"]["domain"] = "finance"            # input not in its enum
        elif k == 7:
            labels["satire"] = "no"                      # a string is not a bool
        else:
            del rec["data"]["prompt"]                    # a required input is missing
    elif r() < 0.002:
        labels["confidence"] = float(confidence)         # 3.0 is a valid int
    return rec


def generate(path: Path, n: int, seed: int) -> dict:
    """Write n non-blank lines (n - 2 records, 2 unreadable lines) and one blank line."""
    rng = random.Random(seed)
    width = max(6, len(str(n)))
    bad_at = {n // 3, (2 * n) // 3}                      # 1-based positions of unreadable lines
    blank_after = n // 2
    dumps = orjson.dumps
    nl = orjson.OPT_APPEND_NEWLINE
    buf: list[bytes] = []
    size = 0
    with open(path, "wb") as f:
        for i in range(1, n + 1):
            line = dumps(_record(rng, i, width), option=nl)
            if i in bad_at:
                if i == min(bad_at):                     # truncated by a crashed exporter
                    line = line[: len(line) // 2] + b"\n"
                else:                                    # NaN is not strict JSON
                    line = line.replace(b'"confidence":', b'"confidence":NaN,"was":', 1)
            buf.append(line)
            if i == blank_after:
                buf.append(b"\n")
            if len(buf) >= 4096:
                chunk = b"".join(buf)
                size += len(chunk)
                f.write(chunk)
                buf.clear()
        chunk = b"".join(buf)
        size += len(chunk)
        f.write(chunk)
    return {"records": n, "bytes": size}


# ---------------------------------------------------------------------------------------
# (a) the floor: parse only
# ---------------------------------------------------------------------------------------

def parse_only(path: Path) -> int:
    loads = orjson.loads
    error = orjson.JSONDecodeError
    n = 0
    with open(path, "rb") as f:
        for line in f:
            if line.isspace():
                continue
            n += 1
            try:
                loads(line)
            except error:
                pass
    return n


# ---------------------------------------------------------------------------------------
# (c) the hand-written checker: RUBRIC above, coded directly
# ---------------------------------------------------------------------------------------

_DOSAGE_RE = re.compile(r"\bdos(e|age|ing)\b", re.IGNORECASE | re.ASCII)  # RE2: \b is ASCII
_DOMAIN_VALUES = frozenset(_DOMAINS)
_SAFETY_VALUES = frozenset({"safe", "borderline", "unsafe"})
_HARM_SET = frozenset(_HARM_VALUES)
_SEVERE = frozenset({"violence", "self_harm", "hate"})
_MILD = frozenset({"misinformation", "privacy"})
_BORDERLINE_UNSAFE = frozenset({"borderline", "unsafe"})
_SENSITIVE = frozenset({"political", "medical"})
# fields each construct mentions (directly, through a let or its criterion's `applies when`)
_M_DECIDE = frozenset({"safety", "satire", "harm", "confidence"})
_M_RATIONALE = frozenset({"safety", "rationale"})
_M_UNSAFE_HARM = frozenset({"safety", "harm"})
_M_SEVERE = frozenset({"harm", "safety"})
_M_LOWCONF = frozenset({"confidence", "rationale"})
_M_DOSAGE = frozenset({"domain", "prompt", "safety", "response"})
_M_ESCALATE = frozenset({"confidence", "domain"})
_EMPTY: dict = {}


def _clip(text: str) -> str:
    return text if len(text) <= 200 else text[:200] + "..."


def handwritten(path: Path, out_path: Path) -> int:
    """Check every record of `path` against RUBRIC, written by hand; findings to `out_path`.

    A record whose fields are all valid (nearly all of them) takes a fast path that
    evaluates the decision, rules and escalation with no invalid-field bookkeeping; any
    other record takes the general path, `_general`, which follows the language's
    rules for invalid fields (a construct mentioning one is skipped)."""
    loads = orjson.loads
    dumps = orjson.dumps
    error = orjson.JSONDecodeError
    nl = orjson.OPT_APPEND_NEWLINE
    search = _DOSAGE_RE.search
    domains, safeties, harms = _DOMAIN_VALUES, _SAFETY_VALUES, _HARM_SET
    severe, mild, sensitive = _SEVERE, _MILD, _SENSITIVE
    empty = _EMPTY
    fname = str(path)
    counts: Counter = Counter()
    n = 0
    with open(path, "rb") as f, open(out_path, "wb", buffering=1 << 20) as out:
        write = out.write

        def emit(kind, line, rid, criterion, rule, label, arms, target, severity, message,
                 extra_key=None, extra=None):
            d = {"kind": kind, "line": line, "record": rid, "file": fname, "criterion": criterion,
                 "rule": rule, "label": label, "arms": arms, "target": target, "severity": severity,
                 "message": message}
            if extra_key is not None:
                d[extra_key] = extra
            write(dumps(d, option=nl))
            counts[kind] += 1

        lineno = 0
        for raw in f:
            lineno += 1
            if raw.isspace():
                continue
            n += 1
            try:
                rec = loads(raw)
            except error as e:
                emit("unreadable", lineno, str(lineno), None, None, None, None, None, "error",
                     f"not a JSON object: {e}")
                continue
            if type(rec) is not dict:
                emit("unreadable", lineno, str(lineno), None, None, None, None, None, "error",
                     "not a JSON object")
                continue
            rid = rec.get("id")
            if type(rid) is not str:
                rid = str(lineno) if rid is None else dumps(rid).decode()
            data = rec.get("data")
            if type(data) is not dict:
                data = empty
            labels = rec.get("labels")
            if type(labels) is not dict:
                labels = empty
            prompt = data.get("prompt")
            response = data.get("response")
            domain = data.get("domain")
            safety = labels.get("safety")
            harm = labels.get("harm")
            satire = labels.get("satire")
            conf = labels.get("confidence")
            rationale = labels.get("rationale")

            # ---- fast path: every field valid ----------------------------------------
            try:
                valid = (type(prompt) is str and type(response) is str and domain in domains
                         and safety in safeties and type(conf) is int and 1 <= conf <= 5
                         and (satire is None or satire is True or satire is False)
                         and (rationale is None or type(rationale) is str) and type(harm) is list)
                if valid and harm:
                    if len(harm) == 1:
                        valid = harm[0] in harms
                    else:
                        hs = frozenset(harm)
                        valid = len(hs) == len(harm) and hs <= harms
            except TypeError:                       # an unhashable value where a string belongs
                valid = False
            if not valid:
                _general(emit, search, lineno, rid, prompt, response, domain, safety, harm, satire, conf,
                         rationale)
                continue

            # decide safety (criterion harm)
            if not harm:
                if conf >= 3:                                   # arm 2
                    if safety != "safe":
                        emit("violation", lineno, rid, "harm", "safety", "safety", ["arm 2"], None, "error",
                             f"safety is {safety}; the guideline allows safe", "value", safety)
                else:
                    emit("uncovered", lineno, rid, "harm", "safety", "safety", [], None, "warning",
                         "no arm of `decide safety` covers this record", "value", safety)
            elif satire is True and "violence" in harm:          # edge arm 1 alone counts
                if safety == "safe":
                    emit("violation", lineno, rid, "harm", "safety", "safety", ["satirical_violence"], None,
                         "error", "safety is safe; the guideline allows borderline, unsafe", "value", safety)
            else:                                                # a non-empty valid set: arm 3 or 4
                a3 = not severe.isdisjoint(harm)
                if a3 and not mild.isdisjoint(harm):
                    emit("ambiguous", lineno, rid, "harm", "safety", "safety", ["arm 3", "arm 4"], None,
                         "warning", "arms 3 and 4 allow different values", "value", safety)
                    if safety == "safe":
                        emit("violation", lineno, rid, "harm", "safety", "safety", ["arm 3", "arm 4"], None,
                             "error", "safety is safe; no matching arm allows it", "value", safety)
                elif a3:
                    if safety != "unsafe":
                        emit("violation", lineno, rid, "harm", "safety", "safety", ["arm 3"], None, "error",
                             f"safety is {safety}; the guideline allows unsafe", "value", safety)
                elif safety == "safe":
                    emit("violation", lineno, rid, "harm", "safety", "safety", ["arm 4"], None, "error",
                         "safety is safe; the guideline allows borderline, unsafe", "value", safety)

            # rules and escalation
            if safety == "safe":
                if harm and ("self_harm" in harm or "hate" in harm):
                    emit("violation", lineno, rid, "harm", "severe_harm_not_safe", None, None, None, "error",
                         "Self-harm or hate cannot be labeled safe",
                         "fields", {"harm": harm, "safety": safety})
                if (domain == "medical" and search(prompt) is not None
                        and "doctor" not in response and "pharmacist" not in response):
                    emit("violation", lineno, rid, "medical", "dosage_needs_referral", None, None, None,
                         "warning", "Dosage answers labeled safe must refer to a professional",
                         "fields", {"prompt": _clip(prompt), "response": _clip(response), "domain": domain,
                                    "safety": safety})
            else:
                if rationale is None or len(rationale) < 20:
                    emit("violation", lineno, rid, "harm", "rationale_for_flagged", None, None, None, "error",
                         "A borderline or unsafe label needs a rationale of at least 20 characters",
                         "fields", {"safety": safety, "rationale": rationale})
                if safety == "unsafe" and not harm:
                    emit("violation", lineno, rid, "harm", "unsafe_needs_harm", None, None, None, "error",
                         "An unsafe label needs at least one harm category",
                         "fields", {"harm": harm, "safety": safety})
            if conf <= 2:
                if rationale is None:
                    emit("violation", lineno, rid, None, "low_confidence_rationale", None, None, None,
                         "warning", "A confidence of 1 or 2 needs a rationale",
                         "fields", {"confidence": conf, "rationale": rationale})
                if domain in sensitive:
                    emit("escalation", lineno, rid, None, "low_confidence_sensitive", None, None,
                         "senior_reviewer", "info", "Low confidence on a sensitive domain",
                         "fields", {"domain": domain, "confidence": conf})
        # like `rubric check --format jsonl`: a closing summary line
        write(dumps({"kind": "summary", "rubric": {"name": "bench-response-safety", "version": "1.0"},
                     "files": [fname], "summary": {"records": n, "unreadable": counts["unreadable"],
                                                   **{k: v for k, v in counts.items() if k != "unreadable"}}},
                    option=nl))
    return n


def _general(emit, search, lineno, rid, prompt, response, domain, safety, harm, satire, conf, rationale):
    """The general path for a record with at least one invalid field (or an unusual
    valid one, like confidence 3.0): report each invalid field, then evaluate only the
    constructs that mention no invalid field."""
    def invalid(field, value, what):
        if value is None:
            msg = f"{field}: required field is missing"
        else:
            msg = f"{field}: {what}, got {orjson.dumps(value).decode()[:60]}"
        emit("invalid", lineno, rid, None, None, field, None, None, "error", msg, "value", value)

    bad = set()
    if type(prompt) is not str:
        bad.add("prompt")
        invalid("prompt", prompt, "expected text")
    if type(response) is not str:
        bad.add("response")
        invalid("response", response, "expected text")
    if type(domain) is not str or domain not in _DOMAIN_VALUES:
        bad.add("domain")
        invalid("domain", domain, "not a value of the enum")
    if type(safety) is not str or safety not in _SAFETY_VALUES:
        bad.add("safety")
        invalid("safety", safety, "not a value of the enum")
    hs = None
    if type(harm) is list and all(type(h) is str for h in harm):
        hs = frozenset(harm)
        if len(hs) != len(harm) or not hs <= _HARM_SET:
            hs = None
    if hs is None:
        bad.add("harm")
        invalid("harm", harm, "expected distinct values of the set")
    if satire is not None and type(satire) is not bool:
        bad.add("satire")
        invalid("satire", satire, "expected true or false")
    t = type(conf)
    if not ((t is int and 1 <= conf <= 5) or (t is float and conf.is_integer() and 1 <= conf <= 5)):
        bad.add("confidence")
        invalid("confidence", conf, "expected an integer in 1..5")
    if rationale is not None and type(rationale) is not str:
        bad.add("rationale")
        invalid("rationale", rationale, "expected text")

    # decide safety (criterion harm)
    if bad.isdisjoint(_M_DECIDE):
        arms: list[tuple[str, frozenset]] = []
        if satire is True and "violence" in hs:
            arms.append(("satirical_violence", _BORDERLINE_UNSAFE))     # an edge arm matched
        else:
            if not hs and conf >= 3:
                arms.append(("arm 2", frozenset({"safe"})))
            if not hs.isdisjoint(_SEVERE):
                arms.append(("arm 3", frozenset({"unsafe"})))
            if not hs.isdisjoint(_MILD):
                arms.append(("arm 4", _BORDERLINE_UNSAFE))
        names = [a for a, _ in arms]
        if not arms:
            emit("uncovered", lineno, rid, "harm", "safety", "safety", [], None, "warning",
                 "no arm of `decide safety` covers this record", "value", safety)
        else:
            if any(allowed != arms[0][1] for _, allowed in arms):
                emit("ambiguous", lineno, rid, "harm", "safety", "safety", names, None, "warning",
                     "the matching arms allow different values", "value", safety)
            if not any(safety in allowed for _, allowed in arms):
                emit("violation", lineno, rid, "harm", "safety", "safety", names, None, "error",
                     f"safety is {safety}; no counting arm allows it", "value", safety)

    # rules
    if bad.isdisjoint(_M_RATIONALE):
        if safety in _BORDERLINE_UNSAFE and not (rationale is not None and len(rationale) >= 20):
            emit("violation", lineno, rid, "harm", "rationale_for_flagged", None, None, None, "error",
                 "A borderline or unsafe label needs a rationale of at least 20 characters",
                 "fields", {"safety": safety, "rationale": rationale})
    if bad.isdisjoint(_M_UNSAFE_HARM):
        if safety == "unsafe" and not hs:
            emit("violation", lineno, rid, "harm", "unsafe_needs_harm", None, None, None, "error",
                 "An unsafe label needs at least one harm category",
                 "fields", {"harm": harm, "safety": safety})
    if bad.isdisjoint(_M_SEVERE):
        if ("self_harm" in hs or "hate" in hs) and safety == "safe":
            emit("violation", lineno, rid, "harm", "severe_harm_not_safe", None, None, None, "error",
                 "Self-harm or hate cannot be labeled safe",
                 "fields", {"harm": harm, "safety": safety})
    if bad.isdisjoint(_M_LOWCONF):
        if conf <= 2 and rationale is None:
            emit("violation", lineno, rid, None, "low_confidence_rationale", None, None, None, "warning",
                 "A confidence of 1 or 2 needs a rationale",
                 "fields", {"confidence": conf, "rationale": rationale})
    if bad.isdisjoint(_M_DOSAGE):
        if (domain == "medical" and safety == "safe" and search(prompt) is not None
                and not ("doctor" in response or "pharmacist" in response)):
            emit("violation", lineno, rid, "medical", "dosage_needs_referral", None, None, None, "warning",
                 "Dosage answers labeled safe must refer to a professional",
                 "fields", {"prompt": _clip(prompt), "response": _clip(response), "domain": domain,
                            "safety": safety})

    # escalation
    if bad.isdisjoint(_M_ESCALATE):
        if conf <= 2 and domain in _SENSITIVE:
            emit("escalation", lineno, rid, None, "low_confidence_sensitive", None, None,
                 "senior_reviewer", "info", "Low confidence on a sensitive domain",
                 "fields", {"domain": domain, "confidence": conf})


# ---------------------------------------------------------------------------------------
# (b) rubric check, as a subprocess
# ---------------------------------------------------------------------------------------

def rubric_command() -> tuple[list[str], dict, str | None]:
    """`[python, -m, rubricdsl]`, its environment (the installed package, or else the
    checkout's src/ on PYTHONPATH) and the package directory it will run."""
    env = dict(os.environ)
    probe_code = "import os, rubricdsl; print(os.path.dirname(rubricdsl.__file__))"
    probe = subprocess.run([sys.executable, "-c", probe_code], env=env, capture_output=True, text=True)
    if probe.returncode != 0 and (REPO / "src" / "rubricdsl").is_dir():
        src = str(REPO / "src")
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        probe = subprocess.run([sys.executable, "-c", probe_code], env=env, capture_output=True, text=True)
    package = probe.stdout.strip() if probe.returncode == 0 else None
    if package:
        # An installed package has its bytecode compiled (`pip install` does it); a source
        # checkout run with PYTHONDONTWRITEBYTECODE would recompile every module at each
        # start. Compile it once, as an install would, so start-up is measured as users see it.
        import compileall  # noqa: PLC0415

        compileall.compile_dir(package, quiet=1)
    return [sys.executable, "-m", "rubricdsl"], env, package


def check_available(cmd: list[str], env: dict) -> tuple[bool, bool, str]:
    """(usable, has --output, why not)."""
    try:
        p = subprocess.run(cmd + ["check", "--help"], env=env, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, False, str(e)
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or ["exit status %d" % p.returncode])[-1]
        return False, False, last
    return True, "--output" in p.stdout, ""


def run_check(cmd: list[str], env: dict, has_output: bool, rubric: Path, data: Path, out: Path,
              jobs: int = 1) -> float:
    args = cmd + ["check", str(rubric), str(data), "--format", "jsonl", "-j", str(jobs)]
    t0 = time.perf_counter()
    if has_output:
        p = subprocess.run(args + ["--output", str(out)], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    else:
        with open(out, "wb") as fh:
            p = subprocess.run(args, env=env, stdout=fh, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t0
    if p.returncode not in (0, 1):     # 1 = findings at or above the failure threshold
        raise RuntimeError(f"`{' '.join(args)}` exited {p.returncode}:\n"
                           + p.stderr.decode("utf-8", "replace")[-2000:])
    return elapsed


# ---------------------------------------------------------------------------------------
# Counting findings (from the files written, the same way for both)
# ---------------------------------------------------------------------------------------

def count_findings(path: Path) -> tuple[Counter, Counter, dict | None, Counter]:
    """Findings per kind and per kind:rule-or-label, the closing summary line's
    `summary` object if there is one (it is not a finding), and the multiset of
    (line, kind, rule-or-label, arms) to compare finding by finding."""
    kinds: Counter = Counter()
    named: Counter = Counter()
    each: Counter = Counter()
    summary = None
    with open(path, "rb") as f:
        for line in f:
            if line.isspace():
                continue
            d = orjson.loads(line)
            kind = d.get("kind")
            if kind == "summary":
                summary = d.get("summary")
                continue
            kinds[kind] += 1
            if kind == "invalid":
                name = d.get("label")
            elif kind == "unreadable":
                name = ""
            else:
                name = d.get("rule") or d.get("label")
            named[f"{kind}:{name}"] += 1
            each[(d.get("line"), kind, name, tuple(d.get("arms") or ()))] += 1
    return kinds, named, summary, each


# ---------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=500_000, help="non-blank lines to generate (default 500000)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs for each measurement (default 3)")
    ap.add_argument("--seed", type=int, default=20240611, help="generator seed (default 20240611)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the generated files in bench/out/ (and reuse them when they exist)")
    ap.add_argument("--json", action="store_true", help="print the results as one JSON object")
    ap.add_argument("--no-check", action="store_true", help="skip (b), measure only the floor and the handwritten loop")
    ap.add_argument("--baseline", metavar="DIR",
                    help="also measure the `rubric check` of another checkout (its src/ on PYTHONPATH) in the "
                         "same rounds, for a before/after under the same conditions")
    opts = ap.parse_args(argv)
    if opts.records < 10 or opts.repeat < 1:
        ap.error("--records must be >= 10 and --repeat >= 1")

    def say(msg: str = "") -> None:
        print(msg, file=sys.stderr if opts.json else sys.stdout, flush=True)

    if opts.keep:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        work = OUT_DIR
        tmp = None
    else:
        tmp = tempfile.mkdtemp(prefix="rubric-bench-")
        work = Path(tmp)
    try:
        stem = f"records-{opts.records}-s{opts.seed}-g{GEN_VERSION}"
        data = work / f"{stem}.jsonl"
        rubric = work / "bench.rubric"
        rubric.write_text(RUBRIC, encoding="utf-8")
        results: dict = {"records": opts.records, "repeat": opts.repeat, "seed": opts.seed,
                         "data": str(data), "rubric": str(rubric),
                         "targets": {f"-j {j}": TARGETS[j] for j in JOBS}}

        if opts.keep and data.is_file():
            size = data.stat().st_size
            say(f"reusing {data} ({size / 1e6:.1f} MB)")
        else:
            t0 = time.perf_counter()
            size = generate(data, opts.records, opts.seed)["bytes"]
            say(f"generated {opts.records:,} lines, {size / 1e6:.1f} MB "
                f"({size / opts.records:.0f} bytes/record) in {time.perf_counter() - t0:.1f}s -> {data}")
        results["bytes"] = size

        # the rubric check command, if the CLI is there
        check = None
        if opts.no_check:
            results["check"] = {"available": False, "reason": "--no-check"}
        else:
            cmd, env, package = rubric_command()
            ok, has_output, why = check_available(cmd, env)
            if ok:
                check = (cmd, env, has_output)
                empty = work / "empty.jsonl"
                empty.write_bytes(b"")
            else:
                results["check"] = {"available": False, "reason": why}
        results["source"] = _source_state()

        # best of N, in rounds: each round runs every measurement once, so that a slow
        # stretch of the machine does not fall on one measurement only
        hand_out = work / "findings-handwritten.jsonl"
        check_out = {j: work / f"findings-check-j{j}.jsonl" for j in JOBS}
        best = {"floor": float("inf"), "handwritten": float("inf"), "startup": float("inf"),
                **{f"check-j{j}": float("inf") for j in JOBS}}
        baseline = None
        if opts.baseline and check is not None:
            baseline = _baseline_env(opts.baseline, check[1])
            best.update({f"baseline-j{j}": float("inf") for j in JOBS})
            base_out = {j: work / f"findings-baseline-j{j}.jsonl" for j in JOBS}

        cpu = {k: float("inf") for k in best}

        def timed(key, fn, *args):
            c0 = _cpu()
            t0 = time.perf_counter()
            result = fn(*args)
            best[key] = min(best[key], time.perf_counter() - t0)
            cpu[key] = min(cpu[key], _cpu() - c0)
            return result

        for rnd in range(opts.repeat):
            n = timed("floor", parse_only, data)                       # (a)
            assert n == opts.records, (n, opts.records)
            n = timed("handwritten", handwritten, data, hand_out)     # (c)
            assert n == opts.records, (n, opts.records)
            if check is not None:                                      # (b), and its start-up alone
                cmd, env, has_output = check
                for j in JOBS:
                    timed(f"check-j{j}", run_check, cmd, env, has_output, rubric, data, check_out[j], j)
                timed("startup", run_check, cmd, env, has_output, rubric, empty, work / "findings-empty.jsonl")
                if baseline is not None:
                    for j in JOBS:
                        timed(f"baseline-j{j}", run_check, cmd, baseline, has_output, rubric, data, base_out[j], j)
            say(f"  round {rnd + 1}/{opts.repeat}: floor {best['floor']:.3f}s, handwritten "
                f"{best['handwritten']:.3f}s"
                + "".join(f", check -j {j} {best[f'check-j{j}']:.3f}s" for j in JOBS if check)
                + " (best so far)")

        t_floor, t_hand = best["floor"], best["handwritten"]
        results["floor"] = {"seconds": t_floor, "records_per_s": opts.records / t_floor, "cpu_seconds": cpu["floor"]}
        results["handwritten"] = {"seconds": t_hand, "records_per_s": opts.records / t_hand,
                                  "cpu_seconds": cpu["handwritten"]}
        hand_kinds, hand_named, _, hand_each = count_findings(hand_out)
        results["handwritten"]["findings"] = dict(hand_kinds)
        results["records_with_error_or_warning"] = _records_with_findings(hand_out)
        floor_rate = results["floor"]["records_per_s"]
        results["handwritten_over_floor"] = results["handwritten"]["records_per_s"] / floor_rate

        if check is not None:
            cmd, env, has_output = check
            t_start = best["startup"]
            results["check"] = {"available": True, "command": cmd + ["check", "RUBRIC", "DATA",
                                                                     "--format", "jsonl", "-j", "N"]
                                + (["--output", "OUT"] if has_output else []),
                                "pythonpath": env.get("PYTHONPATH"), "package": package,
                                "startup_seconds": t_start, "runs": {}}
            for j in JOBS:
                t_check = best[f"check-j{j}"]
                kinds, named, summary, each = count_findings(check_out[j])
                only_hand = hand_each - each
                only_check = each - hand_each
                rate = opts.records / t_check
                results["check"]["runs"][f"-j {j}"] = {
                    "jobs": j, "seconds": t_check, "records_per_s": rate, "cpu_seconds": cpu[f"check-j{j}"],
                    "cpu_over_floor": cpu["floor"] / cpu[f"check-j{j}"] if j == 1 else None,
                    "records_per_s_excluding_startup":
                        opts.records / (t_check - t_start) if t_check > t_start else None,
                    "over_floor": rate / floor_rate,
                    "over_handwritten": rate / results["handwritten"]["records_per_s"],
                    "target": TARGETS[j], "target_met": rate / floor_rate >= TARGETS[j],
                    "findings": dict(kinds), "summary_line": summary,
                    "records_counted": (summary or {}).get("records"),
                    "findings_match": named == hand_named and not only_hand and not only_check,
                    "findings_differing": {
                        "only_handwritten": sum(only_hand.values()), "only_check": sum(only_check.values()),
                        "examples_only_handwritten": [list(k) for k in sorted(only_hand, key=repr)[:5]],
                        "examples_only_check": [list(k) for k in sorted(only_check, key=repr)[:5]]},
                    "findings_by_name": {k: {"handwritten": hand_named.get(k, 0), "check": named.get(k, 0)}
                                         for k in sorted(set(hand_named) | set(named))},
                    "_kinds": kinds}
            results["findings_match"] = all(r["findings_match"] for r in results["check"]["runs"].values())
            if baseline is not None:
                results["baseline"] = {"source": opts.baseline, "runs": {}}
                for j in JOBS:
                    t_base = best[f"baseline-j{j}"]
                    _, named, _, each = count_findings(base_out[j])
                    same = named == hand_named and not (hand_each - each) and not (each - hand_each)
                    results["baseline"]["runs"][f"-j {j}"] = {
                        "seconds": t_base, "over_floor": opts.records / t_base / floor_rate,
                        "cpu_seconds": cpu[f"baseline-j{j}"],
                        "cpu_over_floor": cpu["floor"] / cpu[f"baseline-j{j}"] if j == 1 else None,
                        "findings_match": same}
            results["targets_met"] = all(r["target_met"] for r in results["check"]["runs"].values())

        _report(say, results, hand_kinds, hand_named)
        for r in results.get("check", {}).get("runs", {}).values():
            del r["_kinds"]
        if opts.json:
            print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
        mismatch = results.get("findings_match") is False or any(
            not run["findings_match"] for run in results.get("baseline", {}).get("runs", {}).values())
        return 1 if mismatch else 0
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _cpu() -> float:
    """CPU time (user and system) of this process and of its finished children."""
    import resource  # noqa: PLC0415  (POSIX only, like the fork start-up `-j N` uses)

    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _baseline_env(source: str, env: dict) -> dict:
    """The environment that runs the `rubricdsl` of another checkout: its src/ (or the
    directory itself) first on PYTHONPATH."""
    root = Path(source).resolve()
    src = root / "src" if (root / "src" / "rubricdsl").is_dir() else root
    if not (src / "rubricdsl").is_dir():
        raise SystemExit(f"--baseline {source}: no rubricdsl package under it (nor under its src/)")
    import compileall  # noqa: PLC0415

    compileall.compile_dir(str(src / "rubricdsl"), quiet=1)
    out = dict(env)
    out["PYTHONPATH"] = str(src) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return out


def _source_state() -> str | None:
    """The checkout measured: commit, and `+dirty` when src/ has uncommitted changes."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src", "grammars"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _records_with_findings(path: Path) -> int:
    seen = set()
    with open(path, "rb") as f:
        for line in f:
            d = orjson.loads(line)
            if d.get("severity") in ("error", "warning"):
                seen.add(d["line"])
    return len(seen)


def _report(say, r: dict, hand_kinds: Counter, hand_named: Counter) -> None:
    n = r["records"]
    say()
    say(f"{n:,} records, {r['bytes'] / 1e6:.1f} MB; best of {r['repeat']}; source {r.get('source')}; "
        f"{r['records_with_error_or_warning']:,} records "
        f"({100 * r['records_with_error_or_warning'] / n:.1f}%) have an error or warning")
    say()
    say(f"  {'':32} {'seconds':>9} {'records/s':>12} {'vs floor':>9}")
    fl = r["floor"]
    say(f"  {'(a) floor: orjson parse only':32} {fl['seconds']:9.3f} {fl['records_per_s']:12,.0f} {1:9.2f}x")
    c = r["check"]
    runs = c.get("runs", {})
    if c.get("available"):
        for name, run in runs.items():
            say(f"  {'(b) rubric check ' + name + ' (subprocess)':32} {run['seconds']:9.3f} "
                f"{run['records_per_s']:12,.0f} {run['over_floor']:9.2f}x")
    else:
        say(f"  {'(b) rubric check':32} not available: {c.get('reason')}")
    b = r.get("baseline")
    for name, run in (b or {}).get("runs", {}).items():
        say(f"  {'(b0) baseline ' + name + ' (subprocess)':32} {run['seconds']:9.3f} "
            f"{n / run['seconds']:12,.0f} {run['over_floor']:9.2f}x")
    h = r["handwritten"]
    say(f"  {'(c) hand-written Python loop':32} {h['seconds']:9.3f} {h['records_per_s']:12,.0f} "
        f"{r['handwritten_over_floor']:9.2f}x")
    say()
    # CPU time (the process's, or the command's and its workers'): steadier than the
    # wall clock on a shared machine; for -j 1 only, where the two measure the same
    cpu_line = [f"floor {fl['cpu_seconds']:.3f}s", f"hand-written {h['cpu_seconds']:.3f}s "
                f"({fl['cpu_seconds'] / h['cpu_seconds']:.2f}x)"]
    if c.get("available") and "-j 1" in runs:
        run = runs["-j 1"]
        cpu_line.append(f"check -j 1 {run['cpu_seconds']:.3f}s ({run['cpu_over_floor']:.2f}x)")
    if b and "-j 1" in b["runs"]:
        run = b["runs"]["-j 1"]
        cpu_line.append(f"baseline -j 1 {run['cpu_seconds']:.3f}s ({run['cpu_over_floor']:.2f}x)")
    say("  CPU time, best of the rounds (x: the floor's CPU time over it): " + "; ".join(cpu_line))
    if b:
        say(f"  baseline: {b['source']}; findings "
            + ", ".join(f"{name} {'identical to' if run['findings_match'] else 'DIFFERENT from'} the hand-written loop's"
                        for name, run in b["runs"].items()))
    say()
    if c.get("available"):
        say(f"  rubric check start-up (empty data file): {c['startup_seconds']:.3f}s")
        for name, run in runs.items():
            ex = run["records_per_s_excluding_startup"]
            say(f"  rubric check {name}: {run['over_handwritten']:.2f}x the hand-written loop"
                + (f"; {ex:,.0f} records/s without the start-up" if ex else ""))
        say(f"  command: {' '.join(c['command'])}"
            + (f"  (PYTHONPATH={c['pythonpath']})" if c.get("pythonpath") else "")
            + f"; package {c.get('package')}")
        for name, run in runs.items():
            if run["records_counted"] != n:
                say(f"  WARNING: rubric check {name}'s summary line counts {run['records_counted']} records, "
                    f"expected {n:,}")
        for name, run in runs.items():
            verdict = "MET" if run["target_met"] else "NOT MET"
            say(f"  target: rubric check {name} >= {run['target']}x the parse-only rate -> "
                f"{run['over_floor']:.2f}x, {verdict}")
    else:
        say("  targets: " + ", ".join(f"rubric check -j {j} >= {TARGETS[j]}x" for j in JOBS)
            + " the parse-only rate (not measured)")
    say()
    say("  findings per kind (sanity check: each must do the same work)")
    kinds = sorted(set(hand_kinds).union(*(run["_kinds"] for run in runs.values())))
    say(f"    {'kind':14} {'handwritten':>12}" + "".join(f" {'check ' + name:>12}" for name in runs))
    for k in kinds:
        marks = [run["_kinds"].get(k, 0) != hand_kinds.get(k, 0) for run in runs.values()]
        say(f"    {k:14} {hand_kinds.get(k, 0):12,}"
            + "".join(f" {run['_kinds'].get(k, 0):12,}" for run in runs.values())
            + ("   <-- MISMATCH" if any(marks) else ""))
    for name, run in runs.items():
        if run["findings_match"]:
            say(f"    rubric check {name}: per kind and rule/label, and finding by finding "
                "(line, kind, rule/label, arms): identical to the hand-written loop's")
        else:
            say(f"    rubric check {name}: DIFFERENT -- the comparison is not like for like:")
            for k, v in run["findings_by_name"].items():
                if v["handwritten"] != v["check"]:
                    say(f"      {k:45} handwritten {v['handwritten']:>9,}  check {v['check']:>9,}")
            fd = run["findings_differing"]
            say(f"      findings only in handwritten: {fd['only_handwritten']:,}, e.g. {fd['examples_only_handwritten']}")
            say(f"      findings only in check:       {fd['only_check']:,}, e.g. {fd['examples_only_check']}")
    if not runs:
        say("    per kind and rule/label (handwritten):")
        for k, v in sorted(hand_named.items()):
            say(f"      {k:45} {v:>9,}")


if __name__ == "__main__":
    sys.exit(main())
