"""REST API for patients: staff read the patients of their clinics, a patient reads herself."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from .access import patient_id_of, patients_visible_to, record_access
from .models import Patient


class PatientSerializer(serializers.ModelSerializer):
    age = serializers.IntegerField(read_only=True)
    bmi = serializers.DecimalField(max_digits=4, decimal_places=1, read_only=True)
    clinic: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )

    class Meta:
        model = Patient
        fields = [
            "id",
            "clinic",
            "record_number",
            "given_name",
            "family_name",
            "birth_date",
            "age",
            "height_cm",
            "weight_kg",
            "bmi",
            "tnm_stage",
            "surgery",
            "chemotherapy",
            "radiotherapy",
            "menopausal_status",
            "hr_status",
            "aimss_diagnosis_date",
            "preferred_language",
            "time_zone",
        ]
        read_only_fields = fields


class RecordsAccess:
    """For viewsets of patient-owned objects: each object a staff member opens is recorded
    against its patient. ``patient_path`` leads from the object to her."""

    patient_path = "patient"

    def get_object(self) -> Any:
        obj = super().get_object()  # type: ignore[misc]
        record_access(
            self.request.user,  # type: ignore[attr-defined]
            patient_id=patient_id_of(obj, self.patient_path),
            obj=obj,
        )
        return obj


class PatientViewSet(RecordsAccess, viewsets.ReadOnlyModelViewSet):
    """Patients within the caller's reach; anything else is 404."""

    serializer_class = PatientSerializer
    patient_path = ""

    def get_queryset(self) -> QuerySet[Patient]:
        return patients_visible_to(self.request.user).select_related("clinic")
