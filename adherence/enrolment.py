"""Enrolment: a nurse, clinician or administrator of a clinic records a new patient with her
baseline (Table 1 of the study, Liang et al.), her AI course and her login, and the login is
invited by e-mail. It lives here, not in ``patients``, because the AI course is part of it."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from patients.invitations import invitation_send
from patients.models import Clinic, Patient, Role, User
from patients.services import patient_create, user_create

from .models import AiCourse

logger = logging.getLogger(__name__)

# Her record's fields an enrolment sets (the rest keep their defaults, e.g. quiet hours).
PATIENT_FIELDS = (
    "record_number",
    "given_name",
    "family_name",
    "birth_date",
    "email",
    "phone",
    "reminder_channels",
    "preferred_language",
    "time_zone",
    "height_cm",
    "weight_kg",
    "tnm_stage",
    "surgery",
    "chemotherapy",
    "radiotherapy",
    "menopausal_status",
    "hr_status",
    "aimss_diagnosis_date",
)


def record_number_taken(clinic: Clinic, record_number: str) -> bool:
    return Patient.objects.filter(clinic=clinic, record_number__iexact=record_number).exists()


@transaction.atomic
def patient_enrol(
    *,
    clinic: Clinic,
    ai_drug: str,
    ai_start_date: dt.date,
    enrolled_by: User | None = None,
    invite: bool = True,
    **fields: Any,
) -> Patient:
    """Create her record, her AI course and her login (username = her e-mail address, no
    password yet), and send the invitation after commit. Nothing is saved when anything is
    wrong; a record number already used in the clinic is refused by name."""
    record_number = str(fields.get("record_number", "")).strip()
    errors: dict[str, list[str]] = {}
    if record_number and record_number_taken(clinic, record_number):
        errors["record_number"] = [
            _("Record number %(number)s is already used by another patient of %(clinic)s.")
            % {"number": record_number, "clinic": clinic.name}
        ]
    email = str(fields.get("email", "")).strip().lower()
    if not email:
        errors["email"] = [_("Enter her e-mail address: her invitation is sent there.")]
    elif User.objects.filter(username__iexact=email).exists():
        errors["email"] = [_("This e-mail address already has a login; use another one.")]
    if errors:
        raise ValidationError(errors)
    fields = {**fields, "record_number": record_number, "email": email}
    user = user_create(
        username=email,
        role=Role.PATIENT,
        email=email,
        first_name=str(fields.get("given_name", "")),
        last_name=str(fields.get("family_name", "")),
        preferred_language=str(fields.get("preferred_language", "en")),
    )
    patient = patient_create(clinic=clinic, user=user, **fields)
    course = AiCourse(
        patient=patient, drug=ai_drug, start_date=ai_start_date, recorded_by=enrolled_by
    )
    course.full_clean()
    course.save()
    if invite:
        transaction.on_commit(lambda: _invite(user.pk))
    return patient


def _invite(user_id: int) -> None:
    """Send the invitation; a mail server that is down does not undo the enrolment (staff
    see "not sent" on her page and resend it)."""
    try:
        invitation_send(user=User.objects.get(pk=user_id))
    except Exception:
        logger.exception("invitation for user %s was not sent", user_id)
