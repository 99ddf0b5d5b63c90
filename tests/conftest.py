from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
import redis
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from assessments.selectors import instrument_forget
from followup.schedules import reminders_send_due, schedules_sync
from patients.models import Clinic, Patient, Role, User
from tests.factories import TEST_PASSWORD, ClinicFactory, PatientFactory, UserFactory


@dataclass
class World:
    """Two clinics, each with a nurse, a clinician and a patient; a researcher and an admin."""

    clinic_a: Clinic
    clinic_b: Clinic
    patient_a: Patient
    patient_b: Patient
    nurse_a: User
    nurse_b: User
    clinician_a: User
    clinician_b: User
    researcher: User
    admin: User


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    """API throttling counts in the cache; each test starts with none spent. A test database
    may have been emptied since the last test, so the kept current instrument goes too."""
    cache.clear()
    instrument_forget()


@pytest.fixture
def broker() -> redis.Redis:
    """The real Redis broker of the tests, its default queue emptied."""
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "tests run on Redis"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("celery")
    return client


def reminder_link(patient: Patient) -> str:
    """Send her due reminder and read the link's path from the e-mail in the outbox."""
    schedules_sync(patients=[patient], today=timezone.localdate())
    mail.outbox.clear()
    reminders_send_due(now=timezone.now() + dt.timedelta(hours=1))
    [message] = [m for m in mail.outbox if m.to == [patient.email]]
    found = re.search(r"https?://[^/]+(/q/[^/\s]+/)", str(message.body))
    assert found is not None
    return found.group(1)


@pytest.fixture
def world(db: None) -> World:
    clinic_a = ClinicFactory.create(code="a", name="Clinic A")
    clinic_b = ClinicFactory.create(code="b", name="Clinic B")
    return World(
        clinic_a=clinic_a,
        clinic_b=clinic_b,
        patient_a=PatientFactory.create(clinic=clinic_a, given_name="Alice"),
        patient_b=PatientFactory.create(clinic=clinic_b, given_name="Beatrix"),
        nurse_a=UserFactory.create(username="nurse_a", role=Role.NURSE, clinics=[clinic_a]),
        nurse_b=UserFactory.create(username="nurse_b", role=Role.NURSE, clinics=[clinic_b]),
        clinician_a=UserFactory.create(username="clin_a", role=Role.CLINICIAN, clinics=[clinic_a]),
        clinician_b=UserFactory.create(username="clin_b", role=Role.CLINICIAN, clinics=[clinic_b]),
        researcher=UserFactory.create(
            username="researcher", role=Role.RESEARCHER, clinics=[clinic_a, clinic_b]
        ),
        admin=UserFactory.create(username="admin", role=Role.ADMIN, is_superuser=True),
    )


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


__all__ = ["TEST_PASSWORD", "World", "client_for"]
