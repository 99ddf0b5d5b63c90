"""The three journeys in Chromium: the patient from her reminder e-mail to her scores, the
nurse from her second factor to a resolved flag, the clinician from the trajectory to a
recorded combined intervention; and the researcher's Kaplan-Meier curves.

The patient's submission reaches the nurse's queue the way it does in production: published to
Redis after commit and evaluated by a real Celery worker.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from adherence.models import EventKind
from aimss_tracker.celery import app
from followup.models import Flag
from tests.browser.conftest import Visit
from tests.browser.world import (
    clinic_with_staff,
    log_in,
    totp_code,
    username_of,
    weekly_history,
)
from tests.conftest import reminder_link
from tests.factories import TreatmentEventFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HIGH_INTERFERENCE = {  # every item 8 of 10: interference 8.0, at or above the study's 7
    "general_activity": 8,
    "mood": 8,
    "walking_ability": 8,
    "normal_work": 8,
    "relations_with_others": 8,
    "sleep": 8,
    "enjoyment_of_life": 8,
}


def _answer_scale(page: Page, legend: str, value: int) -> None:
    """Pick ``value`` in the 0-10 scale whose fieldset's legend contains ``legend``."""
    group = page.get_by_role("group", name=re.compile(re.escape(legend)))
    # the radio sits under its large label, which is what a finger taps
    group.locator("label").filter(has_text=re.compile(f"^{value}$")).click()
    expect(group.get_by_label(str(value), exact=True)).to_be_checked()


AXIS_RANGE = "document.getElementById('trajectory')._fullLayout.xaxis.range"


def _date_range(page: Page) -> tuple[dt.date, dt.date]:
    """The first and last day the trajectory's date axis shows, as drawn by plotly.js."""
    start, end = page.evaluate(AXIS_RANGE)
    return dt.date.fromisoformat(start[:10]), dt.date.fromisoformat(end[:10])


