"""The baseline rule's one home: the answer nearest the diagnosis, -14/+7 days, 24-hour recall,
never after the first intervention."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from adherence.baseline import baseline_answer

DX = dt.date(2025, 3, 1)


@dataclass(frozen=True)
class Answer:
    date: dt.date
    recall_period: str = "24h"


def _on(*offsets: int, recall: str = "24h") -> list[Answer]:
    return [Answer(DX + dt.timedelta(days=d), recall) for d in sorted(offsets)]


def test_the_window_runs_from_14_days_before_to_7_after_the_diagnosis() -> None:
    assert baseline_answer(_on(-14), diagnosis=DX, intervention_starts=()) == _on(-14)[0]
    assert baseline_answer(_on(7), diagnosis=DX, intervention_starts=()) == _on(7)[0]
    assert baseline_answer(_on(-15, 8), diagnosis=DX, intervention_starts=()) is None


def test_the_nearest_answer_wins_and_a_tie_goes_to_the_earlier() -> None:
    assert baseline_answer(_on(-10, 2), diagnosis=DX, intervention_starts=()) == _on(2)[0]
    assert baseline_answer(_on(-3, 3), diagnosis=DX, intervention_starts=()) == _on(-3)[0]


def test_never_after_the_first_intervention_nor_a_7_day_recall() -> None:
    start = DX + dt.timedelta(days=1)
    answers = _on(-9, 2)
    assert baseline_answer(answers, diagnosis=DX, intervention_starts=[start]) == answers[0]
    assert baseline_answer(_on(0, recall="7d"), diagnosis=DX, intervention_starts=()) is None
    assert baseline_answer(_on(0), diagnosis=None, intervention_starts=()) is None
