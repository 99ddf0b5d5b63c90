"""FHIR R4: the Questionnaire, a patient's Bundle, and the import of a QuestionnaireResponse."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire

from assessments.models import EntryMode, Response
from interop import fhir
from tests.conftest import World, client_for
from tests.factories import ResponseFactory

SCORE_FIELDS = ("pain_severity_score", "interference_score", "pain_band", "interference_high")


def _observations(bundle: dict[str, Any]) -> dict[str, Any]:
    return {
        entry["resource"]["code"]["coding"][0]["code"]: entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Observation"
    }


def _questionnaire_response(bundle: dict[str, Any]) -> dict[str, Any]:
    return next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    )


def test_the_instrument_is_a_valid_questionnaire_whose_link_ids_the_responses_use(
    world: World,
) -> None:
    # given a patient's response
    ResponseFactory.create(patient=world.patient_a)
    # when she reads the Questionnaire and her Bundle
    client = client_for(world.patient_a.user)
    questionnaire = client.get(reverse("api:fhir-questionnaire")).json()
    bundle = client.get(reverse("api:patient-fhir", kwargs={"pk": world.patient_a.pk})).json()
    # then both validate as FHIR, and every answered linkId is one of the Questionnaire's
    Questionnaire.model_validate(questionnaire)
    Bundle.model_validate(bundle)

    def links(items: list[dict[str, Any]]) -> set[str]:
        return {i["linkId"] for i in items} | {
            link for i in items for link in links(i.get("item", []))
        }

    answered = links(_questionnaire_response(bundle)["item"])
    assert answered <= links(questionnaire["item"])
    assert {"1", "3", "4", "5", "6", "9A", "9G"} <= answered


def test_a_bundle_carries_the_patient_her_responses_and_scores_with_loinc(world: World) -> None:
    # given a response with interference 6,5,7,6,3,6,5 (mean 5.43) and pain 7,3,5,4 (4.75)
    response = ResponseFactory.create(patient=world.patient_a)
    # when a nurse of her clinic exports her Bundle
    bundle = (
        client_for(world.nurse_a)
        .get(reverse("api:patient-fhir", kwargs={"pk": world.patient_a.pk}))
        .json()
    )
    # then it is a collection with her Patient, the response and its Observations
    assert bundle["type"] == "collection"
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("Patient") == 1
    assert kinds.count("QuestionnaireResponse") == 1
    qr = _questionnaire_response(bundle)
    assert qr["status"] == "completed"
    assert qr["questionnaire"] == f"{fhir.QUESTIONNAIRE_URL}|{response.instrument.version}"
    assert qr["subject"]["reference"] == f"Patient/{world.patient_a.pk}"
    observations = _observations(bundle)
    interference = observations["77565-0"]
    assert interference["code"]["coding"][0]["system"] == "http://loinc.org"
    assert Decimal(str(interference["valueQuantity"]["value"])) == response.interference_score
    severity = observations["pain-severity"]
    assert severity["code"]["coding"][0]["system"] == fhir.SCORE_SYSTEM
    assert Decimal(str(severity["valueQuantity"]["value"])) == Decimal("4.75")
    assert observations["average-pain"]["valueQuantity"]["value"] == 5


def test_no_interference_observation_without_four_answers(world: World) -> None:
    ResponseFactory.create(
        patient=world.patient_a, interference={"mood": 5, "sleep": 6, "general_activity": 4}
    )
    bundle = (
        client_for(world.patient_a.user)
        .get(reverse("api:patient-fhir", kwargs={"pk": world.patient_a.pk}))
        .json()
    )
    assert "77565-0" not in _observations(bundle)
    assert "pain-severity" in _observations(bundle)


def test_an_exported_response_imported_again_gives_the_same_scores(world: World) -> None:
    # given patient A's response exported as a QuestionnaireResponse
    original = ResponseFactory.create(patient=world.patient_a)
    exported = fhir.questionnaire_response(original).model_dump(mode="json", exclude_none=True)
    # when a nurse of her clinic imports it
    answer = client_for(world.nurse_a).post(
        reverse("api:fhir-questionnaire-response-import"),
        exported,
        content_type="application/fhir+json",
    )
    # then a new response with the same answers and scores is stored, marked as staff entry
    assert answer.status_code == 201, answer.content
    imported = Response.objects.exclude(pk=original.pk).get(patient=world.patient_a)
    for field in SCORE_FIELDS:
        assert getattr(imported, field) == getattr(original, field), field
    assert imported.pain_locations == original.pain_locations
    assert imported.interference_answers == original.interference_answers
    assert imported.entry_mode == EntryMode.TELEPHONE
    assert imported.entered_by == world.nurse_a
    assert answer.json()["resourceType"] == "QuestionnaireResponse"


def test_a_patient_imports_only_for_herself(world: World) -> None:
    # given a QuestionnaireResponse naming patient B
    source = ResponseFactory.create(patient=world.patient_a)
    resource = fhir.questionnaire_response(source).model_dump(mode="json", exclude_none=True)
    resource["subject"] = {"reference": f"Patient/{world.patient_b.pk}"}
    url = reverse("api:fhir-questionnaire-response-import")
    # when patient A or a nurse of clinic A sends it
    for intruder in (world.patient_a.user, world.nurse_a):
        answer = client_for(intruder).post(url, resource, content_type="application/json")
        # then patient B does not exist for them, and nothing is stored for her
        assert answer.status_code == 404
    assert not Response.objects.filter(patient=world.patient_b).exists()
    # and a researcher cannot import at all
    answer = client_for(world.researcher).post(url, resource, content_type="application/json")
    assert answer.status_code == 404


def test_an_invalid_import_is_an_operation_outcome_naming_the_item(world: World) -> None:
    # given a response whose item 3 is out of range and item 5 missing
    source = ResponseFactory.create(patient=world.patient_a)
    resource = fhir.questionnaire_response(source).model_dump(mode="json", exclude_none=True)
    for item in resource["item"]:
        if item["linkId"] == "3":
            item["answer"] = [{"valueInteger": 11}]
    resource["item"] = [i for i in resource["item"] if i["linkId"] != "5"]
    # when the patient imports it
    answer = client_for(world.patient_a.user).post(
        reverse("api:fhir-questionnaire-response-import"), resource, content_type="application/json"
    )
    # then 400 with an issue per item, and nothing is stored
    assert answer.status_code == 400
    body = answer.json()
    assert body["resourceType"] == "OperationOutcome"
    assert {e for issue in body["issue"] for e in issue["expression"]} == {"3", "5"}
    assert Response.objects.filter(patient=world.patient_a).count() == 1


def test_a_foreign_questionnaire_or_garbage_is_refused(world: World) -> None:
    client = client_for(world.patient_a.user)
    url = reverse("api:fhir-questionnaire-response-import")
    foreign = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": "http://example.org/Questionnaire/phq-9",
    }
    assert client.post(url, foreign, content_type="application/json").status_code == 400
    garbage = {"resourceType": "QuestionnaireResponse", "status": 3, "item": "x"}
    assert client.post(url, garbage, content_type="application/json").status_code == 400
    # an unknown language is not stored (the response keeps the request's)
    source = ResponseFactory.create(patient=world.patient_a)
    resource = fhir.questionnaire_response(source).model_dump(mode="json", exclude_none=True)
    resource["language"] = "x-klingon-extended"
    assert client.post(url, resource, content_type="application/json").status_code == 201
    assert client.post(url, garbage, content_type="application/json").status_code == 400
