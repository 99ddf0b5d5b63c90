"""``GET /api/v1/patients/{id}/trajectory/``: the trajectory page's data as JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.access import get_patient_or_404
from patients.permissions import IsCareStaff

from .selectors import Trajectory, patient_trajectory


class TrajectoryPointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    date = serializers.DateField()
    months = serializers.FloatField(allow_null=True, help_text="Months since AIMSS diagnosis.")
    worst = serializers.IntegerField()
    least = serializers.IntegerField()
    average = serializers.IntegerField()
    now = serializers.IntegerField()
    interference = serializers.FloatField(allow_null=True)
    severity = serializers.FloatField()
    recall_period = serializers.CharField()
    band = serializers.CharField()
    interference_high = serializers.BooleanField()


class TrajectoryEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="A treatment event kind, or regimen_change.")
    label = serializers.CharField()  # type: ignore[assignment]  # a field named "label"
    start = serializers.DateField()
    end = serializers.DateField(allow_null=True)
    detail = serializers.CharField(help_text="Reason for stopping, or the new drug.")


class TrajectoryInterventionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    category = serializers.CharField()
    category_label = serializers.CharField()
    measure = serializers.CharField()
    measure_label = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField(allow_null=True)


class TrajectoryCheckInSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    date = serializers.DateField()
    days_taken = serializers.IntegerField()


class TrajectorySerializer(serializers.Serializer):
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
