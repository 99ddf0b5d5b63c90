"""CSV exports: streamed, scoped to the caller's clinics, de-identified for researchers."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.db import connection
from django.db.models.sql import compiler
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assessments.models import Response
from interop import exports
from tests.conftest import World, client_for
from tests.factories import InterventionFactory, ResponseFactory, TreatmentEventFactory

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


@pytest.mark.parametrize("route", EXPORT_ROUTES)
def test_researchers_get_both_clinics_de_identified(records: World, route: str) -> None:
    # when a researcher granted both clinics exports
    response: Any = client_for(records.researcher).get(reverse(route))
    body = b"".join(response.streaming_content).decode()
    # then there are no names, record numbers, birth dates, free text or exact dates
    for patient in (records.patient_a, records.patient_b):
        for secret in (patient.family_name, patient.given_name, patient.record_number,
                       patient.email, patient.birth_date.isoformat()):  # fmt: skip
            assert secret not in body
    rows = list(csv.DictReader(io.StringIO(body)))
    assert "record_number" not in rows[0] if rows else True
    if route == "api:export-responses":
        assert {row["clinic"] for row in rows} == {"a", "b"}
        assert {row["pseudonym"] for row in rows} == {
            exports.pseudonym(records.patient_a.pk),
            exports.pseudonym(records.patient_b.pk),
        }
        # age at AIMSS diagnosis (1961-05-14 -> 2024-03-01) instead of the birth date
        assert {row["age_at_diagnosis"] for row in rows} == {"62"}
        assert all(len(row["submitted_at"]) == len("2026-11") for row in rows)
        assert "treatments" not in rows[0]


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
