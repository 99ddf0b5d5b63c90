"""A reminder link in Chromium, where a browser differs from a test client: it keeps the
signed-in colleague's cookie, its address bar and history keep addresses, and every page's
requests carry a Referer. The link asks before replacing the nurse, leaves no token in the
address bar or in any later request, and the Back button gets nothing from it
(docs/security.md #25).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Request, expect

from followup.models import QuestionnaireLink
from tests.browser.conftest import Visit
from tests.browser.world import clinic_with_staff, log_in
from tests.conftest import reminder_link

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_link_opened_where_a_nurse_is_signed_in_asks_first_and_leaves_no_token_behind(
    live_server: object, page: Page, visit: Visit
) -> None:
    base = str(live_server)
    _clinic, patient, nurse, _nurse2, _clinician = clinic_with_staff()
    link = reminder_link(patient)
    token = link.removeprefix("/q/").rstrip("/")
    # given the nurse signed in on the shared computer
    log_in(page, base, nurse.get_username())

    # when the patient's link is opened in that browser
    page.goto(base + link)
    # then a page asks before signing the nurse out; nothing is spent yet
    expect(page.get_by_role("heading", level=1)).to_have_text("Someone else is signed in")
    expect(page.locator("main")).to_contain_text(nurse.get_username())
    expect(page.locator("main")).not_to_contain_text(patient.family_name)
    visit.check(page, "link", "someone-else")
    assert QuestionnaireLink.objects.get().used_at is None

    # when she confirms, watching every request the browser makes from then on
    later: list[Request] = []

    def watch(request: Request) -> None:
        later.append(request)

    page.on("request", watch)
    page.get_by_role("button", name=re.compile("Sign out .* and open the questionnaire")).click()

    # then her questionnaire opens at an address without the token
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pain questionnaire")
    assert page.url == f"{base}/assessments/new/"
    visit.check(page, "link", "questionnaire", shots=False)
    # and after the exchange no request (page, script, style) carries it, in its address or
    # its Referer
    after_exchange = later[1:]  # the first is the confirming POST itself
    assert after_exchange, "the questionnaire page and its files were requested"
    for request in after_exchange:
        assert token not in request.url, request.url
        assert token not in (request.headers.get("referer") or ""), request.url

    # when she presses Back, to the page that held the link
    page.go_back()
    # then the link is spent: it says so and offers the login page
    expect(page.locator("main")).to_contain_text("already opened")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    visit.check(page, "link", "opened", shots=False)
