"""The audit trail: every change to clinical data, bulk updates included, is
recorded with actor, time and old and new values in append-only tables; every staff view of a
patient's data is an access record an admin can export."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pghistory
import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Model
from django.urls import reverse

from patients.models import AccessRecord, Patient
from patients.services import patient_update
from tests.conftest import World, client_for
from tests.factories import InterventionFactory


def _events(model: type[Model], obj_id: int) -> list[dict[str, Any]]:
    events = pghistory.models.Events.objects.filter(
        pgh_obj_model=model._meta.label, pgh_obj_id=str(obj_id)
    ).order_by("pgh_created_at")
    return [dict(e) for e in events.values("pgh_label", "pgh_data", "pgh_context")]


def test_a_change_is_recorded_with_old_and_new_values(world: World) -> None:
    patient = world.patient_a
    with pghistory.context(user=world.clinician_a.pk):
        patient_update(patient=patient, weight_kg=Decimal("64.5"))
    events = _events(Patient, patient.pk)
    assert [e["pgh_label"] for e in events] == ["insert", "update"]
    assert Decimal(str(events[0]["pgh_data"]["weight_kg"])) == Decimal("62.0")
    assert Decimal(str(events[1]["pgh_data"]["weight_kg"])) == Decimal("64.5")
    assert events[1]["pgh_context"]["user"] == world.clinician_a.pk


def test_bulk_updates_and_deletes_are_recorded_too(world: World) -> None:
    intervention = InterventionFactory.create(patient=world.patient_a)
    type(intervention).objects.filter(pk=intervention.pk).update(note="bulk change")
    type(intervention).objects.filter(pk=intervention.pk).delete()
    labels = [e["pgh_label"] for e in _events(type(intervention), intervention.pk)]
    assert labels == ["insert", "update", "delete"]


def test_a_change_made_through_a_page_carries_the_actor(world: World) -> None:
    client = client_for(world.clinician_a)
    response = client.post(
        reverse("adherence:therapy", args=[world.patient_a.pk]),
        {
            "form": "intervention",
            "intervention-measure": "vitamin_d",
            "intervention-category": "",
            "intervention-start_date": "2024-03-05",
            "intervention-end_date": "",
            "intervention-note": "",
        },
    )
    assert response.status_code in (200, 302)
    from adherence.models import Intervention

    intervention = Intervention.objects.get(patient=world.patient_a)
    [event] = _events(Intervention, intervention.pk)
    assert event["pgh_context"]["user"] == world.clinician_a.pk
    assert "/therapy/" in event["pgh_context"]["url"]


@pytest.mark.parametrize("statement", ["UPDATE {table} SET pgh_label = 'x'", "DELETE FROM {table}"])
def test_the_event_tables_refuse_rewrites(world: World, statement: str) -> None:
    patient_update(patient=world.patient_a, weight_kg=Decimal("63"))
    table = Patient.pgh_event_model._meta.db_table  # type: ignore[attr-defined]
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(table=table))


def test_access_records_refuse_rewrites(world: World) -> None:
    client_for(world.nurse_a).get(reverse("clinical:patient", args=[world.patient_a.pk]))
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessRecord.objects.all().delete()


def test_an_admin_exports_one_patients_access_history(world: World) -> None:
    client_for(world.nurse_a).get(reverse("clinical:patient", args=[world.patient_a.pk]))
    client_for(world.clinician_b).get(reverse("clinical:patient", args=[world.patient_b.pk]))
    admin = client_for(world.admin)
    page = admin.get(reverse("admin:patients_patient_change", args=[world.patient_a.pk]))
    assert "access-history.csv" in page.content.decode()
    export = admin.get(reverse("admin:patients_patient_access_history", args=[world.patient_a.pk]))
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert [r["username"] for r in rows] == [world.nurse_a.username, world.admin.username]
    assert rows[0]["record"] == f"patients.patient {world.patient_a.pk}"
    # others may not export it
    nurse = client_for(world.nurse_a).get(
        reverse("admin:patients_patient_access_history", args=[world.patient_a.pk])
    )
    assert nurse.status_code == 302
