"""Issuing, checking and revoking API tokens (services of the token endpoint)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from django.conf import settings
from django.utils import timezone

from patients.models import User

from .models import ApiToken

logger = logging.getLogger(__name__)

KEY_BYTES = 32  # 256 bits of randomness, URL-safe text of 43 characters


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_issue(*, user: User, second_factor: bool) -> tuple[ApiToken, str]:
    """A new token for ``user``; ``(token, key)``. The key is returned once and not stored."""
    key = secrets.token_urlsafe(KEY_BYTES)
    token = ApiToken.objects.create(
        user=user,
        key_hash=key_hash(key),
        second_factor=second_factor,
        expires_at=timezone.now() + dt.timedelta(seconds=settings.AIMSS_API_TOKEN_SECONDS),
    )
    logger.info("api_token.issued token_id=%s user_id=%s", token.pk, user.pk)
    return token, key


def api_token_find(key: str) -> ApiToken | None:
    """The unexpired token of ``key`` with its user, or None."""
    return (
        ApiToken.objects.select_related("user")
        .filter(key_hash=key_hash(key), expires_at__gt=timezone.now())
        .first()
    )


def api_token_revoke(*, user: User, token: ApiToken | None) -> int:
    """Revoke ``token``, or, without one (a session), every token of ``user``."""
    tokens = ApiToken.objects.filter(user=user)
    if token is not None:
        tokens = tokens.filter(pk=token.pk)
    count, _by_model = tokens.delete()
    logger.info("api_token.revoked user_id=%s count=%s", user.pk, count)
    return count
