"""The one seam every message goes through: one class per channel, as healthchecks'
``hc/api/transports.py``. Reminders and flag notifications say *what* to send and to whom (an
:class:`Outgoing`); a channel renders it from its own templates (``followup/<channel>/<what>``)
and hands it over. A new channel is a class here and a choice in ``Channel``; the callers keep
their claim-then-send rows and need no other change.

A channel reports a message it can never send (an invalid number) with :class:`SendFailed`,
and one that may go later (an outage) with :class:`SendDeferred`; :func:`deliver` turns both
into the row's status and reason.
"""

from __future__ import annotations

import datetime as dt
import re
import smtplib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

import phonenumbers
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from aimss_tracker.sms import SmsMessage, SmsRejected, SmsUnavailable, get_backend
from patients.models import Patient, SmsOptOut, User, wants_email, wants_sms

from .models import Channel as ChannelKind
from .models import ReminderSend, SendStatus

FAILURE_REASON_MAX = 200  # characters kept of a failure's reason
STOP_SALT = "aimss.sms-stop"


def message_id(key: str) -> str:
    """A Message-ID fixed by what the e-mail is (its send row's key): should a worker die
    after the mail server took a message but before it was marked sent, the sweep sends it
    again with the same id, so mail systems discard the copy."""
    domain = urlsplit(settings.AIMSS_BASE_URL).hostname or "localhost"
    return f"<{key}@{domain}>"


def claim_lease() -> dt.timedelta:
    """A send claimed this long ago and neither renewed nor finished is assumed lost (its
    worker died) and is claimed again by a sweep (``AIMSS_CLAIM_LEASE_SECONDS``)."""
    return dt.timedelta(seconds=settings.AIMSS_CLAIM_LEASE_SECONDS)


class LeaseKeeper:
    """Renews a batch's claim while its worker is sending, a third of the lease at a time,
    so a long batch is never taken over while its worker lives, and a dead worker's sends
    are taken over one lease after it stopped renewing."""

    def __init__(self, renew: Callable[[dt.datetime], object]) -> None:
        self._renew = renew
        self._every = settings.AIMSS_CLAIM_LEASE_SECONDS / 3
        self._last = time.monotonic()

    def keep(self) -> None:
        if time.monotonic() - self._last >= self._every:
            self._renew(timezone.now())
            self._last = time.monotonic()


# --- what to send ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """One message, whatever the channel."""

    what: str  # the templates' name: "reminder" or "flag"
    key: str  # its identity, the same on every retry (Message-ID, the SMS idempotency key)
    recipient: Patient | User
    context: Mapping[str, Any] = field(default_factory=dict)
    from_email: str | None = None  # e-mail only: None is DEFAULT_FROM_EMAIL

    @property
    def language(self) -> str:
        return self.recipient.preferred_language


class SendFailed(Exception):
    """This message can never go by this channel; the reason is recorded for staff."""


class SendDeferred(Exception):
    """The channel cannot take the message now; a sweep tries again."""


# --- the channels ----------------------------------------------------------------------------


