"""Her daily dose reminder: once a day at her local time, by the channels she chose, never in
her quiet hours, with nothing about her health; the sweep is a beat entry of a real task."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.core import mail

from adherence.models import DoseReminder, EventKind
from adherence.services import dose_reminder_set
from aimss_tracker import sms
from aimss_tracker.celery import app
from followup.dose_reminders import dose_reminder_claim, dose_reminders_send_due
from patients.models import Clinic, Patient
from tests.factories import ClinicFactory, PatientFactory, TreatmentEventFactory

pytestmark = pytest.mark.django_db

MOBILE = "+447911123456"
CLINIC_NAME = "Riverside Breast Cancer Centre"  # a name that reveals a diagnosis
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _shanghai(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


def _patient(**fields: Any) -> Patient:
    clinic = Clinic.objects.filter(name=CLINIC_NAME).first() or ClinicFactory.create(
        name=CLINIC_NAME, email_sender_name="Riverside Health"
    )
    defaults: dict[str, Any] = {
        "clinic": clinic,
        "time_zone": "Asia/Shanghai",
        "email": "her@example.org",
        "phone": MOBILE,
        "quiet_hours_start": dt.time(22, 0),
        "quiet_hours_end": dt.time(7, 0),
    }
    patient = PatientFactory.create(**{**defaults, **fields})
    dose_reminder_set(patient=patient, enabled=True, time=dt.time(8, 0))
    return patient


def test_the_reminder_goes_once_a_day_at_her_local_time() -> None:
    _patient()
    # before her time: nothing
    assert dose_reminders_send_due(now=_shanghai(10, 7, 55)) == 0
    # at her time, and sweeps after it the same day: one message
    assert dose_reminders_send_due(now=_shanghai(10, 8, 0)) == 1
    assert dose_reminders_send_due(now=_shanghai(10, 8, 5)) == 0
    assert dose_reminders_send_due(now=_shanghai(10, 10, 0)) == 0
    assert len(mail.outbox) == 1
    # the next day, one more
    assert dose_reminders_send_due(now=_shanghai(11, 8, 5)) == 1
    assert len(mail.outbox) == 2


def test_two_sweeps_claiming_at_once_send_it_once() -> None:
    patient = _patient()
    reminder = DoseReminder.objects.get(patient=patient)
    now = _shanghai(10, 8, 1)
    day = dt.date(2026, 3, 10)
    assert dose_reminder_claim(reminder_id=reminder.pk, day=day, now=now) is True
    assert dose_reminder_claim(reminder_id=reminder.pk, day=day, now=now) is False
    # the claimed day is not sent again by a sweep while the claim holds
    assert dose_reminders_send_due(now=now) == 0


def test_no_reminder_in_her_quiet_hours() -> None:
    # given her reminder at 06:30, inside her quiet hours (22:00-07:00)
    patient = _patient()
    dose_reminder_set(patient=patient, enabled=True, time=dt.time(6, 30))
    # then nothing is sent at 06:30 or 06:55
    assert dose_reminders_send_due(now=_shanghai(10, 6, 30)) == 0
    assert dose_reminders_send_due(now=_shanghai(10, 6, 55)) == 0
    assert mail.outbox == []
    # and it goes when they end, within the grace after her time
    assert dose_reminders_send_due(now=_shanghai(10, 7, 0)) == 1


def test_a_reminder_missed_by_more_than_the_grace_is_skipped_that_day() -> None:
    _patient()
    assert dose_reminders_send_due(now=_shanghai(10, 11, 30)) == 0
    assert mail.outbox == []


def test_the_text_and_the_email_say_nothing_about_her_health() -> None:
    patient = _patient(reminder_channels="both", given_name="Mei", family_name="Lin")
    dose_reminders_send_due(now=_shanghai(10, 8, 0))
    [message] = mail.outbox
    [text] = sms.outbox
    assert isinstance(message, mail.EmailMultiAlternatives)
    everything = " ".join(
        [str(message.subject), str(message.body), str(message.alternatives[0][0]), text.body]
    )
    assert "Riverside Health: a reminder from your clinic." in str(message.body)
    assert "Riverside Health: a reminder from your clinic." in text.body
    assert "Riverside Health" in everything
    for private in (
        "Mei",
        "Lin",
        "Cancer",
        "cancer",
        "anastrozole",
        "letrozole",
        "exemestane",
        "aromatase",
        "tablet",
        "medicine",
        "dose",
    ):
        assert private not in everything, private
    assert message.to == [patient.email]


def test_she_gets_it_only_by_the_channels_she_chose() -> None:
    _patient(reminder_channels="sms")
    dose_reminders_send_due(now=_shanghai(10, 8, 0))
    assert mail.outbox == []
    assert [m.to for m in sms.outbox] == [MOBILE]


def test_a_reminder_turned_off_or_after_her_ai_stopped_is_not_sent() -> None:
    off = _patient()
    dose_reminder_set(patient=off, enabled=False, time=dt.time(8, 0))
    stopped = _patient(email="stopped@example.org")
    TreatmentEventFactory.create(
        patient=stopped,
        kind=EventKind.DISCONTINUATION,
        reason="other",
        start_date=dt.date(2026, 1, 5),
    )
    assert dose_reminders_send_due(now=_shanghai(10, 8, 0)) == 0
    assert mail.outbox == []


def test_the_sweep_is_a_beat_entry_of_a_registered_task() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["dose-reminders-sweep"]
    assert entry["task"] == "followup.tasks.dose_reminders_sweep_task"
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
