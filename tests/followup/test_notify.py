"""The notification seam (followup/notify.py): reminders and flag notifications by the channels
each person chose, texts sent once through a provider outage and repeated sweeps, a text that
can never go recorded with its reason while the e-mail still goes, stopping texts by a signed
reply or a link, and the SMS backends."""

from __future__ import annotations

import datetime as dt
import email.message
import io
import json
import urllib.error
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from aimss_tracker import sms
from followup import notify
from followup.models import FlagNotification, ReminderSend, SendStatus
from followup.schedules import reminders_send_due, schedules_sync
from followup.services import flag_raise
from followup.sms_views import twilio_signature
from patients.models import Patient, SmsOptOut, User
from tests.conftest import World, client_for
from tests.factories import ClinicFactory, PatientFactory, UserFactory

MOBILE = "+447911123456"  # a valid UK mobile number
CLINIC_NAME = "Riverside Breast Cancer Centre"


def _due_patient(**fields: Any) -> Patient:
    """A patient of a clinic with a revealing name, a neutral sender name, a reassessment due
    now and no quiet hours."""
    clinic = ClinicFactory.create(name=CLINIC_NAME, email_sender_name="Riverside Health")
    patient = PatientFactory.create(
        clinic=clinic,
        aimss_diagnosis_date=timezone.localdate() - dt.timedelta(days=1),
        quiet_hours_start=dt.time(0, 0),
        quiet_hours_end=dt.time(0, 0),
        phone=MOBILE,
        **fields,
    )
    schedules_sync(patients=[patient], today=timezone.localdate())
    return patient


def _sweep(minutes: int = 60) -> int:
    return reminders_send_due(now=timezone.now() + dt.timedelta(minutes=minutes))


@pytest.mark.parametrize(
    ("channels", "emails", "texts"), [("email", 1, 0), ("sms", 0, 1), ("both", 1, 1)]
)
def test_a_reminder_goes_by_the_channels_she_chose(
    db: None, channels: str, emails: int, texts: int
) -> None:
    patient = _due_patient(reminder_channels=channels)
    mail.outbox.clear()
    _sweep()
    assert len([m for m in mail.outbox if m.to == [patient.email]]) == emails
    assert [m.to for m in sms.outbox] == [MOBILE] * texts
    assert set(ReminderSend.objects.values_list("status", flat=True)) == {SendStatus.SENT}


def test_the_text_is_short_neutral_in_her_language_with_the_link_and_how_to_stop(
    db: None,
) -> None:
    # given a Chinese-speaking patient of a clinic whose name reveals a diagnosis
    _due_patient(reminder_channels="sms", preferred_language="zh-hans")
    # when her reminder goes
    _sweep()
    [text] = sms.outbox
    # then it names only the neutral sender, carries her single-use link and a stop link,
    # and is in Chinese
    assert "Riverside Health" in text.body
    assert "Cancer" not in text.body
    assert "Breast" not in text.body
    assert f"{settings.AIMSS_BASE_URL}/q/" in text.body
    assert "/sms/stop/" in text.body
    assert "STOP" in text.body
    assert "问卷" in text.body
    assert len(text.body) < 320, "two SMS segments at most"


class FlakyProvider(sms.BaseBackend):
    """A provider that is down for its first ``failures`` calls, then takes messages."""

    failures = 1
    calls = 0

    def send(self, message: sms.SmsMessage) -> str:
        FlakyProvider.calls += 1
        if FlakyProvider.calls <= FlakyProvider.failures:
            raise sms.SmsUnavailable("provider HTTP 503")
        sms.outbox.append(message)
        return f"SM{FlakyProvider.calls}"


