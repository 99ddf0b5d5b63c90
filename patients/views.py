"""Pages: login and the staff second factor, the home that sends each role to its place, and
the researcher's cohort summary. The patient's own page, the clinician's patient list and the
page of one patient are in ``clinical`` (reached here by URL name only: nothing here imports
it)."""

from __future__ import annotations

from base64 import b32encode
from typing import Any
from urllib.parse import urlencode

from axes.utils import reset as axes_reset
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, logout
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from phonenumber_field.formfields import PhoneNumberField

from aimss_tracker.security import session_mark_login

from .access import admin_required, is_care_staff_or_admin, staff_required
from .forms import ClinicSettingsForm
from .http import AuthenticatedHttpRequest
from .invitations import PasswordResetInHerLanguageForm, invitation_tokens
from .mfa import (
    has_confirmed_device,
    qr_svg,
    second_factor_match,
    totp_device_confirm,
    totp_device_pending,
)
from .models import Clinic, ContactChannels, Language, User
from .selectors import clinics_of, cohort_summary
from .services import (
    clinic_update,
    contact_preferences_update,
    language_store,
    user_sessions_revoke,
)


@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    if user.is_patient_role:
        return redirect("clinical:patient_home")
    if is_care_staff_or_admin(user):
        return redirect("clinical:patients")
    return redirect("patients:staff_home")


@staff_required
def staff_home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The researcher's de-identified cohort summary; care staff have the clinician's list."""
    user = request.user
    if is_care_staff_or_admin(user):
        return redirect("clinical:patients")
    context = {"clinics": clinics_of(user), "summary": cohort_summary(user=user)}
    return render(request, "patients/staff_home.html", context)


@admin_required
def clinic_settings(request: HttpRequest, clinic_id: int) -> HttpResponse:
    """One clinic's rules and contact details, edited by an administrator."""
    clinic = get_object_or_404(Clinic, pk=clinic_id)
    form = ClinicSettingsForm(request.POST or None, instance=clinic)
    if request.method == "POST" and form.is_valid():
        try:
            clinic_update(clinic=clinic, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            saved = _("The settings of %(clinic)s are saved.") % {"clinic": clinic}
            messages.success(request, saved)
            return redirect("patients:clinic_settings", clinic_id=clinic.pk)
    status = 400 if form.is_bound else 200
    context = {"clinic": clinic, "form": form}
    return render(request, "patients/clinic_settings.html", context, status=status)


class LoginView(auth_views.LoginView):
    """Django's login, starting the session clocks; django-axes counts its failures. A
    language chosen on the login page becomes her stored preference."""

    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        session_mark_login(self.request)
        chosen = self.request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if chosen in Language.values:
            language_store(user=form.get_user(), language=chosen)
        return response


class LogoutView(auth_views.LogoutView):
    """Signing out ends every session of hers, on every device, and voids her API tokens."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if isinstance(request.user, User):
            user_sessions_revoke(user=request.user)
        return super().post(request, *args, **kwargs)


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's form, but the old password is checked as a login is: django-axes counts a
    wrong one as a failed login and locks the account (and this address) the same way."""

    def __init__(self, user: User, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self) -> str:
        old_password: str = self.cleaned_data["old_password"]
        if (
            authenticate(self.request, username=self.user.get_username(), password=old_password)
            is None
        ):
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password


class PasswordChangeView(auth_views.PasswordChangeView):
    """A new password voids her API tokens and ends her other sessions (``User.set_password``);
    this session continues. Locked out by wrong old passwords, she is signed out here too."""

    form_class = PasswordChangeForm
    success_url = reverse_lazy("password_change_done")

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}

    def form_invalid(self, form: Any) -> HttpResponse:
        if getattr(self.request, "axes_locked_out", False):
            logout(self.request)
        return super().form_invalid(form)


