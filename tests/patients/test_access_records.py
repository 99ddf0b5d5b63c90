"""Every read of patient-level data writes an access record, lists and exports included: one
record per patient shown, written in one INSERT (docs/security.md #24).

The API walk is structural: every list route of the API and every CSV export must be listed
here, so a new list without its access records fails ``test_every_list_route_is_covered``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse

from patients.models import AccessRecord
from tests.conftest import World, client_for
from tests.factories import (
    AiCourseFactory,
    CheckInFactory,
    InterventionFactory,
    PatientFactory,
    RegimenChangeFactory,
    ResponseFactory,
    TreatmentEventFactory,
)


def _flag(world: World, patient: Any) -> Any:
    from followup.services import flag_raise

    return flag_raise(
        patient_id=patient.pk, kind="worsening", source="response", source_id=patient.pk
    )


# What gives a patient a row in each list.
ROW_OF: dict[str, Callable[[World, Any], Any]] = {
    "api:patient-list": lambda w, p: None,
    "api:flag-list": _flag,
    "api:assessment-list": lambda w, p: ResponseFactory.create(patient=p),
    "api:ai-course-list": lambda w, p: AiCourseFactory.create(patient=p),
    "api:regimen-change-list": lambda w, p: RegimenChangeFactory.create(
        course=AiCourseFactory.create(patient=p)
    ),
    "api:treatment-event-list": lambda w, p: TreatmentEventFactory.create(patient=p),
    "api:intervention-list": lambda w, p: InterventionFactory.create(patient=p),
    "api:check-in-list": lambda w, p: CheckInFactory.create(patient=p),
    "api:export-responses": lambda w, p: ResponseFactory.create(patient=p),
    "api:export-events": lambda w, p: TreatmentEventFactory.create(patient=p),
    "api:export-interventions": lambda w, p: InterventionFactory.create(patient=p),
    "api:export-flags": _flag,
    "clinical:patients": lambda w, p: None,
    "followup:queue": _flag,
    "admin:patients_patient_changelist": lambda w, p: None,
}


def _list_names() -> set[str]:
    """The API's list routes and CSV exports, from the URL resolver."""
    names: set[str] = set()
    for key in get_resolver().reverse_dict:
        if isinstance(key, str) and (key.endswith("-list") or key.startswith("export-")):
            names.add(f"api:{key}")
    api = get_resolver().namespace_dict["api"][1]
    for key in api.reverse_dict:
        if isinstance(key, str) and (key.endswith("-list") or key.startswith("export-")):
            names.add(f"api:{key}")
    return names


def test_every_list_route_is_covered() -> None:
    assert _list_names() <= set(ROW_OF), _list_names() - set(ROW_OF)
    assert len(_list_names()) >= 12


@pytest.mark.parametrize("route", sorted(ROW_OF))
def test_a_list_records_each_patient_it_shows_in_one_insert(world: World, route: str) -> None:
    # given three patients of clinic B with a row each in the list, and patient A of clinic A
    her = [world.patient_b, *PatientFactory.create_batch(2, clinic=world.clinic_b)]
    for patient in [*her, world.patient_a]:
        ROW_OF[route](world, patient)
    viewer = world.admin if route.startswith("admin:") else world.clinician_b
    # when a member of clinic B's staff opens the list
    before = set(AccessRecord.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        response = client_for(viewer).get(reverse(route))
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    # then each of her clinic's patients shown has one new access record, written at once
    assert response.status_code == 200
    new = AccessRecord.objects.exclude(pk__in=before).filter(user=viewer)
    shown = (
        {world.patient_a.pk, *(p.pk for p in her)} if viewer == world.admin else {p.pk for p in her}
    )
    assert sorted(new.values_list("patient_id", flat=True)) == sorted(shown)
    inserts = [
        q for q in queries.captured_queries if 'INSERT INTO "patients_accessrecord"' in q["sql"]
    ]
    assert len(inserts) == 1


def test_a_filtered_list_records_only_the_patients_it_shows(world: World) -> None:
    # given clinic B's patients, one with an open flag
    other = PatientFactory.create(clinic=world.clinic_b)
    _flag(world, world.patient_b)
    # when the list is filtered to open flags
    response = client_for(world.clinician_b).get(reverse("clinical:patients"), {"flags": "1"})
    # then only the patient shown is recorded
    assert response.status_code == 200
    recorded = AccessRecord.objects.filter(user=world.clinician_b).values_list(
        "patient_id", flat=True
    )
    assert list(recorded) == [world.patient_b.pk]
    assert other.pk not in recorded


def test_a_patient_reading_her_own_list_is_no_staff_access(world: World) -> None:
    client_for(world.patient_b.user).get(reverse("api:assessment-list"))
    assert not AccessRecord.objects.exists()
