import csv
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from aimss_tracker.inputs import ASCII_ID

from .access import record_access, record_list_access
from .invitations import invitation_send
from .models import AccessRecord, Clinic, Patient, Role, StaffMembership, User
from .services import patient_update, user_set_role


class SuperuserOnlyAdmin:
    """Only a superuser sees or changes these models, whatever permissions others hold."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)


# Second-factor secrets and recovery codes, the periodic tasks that run the clinic's sweeps,
# and the groups that carry permissions: none of them for an administrator who is not a
# superuser, so that the admin role cannot read a colleague's authenticator or grant itself more.
SUPERUSER_ONLY_MODELS = [
    TOTPDevice,
    StaticDevice,
    PeriodicTask,
    IntervalSchedule,
    CrontabSchedule,
    SolarSchedule,
    ClockedSchedule,
    Group,
]
for _model in SUPERUSER_ONLY_MODELS:
    _registered = type(admin.site.get_model_admin(_model))
    admin.site.unregister(_model)
    admin.site.register(
        _model, type(f"SuperuserOnly{_registered.__name__}", (SuperuserOnlyAdmin, _registered), {})
    )

# What only a superuser may set on a user, herself included.
PRIVILEGE_FIELDS = ("is_superuser", "is_staff", "groups", "user_permissions")


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin[Clinic]):
    """Clinics are created here; their rules and contact details are edited on the clinic's
    settings page, which validates them together and explains what each one means."""

    list_display = ["name", "code", "time_zone", "settings_page"]
    search_fields = ["name", "code"]

    @admin.display(description=gettext_lazy("Rules and contact"))
    def settings_page(self, clinic: Clinic) -> str:
        url = reverse("patients:clinic_settings", args=[clinic.pk])
        return format_html('<a href="{}">{}</a>', url, _("Clinic settings"))


class StaffMembershipInline(admin.TabularInline[StaffMembership, User]):
    model = StaffMembership
    fields = ["clinic", "deidentified"]
    extra = 1


class UserInvitationForm(forms.ModelForm[User]):
    """A new account: the role first (no default), then who she is; no password is typed:
    the invitation e-mail lets her choose it."""

    role = forms.ChoiceField(
        label=gettext_lazy("Role"),
        choices=[("", "---------"), *Role.choices],
        help_text=gettext_lazy("What she does decides what she may see."),
    )
    send_invitation = forms.BooleanField(
        label=gettext_lazy("Send the invitation e-mail now"), required=False, initial=True
    )

    class Meta:
        model = User
        fields = ["role", "username", "email", "first_name", "last_name", "preferred_language"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("send_invitation") and not data.get("email"):
            self.add_error("email", _("An invitation needs an e-mail address."))
        return data

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit=False)
        user.set_unusable_password()
        if commit:
            user.save()
        return user


class MembershipInlineFormSet(
    forms.BaseInlineFormSet[StaffMembership, User, forms.ModelForm[StaffMembership]]
):
    def clean(self) -> None:
        super().clean()
        clinics = [
            f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE", False)
        ]
        if clinics and getattr(self.instance, "role", "") == Role.PATIENT:
            raise ValidationError(
                _(
                    "A patient has no clinic membership (her record names her clinic). "
                    "Choose a staff role, or remove the clinics."
                )
            )


class StaffMembershipFormsetInline(StaffMembershipInline):
    formset = MembershipInlineFormSet


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    list_display = ["username", "role", "email", "is_active", "invitation", "last_login"]
    list_filter = ["role", "is_active", "clinics"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,  # type: ignore[misc]
        ("AIMSS Tracker", {"fields": ("role", "preferred_language", "invited_at")}),
    )
    add_form = UserInvitationForm
    add_fieldsets = (
        (
            None,
            {
                "fields": (
                    "role",
                    "username",
                    "email",
                    "first_name",
                    "last_name",
                    "preferred_language",
                    "send_invitation",
                )
            },
        ),
    )
    readonly_fields = ["invited_at"]
    inlines = [StaffMembershipFormsetInline]
    actions = ["send_invitations"]

    @admin.display(description=gettext_lazy("Invitation"))
    def invitation(self, obj: User) -> str:
        if obj.invitation_used:
            return _("used")
        if obj.invited_at:
            return _("sent %(date)s, not used") % {"date": f"{obj.invited_at:%Y-%m-%d}"}
        return "—"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly if request.user.is_superuser else readonly + PRIVILEGE_FIELDS

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """A superuser's account (her password included) is changed by superusers only."""
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        user_set_role(user=obj, role=obj.role)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if not change and form.cleaned_data.get("send_invitation"):
            self._invite(request, form.instance)

    def _invite(self, request: HttpRequest, user: User) -> bool:
        try:
            invitation_send(user=user)
        except ValidationError as error:
            self.message_user(request, f"{user}: {' '.join(error.messages)}", messages.WARNING)
            return False
        self.message_user(request, _("Invitation sent to %(email)s.") % {"email": user.email})
        return True

    @admin.action(description=gettext_lazy("Send (again) the invitation e-mail"))
    def send_invitations(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            self._invite(request, user)


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin[Patient]):
    """Patients; each change page opened is an access record, and its access history can be
    exported as CSV."""

    list_display = ["record_number", "family_name", "given_name", "clinic", "tnm_stage"]
    list_filter = ["clinic", "tnm_stage", "surgery", "chemotherapy", "radiotherapy"]
    search_fields = ["record_number", "family_name", "given_name"]
    # Her login is found by a search (name, username, e-mail), never typed as an id.
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """A change goes through ``patient_update``, the one path that moves her flags with
        her when her clinic changes."""
        if change:
            patient_update(patient=obj)
        else:
            super().save_model(request, obj, form, change)

    def get_urls(self) -> list[Any]:
        extra = [
            path(
                "<int:pk>/access-history.csv",
                self.admin_site.admin_view(self.access_history_csv),
                name="patients_patient_access_history",
            )
        ]
        return extra + super().get_urls()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:
        """The list page: each patient it shows is an access record (docs/security.md #24)."""
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            record_list_access(
                request.user,
                patient_ids=[patient.pk for patient in changelist.result_list],
                what="admin list of patients",
            )
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        extra = dict(extra_context or {})
        if ASCII_ID.fullmatch(object_id) and Patient.objects.filter(pk=object_id).exists():
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
