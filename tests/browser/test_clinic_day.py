"""A clinic's day end to end in Chromium at 360 px: a nurse enrols a patient, the invitation
sets her password, she answers her first questionnaire, going Back and sending again stores
nothing new, the nurse calls her from the flag and resolves it; a death blocks her login; and
a forgotten password is reset by e-mail. Every page is checked by axe and must not scroll
sideways."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from adherence.models import EventKind
from adherence.services import treatment_event_create
from assessments.models import Response
from followup.evaluation import response_evaluate
from followup.models import Flag, FlagKind, FlagStatus, ReassessmentSlot, TriggerSource
from followup.schedules import reminders_send_due, schedules_sync
from followup.services import flag_raise
from followup.tasks import care_stopped_task
from patients.models import Clinic, Patient, Role
from tests.browser.conftest import Visit
from tests.browser.world import log_in
from tests.factories import TEST_PASSWORD, ClinicFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-quiet-garden-path"  # noqa: S105
SLOW_MACHINE_MS = 60_000  # a loaded CI machine can take longer than the journeys' 15 s


@pytest.fixture(autouse=True)
def _patient_timeouts(page: Page) -> None:
    page.set_default_timeout(SLOW_MACHINE_MS)
    page.set_default_navigation_timeout(SLOW_MACHINE_MS)
    expect.set_options(timeout=SLOW_MACHINE_MS)


def _link(prefix: str) -> str:
    found = re.search(rf"https?://[^/\s]+({prefix}\S+/)", str(mail.outbox[-1].body))
    assert found is not None
    return found.group(1)


def _set_password(page: Page, base: str, path: str, visit: Visit, journey: str) -> None:
    page.goto(base + path)
    visit.check(page, journey, "set-password")
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Password set")


def _answer(page: Page, value_for: dict[str, str]) -> None:
    for name, value in value_for.items():
        page.locator(f"input[name={name}][value='{value}']").check(force=True)


ANSWERS = {
    "recall_period": "24h",
    "has_pain_today": "yes",
    "pain_locations": "knees_left",
    "worst_pain": "8",
    "least_pain": "4",
    "average_pain": "7",
    "pain_now": "7",
    "general_activity": "8",
    "mood": "8",
    "walking_ability": "8",
    "normal_work": "8",
    "relations_with_others": "8",
    "sleep": "8",
    "enjoyment_of_life": "8",
}


def _enrol(page: Page, base: str, clinic: Clinic, visit: Visit) -> None:
    page.goto(f"{base}/patients/")
    page.get_by_role("link", name="Enrol a patient").click()
    visit.check(page, "enrol", "form")
    page.get_by_label("Record number").fill("RBC-7001")
    page.get_by_label("Given name").fill("Mei")
    page.get_by_label("Family name").fill("Lin")
    page.get_by_label("Birth date").fill("1959-08-20")
    page.get_by_label("E-mail address").fill("mei.lin@example.org")
    page.get_by_label("Mobile phone").fill("07911 123456")
    page.get_by_label("Time zone").select_option("Europe/London")
    page.get_by_label("Height (cm)").fill("160")
    page.get_by_label("Weight (kg)").fill("60")
    page.get_by_label("TNM stage").select_option("II")
    page.get_by_label("Surgery").select_option("lumpectomy")
    page.get_by_label("AIMSS diagnosis date").fill(f"{timezone.localdate():%Y-%m-%d}")
    page.get_by_label("Aromatase inhibitor").select_option("anastrozole")
    page.get_by_label("AI start date").fill("2025-01-15")
    page.get_by_role("button", name="Enrol and send the invitation").click()
    expect(page.locator("main")).to_contain_text("is enrolled")
    expect(page.locator('a[href="tel:+447911123456"]').first).to_be_visible()
    visit.check(page, "enrol", "patient-page")


def test_enrol_invite_answer_call_resolve_and_a_death_blocks_the_login(
    live_server: object, page: Page, visit: Visit
) -> None:
    base = str(live_server)
    clinic = ClinicFactory.create(
        code="rbc", name="Riverside Breast Centre", phone="+442079460000", time_zone="UTC"
    )
    UserFactory.create(username="nurse", first_name="Nora", role=Role.NURSE, clinics=[clinic])

    # --- the nurse enrols Mei ---------------------------------------------------------------
    log_in(page, base, "nurse")
    _enrol(page, base, clinic, visit)
    patient = Patient.objects.get(record_number="RBC-7001")
    invitation = _link("/accounts/invitation/")
    assert "Lin" not in str(mail.outbox[-1].body)

    # --- Mei sets her password from the invitation and answers ------------------------------
    page.context.clear_cookies()
    _set_password(page, base, invitation, visit, "invitation")
    log_in(page, base, "mei.lin@example.org", PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mei")
    visit.check(page, "patient-new", "home")
    page.goto(f"{base}/assessments/new/")
    # choosing the 7-day recall rewords every item at once
    page.locator("input[name=recall_period][value='7d']").check(force=True)
    expect(page.locator("#q-average_pain legend")).to_contain_text("in the last 7 days")
    expect(page.locator("#interference-heading")).to_contain_text("in the last 7 days")
    _answer(page, ANSWERS)
    expect(page.locator("#q-average_pain legend")).to_contain_text("in the last 24 hours")
    page.locator("input[name=worst_location][value=knees_left]").check(force=True)
    page.get_by_role("button", name="Send my answers").click()
    # her pain is severe: the clinic's number comes first, as a tap-to-call link
    expect(page.locator("a[href='tel:+442079460000']").first).to_be_visible()
    visit.check(page, "patient-new", "result-severe")
    result_url = page.url

    # going Back and sending the same answers again stores nothing new
    page.go_back()
    _answer(page, ANSWERS)
    page.locator("input[name=worst_location][value=knees_left]").check(force=True)
    page.get_by_role("button", name="Send my answers").click()
    expect(page.locator("main")).to_contain_text("already received these answers")
    assert page.url == result_url
    assert Response.objects.filter(patient=patient).count() == 1
    response_evaluate(response_id=Response.objects.get(patient=patient).pk)
    flag = Flag.objects.get(patient=patient, kind="high_interference")

    # --- the nurse calls her from the flag and resolves it ----------------------------------
    page.context.clear_cookies()
    log_in(page, base, "nurse")
    page.goto(f"{base}/queue/{flag.pk}/")
    expect(page.locator("a[href='tel:+447911123456']").first).to_be_visible()
    visit.check(page, "nurse-call", "flag")
    page.get_by_role("button", name="Called patient").click()
    expect(page.locator(".history")).to_contain_text("Called patient")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("button", name="Reopen")).to_be_visible()
    flag.refresh_from_db()
    assert flag.status == FlagStatus.RESOLVED

    # --- a death is recorded: reminders and flags stop, her login no longer works -----------
    schedules_sync(patients=[patient], today=timezone.localdate())
    assert ReassessmentSlot.objects.filter(patient=patient, completed_at__isnull=True).exists()
    lapse = flag_raise(
        patient_id=patient.pk,
        kind=FlagKind.ADHERENCE_LAPSE,
        source=TriggerSource.CHECK_IN,
        source_id=1,
    ).flag
    treatment_event_create(patient=patient, kind=EventKind.DEATH, start_date=timezone.localdate())
    care_stopped_task(patient.pk)
    assert not ReassessmentSlot.objects.filter(patient=patient, completed_at__isnull=True).exists()
    mail.outbox.clear()
    reminders_send_due(now=timezone.now() + dt.timedelta(days=400))
    assert mail.outbox == []
    page.goto(f"{base}/queue/{lapse.pk}/")
    expect(page.locator("main")).to_contain_text("Died on")
    expect(page.locator("main")).to_contain_text("Resolved by the system: the patient died.")
    page.goto(f"{base}/patients/{patient.pk}/")
    expect(page.locator("main")).to_contain_text("Died on")
    visit.check(page, "death", "patient-page")
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("mei.lin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert "/accounts/login/" in page.url


def test_forgot_password_resets_by_e_mail(live_server: object, page: Page, visit: Visit) -> None:
    base = str(live_server)
    clinic = ClinicFactory.create(code="hcc", name="Harbour City")
    UserFactory.create(
        username="clinician", email="c@example.org", role=Role.CLINICIAN, clinics=[clinic]
    )
    page.goto(f"{base}/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    visit.check(page, "forgot", "form")
    page.get_by_label("E-mail address").fill("c@example.org")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Check your e-mail")
    visit.check(page, "forgot", "sent")
    _set_password(page, base, _link("/accounts/password/reset/"), visit, "forgot")
    log_in(page, base, "clinician", PASSWORD)
    assert "/accounts/login/" not in page.url


def _choose_language(page: Page, code: str) -> None:
    page.locator("#language-select").select_option(code)
    page.locator("form.language button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", code)


def _sign_in_by_field_names(page: Page, base: str, username: str) -> None:
    """Sign in whatever language the login page speaks."""
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(TEST_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_a_language_chosen_on_the_login_page_or_after_signing_in_stays_hers(
    live_server: object, page: Page, visit: Visit
) -> None:
    base = str(live_server)
    clinic = ClinicFactory.create(code="hcc", name="Harbour City")
    UserFactory.create(username="nurse", role=Role.NURSE, clinics=[clinic])
    # on the login page she chooses Chinese, and signs in: her pages speak Chinese
    page.goto(f"{base}/accounts/login/")
    _choose_language(page, "zh-hans")
    visit.check(page, "language", "login-zh")
    _sign_in_by_field_names(page, base, "nurse")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    visit.check(page, "language", "signed-in-zh")
    # signed in, she changes to English; on another browser (no cookie) she is still English
    _choose_language(page, "en")
    page.context.clear_cookies()
    _sign_in_by_field_names(page, base, "nurse")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # and back to Chinese: the next sign-in anywhere speaks Chinese
    _choose_language(page, "zh-hans")
    page.context.clear_cookies()
    _sign_in_by_field_names(page, base, "nurse")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.goto(f"{base}/patients/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
