"""No health information in logs, task arguments, Redis, URLs, error pages, e-mails or texts:
marker strings planted in a patient's name and free-text answers are looked
for everywhere after the main flows ran on the real broker and a real worker."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time

import pytest
import redis
from django.conf import settings
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from aimss_tracker import sms
from aimss_tracker.celery import app
from followup.models import Flag
from followup.schedules import reminders_send_due, schedules_sync
from patients.models import Patient, User
from tests.conftest import World, client_for

NAME_MARKER = "Zzcanaryname"
TEXT_MARKER = "ZZCANARYTEXT"
MARKERS = (NAME_MARKER, TEXT_MARKER)

SUBMISSION = {
    "recall_period": "24h",
    "has_pain_today": True,
    "pain_locations": ["knees_left"],
    "worst_location": "knees_left",
    "worst_pain": 9,
    "least_pain": 5,
    "average_pain": 8,
    "pain_now": 7,
    "treatments": f"{TEXT_MARKER} tramadol",
    "relief_percent": 10,
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
        9,
    ),
}


def _assert_clean(where: str, text: str) -> None:
    for marker in MARKERS:
        assert marker.lower() not in text.lower(), f"{marker} found in {where}"


@pytest.mark.django_db(transaction=True)
def test_markers_appear_in_no_log_task_redis_url_error_page_e_mail_or_text(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    from celery.contrib.testing.worker import start_worker

    # given a patient whose name and answers carry marker strings
    Patient.objects.filter(pk=world.patient_a.pk).update(
        family_name=NAME_MARKER,
        given_name=NAME_MARKER,
        aimss_diagnosis_date=timezone.localdate() - dt.timedelta(days=1),
        quiet_hours_start=dt.time(0, 0),
        quiet_hours_end=dt.time(0, 0),
        phone="+447911123456",
        reminder_channels="both",
    )
    # (her nurse hears of flags by text too)
    User.objects.filter(pk=world.nurse_a.pk).update(
        phone="+447400654321", flag_alert_channels="both"
    )
    patient = Patient.objects.get(pk=world.patient_a.pk)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.flushdb()
    caplog.set_level(logging.DEBUG)
    seen_urls: list[str] = []

    # when she submits (the evaluation is queued on Redis) ...
    client = client_for(patient.user)
    answer = client.post(
        reverse("api:assessment-list"), SUBMISSION, content_type="application/json"
    )
    assert answer.status_code == 201
    queued = " ".join(
        str(value)
        for key in broker.keys("*")
        if broker.type(key) == b"list"
        for value in broker.lrange(key, 0, -1)
    )
    _assert_clean("Redis (task messages)", queued)
    # ... a check-in with free text ...
    check_in = client.post(
        reverse("api:check-in-list"),
        {
            "days_taken_last_7": 2,
            "stopped": False,
            "wants_to_stop": True,
            "reason": f"{TEXT_MARKER} joint pain",
            "side_effects": f"{TEXT_MARKER} stiffness",
            "missed_reason": "other",
            "missed_reason_other": f"{TEXT_MARKER} my own reason",
        },
        content_type="application/json",
    )
    assert check_in.status_code == 201, check_in.content
    # ... a real worker evaluates both and notifies the nurses ...
    app.loader.import_default_modules()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and Flag.objects.count() < 2:
            time.sleep(0.1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (len(mail.outbox) < 2 or len(sms.outbox) < 2):
            time.sleep(0.1)
    assert set(Flag.objects.values_list("kind", flat=True)) == {
        "high_interference",
        "adherence_lapse",
    }
    # ... a nurse works the flag with a note ...
    flag = Flag.objects.get(kind="high_interference")
    nurse = client_for(world.nurse_a)
    for data in (
        {"op": "claim"},
        {"op": "act", "action": "called_patient", "note": f"{TEXT_MARKER} advised"},
        {"op": "resolve", "note": f"{TEXT_MARKER} settled"},
    ):
        response = nurse.post(reverse("followup:flag", args=[flag.pk]), data)
        seen_urls.append(response.get("Location", ""))
    # ... reminders go out, and her pages and error pages are visited
    schedules_sync(patients=[patient], today=timezone.localdate())
    reminders_send_due(now=timezone.now() + dt.timedelta(hours=1))
    with override_settings(DEBUG=False):
        for path in ("/no-such-page/", f"/assessments/{answer.json()['id'] + 999}/"):
            error_page = client.get(path)
            assert error_page.status_code == 404
            _assert_clean(f"error page {path}", error_page.content.decode())
    seen_urls.append(client.get(reverse("clinical:patient_home")).get("Location", ""))

    # then the markers are in none of those places
    _assert_clean("logs", caplog.text)
    assert mail.outbox, "the flows sent no e-mail: the test would prove nothing"
    for message in mail.outbox:
        alternatives = " ".join(str(a[0]) for a in getattr(message, "alternatives", []))
        _assert_clean("e-mail", f"{message.subject} {message.body} {alternatives}")
        seen_urls += re.findall(r"https?://\S+", str(message.body))
    assert {m.to for m in sms.outbox} == {"+447911123456", "+447400654321"}, (
        "the flows sent no text to her or her nurse: the test would prove nothing"
    )
    for text in sms.outbox:
        _assert_clean("SMS", text.body)
        assert world.clinic_a.name not in text.body, "a text names the clinic"
        seen_urls += re.findall(r"https?://\S+", text.body)
    for url in seen_urls:
        _assert_clean("URL", url)
    remaining = b" ".join(str(broker.dump(key)).encode() for key in broker.keys("*"))
    _assert_clean("Redis (after the worker)", remaining.decode(errors="replace"))
    # and the data itself is stored: the markers were really planted
    assert Flag.objects.get(kind="high_interference").patient.family_name == NAME_MARKER