class Channel:
    kind: ClassVar[str]

    def address(self, recipient: Patient | User) -> str:
        """Where this channel reaches the recipient; empty if nowhere."""
        raise NotImplementedError

    def send(self, outgoing: Outgoing, to: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what a batch kept open."""


class EmailChannel(Channel):
    kind = ChannelKind.EMAIL

    def __init__(self) -> None:
        self._connection: BaseEmailBackend | None = None

    def address(self, recipient: Patient | User) -> str:
        return recipient.email or ""

    def _open(self) -> BaseEmailBackend:
        if self._connection is None:
            self._connection = get_connection()
            self._connection.open()  # one SMTP conversation for a whole batch
        return self._connection

    def send(self, outgoing: Outgoing, to: str) -> None:
        base = f"followup/email/{outgoing.what}"
        with translation.override(outgoing.language):
            subject = render_to_string(f"{base}_subject.txt", outgoing.context).strip()
            message = EmailMultiAlternatives(
                subject,
                render_to_string(f"{base}.txt", outgoing.context),
                from_email=outgoing.from_email,
                to=[to],
                headers={"Message-ID": message_id(outgoing.key)},
                connection=self._open(),
            )
            message.attach_alternative(
                render_to_string(f"{base}.html", outgoing.context), "text/html"
            )
        try:
            message.send()
        except smtplib.SMTPRecipientsRefused as error:
            raise SendFailed(f"address refused: {_first_smtp_reason(error)}") from None
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise SendDeferred(f"mail server: {type(error).__name__}") from None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _first_smtp_reason(error: smtplib.SMTPRecipientsRefused) -> str:
    for code, text in error.recipients.values():
        return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    return ""


class SmsChannel(Channel):
    """A short neutral text with the link and how to stop texts (``followup/sms/<what>.txt``),
    through the SMS backend (``SMS_BACKEND``)."""

    kind = ChannelKind.SMS

    def address(self, recipient: Patient | User) -> str:
        phone = recipient.phone
        return str(phone.as_e164) if phone else ""

    def send(self, outgoing: Outgoing, to: str) -> None:
        if not _valid_number(to):
            raise SendFailed("not a valid mobile number")
        context = {**outgoing.context, "stop_url": stop_url_for(outgoing.recipient)}
        with translation.override(outgoing.language):
            text = render_to_string(f"followup/sms/{outgoing.what}.txt", context)
        body = re.sub(r"\s+", " ", text).strip()  # one paragraph: every character costs
        try:
            get_backend().send(SmsMessage(to=to, body=body, key=f"{outgoing.key}-sms"))
        except SmsRejected as error:
            raise SendFailed(str(error)) from None
        except SmsUnavailable as error:
            raise SendDeferred(str(error)) from None


def _valid_number(e164: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return False


CHANNELS: dict[str, type[Channel]] = {c.kind: c for c in (EmailChannel, SmsChannel)}


def channels_of(recipient: Patient | User, choice: str) -> list[str]:
    """The channels her choice (``ContactChannels``) asks for and that can reach her; e-mail
    when she chose texts but has no number."""
    kinds: list[str] = []
    if wants_email(choice) and recipient.email:
        kinds.append(ChannelKind.EMAIL)
    if wants_sms(choice) and recipient.phone:
        kinds.append(ChannelKind.SMS)
    if not kinds and recipient.email:
        kinds.append(ChannelKind.EMAIL)
    return kinds


@dataclass(frozen=True)
class Outcome:
    status: str  # SendStatus
    reason: str = ""

    @property
    def sent(self) -> bool:
        return self.status == SendStatus.SENT


def deliver(channel: Channel, outgoing: Outgoing) -> Outcome:
    """Send one message by one channel and say how it went (nothing raised)."""
    to = channel.address(outgoing.recipient)
    if not to:
        return Outcome(SendStatus.FAILED, f"no {channel.kind} address")
    try:
        channel.send(outgoing, to)
    except SendFailed as error:
        return Outcome(SendStatus.FAILED, str(error)[:FAILURE_REASON_MAX])
    except SendDeferred as error:
        return Outcome(SendStatus.PENDING, str(error)[:FAILURE_REASON_MAX])
    return Outcome(SendStatus.SENT)


def record_outcome(rows: QuerySet[Any], outcome: Outcome, *, claimed_at: dt.datetime) -> int:
    """Record a send's outcome on its claimed row (a ``ReminderSend`` or ``FlagNotification``
    filtered to the claim that sent it). A deferred send's claim is given up at once, so the
    next sweep takes it."""
    if outcome.status == SendStatus.SENT:
        return rows.update(status=SendStatus.SENT, sent_at=timezone.now(), failure_reason="")
    if outcome.status == SendStatus.FAILED:
        return rows.update(status=SendStatus.FAILED, failure_reason=outcome.reason)
    return rows.update(claimed_at=claimed_at - claim_lease(), failure_reason=outcome.reason)


# --- stopping texts --------------------------------------------------------------------------


def stop_token_for(recipient: Patient | User) -> str:
    """A signed, never-expiring token naming whose texts a stop link stops (an opt-out must
    keep working); it carries an id, nothing about health."""
    prefix = "p" if isinstance(recipient, Patient) else "u"
    return signing.Signer(salt=STOP_SALT).sign(f"{prefix}{recipient.pk}")


def stop_url_for(recipient: Patient | User) -> str:
    base = settings.AIMSS_BASE_URL.rstrip("/")
    return f"{base}{reverse('followup:sms_stop', args=[stop_token_for(recipient)])}"


def recipient_of_stop_token(token: str) -> Patient | User | None:
    try:
        value = signing.Signer(salt=STOP_SALT).unsign(token)
    except signing.BadSignature:
        return None
    kind, pk = value[:1], value[1:]
    if not pk.isdigit():
        return None
    model: type[Patient] | type[User] = Patient if kind == "p" else User
    return model.objects.filter(pk=int(pk)).first()


# --- what staff see ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsStatus:
    """Her texts as her contact block shows them: the last that could not go, the last stop."""

    failed_at: dt.datetime | None = None
    failure_reason: str = ""
    stopped: SmsOptOut | None = None


def sms_status_of(patient: Patient) -> SmsStatus:
    if not patient.phone:
        return SmsStatus()  # no number: no text can go, and nothing of texts to check with her
    failed = (
        ReminderSend.objects.filter(
            slot__patient=patient, channel=ChannelKind.SMS, status=SendStatus.FAILED
        )
        .order_by("-claimed_at")
        .values_list("claimed_at", "failure_reason")
        .first()
    )
    stopped = patient.sms_opt_outs.order_by("-created_at", "-id").first()
    if failed is None:
        return SmsStatus(stopped=stopped)
    return SmsStatus(failed_at=failed[0], failure_reason=failed[1], stopped=stopped)
