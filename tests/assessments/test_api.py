"""The submission API: 201 with scores, 400 per field with nothing saved, idempotency, reach."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework import serializers

from assessments.apis import ResponseSerializer
from assessments.models import EntryMode, Response
from assessments.services import Answers, response_correct
from tests.assessments.conftest import valid_payload
from tests.conftest import World, client_for
from tests.factories import ResponseFactory

URL = "/api/v1/assessments/"
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"}


def post(client: Client, payload: dict[str, Any], **headers: str) -> Any:
    return client.post(URL, payload, content_type="application/json", headers=headers)


def test_a_patient_submits_and_gets_the_stored_response_with_scores(world: World) -> None:
    # given patient A logged in
    client = client_for(world.patient_a.user)
    # when she submits a complete questionnaire
    response = post(client, valid_payload())
    # then it is stored and answered with its scores
    assert response.status_code == 201, response.content
    body = response.json()
    stored = Response.objects.get()
    assert body["id"] == stored.pk
    assert body["submitted_at"]
    assert body["pain_severity_score"] == 5.5  # (8 + 3 + 6 + 5) / 4
    assert body["interference_score"] == 6.86  # 48 / 7
    assert body["pain_band"] == "moderate"
    assert body["interference_high"] is False
    assert body["interference"]["sleep"] == 8
    assert body["pain_locations"] == ["hands_wrists_left", "hands_wrists_right", "knees_left"]
    assert body["recall_period"] == "24h"
    assert body["instrument_version"]
    assert stored.patient == world.patient_a
    assert stored.entry_mode == EntryMode.SELF
    assert stored.entered_by == world.patient_a.user


def test_a_submission_costs_five_statements(world: World) -> None:
    # given patient A logged in, with a submission behind her (the instrument is kept)
    client = client_for(world.patient_a.user)
    assert post(client, valid_payload()).status_code == 201
    # when she submits again
    with CaptureQueriesContext(connection) as captured:
        assert post(client, valid_payload()).status_code == 201
    # then the database is asked for her session, her login with her record, the insert, her
    # score summary's upsert and the removal of her draft: no lookup of her record or of the
    # instrument of its own
    verbs = [q["sql"].split(";")[-1].split()[0] for q in captured.captured_queries]
    statements = [v for v in verbs if v not in TRANSACTION_CONTROL]
    assert statements == ["SELECT", "SELECT", "INSERT", "INSERT", "DELETE"], verbs


def test_too_few_interference_answers_give_no_interference_score(world: World) -> None:
    payload = valid_payload(
        interference={"general_activity": 9, "mood": 9, "walking_ability": 9, "sleep": None}
    )
    body = post(client_for(world.patient_a.user), payload).json()
    assert body["interference_score"] is None
    assert body["interference_high"] is False


def test_high_interference_at_seven(world: World) -> None:
    payload = valid_payload(interference=dict.fromkeys(valid_payload()["interference"], 7))
    body = post(client_for(world.patient_a.user), payload).json()
    assert body["interference_score"] == 7.0
    assert body["interference_high"] is True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"worst_pain": 11}, "worst_pain"),
        ({"least_pain": -1}, "least_pain"),
        ({"average_pain": "5"}, "average_pain"),
        ({"pain_now": 4.5}, "pain_now"),
        ({"has_pain_today": "yes"}, "has_pain_today"),
        ({"relief_percent": 35}, "relief_percent"),
        ({"relief_percent": 110}, "relief_percent"),
        ({"recall_period": "30d"}, "recall_period"),
        ({"pain_locations": ["tail"]}, "pain_locations"),
        ({"worst_location": "knees_right"}, "worst_location"),
        ({"pain_locations": [], "worst_location": ""}, "pain_locations"),
        ({"interference": {"mood": 12}}, "interference"),
        ({"treatments": "x" * 1001}, "treatments"),
    ],
)
def test_an_invalid_answer_is_a_400_naming_the_field_and_nothing_is_saved(
    world: World, change: dict[str, Any], field: str
) -> None:
    response = post(client_for(world.patient_a.user), valid_payload(**change))
    assert response.status_code == 400
    assert field in response.json()
    assert Response.objects.count() == 0


def test_every_missing_required_answer_gets_its_own_message(world: World) -> None:
    payload = valid_payload()
    for name in ("has_pain_today", "worst_pain", "least_pain", "average_pain", "pain_now"):
        del payload[name]
    response = post(client_for(world.patient_a.user), payload)
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"has_pain_today", "worst_pain", "least_pain", "average_pain", "pain_now"}
    assert all(len(messages) == 1 for messages in errors.values())
    assert Response.objects.count() == 0


def test_a_retried_post_with_the_same_idempotency_key_returns_the_first_response(
    world: World,
) -> None:
    client = client_for(world.patient_a.user)
    key = str(uuid.uuid4())
    first = post(client, valid_payload(), **{"Idempotency-Key": key})
    again = post(client, valid_payload(worst_pain=2), **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Response.objects.count() == 1
    # and any string works as a key, while a new key is a new response
    post(client, valid_payload(), **{"Idempotency-Key": "retry-abc"})
    post(client, valid_payload(), **{"Idempotency-Key": "retry-abc"})
    assert Response.objects.count() == 2


def test_the_same_key_of_another_patient_is_another_response(world: World) -> None:
    key = str(uuid.uuid4())
    post(client_for(world.patient_a.user), valid_payload(), **{"Idempotency-Key": key})
    post(client_for(world.patient_b.user), valid_payload(), **{"Idempotency-Key": key})
    assert Response.objects.count() == 2


def test_staff_and_anonymous_cannot_submit(world: World) -> None:
    assert post(client_for(world.nurse_a), valid_payload()).status_code == 403
    assert post(Client(), valid_payload()).status_code in (401, 403)
    assert Response.objects.count() == 0


def test_lists_are_scoped_and_staff_can_filter_by_patient(world: World) -> None:
    mine = ResponseFactory.create(patient=world.patient_a)
    theirs = ResponseFactory.create(patient=world.patient_b)

    def ids(user: Any, query: str = "") -> set[int]:
        body = client_for(user).get(URL + query).json()
        return {row["id"] for row in body["results"]}

    assert ids(world.patient_a.user) == {mine.pk}
    assert ids(world.nurse_a) == {mine.pk}
    assert ids(world.researcher) == set()
    assert ids(world.admin) == {mine.pk, theirs.pk}
    assert ids(world.admin, f"?patient={world.patient_b.pk}") == {theirs.pk}
    # and someone else's response is 404, not 403
    url = reverse("api:assessment-detail", kwargs={"pk": theirs.pk})
    assert client_for(world.patient_a.user).get(url).status_code == 404
    assert client_for(world.patient_b.user).get(url).status_code == 200


def test_the_schema_documents_the_assessment_api(world: World) -> None:
    schema = client_for(world.admin).get(reverse("api:schema")).content.decode()
    assert "/api/v1/assessments/" in schema
    assert "Idempotency-Key" in schema


def test_the_written_out_answer_equals_what_the_declared_fields_give(world: World) -> None:
    # given a response with every score, one with too few item-9 answers, and a correction
    full = ResponseFactory.create(patient=world.patient_a)
    sparse = ResponseFactory.create(
        patient=world.patient_a, interference={"mood": 4, "sleep": None}, relief_percent=None
    )
    correction = response_correct(
        response=full,
        answers=Answers.from_response(full),
        corrected_by=world.nurse_a,
        reason="read back on the telephone",
    )
    for response in (full, sparse, correction):
        serializer = ResponseSerializer(response)
        # when it is written out directly, and field by field as DRF would
        generic = serializers.Serializer.to_representation(serializer, response)
        # then the two agree, key for key and value for value
        assert serializer.data == generic
        assert list(serializer.data) == list(generic)
    assert ResponseSerializer(sparse).data["interference_score"] is None
    assert ResponseSerializer(correction).data["supersedes"] == full.pk
