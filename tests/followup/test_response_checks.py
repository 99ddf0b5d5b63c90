"""Response checks at a trial's time point: scheduled per measure, evaluated once by the sweep
(responded, not responded with one review-management flag, not assessable)."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from adherence.models import InterventionCategory, Measure
from assessments.models import Response
from followup.checks import response_checks_create, response_checks_sweep
from followup.models import CheckOutcome, Flag, FlagKind, FlagTrigger, ResponseCheck
from followup.schedules import add_months
from patients.models import Patient
from tests.conftest import World, client_for
from tests.factories import InterventionFactory, ResponseFactory

NOON = dt.time(12, 0)


def answered(patient: Patient, day: dt.date, *, worst: int = 6, average: int = 5) -> Response:
    """A BPI-SF she answered at noon on ``day`` (responses are immutable: stored anew)."""
    response = ResponseFactory.create(patient=patient, worst_pain=worst, average_pain=average)
    moved = Response.objects.get(pk=response.pk)
    moved.pk = None
    moved.submission_key = uuid.uuid4()
    moved.submitted_at = dt.datetime.combine(day, NOON, tzinfo=ZoneInfo(patient.time_zone))
    moved.save(force_insert=True)
    response.delete()
    return moved


MEASURES: dict[str, str] = {
    Measure.ACUPUNCTURE: InterventionCategory.COMPLEMENTARY,
    Measure.DULOXETINE: InterventionCategory.ANALGESIC,
    Measure.EXERCISE: InterventionCategory.PHYSICAL_THERAPY,
    Measure.CELECOXIB: InterventionCategory.ANALGESIC,
}


@pytest.mark.parametrize(
    ("measure", "trial", "due"),
    [
        (Measure.ACUPUNCTURE, "s1200", dt.date(2026, 3, 17)),  # 6 weeks
        (Measure.DULOXETINE, "s1202", dt.date(2026, 4, 28)),  # 12 weeks
        (Measure.EXERCISE, "hope", dt.date(2027, 2, 3)),  # 12 months
        (Measure.CELECOXIB, None, None),  # no trial time point
    ],
)
def test_a_recorded_intervention_gets_its_check_at_the_trial_time_point(
    world: World, measure: str, trial: str | None, due: dt.date | None
) -> None:
    # given an intervention started on 3 February 2026
    intervention = InterventionFactory.create(
        patient=world.patient_a,
        measure=measure,
        category=MEASURES[measure],
        start_date=dt.date(2026, 2, 3),
    )
    # when the sweep creates checks (twice)
    response_checks_create()
    response_checks_create()
    # then there is one check on the trial's time point, or none without a trial
    checks = list(ResponseCheck.objects.filter(intervention=intervention))
    if trial is None:
        assert checks == []
        return
    assert [(c.trial, c.due_date, c.outcome) for c in checks] == [
        (trial, due, CheckOutcome.PENDING)
    ]
    if measure == Measure.EXERCISE:
        assert due == add_months(dt.date(2026, 2, 3), 12)


def _acupuncture(world: World, start: dt.date) -> ResponseCheck:
    intervention = InterventionFactory.create(
        patient=world.patient_a,
        measure=Measure.ACUPUNCTURE,
        category=InterventionCategory.COMPLEMENTARY,
        start_date=start,
    )
    response_checks_create()
    return ResponseCheck.objects.get(intervention=intervention)


def _after_window(check: ResponseCheck) -> dt.datetime:
    day = check.due_date + dt.timedelta(days=check.window_days + 1)
    return dt.datetime.combine(day, NOON, tzinfo=dt.UTC)


def test_a_drop_of_two_points_is_a_response_and_raises_nothing(world: World) -> None:
    # given worst pain 6 before acupuncture and 3 six weeks later
    start = timezone.localdate() - dt.timedelta(weeks=9)
    answered(world.patient_a, start - dt.timedelta(days=2), worst=6)
    check = _acupuncture(world, start)
    answered(world.patient_a, check.due_date + dt.timedelta(days=3), worst=3)
    # when the window has closed and the sweep runs
    assert response_checks_sweep(now=_after_window(check)) == 1
    # then she responded, with both answers kept, and no flag
    check.refresh_from_db()
    assert (check.outcome, check.baseline_value, check.followup_value) == ("responded", 6, 3)
    assert not Flag.objects.filter(kind=FlagKind.REVIEW_MANAGEMENT).exists()


def test_no_response_raises_one_review_flag_however_often_the_sweep_runs(world: World) -> None:
    # given worst pain 6 before acupuncture and 5 at six weeks (a drop of 1)
    start = timezone.localdate() - dt.timedelta(weeks=9)
    answered(world.patient_a, start, worst=6)
    check = _acupuncture(world, start)
    answered(world.patient_a, check.due_date - dt.timedelta(days=5), worst=5)
    # when the sweep runs twice
    now = _after_window(check)
    assert response_checks_sweep(now=now) == 1
    assert response_checks_sweep(now=now + dt.timedelta(hours=1)) == 0
    # then she did not respond, and one review-management flag waits in her clinic's queue
    check.refresh_from_db()
    assert check.outcome == CheckOutcome.NOT_RESPONDED
    flag = Flag.objects.get(patient=world.patient_a, kind=FlagKind.REVIEW_MANAGEMENT)
    assert flag.priority == 2
    assert FlagTrigger.objects.filter(flag=flag, source="response_check").count() == 1
    body = client_for(world.nurse_a).get(reverse("followup:queue")).content.decode()
    assert "Review management" in body
    assert "Drop of 1.0 at the trial" in body


@pytest.mark.parametrize("missing", ["before", "at the time point"])
def test_without_an_answer_to_compare_the_check_is_not_assessable(
    world: World, missing: str
) -> None:
    # given acupuncture with no answer before it, or none within two weeks of its time point
    start = timezone.localdate() - dt.timedelta(weeks=9)
    if missing != "before":
        answered(world.patient_a, start - dt.timedelta(days=1), worst=7)
    check = _acupuncture(world, start)
    if missing == "before":
        answered(world.patient_a, check.due_date, worst=2)
    else:  # fifteen days before the time point: outside the two-week window
        answered(world.patient_a, check.due_date - dt.timedelta(days=15), worst=2)
    # when the sweep runs, then the check is not assessable and no flag is raised
    response_checks_sweep(now=_after_window(check))
    check.refresh_from_db()
    assert check.outcome == CheckOutcome.NOT_ASSESSABLE
    assert not Flag.objects.filter(kind=FlagKind.REVIEW_MANAGEMENT).exists()


def test_a_check_is_not_evaluated_before_its_window_closes(world: World) -> None:
    start = timezone.localdate() - dt.timedelta(weeks=9)
    answered(world.patient_a, start, worst=6)
    check = _acupuncture(world, start)
    last_day = check.due_date + dt.timedelta(days=check.window_days)
    assert response_checks_sweep(now=dt.datetime.combine(last_day, NOON, tzinfo=dt.UTC)) == 0
    check.refresh_from_db()
    assert check.outcome == CheckOutcome.PENDING


def test_duloxetine_is_checked_on_average_pain(world: World) -> None:
    # given average pain 6 -> 4 (a response) while worst pain stays 8
    start = timezone.localdate() - dt.timedelta(weeks=16)
    answered(world.patient_a, start, worst=8, average=6)
    intervention = InterventionFactory.create(
        patient=world.patient_a,
        measure=Measure.DULOXETINE,
        category=InterventionCategory.ANALGESIC,
        start_date=start,
    )
    response_checks_create()
    check = ResponseCheck.objects.get(intervention=intervention)
    answered(world.patient_a, check.due_date, worst=8, average=4)
    response_checks_sweep(now=_after_window(check))
    check.refresh_from_db()
    assert (check.measure, check.outcome) == ("average_pain", CheckOutcome.RESPONDED)
