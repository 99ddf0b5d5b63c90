"""The demo cohort: every role can log in, and the baseline follows the study's Table 1."""

from __future__ import annotations

import statistics
from collections import Counter

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from demo.patients import demo_profiles, group_sizes
from patients.models import Clinic, Patient, Role, User
from tests.conftest import as_database_owner


def test_profiles_are_deterministic_per_seed() -> None:
    assert demo_profiles(40, seed=7) == demo_profiles(40, seed=7)
    assert demo_profiles(40, seed=7) != demo_profiles(40, seed=8)


def test_the_default_cohort_reproduces_table_1() -> None:
    # given the study's 253 patients
    profiles = demo_profiles(253, seed=1)
    by_group = {g: [p for p in profiles if p.group == g] for g in ("monotherapy", "combined")}
    mono, combined = by_group["monotherapy"], by_group["combined"]
    # then group sizes and categorical counts are the published ones
    assert (len(mono), len(combined)) == (182, 71)
    assert Counter(p.tnm_stage for p in mono) == {"0-I": 100, "II": 68, "III": 14}
    assert Counter(p.tnm_stage for p in combined) == {"0-I": 29, "II": 30, "III": 12}
    assert sum(p.chemotherapy for p in mono) == 76
    assert sum(p.chemotherapy for p in combined) == 39
    assert sum(p.radiotherapy for p in mono) == 123
    assert Counter(p.ai_drug for p in combined) == {
        "anastrozole": 59,
        "exemestane": 6,
        "letrozole": 6,
    }
    assert Counter(p.surgery for p in mono) == {"lumpectomy": 112, "mastectomy": 70}
    # and continuous characteristics are close to the published mean ± SD
    pain = [p.baseline_average_pain for p in mono]
    assert statistics.mean(pain) == pytest.approx(5.52, abs=0.1)
    interference = [p.baseline_interference for p in combined]
    assert statistics.mean(interference) == pytest.approx(6.93, abs=0.1)
    assert statistics.stdev(interference) == pytest.approx(1.36, abs=0.15)
    bmis = [float(p.weight_kg / (p.height_cm / 100) ** 2) for p in mono]
    assert statistics.mean(bmis) == pytest.approx(24.29, abs=0.1)
    months = [(p.aimss_diagnosis_date - p.ai_start_date).days / 30.4375 for p in combined]
    assert statistics.mean(months) == pytest.approx(3.80, abs=0.1)


def test_group_sizes_scale_with_the_cohort() -> None:
    assert group_sizes(2530) == {"monotherapy": 1820, "combined": 710}
    assert sum(group_sizes(17).values()) == 17


@pytest.mark.django_db
def test_seed_demo_creates_logins_of_every_role_once() -> None:
    # when the demo is seeded twice
    call_command("seed_demo", patients=30, seed=3, password="demo-secret-pw")
    call_command("seed_demo", patients=30, seed=3, password="demo-secret-pw")
    # then there are two clinics, 30 patients, and one login per demo name
    assert Clinic.objects.count() == 2
    assert Patient.objects.count() == 30
    roles = dict(User.objects.values_list("username", "role"))
    assert roles["nurse"] == roles["nurse2"] == Role.NURSE
    assert roles["clinician"] == roles["clinician2"] == Role.CLINICIAN
    assert roles["researcher"] == Role.RESEARCHER
    assert roles["admin"] == Role.ADMIN
    assert roles["patient30"] == Role.PATIENT
    # and every one of them can log in with the given password
    for username in ("patient1", "nurse", "nurse2", "clinician", "researcher", "admin"):
        request = RequestFactory().post("/accounts/login/")
        assert authenticate(request, username=username, password="demo-secret-pw") is not None
    # and patient1 meets the first clinic's nurse
    nurse = User.objects.get(username="nurse")
    patient1 = Patient.objects.get(user__username="patient1")
    assert nurse.clinics.filter(pk=patient1.clinic_id).exists()
    assert not User.objects.get(username="nurse2").clinics.filter(pk=patient1.clinic_id).exists()
    assert User.objects.get(username="patient1").groups.filter(name="patient").exists()


