"""She says she forgot: the tips and the daily reminder page, at 360 px, clean under axe, usable
without JavaScript."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from adherence.models import DoseReminder
from tests.browser.conftest import Visit
from tests.browser.world import clinic_with_staff, log_in, username_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_she_forgot_and_turns_on_a_daily_reminder(
    live_server: object, page: Page, visit: Visit
) -> None:
    base = str(live_server)
    _clinic, patient, *_staff = clinic_with_staff()
    log_in(page, base, username_of(patient))
    page.goto(f"{base}/me/check-in/")
    page.get_by_role("group", name=re.compile("how many days")).get_by_label(
        "5", exact=True
    ).check()
    # sending without a reason says what is missing and where
    page.get_by_role("group", name=re.compile("stopped taking")).get_by_label("No").check()
    page.get_by_role("group", name=re.compile("want to stop")).get_by_label("No").check()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_contain_text("choose why you missed doses")
    visit.check(page, "patient", "check-in-reason-missing", shots=False)
    page.get_by_label("I forgot").check()
    page.get_by_role("button", name="Send").click()
    # then her confirmation is the tips and the reminder offer
    expect(page.get_by_role("heading", level=1)).to_contain_text("Remembering your tablet")
    visit.check(page, "patient", "dose-reminder", shots=False)
    page.get_by_label("Send me a daily reminder").check()
    page.get_by_label("At (your local time)").fill("08:30")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("main")).to_contain_text("Your daily reminder is on, at 08:30")
    assert DoseReminder.objects.get(patient=patient).enabled
