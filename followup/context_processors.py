"""The flag badge in every staff page's header."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .selectors import flag_badge_count


def flag_badge(request: HttpRequest) -> dict[str, Callable[[], int]]:
    """``flag_badge``: her clinics' unclaimed high-priority flags, counted (one query) only
    if the page shows it, and never before a staff member's second factor."""
    user: Any = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if not (user.is_care_staff or user.is_admin_role):
        return {}
    if settings.AIMSS_STAFF_MFA and not user.is_verified():
        return {}
    return {"flag_badge": lambda: flag_badge_count(user)}
