"""The people and data of the browser journeys, made with the factories and services."""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page

from adherence.services import ai_course_create
from assessments.models import Response
from patients.models import Clinic, Patient, Role, User
from tests.factories import (
    TEST_PASSWORD,
    ClinicFactory,
    PatientFactory,
    ResponseFactory,
    UserFactory,
)


def clinic_with_staff(*, language: str = "en") -> tuple[Clinic, Patient, User, User, User]:
    """A clinic with a patient diagnosed yesterday (baseline due today), two nurses with an
    authenticator each, and a clinician."""
    today = timezone.localdate()
    clinic = ClinicFactory.create(code="rbc", name="Riverside Breast Centre")
    patient = PatientFactory.create(
        clinic=clinic,
        given_name="Mei",
        family_name="Lin",
        email="mei.lin@example.org",
        aimss_diagnosis_date=today - dt.timedelta(days=1),
        quiet_hours_start=dt.time(0, 0),
        quiet_hours_end=dt.time(0, 0),
        preferred_language=language,
    )
    ai_course_create(patient=patient, drug="letrozole", start_date=today - dt.timedelta(days=400))
    nurse = UserFactory.create(
        username="nurse",
        first_name="Nora",
        last_name="Quinn",
        role=Role.NURSE,
        clinics=[clinic],
        preferred_language=language,
    )
    nurse2 = UserFactory.create(
        username="nurse2", first_name="Ada", last_name="Reyes", role=Role.NURSE, clinics=[clinic]
    )
    for user in (nurse, nurse2):
        TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    clinician = UserFactory.create(username="clinician", role=Role.CLINICIAN, clinics=[clinic])
    return clinic, patient, nurse, nurse2, clinician


def totp_code(user: User) -> str:
    device = TOTPDevice.objects.get(user=user)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def log_in(page: Page, base: str, username: str, password: str = TEST_PASSWORD) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def username_of(patient: Patient) -> str:
    """Her login (every patient of these journeys has one)."""
    assert patient.user is not None
    return patient.user.get_username()


def weekly_history(patient: Patient, *, weeks: int) -> None:
    """A response a week for ``weeks`` weeks up to today. Responses cannot be updated, so the
    earlier ones are copies of one submitted through the service, inserted with earlier dates."""
    latest = ResponseFactory.create(patient=patient)
    fields = {
        f.attname: getattr(latest, f.attname)
        for f in Response._meta.concrete_fields
        if not f.primary_key and f.attname not in ("submitted_at", "submission_key")
    }
    Response.objects.bulk_create(
        Response(
            **fields,
            submitted_at=latest.submitted_at - dt.timedelta(weeks=week),
            submission_key=uuid.uuid4(),
        )
        for week in range(1, weeks)
    )
