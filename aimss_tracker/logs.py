"""Log records never carry a reminder link's token.

The link is spent at its first opening and redirects to an address without the token, so only
that first request's line holds it; this filter rewrites ``/q/<token>/`` in every record that
passes Django's console handler (Django's request and runserver logs, everything else) and
gunicorn's access and error logs (``gunicorn.conf.py`` names :class:`GunicornLogger`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger as _GunicornLogger

# The reminder link's route (followup.urls): /q/<token>/; the token is URL-safe base64 and ':'.
LINK_TOKEN = re.compile(r"/q/[^/\s?#\"']+")
REDACTED = "/q/[token]"


def redact(text: str) -> str:
    return LINK_TOKEN.sub(REDACTED, text)


class RedactLinkTokens(logging.Filter):
    """Rewrites the message of a record mentioning a reminder link, with the token left out."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/q/" in message:
            record.msg = redact(message)
            record.args = None
        return True


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger with the filter on its access and error logs, whatever their handlers."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, RedactLinkTokens) for f in log.filters):
                log.addFilter(RedactLinkTokens())