@pytest.mark.django_db
def test_the_demo_has_phones_to_call_and_patients_who_chose_text_messages() -> None:
    # when the demo is seeded
    call_command("seed_demo", patients=30, seed=3, password="demo-secret-pw")
    # then each clinic has a number to call, and the first clinic's patients have mobiles
    assert all(clinic.phone for clinic in Clinic.objects.all())
    first = Patient.objects.filter(clinic__code="rbc")
    assert first.exists()
    assert not first.filter(phone="").exists()
    assert len(set(first.values_list("phone", flat=True))) == first.count()
    # and some of them get their reminders by text message too, each with a valid number
    texted = Patient.objects.filter(reminder_channels="both")
    assert texted.exists()
    for patient in texted:
        patient.full_clean()
    # and the first clinic's nurse hears of high-priority flags by text message
    nurse = User.objects.get(username="nurse")
    assert (nurse.flag_alert_channels, str(nurse.phone)) == ("both", "+447400124000")


@pytest.mark.django_db
def test_reset_recreates_the_same_cohort() -> None:
    call_command("seed_demo", patients=12, seed=5)
    first = list(
        Patient.objects.order_by("record_number").values_list("record_number", "birth_date")
    )
    with as_database_owner():  # a reset erases the access records
        call_command("seed_demo", patients=12, seed=5, reset=True)
    again = list(
        Patient.objects.order_by("record_number").values_list("record_number", "birth_date")
    )
    assert first == again


@pytest.mark.django_db
def test_seed_demo_gives_every_patient_bpi_responses_on_the_studys_path() -> None:
    from assessments.models import Response

    # given the demo cohort of the study's size
    call_command("seed_demo", patients=253, seed=1)
    # then every patient has a baseline and months 1-3, and those still on AI later follow-up
    per_patient = Counter(Response.objects.values_list("patient_id", flat=True))
    assert len(per_patient) == 253
    assert min(per_patient.values()) >= 4
    from adherence.models import TreatmentEvent

    stopped = set(TreatmentEvent.objects.values_list("patient_id", flat=True))
    assert min(n for pid, n in per_patient.items() if pid not in stopped) >= 5
    # and month 3 is near the study's values per group (Liang et al.)
    profiles = {p.record_number: p for p in demo_profiles(253, seed=1)}
    month_3: dict[str, list[tuple[int, float]]] = {"monotherapy": [], "combined": []}
    for patient in Patient.objects.all():
        responses = list(Response.objects.filter(patient=patient).order_by("submitted_at"))
        assert responses[0].average_pain == profiles[patient.record_number].baseline_average_pain
        third = responses[3]
        if third.interference_score is not None:
            group = profiles[patient.record_number].group
            month_3[group].append((third.average_pain, float(third.interference_score)))
    combined_pain = statistics.mean(p for p, _ in month_3["combined"])
    mono_interference = statistics.mean(i for _, i in month_3["monotherapy"])
    assert combined_pain == pytest.approx(2.75, abs=0.35)
    assert mono_interference == pytest.approx(3.30, abs=0.35)
    # and a reset erases them with the cohort
    with as_database_owner():  # a reset erases the access records
        call_command("seed_demo", patients=5, seed=1, reset=True)
    assert Response.objects.filter(patient__clinic__isnull=False).count() < 200


@pytest.mark.django_db
def test_reset_works_after_staff_have_viewed_patients() -> None:
    from django.test import Client
    from django.urls import reverse

    call_command("seed_demo", patients=5, seed=2)
    nurse = User.objects.get(username="nurse")
    patient = Patient.objects.filter(clinic__memberships__user=nurse).first()
    assert patient is not None
    client = Client()
    client.force_login(nurse)
    assert client.get(reverse("clinical:patient", args=[patient.pk])).status_code == 200
    # the application's role may not erase the access records: a clear refusal, nothing erased
    with pytest.raises(CommandError, match="only the owner of the tables"):
        call_command("seed_demo", patients=5, seed=2, reset=True)
    # the owner of the tables may
    with as_database_owner():
        call_command("seed_demo", patients=5, seed=2, reset=True)
    assert Patient.objects.count() == 5
