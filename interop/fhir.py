"""FHIR R4 resources of the BPI-SF: Questionnaire, QuestionnaireResponse, Observations, Bundle.

Every resource is built as a ``fhir.resources`` model, which validates it on construction (a
wrong element, type or cardinality raises). fhir.resources 8 models R5 at its top level and
R4B under ``fhir.resources.R4B``; R4B is FHIR R4 with technical corrections and the same
resources and elements as R4 for everything used here, so R4 clients read it as R4.

Mapping (README, "FHIR"): each item is one ``linkId``: ``recall-period``, ``1`` … ``8``,
``2-worst`` for the worst area of item 2, and ``9`` a group of ``9A`` … ``9G``. Scores are
Observations derived from the response: the interference score with LOINC 77565-0, the others
with the local code system :data:`SCORE_SYSTEM`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.resource import Resource

from aimss_tracker.inputs import ASCII_ID
from assessments.instrument import text
from assessments.models import (
    INTERFERENCE_FIELDS,
    BodyRegion,
    EntryMode,
    Instrument,
    RecallPeriod,
    Response,
)
from patients.models import Patient

SITE = "https://aimss-tracker.example.org/fhir"
QUESTIONNAIRE_URL = f"{SITE}/Questionnaire/bpi-sf"
SCORE_SYSTEM = f"{SITE}/CodeSystem/bpi-sf-scores"
BODY_REGION_SYSTEM = f"{SITE}/CodeSystem/bpi-sf-body-regions"
RECALL_SYSTEM = f"{SITE}/CodeSystem/bpi-sf-recall-periods"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
INTERFERENCE_LOINC = "77565-0"  # Pain interference score [BPI Short Form] (LOINC)
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ENTRY_MODE_SYSTEM = f"{SITE}/CodeSystem/bpi-sf-entry-modes"
# An imported response (a registry file gave item 5 and the interference score only) carries
# this tag on its QuestionnaireResponse and Observations; the items it lacks are left out.
IMPORTED_TAG = {
    "system": ENTRY_MODE_SYSTEM,
    "code": EntryMode.IMPORTED.value,
    "display": "Imported from a registry file; items not given are absent",
}

RECALL_LINK = "recall-period"
WORST_LOCATION_LINK = "2-worst"
INTERFERENCE_GROUP_LINK = "9"
# API field -> linkId of the single-answer items, in the instrument's order.
ITEM_LINKS = {
    "has_pain_today": "1",
    "pain_locations": "2",
    "worst_pain": "3",
    "least_pain": "4",
    "average_pain": "5",
    "pain_now": "6",
    "treatments": "7",
    "relief_percent": "8",
}
# Item 9's parts: API name -> linkId (9A … 9G).
INTERFERENCE_LINKS = {
    name: f"9{letter}"
    for (name, _field), letter in zip(INTERFERENCE_FIELDS, "ABCDEFG", strict=True)
}
LINK_FIELDS = {
    **{link: field for field, link in ITEM_LINKS.items()},
    **{link: name for name, link in INTERFERENCE_LINKS.items()},
    RECALL_LINK: "recall_period",
    WORST_LOCATION_LINK: "worst_location",
}

# Scores as Observations: (response attribute, code system, code, display).
SCORE_CODES = (
    ("interference_score", LOINC, INTERFERENCE_LOINC, "Pain interference score [BPI Short Form]"),
    ("pain_severity_score", SCORE_SYSTEM, "pain-severity", "BPI-SF pain severity (mean of 3-6)"),
    ("worst_pain", SCORE_SYSTEM, "worst-pain", "BPI-SF item 3: pain at its worst"),
    ("least_pain", SCORE_SYSTEM, "least-pain", "BPI-SF item 4: pain at its least"),
    ("average_pain", SCORE_SYSTEM, "average-pain", "BPI-SF item 5: average pain"),
    ("pain_now", SCORE_SYSTEM, "pain-now", "BPI-SF item 6: pain right now"),
)
SCORE_UNIT = {"value_unit": "{score}", "unit": "score"}


def fhir_base() -> str:
    """Where the bundle's resources are said to live (their ``fullUrl`` prefix)."""
    return f"{settings.AIMSS_BASE_URL.rstrip('/')}/api/v1/fhir"


def questionnaire_canonical(instrument: Instrument) -> str:
    return f"{QUESTIONNAIRE_URL}|{instrument.version}"


def response_resource_id(response: Response) -> str:
    return f"bpi-sf-response-{response.pk}"


def _coding(system: str, code: str, display: Any = "") -> dict[str, str]:
    return {"system": system, "code": code, **({"display": str(display)} if display else {})}


# --- Questionnaire ---------------------------------------------------------------------------


