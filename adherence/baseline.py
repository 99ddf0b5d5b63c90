"""The baseline BPI-SF: the one home of the rule, read by her own chart (``clinical``) and by the
cohort analysis (``analytics``, which applies the same window to a whole cohort at once).

The study compared each patient's pain with her answer at the AIMSS diagnosis, before any
management started; the window of 14 days before to 7 days after the diagnosis is
the product's reading of "at diagnosis", stated in every report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from assessments.models import RecallPeriod

BASELINE_BEFORE_DAYS = 14  # a baseline answer may come up to 14 days before the diagnosis ...
BASELINE_AFTER_DAYS = 7  # ... or up to 7 days after it
BASELINE_RECALL = RecallPeriod.HOURS_24  # the study's recall period
BASELINE_RULE = (
    "Baseline BPI-SF: the 24-hour-recall response nearest the AIMSS diagnosis from 14 days "
    "before to 7 days after it (ties: the earlier), and never after the day the first "
    "intervention started on or after the diagnosis."
)


class Answer(Protocol):
    @property
    def date(self) -> dt.date: ...

    @property
    def recall_period(self) -> str: ...


A = TypeVar("A", bound=Answer)


def baseline_answer(
    answers: Sequence[A], *, diagnosis: dt.date | None, intervention_starts: Iterable[dt.date]
) -> A | None:
    """Her baseline among ``answers`` (oldest first) by :data:`BASELINE_RULE`, or None."""
    if diagnosis is None:
        return None
    starts = [start for start in intervention_starts if start >= diagnosis]
    limit = min(starts) if starts else None
    candidates = [
        a
        for a in answers
        if a.recall_period == BASELINE_RECALL
        and -BASELINE_BEFORE_DAYS <= (a.date - diagnosis).days <= BASELINE_AFTER_DAYS
        and (limit is None or a.date <= limit)
    ]
    # oldest first, so min() keeps the earlier of two equally near
    return min(candidates, key=lambda a: abs((a.date - diagnosis).days), default=None)