def test_a_text_goes_exactly_once_through_a_provider_outage_and_repeated_sweeps(
    db: None, settings: Any
) -> None:
    settings.SMS_BACKEND = "tests.followup.test_notify.FlakyProvider"
    FlakyProvider.calls = 0
    patient = _due_patient(reminder_channels="sms")
    # given the provider is down at the first sweep: nothing sent, the row waits with the reason
    _sweep(minutes=60)
    row = ReminderSend.objects.get()
    assert (row.status, sms.outbox) == (SendStatus.PENDING, [])
    assert "503" in row.failure_reason
    # when the sweep runs again (twice, and once more much later)
    for minutes in (61, 62, 200):
        _sweep(minutes=minutes)
    # then exactly one text went, recorded sent
    assert [m.to for m in sms.outbox] == [MOBILE]
    row.refresh_from_db()
    assert (row.status, row.failure_reason) == (SendStatus.SENT, "")
    assert ReminderSend.objects.filter(slot__patient=patient).count() == 1
    assert FlakyProvider.calls == 2


def test_a_text_to_an_invalid_number_is_recorded_failed_and_the_e_mail_still_goes(
    world: World,
) -> None:
    # given she chose texts only, and her stored number is not a valid one
    patient = _due_patient(reminder_channels="sms")
    Patient.objects.filter(pk=patient.pk).update(phone="+44770090")
    mail.outbox.clear()
    # when her reminder is due
    _sweep()
    # then no text went, the row says why, and the e-mail went instead
    assert sms.outbox == []
    failed = ReminderSend.objects.get(channel="sms")
    assert (failed.status, failed.failure_reason) == ("failed", "not a valid mobile number")
    assert [m.to for m in mail.outbox] == [[patient.email]]
    assert ReminderSend.objects.get(channel="email").status == SendStatus.SENT
    # and staff see it in her contact block
    Patient.objects.filter(pk=patient.pk).update(clinic=world.clinic_a)
    page = client_for(world.nurse_a).get(reverse("clinical:patient", args=[patient.pk]))
    assert "not a valid mobile number" in page.content.decode()


def test_a_nurse_hears_of_a_high_priority_flag_by_the_channels_she_chose(world: World) -> None:
    User.objects.filter(pk=world.nurse_a.pk).update(flag_alert_channels="both", phone=MOBILE)
    mail.outbox.clear()
    flag_raise(
        patient_id=world.patient_a.pk,
        kind="high_interference",
        source="response",
        source_id=1,
        value=8,
    )
    from followup.services import flag_notifications_send, notifications_pending

    flag_notifications_send(flag_id=FlagNotification.objects.first().flag_id)  # type: ignore[union-attr]
    for notification_id in notifications_pending():  # a repeated sweep sends nothing more
        raise AssertionError(f"notification {notification_id} still pending")
    assert [m.to for m in sms.outbox] == [MOBILE]
    assert "queue" in sms.outbox[0].body
    assert "STOP" in sms.outbox[0].body
    assert world.patient_a.family_name not in sms.outbox[0].body
    assert [m.to for m in mail.outbox] == [[world.nurse_a.email]]
    assert set(FlagNotification.objects.values_list("channel", "status")) == {
        ("email", "sent"),
        ("sms", "sent"),
    }


# --- stopping texts ----------------------------------------------------------------------------

INBOUND_URL = "https://aimss.example.org/sms/inbound/"
AUTH_TOKEN = "twilio-test-token"  # noqa: S105


def _inbound(body: str, sender: str, signature: str | None = None) -> Any:
    params = {"From": sender, "To": "+447700900999", "Body": body, "MessageSid": "SM1"}
    if signature is None:
        signature = twilio_signature(INBOUND_URL, {k: [v] for k, v in params.items()}, AUTH_TOKEN)
    with override_settings(TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_INBOUND_URL=INBOUND_URL):
        return client_for(None).post(
            reverse("followup:sms_inbound"), params, HTTP_X_TWILIO_SIGNATURE=signature
        )


def test_twilio_signature_matches_twilio_s_published_example() -> None:
    # Twilio's documented example of a signed request (its security guide)
    params = {
        "CallSid": ["CA1234567890ABCDE"],
        "Caller": ["+12349013030"],
        "Digits": ["1234"],
        "From": ["+12349013030"],
        "To": ["+18005551212"],
    }
    assert (
        twilio_signature("https://mycompany.com/myapp.php?foo=1&bar=2", params, "12345")
        == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )


