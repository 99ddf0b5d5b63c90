"""The staff therapy page and the patient's check-in page: no JavaScript needed, clear
errors, nothing saved on error, a double submit stores one check-in."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from adherence.models import AdherenceCheckIn, Intervention, TreatmentEvent
from tests.conftest import World, client_for
from tests.factories import AiCourseFactory, InterventionFactory, TreatmentEventFactory


def test_the_therapy_page_shows_the_derived_strategy(world: World) -> None:
    AiCourseFactory.create(patient=world.patient_a)
    InterventionFactory.create(patient=world.patient_a, start_date=dt.date(2024, 3, 2))
    response = client_for(world.nurse_a).get(
        reverse("adherence:therapy", kwargs={"pk": world.patient_a.pk})
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Monotherapy" in body
    assert "Exercise programme" in body


def test_recording_an_intervention_from_the_page(world: World) -> None:
    url = reverse("adherence:therapy", kwargs={"pk": world.patient_a.pk})
    response = client_for(world.clinician_a).post(
        url,
        {
            "form": "intervention",
            "intervention-measure": "celecoxib",
            "intervention-start_date": "2024-03-04",
        },
    )
    assert response.status_code == 302
    intervention = Intervention.objects.get()
    assert (intervention.category, intervention.recorded_by) == ("analgesic", world.clinician_a)


def test_an_event_before_the_diagnosis_is_explained_and_not_saved(world: World) -> None:
    url = reverse("adherence:therapy", kwargs={"pk": world.patient_a.pk})
    response = client_for(world.clinician_a).post(
        url, {"form": "event", "event-kind": "recurrence", "event-start_date": "2024-01-15"}
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was saved" in body
    assert "before the AIMSS diagnosis on 2024-03-01" in body
    assert not TreatmentEvent.objects.exists()


def test_an_open_interruption_can_be_ended_from_the_page(world: World) -> None:
    AiCourseFactory.create(patient=world.patient_a)
    event = TreatmentEventFactory.create(
        patient=world.patient_a, kind="interruption", reason="aimss", start_date=dt.date(2024, 4, 1)
    )
    url = reverse("adherence:therapy", kwargs={"pk": world.patient_a.pk})
    response = client_for(world.nurse_a).post(
        url,
        {
            "form": "end_interruption",
            "end_interruption-event": event.pk,
            "end_interruption-end_date": "2024-04-20",
        },
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.end_date == dt.date(2024, 4, 20)


def test_the_check_in_page_asks_each_question_in_a_fieldset(world: World) -> None:
    body = client_for(world.patient_a.user).get(reverse("clinical:check_in")).content.decode()
    assert body.count("<fieldset") == 6
    assert body.count("<legend>") == 6
    assert 'name="submission_token"' in body


def test_a_double_submitted_check_in_is_stored_once(world: World) -> None:
    client = client_for(world.patient_a.user)
    form = {
        "days_taken_last_7": "6",
        "missed_reason": "ran_out",
        "stopped": "no",
        "wants_to_stop": "yes",
        "reason": "My knees hurt",
        "submission_token": "6f1f6c9e-7f64-4d7b-9a4e-1b0c2f0d9e11",
    }
    first = client.post(reverse("clinical:check_in"), form)
    again = client.post(reverse("clinical:check_in"), form)
    assert first.status_code == again.status_code == 302
    check_in = AdherenceCheckIn.objects.get()
    assert (check_in.patient, check_in.lapse, check_in.wants_to_stop) == (
        world.patient_a,
        True,
        True,
    )


def test_a_missing_answer_is_named_and_nothing_is_stored(world: World) -> None:
    response = client_for(world.patient_a.user).post(
        reverse("clinical:check_in"),
        {
            "stopped": "no",
            "wants_to_stop": "no",
            "submission_token": "6f1f6c9e-7f64-4d7b-9a4e-1b0c2f0d9e12",
        },
    )
    assert response.status_code == 400
    assert "Choose the number of days, from 0 to 7." in response.content.decode()
    assert not AdherenceCheckIn.objects.exists()


def test_the_check_in_page_is_for_patients(world: World) -> None:
    assert client_for(world.nurse_a).get(reverse("clinical:check_in")).status_code == 404


def test_the_admin_lists_check_ins_for_administrators_only(world: World) -> None:
    url = reverse("admin:adherence_adherencecheckin_changelist")
    assert client_for(world.admin).get(url).status_code == 200
    assert client_for(world.nurse_a).get(url).status_code == 302
