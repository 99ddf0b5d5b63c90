"""The therapy API: the survival record's contract, validation as 400s, fields users may not
set, and check-ins stored once for the patient who sends them."""

from __future__ import annotations

import datetime as dt
import uuid

from django.urls import reverse

from adherence.models import AdherenceCheckIn, EventKind, StopReason, TreatmentEvent
from tests.conftest import World, client_for
from tests.factories import (
    AiCourseFactory,
    CheckInFactory,
    InterventionFactory,
    TreatmentEventFactory,
)

DIAGNOSIS = dt.date(2024, 3, 1)  # the factories' default AIMSS diagnosis


def test_survival_gives_the_derived_record_with_the_contracted_fields(world: World) -> None:
    # given patient A, combined at diagnosis, with a recurrence confirmed on day 200
    patient = world.patient_a
    AiCourseFactory.create(patient=patient)
    InterventionFactory.create(patient=patient, start_date=DIAGNOSIS)
    InterventionFactory.create(
        patient=patient, category="analgesic", measure="celecoxib", start_date=DIAGNOSIS
    )
    TreatmentEventFactory.create(
        patient=patient, kind=EventKind.RECURRENCE, start_date=DIAGNOSIS + dt.timedelta(200)
    )
    # when her nurse asks for her survival record
    url = reverse("api:patient-survival", kwargs={"pk": patient.pk})
    payload = client_for(world.nurse_a).get(url).json()
    # then it carries the fields
    assert payload == {
        "patient": patient.pk,
        "strategy": "combined",
        "categories": ["analgesic", "physical_therapy"],
        "time_days": 200,
        "event": True,
        "event_type": "recurrence",
        "censored_at": None,
        "origin": "2024-03-01",
    }


def test_survival_is_for_staff_only(world: World) -> None:
    url = reverse("api:patient-survival", kwargs={"pk": world.patient_a.pk})
    assert client_for(world.patient_a.user).get(url).status_code == 404
    assert client_for(world.researcher).get(url).status_code == 404


def test_an_overlapping_interruption_is_a_400_naming_the_other(world: World) -> None:
    patient = world.patient_a
    AiCourseFactory.create(patient=patient)
    TreatmentEventFactory.create(
        patient=patient,
        kind=EventKind.INTERRUPTION,
        reason=StopReason.AIMSS,
        start_date=dt.date(2024, 5, 1),
        end_date=dt.date(2024, 5, 20),
    )
    response = client_for(world.clinician_a).post(
        reverse("api:treatment-event-list"),
        {
            "patient": patient.pk,
            "kind": "interruption",
            "reason": "other",
            "start_date": "2024-05-10",
            "end_date": "2024-06-10",
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "2024-05-01 to 2024-05-20" in response.json()["start_date"][0]
    assert TreatmentEvent.objects.count() == 1


def test_a_write_ignores_fields_the_user_may_not_set(world: World) -> None:
    # given a clinician recording a recurrence with a forged author and timestamp
    response = client_for(world.clinician_a).post(
        reverse("api:treatment-event-list"),
        {
            "patient": world.patient_a.pk,
            "kind": "recurrence",
            "start_date": "2024-09-01",
            "recorded_by": world.admin.pk,
            "created_at": "2000-01-01T00:00:00Z",
        },
        content_type="application/json",
    )
    # then she is the author and the time is now
    assert response.status_code == 201, response.json()
    event = TreatmentEvent.objects.get()
    assert event.recorded_by == world.clinician_a
    assert event.created_at.year > 2000


def test_staff_cannot_record_for_another_clinics_patient(world: World) -> None:
    response = client_for(world.clinician_a).post(
        reverse("api:intervention-list"),
        {"patient": world.patient_b.pk, "measure": "exercise", "start_date": "2024-03-02"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "does not exist" in response.json()["patient"][0]


def test_lists_are_scoped_and_filtered_by_patient(world: World) -> None:
    InterventionFactory.create(patient=world.patient_a)
    InterventionFactory.create(patient=world.patient_b)
    url = reverse("api:intervention-list")
    rows = client_for(world.nurse_a).get(url).json()["results"]
    assert [r["patient"] for r in rows] == [world.patient_a.pk]
    rows = client_for(world.admin).get(url, {"patient": world.patient_b.pk}).json()["results"]
    assert [r["patient"] for r in rows] == [world.patient_b.pk]
    assert client_for(world.patient_a.user).get(url).status_code == 404


def test_a_patient_checks_in_for_herself_only_and_once(world: World) -> None:
    # given patient A naming patient B in the body, twice with one token
    client = client_for(world.patient_a.user)
    body = {
        "patient": world.patient_b.pk,
        "days_taken_last_7": 4,
        "missed_reason": "forgot",
        "stopped": False,
        "wants_to_stop": False,
        "side_effects": "stiff fingers",
        "submission_token": str(uuid.uuid4()),
    }
    url = reverse("api:check-in-list")
    first = client.post(url, body, content_type="application/json")
    again = client.post(url, body, content_type="application/json")
    # then one check-in is stored, hers, and it is a lapse (4 of 7 days)
    assert (first.status_code, again.status_code) == (201, 200)
    check_in = AdherenceCheckIn.objects.get()
    assert check_in.patient == world.patient_a
    assert check_in.lapse is True
    assert first.json()["lapse"] is True


def test_staff_read_check_ins_of_their_clinics_only(world: World) -> None:
    CheckInFactory.create(patient=world.patient_a)
    CheckInFactory.create(patient=world.patient_b)
    rows = client_for(world.nurse_b).get(reverse("api:check-in-list")).json()["results"]
    assert [r["patient"] for r in rows] == [world.patient_b.pk]
    assert client_for(world.researcher).get(reverse("api:check-in-list")).status_code == 404


def test_the_openapi_schema_describes_the_survival_endpoint(world: World) -> None:
    response = client_for(world.admin).get(reverse("api:schema"), {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/patients/{id}/survival/" in schema["paths"]
    assert "/api/v1/check-ins/" in schema["paths"]
