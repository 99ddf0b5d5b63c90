"""CSV exports: streamed, scoped to the caller's clinics; for researchers, HIPAA Safe Harbor
and no clinic under 11 patients (docs/security.md #21)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from django.db import connection
from django.db.models.sql import compiler
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assessments.models import Response
from interop import exports
from patients.disclosure import age_label
from patients.models import Patient, age_on
from tests.conftest import World, client_for
from tests.factories import (
    InterventionFactory,
    PatientFactory,
    ResponseFactory,
    TreatmentEventFactory,
)

EXPORT_ROUTES = ["api:export-responses", "api:export-events", "api:export-interventions",
                 "api:export-flags"]  # fmt: skip


def _rows(response: Any) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def records(world: World) -> World:
    for patient in (world.patient_a, world.patient_b):
        ResponseFactory.create(patient=patient, treatments=f"note of {patient.family_name}")
        TreatmentEventFactory.create(patient=patient)
        InterventionFactory.create(patient=patient)
    return world


@pytest.mark.parametrize("route", EXPORT_ROUTES)
def test_staff_get_only_their_clinics_rows_identified(records: World, route: str) -> None:
    # when a nurse of clinic A exports
    response = client_for(records.nurse_a).get(reverse(route))
    # then it streams CSV of clinic A only, identified by record number
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    rows = _rows(response)
    assert {row["clinic"] for row in rows} <= {"a"}
    assert records.patient_b.record_number not in {row["record_number"] for row in rows}
    if route != "api:export-flags":
        assert {row["record_number"] for row in rows} == {records.patient_a.record_number}


def _eleven_in_clinic_a(world: World) -> list[Patient]:
    """Clinic A grown to 11 patients of ages 60-70 at diagnosis, one of them 95, each with a
    response, an interruption and an intervention."""
    patients = [world.patient_a]
    for i in range(10):
        years = 95 if i == 0 else 60 + i
        birth = dt.date(2024 - years, 2, 1)  # diagnosed 2024-03-01: ``years`` old then
        patients.append(PatientFactory.create(clinic=world.clinic_a, birth_date=birth))
    for patient in patients:
        ResponseFactory.create(patient=patient, treatments=f"note of {patient.family_name}")
        TreatmentEventFactory.create(patient=patient)
        InterventionFactory.create(patient=patient)
    return patients


@pytest.mark.parametrize("route", EXPORT_ROUTES)
def test_promise_21_researcher_exports_meet_hipaa_safe_harbor(world: World, route: str) -> None:
    # given clinic A with 11 patients and clinic B with 1, both granted to the researcher
    patients = _eleven_in_clinic_a(world)
    ResponseFactory.create(patient=world.patient_b)
    # when she exports
    response: Any = client_for(world.researcher).get(reverse(route))
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    # then no name, record number, contact, birth date, free text or clinic code is in it
    for patient in [*patients, world.patient_b]:
        for secret in (patient.family_name, patient.record_number, patient.email,
                       patient.birth_date.isoformat()):  # fmt: skip
            assert secret not in body
    assert "note of" not in body
    header = body.splitlines()[0].split(",")
    assert header[:4] == ["site", "pseudonym", "diagnosis_year", "age_at_diagnosis"]
    assert not {"id", "supersedes_id", "record_number", "clinic", "treatments", "note"} & set(
        header
    )
    # no calendar date finer than the year: times are days from the AIMSS diagnosis
    assert not re.search(r"\d{4}-\d{2}", body)
    day_columns = [c for c in header if c.endswith("_day")]
    assert day_columns
    for row in rows:
        assert row["diagnosis_year"] == "2024"
        for column in day_columns:
            assert row[column] == "" or re.fullmatch(r"-?\d+", row[column])
    # clinic B (one patient) is left out; ages are whole years, 90+ over 89
    assert len({row["site"] for row in rows}) <= 1
    if route != "api:export-flags":
        assert len({row["pseudonym"] for row in rows}) == 11
        assert {row["age_at_diagnosis"] for row in rows} == {"62", "90+"} | {
            str(60 + i) for i in range(1, 10)
        }
    if route == "api:export-events":
        # the default interruption starts on 2024-09-01: 184 days after 2024-03-01
        assert {row["start_date_day"] for row in rows} == {"184"}


def test_promise_21_researcher_pseudonyms_are_random_per_export_and_rows_shuffled(
    world: World,
) -> None:
    patients = _eleven_in_clinic_a(world)
    client = client_for(world.researcher)
    exports_seen = [_rows(client.get(reverse("api:export-responses"))) for _ in range(2)]
    first, second = ({row["pseudonym"] for row in rows} for rows in exports_seen)
    # then each export has its own pseudonyms, unrelated to any id or earlier export
    assert len(first) == len(second) == 11
    assert first.isdisjoint(second)
    ids = {str(p.pk) for p in patients} | {str(p.user_id) for p in patients}
    for pseudonym in first | second:
        assert re.fullmatch(r"[0-9a-f]{16}", pseudonym)
        # (not the id written out, padded or in hex: a random hex string may of course hold
        # an id's digits by chance, one time in 16 for a one-digit id)
        assert pseudonym not in {i.zfill(16) for i in ids} | {f"{int(i):016x}" for i in ids}
    # and the rows come in a random order: not the patients' order, nor twice the same
    ages = [[row["age_at_diagnosis"] for row in rows] for rows in exports_seen]
    by_patient = [age_label(age_on(p.birth_date, dt.date(2024, 3, 1))) for p in patients]
    orders = {tuple(ages[0]), tuple(ages[1]), tuple(by_patient)}
    assert len(orders) >= 2
    assert sorted(ages[0]) == sorted(ages[1]) == sorted(by_patient)


def test_promise_21_a_researcher_whose_clinics_are_all_under_11_patients_is_refused(
    records: World,
) -> None:
    # given clinics A and B of one patient each
    for route in EXPORT_ROUTES:
        response = client_for(records.researcher).get(reverse(route))
        # then the export is refused with its reason, and nothing of theirs is sent
        assert response.status_code == 403
        assert "fewer than 11 patients" in response.content.decode()


@pytest.mark.parametrize("route", EXPORT_ROUTES)
def test_patients_get_404_and_anonymous_users_are_refused(records: World, route: str) -> None:
    assert client_for(records.patient_a.user).get(reverse(route)).status_code == 404
    assert client_for(None).get(reverse(route)).status_code in (401, 403)


def test_formulas_in_free_text_are_neutralised(world: World) -> None:
    ResponseFactory.create(patient=world.patient_a, treatments="=HYPERLINK(1)")
    rows = _rows(client_for(world.nurse_a).get(reverse("api:export-responses")))
    assert rows[0]["treatments"] == "'=HYPERLINK(1)"


def test_a_large_export_streams_in_chunks_with_every_row(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given 2,500 responses of patient A and a small cursor chunk
    template = ResponseFactory.create(patient=world.patient_a)
    Response.objects.bulk_create(
        [
            Response(
                **{
                    f.attname: getattr(template, f.attname)
                    for f in Response._meta.concrete_fields
                    if f.attname not in ("id", "submission_key")
                }
            )
            for _ in range(2499)
        ]
    )
    monkeypatch.setattr(exports, "CHUNK_SIZE", 500)
    response = client_for(world.nurse_a).get(reverse("api:export-responses"))
    assert isinstance(response, StreamingHttpResponse)
    chunks: list[int] = []
    real_cursor_iter = compiler.cursor_iter

    def counting_cursor_iter(*args: Any, **kwargs: Any) -> Any:
        for chunk in real_cursor_iter(*args, **kwargs):
            chunks.append(len(chunk))
            yield chunk

    monkeypatch.setattr(compiler, "cursor_iter", counting_cursor_iter)
    # when the body is read
    with CaptureQueriesContext(connection) as queries:
        lines = sum(1 for _line in response.streaming_content)
    # then every row is there, fetched in chunks by one query (never a list of all rows)
    assert lines == 1 + 2500
    reads = [q for q in queries.captured_queries if "assessments_response" in q["sql"]]
    assert len(reads) == 1
    assert chunks[-5:] == [500] * 5  # (before them: her clinics, one row)
    assert len(queries.captured_queries) <= 2