@login_required
@require_POST
def language_change(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The language switch of every signed-in page: stored on her profile (a patient's on her
    record, which her e-mails follow too), then back to the page she was on."""
    language = request.POST.get("language", "")
    if language in Language.values:
        language_store(user=request.user, language=language)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = resolve_url("home")
    response = redirect(target)
    if language in Language.values:
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
    return response


class PasswordResetView(auth_views.PasswordResetView):
    """ "Forgot your password?": Django's view, the same answer whether or not the address
    belongs to anyone (inactive accounts get nothing)."""

    form_class = PasswordResetInHerLanguageForm
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Setting a new password through a single-use link also lifts a lockout of that account
    (django-axes): she proved she owns the address, and must be able to sign in again."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        if self.user is not None:
            axes_reset(username=self.user.get_username())
        return response


class InvitationConfirmView(PasswordResetConfirmView):
    """The invitation's set-password page: the same machinery, its own token and words."""

    token_generator = invitation_tokens
    template_name = "registration/invitation_confirm.html"
    success_url = "/accounts/invitation/done/"


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url("home")


@login_required
def mfa_verify(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Ask a staff member for her authenticator code (or a recovery code)."""
    user = request.user
    if not has_confirmed_device(user):
        return redirect(f"{reverse('mfa_setup')}?{urlencode({'next': _safe_next(request)})}")
    error = ""
    if request.method == "POST":
        device = second_factor_match(user=user, token=request.POST.get("token", ""))
        if device is not None:
            otp_login(request, device)
            request.session.cycle_key()  # a new session key once the second factor is passed
            return redirect(_safe_next(request))
        error = _(
            "That code is not valid. Enter the 6 digits your authenticator shows now, "
            "or one of your recovery codes."
        )
    return render(
        request, "registration/mfa_verify.html", {"error": error, "next": _safe_next(request)}
    )


@login_required
def mfa_setup(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Register an authenticator: show its QR code, confirm it with a first code."""
    user = request.user
    if has_confirmed_device(user) and not getattr(user, "is_verified", lambda: False)():
        return redirect(f"{reverse('mfa_verify')}?{urlencode({'next': _safe_next(request)})}")
    device = totp_device_pending(user=user)
    error = ""
    if request.method == "POST":
        codes = totp_device_confirm(device=device, token=request.POST.get("token", ""))
        if codes is not None:
            otp_login(request, device)
            request.session.cycle_key()
            return render(
                request,
                "registration/mfa_recovery_codes.html",
                {"codes": codes, "next": _safe_next(request)},
            )
        error = _("That code is not valid. Check the time on your phone and try the new code.")
    secret = b32encode(device.bin_key).decode()
    return render(
        request,
        "registration/mfa_setup.html",
        {
            # SVG drawn locally by qrcode from our own otpauth URL: safe to embed as is
            "qr_svg": SafeString(qr_svg(device.config_url)),  # nosec B703
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "error": error,
            "next": _safe_next(request),
        },
    )


class ContactPreferencesForm(forms.Form):
    channels = forms.ChoiceField(choices=ContactChannels.choices, widget=forms.RadioSelect)
    phone = PhoneNumberField(label=_lazy("Your mobile phone"), required=False)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """How she hears from us: a patient chooses e-mail, texts or both for her reminders (her
    number is the one her clinic keeps); staff choose how high-priority flags reach them and
    give their own mobile number."""
    user: User = request.user  # type: ignore[assignment]
    patient = getattr(user, "patient", None) if user.is_patient_role else None
    current = patient.reminder_channels if patient else user.flag_alert_channels
    form = ContactPreferencesForm(
        request.POST or None, initial={"channels": current, "phone": user.phone}
    )
    if patient is not None:
        del form.fields["phone"]
        form.fields["channels"].label = _("Send my reminders by")
    else:
        form.fields["channels"].label = _("Tell me of high-priority flags by")
    if request.method == "POST" and form.is_valid():
        try:
            contact_preferences_update(
                user=user,
                channels=form.cleaned_data["channels"],
                phone=None if patient else str(form.cleaned_data.get("phone") or ""),
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error("channels" if field == "reminder_channels" else field, errors)
        else:
            messages.success(request, _("Your choice is saved."))
            return redirect("profile")
    status = 400 if form.errors else 200
    return render(
        request, "patients/profile.html", {"form": form, "patient": patient}, status=status
    )