def _wait_for(condition: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


def test_patient_nurse_and_clinician_journeys(
    live_server: object, page: Page, browser: Browser, visit: Visit, broker: redis.Redis
) -> None:
    from celery.contrib.testing.worker import start_worker

    base = str(live_server)
    clinic, patient, nurse, nurse2, clinician = clinic_with_staff()
    link = reminder_link(patient)
    app.loader.import_default_modules()

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        # --- the patient, on a 360 px phone --------------------------------------------------
        # given the link from her reminder e-mail
        page.goto(base + link)
        # then it opens her questionnaire, without a password
        expect(page.get_by_role("heading", level=1)).to_contain_text("Pain questionnaire")
        visit.check(page, "patient", "questionnaire")

        # when she answers, marking her knees on the body map, but forgets her average pain
        page.get_by_role("group", name=re.compile("answering about")).get_by_label(
            re.compile("24 hours")
        ).check()
        page.get_by_role("group", name=re.compile("^1\\.")).get_by_label("Yes").check()
        page.locator("label.spot-front.spot-knees_left").click()  # the figure
        page.get_by_role("checkbox", name="Right knee").check()  # the list
        expect(page.locator("label.spot-front.spot-knees_left")).to_have_class(re.compile("is-on"))
        page.get_by_role("group", name=re.compile("hurts most")).get_by_label("Right knee").check()
        _answer_scale(page, "3.", 8)
        _answer_scale(page, "4.", 3)
        _answer_scale(page, "6.", 6)
        for letter, name in zip("ABCDEFG", HIGH_INTERFERENCE, strict=True):
            _answer_scale(page, f"{letter}.", HIGH_INTERFERENCE[name])
        page.get_by_role("button", name="Send my answers").click()

        # then one clear message says what is missing, and nothing is lost
        summary = page.get_by_role("alert")
        expect(summary).to_contain_text("Choose a number from 0 to 10 for your average pain.")
        expect(page.get_by_role("checkbox", name="Right knee")).to_be_checked()
        visit.check(page, "patient", "questionnaire-error")

        # when she answers it and sends
        _answer_scale(page, "5.", 6)
        page.get_by_role("button", name="Send my answers").click()

        # then, having come by her reminder link, she sees a confirmation only: a forwarded
        # e-mail must not expose her name or her history
        expect(page.get_by_role("heading", level=1)).to_contain_text("Thank you")
        expect(page.locator("main")).not_to_contain_text(patient.given_name)
        # with what she can do for her pain, below her clinic's phone (interference 8 of 10)
        expect(page.get_by_role("heading", name="What you can do")).to_be_visible()
        visit.check(page, "patient", "result")

        # when she goes on to her adherence check-in, the link's session does not reach it
        # (it opened that one questionnaire only): she logs in with her password
        page.goto(f"{base}/me/check-in/")
        expect(page).to_have_url(re.compile("/accounts/login/"))
        log_in(page, base, username_of(patient))
        page.goto(f"{base}/me/check-in/")
        visit.check(page, "patient", "check-in")
        page.get_by_role("group", name=re.compile("how many days")).get_by_label(
            "7", exact=True
        ).check()
        page.get_by_role("group", name=re.compile("stopped taking")).get_by_label("No").check()
        page.get_by_role("group", name=re.compile("want to stop")).get_by_label("No").check()
        page.get_by_role("button", name="Send").click()
        expect(page.locator("main")).to_contain_text("Thank you")
        visit.check(page, "patient", "check-in-done")

        # then the reminder's link cannot be used again
        page.context.clear_cookies()
        page.goto(base + link)
        expect(page.locator("main")).to_contain_text("already")
        visit.check(page, "patient", "link-used")

        # and with her password she sees her history and her chart at home
        log_in(page, base, username_of(patient))
        expect(page).to_have_url(re.compile("/me/$"))
        expect(page.locator("svg#my-trajectory")).to_be_visible()
        visit.check(page, "patient", "home")

        # and the worker raises the high-interference flag
        _wait_for(lambda: Flag.objects.filter(kind="high_interference").exists())

    flag = Flag.objects.get(kind="high_interference")

    # --- the nurse, with her second factor, at her desk --------------------------------------
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "AIMSS_STAFF_MFA", True)
        page.context.clear_cookies()
        page.set_viewport_size({"width": 1280, "height": 900})
        log_in(page, base, "nurse")
        expect(page.get_by_label("Code")).to_be_visible()
        visit.check(page, "nurse", "second-factor")
        page.get_by_label("Code").fill(totp_code(nurse))
        page.get_by_role("button", name="Continue").click()
        page.goto(f"{base}/queue/")
        row = page.locator(f"#flag-{flag.pk}")
        expect(row).to_contain_text("High pain interference")
        visit.check(page, "nurse", "queue")

        # when she claims it (in place, with htmx)
        row.get_by_role("button", name="Claim").click()
        expect(row).to_contain_text("Claimed")
        expect(row.get_by_role("link", name="Record action")).to_be_visible()
        assert page.url.endswith("/queue/")

        # then a second nurse sees it claimed, and is told so if she tries
        other = browser.new_context(viewport={"width": 360, "height": 800})
        other_page = other.new_page()
        other_page.set_default_timeout(15_000)
        log_in(other_page, base, "nurse2")
        other_page.get_by_label("Code").fill(totp_code(nurse2))
        other_page.get_by_role("button", name="Continue").click()
        other_page.goto(f"{base}/queue/")
        expect(other_page.locator(f"#flag-{flag.pk}")).to_contain_text("Claimed · Nora Quinn")
        visit.check(other_page, "nurse2", "queue-claimed")
        other.close()

        # when she records a call with a note, then resolves the flag
        row.get_by_role("link", name="Record action").click()
        visit.check(page, "nurse", "flag")
        page.get_by_label("Called patient").check()
        page.get_by_label("Note", exact=True).fill("Discussed exercise; will see clinician.")
        page.get_by_role("button", name="Record action").click()
        expect(page.locator("main")).to_contain_text("Discussed exercise")
        page.get_by_label("Resolution note").fill("Clinician to review.")
        page.get_by_role("button", name="Resolve").click()
        expect(page.get_by_role("button", name="Reopen")).to_be_visible()
        visit.check(page, "nurse", "flag-resolved")
        flag.refresh_from_db()
        assert flag.status == "resolved"

    # --- the clinician --------------------------------------------------------------------
    page.context.clear_cookies()
    log_in(page, base, "clinician")
    page.goto(f"{base}/patients/{patient.pk}/")
    # then the trajectory shows the new point, drawn by plotly.js
    expect(page.locator("#trajectory .main-svg").first).to_be_attached()
    figure = json.loads(page.locator("#trajectory-data").text_content() or "{}")
    assert any(8.0 in (trace.get("y") or []) for trace in figure["data"])
    expect(page.locator(".suggestion")).to_contain_text("combination of at least two categories")
    visit.check(page, "clinician", "trajectory")

    # when she records an interruption, then a combined intervention (two categories)
    today = timezone.localdate().isoformat()
    page.get_by_text("Record a treatment event").click()
    event_form = page.locator("details", has_text="Record a treatment event")
    event_form.get_by_label("Kind").select_option("interruption")
    event_form.get_by_label(re.compile("^Date")).fill(today)
    event_form.get_by_label("Reason for stopping").select_option("aimss")
    event_form.get_by_role("button", name="Save").click()
    expect(page.locator("main")).to_contain_text("Treatment event recorded.")
    for measure in ("celecoxib", "exercise"):
        page.get_by_text("Record an intervention").click()
        form = page.locator("details", has_text="Record an intervention")
        form.get_by_label("Measure").select_option(measure)
        form.get_by_label("Start date").fill(today)
        form.get_by_role("button", name="Save").click()
        expect(page.locator("main")).to_contain_text("Intervention recorded.")

    # then the chart shows the interruption and both categories
    expect(page.locator("#trajectory .main-svg").first).to_be_attached()
    figure = json.loads(page.locator("#trajectory-data").text_content() or "{}")
    spans = {shape.get("name") for shape in figure["layout"]["shapes"]}
    assert {"Analgesic medication", "Physical therapy"} <= spans, spans
    assert "Temporary interruption" in {trace.get("name") for trace in figure["data"]}
    # the threshold line, the interruption and the two intervention spans, as drawn
    expect(page.locator("#trajectory .shapelayer path")).to_have_count(4)
    current = page.locator("section", has=page.get_by_role("heading", name="Current interventions"))
    expect(current).to_contain_text("Celecoxib")
    expect(current).to_contain_text("Exercise programme")
    visit.check(page, "clinician", "trajectory-updated")


