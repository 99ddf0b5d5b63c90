"""The trials beside the study's suggestion: which ones she could enter today, and how she did.

Eligibility reads her latest response (worst pain for HOPE and SWOG S1200, average pain for SWOG
S1202) and her recorded AIMSS interruptions (a switch of AI); the trials themselves, with their
sources and limits, are data in ``followup.trials``. The response checks are those the sweep of
``followup.checks`` created and evaluated; one not created yet is shown from its intervention.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext

from adherence.models import EventKind, StopReason
from followup.checks import check_due_date
from followup.models import CheckOutcome, ResponseCheck
from followup.trials import (
    AI_SWITCH,
    AVERAGE_PAIN,
    CHECK_WINDOW_DAYS,
    TRIALS,
    WORST_PAIN,
    Trial,
    meets_entry,
    trial_of_measure,
)

from .selectors import Trajectory


@dataclass(frozen=True)
class TrialOption:
    """An intervention whose trial she could have entered today, in one line."""

    trial: Trial
    line: str
    source: str


@dataclass(frozen=True)
class CheckLine:
    """One intervention's response check, in words."""

    intervention_id: int
    outcome: str  # a CheckOutcome value
    outcome_label: str
    text: str


@dataclass(frozen=True)
class TrialPanel:
    options: list[TrialOption]
    checks: list[CheckLine]
    basis: str  # what today's eligibility was read from
    off_ai: bool


def eligible_trials(
    *,
    worst: Decimal | int | str | None,
    average: Decimal | int | str | None,
    aimss_interruption: bool,
) -> list[Trial]:
    """The trials whose entry criteria these scores meet (exact decimals: 2.99 is not 3)."""
    values = {WORST_PAIN: worst, AVERAGE_PAIN: average}
    found = [
        trial
        for trial in TRIALS.values()
        if trial.measure is not None and meets_entry(trial, values[trial.measure])
    ]
    if aimss_interruption:
        found.append(TRIALS[AI_SWITCH])
    return found


def measure_label(measure: str) -> str:
    return gettext("worst pain") if measure == WORST_PAIN else gettext("average pain")


def option_line(trial: Trial) -> str:
    """Entry, effect, time point and limits in one line."""
    return gettext(
        "%(intervention)s (entry: %(entry)s): %(effect)s %(time)s; limits: %(limits)s."
    ) % {
        "intervention": trial.intervention,
        "entry": trial.entry,
        "effect": trial.effect,
        "time": trial.time_point,
        "limits": trial.limits,
    }


def check_text(check: ResponseCheck, trial: Trial) -> str:
    """What the check found, e.g. "worst pain 6 → 3 at 6 weeks"."""
    words = {
        "measure": measure_label(check.measure),
        "before": check.baseline_value,
        "after": check.followup_value,
        "at": trial.check_at,
        "due": check.due_date.isoformat(),
        "days": check.window_days,
        "what": trial.intervention,
    }
    if check.outcome in (CheckOutcome.RESPONDED, CheckOutcome.NOT_RESPONDED):
        return gettext("%(what)s: %(measure)s %(before)s → %(after)s at %(at)s") % words
    if check.outcome == CheckOutcome.NOT_ASSESSABLE:
        if check.baseline_value is None:
            return gettext("%(what)s: no answer before it started to compare with") % words
        return gettext("%(what)s: no answer within %(days)s days of %(due)s (%(at)s)") % words
    return gettext("%(what)s: %(measure)s checked at %(at)s, on %(due)s") % words


def trial_panel(trajectory: Trajectory) -> TrialPanel:
    """Her options today and her checks (one query, none when no intervention is tied to a
    trial)."""
    patient = trajectory.patient
    off_ai = trajectory.off_ai
    latest = trajectory.latest
    interrupted = any(
        e.kind == EventKind.INTERRUPTION and e.reason == StopReason.AIMSS for e in trajectory.events
    )
    trials = (
        []
        if off_ai
        else eligible_trials(
            worst=latest.worst if latest else None,
            average=latest.average if latest else None,
            aimss_interruption=interrupted,
        )
    )
    basis = (
        gettext("Her response of %(date)s: worst pain %(worst)s, average pain %(average)s.")
        % {"date": latest.date.isoformat(), "worst": latest.worst, "average": latest.average}
        if latest
        else gettext("No BPI-SF response yet.")
    )
    # (the intervention, its trial, the trial's outcome measure) for those tied to a trial
    tied = [
        (span, trial, trial.measure)
        for span in trajectory.interventions
        if (trial := trial_of_measure(span.measure)) is not None and trial.measure is not None
    ]
    rows = (
        {
            c.intervention_id: c
            for c in ResponseCheck.objects.filter(patient=patient).order_by("due_date", "id")
        }
        if tied
        else {}
    )
    checks = []
    for span, trial, measure in tied:
        check = rows.get(span.id) or ResponseCheck(
            intervention_id=span.id,
            trial=trial.key,
            measure=measure,
            started_on=span.start,
            due_date=check_due_date(started_on=span.start, trial=trial),
            window_days=CHECK_WINDOW_DAYS,
        )
        checks.append(
            CheckLine(
                intervention_id=span.id,
                outcome=check.outcome,
                outcome_label=str(CheckOutcome(check.outcome).label),
                text=check_text(check, trial),
            )
        )
    return TrialPanel(
        options=[TrialOption(t, option_line(t), str(t.source)) for t in trials],
        checks=checks,
        basis=basis,
        off_ai=off_ai,
    )