def test_a_signed_stop_reply_switches_her_to_e_mail_and_is_recorded(db: None) -> None:
    patient = PatientFactory.create(phone=MOBILE, reminder_channels="both")
    answer = _inbound(" Stop ", MOBILE)
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/xml")
    patient.refresh_from_db()
    assert patient.reminder_channels == "email"
    stop = SmsOptOut.objects.get()
    assert (stop.patient_id, stop.via, stop.keyword, str(stop.phone)) == (
        patient.pk,
        "reply",
        "STOP",
        MOBILE,
    )


def test_a_reply_with_a_bad_signature_is_refused_and_changes_nothing(db: None) -> None:
    patient = PatientFactory.create(phone=MOBILE, reminder_channels="sms")
    assert _inbound("STOP", MOBILE, signature="forged").status_code == 403
    assert _inbound("STOP", MOBILE, signature="").status_code == 403
    patient.refresh_from_db()
    assert patient.reminder_channels == "sms"
    assert not SmsOptOut.objects.exists()


def test_a_reply_that_is_not_a_stop_keyword_changes_nothing(db: None) -> None:
    patient = PatientFactory.create(phone=MOBILE, reminder_channels="sms")
    assert _inbound("my knees stop me walking", MOBILE).status_code == 200
    patient.refresh_from_db()
    assert patient.reminder_channels == "sms"


def test_the_stop_link_asks_first_then_stops_texts(db: None) -> None:
    patient = PatientFactory.create(phone=MOBILE, reminder_channels="both")
    path = notify.stop_url_for(patient).removeprefix(settings.AIMSS_BASE_URL)
    client = client_for(None)
    # opening it (or a link preview) stops nothing
    assert client.get(path).status_code == 200
    patient.refresh_from_db()
    assert patient.reminder_channels == "both"
    # confirming does, and is recorded
    answer = client.post(path)
    assert answer.status_code == 200
    patient.refresh_from_db()
    assert patient.reminder_channels == "email"
    assert SmsOptOut.objects.get().via == "link"
    # a forged token is a 404 page
    assert client.post(path[:-3] + "xx/").status_code == 404


def test_a_nurse_s_stop_reply_switches_her_flag_alerts_to_e_mail(world: World) -> None:
    User.objects.filter(pk=world.nurse_a.pk).update(flag_alert_channels="sms", phone=MOBILE)
    assert _inbound("STOP", MOBILE).status_code == 200
    world.nurse_a.refresh_from_db()
    assert world.nurse_a.flag_alert_channels == "email"
    assert SmsOptOut.objects.get().user_id == world.nurse_a.pk


# --- choosing --------------------------------------------------------------------------------


def test_a_patient_chooses_her_reminder_channels_on_her_profile(db: None) -> None:
    patient = PatientFactory.create(phone=MOBILE, reminder_channels="email")
    client = client_for(patient.user)
    assert client.get(reverse("profile")).status_code == 200
    assert client.post(reverse("profile"), {"channels": "both"}).status_code == 302
    patient.refresh_from_db()
    assert patient.reminder_channels == "both"
    # dropping texts there is a recorded stop too
    client.post(reverse("profile"), {"channels": "email"})
    assert SmsOptOut.objects.get().via == "profile"


def test_texts_without_a_number_are_refused_with_a_message(db: None) -> None:
    patient = PatientFactory.create(phone="", reminder_channels="email")
    answer = client_for(patient.user).post(reverse("profile"), {"channels": "sms"})
    assert answer.status_code == 400
    assert "mobile phone number" in answer.content.decode()
    nurse = UserFactory.create(role="nurse")
    answer = client_for(nurse).post(reverse("profile"), {"channels": "both", "phone": ""})
    assert answer.status_code == 400
    answer = client_for(nurse).post(reverse("profile"), {"channels": "both", "phone": MOBILE})
    assert answer.status_code == 302
    nurse.refresh_from_db()
    assert (nurse.flag_alert_channels, str(nurse.phone)) == ("both", MOBILE)


