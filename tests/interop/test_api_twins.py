"""The web pages' actions that the API now offers too: telephone entry, correction, and
ending an interruption; each through the same service and checks as its page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.urls import reverse

from adherence.models import EventKind, StopReason
from assessments.models import EntryMode, Response
from tests.conftest import World, client_for
from tests.factories import ResponseFactory, TreatmentEventFactory

ANSWERS: dict[str, Any] = {
    "has_pain_today": True,
    "pain_locations": ["knees_left"],
    "worst_location": "knees_left",
    "worst_pain": 8,
    "least_pain": 4,
    "average_pain": 6,
    "pain_now": 6,
    "interference": {"general_activity": 7, "mood": 7, "walking_ability": 8, "sleep": 6},
}


def test_a_nurse_enters_a_telephone_questionnaire_for_her_clinics_patient(world: World) -> None:
    url = reverse("api:patient-telephone-assessment", kwargs={"pk": world.patient_a.pk})
    answer = client_for(world.nurse_a).post(url, ANSWERS, content_type="application/json")
    assert answer.status_code == 201, answer.content
    stored = Response.objects.get(pk=answer.json()["id"])
    assert stored.entry_mode == EntryMode.TELEPHONE
    assert stored.entered_by == world.nurse_a
    assert stored.interference_score == Decimal("7.00")
    # a patient cannot use the staff route, even for herself
    refused = client_for(world.patient_a.user).post(url, ANSWERS, content_type="application/json")
    assert refused.status_code == 404


def test_a_correction_is_a_new_version_with_a_reason(world: World) -> None:
    original = ResponseFactory.create(patient=world.patient_a)
    url = reverse("api:assessment-correct", kwargs={"pk": original.pk})
    client = client_for(world.clinician_a)
    # without a reason: 400, nothing stored
    assert client.post(url, ANSWERS, content_type="application/json").status_code == 400
    answer = client.post(
        url, {**ANSWERS, "correction_reason": "misheard"}, content_type="application/json"
    )
    assert answer.status_code == 201
    assert answer.json()["supersedes"] == original.pk
    # the old version is no longer current, so it cannot be corrected twice
    again = client.post(url, {**ANSWERS, "correction_reason": "x"}, content_type="application/json")
    assert again.status_code == 404
    # patients cannot correct
    mine = ResponseFactory.create(patient=world.patient_a)
    url = reverse("api:assessment-correct", kwargs={"pk": mine.pk})
    payload = {**ANSWERS, "correction_reason": "x"}
    patient = client_for(world.patient_a.user)
    assert patient.post(url, payload, content_type="application/json").status_code == 404


def test_an_open_interruption_is_ended_with_the_pages_rules(world: World) -> None:
    event = TreatmentEventFactory.create(
        patient=world.patient_a,
        kind=EventKind.INTERRUPTION,
        start_date=dt.date(2024, 5, 1),
        end_date=None,
        reason=StopReason.AIMSS,
    )
    url = reverse("api:treatment-event-end", kwargs={"pk": event.pk})
    client = client_for(world.nurse_a)
    before = client.post(url, {"end_date": "2024-04-01"}, content_type="application/json")
    assert before.status_code == 400
    answer = client.post(url, {"end_date": "2024-05-20"}, content_type="application/json")
    assert answer.status_code == 200
    assert answer.json()["end_date"] == "2024-05-20"
    again = client.post(url, {"end_date": "2024-05-21"}, content_type="application/json")
    assert again.status_code == 400
