"""The management strategy at diagnosis: the per-patient function and the list annotation
are one rule, and they agree."""

from __future__ import annotations

import datetime as dt

import pytest

from adherence.models import InterventionCategory, Measure
from adherence.strategy import (
    COMBINED,
    MONOTHERAPY,
    strategy_at_diagnosis,
    strategy_categories,
    strategy_filter,
    strategy_of,
)
from patients.models import Clinic, Patient
from patients.services import clinic_update
from tests.factories import ClinicFactory, InterventionFactory, PatientFactory

DIAGNOSIS = dt.date(2024, 3, 1)
PT, ANALGESIC = InterventionCategory.PHYSICAL_THERAPY, InterventionCategory.ANALGESIC
# name -> (category, day after diagnosis) of her interventions
CASES: dict[str, list[tuple[str, int]]] = {
    "none": [],
    "mono": [(PT, 0)],
    "mono_twice": [(PT, 0), (PT, 10)],  # one category however many measures
    "combined": [(PT, 0), (ANALGESIC, 14)],
    "late": [(ANALGESIC, 15)],  # day 15 is outside the 14-day window
    "early": [(ANALGESIC, -1)],  # before the diagnosis: not management after it
    "mono_and_late": [(PT, 3), (ANALGESIC, 20)],
}


def _enrol(clinic: Clinic) -> dict[str, Patient]:
    patients = {}
    for name, interventions in CASES.items():
        patient = PatientFactory.create(
            clinic=clinic, family_name=name, aimss_diagnosis_date=DIAGNOSIS
        )
        for category, day in interventions:
            measure = Measure.EXERCISE if category == PT else Measure.CELECOXIB
            InterventionFactory.create(
                patient=patient,
                category=category,
                measure=measure,
                start_date=DIAGNOSIS + dt.timedelta(days=day),
            )
        patients[name] = patient
    PatientFactory.create(clinic=clinic, family_name="undiagnosed", aimss_diagnosis_date=None)
    return patients


def _python_form(clinic: Clinic) -> dict[str, str | None]:
    window = clinic.strategy_window_days
    return {
        patient.family_name: strategy_at_diagnosis(
            diagnosis=patient.aimss_diagnosis_date,
            window_days=window,
            starts=[(i.category, i.start_date) for i in patient.interventions.all()],
        )[0]
        for patient in Patient.objects.filter(clinic=clinic)
    }


def _annotation_form(clinic: Clinic) -> dict[str, str | None]:
    annotated = Patient.objects.filter(clinic=clinic).annotate(strategy_n=strategy_categories())
    by_count = {p.family_name: strategy_of(p.strategy_n) for p in annotated}
    by_filter: dict[str, str | None] = {}
    for strategy in (MONOTHERAPY, COMBINED, None):
        for name in annotated.filter(strategy_filter(strategy)).values_list(
            "family_name", flat=True
        ):
            assert name not in by_filter, name  # each patient in exactly one group
            by_filter[name] = strategy
    assert by_filter == by_count
    return by_count


@pytest.mark.django_db
@pytest.mark.parametrize("window_days", [14, 3, 30])
def test_the_function_and_the_annotation_agree(window_days: int) -> None:
    # given a clinic with this window and patients on each side of its edges
    clinic = ClinicFactory.create()
    clinic_update(clinic=clinic, strategy_window_days=window_days)
    _enrol(clinic)

    # when the strategy is decided per patient and for the list
    python_form = _python_form(clinic)
    annotation_form = _annotation_form(clinic)

    # then both say the same for everyone
    assert python_form == annotation_form


@pytest.mark.django_db
def test_the_default_window_gives_the_studys_groups() -> None:
    clinic = ClinicFactory.create()
    _enrol(clinic)

    strategies = _python_form(clinic)

    assert strategies == {
        "none": None,
        "mono": MONOTHERAPY,
        "mono_twice": MONOTHERAPY,
        "combined": COMBINED,
        "late": None,
        "early": None,
        "mono_and_late": MONOTHERAPY,
        "undiagnosed": None,
    }