def test_enrolment_through_the_api_takes_the_reminder_channels(world: World) -> None:
    data = {
        "clinic": world.clinic_a.code,
        "record_number": "SMS-1",
        "given_name": "Ann",
        "family_name": "Texter",
        "birth_date": "1960-02-01",
        "email": "ann.texter@example.org",
        "phone": MOBILE,
        "reminder_channels": "both",
        "preferred_language": "en",
        "time_zone": "Europe/London",
        "height_cm": "160.0",
        "weight_kg": "60.0",
        "tnm_stage": "II",
        "surgery": "lumpectomy",
        "chemotherapy": False,
        "radiotherapy": True,
        "ai_drug": "anastrozole",
        "ai_start_date": "2026-01-05",
    }
    client = client_for(world.nurse_a)
    answer = client.post(reverse("api:patient-list"), data, content_type="application/json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["reminder_channels"] == "both"
    refused = client.post(
        reverse("api:patient-list"),
        {**data, "record_number": "SMS-2", "email": "b@example.org", "phone": ""},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert "reminder_channels" in refused.json()


# --- the backends ------------------------------------------------------------------------------


def _twilio_answer(status: int, body: dict[str, Any]) -> Any:
    if status >= 400:
        return urllib.error.HTTPError(
            "https://api.twilio.com",
            status,
            "error",
            email.message.Message(),
            io.BytesIO(json.dumps(body).encode()),
        )
    answer = mock.MagicMock()
    answer.__enter__.return_value.read.return_value = json.dumps(body).encode()
    return answer


@override_settings(TWILIO_ACCOUNT_SID="AC123", TWILIO_AUTH_TOKEN="tok", TWILIO_FROM="+15005550006")  # noqa: S106
@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (201, {"sid": "SM42"}, "SM42"),
        (400, {"code": 21211, "message": "The 'To' number is not valid."}, sms.SmsRejected),
        (503, {"code": 20500, "message": "Internal error"}, sms.SmsUnavailable),
        (429, {"code": 20429, "message": "Too many requests"}, sms.SmsUnavailable),
    ],
)
def test_the_twilio_backend_posts_the_message_and_sorts_failures(
    status: int, body: dict[str, Any], outcome: Any
) -> None:
    message = sms.SmsMessage(to=MOBILE, body="hello", key="reminder-1-0-sms")
    answer = _twilio_answer(status, body)
    with mock.patch("urllib.request.urlopen") as urlopen:
        if isinstance(answer, Exception):
            urlopen.side_effect = answer
        else:
            urlopen.return_value = answer
        if isinstance(outcome, str):
            assert sms.TwilioBackend().send(message) == outcome
        else:
            with pytest.raises(outcome):
                sms.TwilioBackend().send(message)
    request = urlopen.call_args.args[0]
    assert request.full_url.endswith("/Accounts/AC123/Messages.json")
    assert request.data == b"To=%2B447911123456&Body=hello&From=%2B15005550006"
    assert request.headers["Authorization"].startswith("Basic ")


def test_the_twilio_backend_treats_an_unreachable_provider_as_an_outage() -> None:
    message = sms.SmsMessage(to=MOBILE, body="hello", key="k")
    with (
        override_settings(TWILIO_ACCOUNT_SID="AC1", TWILIO_AUTH_TOKEN="t", TWILIO_FROM="+1"),  # noqa: S106
        mock.patch("urllib.request.urlopen", side_effect=urllib.error.URLError("down")),
        pytest.raises(sms.SmsUnavailable),
    ):
        sms.TwilioBackend().send(message)


def test_the_lease_of_a_dead_worker_s_sends_lapses_within_two_minutes() -> None:
    # a dead worker's sends are claimed again by the first notifications sweep after the lease
    assert settings.AIMSS_CLAIM_LEASE_SECONDS + settings.AIMSS_NOTIFICATION_SWEEP_SECONDS <= 120
