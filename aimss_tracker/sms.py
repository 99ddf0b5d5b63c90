"""Text messages through interchangeable backends, on the pattern of Django's e-mail backends.

``SMS_BACKEND`` names the backend: ``console`` (the demo), ``locmem`` (tests: ``outbox``),
``file`` (one JSON line per message, for tests whose workers are other processes), ``twilio``
(Twilio's REST API), or a dotted path to a class of your own. A backend either returns the
provider's id for the message, or raises :class:`SmsRejected` (this message can never go: a
number the provider refuses) or :class:`SmsUnavailable` (try again later: an outage).

Written here rather than taken from django-sms: that package's ``send_sms`` returns a count for
a batch, with no per-message outcome, permanent-or-transient distinction or idempotency key,
and each caller here needs those to record a failure and to retry without duplicates.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

ALIASES = {
    "console": "aimss_tracker.sms.ConsoleBackend",
    "locmem": "aimss_tracker.sms.LocmemBackend",
    "file": "aimss_tracker.sms.FileBackend",
    "twilio": "aimss_tracker.sms.TwilioBackend",
}
TWILIO_API = "https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json"
# Twilio error codes that mean this number will never take this message (Twilio's error
# dictionary: 21211 invalid 'To', 21612/21614 not reachable or not a mobile, 21610 the number
# replied STOP to our sender, 21408 region not enabled).
TWILIO_PERMANENT = {21211, 21408, 21610, 21612, 21614}


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164
    body: str
    # Stable identity of this message (the same on a retry): the provider's idempotency key
    # where it offers one.
    key: str


class SmsRejected(Exception):
    """The message can never be sent (e.g. an invalid number); the reason is safe to show."""


class SmsUnavailable(Exception):
    """The provider could not take the message now; a later sweep tries again."""


class BaseBackend:
    def send(self, message: SmsMessage) -> str:
        """Hand the message to the provider; return its id for it."""
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    """The demo's: the message printed to standard output, as Django's console e-mail."""

    def send(self, message: SmsMessage) -> str:
        sys.stdout.write(f"SMS to {message.to} [{message.key}]\n{message.body}\n{'-' * 40}\n")
        sys.stdout.flush()
        return f"console-{message.key}"


outbox: list[SmsMessage] = []


class LocmemBackend(BaseBackend):
    """The tests': messages appended to ``aimss_tracker.sms.outbox``."""

    def send(self, message: SmsMessage) -> str:
        outbox.append(message)
        return f"locmem-{len(outbox)}"


_file_lock = threading.Lock()


class FileBackend(BaseBackend):
    """One JSON line per message in ``SMS_FILE_PATH`` (tests whose workers are processes)."""

    def send(self, message: SmsMessage) -> str:
        line = json.dumps(asdict(message), ensure_ascii=False) + "\n"
        with _file_lock, Path(settings.SMS_FILE_PATH).open("a", encoding="utf-8") as out:
            out.write(line)
        return f"file-{message.key}"


class TwilioBackend(BaseBackend):
    """Twilio Programmable Messaging over its REST API (``TWILIO_ACCOUNT_SID``,
    ``TWILIO_AUTH_TOKEN``, ``TWILIO_FROM``). Twilio takes no idempotency key for a new
    message, so the key goes nowhere; docs/operations.md states what that leaves open."""

    def send(self, message: SmsMessage) -> str:
        sid, token, sender = (
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            settings.TWILIO_FROM,
        )
        if not (sid and token and sender):
            raise SmsUnavailable(
                "Twilio is not configured (TWILIO_ACCOUNT_SID, _AUTH_TOKEN, _FROM)"
            )
        sender_field = "MessagingServiceSid" if sender.startswith("MG") else "From"
        data = urllib.parse.urlencode(
            {"To": message.to, "Body": message.body, sender_field: sender}
        )
        request = urllib.request.Request(  # noqa: S310 - a fixed https address
            TWILIO_API.format(sid=urllib.parse.quote(sid)),
            data=data.encode(),
            method="POST",
            headers={
                "Authorization": "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode(),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.SMS_TIMEOUT) as answer:  # noqa: S310  # nosec B310
                return str(json.loads(answer.read())["sid"])
        except urllib.error.HTTPError as error:
            code, text = _twilio_error(error)
            if error.code < 500 and error.code != 429 and code in TWILIO_PERMANENT:
                raise SmsRejected(f"Twilio {code}: {text}") from None
            raise SmsUnavailable(f"Twilio HTTP {error.code} ({code})") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise SmsUnavailable(f"Twilio unreachable: {type(error).__name__}") from None


def _twilio_error(error: urllib.error.HTTPError) -> tuple[int | None, str]:
    try:
        body = json.loads(error.read())
        return int(body.get("code")), str(body.get("message", ""))[:120]
    except (ValueError, TypeError):
        return None, ""


def get_backend() -> BaseBackend:
    """The configured backend (``SMS_BACKEND``), a new instance per call like Django's."""
    path = ALIASES.get(settings.SMS_BACKEND, settings.SMS_BACKEND)
    backend: BaseBackend = import_string(path)()
    return backend