def questionnaire(instrument: Instrument, *, language: str = "en") -> Questionnaire:
    """The instrument as a Questionnaire, with its wording in ``language`` (English fallback)."""
    definition = instrument.definition
    items = {item["field"]: item for item in definition.get("items", [])}
    recall_labels = definition.get("recall_periods", {})

    def label(field: str) -> str:
        recall = text(recall_labels.get(RecallPeriod.HOURS_24), language)
        return text(items.get(field, {}).get("label"), language).replace("{recall}", recall)

    def scale(field: str, link: str, *, low: int = 0, high: int = 10) -> dict[str, Any]:
        return {
            "linkId": link,
            "prefix": link,
            "text": label(field),
            "type": "integer",
            "required": field != "relief_percent",
            "extension": [
                {"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": low},
                {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": high},
            ],
        }

    regions = [{"valueCoding": _coding(BODY_REGION_SYSTEM, c.value, c.label)} for c in BodyRegion]
    group = items.get("interference", {})
    return Questionnaire.model_validate(dict(
        id="bpi-sf",
        url=QUESTIONNAIRE_URL,
        version=instrument.version,
        name="BPISF",
        title=text(definition.get("title"), language),
        status="active",
        subjectType=["Patient"],
        language=language,
        description=text(definition.get("notice"), language) or None,
        copyright="The Brief Pain Inventory is (c) C. S. Cleeland (MD Anderson Cancer Center).",
        item=[
            {
                "linkId": RECALL_LINK,
                "text": "Recall period",
                "type": "choice",
                "required": True,
                "answerOption": [
                    {"valueCoding": _coding(RECALL_SYSTEM, p.value, text(recall_labels.get(p), "en"))}  # noqa: E501
                    for p in RecallPeriod
                ],
            },
            {"linkId": "1", "prefix": "1", "text": label("has_pain_today"), "type": "boolean",
             "required": True},
            {"linkId": "2", "prefix": "2", "text": label("pain_locations"), "type": "choice",
             "repeats": True, "answerOption": regions},
            {"linkId": WORST_LOCATION_LINK, "prefix": "2", "type": "choice",
             "text": text(items.get("pain_locations", {}).get("worst_label"), language),
             "answerOption": regions},
            scale("worst_pain", "3"),
            scale("least_pain", "4"),
            scale("average_pain", "5"),
            scale("pain_now", "6"),
            {"linkId": "7", "prefix": "7", "text": label("treatments"), "type": "string",
             "maxLength": 1000},
            scale("relief_percent", "8", high=100),
            {
                "linkId": INTERFERENCE_GROUP_LINK,
                "prefix": "9",
                "text": label("interference"),
                "type": "group",
                "item": [
                    {
                        **scale(part["field"], INTERFERENCE_LINKS[part["field"]]),
                        "prefix": INTERFERENCE_LINKS[part["field"]],
                        "text": text(part.get("label"), language),
                        "required": False,
                    }
                    for part in group.get("items", [])
                ],
            },
        ],
    ))  # fmt: skip


# --- QuestionnaireResponse -------------------------------------------------------------------


def _answer_item(link: str, answers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"linkId": link, "answer": answers}


def _meta(response: Response) -> dict[str, Any] | None:
    """The imported tag, on an imported response's resources only."""
    return {"tag": [IMPORTED_TAG]} if response.is_imported else None


def questionnaire_response(response: Response) -> QuestionnaireResponse:
    """One stored response; unanswered optional items are left out, and so are the items an
    imported response was not given (it is tagged imported)."""
    items: list[dict[str, Any]] = [
        _answer_item(
            RECALL_LINK, [{"valueCoding": _coding(RECALL_SYSTEM, response.recall_period)}]
        ),
    ]
    if response.has_pain_today is not None:
        items.append(_answer_item("1", [{"valueBoolean": response.has_pain_today}]))
    if response.pain_locations:
        items.append(_answer_item("2", [
            {"valueCoding": _coding(BODY_REGION_SYSTEM, code)} for code in response.pain_locations
        ]))  # fmt: skip
    if response.worst_location:
        items.append(_answer_item(
            WORST_LOCATION_LINK,
            [{"valueCoding": _coding(BODY_REGION_SYSTEM, response.worst_location)}],
        ))  # fmt: skip
    for field in ("worst_pain", "least_pain", "average_pain", "pain_now"):
        value = getattr(response, field)
        if value is not None:
            items.append(_answer_item(ITEM_LINKS[field], [{"valueInteger": value}]))
    if response.treatments:
        items.append(_answer_item("7", [{"valueString": response.treatments}]))
    if response.relief_percent is not None:
        items.append(_answer_item("8", [{"valueInteger": response.relief_percent}]))
    parts = [
        _answer_item(INTERFERENCE_LINKS[name], [{"valueInteger": value}])
        for name, value in response.interference_answers.items()
        if value is not None
    ]
    if parts:
        items.append({"linkId": INTERFERENCE_GROUP_LINK, "item": parts})
    patient_ref = {"reference": f"Patient/{response.patient_id}"}
    return QuestionnaireResponse.model_validate(
        dict(
            id=response_resource_id(response),
            meta=_meta(response),
            questionnaire=questionnaire_canonical(response.instrument),
            status="completed",
            subject=patient_ref,
            authored=response.submitted_at,
            source=patient_ref if response.entry_mode == "self" else None,
            language=response.language,
            item=items,
        )
    )


# --- Observations ----------------------------------------------------------------------------


def score_observations(response: Response) -> list[Observation]:
    """The response's scores: interference (LOINC 77565-0), severity and items 3-6 (local);
    only those it has (an imported response: item 5 and interference as given)."""
    observations = []
    for attribute, system, code, display in SCORE_CODES:
        value = getattr(response, attribute)
        # no interference score with fewer than 4 of 9A-G answered; on an imported response,
        # none of what the file did not give
        if value is None:
            continue
        interpretation = None
        if attribute == "interference_score" and response.interference_high:
            interpretation = [{"coding": [_coding(INTERPRETATION_SYSTEM, "H", "High")]}]
        observations.append(
            Observation.model_validate(
                dict(
                    id=f"{response_resource_id(response)}-{code}",
                    meta=_meta(response),
                    status="final",
                    category=[{"coding": [_coding(CATEGORY_SYSTEM, "survey", "Survey")]}],
                    code={"coding": [_coding(system, code, display)], "text": display},
                    subject={"reference": f"Patient/{response.patient_id}"},
                    effectiveDateTime=response.submitted_at,
                    valueQuantity={
                        "value": Decimal(value),
                        "unit": SCORE_UNIT["unit"],
                        "system": UCUM,
                        "code": SCORE_UNIT["value_unit"],
                    },
                    interpretation=interpretation,
                    derivedFrom=[
                        {"reference": f"QuestionnaireResponse/{response_resource_id(response)}"}
                    ],
                )
            )
        )
    return observations


# --- Patient and Bundle ----------------------------------------------------------------------


def patient_resource(patient: Patient) -> FhirPatient:
    return FhirPatient.model_validate(
        dict(
            id=str(patient.pk),
            identifier=[
                {
                    "system": f"{SITE}/sid/record-number/{patient.clinic.code}",
                    "value": patient.record_number,
                }
            ],
            name=[{"family": patient.family_name, "given": [patient.given_name]}],
            gender="female",
            birthDate=patient.birth_date,
            managingOrganization={"display": patient.clinic.name},
        )
    )


def patient_bundle(patient: Patient, responses: Iterable[Response]) -> Bundle:
    """A ``collection`` Bundle: the Patient, each response and its score Observations."""
    resources: list[Resource] = [patient_resource(patient)]
    for response in responses:
        resources.append(questionnaire_response(response))
        resources.extend(score_observations(response))
    base = fhir_base()
    return Bundle.model_validate(
        dict(
            type="collection",
            timestamp=dt.datetime.now(tz=dt.UTC),
            entry=[
                {
                    "fullUrl": f"{base}/{resource.get_resource_type()}/{resource.id}",
                    "resource": resource,
                }
                for resource in resources
            ],
        )
    )


def operation_outcome(errors: dict[str, Any]) -> OperationOutcome:
    """Validation errors as an OperationOutcome; ``expression`` names the linkId."""
    field_links = {field: link for link, field in LINK_FIELDS.items()}
    issues = []
    for field, messages in errors.items():
        if isinstance(messages, dict):  # a nested serializer (item 9's parts)
            for part, part_messages in messages.items():
                issues.append((field_links.get(part, part), part_messages))
        else:
            issues.append((field_links.get(field, field), messages))
    return OperationOutcome.model_validate(
        dict(
            issue=[
                {
                    "severity": "error",
                    "code": "invalid",
                    "diagnostics": " ".join(str(m) for m in messages)
                    if isinstance(messages, list)
                    else str(messages),
                    "expression": [where],
                }
                for where, messages in issues
            ]
        )
    )


# --- Import ----------------------------------------------------------------------------------


def _flatten(items: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for item in items:
        yield item
        yield from _flatten(item.get("item", []))


def _value(answer: dict[str, Any]) -> Any:
    if "valueCoding" in answer:
        return answer["valueCoding"].get("code")
    for key in ("valueBoolean", "valueInteger", "valueString"):
        if key in answer:
            return answer[key]
    return None


def answers_data(resource: QuestionnaireResponse) -> dict[str, Any]:
    """A QuestionnaireResponse's answers in the API's shape (``assessments.apis``'s input),
    to be validated by the same serializer as a submission. Unknown linkIds are ignored."""
    raw = resource.model_dump(mode="json", exclude_none=True)
    data: dict[str, Any] = {}
    interference: dict[str, Any] = {}
    for item in _flatten(raw.get("item", [])):
        field = LINK_FIELDS.get(item.get("linkId", ""))
        answers = item.get("answer", [])
        if field is None or not answers:
            continue
        values = [_value(answer) for answer in answers]
        if field in INTERFERENCE_LINKS:
            interference[field] = values[0]
        elif field == "pain_locations":
            data[field] = values
        else:
            data[field] = values[0]
    if interference:
        data["interference"] = interference
    return data


def subject_patient_id(resource: QuestionnaireResponse) -> int | None:
    """The id in ``subject.reference`` ``Patient/{id}``, or None without a usable one."""
    reference = resource.subject.reference if resource.subject else None
    if not reference:
        return None
    kind, _slash, pk = str(reference).rpartition("/")
    if not kind.endswith("Patient") or not ASCII_ID.fullmatch(pk):
        return None
    return int(pk)
