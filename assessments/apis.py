"""REST API for BPI-SF responses, with the same rules as the patient form.

``POST /api/v1/assessments/`` (a patient; ``Idempotency-Key`` makes a retry return the first
response), ``GET /api/v1/assessments/`` (own list; staff may filter with ``?patient=ID``),
``GET /api/v1/assessments/{id}/``. Anything outside the caller's reach is 404.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError
from django.db.models import QuerySet
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from aimss_tracker.inputs import id_param
from patients.access import get_patient_or_404, is_care_staff_or_admin, patient_of
from patients.apis import RecordsAccess
from patients.http import user_of

from .models import (
    RELIEF_STEPS,
    TREATMENTS_MAX_CHARS,
    BodyRegion,
    EntryMode,
    RecallPeriod,
    Response,
    location_errors,
)
from .scoring import PainBand
from .selectors import responses_visible_to
from .services import Answers, ResponseAlreadyCorrected, response_correct, response_submit

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX = 255
# Keys that are not UUIDs are mapped to one deterministically, so any client string works.
IDEMPOTENCY_NAMESPACE = uuid.UUID("5f0b8c2e-3c1a-4b6e-9d7f-6a2b1c0d9e8f")


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: no strings, floats or booleans."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class StrictBooleanField(serializers.BooleanField):
    """A JSON ``true`` or ``false``: no strings or numbers."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def _scale(*, nullable: bool = False) -> StrictIntegerField:
    if nullable:
        return StrictIntegerField(min_value=0, max_value=10, allow_null=True, required=False)
    return StrictIntegerField(min_value=0, max_value=10)


class InterferenceSerializer(serializers.Serializer[dict[str, Any]]):
    general_activity = _scale(nullable=True)
    mood = _scale(nullable=True)
    walking_ability = _scale(nullable=True)
    normal_work = _scale(nullable=True)
    relations_with_others = _scale(nullable=True)
    sleep = _scale(nullable=True)
    enjoyment_of_life = _scale(nullable=True)


class ResponseInputSerializer(serializers.Serializer[dict[str, Any]]):
    """One BPI-SF as a patient submits it."""

    recall_period = serializers.ChoiceField(
        choices=RecallPeriod.choices, default=RecallPeriod.HOURS_24
    )
    has_pain_today = StrictBooleanField()
    pain_locations = serializers.ListField(
        child=serializers.ChoiceField(choices=BodyRegion.choices), default=list
    )
    worst_location = serializers.ChoiceField(
        choices=BodyRegion.choices, allow_blank=True, allow_null=True, default=""
    )
    worst_pain = _scale()
    least_pain = _scale()
    average_pain = _scale()
    pain_now = _scale()
    treatments = serializers.CharField(
        allow_blank=True, default="", max_length=TREATMENTS_MAX_CHARS, trim_whitespace=True
    )
    relief_percent = StrictIntegerField(
        min_value=0, max_value=100, allow_null=True, required=False, default=None
    )
    interference = InterferenceSerializer(required=False)

    def validate_relief_percent(self, value: int | None) -> int | None:
        if value is not None and value not in RELIEF_STEPS:
            raise serializers.ValidationError("Must be 0 to 100 in steps of 10.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = location_errors(
            has_pain_today=attrs.get("has_pain_today"),
            pain_locations=attrs.get("pain_locations"),
            worst_location=attrs.get("worst_location"),
        )
        if errors:
            raise serializers.ValidationError({k: [v] for k, v in errors.items()})
        return attrs


class CorrectionInputSerializer(ResponseInputSerializer):
    correction_reason = serializers.CharField(max_length=1000)


NOT_GIVEN_WHEN_IMPORTED = (
    "Null on an imported response (entry_mode imported): the file did not give it."
)


