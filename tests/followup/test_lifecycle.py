"""Care that stops stops everything: a permanent discontinuation, a confirmed recurrence or a
death ends her schedule, reminders, the flags that no longer apply and her interventions; a
death also ends her login. And an overdue flag closes itself when she answers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from adherence.models import EventKind, Intervention, StopReason, TreatmentEvent
from adherence.services import check_in_submit, treatment_event_create
from followup.evaluation import check_in_evaluate, treatment_event_evaluate
from followup.models import (
    ActionKind,
    Flag,
    FlagAction,
    FlagKind,
    FlagStatus,
    ReassessmentSlot,
    SystemReason,
    TriggerSource,
)
from followup.schedules import overdue_flags_raise, reminders_send_due, schedules_sync
from followup.services import flag_raise
from followup.tasks import care_stopped_task, schedules_sync_task
from patients.models import Patient
from tests.factories import (
    TEST_PASSWORD,
    AiCourseFactory,
    InterventionFactory,
    PatientFactory,
    ResponseFactory,
    UserFactory,
)

STOPS = [
    (EventKind.DISCONTINUATION, StopReason.AIMSS, SystemReason.DISCONTINUATION),
    (EventKind.RECURRENCE, "", SystemReason.RECURRENCE),
    (EventKind.DEATH, "", SystemReason.DEATH),
]


def _on_ai(diagnosed_days_ago: int = 200) -> Patient:
    today = timezone.localdate()
    patient = PatientFactory.create(
        aimss_diagnosis_date=today - dt.timedelta(days=diagnosed_days_ago),
        time_zone="UTC",
        quiet_hours_start=dt.time(0, 0),
        quiet_hours_end=dt.time(0, 0),
    )
    AiCourseFactory.create(patient=patient, start_date=today - dt.timedelta(days=400))
    return patient


def _stop(patient: Patient, kind: str, reason: str = "") -> TreatmentEvent:
    event = treatment_event_create(
        patient=patient, kind=kind, start_date=timezone.localdate(), reason=reason
    )
    care_stopped_task(patient.pk)  # what the after-commit task does
    return event


def _open_flags(patient: Patient) -> dict[str, Flag]:
    return {
        f.kind: f for f in Flag.objects.filter(patient=patient).exclude(status=FlagStatus.RESOLVED)
    }


def _lapse_and_overdue(patient: Patient) -> None:
    schedules_sync(patients=[patient], today=timezone.localdate())
    slot = ReassessmentSlot.objects.filter(patient=patient).order_by("due_date").first()
    assert slot is not None
    flag_raise(
        patient_id=patient.pk,
        kind=FlagKind.OVERDUE,
        source=TriggerSource.SCHEDULE_SLOT,
        source_id=slot.pk,
    )
    flag_raise(
        patient_id=patient.pk,
        kind=FlagKind.ADHERENCE_LAPSE,
        source=TriggerSource.CHECK_IN,
        source_id=1,
    )


@pytest.mark.parametrize(("kind", "reason", "system_reason"), STOPS)
def test_a_stop_closes_her_lapse_and_overdue_flags_saying_why(
    db: None, kind: str, reason: str, system_reason: str
) -> None:
    # given a patient with an open overdue, lapse and high-interference flag
    patient = _on_ai()
    _lapse_and_overdue(patient)
    flag_raise(
        patient_id=patient.pk,
        kind=FlagKind.HIGH_INTERFERENCE,
        source=TriggerSource.RESPONSE,
        source_id=1,
    )
    # when the stop is recorded
    _stop(patient, kind, reason)
    # then lapse and overdue are resolved by the system with the reason; pain stays with nurses
    assert set(_open_flags(patient)) == {FlagKind.HIGH_INTERFERENCE}
    closed = FlagAction.objects.filter(flag__patient=patient, action=ActionKind.RESOLVED)
    assert {(a.actor_id, a.system_reason) for a in closed} == {(None, system_reason)}
    assert closed.count() == 2


@pytest.mark.parametrize(("kind", "reason", "system_reason"), STOPS)
def test_a_stop_ends_her_schedule_and_reminders(
    db: None, kind: str, reason: str, system_reason: str
) -> None:
    patient = _on_ai()
    schedules_sync(patients=[patient], today=timezone.localdate())
    assert ReassessmentSlot.objects.filter(patient=patient, completed_at__isnull=True).exists()
    _stop(patient, kind, reason)
    assert not ReassessmentSlot.objects.filter(patient=patient, completed_at__isnull=True).exists()
    # the hourly sync adds none back, and the reminder sweep has nothing to send her
    assert (
        schedules_sync(patients=[patient], today=timezone.localdate() + dt.timedelta(days=200)) == 0
    )
    mail.outbox.clear()
    reminders_send_due(now=timezone.now() + dt.timedelta(days=1))
    assert [m for m in mail.outbox if patient.email in m.to] == []


def test_a_stop_ends_her_current_interventions_on_its_date(db: None) -> None:
    patient = _on_ai()
    today = timezone.localdate()
    ongoing = InterventionFactory.create(patient=patient, start_date=today - dt.timedelta(days=100))
    ended = InterventionFactory.create(
        patient=patient,
        start_date=today - dt.timedelta(days=150),
        end_date=today - dt.timedelta(days=120),
    )
    _stop(patient, EventKind.DISCONTINUATION, StopReason.OTHER)
    ongoing.refresh_from_db()
    ended.refresh_from_db()
    assert ongoing.end_date == today
    assert ended.end_date == today - dt.timedelta(days=120)  # history is not rewritten


def test_an_interruption_does_not_stop_care(db: None) -> None:
    patient = _on_ai()
    InterventionFactory.create(
        patient=patient, start_date=timezone.localdate() - dt.timedelta(days=50)
    )
    schedules_sync(patients=[patient], today=timezone.localdate())
    treatment_event_create(
        patient=patient,
        kind=EventKind.INTERRUPTION,
        start_date=timezone.localdate(),
        reason=StopReason.AIMSS,
    )
    care_stopped_task(patient.pk)
    assert Intervention.objects.get(patient=patient).end_date is None
    assert ReassessmentSlot.objects.filter(patient=patient, completed_at__isnull=True).exists()


def test_a_death_blocks_her_login_and_her_e_mail(db: None) -> None:
    patient = _on_ai()
    assert patient.user is not None
    username = patient.user.username
    _stop(patient, EventKind.DEATH)
    patient.user.refresh_from_db()
    assert patient.user.is_active is False
    client = Client()
    client.post(reverse("login"), {"username": username, "password": TEST_PASSWORD})
    assert "_auth_user_id" not in client.session
    # a forgotten-password request for her address sends nothing
    mail.outbox.clear()
    client.post(reverse("password_reset"), {"email": patient.user.email})
    assert mail.outbox == []


def test_a_death_ends_a_session_she_already_had(db: None) -> None:
    patient = _on_ai()
    client = Client()
    client.force_login(patient.user)  # type: ignore[arg-type]
    assert client.get(reverse("clinical:patient_home")).status_code == 200
    _stop(patient, EventKind.DEATH)
    assert client.get(reverse("clinical:patient_home")).status_code == 302


def test_no_lapse_or_overdue_flag_is_raised_for_a_patient_off_ai(db: None) -> None:
    patient = _on_ai(diagnosed_days_ago=60)
    schedules_sync(patients=[patient], today=timezone.localdate() - dt.timedelta(days=50))
    _stop(patient, EventKind.DISCONTINUATION, StopReason.AIMSS)
    check_in, _created = check_in_submit(
        patient=patient,
        days_taken_last_7=0,
        stopped=True,
        wants_to_stop=False,
        missed_reason="other",
    )
    assert check_in_evaluate(check_in_id=check_in.pk) is None
    assert overdue_flags_raise(today=timezone.localdate()) == 0
    assert _open_flags(patient) == {}


def test_an_imported_stop_is_applied_by_the_hourly_sweep(db: None) -> None:
    # given an event written straight to the table (an import), with no task sent
    patient = _on_ai()
    _lapse_and_overdue(patient)
    TreatmentEvent.objects.create(
        patient=patient, kind=EventKind.RECURRENCE, start_date=timezone.localdate()
    )
    # when the hourly sync runs (twice: it is idempotent)
    schedules_sync_task()
    schedules_sync_task()
    # then
    assert _open_flags(patient) == {}
    assert not ReassessmentSlot.objects.filter(patient=patient, completed_at__isnull=True).exists()
    assert (
        FlagAction.objects.filter(
            flag__patient=patient, system_reason=SystemReason.RECURRENCE
        ).count()
        == 2
    )


def test_an_interruption_event_still_raises_a_lapse_before_any_stop(db: None) -> None:
    patient = _on_ai()
    event = treatment_event_create(
        patient=patient,
        kind=EventKind.INTERRUPTION,
        start_date=timezone.localdate(),
        reason=StopReason.AIMSS,
    )
    result = treatment_event_evaluate(event_id=event.pk)
    assert result is not None
    assert result.opened


def test_the_overdue_flag_closes_itself_when_she_answers(db: None) -> None:
    # given a reassessment overdue by more than a week, and its flag
    patient = _on_ai(diagnosed_days_ago=40)
    schedules_sync(patients=[patient], today=timezone.localdate())
    assert overdue_flags_raise(today=timezone.localdate()) >= 1
    assert FlagKind.OVERDUE in _open_flags(patient)
    # when she answers
    response = ResponseFactory.create(patient=patient)
    from followup.evaluation import response_evaluate

    response_evaluate(response_id=response.pk)
    # then it is resolved by the system, saying why
    flag = Flag.objects.get(patient=patient, kind=FlagKind.OVERDUE)
    assert flag.status == FlagStatus.RESOLVED
    assert flag.actions.get().system_reason == SystemReason.ANSWERED


def test_an_imported_death_blocks_her_login_at_the_next_sweep(db: None) -> None:
    # given a death written straight to the table (an import), with no task sent
    patient = _on_ai()
    assert patient.user is not None
    died = timezone.localdate() - dt.timedelta(days=3)
    TreatmentEvent.objects.create(patient=patient, kind=EventKind.DEATH, start_date=died)
    # when the hourly sync runs
    schedules_sync_task()
    # then her record says so and her login no longer works
    patient.refresh_from_db()
    patient.user.refresh_from_db()
    assert patient.died_on == died
    assert patient.user.is_active is False


def test_a_death_shows_on_every_staff_page_of_hers(db: None) -> None:
    # given a patient with a response and a flag, who died
    patient = _on_ai()
    response = ResponseFactory.create(patient=patient)
    flag = flag_raise(
        patient_id=patient.pk, kind=FlagKind.WORSENING, source="response", source_id=response.pk
    ).flag
    _stop(patient, EventKind.DEATH)
    clinician = UserFactory.create(role="clinician", clinics=[patient.clinic])
    client = Client()
    client.force_login(clinician)
    # when her clinician opens each page of hers
    pages = [
        reverse("clinical:patient", args=[patient.pk]),
        reverse("followup:flag", args=[flag.pk]),
        reverse("adherence:therapy", args=[patient.pk]),
        reverse("assessments:patient_responses", args=[patient.pk]),
        reverse("assessments:staff_new", args=[patient.pk]),
        reverse("assessments:detail", args=[response.pk]),
    ]
    # then every one says that she died, and when
    for url in pages:
        body = client.get(url).content.decode()
        assert f"Died on {timezone.localdate():%Y-%m-%d}." in body, url


def test_the_queue_card_of_a_patient_who_died_says_so_and_offers_no_call(db: None) -> None:
    # given a patient with a phone and an open worsening flag, who died
    patient = _on_ai()
    Patient.objects.filter(pk=patient.pk).update(phone="+447911123456")
    response = ResponseFactory.create(patient=patient)
    flag_raise(
        patient_id=patient.pk, kind=FlagKind.WORSENING, source="response", source_id=response.pk
    )
    _stop(patient, EventKind.DEATH)
    nurse = UserFactory.create(role="nurse", clinics=[patient.clinic])
    client = Client()
    client.force_login(nurse)
    # when her nurse opens the queue
    body = client.get(reverse("followup:queue")).content.decode()
    # then her card says she died, with no call link
    assert f"Died on {timezone.localdate():%Y-%m-%d}." in body
    assert 'href="tel:+447911123456"' not in body
