"""The patient always knows what is due: her home's banner and dates, her reminder and
check-in history, her drug by name, one response per answer, a reminder link's bare
confirmation."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from adherence.models import Drug, RegimenChangeKind
from assessments.models import Response
from followup.schedules import schedules_sync
from followup.selectors import check_in_due_since, check_in_next
from patients.models import Patient
from tests.assessments.test_pages import form_data
from tests.conftest import World, client_for, reminder_link
from tests.factories import AiCourseFactory, CheckInFactory, RegimenChangeFactory


def _diagnosed(patient: Patient, days_ago: int) -> None:
    Patient.objects.filter(pk=patient.pk).update(
        aimss_diagnosis_date=timezone.localdate() - dt.timedelta(days=days_ago),
        quiet_hours_start=dt.time(0, 0),
        quiet_hours_end=dt.time(0, 0),
    )
    patient.refresh_from_db()


def test_a_due_questionnaire_is_a_banner_that_comes_first(world: World) -> None:
    # given a reassessment due five days ago
    _diagnosed(world.patient_a, 35)
    schedules_sync(patients=[world.patient_a], today=timezone.localdate())
    page = client_for(world.patient_a.user).get(reverse("clinical:patient_home"))
    body = page.content.decode()
    # then the banner with the button comes before anything else on her page
    assert "Your pain questionnaire is due since" in body
    assert body.index("due-now-heading") < body.index("trajectory-heading")
    assert body.index("due-now-heading") < body.index("Next pain questionnaire")
    assert reverse("assessments:new") in body


def test_her_home_shows_the_next_dates_and_her_histories(world: World) -> None:
    _diagnosed(world.patient_a, 0)
    schedules_sync(patients=[world.patient_a], today=timezone.localdate() - dt.timedelta(days=1))
    link = reminder_link(world.patient_a)
    assert link
    CheckInFactory.create(patient=world.patient_a, days_taken_last_7=6)
    body = client_for(world.patient_a.user).get(reverse("clinical:patient_home")).content.decode()
    assert "Next medicine check-in" in body
    assert "Reminders we sent you" in body
    assert "for the questionnaire due" in body
    assert "taken on 6 of 7 days" in body


def test_no_banner_when_nothing_is_due(world: World) -> None:
    _diagnosed(world.patient_a, 0)
    body = client_for(world.patient_a.user).get(reverse("clinical:patient_home")).content.decode()
    assert "due-now-heading" not in body


def test_the_check_in_names_her_drug_and_follows_a_switch(world: World) -> None:
    course = AiCourseFactory.create(patient=world.patient_a, drug=Drug.ANASTROZOLE)
    client = client_for(world.patient_a.user)
    assert "take your anastrozole?" in client.get(reverse("clinical:check_in")).content.decode()
    RegimenChangeFactory.create(
        course=course, kind=RegimenChangeKind.SWITCH_AGENT, new_drug=Drug.EXEMESTANE
    )
    assert "take your exemestane?" in client.get(reverse("clinical:check_in")).content.decode()


def test_going_back_and_sending_again_stores_nothing_new(world: World) -> None:
    client = client_for(world.patient_a.user)
    first = client.post(reverse("assessments:new"), form_data())
    # Back: the form is fetched again, with a fresh key, and the same answers are sent
    client.get(reverse("assessments:new"))
    second = client.post(reverse("assessments:new"), form_data(), follow=True)
    assert Response.objects.filter(patient=world.patient_a).count() == 1
    assert second.redirect_chain[-1][0] == first["Location"]
    assert "already received these answers" in second.content.decode()
    # different answers are a new report
    client.post(reverse("assessments:new"), form_data(worst_pain="9"))
    assert Response.objects.filter(patient=world.patient_a).count() == 2


def test_a_reminder_link_answer_shows_a_confirmation_only(world: World) -> None:
    _diagnosed(world.patient_a, 1)
    client = Client()
    client.get(reminder_link(world.patient_a))
    done = client.post(reverse("assessments:new"), form_data(), follow=True)
    body = done.content.decode()
    assert "Your answers were received" in body
    assert world.patient_a.given_name not in body
    assert world.patient_a.family_name not in body
    assert "history-heading" not in body


def test_check_ins_fall_due_with_her_reassessment_slots(world: World) -> None:
    # given a patient diagnosed on 31 January, whose slots fall at months 1, 2, 3 then every 3
    # (the reassessment months of her clinic's schedule, clamped to the month's end)
    patient = world.patient_a
    Patient.objects.filter(pk=patient.pk).update(aimss_diagnosis_date=dt.date(2024, 1, 31))
    patient.refresh_from_db()
    schedules_sync(patients=[patient], today=dt.date(2024, 9, 1))
    # then no check-in is due at the baseline, and the month-1 one on 29 February
    assert check_in_due_since(patient, today=dt.date(2024, 2, 28)) is None
    assert check_in_next(patient, today=dt.date(2024, 2, 28)) == dt.date(2024, 2, 29)
    assert check_in_due_since(patient, today=dt.date(2024, 4, 10)) == dt.date(2024, 3, 31)
    # when she checks in on 5 April, nothing is due until the month-3 slot on 30 April
    CheckInFactory.create(patient=patient, submitted_at=dt.datetime(2024, 4, 5, 10, tzinfo=dt.UTC))
    assert check_in_due_since(patient, today=dt.date(2024, 4, 29)) is None
    assert check_in_due_since(patient, today=dt.date(2024, 4, 30)) == dt.date(2024, 4, 30)
    assert check_in_next(patient, today=dt.date(2024, 4, 30)) == dt.date(2024, 7, 31)


def test_the_check_in_page_says_since_when_it_is_due(world: World) -> None:
    # given a reassessment slot that fell due five days ago and no check-in since
    _diagnosed(world.patient_a, 35)
    schedules_sync(patients=[world.patient_a], today=timezone.localdate())
    due = check_in_due_since(world.patient_a)
    assert due is not None
    # when she opens her check-in
    body = client_for(world.patient_a.user).get(reverse("clinical:check_in")).content.decode()
    # then the page names that slot's date
    assert "Your check-in is due since" in body
    assert due.strftime("%Y") in body