# The fields document the answer (the OpenAPI schema); ``to_representation`` writes them out
# directly, because DRF would otherwise rebuild all 23 for every response it renders
# (docs/adr/0005-response-serializer-output.md). A test holds the two to the same output.
class ResponseSerializer(serializers.Serializer[Response]):
    """A stored response with its scores."""

    id = serializers.IntegerField(read_only=True)
    patient = serializers.IntegerField(source="patient_id", read_only=True)
    recall_period = serializers.ChoiceField(choices=RecallPeriod.choices, read_only=True)
    has_pain_today = serializers.BooleanField(
        read_only=True, allow_null=True, help_text=NOT_GIVEN_WHEN_IMPORTED
    )
    pain_locations = serializers.ListField(
        child=serializers.ChoiceField(choices=BodyRegion.choices), read_only=True
    )
    # Blank when no area is marked (item 1 "no").
    worst_location = serializers.ChoiceField(
        choices=BodyRegion.choices, allow_blank=True, read_only=True
    )
    worst_pain = serializers.IntegerField(
        read_only=True, allow_null=True, help_text=NOT_GIVEN_WHEN_IMPORTED
    )
    least_pain = serializers.IntegerField(
        read_only=True, allow_null=True, help_text=NOT_GIVEN_WHEN_IMPORTED
    )
    average_pain = serializers.IntegerField(read_only=True)
    pain_now = serializers.IntegerField(
        read_only=True, allow_null=True, help_text=NOT_GIVEN_WHEN_IMPORTED
    )
    treatments = serializers.CharField(read_only=True)
    relief_percent = serializers.IntegerField(read_only=True, allow_null=True)
    interference = serializers.DictField(
        child=serializers.IntegerField(allow_null=True),
        source="interference_answers",
        read_only=True,
        help_text="Item 9 A-G, each 0-10 or null when not answered.",
    )
    submitted_at = serializers.DateTimeField(
        read_only=True, help_text="When the answers were given (kept by corrections)."
    )
    pain_severity_score = serializers.DecimalField(
        max_digits=4,
        decimal_places=2,
        coerce_to_string=False,
        read_only=True,
        allow_null=True,
        help_text=NOT_GIVEN_WHEN_IMPORTED,
    )
    interference_score = serializers.DecimalField(
        max_digits=4, decimal_places=2, coerce_to_string=False, read_only=True, allow_null=True
    )
    pain_band = serializers.ChoiceField(choices=PainBand.choices, read_only=True)
    interference_high = serializers.BooleanField(read_only=True)
    instrument_version = serializers.CharField(source="instrument.version", read_only=True)
    language = serializers.CharField(read_only=True)
    entry_mode = serializers.ChoiceField(choices=EntryMode.choices, read_only=True)
    supersedes = serializers.IntegerField(
        source="supersedes_id",
        read_only=True,
        allow_null=True,
        help_text="The version this correction replaces.",
    )
    correction_reason = serializers.CharField(read_only=True)

    def to_representation(self, instance: Response) -> dict[str, Any]:
        declared = self._declared_fields
        interference_score = instance.interference_score
        return {
            "id": instance.pk,
            "patient": instance.patient_id,
            "recall_period": instance.recall_period,
            "has_pain_today": instance.has_pain_today,
            "pain_locations": list(instance.pain_locations),
            "worst_location": instance.worst_location,
            "worst_pain": instance.worst_pain,
            "least_pain": instance.least_pain,
            "average_pain": instance.average_pain,
            "pain_now": instance.pain_now,
            "treatments": instance.treatments,
            "relief_percent": instance.relief_percent,
            "interference": instance.interference_answers,
            "submitted_at": declared["submitted_at"].to_representation(instance.submitted_at),
            "pain_severity_score": None
            if instance.pain_severity_score is None
            else declared["pain_severity_score"].to_representation(instance.pain_severity_score),
            "interference_score": None
            if interference_score is None
            else declared["interference_score"].to_representation(interference_score),
            "pain_band": instance.pain_band,
            "interference_high": instance.interference_high,
            "instrument_version": instance.instrument.version,
            "language": instance.language,
            "entry_mode": instance.entry_mode,
            "supersedes": instance.supersedes_id,
            "correction_reason": instance.correction_reason,
        }


