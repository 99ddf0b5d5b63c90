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
