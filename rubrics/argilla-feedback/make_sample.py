#!/usr/bin/env python3
"""Write `sample.json`: records of an Argilla v2 dataset as `dataset.records.to_json(path)`
writes them: one JSON array on one line, each record with `id`, `fields`, `metadata`,
`suggestions` (per question: value, score, agent), `responses` (per question: the list of
the annotators' responses, each with value, user_id and status), `vectors` and
`_server_id`.

Made from the scenarios below, one per record, so that `rubric check` on it gives every
kind of finding the rubric can give; the same seed gives the same file:

    python3 rubrics/argilla-feedback/make_sample.py
"""
from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
RNG = random.Random(1009)
USERS = [str(uuid.UUID(int=RNG.getrandbits(128), version=4)) for _ in range(5)]

PRAISE = [("kitchen", "Excellent kettle, boils fast and looks great."),
          ("books", "I love this novel, perfect for a long trip."),
          ("electronics", "Perfect headphones, excellent battery.")]
COMPLAINT = [("electronics", "The charger broke in a week, total waste of money."),
             ("kitchen", "Terrible pan, the coating came off."),
             ("books", "The binding is broken and pages fell out.")]


def uid() -> str:
    return str(uuid.UUID(int=RNG.getrandbits(128), version=4))


def record(n: int, category: str, text: str, answers: list[tuple], suggestion: tuple | None = None) -> dict:
    """`answers`: (user index, value, status) per response to `sentiment`."""
    return {
        "id": f"review-{n:03d}",
        "fields": {"review": text},
        "metadata": {"category": category, "stars_hidden": True},
        "suggestions": ({"sentiment": {"value": suggestion[0], "score": suggestion[1], "agent": "sentiment-model-v3"}}
                        if suggestion else {}),
        "responses": {"sentiment": [{"value": v, "user_id": USERS[u], "status": s} for u, v, s in answers]},
        "vectors": {},
        "_server_id": uid(),
    }


def build() -> list[dict]:
    scenarios = [
        # a complaint labeled positive by one annotator: a violation, and a split
        ("electronics", "The charger broke in a week, total waste of money.",
         [(0, "negative", "submitted"), (1, "positive", "submitted")], ("negative", 0.97)),
        # praise and complaint with no contrast word: ambiguity is allowed (mixed, positive), and
        # `mixed` without a contrast word is a warning
        ("books", "Great story, terrible binding.", [(2, "mixed", "submitted"), (3, "mixed", "submitted")], None),
        # neither praise nor complaint: uncovered
        ("kitchen", "It is a pan. It heats food.", [(0, "neutral", "submitted"), (4, "neutral", "submitted")], None),
        # a complaint with "but": two arms allow different answers (ambiguous)
        ("kitchen", "The lid broke, but support sent a new one the same day.",
         [(1, "mixed", "submitted"), (2, "mixed", "submitted")], None),
        # a refund request in an electronics review: escalated to support
        ("electronics", "Screen broken on arrival, I want a refund.",
         [(3, "negative", "submitted"), (4, "negative", "submitted")], ("negative", 0.88)),
        # annotators overrule a confident suggestion: escalated to the lead
        ("books", "I love this book, perfect gift.", [(0, "positive", "submitted"), (1, "positive", "submitted")],
         ("negative", 0.93)),
        # a label added to the dataset after the rubric was written: invalid
        ("electronics", "Wrong product page, this review is for a cable.",
         [(2, "irrelevant", "submitted"), (3, "neutral", "submitted")], None),
        # one response discarded: one annotator left
        ("kitchen", "Excellent knife, very sharp.", [(4, "positive", "submitted"), (0, None, "discarded")], None),
        # a draft among three: not a judgment; the two others agree
        ("books", "Perfect condition, fast delivery, love it.",
         [(1, "positive", "submitted"), (2, "neutral", "draft"), (3, "positive", "submitted")], None),
        # sarcasm: the edge arm allows negative or mixed, and the annotators split
        ("electronics", "Great, it stopped working again after the update.",
         [(0, "negative", "submitted"), (4, "mixed", "submitted")], None),
    ]
    out: list[dict] = []
    clean: list[tuple] = []
    for cat, text in PRAISE:
        clean.append((cat, text, "positive"))
    for cat, text in COMPLAINT:
        clean.append((cat, text, "negative"))
    clean = clean * 5
    RNG.shuffle(clean)
    k = 0
    for i, sc in enumerate(scenarios):
        for cat, text, value in clean[i * 3:i * 3 + 3]:
            users = RNG.sample(range(5), RNG.randint(2, 3))
            out.append(record(len(out) + 1, cat, text, [(u, value, "submitted") for u in users],
                              (value, round(RNG.uniform(0.5, 0.99), 2)) if RNG.random() < 0.5 else None))
            k += 1
        cat, text, answers, suggestion = sc
        out.append(record(len(out) + 1, cat, text, answers, suggestion))
    return out


def main() -> None:
    records = build()
    # to_json writes json.dump(records, f): one line, ASCII escapes
    (HERE / "sample.json").write_text(json.dumps(records), encoding="utf-8")
    n = sum(len(r["responses"]["sentiment"]) for r in records)
    print(f"{len(records)} records, {n} responses -> sample.json")


if __name__ == "__main__":
    main()
