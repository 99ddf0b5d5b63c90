"""The derived strategy at diagnosis and the interruption-free survival record (Liang et al.)."""

from __future__ import annotations

import datetime as dt

import pytest

from adherence.models import (
    EventKind,
    ExternalFollowUp,
    InterventionCategory,
    Measure,
    StopReason,
)
from adherence.selectors import (
    FOLLOW_UP_SOURCES,
    course_status,
    survival_record,
    survival_records,
)
from patients.models import Patient
from tests.factories import (
    AiCourseFactory,
    CheckInFactory,
    ClinicFactory,
    InterventionFactory,
    PatientFactory,
    RegimenChangeFactory,
    TreatmentEventFactory,
)

pytestmark = pytest.mark.django_db

DIAGNOSIS = dt.date(2024, 3, 1)


def day(n: int) -> dt.date:
    """The date ``n`` days after the AIMSS diagnosis."""
    return DIAGNOSIS + dt.timedelta(days=n)


def at(n: int) -> dt.datetime:
    return dt.datetime.combine(day(n), dt.time(10), tzinfo=dt.UTC)


@pytest.fixture
def patient() -> Patient:
    patient = PatientFactory.create(aimss_diagnosis_date=DIAGNOSIS)
    AiCourseFactory.create(patient=patient, start_date=dt.date(2023, 11, 1))
    return patient


def _physio(patient: Patient, start: dt.date) -> None:
    InterventionFactory.create(
        patient=patient,
        category=InterventionCategory.PHYSICAL_THERAPY,
        measure=Measure.PHYSIOTHERAPY,
        start_date=start,
    )


def _celecoxib(patient: Patient, start: dt.date) -> None:
    InterventionFactory.create(
        patient=patient,
        category=InterventionCategory.ANALGESIC,
        measure=Measure.CELECOXIB,
        start_date=start,
    )


# --- strategy at diagnosis -------------------------------------------------------------------


def test_no_intervention_means_no_strategy_yet(patient: Patient) -> None:
    record = survival_record(patient)
    assert record.strategy is None
    assert record.categories == ()


def test_one_category_in_the_window_is_monotherapy(patient: Patient) -> None:
    # given physiotherapy and an exercise programme, both physical therapy, at diagnosis
    _physio(patient, day(0))
    InterventionFactory.create(patient=patient, measure=Measure.EXERCISE, start_date=day(3))
    # then it is one category: monotherapy
    record = survival_record(patient)
    assert record.strategy == "monotherapy"
    assert record.categories == ("physical_therapy",)


def test_a_second_category_on_day_14_makes_it_combined(patient: Patient) -> None:
    # given physiotherapy at diagnosis and celecoxib on the window's last day
    _physio(patient, day(0))
    _celecoxib(patient, day(14))
    # then both were started in the initial window
    record = survival_record(patient)
    assert record.strategy == "combined"
    assert record.categories == ("analgesic", "physical_therapy")


def test_a_second_category_on_day_15_is_an_escalation_not_combined(patient: Patient) -> None:
    _physio(patient, day(0))
    _celecoxib(patient, day(15))
    record = survival_record(patient)
    assert record.strategy == "monotherapy"
    assert record.categories == ("physical_therapy",)


def test_an_intervention_started_before_the_diagnosis_does_not_count(patient: Patient) -> None:
    # given vitamin D from the day before the AIMSS diagnosis and physiotherapy at diagnosis
    InterventionFactory.create(
        patient=patient,
        category=InterventionCategory.COMPLEMENTARY,
        measure=Measure.VITAMIN_D,
        start_date=day(-1),
    )
    _physio(patient, day(0))
    # then only the management after the diagnosis defines the strategy
    assert survival_record(patient).strategy == "monotherapy"


def test_the_window_follows_the_clinic_setting(patient: Patient) -> None:
    # given a clinic with a 7-day initial window
    clinic = patient.clinic
    clinic.strategy_window_days = 7
    clinic.save()
    _physio(patient, day(0))
    _celecoxib(patient, day(8))
    # then a second category on day 8 is outside it
    assert survival_record(Patient.objects.get(pk=patient.pk)).strategy == "monotherapy"


# --- events ------------------------------------------------------------------------------------


def test_without_an_event_she_is_censored_at_the_last_recorded_contact(patient: Patient) -> None:
    # given interventions, a regimen change and check-ins, the latest a check-in on day 600
    _physio(patient, day(0))
    RegimenChangeFactory.create(course=patient.ai_course, date=day(100))
    CheckInFactory.create(patient=patient, submitted_at=at(300))
    CheckInFactory.create(patient=patient, submitted_at=at(600))
    # then she is censored there, not today
    record = survival_record(patient)
    assert (record.event, record.event_type) == (False, None)
    assert record.censored_at == day(600)
    assert record.time_days == 600
    assert record.origin == DIAGNOSIS