def test_a_long_history_narrows_to_its_last_year_on_a_phone(
    live_server: object, page: Page, visit: Visit
) -> None:
    # given three years of weekly responses and a recurrence last month
    _clinic, patient, _nurse, _nurse2, _clinician = clinic_with_staff()
    weekly_history(patient, weeks=156)
    today = timezone.localdate()
    TreatmentEventFactory.create(
        patient=patient, kind=EventKind.RECURRENCE, start_date=today - dt.timedelta(days=30)
    )
    base = str(live_server)
    log_in(page, base, "clinician")

    # when the clinician opens her trajectory on a 360 px phone
    page.goto(f"{base}/patients/{patient.pk}/")
    expect(page.locator("#trajectory .main-svg").first).to_be_attached()
    shown = page.get_by_role("group", name="Time shown")
    whole = shown.get_by_role("button", name="Whole history")
    last_year = shown.get_by_role("button", name="Last 12 months")

    # then the whole history fills the chart: the recurrence's label does not widen the axis
    expect(whole).to_have_attribute("aria-pressed", "true")
    start, end = _date_range(page)
    assert dt.timedelta(days=3 * 365 - 31) < end - start < dt.timedelta(days=3 * 365 + 62)
    assert end - today < dt.timedelta(days=31)

    # when she narrows it to the last year
    last_year.click()
    # then the chart shows the last 12 months up to the latest response
    expect(last_year).to_have_attribute("aria-pressed", "true")
    expect(whole).to_have_attribute("aria-pressed", "false")
    start, end = _date_range(page)
    assert dt.timedelta(days=365) < end - start < dt.timedelta(days=365 + 31)
    assert today <= end < today + dt.timedelta(days=31)
    visit.check(page, "clinician", "trajectory-last-year")

    # and in months since diagnosis the window stays 12 months wide, until she widens it
    page.get_by_role("button", name="Show months since AIMSS diagnosis").click()
    low, high = page.evaluate(AXIS_RANGE)
    assert 12 <= high - low < 13
    whole.click()
    low, high = page.evaluate(AXIS_RANGE)
    assert high - low > 35

    # when the page is opened wide and the window then narrowed to a phone's width
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    expect(page.locator("#trajectory .main-svg").first).to_be_attached()
    height = "document.getElementById('trajectory')._fullLayout.height"
    assert page.evaluate(height) == 520
    page.set_viewport_size({"width": 360, "height": 800})
    page.wait_for_timeout(500)  # past plotly.js's own (debounced) responsive resize
    # then the figure grows to hold its legend, a line an entry, below the plot
    assert page.evaluate(height) > 520


def test_researcher_sees_kaplan_meier_curves(live_server: object, page: Page, visit: Visit) -> None:
    # given a calibrated demo cohort
    call_command("seed_demo", patients=60, seed=1, verbosity=0)
    base = str(live_server)
    page.set_viewport_size({"width": 1280, "height": 900})

    # when the researcher asks for the cohort report
    log_in(page, base, "researcher", "aimss-demo-2026")
    page.goto(f"{base}/analytics/")
    visit.check(page, "researcher", "analytics")
    # (the report is computed in the request: Table 1's exact tests and the reviewer's
    # analyses take seconds of a loaded two-core machine, the first of them importing their
    # libraries)
    page.get_by_role("button", name="Compute").click(timeout=90_000)

    # then Kaplan-Meier curves are drawn
    expect(page.get_by_role("heading", name="Interruption-free survival")).to_be_visible()
    expect(page.locator(".main-svg").first).to_be_attached()
    visit.check(page, "researcher", "report")
