"""Request-level safeguards: session limits, the staff second factor, the reminder link's
scope, no caching of pages."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from rest_framework.throttling import BaseThrottle

Handler = Callable[[HttpRequest], HttpResponse]

SESSION_STARTED = "aimss_auth_started_at"
SESSION_LAST_SEEN = "aimss_last_seen_at"
LAST_SEEN_RESOLUTION = 30  # seconds: the session is rewritten at most this often for activity


def _is_staff(user: Any) -> bool:
    return bool(user.is_authenticated) and not user.is_patient_role


def session_mark_login(request: HttpRequest) -> None:
    """Start the absolute and idle clocks of a new login."""
    now = int(time.time())
    request.session[SESSION_STARTED] = now
    request.session[SESSION_LAST_SEEN] = now


class SessionLimitsMiddleware:
    """Ends a session after inactivity (15 minutes for staff) or after an absolute limit."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            now = int(time.time())
            started = request.session.setdefault(SESSION_STARTED, now)
            last_seen = request.session.get(SESSION_LAST_SEEN, now)
            idle_limit = (
                settings.AIMSS_IDLE_TIMEOUT_STAFF
                if _is_staff(user)
                else settings.AIMSS_IDLE_TIMEOUT_PATIENT
            )
            if (
                now - last_seen > idle_limit
                or now - started > settings.AIMSS_SESSION_ABSOLUTE_LIMIT
            ):
                logout(request)
                messages.info(request, _("You were signed out to protect your information."))
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": _("Your session has ended.")}, status=401)
                return redirect(
                    f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}"
                )
            if now - last_seen >= LAST_SEEN_RESOLUTION or SESSION_LAST_SEEN not in request.session:
                request.session[SESSION_LAST_SEEN] = now
        return self.get_response(request)


# Paths a staff member may use before her second factor: to give it, or to leave.
# The token endpoint checks password and second factor itself; a patient's reminder link
# (/q/) opened in her browser only asks whether to sign her out.
MFA_EXEMPT_PREFIXES = (
    "/accounts/mfa/",
    "/accounts/logout/",
    "/accounts/login/",
    "/static/",
    "/api/v1/auth/token/",
    "/q/",
)


def _carries_api_token(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") and request.headers.get("Authorization", "").startswith(
        "Token "
    )


class StaffSecondFactorMiddleware:
    """Staff must pass a second factor before any page or API call.

    An API request with a token is left to DRF: ``interop.authentication`` accepts a staff
    token only if it was issued with a second factor, and never falls back to the session.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user: Any = request.user
        if (
            settings.AIMSS_STAFF_MFA
            and _is_staff(user)
            and not user.is_verified()
            and not request.path.startswith(MFA_EXEMPT_PREFIXES)
            and not _carries_api_token(request)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": _("A second factor is required: verify it at /accounts/mfa/.")},
                    status=403,
                )
            return redirect(
                f"{reverse('mfa_verify')}?{urlencode({'next': request.get_full_path()})}"
            )
        return self.get_response(request)


class NoStoreMiddleware:
    """Pages and API answers for a signed-in user are never stored by browsers or proxies."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.user.is_authenticated or request.path.startswith(("/api/", "/accounts/")):
            patch_cache_control(response, no_store=True, private=True)
        return response


# A reminder link signs the patient in for her questionnaire only: the pages of that one
# questionnaire and the thank-you page of the answer sent in this session.
LINK_SCOPE_SESSION_KEY = "aimss_link_scope"
LINK_SCOPE_ANSWER_KEY = "aimss_link_answer"
LINK_SCOPE_URL_NAMES = frozenset(
    {
        "assessments:new",
        "assessments:detail",
        "followup:questionnaire_link",
        "logout",
        "login",
        "set_language",
        "language_change",
    }
)


def link_scoped(request: HttpRequest) -> bool:
    """Whether this session was opened by a reminder link (not by her password)."""
    return LINK_SCOPE_SESSION_KEY in request.session


def link_scope_answered(request: HttpRequest, *, response_id: int) -> None:
    """Record the answer sent in a link's session: its thank-you page is all that is left."""
    if link_scoped(request):
        request.session[LINK_SCOPE_ANSWER_KEY] = response_id


class LinkScopeMiddleware:
    """A session opened by a reminder link reaches its questionnaire and, once answered, that
    answer's thank-you page, and nothing else; anything else ends it and asks for a login."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if not link_scoped(request) or request.resolver_match is None:
            return None
        name = request.resolver_match.view_name
        answer = request.session.get(LINK_SCOPE_ANSWER_KEY)
        if name == "assessments:new" and answer is not None:
            return redirect("assessments:detail", pk=answer)  # the one questionnaire is done
        if name == "assessments:detail" and kwargs.get("pk") != answer:
            name = ""  # another response: her history needs a real login
        if name in LINK_SCOPE_URL_NAMES:
            return None
        logout(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": _("Log in to use the API.")}, status=401)
        messages.info(request, _("Log in to see the rest of your records."))
        return redirect(f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}")


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, for lockouts (django-axes) and API throttles alike.

    DRF's rule, with ``NUM_PROXIES`` from ``AIMSS_NUM_PROXIES``: with no trusted proxy (the
    default) the connection's address, whatever ``X-Forwarded-For`` claims; behind N proxies,
    the N-th address from the right of ``X-Forwarded-For``, the one the outermost proxy saw.
    """
    address = BaseThrottle().get_ident(request)  # type: ignore[arg-type]
    return str(address) if address else None
