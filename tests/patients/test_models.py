"""Baseline validation: impossible values get a clear error, and the database agrees."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from patients.models import Patient, age_on, bmi
from patients.services import patient_create, patient_update
from tests.factories import ClinicFactory, PatientFactory

pytestmark = pytest.mark.django_db

VALID: dict[str, Any] = {
    "record_number": "R-1",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "birth_date": dt.date(1960, 1, 1),
    "height_cm": Decimal("160"),
    "weight_kg": Decimal("60"),
    "tnm_stage": "II",
    "surgery": "mastectomy",
    "chemotherapy": False,
    "radiotherapy": True,
}


def test_age_and_bmi_are_derived_from_what_was_recorded() -> None:
    assert age_on(dt.date(1960, 6, 15), dt.date(2025, 6, 14)) == 64
    assert age_on(dt.date(1960, 6, 15), dt.date(2025, 6, 15)) == 65
    assert bmi(Decimal("160"), Decimal("64")) == Decimal("25.0")
    patient = PatientFactory.create(height_cm=Decimal("150"), weight_kg=Decimal("45"))
    assert patient.bmi == Decimal("20.0")


def test_a_valid_patient_is_created() -> None:
    patient = patient_create(clinic=ClinicFactory.create(), **VALID)
    assert Patient.objects.get(pk=patient.pk).family_name == "Lovelace"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"weight_kg": Decimal("300"), "height_cm": Decimal("150")}, "weight_kg", "BMI"),
        ({"weight_kg": Decimal("22"), "height_cm": Decimal("200")}, "weight_kg", "BMI"),
        ({"birth_date": timezone.localdate() + dt.timedelta(days=1)}, "birth_date", "future"),
        ({"tnm_stage": "IV"}, "tnm_stage", "stage IV"),
        ({"height_cm": Decimal("40")}, "height_cm", "greater than or equal to 100"),
        (
            {"aimss_diagnosis_date": dt.date(1959, 1, 1)},
            "aimss_diagnosis_date",
            "after the birth date",
        ),
    ],
)
def test_impossible_values_are_refused_with_a_clear_message(
    change: dict[str, object], field: str, words: str
) -> None:
    # when a patient with an impossible value is created
    with pytest.raises(ValidationError) as caught:
        patient_create(clinic=ClinicFactory.create(), **{**VALID, **change})
    # then the error names the field and says what is wrong, and nothing was saved
    messages = " ".join(caught.value.message_dict[field])
    assert words in messages
    assert not Patient.objects.exists()


def test_an_update_with_an_impossible_value_changes_nothing() -> None:
    patient = PatientFactory.create(weight_kg=Decimal("60"))
    with pytest.raises(ValidationError):
        patient_update(patient=patient, weight_kg=Decimal("400"))
    patient.refresh_from_db()
    assert patient.weight_kg == Decimal("60")


@pytest.mark.parametrize(
    "change",
    [
        {"tnm_stage": "IV"},
        {"weight_kg": Decimal("300.0"), "height_cm": Decimal("150.0")},
        {"height_cm": Decimal("50.0")},
        {"aimss_diagnosis_date": dt.date(1950, 1, 1)},
    ],
)
def test_the_database_refuses_impossible_values_written_directly(change: dict[str, object]) -> None:
    patient = PatientFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(**change)


def test_record_numbers_are_unique_within_a_clinic() -> None:
    clinic = ClinicFactory.create()
    PatientFactory.create(clinic=clinic, record_number="X-1")
    PatientFactory.create(record_number="X-1")  # another clinic: fine
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientFactory.create(clinic=clinic, record_number="X-1")
