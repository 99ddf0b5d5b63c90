"""Her own chart on a 360 px phone, and her visit summary printed on one A4 page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Visit
from tests.browser.world import clinic_with_staff, log_in, username_of, weekly_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_her_chart_at_360_px_and_her_summary_on_one_a4_page(
    live_server: object, page: Page, visit: Visit
) -> None:
    # given a patient diagnosed a year ago with a weekly questionnaire since
    _clinic, patient, *_staff = clinic_with_staff()
    patient.aimss_diagnosis_date = dt.date.today() - dt.timedelta(weeks=52)  # noqa: DTZ011
    patient.save()
    weekly_history(patient, weeks=53)
    base = str(live_server)
    # when she logs in on her phone (360 px)
    log_in(page, base, username_of(patient))
    expect(page).to_have_url(re.compile("/me/$"))
    # then her chart is drawn without a script, names itself, and her words sit above it
    chart = page.locator("svg#my-trajectory")
    expect(chart).to_be_visible()
    expect(chart.locator("title")).to_have_text(re.compile("over time"))
    expect(chart.locator("line.baseline")).to_have_count(1)
    expect(page.locator("main")).to_contain_text("about the same as when it started")
    assert page.evaluate("() => document.scripts.length") == 0
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] <= 360
    visit.check(page, "my-chart", "home")
    # and her summary, linked from her home, prints on one A4 page
    page.get_by_role("link", name="My summary to print for my visit").click()
    expect(page.locator("svg#summary-chart")).to_be_visible()
    expect(page.locator(".question-line")).to_have_count(6)
    visit.check(page, "my-chart", "summary")
    pdf = page.pdf(format="A4", print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
