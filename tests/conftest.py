from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.db import connection, connections, transaction
from django.test import Client
from django.utils import timezone

from aimss_tracker import sms
from aimss_tracker.db_roles import app_role_grant
from followup.models import ReassessmentSlot
from followup.schedules import reminders_send_due, schedules_sync
from patients.models import Clinic, Patient, Role, User
from tests.factories import TEST_PASSWORD, ClinicFactory, PatientFactory, UserFactory


def pytest_configure(config: pytest.Config) -> None:
    """Under ``pytest -n`` (pytest-xdist) each worker has its own test database (pytest-django
    names it) and its own Redis database, counted down from the one configured: a worker's
    tests empty and read their broker, and must not see the other's messages."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1", ... or unset
    url = settings.CELERY_BROKER_URL
    if not worker or not url.startswith("redis://"):
        return
    base, _, number = url.rpartition("/")
    url = f"{base}/{int(number or 0) - int(worker.removeprefix('gw'))}"
    os.environ["CELERY_BROKER_URL"] = url  # Celery's broker_url reads the variable first
    settings.CELERY_BROKER_URL = url


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


# The suite runs as the application runs in production: as a role that owns no table and may
# only append to the audit. pytest-django creates and migrates the test database as the owner
# (DATABASE_URL of the tests); every connection then takes the application's role (PostgreSQL
# SET ROLE, Django's "assume_role" option), so each statement is checked against its privileges.
APP_ROLE = "aimss_test_app"


def _assume_app_role(on: bool) -> None:
    """Take (or leave) the application's role: for new connections and the open one."""
    options = connections.settings["default"].setdefault("OPTIONS", {})
    if on:
        options["assume_role"] = APP_ROLE
    else:
        options.pop("assume_role", None)
    if connection.connection is not None:
        with connection.cursor() as cursor:
            cursor.execute(f'SET ROLE "{APP_ROLE}"' if on else "RESET ROLE")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """The test database, migrated by its owner, with the application's role granted."""
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), transaction.atomic(), connection.cursor() as cursor:
            app_role_grant(cursor, role=APP_ROLE)
    yield
    with django_db_blocker.unblock():
        _assume_app_role(False)  # the owner drops the test database


@pytest.fixture(autouse=True)
def _as_application_role(request: pytest.FixtureRequest, django_db_blocker: Any) -> Iterator[None]:
    """Every test's statements run as the application's role. A test that commits (the browser
    tests' live server) is emptied afterwards with TRUNCATE, which only the owner may do."""
    marker = request.node.get_closest_marker("django_db")
    commits = bool({"transactional_db", "live_server"} & set(request.fixturenames)) or bool(
        marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    )
    if "db" not in request.fixturenames and not commits and marker is None:
        yield  # no database
        return
    request.getfixturevalue("django_db_setup")
    if commits:
        request.getfixturevalue("transactional_db")
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock():
            _assume_app_role(True)
    yield
    if commits and connection.vendor == "postgresql":
        with django_db_blocker.unblock():
            _assume_app_role(False)


@contextmanager
def as_database_owner() -> Iterator[None]:
    """Step back from the application's role to the owner, inside the test's transaction:
    for what only the owner may do (a demo reset erases the access records)."""
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'SET ROLE "{APP_ROLE}"')


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    """API throttling counts and the kept current instrument are in the cache; each test starts
    with none spent and none kept (its database may have been emptied since the last test)."""
    cache.clear()


@pytest.fixture(autouse=True)
def _sms_outbox(settings: Any) -> None:
    """Texts go to ``aimss_tracker.sms.outbox`` (like Django's mail.outbox), empty per test."""
    settings.SMS_BACKEND = "locmem"
    sms.outbox.clear()


@pytest.fixture
def broker() -> redis.Redis:
    """The real Redis broker of the tests, its default queue emptied."""
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "tests run on Redis"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("celery")
    return client


def queued_messages(broker: redis.Redis, *, at_least: int) -> list[dict[str, Any]]:
    """The messages on the broker's default queue, once ``at_least`` are there or after ten
    seconds: a publish the caller stopped waiting for (``dispatch.PUBLISH_WAIT``, or a publisher
    still busy with an earlier test's) lands afterwards."""
    deadline = time.monotonic() + 10
    while broker.llen("celery") < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
    return [json.loads(raw) for raw in broker.lrange("celery", 0, -1)]


def reminder_link(patient: Patient) -> str:
    """Send her due reminder and read the link's path from the e-mail in the outbox."""
    schedules_sync(patients=[patient], today=timezone.localdate())
    mail.outbox.clear()
    # An hour after her earliest open slot fell due (at its local due time, 09:00 by default),
    # or after now: the sweep sends only what is due, whatever the time of day the tests run.
    due = (
        ReassessmentSlot.objects.filter(patient=patient, completed_at__isnull=True)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )
    now = max(timezone.now(), due or timezone.now())
    reminders_send_due(now=now + dt.timedelta(hours=1))
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


__all__ = ["TEST_PASSWORD", "World", "as_database_owner", "client_for"]
