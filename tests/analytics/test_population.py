"""The study's endpoint and population, exactly: other stops censor (or exclude), an open AIMSS
interruption is censored at the as-of date, each eligibility criterion in the CONSORT flow, and
the baseline window's boundaries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from adherence.models import EventKind, RegimenChangeKind, StopReason
from analytics.cohort import CohortFilter, build_cohort
from analytics.disclosure import suppress_report
from analytics.importer import cohort_import
from analytics.report import cohort_report
from patients.models import Clinic, Patient
from tests.analytics.test_import import _rows, _write
from tests.factories import (
    AiCourseFactory,
    ClinicFactory,
    InterventionFactory,
    PatientFactory,
    RegimenChangeFactory,
    ResponseFactory,
    TreatmentEventFactory,
)

pytestmark = pytest.mark.django_db

DX = dt.date(2024, 3, 1)  # the factories' AIMSS diagnosis
AS_OF = dt.date(2026, 6, 30)


def day(n: int) -> dt.date:
    return DX + dt.timedelta(days=n)


def _patient(
    clinic: Clinic, *, baseline_day: int = 0, intervention_day: int = 0, **fields: Any
) -> Patient:
    """A patient with one intervention and one baseline answer (days from the diagnosis)."""
    patient = PatientFactory.create(clinic=clinic, **fields)
    AiCourseFactory.create(patient=patient)
    InterventionFactory.create(patient=patient, start_date=day(intervention_day))
    _answer(patient, day(baseline_day))
    return patient


def _answer(patient: Patient, on: dt.date) -> None:
    """A BPI-SF submitted on ``on`` (submitted answers are immutable: the clock is set)."""
    moment = dt.datetime.combine(on, dt.time(10), tzinfo=dt.UTC)
    with mock.patch("django.utils.timezone.now", return_value=moment):
        ResponseFactory.create(patient=patient)


def _row(clinic: Clinic, patient: Patient, **settings: Any) -> dict[str, Any]:
    cohort = build_cohort(CohortFilter(clinic_ids=(clinic.pk,), as_of=AS_OF, **settings))
    [row] = cohort.data[cohort.data["patient_id"] == patient.pk].to_dict("records")
    return row


def _flow(clinic: Clinic, **settings: Any) -> dict[str, int | None]:
    cohort = build_cohort(CohortFilter(clinic_ids=(clinic.pk,), as_of=AS_OF, **settings))
    return {step["step"]: step["removed"] for step in cohort.flow}


@pytest.fixture
def clinic() -> Clinic:
    return ClinicFactory.create(code="pop")


def test_a_discontinuation_for_another_reason_censors_at_its_date_by_default(
    clinic: Clinic,
) -> None:
    # given a patient who stopped the AI for progression on day 200, and recurred on day 300
    patient = _patient(clinic)
    TreatmentEventFactory.create(
        patient=patient,
        kind=EventKind.DISCONTINUATION,
        reason=StopReason.OTHER,
        start_date=day(200),
    )
    TreatmentEventFactory.create(patient=patient, kind=EventKind.RECURRENCE, start_date=day(300))
    # when the report reads her with the default setting
    row = _row(clinic, patient)
    # then she is censored on day 200, not counted as an event on day 300
    assert (row["time_days"], row["event"], row["censoring"]) == (200, 0, "other_discontinuation")


def test_the_exclude_setting_removes_her_and_the_flow_counts_her(clinic: Clinic) -> None:
    # given one patient who stopped for another reason and one who did not
    stopped = _patient(clinic)
    _patient(clinic)
    TreatmentEventFactory.create(
        patient=stopped, kind=EventKind.DISCONTINUATION, reason=StopReason.OTHER, start_date=day(50)
    )
    # when the report excludes such patients
    cohort = build_cohort(CohortFilter(clinic_ids=(clinic.pk,), as_of=AS_OF, other_stop="exclude"))
    # then she is not analysed, and the flow says why
    assert stopped.pk not in set(cohort.data["patient_id"])
    assert len(cohort.data) == 1
    assert {s["step"]: s["removed"] for s in cohort.flow}["other_stop"] == 1
    # and by default she is analysed (censored), with no such step
    assert "other_stop" not in _flow(clinic)


def test_a_switch_to_a_non_ai_therapy_censors_at_its_date(clinic: Clinic) -> None:
    # given a patient switched to tamoxifen on day 120
    patient = _patient(clinic)
    RegimenChangeFactory.create(
        course=patient.ai_course, kind=RegimenChangeKind.SWITCH_NON_AI, date=day(120)
    )
    # then she is censored on day 120
    row = _row(clinic, patient)
    assert (row["time_days"], row["event"], row["censoring"]) == (120, 0, "switch_non_ai")


def test_an_open_aimss_interruption_under_91_days_is_censored_at_the_as_of_date(
    clinic: Clinic,
) -> None:
    # given an AIMSS interruption that began 40 days before the as-of date and is still open
    patient = _patient(clinic)
    start = AS_OF - dt.timedelta(days=39)
    TreatmentEventFactory.create(
        patient=patient, kind=EventKind.INTERRUPTION, reason=StopReason.AIMSS, start_date=start
    )
    # when the report runs as of that date
    row = _row(clinic, patient)
    # then she is censored on the as-of date, the stop's status shown (40 days off so far)
    assert (row["time_days"], row["event"]) == ((AS_OF - DX).days, 0)
    assert (row["censoring"], row["open_stop_days"]) == ("open_aimss_stop", 40)
    # and a report as of 60 days later counts the 100-day stop as the event on its first day
    later = build_cohort(CohortFilter(clinic_ids=(clinic.pk,), as_of=AS_OF + dt.timedelta(days=60)))
    [again] = later.data.to_dict("records")
    assert (again["event"], again["time_days"]) == (1, (start - DX).days)
    assert again["event_type"] == "aimss_discontinuation"


@pytest.mark.parametrize(
    ("criterion", "fields"),
    [
        ("stage_iv", {"stage_iv": True}),
        ("rheumatic_disease", {"rheumatic_disease": True}),
        ("long_term_immunosuppression", {"long_term_immunosuppression": True}),
        ("short_follow_up", {"aimss_diagnosis_date": AS_OF - dt.timedelta(days=500)}),
    ],
)
def test_each_recorded_criterion_removes_its_patient_in_the_flow_and_can_be_switched_off(
    clinic: Clinic, criterion: str, fields: dict[str, Any]
) -> None:
    # given an eligible patient and one who meets the exclusion criterion
    _patient(clinic)
    excluded = _patient(clinic, **fields)
    if "aimss_diagnosis_date" in fields:  # her intervention and answer follow her diagnosis
        dx = fields["aimss_diagnosis_date"]
        excluded.interventions.update(start_date=dx)
        _answer(excluded, dx)
    # when the report applies every criterion
    flow = _flow(clinic)
    # then that criterion removed exactly her
    assert flow[criterion] == 1
    assert sum(v for k, v in flow.items() if k != criterion and v is not None) == 0
    # and switched off, she is analysed
    others = tuple(c for c in CohortFilter().criteria if c != criterion)
    cohort = build_cohort(CohortFilter(clinic_ids=(clinic.pk,), as_of=AS_OF, criteria=others))
    assert excluded.pk in set(cohort.data["patient_id"])
    assert criterion not in {s["step"] for s in cohort.flow}


def test_a_recurrence_before_aimss_is_a_criterion_not_an_event(clinic: Clinic) -> None:
    # given a patient whose recurrence was confirmed before her AIMSS diagnosis
    patient = _patient(clinic)
    TreatmentEventFactory.create(patient=patient, kind=EventKind.RECURRENCE, start_date=day(-30))
    # then the criterion removes her
    assert _flow(clinic)["recurrence_before_aimss"] == 1
    # and without it she is followed from her diagnosis, with no event at a negative time
    row = _row(clinic, patient, criteria=("stage_iv",))
    assert row["event"] == 0
    assert row["time_days"] >= 0


def test_a_patient_without_any_documented_intervention_is_removed_by_that_criterion(
    clinic: Clinic,
) -> None:
    _patient(clinic)
    bare = _patient(clinic)
    bare.interventions.all().delete()
    flow = _flow(clinic)
    assert flow["no_intervention"] == 1
    # switched off, she is still left out: the analysis needs an initial strategy
    assert _flow(clinic, criteria=("stage_iv",))["no_strategy"] == 1


@pytest.mark.parametrize(
    ("baseline_day", "intervention_day", "has_baseline"),
    [
        (-14, 10, True),  # the window's first day
        (-15, 10, False),  # a day before it
        (7, 10, True),  # the window's last day
        (8, 10, False),  # a day after it
        (3, 3, True),  # on the day the first intervention started
        (4, 3, False),  # after the first intervention started
    ],
)
def test_the_baseline_is_from_14_days_before_to_7_after_and_never_after_treatment(
    clinic: Clinic, baseline_day: int, intervention_day: int, has_baseline: bool
) -> None:
    # given a patient whose only answer is on ``baseline_day`` and treatment on
    # ``intervention_day`` (the strategy window, 14 days, holds it)
    _patient(clinic, baseline_day=baseline_day, intervention_day=intervention_day)
    # then she has a baseline exactly when the rule allows it
    assert _flow(clinic)["no_baseline"] == (0 if has_baseline else 1)


def test_an_imported_other_discontinuation_is_censored_and_the_report_states_its_settings(
    tmp_path: Path,
) -> None:
    # given an imported cohort in which one patient stopped the AI for another reason
    ClinicFactory.create(code="imp")
    rows = _rows(n=80)
    rows[0] |= {
        "event_type": "other_discontinuation",
        "event_date": rows[0]["aimss_diagnosis_date"],
    }
    assert cohort_import(path=_write(tmp_path, rows)).errors == []
    # when the report runs as of a given day, excluding such patients
    report = cohort_report(cohort_filter=CohortFilter(as_of=AS_OF, other_stop="exclude"))
    # then it states its as-of date, its settings and its baseline rule
    assert report["as_of"] == AS_OF.isoformat()
    assert report["settings"]["other_stop"] == "exclude"
    assert report["settings"]["other_stop_rule"].endswith("excluded from the analysis")
    assert "7 days after" in report["settings"]["baseline_rule"]
    assert all(c["applied"] for c in report["settings"]["criteria"])
    # and the flow removed her for that reason
    assert {s["step"]: s["removed"] for s in report["flow"]}["other_stop"] == 1
    assert report["flow"][-1]["remaining"] == report["n_patients"] == 79
    # and by default she is analysed, censored on her discontinuation date
    censored = cohort_report(cohort_filter=CohortFilter(as_of=AS_OF))
    assert censored["n_patients"] == 80
    assert censored["censoring"]["other_discontinuation"] == 1


def test_a_researchers_flow_hides_steps_under_11_and_keeps_the_totals() -> None:
    # given a report whose flow removed 3 patients for stage IV and 20 without a baseline
    report: dict[str, Any] = {
        "excluded": {"stage_iv": 3, "no_baseline": 20, "no_strategy": 0},
        "flow": [
            {"step": "assessed", "removed": None, "remaining": 123},
            {"step": "stage_iv", "removed": 3, "remaining": 120},
            {"step": "no_strategy", "removed": 0, "remaining": 120},
            {"step": "no_baseline", "removed": 20, "remaining": 100},
            {"step": "analysed", "removed": None, "remaining": 100},
        ],
    }
    # when it is suppressed for a researcher
    out = suppress_report(report)
    removed = {s["step"]: s["removed"] for s in out["flow"]}
    # then the small step is hidden, with its complement, and no intermediate total remains
    assert removed["stage_iv"] is None
    assert removed["no_baseline"] is None or removed["no_strategy"] is None
    assert [s["remaining"] for s in out["flow"]] == [123, None, None, None, 100]
