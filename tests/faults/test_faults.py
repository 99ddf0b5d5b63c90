"""Fault tests with the real services: a Redis of their own that they stop
and start, real Celery workers they kill with SIGKILL, two real beat processes. Run by
``make test-faults`` (part of ``make test``), which points the broker at that Redis; the
machine's shared Redis and PostgreSQL are left as they were found."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
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
LOGS: dict[int, Path] = {}  # each celery process's log, by pid


def _log_of(process: subprocess.Popen[bytes]) -> str:
    return LOGS[process.pid].read_text(errors="replace")


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


@dataclass
class SlowInbox(Inbox):
    """A mail server that takes ``delay`` seconds a message, so a batch lasts a while."""

    delay: float = 0.25

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_inbox() -> Iterator[tuple[Inbox, int]]:
    yield from _smtp(SlowInbox())


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    yield from _smtp(Inbox())


def _smtp(handler: Inbox) -> Iterator[tuple[Inbox, int]]:
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
        "DJANGO_LOG_LEVEL": "WARNING",
        **extra,
    }


@pytest.fixture
def processes() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start celery processes; every one still running is killed at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        path = LOG_DIR / f"{args[0]}-{len(started)}.log"
        log = path.open("wb")
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "celery", "-A", "aimss_tracker", *args, "--loglevel=WARNING"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        LOGS[process.pid] = path
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


# --- delivery under faults: leases, a hung broker, missed sweeps, one beat ---------------------


def _reminders_sent() -> bool:
    return not ReminderSend.objects.filter(status="pending").exists()


def test_a_dead_worker_s_sends_are_taken_over_one_lease_after_it_died_and_none_twice(
    world: World, redis_server: OwnRedis, slow_inbox: tuple[Inbox, int], processes: Any
) -> None:
    handler, smtp_port = slow_inbox
    patients = _patients_due(60, world)
    # A 6 s lease (45 s in production), renewed every 2 s while a batch is sending; the mail
    # server takes a quarter of a second a message, so the batch lasts about 15 s.
    env = _env(smtp_port, AIMSS_CLAIM_LEASE_SECONDS="6")
    sender = _worker(processes, env, 6)
    _send("followup.tasks.reminders_sweep_task")
    _wait(lambda: len(handler.messages) >= 4, 60, "the first reminders")
    # given a second worker sweeping for lapsed claims every second while the first sends
    _worker(processes, env, 7)
    for _ in range(8):
        _send("followup.tasks.notifications_sweep_task")
        time.sleep(1)
    # then it took nothing over: the lease is renewed while the first worker lives
    before_kill = [message_id for message_id, _to in handler.messages]
    assert len(before_kill) == len(set(before_kill)), "a live worker's sends were taken over"
    # when the sending worker is killed in the middle of its batch
    sender.send_signal(signal.SIGKILL)
    sender.wait(timeout=10)
    killed_at = time.monotonic()
    assert len(handler.messages) < 60, "the batch finished before it could be killed"
    # then the other worker's sweep takes its sends over once the lease lapses, and sends each
    while not _reminders_sent() and time.monotonic() - killed_at < 60:
        _send("followup.tasks.notifications_sweep_task")
        time.sleep(1)
    taken_over_in = time.monotonic() - killed_at
    assert _reminders_sent(), "the dead worker's reminders were never sent"
    # (lease + a sweep interval + the rest of the batch at a quarter second a message)
    assert taken_over_in < 6 + 2 + 60 * 0.25, taken_over_in
    # once: every patient has her one reminder; a copy of a message the server took just
    # before the kill carries the same Message-ID, which mail systems discard
    assert len({message_id for message_id, _to in handler.messages}) == 60
    assert {to for _id, to in handler.messages} == {p.email for p in patients}


def _api_submission(port_url: str, token: str) -> tuple[int, float]:
    body = json.dumps(
        {
            "recall_period": "24h",
            "has_pain_today": True,
            "pain_locations": ["knees_left"],
            "worst_location": "knees_left",
            "treatments": "",
            "relief_percent": 10,
            "worst_pain": 6,
            "least_pain": 2,
            "average_pain": 4,
            "pain_now": 3,
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
                4,
            ),
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - the test's own live server
        f"{port_url}{reverse('api:assessment-list')}",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        return answer.status, time.monotonic() - started


def test_under_a_hung_broker_twenty_submissions_at_once_each_answer_within_2_s(
    world: World, redis_server: OwnRedis, live_server: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from interop.tokens import api_token_issue
    from tests.factories import PatientFactory

    # given twenty patients, each with an API token, and a server that has published before
    users = [PatientFactory.create(clinic=world.clinic_a).user for _ in range(20)]
    tokens = [api_token_issue(user=u, second_factor=False)[1] for u in users if u is not None]
    _send("followup.tasks.notifications_sweep_task")
    # when Redis hangs (stopped with SIGSTOP: connections are accepted, nothing answers) and
    # all twenty submit at once
    assert redis_server.process is not None
    redis_server.process.send_signal(signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(lambda t: _api_submission(live_server.url, t), tokens))
    finally:
        redis_server.process.send_signal(signal.SIGCONT)
    # then each answered, saved, within 2 seconds
    assert [status for status, _took in answers] == [201] * 20
    slowest = max(took for _status, took in answers)
    assert slowest < 2.0, sorted(took for _status, took in answers)
    from assessments.models import Response

    assert Response.objects.count() == 20


def _queued_tasks(port: int) -> list[str]:
    import redis

    client = redis.Redis(port=port, socket_timeout=1)
    return [json.loads(raw)["headers"]["task"] for raw in client.lrange("celery", 0, -1)]


def test_a_sweep_missed_while_redis_was_down_runs_as_soon_as_it_is_back_and_does_all(
    world: World,
    redis_server: OwnRedis,
    inbox: tuple[Inbox, int],
    processes: Any,
    tmp_path: Path,
) -> None:
    from tests.factories import PatientFactory

    _handler, smtp_port = inbox
    interval = 30  # the evaluation sweep's (120 s in production); a worker starts within it
    env = _env(
        smtp_port,
        AIMSS_EVALUATION_SWEEP_SECONDS=str(interval),
        AIMSS_NOTIFICATION_SWEEP_SECONDS="600",
        AIMSS_REMINDER_SWEEP_SECONDS="600",
    )
    patients = [PatientFactory.create(clinic=world.clinic_a) for _ in range(3)]
    # given a beat running while Redis is down when the evaluation sweep falls due
    redis_server.stop()
    beat = processes("beat", f"--schedule={tmp_path / 'beat'}", env=env)
    _wait(
        lambda: "could not queue evaluations-sweep" in _log_of(beat),
        interval + 30,
        "the evaluation sweep to fall due with Redis down",
    )
    # and three high-interference questionnaires submitted meanwhile (the last just before
    # Redis returns: a sweep that skipped work younger than its interval would leave it)
    for patient in patients:
        world.patient_a = patient
        _submit_while_redis_is_down(world)
    # when Redis comes back
    redis_server.start()
    back_at = time.monotonic()
    # then beat queues the missed sweep at once, not at its next interval
    _wait(
        lambda: "followup.tasks.evaluations_sweep_task" in _queued_tasks(REDIS_PORT),
        5,
        "the missed sweep to be queued",
    )
    assert time.monotonic() - back_at < interval / 2
    # and that one sweep evaluates every questionnaire the outage left (their own tasks were
    # never queued, but for a publish still retrying as Redis came back)
    _worker(processes, env, 8)
    _wait(lambda: Flag.objects.count() == 3, interval, "every missed evaluation")
    assert time.monotonic() - back_at < interval + 5


def test_a_second_beat_stands_by_behind_the_database_lock_and_takes_over(
    redis_server: OwnRedis, processes: Any, tmp_path: Path
) -> None:
    env = _env(25, AIMSS_NOTIFICATION_SWEEP_SECONDS="1")
    first = processes("beat", f"--schedule={tmp_path / 'b1'}", env=env)
    _wait(lambda: "running the periodic tasks" in _log_of(first), 30, "the first beat")
    second = processes("beat", f"--schedule={tmp_path / 'b2'}", env=env)
    # given a second beat: it says it stands by, and runs nothing
    _wait(lambda: "standing by" in _log_of(second), 30, "the second beat to stand by")
    time.sleep(3)
    assert "running the periodic tasks" not in _log_of(second)
    # when the first one dies, the second takes over within a few seconds
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    _wait(lambda: "running the periodic tasks" in _log_of(second), 15, "the takeover")
