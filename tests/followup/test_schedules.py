"""Reassessment schedules, reminders (once per slot and attempt, local time, quiet hours,
DST) and the overdue flag."""

from __future__ import annotations

import datetime as dt
import re
import threading
from zoneinfo import ZoneInfo

import pytest
import redis
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from followup import schedules
from followup.models import Flag, PatientSchedule, ReassessmentSlot, ReminderSend
from followup.schedules import (
    add_months,
    overdue_flags_raise,
    reminders_send_due,
    schedules_sync,
    schedules_sync_all,
)
from followup.tasks import reminders_sweep_task
from patients.models import Patient
from tests.conftest import queued_messages
from tests.factories import ClinicFactory, PatientFactory

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC


def _at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, tz: dt.tzinfo = LONDON
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=tz)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2025, 11, 15), 3, dt.date(2026, 2, 15)),
        (dt.date(2025, 5, 31), 0, dt.date(2025, 5, 31)),
    ],
)
def test_add_months_clamps_to_the_month_end(start: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(start, months) == expected


def _months(patient: Patient) -> list[int]:
    return list(
        ReassessmentSlot.objects.filter(patient=patient)
        .order_by("due_date")
        .values_list("months_after_diagnosis", flat=True)
    )


def test_schedule_is_baseline_months_1_to_3_then_every_3_months(db: None) -> None:
    patient = PatientFactory.create(aimss_diagnosis_date=dt.date(2026, 1, 15))
    schedules_sync(patients=[patient], today=dt.date(2026, 11, 21))
    # through her next slot after today (month 10 now; next at 12)
    assert _months(patient) == [0, 1, 2, 3, 6, 9, 12]
    assert schedules_sync(patients=[patient], today=dt.date(2026, 11, 21)) == 0


def test_a_patient_override_changes_the_interval_or_pauses(db: None) -> None:
    every_two = PatientFactory.create(aimss_diagnosis_date=dt.date(2026, 1, 15))
    PatientSchedule.objects.create(patient=every_two, interval_months=2)
    paused = PatientFactory.create(aimss_diagnosis_date=dt.date(2026, 1, 15))
    PatientSchedule.objects.create(patient=paused, paused=True)
    undiagnosed = PatientFactory.create(aimss_diagnosis_date=None)
    schedules_sync_all(today=dt.date(2026, 11, 21))
    assert _months(every_two) == [0, 1, 2, 3, 5, 7, 9, 11]
    assert _months(paused) == []
    assert _months(undiagnosed) == []


def test_due_time_is_nine_in_her_zone_across_daylight_saving(db: None) -> None:
    # 29 March 2026 is the day the UK moves to summer time; 25 October back to winter
    spring = PatientFactory.create(
        aimss_diagnosis_date=dt.date(2026, 3, 29), time_zone="Europe/London"
    )
    autumn = PatientFactory.create(
        aimss_diagnosis_date=dt.date(2026, 10, 25), time_zone="Europe/London"
    )
    schedules_sync(patients=[spring, autumn], today=dt.date(2026, 3, 1))
    schedules_sync(patients=[autumn], today=dt.date(2026, 10, 1))
    baseline = {
        s.patient_id: s.due_at for s in ReassessmentSlot.objects.filter(months_after_diagnosis=0)
    }
    assert baseline[spring.pk].astimezone(UTC) == _at(2026, 3, 29, 8, 0, tz=UTC)
    assert baseline[autumn.pk].astimezone(UTC) == _at(2026, 10, 25, 9, 0, tz=UTC)


@pytest.fixture
def due_patient(db: None) -> Patient:
    """A patient whose baseline reassessment is due 2026-10-25 09:00 London (DST ends)."""
    patient = PatientFactory.create(
        aimss_diagnosis_date=dt.date(2026, 10, 25),
        time_zone="Europe/London",
        email="due@example.org",
        quiet_hours_start=dt.time(21, 0),
        quiet_hours_end=dt.time(8, 0),
    )
    schedules_sync(patients=[patient], today=dt.date(2026, 10, 20))
    return patient


def test_a_reminder_goes_out_once_at_nine_across_the_dst_change(due_patient: Patient) -> None:
    # sweeps every 30 minutes from the evening before to the next evening
    sweep = _at(2026, 10, 24, 18, 0)
    sends = []
    while sweep < _at(2026, 10, 25, 20, 0):
        before = len(mail.outbox)
        reminders_send_due(now=sweep)
        if len(mail.outbox) > before:
            sends.append(sweep)
        sweep += dt.timedelta(minutes=30)
    assert sends == [_at(2026, 10, 25, 9, 0)]
    assert len(mail.outbox) == 1


def test_running_the_sweep_twice_sends_once(due_patient: Patient) -> None:
    now = _at(2026, 10, 25, 9, 5)
    assert reminders_send_due(now=now) == 1
    assert reminders_send_due(now=now) == 0
    assert len(mail.outbox) == 1


def test_after_beat_was_down_for_hours_the_reminder_still_goes_out_once(
    due_patient: Patient,
) -> None:
    reminders_send_due(now=_at(2026, 10, 25, 11, 10))
    reminders_send_due(now=_at(2026, 10, 25, 11, 15))
    assert len(mail.outbox) == 1


def test_reminders_after_3_and_7_days_then_no_more(due_patient: Patient) -> None:
    for day in range(25, 31):
        reminders_send_due(now=_at(2026, 10, day, 12, 0))
    for day in range(1, 15):
        reminders_send_due(now=_at(2026, 11, day, 12, 0))
    attempts = list(ReminderSend.objects.values_list("attempt", flat=True))
    assert attempts == [0, 1, 2]
    assert len(mail.outbox) == 3


def test_no_reminder_once_the_reassessment_is_done(due_patient: Patient) -> None:
    ReassessmentSlot.objects.filter(patient=due_patient).update(completed_at=_at(2026, 10, 25, 8))
    reminders_send_due(now=_at(2026, 10, 25, 9, 5))
    assert mail.outbox == []


def test_quiet_hours_hold_the_reminder_until_they_end(due_patient: Patient) -> None:
    Patient.objects.filter(pk=due_patient.pk).update(
        quiet_hours_start=dt.time(8, 30), quiet_hours_end=dt.time(10, 0)
    )
    reminders_send_due(now=_at(2026, 10, 25, 9, 5))
    assert mail.outbox == []
    reminders_send_due(now=_at(2026, 10, 25, 10, 5))
    assert len(mail.outbox) == 1


def test_the_reminder_carries_a_link_and_no_health_information(due_patient: Patient) -> None:
    reminders_send_due(now=_at(2026, 10, 25, 9, 5))
    message = mail.outbox[0]
    assert message.to == ["due@example.org"]
    assert isinstance(message, mail.EmailMultiAlternatives)
    text = message.body + str(message.alternatives[0][0]) + str(message.subject)
    assert re.search(r"/q/[^/\s]+/", str(message.body))
    for private in (
        due_patient.given_name,
        due_patient.family_name,
        "pain",
        "cancer",
        "AIMSS diag",
    ):
        assert private not in text


@pytest.mark.django_db(transaction=True)
def test_two_beats_sweeping_at_once_send_each_reminder_once() -> None:
    clinic = ClinicFactory.create(code="tz", time_zone="Europe/London")
    patients = [
        PatientFactory.create(
            clinic=clinic, aimss_diagnosis_date=dt.date(2026, 10, 25), time_zone="Europe/London"
        )
        for _ in range(6)
    ]
    schedules_sync(patients=patients, today=dt.date(2026, 10, 20))
    now = _at(2026, 10, 25, 9, 5)
    barrier = threading.Barrier(2)

    def sweep() -> None:
        barrier.wait()
        reminders_send_due(now=now)
        connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(mail.outbox) == 6
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in patients)


