"""Recording therapy data: clear errors naming the field and the conflicting date, nothing
saved on error; check-ins stored once, with their lapse handed on once."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from adherence.models import (
    AdherenceCheckIn,
    EventKind,
    Intervention,
    Measure,
    StopReason,
    TreatmentEvent,
)
from adherence.services import (
    ai_course_create,
    check_in_submit,
    intervention_create,
    is_adherence_lapse,
    regimen_change_create,
    treatment_event_create,
)
from patients.models import Clinic, Patient
from tests.factories import (
    AiCourseFactory,
    CheckInFactory,
    ClinicFactory,
    PatientFactory,
    TreatmentEventFactory,
)

pytestmark = pytest.mark.django_db

DIAGNOSIS = dt.date(2024, 3, 1)
AI_START = dt.date(2023, 11, 1)


def day(n: int) -> dt.date:
    return DIAGNOSIS + dt.timedelta(days=n)


@pytest.fixture
def patient() -> Patient:
    patient = PatientFactory.create(aimss_diagnosis_date=DIAGNOSIS)
    AiCourseFactory.create(patient=patient, start_date=AI_START)
    return patient


def _errors(call: Callable[[], Any]) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as info:
        call()
    return info.value.message_dict


def test_an_interruption_ending_before_it_starts_is_refused(patient: Patient) -> None:
    errors = _errors(
        lambda: treatment_event_create(
            patient=patient,
            kind=EventKind.INTERRUPTION,
            reason=StopReason.AIMSS,
            start_date=day(40),
            end_date=day(30),
        )
    )
    assert errors["end_date"] == ["The end 2024-03-31 is before the start 2024-04-10."]
    assert not TreatmentEvent.objects.exists()


def test_an_event_before_the_aimss_diagnosis_is_refused(patient: Patient) -> None:
    errors = _errors(
        lambda: treatment_event_create(
            patient=patient, kind=EventKind.RECURRENCE, start_date=day(-10)
        )
    )
    assert "before the AIMSS diagnosis on 2024-03-01" in errors["start_date"][0]
    assert not TreatmentEvent.objects.exists()


def test_an_event_before_the_ai_start_is_refused(db: None) -> None:
    # given a patient without AIMSS diagnosis, on AI since 2023-11-01
    patient = PatientFactory.create(aimss_diagnosis_date=None)
    AiCourseFactory.create(patient=patient, start_date=AI_START)
    errors = _errors(
        lambda: treatment_event_create(
            patient=patient, kind=EventKind.RECURRENCE, start_date=dt.date(2023, 10, 1)
        )
    )
    assert "before the AI start on 2023-11-01" in errors["start_date"][0]


def test_an_ai_start_after_the_aimss_diagnosis_is_refused(db: None) -> None:
    patient = PatientFactory.create(aimss_diagnosis_date=DIAGNOSIS)
    errors = _errors(lambda: ai_course_create(patient=patient, drug="letrozole", start_date=day(1)))
    assert "after the AIMSS diagnosis on 2024-03-01" in errors["start_date"][0]


def test_overlapping_interruptions_are_refused(patient: Patient) -> None:
    # given an interruption from day 30 to day 60
    treatment_event_create(
        patient=patient,
        kind=EventKind.INTERRUPTION,
        reason=StopReason.AIMSS,
        start_date=day(30),
        end_date=day(60),
    )
    # when another is recorded from day 60 (sharing its last day)
    errors = _errors(
        lambda: treatment_event_create(
            patient=patient,
            kind=EventKind.INTERRUPTION,
            reason=StopReason.OTHER,
            start_date=day(60),
            end_date=day(70),
        )
    )
    # then it is refused, naming the other one
    assert "overlaps the interruption from 2024-03-31 to 2024-04-30" in errors["start_date"][0]
    assert TreatmentEvent.objects.count() == 1
    # and one from the next day is fine
    treatment_event_create(
        patient=patient,
        kind=EventKind.INTERRUPTION,
        reason=StopReason.OTHER,
        start_date=day(61),
        end_date=day(70),
    )


def test_an_open_interruption_overlaps_everything_after_it(patient: Patient) -> None:
    treatment_event_create(
        patient=patient, kind=EventKind.INTERRUPTION, reason=StopReason.AIMSS, start_date=day(30)
    )
    errors = _errors(
        lambda: treatment_event_create(
            patient=patient,
            kind=EventKind.INTERRUPTION,
            reason=StopReason.AIMSS,
            start_date=day(200),
        )
    )
    assert "to now (still off)" in errors["start_date"][0]


def test_data_after_a_death_is_refused(patient: Patient) -> None:
    # given a death on day 300
    treatment_event_create(patient=patient, kind=EventKind.DEATH, start_date=day(300))
    # when an intervention is recorded after it
    errors = _errors(
        lambda: intervention_create(patient=patient, measure=Measure.CELECOXIB, start_date=day(301))
    )
    # then it is refused, naming the death
    assert errors["start_date"] == [
        "The intervention 2024-12-27 is after the death recorded on 2024-12-26."
    ]
    assert not Intervention.objects.exists()


def test_a_death_before_recorded_data_is_refused(patient: Patient) -> None:
    CheckInFactory.create(
        patient=patient, submitted_at=dt.datetime(2024, 9, 1, 10, 0, tzinfo=dt.UTC)
    )
    errors = _errors(
        lambda: treatment_event_create(patient=patient, kind=EventKind.DEATH, start_date=day(100))
    )
    assert "(the latest on 2024-09-01)" in errors["start_date"][0]
    assert not TreatmentEvent.objects.exists()


def test_a_second_discontinuation_is_refused(patient: Patient) -> None:
    treatment_event_create(
        patient=patient, kind=EventKind.DISCONTINUATION, reason=StopReason.AIMSS, start_date=day(90)
    )
    errors = _errors(
        lambda: treatment_event_create(
            patient=patient,
            kind=EventKind.DISCONTINUATION,
            reason=StopReason.OTHER,
            start_date=day(100),
        )
    )
    assert "already recorded on 2024-05-30" in errors["kind"][0]


def test_a_stop_needs_its_reason_and_only_aimss_can_be_explicit(patient: Patient) -> None:
    errors = _errors(
        lambda: treatment_event_create(
            patient=patient,
            kind=EventKind.DISCONTINUATION,
            reason=StopReason.OTHER,
            explicit_aimss_termination=True,
            start_date=day(90),
        )
    )
    assert "explicit_aimss_termination" in errors
    errors = _errors(
        lambda: treatment_event_create(
            patient=patient, kind=EventKind.INTERRUPTION, start_date=day(90)
        )
    )
    assert "reason" in errors


def test_a_future_date_is_refused(patient: Patient) -> None:
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    errors = _errors(
        lambda: treatment_event_create(
            patient=patient, kind=EventKind.RECURRENCE, start_date=tomorrow
        )
    )
    assert "is in the future" in errors["start_date"][0]


def test_an_intervention_takes_its_category_from_the_measure(patient: Patient) -> None:
    intervention = intervention_create(
        patient=patient, measure=Measure.DULOXETINE, start_date=day(3), end_date=day(60)
    )
    assert intervention.category == "analgesic"
    errors = _errors(
        lambda: intervention_create(
            patient=patient,
            measure=Measure.VITAMIN_D,
            category="analgesic",
            start_date=day(3),
        )
    )
    assert errors["category"] == ["Vitamin D belongs to the category Complementary or alternative."]


def test_a_switch_of_agent_names_a_different_drug(patient: Patient) -> None:
    errors = _errors(
        lambda: regimen_change_create(
            patient=patient, kind="switch_agent", date=day(10), reason="AIMSS"
        )
    )
    assert errors["new_drug"] == ["A switch of agent names the new drug."]
    errors = _errors(
        lambda: regimen_change_create(
            patient=patient,
            kind="switch_agent",
            new_drug="anastrozole",
            date=day(10),
            reason="AIMSS",
        )
    )
    assert "already on this drug" in errors["new_drug"][0]
    change = regimen_change_create(
        patient=patient, kind="switch_agent", new_drug="exemestane", date=day(10), reason="AIMSS"
    )
    assert change.course.patient_id == patient.pk


# --- adherence check-ins -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "stopped", "wants_to_stop", "lapse"),
    [
        (5, False, False, False),
        (4, False, False, True),
        (7, True, False, True),
        (7, False, True, True),
    ],
)
def test_a_lapse_is_fewer_than_5_of_7_days_or_stopping(
    days: int, stopped: bool, wants_to_stop: bool, lapse: bool
) -> None:
    check_in = AdherenceCheckIn(
        days_taken_last_7=days, stopped=stopped, wants_to_stop=wants_to_stop
    )
    assert is_adherence_lapse(check_in, Clinic(adherence_min_days=5)) is lapse


def test_the_lapse_threshold_is_the_clinics(db: None) -> None:
    check_in = AdherenceCheckIn(days_taken_last_7=5, stopped=False, wants_to_stop=False)
    assert is_adherence_lapse(check_in, ClinicFactory.build(adherence_min_days=6)) is True


def test_a_double_submit_stores_one_check_in(patient: Patient) -> None:
    token = uuid.uuid4()
    first, created = check_in_submit(
        patient=patient,
        days_taken_last_7=7,
        stopped=False,
        wants_to_stop=False,
        submission_token=token,
    )
    again, created_again = check_in_submit(
        patient=patient,
        days_taken_last_7=7,
        stopped=False,
        wants_to_stop=False,
        submission_token=token,
    )
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    assert AdherenceCheckIn.objects.count() == 1


def test_a_lapse_is_decided_at_submission_and_queued_after_commit(
    patient: Patient, django_capture_on_commit_callbacks: Any
) -> None:
    # given a check-in saying she took the AI on 3 of 7 days
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        check_in, _ = check_in_submit(
            patient=patient,
            days_taken_last_7=3,
            missed_reason="ran_out",
            stopped=False,
            wants_to_stop=True,
            reason="The pain in my hands",
        )
    # then the lapse is stored with it, and its evaluation waits for the commit
    assert check_in.lapse is True
    assert len(callbacks) == 1
    assert check_in.lapse_evaluated_at is None


def test_a_check_in_after_death_is_refused(patient: Patient) -> None:
    TreatmentEventFactory.create(patient=patient, kind=EventKind.DEATH, start_date=day(10))
    errors = _errors(
        lambda: check_in_submit(
            patient=patient, days_taken_last_7=7, stopped=False, wants_to_stop=False
        )
    )
    assert "after the death recorded on 2024-03-11" in errors["submitted_at"][0]
