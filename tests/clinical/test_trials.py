"""The trials beside the study's suggestion: entry criteria met today (exact boundaries), the
switch of AI after an AIMSS interruption, and the response checks on the trajectory page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from adherence.models import EventKind, InterventionCategory, Measure, StopReason
from clinical.selectors import patient_trajectory
from clinical.trials import eligible_trials, trial_panel
from followup.checks import response_checks_create, response_checks_sweep
from followup.trials import TRIALS
from tests.conftest import World, client_for
from tests.factories import InterventionFactory, TreatmentEventFactory
from tests.followup.test_response_checks import NOON, answered


def _keys(**scores: object) -> set[str]:
    scores.setdefault("aimss_interruption", False)
    return {t.key for t in eligible_trials(**scores)}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("worst", "eligible"),
    [
        (Decimal("2.99"), False),
        ("2.99", False),
        (2.99, False),
        (2, False),
        (Decimal("3"), True),
        (Decimal("3.00"), True),
        (3, True),
        (3.0, True),
        (10, True),
    ],
)
def test_worst_pain_of_3_meets_hope_and_s1200_and_2_99_does_not(
    worst: object, eligible: bool
) -> None:
    keys = _keys(worst=worst, average=0)
    assert ({"hope", "s1200"} <= keys) is eligible
    assert ({"hope", "s1200"} & keys == set()) is not eligible
    assert "s1202" not in keys


@pytest.mark.parametrize(
    ("average", "eligible"),
    [(Decimal("3.99"), False), (3.99, False), (3, False), (Decimal("4"), True), (4, True)],
)
def test_average_pain_of_4_meets_s1202_and_3_99_does_not(average: object, eligible: bool) -> None:
    assert ("s1202" in _keys(worst=0, average=average)) is eligible


def test_no_response_meets_no_pain_criterion() -> None:
    assert _keys(worst=None, average=None) == set()


@pytest.mark.parametrize(
    ("reason", "eligible"), [(StopReason.AIMSS, True), (StopReason.OTHER, False)]
)
def test_an_aimss_interruption_makes_a_switch_of_ai_an_option(
    world: World, reason: str, eligible: bool
) -> None:
    # given an interruption of her AI for AIMSS (or for another reason) and a mild answer
    answered(world.patient_a, timezone.localdate(), worst=1, average=1)
    TreatmentEventFactory.create(
        patient=world.patient_a,
        kind=EventKind.INTERRUPTION,
        reason=reason,
        start_date=dt.date(2026, 6, 1),
        end_date=dt.date(2026, 6, 20),
    )
    # when her options are read, then a switch of AI is one only after an AIMSS interruption
    panel = trial_panel(patient_trajectory(world.patient_a))
    assert [o.trial.key for o in panel.options] == (["ai_switch"] if eligible else [])


def test_every_trial_has_its_source_effect_time_point_and_limits() -> None:
    for trial in TRIALS.values():
        assert all(str(part) for part in (trial.source, trial.effect, trial.time_point))
        assert str(trial.limits)


def test_the_trajectory_page_lists_her_options_and_her_response(world: World) -> None:
    # given worst pain 6 and average 5 before acupuncture, and worst pain 3 at six weeks
    start = timezone.localdate() - dt.timedelta(weeks=9)
    answered(world.patient_a, start - dt.timedelta(days=1), worst=6, average=5)
    intervention = InterventionFactory.create(
        patient=world.patient_a,
        measure=Measure.ACUPUNCTURE,
        category=InterventionCategory.COMPLEMENTARY,
        start_date=start,
    )
    response_checks_create()
    due = start + dt.timedelta(weeks=6)
    answered(world.patient_a, due, worst=3, average=3)
    response_checks_sweep(now=dt.datetime.combine(due + dt.timedelta(days=15), NOON, tzinfo=dt.UTC))
    # when her clinician opens her trajectory
    body = (
        client_for(world.clinician_a)
        .get(reverse("clinical:patient", args=[world.patient_a.pk]))
        .content.decode()
    )
    # then her latest answer (worst 3, average 3) meets HOPE and S1200, not S1202
    assert "Trials she could enter today" in body
    assert "SWOG S1200 (Hershman et al., JAMA 2018)" in body
    assert "HOPE trial (Irwin et al., JCO 2015)" in body
    assert "SWOG S1202" not in body.split("Trials she could enter today")[1].split("<h3>")[0]
    # and the check says she responded
    assert "Responded</strong>: Acupuncture: worst pain 6 → 3 at 6 weeks" in body
    assert intervention.response_check.outcome == "responded"


def test_a_pending_check_shows_its_date_before_the_sweep_ran(world: World) -> None:
    start = timezone.localdate()
    InterventionFactory.create(
        patient=world.patient_a,
        measure=Measure.DULOXETINE,
        category=InterventionCategory.ANALGESIC,
        start_date=start,
    )
    panel = trial_panel(patient_trajectory(world.patient_a))
    due = (start + dt.timedelta(weeks=12)).isoformat()
    assert [(c.outcome, c.text) for c in panel.checks] == [
        ("pending", f"Duloxetine: average pain checked at 12 weeks, on {due}")
    ]
