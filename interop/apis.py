"""API tokens, FHIR R4 export and import, and the CSV exports.

Thin, as everywhere: parse, authorize with :mod:`patients.access`, call one builder or service.
"""

from __future__ import annotations

from typing import Any

import pydantic
from django.conf import settings
from django.contrib.auth import authenticate
from django.http import StreamingHttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.exceptions import ValidationError as DrfValidationError
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from aimss_tracker.inputs import BoundedJSONParser
from assessments.apis import IDEMPOTENCY_HEADER, ResponseInputSerializer, idempotency_key
from assessments.models import EntryMode, Instrument
from assessments.selectors import instrument_current, responses_of
from assessments.services import Answers, response_submit
from patients.access import (
    get_patient_or_404,
    is_care_staff_or_admin,
    patient_of,
    record_list_access,
)
from patients.http import user_of
from patients.mfa import has_confirmed_device, second_factor_match
from patients.models import User

from . import exports, fhir
from .models import ApiToken
from .tokens import api_token_issue, api_token_revoke

FHIR_JSON = "application/fhir+json"


class FhirJsonParser(BoundedJSONParser):
    media_type = FHIR_JSON


class FhirJsonRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"


class CsvRenderer(BaseRenderer):
    """Lets a client ask for ``text/csv``; the exports stream their own body, so this only
    renders error answers (as their message)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> Any:
        if isinstance(data, dict) and "detail" in data:
            return str(data["detail"]).encode()
        return b""


# --- Tokens ------------------------------------------------------------------------------------


class TokenRequestSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    otp = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text="Staff: the authenticator's current code or a recovery code.",
    )


class TokenSerializer(serializers.Serializer[Any]):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")
    expires_at = serializers.DateTimeField()


class ApiTokenView(APIView):
    """``POST``: username, password (and, for staff, ``otp``) for a token; ``DELETE``: revoke
    the token in use (or, signed in by session, all of one's tokens)."""

    throttle_scope = "token"

    def get_permissions(self) -> list[BasePermission]:
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={201: TokenSerializer, 400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        payload = TokenRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        # django-axes counts failures here as on the login page (it needs the Django request).
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if not isinstance(user, User) or not user.is_active:
            raise DrfValidationError(
                {"non_field_errors": [_("Unable to sign in with these credentials.")]}
            )
        second_factor = False
        if settings.AIMSS_STAFF_MFA and not user.is_patient_role:
            if not has_confirmed_device(user):
                raise PermissionDenied(_("Set up an authenticator at /accounts/mfa/setup/ first."))
            otp = data.get("otp", "")
            if not otp or second_factor_match(user=user, token=otp) is None:
                raise PermissionDenied(
                    _("A second factor is required: send otp, your authenticator's current "
                      "code or a recovery code.")
                )  # fmt: skip
            second_factor = True
        token, key = api_token_issue(user=user, second_factor=second_factor)
        return Response(
            TokenSerializer({"token": key, "expires_at": token.expires_at}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(responses={204: None})
    def delete(self, request: Request) -> Response:
        token = request.auth if isinstance(request.auth, ApiToken) else None
        api_token_revoke(user=user_of(request), token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- FHIR --------------------------------------------------------------------------------------


class _FhirView(APIView):
    renderer_classes = [JSONRenderer, FhirJsonRenderer]


def _fhir(resource: Any, **kwargs: Any) -> Response:
    return Response(resource.model_dump(mode="json", exclude_none=True), **kwargs)


class QuestionnaireView(_FhirView):
    """The current BPI-SF instrument as a FHIR R4 Questionnaire (``?lang=zh-hans`` for its
    Chinese wording)."""

    @extend_schema(
        parameters=[OpenApiParameter("lang", str, enum=["en", "zh-hans"])],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        language = request.query_params.get("lang", "")
        if language not in ("en", "zh-hans"):
            language = "en"
        return _fhir(fhir.questionnaire(instrument_current(), language=language))


class PatientFhirView(_FhirView):
    """One patient as a FHIR ``collection`` Bundle: Patient, each current response as a
    QuestionnaireResponse, and its scores as Observations. Care staff of her clinic, or she."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        patient = get_patient_or_404(request.user, pk)
        responses = responses_of(patient=patient).order_by("submitted_at", "id")
        return _fhir(fhir.patient_bundle(patient, responses))


class QuestionnaireResponseImportView(_FhirView):
    """Import a BPI-SF QuestionnaireResponse: a patient for herself, care staff for a patient
    of their clinic named by ``subject`` (``Patient/{id}``). The answers pass the same checks
    as a submission; the stored response has the same scores. Errors: an OperationOutcome."""

    parser_classes = [BoundedJSONParser, FhirJsonParser]

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={201: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
        parameters=[OpenApiParameter(IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER)],
    )
    def post(self, request: Request) -> Response:
        user: Any = request.user
        if not (user.is_patient_role or is_care_staff_or_admin(user)):
            raise NotFound
        try:
            resource = QuestionnaireResponse.model_validate(request.data)
        except (pydantic.ValidationError, ValueError, TypeError) as error:
            return _fhir(
                fhir.operation_outcome({"resource": [str(error).splitlines()[0]]}),
                status=status.HTTP_400_BAD_REQUEST,
            )
        questionnaire = str(resource.questionnaire or "")
        url, _bar, version = questionnaire.partition("|")
        if url != fhir.QUESTIONNAIRE_URL:
            return _fhir(
                fhir.operation_outcome({"questionnaire": [f"Must be {fhir.QUESTIONNAIRE_URL}."]}),
                status=status.HTTP_400_BAD_REQUEST,
            )
        subject_id = fhir.subject_patient_id(resource)
        if user.is_patient_role:
            patient = patient_of(user)
            if patient is None or (subject_id is not None and subject_id != patient.pk):
                raise NotFound
        elif subject_id is None:
            return _fhir(
                fhir.operation_outcome({"subject": ["Name the patient: Patient/{id}."]}),
                status=status.HTTP_400_BAD_REQUEST,
            )
        else:
            patient = get_patient_or_404(user, subject_id)
        answers = ResponseInputSerializer(data=fhir.answers_data(resource))
        if not answers.is_valid():
            return _fhir(fhir.operation_outcome(answers.errors), status=status.HTTP_400_BAD_REQUEST)
        instrument = Instrument.objects.filter(code="bpi-sf", version=version).first()
        response, created = response_submit(
            patient=patient,
            answers=Answers.from_data(answers.validated_data),
            entered_by=user,
            submission_key=idempotency_key(request),
            entry_mode=EntryMode.SELF if user.is_patient_role else EntryMode.TELEPHONE,
            language=_language(resource.language),
            instrument=instrument,
        )
        return _fhir(
            fhir.questionnaire_response(response),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def _language(requested: Any) -> str:
    """The response's language if the product has it, else the request's."""
    codes = {code for code, _name in settings.LANGUAGES}
    return str(requested) if requested in codes else translation.get_language() or "en"


# --- CSV exports ---------------------------------------------------------------------------------


class ExportView(APIView):
    """One CSV export, streamed: care staff get their clinics' identified rows, researchers
    the Safe Harbor rows of their granted clinics of at least 11 patients (403 with the reason
    if none is that large); anyone else a 404."""

    export: str = ""
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV")}
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        user: Any = request.user
        if not exports.export_allowed(user):
            raise NotFound
        refused = exports.refusal(user)
        if refused:
            raise PermissionDenied(refused)
        record_list_access(
            user,
            patient_ids=exports.export_patient_ids(user=user, name=self.export),
            what=f"export {self.export}.csv",
        )
        lines = exports.csv_lines(exports.export_rows(user=user, name=self.export))
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.export}.csv"'
        return response
