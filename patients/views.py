"""Pages: login and the staff second factor, the home that sends each role to its place, and
the researcher's cohort summary. The patient's own page, the clinician's patient list and the
page of one patient are in ``clinical`` (reached here by URL name only: nothing here imports
it)."""

from __future__ import annotations

from base64 import b32encode
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django_otp import login as otp_login

from aimss_tracker.security import session_mark_login

from .access import is_care_staff_or_admin, staff_required
from .mfa import (
    has_confirmed_device,
    qr_svg,
    second_factor_match,
    totp_device_confirm,
    totp_device_pending,
)
from .models import User
from .selectors import clinics_of, cohort_summary


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if user.is_patient_role:
        return redirect("clinical:patient_home")
    if is_care_staff_or_admin(user):
        return redirect("clinical:patients")
    return redirect("patients:staff_home")


@staff_required
def staff_home(request: HttpRequest) -> HttpResponse:
    """The researcher's de-identified cohort summary; care staff have the clinician's list."""
    user: User = request.user  # type: ignore[assignment]
    if is_care_staff_or_admin(user):
        return redirect("clinical:patients")
    context = {"clinics": clinics_of(user), "summary": cohort_summary(user=user)}
    return render(request, "patients/staff_home.html", context)


class LoginView(auth_views.LoginView):
    """Django's login, starting the session clocks; django-axes counts its failures."""

    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        session_mark_login(self.request)
        return response


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url("home")


@login_required
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """Ask a staff member for her authenticator code (or a recovery code)."""
    user: User = request.user  # type: ignore[assignment]
    if not has_confirmed_device(user):
        return redirect(f"{reverse('mfa_setup')}?{urlencode({'next': _safe_next(request)})}")
    error = ""
    if request.method == "POST":
        device = second_factor_match(user=user, token=request.POST.get("token", ""))
        if device is not None:
            otp_login(request, device)
            return redirect(_safe_next(request))
        error = _(
            "That code is not valid. Enter the 6 digits your authenticator shows now, "
            "or one of your recovery codes."
        )
    return render(
        request, "registration/mfa_verify.html", {"error": error, "next": _safe_next(request)}
    )


@login_required
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Register an authenticator: show its QR code, confirm it with a first code."""
    user: User = request.user  # type: ignore[assignment]
    if has_confirmed_device(user) and not getattr(user, "is_verified", lambda: False)():
        return redirect(f"{reverse('mfa_verify')}?{urlencode({'next': _safe_next(request)})}")
    device = totp_device_pending(user=user)
    error = ""
    if request.method == "POST":
        codes = totp_device_confirm(device=device, token=request.POST.get("token", ""))
        if codes is not None:
            otp_login(request, device)
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