def test_the_sweep_costs_queries_per_batch_not_per_patient(db: None) -> None:
    def queries_for(n: int, day: int) -> int:
        patients = [
            PatientFactory.create(
                aimss_diagnosis_date=dt.date(2026, 10, day), time_zone="Europe/London"
            )
            for _ in range(n)
        ]
        schedules_sync(patients=patients, today=dt.date(2026, 10, 1))
        with CaptureQueriesContext(connection) as captured:
            assert reminders_send_due(now=_at(2026, 10, day, 9, 5)) == n
        return len(captured)

    assert queries_for(3, 5) == queries_for(40, 20)


def test_an_overdue_reassessment_raises_one_flag(due_patient: Patient) -> None:
    assert overdue_flags_raise(today=dt.date(2026, 10, 31)) == 0  # 6 days late
    assert overdue_flags_raise(today=dt.date(2026, 11, 1)) == 1  # 7 days late
    assert overdue_flags_raise(today=dt.date(2026, 11, 2)) == 0
    assert Flag.objects.filter(patient=due_patient, kind="overdue").count() == 1


@pytest.mark.parametrize("reason", ["expired", "forged"])
def test_a_bad_link_explains_itself_and_offers_login(due_patient: Patient, reason: str) -> None:
    from django.test import Client

    reminders_send_due(now=_at(2026, 10, 25, 9, 5))
    found = re.search(r"(/q/[^/\s]+/)", str(mail.outbox[0].body))
    assert found is not None
    path = found.group(1)
    if reason == "forged":
        path = path[:-3] + "xx/"
    else:
        from followup.models import QuestionnaireLink

        QuestionnaireLink.objects.update(expires_at=_at(2026, 10, 26, 0, 0))
    response = Client().get(path)
    assert response.status_code == 410
    body = response.content.decode()
    assert reverse("login") in body
    assert ("expired" in body) if reason == "expired" else ("not valid" in body)
    assert "_auth_user_id" not in Client().session


