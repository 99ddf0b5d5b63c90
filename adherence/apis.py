"""REST API for AI therapy, treatment events, interventions, check-ins and the survival record.

Staff (nurses, clinicians, administrators) record and read therapy data of the patients of
their clinics; patients submit and read their own check-ins. Anything outside the caller's
reach, and any staff route asked by a patient or researcher, is a 404. Writes go through the
services, so the API refuses exactly what the pages refuse, with the same messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DrfValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from aimss_tracker.inputs import id_param
from patients.access import get_patient_or_404, patients_visible_to
from patients.access import scope_to_user as scope
from patients.apis import RecordsAccess
from patients.models import Patient
from patients.permissions import IsCareStaff, PatientOrCareStaff

from . import services
from .models import AdherenceCheckIn, AiCourse, Intervention, RegimenChange, TreatmentEvent
from .selectors import course_status, survival_record
from .strategy import COMBINED, MONOTHERAPY


class _PatientField(serializers.PrimaryKeyRelatedField[Patient]):
    """A patient id, accepted only within the caller's reach (else "does not exist")."""

    def get_queryset(self) -> QuerySet[Patient]:
        return patients_visible_to(self.context["request"].user)


def _call_service(service: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return service(**kwargs)
    except DjangoValidationError as error:
        errors = error.message_dict
        raise DrfValidationError(
            {("non_field_errors" if k == "__all__" else k): v for k, v in errors.items()}
        ) from error


_R = TypeVar("_R", bound=Model)  # the kind of therapy record


class _StaffRecordViewSet(
    RecordsAccess,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[_R],
):
    """List (``?patient=<id>``), retrieve and create one kind of therapy record."""

    permission_classes = [IsCareStaff]
    model: type[_R]
    patient_path = "patient"

    def get_queryset(self) -> QuerySet[Any]:
        records = self.model._default_manager.all()
        queryset = scope(records, self.request.user, path=self.patient_path)
        patient = id_param(self.request.query_params.get("patient"), name="patient")
        if patient is not None:
            queryset = queryset.filter(**{f"{self.patient_path}_id": patient})
        return queryset

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = _call_service(self.service(), recorded_by=self.request.user, **data)

    def service(self) -> Callable[..., Any]:
        raise NotImplementedError


_PATIENT_FILTER = OpenApiParameter("patient", int, description="only this patient's records")


class AiCourseSerializer(serializers.ModelSerializer[AiCourse]):
    patient = _PatientField()
    status = serializers.SerializerMethodField()

    class Meta:
        model = AiCourse
        fields = [
            "id",
            "patient",
            "drug",
            "start_date",
            "planned_duration_years",
            "status",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def get_status(self, course: AiCourse) -> str:
        return course_status(course, list(course.patient.treatment_events.all()))


@extend_schema(parameters=[_PATIENT_FILTER])
class AiCourseViewSet(_StaffRecordViewSet[AiCourse]):
    serializer_class = AiCourseSerializer
    model = AiCourse

    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().prefetch_related("patient__treatment_events")

    def service(self) -> Callable[..., Any]:
        return services.ai_course_create


class RegimenChangeSerializer(serializers.ModelSerializer[RegimenChange]):
    patient = _PatientField(source="course.patient")

    class Meta:
        model = RegimenChange
        fields = ["id", "patient", "kind", "date", "new_drug", "reason", "created_at"]
        read_only_fields = ["created_at"]


@extend_schema(parameters=[_PATIENT_FILTER])
class RegimenChangeViewSet(_StaffRecordViewSet[RegimenChange]):
    serializer_class = RegimenChangeSerializer
    model = RegimenChange
    patient_path = "course__patient"

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = dict(serializer.validated_data)
        data["patient"] = data.pop("course")["patient"]
        serializer.instance = _call_service(
            services.regimen_change_create, recorded_by=self.request.user, **data
        )


class TreatmentEventSerializer(serializers.ModelSerializer[TreatmentEvent]):
    patient = _PatientField()

    class Meta:
        model = TreatmentEvent
        fields = [
            "id",
            "patient",
            "kind",
            "start_date",
            "end_date",
            "reason",
            "explicit_aimss_termination",
            "note",
            "created_at",
        ]
        read_only_fields = ["created_at"]


class InterruptionEndSerializer(serializers.Serializer[Any]):
    end_date = serializers.DateField(help_text="The last day off the drug.")


@extend_schema(parameters=[_PATIENT_FILTER])
class TreatmentEventViewSet(_StaffRecordViewSet[TreatmentEvent]):
    serializer_class = TreatmentEventSerializer
    model = TreatmentEvent

    def service(self) -> Callable[..., Any]:
        return services.treatment_event_create

    @extend_schema(request=InterruptionEndSerializer, responses=TreatmentEventSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str | None = None) -> Response:
        """End an open interruption (as the therapy page's "end interruption")."""
        event = self.get_object()
        payload = InterruptionEndSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ended = _call_service(services.interruption_end, event=event, **payload.validated_data)
        return Response(TreatmentEventSerializer(ended, context={"request": request}).data)


class InterventionSerializer(serializers.ModelSerializer[Intervention]):
    patient = _PatientField()

    class Meta:
        model = Intervention
        fields = [
            "id",
            "patient",
            "category",
            "measure",
            "start_date",
            "end_date",
            "note",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        extra_kwargs = {"category": {"required": False}}


@extend_schema(parameters=[_PATIENT_FILTER])
class InterventionViewSet(_StaffRecordViewSet[Intervention]):
    serializer_class = InterventionSerializer
    model = Intervention

    def service(self) -> Callable[..., Any]:
        return services.intervention_create


class CheckInSerializer(serializers.ModelSerializer[AdherenceCheckIn]):
    patient = _PatientField(required=False)
    submission_token = serializers.UUIDField(required=False)
    entered_by_staff = serializers.SerializerMethodField()
    scale_answers = serializers.DictField(
        child=serializers.IntegerField(),
        required=False,
        help_text="MARS-5 answers {item_1: 1-5, ... item_5}, where her clinic asks the scale.",
    )

    class Meta:
        model = AdherenceCheckIn
        fields = [
            "id",
            "patient",
            "submitted_at",
            "days_taken_last_7",
            "stopped",
            "wants_to_stop",
            "reason",
            "side_effects",
            "missed_reason",
            "missed_reason_other",
            "scale_answers",
            "scale_total",
            "submission_token",
            "lapse",
            "entered_by_staff",
        ]
        read_only_fields = ["submitted_at", "lapse", "scale_total"]
        extra_kwargs = {
            "stopped": {"default": False},
            "wants_to_stop": {"default": False},
            "missed_reason": {
                "help_text": "Why doses were missed: required when days_taken_last_7 < 7, "
                "absent (empty) at 7. side_effects and decided mark the lapse intentional."
            },
            "missed_reason_other": {"help_text": "Her words, with missed_reason=other only."},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and getattr(request.user, "is_patient_role", False):
            # A patient's check-in is her own: the body cannot name anyone else.
            self.fields["patient"].read_only = True

    def get_entered_by_staff(self, check_in: AdherenceCheckIn) -> bool:
        return check_in.entered_by_id is not None and check_in.entered_by_id != getattr(
            check_in.patient, "user_id", None
        )


class CheckInViewSet(
    RecordsAccess,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[AdherenceCheckIn],
):
    """A patient submits and reads her own check-ins; staff read (and enter by telephone)
    those of their clinics' patients. A repeated ``submission_token`` stores nothing twice."""

    serializer_class = CheckInSerializer
    permission_classes = [PatientOrCareStaff]

    def get_queryset(self) -> QuerySet[AdherenceCheckIn]:
        queryset = scope(AdherenceCheckIn.objects.select_related("patient"), self.request.user)
        patient = id_param(self.request.query_params.get("patient"), name="patient")
        if patient is not None:
            queryset = queryset.filter(patient_id=patient)
        return queryset

    @extend_schema(parameters=[_PATIENT_FILTER])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        user: Any = request.user
        if user.is_patient_role:
            # Her own record, whatever the body says.
            patient = getattr(user, "patient", None)
            if patient is None:
                raise NotFound
            data["patient"] = patient
        elif "patient" not in data:
            raise DrfValidationError({"patient": ["Say whose check-in this is."]})
        check_in, created = _call_service(
            services.check_in_submit,
            entered_by=user,
            **data,
        )
        return Response(
            self.get_serializer(check_in).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class SurvivalSerializer(serializers.Serializer[Any]):
    patient = serializers.IntegerField(source="patient_id")
    strategy = serializers.ChoiceField(choices=[MONOTHERAPY, COMBINED], allow_null=True)
    categories = serializers.ListField(child=serializers.CharField())
    time_days = serializers.IntegerField(allow_null=True)
    event = serializers.BooleanField()
    event_type = serializers.ChoiceField(
        choices=["aimss_discontinuation", "recurrence", "death"], allow_null=True
    )
    censored_at = serializers.DateField(allow_null=True)
    origin = serializers.DateField(allow_null=True, help_text="The AIMSS diagnosis date.")


class SurvivalView(APIView):
    """The patient's derived strategy at diagnosis and interruption-free survival record."""

    permission_classes = [IsCareStaff]

    @extend_schema(responses=SurvivalSerializer)
    def get(self, request: Request, pk: int) -> Response:
        patient = get_patient_or_404(request.user, pk)
        record = asdict(survival_record(patient))
        record["categories"] = list(record["categories"])
        return Response(SurvivalSerializer(record).data)
