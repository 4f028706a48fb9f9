#!/usr/bin/env python3
"""Write `sample.json`: a Label Studio JSON export of the project labeled with
`labeling-config.xml`, as the tool writes it (a pretty-printed array of tasks, each with
its `annotations`, every answer a `result` element naming its control by `from_name`).

The export is made from the scenarios below, one per task, so that `rubric check` on it
gives every kind of finding the rubric can give; the same seed gives the same file:

    python3 rubrics/label-studio-toxicity/make_sample.py
"""
from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = 7
START = datetime(2024, 5, 2, 9, 0, tzinfo=timezone.utc)

CLEAN = [
    ("forum", "Has anyone tried the new firmware on the older model?"),
    ("review", "Battery life is shorter than advertised, otherwise fine."),
    ("chat", "Thanks, that fixed it. Have a good evening!"),
    ("forum", "I disagree with the moderators here, the rule seems arbitrary."),
    ("review", "This blender is garbage and broke in a week."),
    ("chat", "Can you send me the invoice again please?"),
    ("forum", "The second season was much weaker than the first one."),
    ("review", "Terrible customer service, waited two hours on hold."),
]
INSULTS = [
    ("forum", "Only a complete clown would post a take this bad."),
    ("chat", "Go away, nobody wants your stupid opinions here."),
    ("review", "The seller is a liar and a cheat, avoid him."),
]
THREATS = [
    ("chat", "Keep talking and I will find out where you live."),
    ("forum", "People like you should be dragged out of town."),
]


class Export:
    """Builds tasks and annotations with the fields Label Studio writes."""

    def __init__(self, seed: int = 20240502) -> None:
        self.rng = random.Random(seed)
        self.tasks: list[dict] = []
        self.annotation_id = 1000
        self.clock = START

    def _time(self) -> str:
        self.clock += timedelta(seconds=self.rng.randint(20, 600), microseconds=self.rng.randint(0, 999999))
        return self.clock.isoformat().replace("+00:00", "Z")

    def _rid(self) -> str:
        return "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
                       for _ in range(10))

    def _result(self, control: str, kind: str, value: dict) -> dict:
        return {"value": value, "id": self._rid(), "from_name": control, "to_name": "text", "type": kind,
                "origin": "manual"}

    def annotation(self, user: int, task_id: int, toxic: str | list[str] | None = None,
                   category: list[str] | None = None, severity: int | None = None, rationale: str | None = None,
                   cancelled: bool = False) -> dict:
        """One annotation; `toxic` a list answers the control twice (as an import or an
        edited config can leave it)."""
        result: list[dict] = []
        if not cancelled:
            for t in ([toxic] if isinstance(toxic, str) else toxic or []):
                result.append(self._result("toxic", "choices", {"choices": [t]}))
            if category:
                result.append(self._result("category", "choices", {"choices": category}))
            if severity is not None:
                result.append(self._result("severity", "rating", {"rating": severity}))
            if rationale:
                result.append(self._result("rationale", "textarea", {"text": [rationale]}))
        self.annotation_id += 1
        created = self._time()
        return {
            "id": self.annotation_id,
            "completed_by": user,
            "result": result,
            "was_cancelled": cancelled,
            "ground_truth": False,
            "created_at": created,
            "updated_at": created,
            "draft_created_at": None,
            "lead_time": round(self.rng.uniform(4, 180), 3),
            "prediction": {},
            "result_count": 0,
            "unique_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "import_id": None,
            "last_action": None,
            "bulk_created": False,
            "task": task_id,
            "project": PROJECT,
            "updated_by": user,
            "parent_prediction": None,
            "parent_annotation": None,
            "last_created_by": None,
        }

    def task(self, source: str, text: str, answers: list[dict]) -> int:
        """A task; `answers` are keyword arguments of `annotation` (with `user`)."""
        task_id = len(self.tasks) + 1
        anns = [self.annotation(task_id=task_id, **a) for a in answers]
        created = self._time()
        self.tasks.append({
            "id": task_id,
            "annotations": anns,
            "file_upload": "f3a9c1d2-comments.csv",
            "drafts": [],
            "predictions": [],
            "data": {"text": text, "source": source},
            "meta": {},
            "created_at": created,
            "updated_at": anns[-1]["updated_at"] if anns else created,
            "inner_id": task_id,
            "total_annotations": sum(1 for a in anns if not a["was_cancelled"]),
            "cancelled_annotations": sum(1 for a in anns if a["was_cancelled"]),
            "total_predictions": 0,
            "comment_count": 0,
            "unresolved_comment_count": 0,
            "last_comment_updated_at": None,
            "project": PROJECT,
            "updated_by": anns[-1]["completed_by"] if anns else None,
            "comment_authors": [],
        })
        return task_id

    def users(self, n: int) -> list[int]:
        return self.rng.sample(range(1, 7), n)


