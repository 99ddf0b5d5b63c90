"""Response checks: did she respond to an intervention at the trial's time point?

When an intervention with a trial behind it is recorded (acupuncture: SWOG S1200, 6 weeks;
duloxetine: SWOG S1202, 12 weeks; exercise: HOPE, 12 months; ``followup.trials``), a check falls
due at that time point. It compares the trial's measure on her latest answer on or before the
start with her latest answer within ``CHECK_WINDOW_DAYS`` either side of the time point:

- a drop of at least 2 points: *responded* (the S1202 definition);
- less: *not responded*, and a "review management" flag goes to the clinic's queue;
- no answer before the start or none in the window: *not assessable*, shown as such.

The sweep (beat, claim-then-act) creates missing checks, then evaluates those whose window has
closed; a check is claimed by one conditional update, and the flag's trigger is unique per check,
so two sweeps, or one run twice, evaluate once and raise at most one flag.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from adherence.models import Intervention
from adherence.selectors import care_stop_of
from assessments.models import Response
from patients.clock import zone_of
from patients.models import Patient

from .models import CheckOutcome, FlagKind, ResponseCheck, TriggerSource
from .notify import claim_lease
from .schedules import add_months
from .services import flag_raise
from .trials import (
    CHECK_WINDOW_DAYS,
    MEASURE_TRIAL,
    RESPONSE_DROP_POINTS,
    Trial,
    trial_of_measure,
)

logger = logging.getLogger(__name__)

BATCH = 500
# A check whose window closed longer ago than this (an imported history, a long outage) is
# still evaluated and shown, but raises no flag today: the queue is for what is new.
FLAG_LOOKBACK_DAYS = 30


def check_due_date(*, started_on: dt.date, trial: Trial) -> dt.date:
    """The trial's time point after the intervention started."""
    if trial.check_months is not None:
        return add_months(started_on, trial.check_months)
    assert trial.check_weeks is not None
    return started_on + dt.timedelta(weeks=trial.check_weeks)


def response_checks_create(*, limit: int = BATCH) -> int:
    """Create the check of each intervention with a trial time point that has none yet;
    returns how many were created (a second run creates none: one check per intervention)."""
    has_check = ResponseCheck.objects.filter(intervention=OuterRef("pk"))
    new = []
    for intervention in (
        Intervention.objects.filter(measure__in=list(MEASURE_TRIAL))
        .filter(~Exists(has_check))
        .order_by("pk")[:limit]
    ):
        trial = trial_of_measure(intervention.measure)
        assert trial is not None
        assert trial.measure is not None
        new.append(
            ResponseCheck(
                intervention=intervention,
                patient_id=intervention.patient_id,
                trial=trial.key,
                measure=trial.measure,
                started_on=intervention.start_date,
                due_date=check_due_date(started_on=intervention.start_date, trial=trial),
                window_days=CHECK_WINDOW_DAYS,
            )
        )
    created = ResponseCheck.objects.bulk_create(new, ignore_conflicts=True)
    return len(created)


def _local_day_start(day: dt.date, patient: Patient) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone_of(patient))


def _latest(
    patient: Patient, measure: str, before: dt.date, since: dt.date | None
) -> Response | None:
    """Her latest current answer on a local date before ``before`` (and on or after ``since``)."""
    answers = Response.objects.current().filter(
        patient=patient, submitted_at__lt=_local_day_start(before, patient)
    )
    if since is not None:
        answers = answers.filter(submitted_at__gte=_local_day_start(since, patient))
    return answers.order_by("-submitted_at", "-id").only("submitted_at", measure).first()


def check_outcome(check: ResponseCheck) -> tuple[str, Response | None, Response | None]:
    """The outcome of ``check`` from her answers, with the two answers it compared."""
    patient = check.patient
    window = dt.timedelta(days=check.window_days)
    baseline = _latest(patient, check.measure, check.started_on + dt.timedelta(days=1), None)
    followup = _latest(
        patient,
        check.measure,
        check.due_date + window + dt.timedelta(days=1),
        check.due_date - window,
    )
    if baseline is None or followup is None:
        return CheckOutcome.NOT_ASSESSABLE, baseline, followup
    drop = Decimal(getattr(baseline, check.measure)) - Decimal(getattr(followup, check.measure))
    outcome = CheckOutcome.RESPONDED if drop >= RESPONSE_DROP_POINTS else CheckOutcome.NOT_RESPONDED
    return outcome, baseline, followup


def _claim(check_id: int, now: dt.datetime) -> bool:
    """Take one pending check for this sweep; False if another holds it (within its lease)."""
    return (
        ResponseCheck.objects.filter(pk=check_id, outcome=CheckOutcome.PENDING)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - claim_lease()))
        .update(claimed_at=now)
        == 1
    )


def response_check_evaluate(*, check_id: int, today: dt.date, now: dt.datetime) -> str | None:
    """Evaluate one claimed check; returns its outcome (None if it was no longer pending)."""
    with transaction.atomic():
        check = (
            ResponseCheck.objects.select_for_update()
            .select_related("patient")
            .filter(pk=check_id, outcome=CheckOutcome.PENDING)
            .first()
        )
        if check is None:
            return None
        outcome, baseline, followup = check_outcome(check)
        zone = zone_of(check.patient)
        check.outcome = outcome
        check.evaluated_at = now
        if baseline is not None:
            check.baseline_value = getattr(baseline, check.measure)
            check.baseline_on = baseline.submitted_at.astimezone(zone).date()
        if followup is not None:
            check.followup_value = getattr(followup, check.measure)
            check.followup_on = followup.submitted_at.astimezone(zone).date()
        check.full_clean(exclude=["intervention", "patient"])
        check.save()
        closed_on = check.due_date + dt.timedelta(days=check.window_days)
        recent = (today - closed_on).days <= FLAG_LOOKBACK_DAYS
        if (
            outcome == CheckOutcome.NOT_RESPONDED
            and recent
            and care_stop_of(check.patient_id) is None
        ):
            flag_raise(
                patient_id=check.patient_id,
                kind=FlagKind.REVIEW_MANAGEMENT,
                source=TriggerSource.RESPONSE_CHECK,
                source_id=check.pk,
                value=Decimal(check.baseline_value or 0) - Decimal(check.followup_value or 0),
            )
    return outcome


def response_checks_sweep(*, now: dt.datetime | None = None) -> int:
    """Create missing checks, then evaluate every pending check whose window has closed;
    returns how many it evaluated. Safe to run twice, or on two workers at once."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    response_checks_create()
    done = 0
    while True:
        due = list(
            ResponseCheck.objects.filter(
                outcome=CheckOutcome.PENDING,
                due_date__lt=today - dt.timedelta(days=CHECK_WINDOW_DAYS),
            )
            .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - claim_lease()))
            .order_by("due_date", "pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        for check_id in due:
            if _claim(check_id, now) and response_check_evaluate(
                check_id=check_id, today=today, now=now
            ):
                done += 1
        if len(due) < BATCH:
            break
    if done:
        logger.info("response checks evaluated: %s", done)
    return done
