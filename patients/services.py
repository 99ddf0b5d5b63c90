"""Writes for clinics, users and patients."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aimss_tracker.dispatch import (
    PATIENT_CLINIC_CHANGED,
    PATIENT_LISTING_CHANGED,
    run_in_transaction,
)

from .models import (
    Clinic,
    ContactChannels,
    OptOutVia,
    Patient,
    Role,
    SmsOptOut,
    StaffMembership,
    User,
    wants_sms,
)


@transaction.atomic
def user_set_role(*, user: User, role: str) -> User:
    """Give ``user`` the role and exactly the matching permission group."""
    user.role = Role(role)
    user.is_staff = user.role == Role.ADMIN or user.is_superuser  # Django admin access
    user.save(update_fields=["role", "is_staff"])
    role_groups = Group.objects.filter(name__in=Role.values)
    user.groups.remove(*role_groups.exclude(name=user.role))
    group, _created = Group.objects.get_or_create(name=user.role)
    user.groups.add(group)
    return user


def user_sessions_revoke(*, user: User) -> None:
    """End every session and API token of ``user``, on every device (her sign-out).

    Sessions check ``sessions_revoked_at`` through the session hash, tokens through their
    issue time, so nothing has to be found and deleted one by one.
    """
    user.sessions_revoked_at = timezone.now()
    user.save(update_fields=["sessions_revoked_at"])


@transaction.atomic
def user_create(
    *,
    username: str,
    role: str,
    password: str | None = None,
    password_hash: str | None = None,
    clinics: Iterable[Clinic] = (),
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    preferred_language: str = "en",
    is_superuser: bool = False,
) -> User:
    """Create a login with its role and clinic memberships.

    ``password_hash`` lets bulk seeding reuse one Argon2 hash instead of hashing per user.
    """
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        preferred_language=preferred_language,
        is_superuser=is_superuser,
    )
    if password_hash is not None:
        user.password = password_hash
    else:
        user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    user_set_role(user=user, role=role)
    StaffMembership.objects.bulk_create(
        [StaffMembership(user=user, clinic=clinic) for clinic in clinics]
    )
    return user


@transaction.atomic
def patient_create(*, clinic: Clinic, user: User | None = None, **fields: Any) -> Patient:
    """Create a patient after full validation (clear errors, nothing saved on failure)."""
    patient = Patient(clinic=clinic, user=user, **fields)
    patient.full_clean()
    patient.save()
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, **fields: Any) -> Patient:
    """Change a patient's record after full validation.

    A move to another clinic moves all her flags, open and resolved, to that clinic in the
    same transaction: the old clinic's staff lose them and the new clinic's see them at the
    commit, whichever screen made the move (this is the one transfer path)."""
    # The stored clinic, not the instance's: a caller (the admin's form) may have set the new
    # one on the instance already. Locked, so two moves of her cannot interleave.
    old_clinic_id, old_family_name = (
        Patient.objects.select_for_update()
        .filter(pk=patient.pk)
        .values_list("clinic_id", "family_name")
        .get()
    )
    for name, value in fields.items():
        setattr(patient, name, value)
    patient.full_clean()
    patient.save()
    if patient.clinic_id != old_clinic_id:
        run_in_transaction(PATIENT_CLINIC_CHANGED, patient.pk)
    if (patient.clinic_id, patient.family_name) != (old_clinic_id, old_family_name):
        # her scores' summary keeps both, for the list sorted by her scores
        run_in_transaction(PATIENT_LISTING_CHANGED, patient.pk)
    return patient


def patient_death_record(*, patient_id: int, died_on: dt.date) -> None:
    """A death recorded for her: every page of hers says so, and her login stops working (no
    sign-in, no e-mail). Idempotent; the first date recorded stays."""
    Patient.objects.filter(pk=patient_id, died_on__isnull=True).update(died_on=died_on)
    user_ids = Patient.objects.filter(pk=patient_id, user__isnull=False).values("user_id")
    User.objects.filter(pk__in=user_ids, is_active=True).update(is_active=False)


def language_store(*, user: User, language: str) -> None:
    """Keep her language: on her patient record (the pages and her e-mails follow it) and on
    her login."""
    User.objects.filter(pk=user.pk).update(preferred_language=language)
    user.preferred_language = language
    Patient.objects.filter(user_id=user.pk).update(preferred_language=language)
    # Her record, if this request has loaded it already (the pages read her language from it).
    patient = getattr(user, "patient", None) if User.patient.is_cached(user) else None
    if patient is not None:
        patient.preferred_language = language


def clinic_update(*, clinic: Clinic, **fields: Any) -> Clinic:
    """Change a clinic's contact details or rules after full validation (nothing is saved on
    failure). Every reader sees the new rules through ``patients.rules.rules_of``."""
    for name, value in fields.items():
        setattr(clinic, name, value)
    clinic.full_clean()
    clinic.save()
    return clinic


@transaction.atomic
def sms_opt_out(
    *, patient: Patient | None = None, user: User | None = None, via: str, keyword: str = ""
) -> SmsOptOut:
    """Stop texts to her: a patient's reminders, or a staff member's flag alerts, switch to
    e-mail, and the stop is recorded (whose number, when, how)."""
    person = patient or user
    assert person is not None
    if patient is not None:
        Patient.objects.filter(pk=patient.pk).update(reminder_channels=ContactChannels.EMAIL)
        patient.reminder_channels = ContactChannels.EMAIL
    if user is not None:
        User.objects.filter(pk=user.pk).update(flag_alert_channels=ContactChannels.EMAIL)
        user.flag_alert_channels = ContactChannels.EMAIL
    return SmsOptOut.objects.create(
        patient=patient, user=user, phone=person.phone or "", via=OptOutVia(via), keyword=keyword
    )


def sms_opt_out_number(*, phone: str, keyword: str) -> int:
    """A stop keyword replied from ``phone``: whoever is texted at that number stops getting
    texts. Returns how many people that was."""
    stopped = 0
    for patient in Patient.objects.filter(phone=phone).exclude(reminder_channels="email"):
        sms_opt_out(patient=patient, via=OptOutVia.REPLY, keyword=keyword)
        stopped += 1
    for user in User.objects.filter(phone=phone).exclude(flag_alert_channels="email"):
        sms_opt_out(user=user, via=OptOutVia.REPLY, keyword=keyword)
        stopped += 1
    return stopped


@transaction.atomic
def contact_preferences_update(*, user: User, channels: str, phone: str | None = None) -> None:
    """Her own choice of how she hears from us (a patient: reminders; staff: high-priority
    flags, and her mobile number). Dropping texts is recorded as a stop."""
    patient = getattr(user, "patient", None) if user.is_patient_role else None
    if patient is not None:
        had_sms = wants_sms(patient.reminder_channels)
        patient_update(patient=patient, reminder_channels=channels)
        if had_sms and not wants_sms(channels):
            SmsOptOut.objects.create(
                patient=patient, phone=patient.phone or "", via=OptOutVia.PROFILE
            )
        return
    had_sms = wants_sms(user.flag_alert_channels)
    user.flag_alert_channels = channels
    if phone is not None:
        user.phone = phone
    if wants_sms(channels) and not user.phone:
        raise ValidationError({"phone": [_("Text messages need your mobile phone number.")]})
    user.full_clean(exclude=["password", "username"])
    user.save(update_fields=["flag_alert_channels", "phone"])
    if had_sms and not wants_sms(channels):
        SmsOptOut.objects.create(user=user, phone=user.phone or "", via=OptOutVia.PROFILE)