def clean_no(e: Export, source: str, text: str) -> None:
    e.task(source, text, [dict(user=u, toxic="no", severity=1) for u in e.users(e.rng.randint(2, 3))])


def clean_insult(e: Export, source: str, text: str) -> None:
    e.task(source, text, [dict(user=u, toxic="yes", category=["insult"], severity=e.rng.randint(2, 3))
                          for u in e.users(e.rng.randint(2, 3))])


def build() -> list[dict]:
    e = Export()
    # the scenarios, each a task (the README explains the findings of each)
    scenarios = [
        # a threat in a chat, answered alike by three annotators: three escalations
        lambda: e.task(*THREATS[0], [dict(user=u, toxic="yes", category=["threat"], severity=5,
                                          rationale="threatens to find the reader") for u in (1, 2, 3)]),
        # a threat one annotator called not toxic: a violation of the decision, and a split
        lambda: e.task(*THREATS[1], [dict(user=1, toxic="yes", category=["threat", "identity_attack"], severity=4,
                                          rationale="calls for violence against a group"),
                                     dict(user=4, toxic="no", category=["threat"], severity=2)]),
        # toxic without a category: the rule, and nothing decides (uncovered)
        lambda: e.task(*INSULTS[1], [dict(user=2, toxic="yes", category=["insult"], severity=3),
                                     dict(user=5, toxic="yes", severity=3)]),
        # no category and a middle severity: the guideline is silent (uncovered)
        lambda: e.task(*CLEAN[7], [dict(user=3, toxic="no", severity=2), dict(user=6, toxic="no", severity=1)]),
        # "you idiot" with no category and severity 1: two arms disagree (ambiguous)
        lambda: e.task("forum", "Read the manual, you idiot, it is on page two.",
                       [dict(user=1, toxic="no", severity=1), dict(user=2, toxic="no", severity=1)]),
        # severity 5 and no rationale: a warning
        lambda: e.task(*INSULTS[2], [dict(user=4, toxic="yes", category=["insult"], severity=5),
                                     dict(user=5, toxic="yes", category=["insult"], severity=4,
                                          rationale="accuses the seller of fraud")]),
        # "Yes" from an older version of the config: not a value of `toxic` (invalid)
        lambda: e.task(*INSULTS[0], [dict(user=6, toxic="Yes", category=["insult"], severity=3),
                                     dict(user=2, toxic="yes", category=["insult"], severity=3),
                                     dict(user=3, toxic="yes", category=["insult"], severity=2)]),
        # the `toxic` control answered twice in one annotation: the selector finds two (invalid)
        lambda: e.task(*CLEAN[1], [dict(user=1, toxic=["no", "yes"], severity=1),
                                   dict(user=5, toxic="no", severity=1)]),
        # one annotator skipped the task: one judgment left, fewer than two annotators
        lambda: e.task(*CLEAN[2], [dict(user=3, toxic="no", severity=1), dict(user=4, cancelled=True)]),
        # a cancelled annotation among three: skipped, the other two agree
        lambda: e.task(*CLEAN[3], [dict(user=1, toxic="no", severity=1), dict(user=2, cancelled=True),
                                   dict(user=6, toxic="no", severity=1)]),
        # abuse quoted to report it: the edge arm allows either answer, annotators split
        lambda: e.task("forum", "I reported the user who wrote 'you people are vermin' to the mods.",
                       [dict(user=2, toxic="yes", category=["identity_attack"], severity=2),
                        dict(user=3, toxic="no", severity=1)]),
        # four annotators, two against two on an insult
        lambda: e.task("chat", "lol you loser, log off and touch grass",
                       [dict(user=1, toxic="yes", category=["insult"], severity=2),
                        dict(user=4, toxic="yes", category=["insult"], severity=2),
                        dict(user=5, toxic="no", severity=1), dict(user=6, toxic="no", severity=1)]),
    ]
    clean = [lambda s=s, t=t: clean_no(e, s, t) for s, t in CLEAN[:7]] * 3
    clean += [lambda s=s, t=t: clean_insult(e, s, t) for s, t in INSULTS] * 3
    e.rng.shuffle(clean)
    # a scenario every third task, clean tasks around them
    order: list = []
    for i, sc in enumerate(scenarios):
        order.extend(clean[i * 2:i * 2 + 2])
        order.append(sc)
    order.extend(clean[len(scenarios) * 2:])
    for make in order:
        make()
    return e.tasks


def main() -> None:
    tasks = build()
    # Label Studio writes the export with json.dump(..., indent=2) and non-ASCII kept
    (HERE / "sample.json").write_text(json.dumps(tasks, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(tasks)} tasks, {sum(len(t['annotations']) for t in tasks)} annotations -> sample.json")


if __name__ == "__main__":
    main()
