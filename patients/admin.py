import csv
from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse

from .access import record_access
from .models import AccessRecord, Clinic, Patient, StaffMembership, User
from .services import user_set_role


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "time_zone"]
    search_fields = ["name", "code"]


class StaffMembershipInline(admin.TabularInline):
    model = StaffMembership
    extra = 1


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "role", "email", "is_active", "last_login"]
    list_filter = ["role", "is_active", "clinics"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,  # type: ignore[misc]
        ("AIMSS Tracker", {"fields": ("role", "preferred_language")}),
    )
    inlines = [StaffMembershipInline]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        user_set_role(user=obj, role=obj.role)


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    """Patients; each change page opened is an access record, and its access history can be
    exported as CSV."""

    list_display = ["record_number", "family_name", "given_name", "clinic", "tnm_stage"]
    list_filter = ["clinic", "tnm_stage", "surgery", "chemotherapy", "radiotherapy"]
    search_fields = ["record_number", "family_name", "given_name"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at", "updated_at"]

    def get_urls(self) -> list[Any]:
        extra = [
            path(
                "<int:pk>/access-history.csv",
                self.admin_site.admin_view(self.access_history_csv),
                name="patients_patient_access_history",
            )
        ]
        return extra + super().get_urls()

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        extra = dict(extra_context or {})
        if object_id.isdigit() and Patient.objects.filter(pk=object_id).exists():
            record_access(request.user, patient_id=int(object_id), obj=Patient(pk=int(object_id)))
            extra["access_history_url"] = reverse(
                "admin:patients_patient_access_history", args=[object_id]
            )
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def access_history_csv(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Every recorded staff view of this patient's data, oldest first."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        patient = get_object_or_404(Patient, pk=pk)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="access-history-{patient.pk}.csv"'
        writer = csv.writer(response)
        writer.writerow(["viewed_at", "username", "role", "record"])
        for record in (
            AccessRecord.objects.filter(patient=patient)
            .select_related("user")
            .order_by("viewed_at", "id")
        ):
            writer.writerow(
                [record.viewed_at.isoformat(), record.user.username, record.user.role, record.what]
            )
        return response
