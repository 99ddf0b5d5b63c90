from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from .models import Clinic, Patient, StaffMembership, User
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
    list_display = ["record_number", "family_name", "given_name", "clinic", "tnm_stage"]
    list_filter = ["clinic", "tnm_stage", "surgery", "chemotherapy", "radiotherapy"]
    search_fields = ["record_number", "family_name", "given_name"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at", "updated_at"]
