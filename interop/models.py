"""API tokens: a hash of the key, who holds it, and whether a second factor was checked.

The key itself is shown once, when it is issued, and never stored: a copy of the table gives
no one access. A staff token counts only if it was issued with a second factor,
so switching ``AIMSS_STAFF_MFA`` on retires every staff token issued without one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    key_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the key, hex.")
    second_factor = models.BooleanField(
        default=False, help_text="Issued after a TOTP or recovery code was checked."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"API token {self.pk} of user {self.user_id}"
