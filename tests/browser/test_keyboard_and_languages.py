"""Every form of the journeys completed with the keyboard alone, in Simplified Chinese for the
patient and the nurse: Tab to reach, Space and the arrow keys to choose, Enter to send."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from adherence.models import AdherenceCheckIn, Intervention
from assessments.instrument import EXPECTED_INTERFERENCE
from assessments.models import Response
from followup.evaluation import response_evaluate
from followup.models import Flag
from tests.browser.conftest import Visit, tab_to
from tests.browser.world import clinic_with_staff, log_in, totp_code, username_of
from tests.conftest import reminder_link
from tests.factories import TEST_PASSWORD, ResponseFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ITEMS_9 = EXPECTED_INTERFERENCE  # BPI-SF item 9, A-G


def _focused(page: Page, attribute: str) -> str:
    return str(page.evaluate(f"() => document.activeElement.{attribute}"))


def choose_radio(page: Page, name: str, value: str) -> None:
    """Tab into a radio group, move with the arrow keys to ``value``, and select it."""
    tab_to(page, f"input[type=radio][name='{name}']")
    for _ in range(15):
        if _focused(page, "value") == value:
            break
        page.keyboard.press("ArrowRight")
    assert _focused(page, "value") == value
    if not page.evaluate("() => document.activeElement.checked"):
        page.keyboard.press("Space")
    expect(page.locator(f"input[name='{name}'][value='{value}']")).to_be_checked()


def type_date(page: Page, selector: str, day: dt.date) -> None:
    """Type a date into a date field as a keyboard user does, in the browser's field order."""
    order = page.evaluate(
        "() => new Intl.DateTimeFormat(navigator.language).formatToParts(new Date())"
        ".map(p => p.type).filter(t => ['day', 'month', 'year'].includes(t))"
    )
    parts = {"day": f"{day.day:02d}", "month": f"{day.month:02d}", "year": f"{day.year}"}
    tab_to(page, selector)
    page.keyboard.type("".join(parts[kind] for kind in order))
    expect(page.locator(selector)).to_have_value(day.isoformat())