def test_an_intervention_end_is_follow_up_too(patient: Patient) -> None:
    InterventionFactory.create(patient=patient, start_date=day(2), end_date=day(200))
    CheckInFactory.create(patient=patient, submitted_at=at(150))
    assert survival_record(patient).censored_at == day(200)


def test_an_external_chart_s_last_follow_up_is_a_contact(patient: Patient) -> None:
    # given a check-in on day 150 and her chart's last follow-up (recorded elsewhere) on day 548
    _physio(patient, day(0))
    CheckInFactory.create(patient=patient, submitted_at=at(150))
    ExternalFollowUp.objects.create(patient=patient, last_follow_up_date=day(548))
    # then she is censored at the chart's date, alone and in a cohort
    assert survival_record(patient).censored_at == day(548)
    [record] = survival_records(Patient.objects.filter(pk=patient.pk))
    assert record.censored_at == day(548)


def test_death_is_an_event_on_its_date(patient: Patient) -> None:
    CheckInFactory.create(patient=patient, submitted_at=at(100))
    TreatmentEventFactory.create(patient=patient, kind=EventKind.DEATH, start_date=day(400))
    record = survival_record(patient)
    assert (record.event, record.event_type, record.time_days) == (True, "death", 400)
    assert record.censored_at is None


def test_recurrence_is_an_event_on_its_confirmed_date(patient: Patient) -> None:
    TreatmentEventFactory.create(patient=patient, kind=EventKind.RECURRENCE, start_date=day(250))
    CheckInFactory.create(patient=patient, submitted_at=at(500))
    record = survival_record(patient)
    assert (record.event, record.event_type, record.time_days) == (True, "recurrence", 250)


def test_an_explicit_termination_for_aimss_is_an_event_at_once(patient: Patient) -> None:
    # given a discontinuation for AIMSS, explicitly terminated, and no follow-up after it
    TreatmentEventFactory.create(
        patient=patient,
        kind=EventKind.DISCONTINUATION,
        reason=StopReason.AIMSS,
        explicit_aimss_termination=True,
        start_date=day(120),
    )
    record = survival_record(patient)
    assert (record.event_type, record.time_days) == ("aimss_discontinuation", 120)


def test_a_discontinuation_for_aimss_counts_once_she_is_off_for_91_days(patient: Patient) -> None:
    # given a discontinuation for AIMSS without explicit termination on day 120
    TreatmentEventFactory.create(
        patient=patient,
        kind=EventKind.DISCONTINUATION,
        reason=StopReason.AIMSS,
        start_date=day(120),
    )
    # when follow-up reaches day 209 (90 days off), it is not yet an event
    CheckInFactory.create(patient=patient, submitted_at=at(209))
    record = survival_record(patient)
    assert (record.event, record.censored_at) == (False, day(209))
    # when follow-up reaches day 210 (91 days off), it is an event dated where the stop began
    CheckInFactory.create(patient=patient, submitted_at=at(210))
    record = survival_record(patient)
    assert (record.event_type, record.time_days) == ("aimss_discontinuation", 120)


@pytest.mark.parametrize(("last_day_off", "is_event"), [(89, False), (90, True)])
def test_an_aimss_interruption_of_91_days_is_an_event_at_its_start(
    patient: Patient, last_day_off: int, is_event: bool
) -> None:
    # given an interruption for AIMSS from day 30 to day 30 + 89 (90 days) or + 90 (91 days)
    TreatmentEventFactory.create(
        patient=patient,
        kind=EventKind.INTERRUPTION,
        reason=StopReason.AIMSS,
        start_date=day(30),
        end_date=day(30 + last_day_off),
    )
    CheckInFactory.create(patient=patient, submitted_at=at(400))
    record = survival_record(patient)
    assert record.event is is_event
    assert record.time_days == (30 if is_event else 400)


def test_an_interruption_for_another_reason_is_never_an_event(patient: Patient) -> None:
    TreatmentEventFactory.create(
        patient=patient,
        kind=EventKind.INTERRUPTION,
        reason=StopReason.OTHER,
        start_date=day(30),
        end_date=day(300),
    )
    assert survival_record(patient).event is False


def test_an_interruption_running_into_a_discontinuation_is_one_stop(patient: Patient) -> None:
    # given a 40-day AIMSS interruption and, the next day, a discontinuation for AIMSS
    TreatmentEventFactory.create(
        patient=patient,
        kind=EventKind.INTERRUPTION,
        reason=StopReason.AIMSS,
        start_date=day(50),
        end_date=day(89),
    )
    TreatmentEventFactory.create(
        patient=patient, kind=EventKind.DISCONTINUATION, reason=StopReason.AIMSS, start_date=day(90)
    )
    # when follow-up shows her off the drug on day 140 (91 days after the first stop)
    CheckInFactory.create(patient=patient, submitted_at=at(140))
    # then the event is dated where she first stopped
    record = survival_record(patient)
    assert (record.event_type, record.time_days) == ("aimss_discontinuation", 50)


