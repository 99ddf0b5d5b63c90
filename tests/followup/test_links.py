"""The reminder's link: opens that patient's questionnaire without a password, and nothing
else; works until she has answered or it expires; never opens another patient's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assessments.models import Response
from patients.models import Patient
from tests.assessments.test_pages import form_data
from tests.conftest import World, reminder_link


def _link_for(patient: Patient) -> str:
    """Send her due reminder and return the link's path from the e-mail."""
    today = timezone.localdate()
    Patient.objects.filter(pk=patient.pk).update(
        aimss_diagnosis_date=today - dt.timedelta(days=1),
        quiet_hours_start=dt.time(0, 0),
        quiet_hours_end=dt.time(0, 0),
    )
    patient.refresh_from_db()
    return reminder_link(patient)


def test_the_link_opens_her_questionnaire_without_a_password(world: World) -> None:
    client = Client()
    response = client.get(_link_for(world.patient_a), follow=True)
    assert response.redirect_chain[-1][0] == reverse("assessments:new")
    assert response.status_code == 200
    assert client.session["_auth_user_id"] == str(world.patient_a.user_id)


def test_the_link_opens_nothing_else(world: World) -> None:
    client = Client()
    client.get(_link_for(world.patient_a))
    response = client.get(reverse("clinical:patient_home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session


def test_after_she_answers_the_link_cannot_be_used_again(world: World) -> None:
    link = _link_for(world.patient_a)
    client = Client()
    client.get(link)
    submitted = client.post(reverse("assessments:new"), form_data())
    assert submitted.status_code == 302
    assert Response.objects.filter(patient=world.patient_a).count() == 1
    # she sees her result
    assert client.get(submitted["Location"]).status_code == 200
    # and the link is spent, for her or anyone holding the e-mail
    again = Client().get(link)
    assert again.status_code == 410
    assert "already used" in again.content.decode()
    assert "_auth_user_id" not in Client().session


def test_a_link_never_opens_another_patients_questionnaire(world: World) -> None:
    link = _link_for(world.patient_a)
    client = Client()
    client.force_login(world.patient_b.user)  # type: ignore[arg-type]
    client.get(link)
    # the link signs in its own patient, never the one already signed in
    assert client.session["_auth_user_id"] == str(world.patient_a.user_id)
    client.post(reverse("assessments:new"), form_data())
    assert Response.objects.filter(patient=world.patient_b).count() == 0
    assert Response.objects.filter(patient=world.patient_a).count() == 1


@pytest.mark.parametrize("days", [15, 30])
def test_an_expired_link_explains_itself(world: World, days: int) -> None:
    link = _link_for(world.patient_a)
    from followup.models import QuestionnaireLink

    QuestionnaireLink.objects.update(expires_at=timezone.now() - dt.timedelta(days=days - 14))
    response = Client().get(link)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
