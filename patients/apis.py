"""REST API for patients: staff read the patients of their clinics, a patient reads herself."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from aimss_tracker.inputs import ID_PATH

from .access import patient_id_of, patients_visible_to, record_access, record_list_access
from .models import Patient


class PatientSerializer(serializers.ModelSerializer[Patient]):
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
            "phone",
            "reminder_channels",
            "preferred_language",
            "time_zone",
        ]
        read_only_fields = fields


class RecordsAccess:
    """For viewsets of patient-owned objects: each object a staff member opens, and each
    patient whose objects a list page shows, is recorded against her.
    ``patient_path`` leads from the object to her."""

    patient_path = "patient"
    lookup_value_regex = ID_PATH  # "²", "٣" or 20 digits: no such route (a JSON 404)

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)  # type: ignore[misc]
        shown = page if page is not None else queryset
        record_list_access(
            self.request.user,  # type: ignore[attr-defined]
            patient_ids=[patient_id_of(obj, self.patient_path) for obj in shown],
            what=f"list {self.request.path}",  # type: ignore[attr-defined]
        )
        return page

    def get_object(self) -> Any:
        obj = super().get_object()  # type: ignore[misc]
        record_access(
            self.request.user,  # type: ignore[attr-defined]
            patient_id=patient_id_of(obj, self.patient_path),
            obj=obj,
        )
        return obj


class PatientViewSet(RecordsAccess, viewsets.ReadOnlyModelViewSet[Patient]):
    """Patients within the caller's reach; anything else is 404."""

    serializer_class = PatientSerializer
    patient_path = ""

    def get_queryset(self) -> QuerySet[Patient]:
        return patients_visible_to(self.request.user).select_related("clinic")
