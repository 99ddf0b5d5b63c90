"""Adaptive reassessment: after a worsening flag, a new intervention or a resumed AI her next
BPI-SF is due in the clinic's weeks (4 by default) instead of the routine months, after each
answer again, and back to routine after two stable answers in a row."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from adherence.models import EventKind, InterventionCategory, Measure, StopReason
from followup.models import FlagKind, ReassessmentSlot, TriggerSource
from followup.schedules import adaptive_states, schedules_sync
from followup.selectors import whats_due
from followup.services import flag_raise
from patients.models import Clinic, Patient
from tests.conftest import World, client_for
from tests.factories import InterventionFactory, TreatmentEventFactory
from tests.followup.test_response_checks import NOON, answered

TRIGGERS = ["worsening", "intervention", "resumed"]


def _diagnosed_long_ago(patient: Patient, today: dt.date) -> Patient:
    """Diagnosed a year ago, every routine reassessment so far answered: her next routine one
    is months away."""
    Patient.objects.filter(pk=patient.pk).update(
        aimss_diagnosis_date=today - dt.timedelta(days=365 + 20)
    )
    patient = Patient.objects.select_related("clinic").get(pk=patient.pk)
    schedules_sync(patients=[patient], today=today)
    ReassessmentSlot.objects.filter(patient=patient, due_date__lt=today).update(
        completed_at=timezone.now()
    )
    return patient


def _trigger(patient: Patient, kind: str, day: dt.date) -> None:
    if kind == "worsening":
        response = answered(patient, day, average=7)
        flag_raise(
            patient_id=patient.pk,
            kind=FlagKind.WORSENING,
            source=TriggerSource.RESPONSE,
            source_id=response.pk,
            at=dt.datetime.combine(day, NOON, tzinfo=dt.UTC),
        )
    elif kind == "intervention":
        InterventionFactory.create(
            patient=patient,
            measure=Measure.ACUPUNCTURE,
            category=InterventionCategory.COMPLEMENTARY,
            start_date=day,
        )
    else:  # back on the AI the day after the interruption's last day off
        TreatmentEventFactory.create(
            patient=patient,
            kind=EventKind.INTERRUPTION,
            reason=StopReason.AIMSS,
            start_date=day - dt.timedelta(days=20),
            end_date=day - dt.timedelta(days=1),
        )


def _open_slots(patient: Patient) -> list[tuple[dt.date, bool]]:
    return list(
        ReassessmentSlot.objects.filter(patient=patient, completed_at__isnull=True)
        .order_by("due_date")
        .values_list("due_date", "adaptive")
    )


@pytest.mark.parametrize("kind", TRIGGERS)
def test_after_a_trigger_her_next_questionnaire_is_due_in_four_weeks(
    world: World, kind: str
) -> None:
    # given a patient whose routine reassessment is months away, and a trigger three days ago
    today = timezone.localdate()
    patient = _diagnosed_long_ago(world.patient_a, today)
    schedules_sync(patients=[patient], today=today)
    routine_next = whats_due(patient, today).questionnaire_next
    assert routine_next is not None
    assert routine_next > today + dt.timedelta(weeks=4)
    _trigger(patient, kind, today - dt.timedelta(days=3))
    # when her schedule is synced (twice: nothing more the second time)
    schedules_sync(patients=[patient], today=today)
    schedules_sync(patients=[patient], today=today)
    # then her next questionnaire is four weeks after the trigger, on her home too
    due = today - dt.timedelta(days=3) + dt.timedelta(weeks=4)
    assert (due, True) in _open_slots(patient)
    assert ReassessmentSlot.objects.filter(patient=patient, adaptive=True).count() == 1
    assert whats_due(patient, today).questionnaire_next == due
    body = client_for(patient.user).get(reverse("clinical:patient_home")).content.decode()
    assert f"Next pain questionnaire</dt><dd>{date_format(due, 'DATE_FORMAT')}</dd>" in body


def test_the_interval_is_the_clinic_rule(world: World) -> None:
    today = timezone.localdate()
    Clinic.objects.filter(pk=world.clinic_a.pk).update(adaptive_interval_weeks=6)
    patient = _diagnosed_long_ago(world.patient_a, today)
    _trigger(patient, "intervention", today)
    schedules_sync(patients=[patient], today=today)
    assert whats_due(patient, today).questionnaire_next == today + dt.timedelta(weeks=6)


def test_each_answer_moves_the_next_one_four_weeks_on_until_two_are_stable(
    world: World,
) -> None:
    # given acupuncture started 60 days ago
    today = timezone.localdate()
    patient = _diagnosed_long_ago(world.patient_a, today)
    start = today - dt.timedelta(days=60)
    answered(patient, start - dt.timedelta(days=1), average=6)
    _trigger(patient, "intervention", start)
    # when she answers once, stable, 30 days ago
    answered(patient, today - dt.timedelta(days=30), average=5)
    schedules_sync(patients=[patient], today=today)
    # then the next is four weeks after that answer
    state = adaptive_states(patients=[patient], today=today)[patient.pk]
    assert (state.reason, state.stable_answers) == ("intervention", 1)
    assert whats_due(patient, today).questionnaire_due == today - dt.timedelta(days=2)
    # when she answers a second stable time today
    answered(patient, today, average=5)
    ReassessmentSlot.objects.filter(patient=patient, due_date__lte=today).update(
        completed_at=timezone.now()
    )
    schedules_sync(patients=[patient], today=today)
    # then she is back to the routine schedule: no open adaptive slot, the routine date next
    assert adaptive_states(patients=[patient], today=today) == {}
    assert not ReassessmentSlot.objects.filter(
        patient=patient, adaptive=True, completed_at__isnull=True
    ).exists()
    assert whats_due(patient, today).questionnaire_next == min(d for d, _ in _open_slots(patient))


def test_a_worse_answer_keeps_her_on_the_adaptive_interval(world: World) -> None:
    # given a resumed AI 60 days ago, then one stable answer and one worse by 2 points
    today = timezone.localdate()
    patient = _diagnosed_long_ago(world.patient_a, today)
    start = today - dt.timedelta(days=60)
    answered(patient, start - dt.timedelta(days=5), average=4)
    _trigger(patient, "resumed", start)
    answered(patient, today - dt.timedelta(days=30), average=4)
    answered(patient, today - dt.timedelta(days=1), average=6)
    # then she is still adaptive, due four weeks after the worse answer
    state = adaptive_states(patients=[patient], today=today)[patient.pk]
    assert state.stable_answers == 0
    assert state.due_date == today - dt.timedelta(days=1) + dt.timedelta(weeks=4)


def test_a_routine_slot_due_first_comes_instead(world: World) -> None:
    # given her routine reassessment due in a week and a new intervention today
    today = timezone.localdate()
    Patient.objects.filter(pk=world.patient_a.pk).update(
        aimss_diagnosis_date=today - dt.timedelta(days=365 * 2) + dt.timedelta(days=7)
    )
    patient = Patient.objects.select_related("clinic").get(pk=world.patient_a.pk)
    _trigger(patient, "intervention", today)
    schedules_sync(patients=[patient], today=today)
    # then no adaptive slot is added: the routine one, sooner, is her next
    assert not ReassessmentSlot.objects.filter(patient=patient, adaptive=True).exists()
    routine_next = whats_due(patient, today).questionnaire_next
    assert routine_next is not None
    assert routine_next < today + dt.timedelta(weeks=4)
