"""Account e-mails: the invitation with its set-password link, and the forgotten-password
e-mail, both on Django's password-reset machinery.

An invitation link is Django's password-reset token with a salt and a lifetime of its own
(``AIMSS_INVITATION_DAYS``): it works once (setting a password changes the hash the token is
made from), expires, and opens nothing but the set-password form. The e-mail is in her
language, from the clinic's neutral sender name, and says nothing about her health.
"""

from __future__ import annotations

import datetime as dt
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode
from django.utils.translation import gettext as _

from .models import Clinic, Patient, User


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Django's password-reset token, with its own salt and ``AIMSS_INVITATION_DAYS``."""

    key_salt = "aimss.invitation"

    def check_token(self, user: Any, token: str | None) -> bool:
        if not (user and token):
            return False
        try:
            ts_b36, _hash = token.split("-")
            timestamp = base36_to_int(ts_b36)
        except ValueError:
            return False
        age = self._num_seconds(self._now()) - timestamp
        if age > settings.AIMSS_INVITATION_DAYS * 86400:
            return False
        return any(
            constant_time_compare(self._make_token_with_timestamp(user, timestamp, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        )


invitation_tokens = InvitationTokenGenerator()


def sender_name_of(clinic: Clinic | None) -> str:
    """The clinic's neutral sender name, else the product's (``AIMSS_EMAIL_SENDER_NAME``)."""
    return (clinic.email_sender_name if clinic else "") or settings.AIMSS_EMAIL_SENDER_NAME


def sender_of(clinic: Clinic | None) -> str:
    """``Name <address>`` for a patient's e-mails: the neutral name, the configured address."""
    return formataddr((sender_name_of(clinic), parseaddr(settings.DEFAULT_FROM_EMAIL)[1]))


def clinic_of(user: User) -> Clinic | None:
    """The clinic an account e-mail speaks for: hers, or the staff member's first."""
    patient: Patient | None = getattr(user, "patient", None) if user.is_patient_role else None
    if patient is not None:
        return patient.clinic
    return user.clinics.order_by("name").first()


def invitation_url(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("invitation_confirm", args=[uid, invitation_tokens.make_token(user)])
    return f"{settings.AIMSS_BASE_URL.rstrip('/')}{path}"


def invitation_send(*, user: User, now: dt.datetime | None = None) -> User:
    """E-mail ``user`` a single-use link to set her password, in her language; refused for an
    account that is inactive, has no address, or has already been set up."""
    if not user.is_active:
        raise ValidationError(_("This account is inactive; no invitation is sent."))
    if not user.email:
        raise ValidationError(_("This account has no e-mail address to send an invitation to."))
    if user.invitation_used:
        raise ValidationError(
            _(
                "The invitation was already used: this account has a password. "
                "Use 'Forgot your password?' instead."
            )
        )
    clinic = clinic_of(user)
    context = {
        "url": invitation_url(user),
        "username": user.get_username(),
        "valid_days": settings.AIMSS_INVITATION_DAYS,
        "product": settings.AIMSS_EMAIL_SENDER_NAME,
    }
    with translation.override(user.preferred_language):
        subject = render_to_string("registration/invitation_subject.txt", context).strip()
        message = EmailMultiAlternatives(
            subject,
            render_to_string("registration/invitation_email.txt", context),
            from_email=sender_of(clinic),
            to=[user.email],
        )
    message.send()
    user.invited_at = now or timezone.now()
    user.save(update_fields=["invited_at"])
    return user


class PasswordResetInHerLanguageForm(PasswordResetForm):
    """Django's forgotten-password form; the e-mail goes out in the user's own language, from
    the neutral sender, with a link on the configured base URL."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        user = context["user"]
        context["base_url"] = settings.AIMSS_BASE_URL.rstrip("/")
        with translation.override(user.preferred_language):
            super().send_mail(
                subject_template_name,
                email_template_name,
                context,
                sender_of(clinic_of(user)),
                to_email,
                html_email_template_name,
            )
