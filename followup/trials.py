"""The AIMSS trials as data: who each one enrolled, what it measured, when, and what it found.

Decision support reads these to list the interventions whose entry criteria she meets today
(``clinical.trials``), and the response checks (``followup.checks``) read them to look again at
the trial's time point with the trial's measure. The figures are the trials' published results
as the study's trial summary gives them (gathered 2026-11-30); each entry carries its source and
its limits, shown beside it, because a trial's effect is evidence for a suggestion, not an order.

Entry thresholds are compared as exact decimals: a score of 2.99 does not meet "worst pain >= 3",
3 does (a binary float would put some scores a hair either side of the line).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from adherence.models import Measure

# The BPI-SF items a trial measured (Response field names).
WORST_PAIN = "worst_pain"  # item 3, 0-10
AVERAGE_PAIN = "average_pain"  # item 5, 0-10

# A response: a drop of at least this many points in the trial's measure from the answer before
# the intervention to the answer at the trial's time point. SWOG S1202 (Henry 2018) defined
# response so; about 2 points is a meaningful change in worst pain (IMMPACT, Dworkin 2008).
RESPONSE_DROP_POINTS = Decimal("2")  # points of 0-10
# The answer at the time point may come this many days either side of it (the product's choice:
# about the reminder cycle of one reassessment, so an answer a little early or late still counts).
CHECK_WINDOW_DAYS = 14  # days

HOPE = "hope"
S1200 = "s1200"
S1202 = "s1202"
AI_SWITCH = "ai_switch"


@dataclass(frozen=True)
class Trial:
    """One trial's entry criterion, effect, time point and limits, with its source."""

    key: str
    intervention: Promise  # what a clinician would start
    source: Promise  # the trial as the study's summary names it
    measure: str | None  # WORST_PAIN or AVERAGE_PAIN; None: entry is not a pain score
    entry_from: Decimal | None  # the measure's entry threshold (>=), points of 0-10
    entry: Promise  # the entry criterion in words
    effect: Promise  # the effect size in words
    time_point: Promise  # when the trial read it, in words
    limits: Promise
    # The response check's time point after the start: weeks, or calendar months.
    check_weeks: int | None = None
    check_months: int | None = None
    check_at: Promise | None = None  # the same time point in words


TRIALS: dict[str, Trial] = {
    HOPE: Trial(
        key=HOPE,
        intervention=_(
            "Exercise: 150 min/week aerobic plus supervised strength training twice a week"
        ),
        source=_("HOPE trial (Irwin et al., JCO 2015)"),
        measure=WORST_PAIN,
        entry_from=Decimal("3"),
        entry=_("BPI worst joint pain >= 3"),
        effect=_("worst pain fell 1.6 points (usual care +0.2); interference fell 1.1"),
        time_point=_("at 12 months"),
        limits=_("benefit went with adherence to the exercise; a supervised programme"),
        check_months=12,
        check_at=_("12 months"),
    ),
    S1200: Trial(
        key=S1200,
        intervention=_("Acupuncture"),
        source=_("SWOG S1200 (Hershman et al., JAMA 2018)"),
        measure=WORST_PAIN,
        entry_from=Decimal("3"),
        entry=_("BPI worst pain >= 3"),
        effect=_("worst pain 0.92 points lower than sham acupuncture"),
        time_point=_("at 6 weeks, lasting to 52 weeks"),
        limits=_("a modest difference over sham, below the 2-point meaningful change"),
        check_weeks=6,
        check_at=_("6 weeks"),
    ),
    S1202: Trial(
        key=S1202,
        intervention=_("Duloxetine"),
        source=_("SWOG S1202 (Henry et al., JCO 2018)"),
        measure=AVERAGE_PAIN,
        entry_from=Decimal("4"),
        entry=_("BPI average joint pain >= 4"),
        effect=_("response (a drop of at least 2 points) reported more often than on placebo"),
        time_point=_("at 12 weeks"),
        limits=_("side effects common"),
        check_weeks=12,
        check_at=_("12 weeks"),
    ),
    AI_SWITCH: Trial(
        key=AI_SWITCH,
        intervention=_("Switch to another aromatase inhibitor"),
        source=_(
            "Series of women stopping anastrozole for intolerance (e.g. Briot et al. 2010); "
            "ELPh trial"
        ),
        measure=None,
        entry_from=None,
        entry=_("an interruption of the AI for AIMSS"),
        effect=_("most stay on the second AI (about 70-87 per cent in the series)"),
        time_point=_("over the following months"),
        limits=_("in the ELPh trial only about a third tolerated a second AI"),
    ),
}

# The trial whose time point and measure a recorded measure is checked against.
MEASURE_TRIAL: dict[str, str] = {
    Measure.EXERCISE: HOPE,
    Measure.ACUPUNCTURE: S1200,
    Measure.DULOXETINE: S1202,
}


def meets_entry(trial: Trial, value: Decimal | int | str | None) -> bool:
    """Whether a pain score meets the trial's entry threshold (exact decimals: 2.99 < 3)."""
    if trial.entry_from is None or value is None:
        return False
    # str() first: Decimal(2.99) would carry the binary float's error into the comparison.
    return Decimal(str(value)) >= trial.entry_from


def trial_of_measure(measure: str) -> Trial | None:
    """The trial a recorded measure is checked against, or None (no trial time point)."""
    key = MEASURE_TRIAL.get(measure)
    return TRIALS[key] if key else None