def idempotency_key(request: Request) -> uuid.UUID:
    """The request's ``Idempotency-Key`` as a UUID; a fresh one when there is none."""
    raw = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not raw:
        return uuid.uuid4()
    if len(raw) > IDEMPOTENCY_KEY_MAX:
        raise ValidationError({IDEMPOTENCY_HEADER: [f"At most {IDEMPOTENCY_KEY_MAX} characters."]})
    try:
        return uuid.UUID(raw)
    except ValueError:
        return uuid.uuid5(IDEMPOTENCY_NAMESPACE, raw)


class ResponseViewSet(
    RecordsAccess,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Response],
):
    """BPI-SF responses within the caller's reach (current versions; corrections replace)."""

    serializer_class = ResponseSerializer

    def get_queryset(self) -> QuerySet[Response]:
        responses = responses_visible_to(self.request.user)
        patient = id_param(self.request.query_params.get("patient"), name="patient")
        if self.action == "list" and patient is not None:
            responses = responses.filter(patient_id=patient)
        return responses

    @extend_schema(
        parameters=[OpenApiParameter("patient", int, description="staff: one patient's list")]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=ResponseInputSerializer,
        responses={201: ResponseSerializer},
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                str,
                OpenApiParameter.HEADER,
                description="a retry with the same key returns the first response",
            )
        ],
    )
    def create(self, request: Request) -> ApiResponse:
        """Submit a BPI-SF (patients only; staff enter by telephone on the patient's page)."""
        patient = patient_of(request.user)
        if patient is None:
            raise PermissionDenied("Only a patient submits her own questionnaire.")
        key = idempotency_key(request)
        answers = ResponseInputSerializer(data=request.data)
        answers.is_valid(raise_exception=True)
        response, created = response_submit(
            patient=patient,
            answers=Answers.from_data(answers.validated_data),
            entered_by=user_of(request),
            submission_key=key,
            language=translation.get_language() or "en",
        )
        headers = {} if created else {"Idempotent-Replayed": "true"}
        return ApiResponse(
            ResponseSerializer(response).data, status=status.HTTP_201_CREATED, headers=headers
        )

    @extend_schema(
        request=CorrectionInputSerializer,
        responses={201: ResponseSerializer, 409: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"])
    def correct(self, request: Request, pk: str | None = None) -> ApiResponse:
        """Care staff: correct the current version (a new version with a reason)."""
        if not is_care_staff_or_admin(user_of(request)):
            raise NotFound
        response = self.get_object()
        payload = CorrectionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            correction = response_correct(
                response=response,
                answers=Answers.from_data(payload.validated_data),
                corrected_by=user_of(request),
                reason=payload.validated_data["correction_reason"],
            )
        except (ResponseAlreadyCorrected, IntegrityError):  # corrected by someone else meanwhile
            return ApiResponse(
                {"detail": "This version has been corrected already; correct the latest."},
                status=status.HTTP_409_CONFLICT,
            )
        return ApiResponse(ResponseSerializer(correction).data, status=status.HTTP_201_CREATED)


class TelephoneEntryView(APIView):
    """Care staff enter a BPI-SF taken by telephone for a patient of their clinic."""

    @extend_schema(
        request=ResponseInputSerializer,
        responses={201: ResponseSerializer},
        parameters=[OpenApiParameter(IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER)],
    )
    def post(self, request: Request, pk: int) -> ApiResponse:
        if not is_care_staff_or_admin(user_of(request)):
            raise NotFound
        patient = get_patient_or_404(request.user, pk)
        answers = ResponseInputSerializer(data=request.data)
        answers.is_valid(raise_exception=True)
        response, created = response_submit(
            patient=patient,
            answers=Answers.from_data(answers.validated_data),
            entered_by=user_of(request),
            submission_key=idempotency_key(request),
            entry_mode=EntryMode.TELEPHONE,
            language=translation.get_language() or "en",
        )
        return ApiResponse(
            ResponseSerializer(response).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
