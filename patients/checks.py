"""System checks for the deployment (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning as CheckWarning
from django.core.checks import register


@register("security", deploy=True)
def check_staff_mfa(app_configs: Any, **kwargs: Any) -> list[CheckWarning]:
    """Warn when staff could reach health data with a password alone."""
    if not settings.AIMSS_STAFF_MFA and not settings.DEBUG:
        return [
            CheckWarning(
                "AIMSS_STAFF_MFA is off while DEBUG is false: staff reach health data "
                "with a password alone.",
                hint="Unset AIMSS_STAFF_MFA (it defaults to on) in production.",
                id="aimss.W001",
            )
        ]
    return []


@register("security", deploy=True)
def check_shared_cache(app_configs: Any, **kwargs: Any) -> list[CheckWarning]:
    """Warn when API throttle counters are kept per process in production."""
    if not settings.DEBUG and "locmem" in settings.CACHES["default"]["BACKEND"]:
        return [
            CheckWarning(
                "The cache is local memory while DEBUG is false: each web process counts API "
                "throttles on its own, so a client gets the limit once per process.",
                hint="Set CACHE_URL to a Redis shared by every web process (redis://host:6379/1).",
                id="aimss.W002",
            )
        ]
    return []