def test_an_open_aimss_interruption_counts_from_its_start(patient: Patient) -> None:
    TreatmentEventFactory.create(
        patient=patient, kind=EventKind.INTERRUPTION, reason=StopReason.AIMSS, start_date=day(60)
    )
    CheckInFactory.create(patient=patient, submitted_at=at(160))
    assert survival_record(patient).time_days == 60


def test_the_earliest_event_wins(patient: Patient) -> None:
    TreatmentEventFactory.create(patient=patient, kind=EventKind.RECURRENCE, start_date=day(200))
    TreatmentEventFactory.create(patient=patient, kind=EventKind.DEATH, start_date=day(300))
    record = survival_record(patient)
    assert (record.event_type, record.time_days) == ("recurrence", 200)


def test_same_day_death_beats_recurrence_beats_aimss_discontinuation(patient: Patient) -> None:
    # given a discontinuation for AIMSS and a recurrence on the same day
    TreatmentEventFactory.create(
        patient=patient,
        kind=EventKind.DISCONTINUATION,
        reason=StopReason.AIMSS,
        explicit_aimss_termination=True,
        start_date=day(200),
    )
    TreatmentEventFactory.create(patient=patient, kind=EventKind.RECURRENCE, start_date=day(200))
    assert survival_record(patient).event_type == "recurrence"
    # when a death is recorded on that day as well
    TreatmentEventFactory.create(patient=patient, kind=EventKind.DEATH, start_date=day(200))
    # then death names the event
    assert survival_record(patient).event_type == "death"


def test_a_patient_without_aimss_diagnosis_has_no_survival_time(db: None) -> None:
    patient = PatientFactory.create(aimss_diagnosis_date=None)
    record = survival_record(patient)
    assert (record.time_days, record.event, record.origin) == (None, False, None)


def test_the_cohort_selector_uses_a_fixed_number_of_queries(
    django_assert_max_num_queries: object,
) -> None:
    # given two cohorts, of 3 and of 12 patients, each with full records
    def cohort(code: str, size: int) -> list[Patient]:
        clinic = ClinicFactory.create(code=code)
        patients = []
        for i in range(size):
            patient = PatientFactory.create(clinic=clinic, aimss_diagnosis_date=DIAGNOSIS)
            course = AiCourseFactory.create(patient=patient)
            RegimenChangeFactory.create(course=course, date=day(20 + i))
            _physio(patient, day(0))
            _celecoxib(patient, day(2 * i))  # from i = 8 on: an escalation
            CheckInFactory.create(patient=patient, submitted_at=at(300 + i))
            TreatmentEventFactory.create(
                patient=patient, kind=EventKind.RECURRENCE, start_date=day(100 + i)
            )
            patients.append(patient)
        return patients

    small, large = cohort("s", 3), cohort("l", 12)
    # then each costs the same few queries, and agrees with the one-patient derivation
    for patients in (small, large):
        queryset = Patient.objects.filter(pk__in=[p.pk for p in patients])
        # patients, events, interventions, regimen changes and one query per follow-up source,
        # whatever the cohort's size
        with django_assert_max_num_queries(4 + len(FOLLOW_UP_SOURCES)):  # type: ignore[operator]
            records = survival_records(queryset)
        assert len(records) == len(patients)
        assert sorted(records, key=lambda r: r.patient_id) == sorted(
            (survival_record(p) for p in patients), key=lambda r: r.patient_id
        )
    assert {r.strategy for r in survival_records(Patient.objects.all())} == {
        "monotherapy",
        "combined",
    }


def test_the_course_status_is_derived_from_the_events(patient: Patient) -> None:
    course = patient.ai_course
    interruption = TreatmentEventFactory.create(
        patient=patient, kind=EventKind.INTERRUPTION, reason=StopReason.OTHER, start_date=day(10)
    )
    assert course_status(course, [interruption], today=day(20)) == "interrupted"
    interruption.end_date = day(30)
    assert course_status(course, [interruption], today=day(40)) == "active"
    assert course_status(course, [], today=dt.date(2028, 11, 1)) == "completed"
    stop = TreatmentEventFactory.create(
        patient=patient, kind=EventKind.DISCONTINUATION, reason=StopReason.AIMSS, start_date=day(50)
    )
    assert course_status(course, [interruption, stop], today=day(60)) == "discontinued"