def test_the_reminder_is_in_her_language(due_patient: Patient) -> None:
    Patient.objects.filter(pk=due_patient.pk).update(preferred_language="zh-hans")
    reminders_send_due(now=_at(2026, 10, 25, 9, 5))
    message = mail.outbox[0]
    assert "问卷" in str(message.subject)
    assert "只能使用一次" in str(message.body)


def _queued_tasks(broker: redis.Redis, *, at_least: int) -> list[str]:
    return [message["headers"]["task"] for message in queued_messages(broker, at_least=at_least)]


def test_a_sweep_that_finds_a_full_batch_asks_one_more_worker_to_join(
    db: None, broker: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given three patients with a reassessment due an hour ago, and batches of two
    monkeypatch.setattr(schedules, "BATCH", 2)
    patients = [
        PatientFactory.create(
            time_zone="UTC", quiet_hours_start=dt.time(0, 0), quiet_hours_end=dt.time(0, 0)
        )
        for _ in range(3)
    ]
    schedules_sync(patients=patients, today=timezone.localdate())
    # (one slot each due: the schedule may have another due today already, by the clock)
    slots = ReassessmentSlot.objects.filter(patient__in=patients)
    slots.update(due_at=timezone.now() + dt.timedelta(days=30))
    first = slots.order_by("patient", "due_at")
    for patient in patients:
        slot = first.filter(patient=patient).first()
        assert slot is not None
        slot_due = timezone.now() - dt.timedelta(hours=1)
        ReassessmentSlot.objects.filter(pk=slot.pk).update(due_at=slot_due)
    # when the beat's sweep task runs
    reminders_sweep_task.run()
    # then every reminder went, and its first full batch asked for one more sweep
    assert len(mail.outbox) == 3
    assert _queued_tasks(broker, at_least=1) == ["followup.tasks.reminders_sweep_task"]
    # and that sweep, finding nothing due, asks no one
    broker.delete("celery")
    reminders_sweep_task.run()
    assert len(mail.outbox) == 3
    assert _queued_tasks(broker, at_least=0) == []
