"""``Authorization: Token <key>`` for the API, with the staff second factor enforced.

:class:`aimss_tracker.security.StaffSecondFactorMiddleware` runs before DRF and knows only the
session; it lets API requests that carry a token through, and this class decides: a staff
token is accepted only if it was issued after a second factor (while ``AIMSS_STAFF_MFA`` is on).
A header with a bad token is refused outright; it never falls back to the session.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .tokens import api_token_find


class ApiTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        token = api_token_find(key)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        user = token.user
        if user.sessions_revoked_at is not None and token.created_at <= user.sessions_revoked_at:
            # she signed out or changed her password after this token was issued
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        if settings.AIMSS_STAFF_MFA and not user.is_patient_role and not token.second_factor:
            raise exceptions.AuthenticationFailed(
                _("This token was issued without a second factor; ask for a new one with otp.")
            )
        return user, token
