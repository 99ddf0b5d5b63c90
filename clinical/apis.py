"""``GET /api/v1/patients/{id}/trajectory/``: the trajectory page's data as JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from adherence.enrolment import PATIENT_FIELDS, patient_enrol
from adherence.models import Drug
from patients import apis as patient_apis
from patients.access import get_patient_or_404
from patients.clock import time_zone_choices
from patients.http import user_of
from patients.models import Clinic, Patient
from patients.permissions import IsCareStaff
from patients.selectors import clinics_of

from .selectors import Trajectory, patient_trajectory


class TrajectoryPointSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField()
    date = serializers.DateField()
    months = serializers.IntegerField(
        allow_null=True, help_text="Whole months since the AIMSS diagnosis."
    )
    worst = serializers.IntegerField(allow_null=True, help_text="Null when imported (not given).")
    least = serializers.IntegerField(allow_null=True, help_text="Null when imported (not given).")
    average = serializers.IntegerField()
    now = serializers.IntegerField(allow_null=True, help_text="Null when imported (not given).")
    interference = serializers.FloatField(
        allow_null=True, help_text="One decimal, as every page shows it."
    )
    severity = serializers.FloatField(
        allow_null=True,
        help_text="One decimal, as every page shows it; null when imported (items 3-6 not given).",
    )
    recall_period = serializers.CharField()
    band = serializers.CharField()
    interference_high = serializers.BooleanField()
    imported = serializers.BooleanField(
        help_text="Imported from a registry file: only average pain and interference were given."
    )


class TrajectoryEventSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="A treatment event kind, or regimen_change.")
    label = serializers.CharField()  # type: ignore[assignment]  # a field named "label"
    start = serializers.DateField()
    end = serializers.DateField(allow_null=True)
    detail = serializers.CharField(help_text="Reason for stopping, or the new drug.")


class TrajectoryInterventionSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField()
    category = serializers.CharField()
    category_label = serializers.CharField()
    measure = serializers.CharField()
    measure_label = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField(allow_null=True)


class TrajectoryCheckInSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField()
    date = serializers.DateField()
    days_taken = serializers.IntegerField()


class TrajectorySerializer(serializers.Serializer[dict[str, Any]]):
    patient = serializers.IntegerField()
    diagnosis = serializers.DateField(allow_null=True)
    threshold = serializers.FloatField(help_text="The clinic's high-interference threshold.")
    series = TrajectoryPointSerializer(many=True)
    events = TrajectoryEventSerializer(many=True)
    interventions = TrajectoryInterventionSerializer(many=True)
    check_ins = TrajectoryCheckInSerializer(many=True)


def trajectory_payload(trajectory: Trajectory) -> dict[str, Any]:
    return {
        "patient": trajectory.patient.pk,
        "diagnosis": trajectory.diagnosis,
        "threshold": float(trajectory.thresholds.high_interference_from),
        "series": [p._asdict() for p in trajectory.series],
        "events": [asdict(e) for e in trajectory.events],
        "interventions": [asdict(i) for i in trajectory.interventions],
        "check_ins": [asdict(c) for c in trajectory.check_ins],
    }


class TrajectoryView(APIView):
    """A patient's BPI-SF series, treatment events, interventions and check-ins (care staff)."""

    permission_classes = [IsCareStaff]

    @extend_schema(responses=TrajectorySerializer)
    def get(self, request: Request, pk: int) -> Response:
        patient = get_patient_or_404(request.user, pk)
        trajectory = patient_trajectory(patient, with_flags=False)
        return Response(TrajectorySerializer(trajectory_payload(trajectory)).data)


class EnrolmentSerializer(serializers.ModelSerializer[Patient]):
    """What ``POST /api/v1/patients/`` takes: the enrolment page's fields."""

    clinic: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", queryset=Clinic.objects.all()
    )
    phone = PhoneNumberField(required=False, allow_blank=True)
    email = serializers.EmailField()
    time_zone = serializers.ChoiceField(choices=time_zone_choices())
    ai_drug = serializers.ChoiceField(choices=Drug.choices)
    ai_start_date = serializers.DateField()

    class Meta:
        model = Patient
        fields = ["clinic", *PATIENT_FIELDS, "ai_drug", "ai_start_date"]
        # the clinic-wide uniqueness is the enrolment service's (a clearer message)
        validators: list[Any] = []

    def validate_clinic(self, clinic: Clinic) -> Clinic:
        if clinic not in clinics_of(self.context["request"].user):
            raise serializers.ValidationError("You can enrol patients in your own clinics only.")
        return clinic


class PatientViewSet(mixins.CreateModelMixin, patient_apis.PatientViewSet):
    """Patients within the caller's reach; care staff also enrol one (``POST``), which sends
    her invitation. Anything outside her reach is 404."""

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return EnrolmentSerializer if self.action == "create" else patient_apis.PatientSerializer

    def get_permissions(self) -> Any:
        if self.action == "create":
            return [IsCareStaff()]
        return super().get_permissions()

    @extend_schema(request=EnrolmentSerializer, responses={201: patient_apis.PatientSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = EnrolmentSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        try:
            patient = patient_enrol(
                clinic=data.pop("clinic"),
                ai_drug=data.pop("ai_drug"),
                ai_start_date=data.pop("ai_start_date"),
                enrolled_by=user_of(request),
                **data,
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return Response(patient_apis.PatientSerializer(patient).data, status=201)