def test_a_chinese_speaking_patient_answers_with_the_keyboard_alone(
    live_server: object, page: Page, visit: Visit
) -> None:
    # given a patient who reads Simplified Chinese, and her reminder e-mail
    base = str(live_server)
    _clinic, patient, *_staff = clinic_with_staff(language="zh-hans")
    link = reminder_link(patient)
    [message] = [m for m in mail.outbox if m.to == [patient.email]]
    assert "您好" in str(message.body)

    # when she opens it, the questionnaire speaks her language
    page.goto(base + link)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_contain_text("疼痛")
    visit.check(page, "patient-zh", "questionnaire")

    # when she answers with the keyboard, forgetting item 5, and presses Enter to send
    choose_radio(page, "recall_period", "24h")
    choose_radio(page, "has_pain_today", "yes")
    for box in ("#loc-hands_wrists_left", "#loc-hands_wrists_right"):
        tab_to(page, box)
        page.keyboard.press("Space")
        expect(page.locator(box)).to_be_checked()
    choose_radio(page, "worst_location", "hands_wrists_right")
    for name, value in (("worst_pain", "7"), ("least_pain", "2"), ("pain_now", "4")):
        choose_radio(page, name, value)
    tab_to(page, "#id_treatments")
    page.keyboard.type("塞来昔布")
    choose_radio(page, "mood", "5")
    tab_to(page, "button[name=submit]")
    page.keyboard.press("Enter")

    # then the one message, in Chinese, has the focus, and nothing was saved
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("平均")
    assert Response.objects.count() == 0
    visit.check(page, "patient-zh", "questionnaire-error")

    # when she answers item 5 and sends again
    choose_radio(page, "average_pain", "5")
    tab_to(page, "button[name=submit]")
    page.keyboard.press("Enter")

    # then her result is in Chinese with a Chinese date
    expect(page.locator("main")).to_contain_text("谢谢")
    today = timezone.localdate()
    expect(page.locator("main")).to_contain_text(f"{today.year}年{today.month}月{today.day}日")
    # with the advice for her band (4.5 of 10: mild) in Chinese, checked at 360 px with it
    expect(page.get_by_role("heading", name="轻度疼痛时")).to_be_visible()
    visit.check(page, "patient-zh", "result")
    assert Response.objects.get().average_pain == 5

    # when she does her check-in with the keyboard (after logging in with her password: the
    # link's session opened its questionnaire only)
    log_in(page, base, username_of(patient))
    page.goto(f"{base}/me/check-in/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("服")
    visit.check(page, "patient-zh", "check-in")
    choose_radio(page, "days_taken_last_7", "6")
    choose_radio(page, "missed_reason", "ran_out")
    choose_radio(page, "stopped", "no")
    choose_radio(page, "wants_to_stop", "no")
    tab_to(page, "main button[type=submit]")
    page.keyboard.press("Enter")

    # then it is stored
    expect(page.locator("main")).to_contain_text("谢谢")
    assert AdherenceCheckIn.objects.get().days_taken_last_7 == 6

    # and her home page, after logging in with her password, is in Chinese too
    page.context.clear_cookies()
    log_in(page, base, username_of(patient))
    expect(page.locator("main")).to_contain_text("我的疼痛")
    visit.check(page, "patient-zh", "home")


def test_staff_work_their_forms_with_the_keyboard_alone(
    live_server: object, page: Page, visit: Visit
) -> None:
    # given a high-interference flag, a nurse who reads Chinese, her second factor on
    base = str(live_server)
    _clinic, patient, nurse, _nurse2, _clinician = clinic_with_staff(language="zh-hans")
    response = ResponseFactory.create(patient=patient, interference=dict.fromkeys(ITEMS_9, 8))
    response_evaluate(response_id=response.pk)
    flag = Flag.objects.get(kind="high_interference")
    page.set_viewport_size({"width": 1280, "height": 900})

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "AIMSS_STAFF_MFA", True)
        # when a visitor switches the login page to Chinese with the keyboard
        page.goto(f"{base}/accounts/login/")
        visit.check(page, "staff", "login")
        tab_to(page, "#language-select")
        page.keyboard.press("ArrowDown")
        tab_to(page, ".language button")
        page.keyboard.press("Enter")
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        visit.check(page, "staff-zh", "login")

        # and the nurse logs in and gives her code, all by keyboard
        tab_to(page, "#id_username")
        page.keyboard.type("nurse")
        page.keyboard.press("Tab")
        page.keyboard.type(TEST_PASSWORD)
        page.keyboard.press("Enter")
        expect(page.locator("#token")).to_be_visible()
        visit.check(page, "nurse-zh", "second-factor")
        tab_to(page, "#token")
        page.keyboard.type(totp_code(nurse))
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/accounts/" not in url)

        # and claims the flag in the queue
        page.goto(f"{base}/queue/")
        visit.check(page, "nurse-zh", "queue")
        tab_to(page, f"#flag-{flag.pk} button")
        page.keyboard.press("Enter")
        expect(page.locator(f"#flag-{flag.pk}")).to_contain_text("已认领")

        # and records a call and resolves it on the flag page
        tab_to(page, f"#flag-{flag.pk} a.button")
        page.keyboard.press("Enter")
        expect(page.locator("#note")).to_be_visible()
        visit.check(page, "nurse-zh", "flag")
        choose_radio(page, "action", "called_patient")
        tab_to(page, "#note")
        page.keyboard.type("已电话联系")
        tab_to(page, "form:has(input[value=act]) button")
        page.keyboard.press("Enter")
        expect(page.locator("main")).to_contain_text("已电话联系")
        tab_to(page, "#resolve-note")
        page.keyboard.type("已处理")
        page.keyboard.press("Enter")
        expect(page.locator("form:has(input[value=reopen])")).to_be_visible()

    # then the flag is resolved with her action
    flag.refresh_from_db()
    assert flag.status == "resolved"
    assert flag.actions.filter(action="called_patient", note="已电话联系").exists()


def test_a_clinician_records_an_intervention_with_the_keyboard_alone(
    live_server: object, page: Page, visit: Visit
) -> None:
    # given a clinician and her patient's trajectory page
    base = str(live_server)
    _clinic, patient, *_nurses, clinician = clinic_with_staff()
    ResponseFactory.create(patient=patient, interference=dict.fromkeys(ITEMS_9, 4))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/accounts/login/")
    tab_to(page, "#id_username")
    page.keyboard.type(clinician.username)
    page.keyboard.press("Tab")
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/accounts/" not in url)
    page.goto(f"{base}/patients/{patient.pk}/")
    expect(page.locator(".suggestion")).to_contain_text("stepwise")

    # when she opens the intervention form, picks a measure and a date, and saves
    tab_to(page, "#record-intervention summary")
    page.keyboard.press("Enter")
    page.locator("#id_intervention-measure").wait_for()  # the form is fetched as it opens
    tab_to(page, "#id_intervention-measure")
    page.keyboard.type("Vit")
    expect(page.locator("#id_intervention-measure")).to_have_value("vitamin_d")
    type_date(page, "#id_intervention-start_date", timezone.localdate())
    tab_to(page, "#record-intervention button[type=submit]")
    page.keyboard.press("Enter")

    # then it is recorded and drawn
    expect(page.locator("main")).to_contain_text("Intervention recorded.")
    assert Intervention.objects.get().measure == "vitamin_d"
    visit.check(page, "clinician", "intervention-recorded", shots=False)
