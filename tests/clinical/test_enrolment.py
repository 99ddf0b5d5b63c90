"""Enrolment by a clinic's staff, on the page and through the API, with her invitation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from adherence.models import AiCourse
from patients.models import Patient, User
from tests.conftest import World, client_for


def _enrolment(world: World, **changes: Any) -> dict[str, Any]:
    data = {
        "clinic": world.clinic_a.pk,
        "record_number": "RBC-0042",
        "given_name": "Mei",
        "family_name": "Lin",
        "birth_date": "1960-04-02",
        "email": "Mei.Lin@example.org",
        "phone": "07911 123456",
        "preferred_language": "zh-hans",
        "time_zone": "Asia/Shanghai",
        "height_cm": "158",
        "weight_kg": "55",
        "tnm_stage": "II",
        "surgery": "lumpectomy",
        "chemotherapy": "on",
        "radiotherapy": "",
        "menopausal_status": "natural",
        "hr_status": "er+pr+",
        "aimss_diagnosis_date": "2026-06-01",
        "ai_drug": "anastrozole",
        "ai_start_date": "2026-01-10",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_a_nurse_enrols_a_patient_and_her_invitation_goes_out(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    # given a nurse of clinic A
    client = client_for(world.nurse_a)
    assert client.get(reverse("clinical:enrol")).status_code == 200
    # when she enrols Mei
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("clinical:enrol"), _enrolment(world))
    # then the record, course and login exist; the phone is stored in E.164
    patient = Patient.objects.get(record_number="RBC-0042")
    assert response.status_code == 302
    assert response["Location"] == reverse("clinical:patient", args=[patient.pk])
    assert patient.phone.as_e164 == "+447911123456"
    assert Patient.objects.filter(phone="+447911123456").exists()  # stored in E.164
    assert patient.clinic == world.clinic_a
    assert AiCourse.objects.get(patient=patient).drug == "anastrozole"
    user = patient.user
    assert user is not None
    assert user.username == "mei.lin@example.org"
    assert not user.has_usable_password()
    assert user.invited_at is not None
    # and one invitation, in her language, with no health information
    [message] = mail.outbox
    assert message.to == ["mei.lin@example.org"]
    body = str(message.body)
    assert "/accounts/invitation/" in body
    assert "用户名" in body or "密码" in body  # Simplified Chinese
    for secret in ("anastrozole", "RBC-0042", "Lin", "AIMSS diagnosis", "pain", "Clinic A"):
        assert secret not in body
        assert secret not in message.subject
    # her page shows the national number as a tel: link and the invitation's state
    page = client.get(reverse("clinical:patient", args=[patient.pk])).content.decode()
    assert 'href="tel:+447911123456"' in page
    assert "07911 123456" in page
    assert "not used yet" in page


def test_a_duplicate_record_number_is_refused_by_name(world: World) -> None:
    client = client_for(world.clinician_a)
    response = client.post(
        reverse("clinical:enrol"),
        _enrolment(world, record_number=world.patient_a.record_number, email="x@example.org"),
    )
    assert response.status_code == 400
    assert f"Record number {world.patient_a.record_number} is already used" in (
        response.content.decode()
    )
    assert not User.objects.filter(username="x@example.org").exists()


def test_a_wrong_phone_number_gets_a_clear_message(world: World) -> None:
    response = client_for(world.nurse_a).post(
        reverse("clinical:enrol"), _enrolment(world, phone="12ab")
    )
    assert response.status_code == 400
    assert "valid phone number" in response.content.decode()
    assert not Patient.objects.filter(record_number="RBC-0042").exists()


def test_staff_enrol_only_into_their_own_clinics(world: World) -> None:
    response = client_for(world.nurse_a).post(
        reverse("clinical:enrol"), _enrolment(world, clinic=world.clinic_b.pk)
    )
    assert response.status_code == 400
    assert not Patient.objects.filter(record_number="RBC-0042").exists()


@pytest.mark.parametrize("who", ["researcher", "patient"])
def test_researchers_and_patients_cannot_enrol(world: World, who: str) -> None:
    user = world.researcher if who == "researcher" else world.patient_a.user
    assert client_for(user).get(reverse("clinical:enrol")).status_code == 404


def _api_enrolment(world: World, **changes: Any) -> dict[str, Any]:
    data = _enrolment(world, **changes)
    data["clinic"] = changes.get("clinic", world.clinic_a.code)
    data["chemotherapy"] = True
    data["radiotherapy"] = False
    return data


def test_the_api_enrols_with_the_same_rules(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    api = APIClient()
    api.force_authenticate(world.nurse_a)
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/v1/patients/", _api_enrolment(world), format="json")
    assert created.status_code == 201, created.content
    assert created.json()["phone"] == "+447911123456"
    assert len(mail.outbox) == 1
    again = api.post(
        "/api/v1/patients/", _api_enrolment(world, email="other@example.org"), format="json"
    )
    assert again.status_code == 400
    assert "already used" in again.json()["record_number"][0]
    elsewhere = api.post(
        "/api/v1/patients/",
        _api_enrolment(world, clinic=world.clinic_b.code, record_number="Z-1"),
        format="json",
    )
    assert elsewhere.status_code == 400
    assert "clinic" in elsewhere.json()


def test_a_patient_cannot_enrol_through_the_api(world: World) -> None:
    api = APIClient()
    api.force_authenticate(world.patient_a.user)
    assert api.post("/api/v1/patients/", _api_enrolment(world), format="json").status_code == 404
    assert APIClient().post("/api/v1/patients/", {}, format="json").status_code in (401, 403)


def test_staff_resend_the_invitation_until_it_is_used(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(world.nurse_a)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("clinical:enrol"), _enrolment(world, preferred_language="en"))
    patient = Patient.objects.get(record_number="RBC-0042")
    url = reverse("clinical:invitation_resend", args=[patient.pk])
    client.post(url)
    assert len(mail.outbox) == 2
    # she uses the second link
    link = re.search(r"https?://[^/]+(/accounts/invitation/\S+/)", str(mail.outbox[1].body))
    assert link is not None
    anonymous = client_for(None)
    form_page = anonymous.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    done = anonymous.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-long-pass-phrase", "new_password2": "a-long-pass-phrase"},
    )
    assert done.status_code == 302
    # then her page says so, and a resend is refused
    page = client.get(reverse("clinical:patient", args=[patient.pk])).content.decode()
    assert "invitation used" in page
    followed = client.post(url, follow=True).content.decode()
    assert "already used" in followed
    assert len(mail.outbox) == 2
