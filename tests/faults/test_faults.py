"""Fault tests with the real services: a Redis of their own that they stop
and start, real Celery workers they kill with SIGKILL, two real beat processes. Run by
``make test-faults`` (part of ``make test``), which points the broker at that Redis; the
machine's shared Redis and PostgreSQL are left as they were found."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email import message_from_bytes
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from aimss_tracker.celery import app
from followup.models import Flag, ReassessmentSlot, ReminderSend
from patients.models import Clinic, Patient
from tests.conftest import World, client_for

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = ROOT / "var" / "fault-logs"  # the celery processes' output, for a failing run
LOG_DIR.mkdir(parents=True, exist_ok=True)
REDIS_PORT = urlsplit(settings.CELERY_BROKER_URL).port or 6379


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


# --- the services and processes ----------------------------------------------------------


class OwnRedis:
    """A redis-server on the broker's port, for this module only."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed for the fault tests"
        self.process = subprocess.Popen(  # noqa: S603
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        _wait(self._answers, 10, "redis to start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False


@pytest.fixture(scope="module")
def redis_server() -> Iterator[OwnRedis]:
    assert REDIS_PORT != 6379, "make test-faults gives the fault tests a Redis of their own"
    server = OwnRedis(REDIS_PORT)
    server.start()
    yield server
    server.stop()


@dataclass
class Inbox:
    """The outside world's SMTP server (the one thing mocked): it keeps what it is sent."""

    messages: list[tuple[str, str]] = field(default_factory=list)  # (Message-ID, To)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content)
        self.messages.append((str(parsed["Message-ID"]), str(parsed["To"])))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def _env(smtp_port: int, **extra: str) -> dict[str, str]:
    db = settings.DATABASES["default"]
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{host}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "DJANGO_EMAIL_HOST": "127.0.0.1",
        "DJANGO_EMAIL_PORT": str(smtp_port),
        "AIMSS_CLAIM_LEASE_SECONDS": "2",
        "AIMSS_SWEEP_GRACE_SECONDS": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        **extra,
    }


@pytest.fixture
def processes() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start celery processes; every one still running is killed at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (LOG_DIR / f"{args[0]}-{len(started)}.log").open("wb")
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "celery", "-A", "aimss_tracker", *args, "--loglevel=WARNING"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _worker(start: Callable[..., subprocess.Popen[bytes]], env: dict[str, str], n: int) -> Any:
    return start("worker", "--pool=solo", f"--hostname=fault{n}@%h", "--without-gossip", env=env)


def _send(task: str) -> None:
    """Queue a sweep as beat would (reconnecting if Redis was restarted meanwhile)."""
    app.send_task(task, args=[], retry=True, retry_policy={"max_retries": 5, "interval_start": 0.2})


def _patients_due(n: int, world: World) -> list[Patient]:
    """``n`` patients of clinic A, each with a reassessment due half an hour ago."""
    now = timezone.now()
    patients = Patient.objects.bulk_create(
        [
            Patient(
                clinic=world.clinic_a,
                record_number=f"F-{i:04d}",
                given_name="Fault",
                family_name=f"Test{i}",
                birth_date=dt.date(1960, 1, 1),
                height_cm=Decimal("160"),
                weight_kg=Decimal("60"),
                tnm_stage="II",
                surgery="lumpectomy",
                chemotherapy=False,
                radiotherapy=True,
                aimss_diagnosis_date=now.date(),
                email=f"fault{i}@example.org",
                time_zone="UTC",
                quiet_hours_start=dt.time(0, 0),
                quiet_hours_end=dt.time(0, 0),
            )
            for i in range(n)
        ]
    )
    ReassessmentSlot.objects.bulk_create(
        [
            ReassessmentSlot(
                patient=p,
                months_after_diagnosis=0,
                due_date=now.date(),
                due_at=now - dt.timedelta(minutes=30),
            )
            for p in patients
        ]
    )
    return patients


# --- the tests -----------------------------------------------------------------------------


def _submit_while_redis_is_down(world: World) -> None:
    """A high-interference questionnaire answers within 2 seconds and is saved."""
    client = client_for(world.patient_a.user)
    url = reverse("api:assessment-list")
    started = time.monotonic()
    answer = client.post(
        url,
        {
            "recall_period": "24h",
            "has_pain_today": True,
            "pain_locations": ["knees_left"],
            "worst_location": "knees_left",
            "treatments": "",
            "relief_percent": 10,
            "worst_pain": 9,
            "least_pain": 5,
            "average_pain": 8,
            "pain_now": 7,
            "interference": dict.fromkeys(
                [
                    "general_activity",
                    "mood",
                    "walking_ability",
                    "normal_work",
                    "relations_with_others",
                    "sleep",
                    "enjoyment_of_life",
                ],
                8,
            ),
        },
        content_type="application/json",
    )
    assert answer.status_code == 201
    assert time.monotonic() - started < 2.0, time.monotonic() - started


def test_with_redis_stopped_a_submission_saves_and_one_flag_and_e_mail_follow(
    world: World, redis_server: OwnRedis, inbox: tuple[Inbox, int], processes: Any
) -> None:
    handler, smtp_port = inbox
    # given Redis stopped
    redis_server.stop()
    try:
        _submit_while_redis_is_down(world)
    finally:
        redis_server.start()
    # when Redis is back and a worker runs one sweep (twice, for good measure)
    _worker(processes, _env(smtp_port), 1)
    _send("followup.tasks.evaluations_sweep_task")
    _wait(lambda: Flag.objects.exists() and len(handler.messages) >= 1, 30, "the flag and e-mail")
    _send("followup.tasks.evaluations_sweep_task")
    _send("followup.tasks.notifications_sweep_task")
    time.sleep(3)
    # then exactly one flag and one notification
    assert Flag.objects.count() == 1
    assert [to for _id, to in handler.messages] == [world.nurse_a.email]


def test_a_worker_killed_mid_sweep_loses_no_reminder_and_sends_none_twice(
    world: World, redis_server: OwnRedis, inbox: tuple[Inbox, int], processes: Any
) -> None:
    handler, smtp_port = inbox
    patients = _patients_due(300, world)
    env = _env(smtp_port)
    # given a worker sending a sweep of 300 reminders
    worker = _worker(processes, env, 2)
    _send("followup.tasks.reminders_sweep_task")
    _wait(lambda: len(handler.messages) >= 20, 60, "the first reminders")
    # when it is killed in the middle
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    sent_before = len(handler.messages)
    assert sent_before < 300, "the worker finished before it could be killed"
    # and a new worker runs the sweep after the claim lease
    _worker(processes, env, 3)
    time.sleep(2.5)
    _send("followup.tasks.reminders_sweep_task")
    _wait(
        lambda: (
            not ReminderSend.objects.filter(sent_at__isnull=True).exists()
            and ReminderSend.objects.count() == 300
        ),
        90,
        "every reminder marked sent",
    )
    # then every patient got her reminder, each e-mail one identity: a copy of a message the
    # mail server took just before the kill carries the same Message-ID (discarded as such)
    ids = {message_id for message_id, _to in handler.messages}
    assert len(ids) == 300
    assert {to for _id, to in handler.messages} == {p.email for p in patients}
    assert ReminderSend.objects.filter(attempt=0).count() == 300


def test_two_beats_send_each_reminder_once(
    world: World, redis_server: OwnRedis, inbox: tuple[Inbox, int], processes: Any, tmp_path: Path
) -> None:
    handler, smtp_port = inbox
    patients = _patients_due(40, world)
    env = _env(smtp_port, AIMSS_REMINDER_SWEEP_SECONDS="1")
    # given two beats sweeping every second and two workers
    for n in (4, 5):
        _worker(processes, env, n)
    for n in (1, 2):
        processes(
            "beat",
            f"--schedule={tmp_path / f'beat{n}'}",
            f"--pidfile={tmp_path / f'beat{n}.pid'}",
            env=env,
        )
    # when they run for a while
    _wait(lambda: len(handler.messages) >= 40, 60, "the reminders")
    time.sleep(4)
    # then each patient got exactly one e-mail
    assert sorted(to for _id, to in handler.messages) == sorted(p.email for p in patients)
    assert Clinic.objects.exists()
    connection.close()
