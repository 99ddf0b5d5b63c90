"""The triage queue on a phone (360 px): a list of cards, no sideways scrolling, every action
in place (the secondary ones fetched when opened); and the alert burden page, clean under
axe."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from followup.models import Flag
from followup.services import flag_raise
from patients.models import Role
from tests.browser.conftest import Visit
from tests.browser.world import clinic_with_staff, log_in
from tests.factories import PatientFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_queue_at_360_px_is_cards_worked_in_place(
    live_server: object, page: Page, visit: Visit
) -> None:
    base = str(live_server)
    clinic, patient, _nurse, _nurse2, _clinician = clinic_with_staff()
    now = timezone.now()
    high = flag_raise(
        patient_id=patient.pk, kind="high_interference", source="response", source_id=1, value=8.14
    ).flag
    flag_raise(patient_id=patient.pk, kind="overdue", source="schedule_slot", source_id=1, at=now)
    other = PatientFactory.create(clinic=clinic, given_name="Rosa", family_name="Okafor")
    lapse = flag_raise(
        patient_id=other.pk, kind="adherence_lapse", source="check_in", source_id=1, value=3
    ).flag

    # given the nurse on her phone
    page.set_viewport_size({"width": 360, "height": 800})
    log_in(page, base, "nurse")
    page.goto(f"{base}/queue/")
    # then the queue is a list of cards, one per patient, most urgent first, with the values
    expect(page.locator(".patient-card")).to_have_count(2)
    assert page.locator("table.queue").count() == 0
    first = page.locator(".patient-card").first
    expect(first).to_contain_text("Lin, Mei")
    expect(first).to_contain_text("Interference 8.1")
    expect(page.locator(f"#flag-{lapse.pk}")).to_contain_text("AI taken 3/7 days")
    # and the badge counts the two unclaimed high-priority flags
    expect(page.locator(".nav-badge")).to_contain_text("2")
    visit.check(page, "triage", "queue")  # axe, and nothing wider than 360 px
    claim = page.locator(f"#flag-{high.pk}").get_by_role("button", name="Claim")
    box = claim.bounding_box()
    assert box is not None
    assert box["height"] >= 44  # a touch target

    # when she claims a flag, in place
    claim.click()
    card = page.locator(f"#patient-{patient.pk}")
    expect(card).to_contain_text("You claimed the flag.")
    expect(page.locator(f"#flag-{high.pk}")).to_contain_text("Claimed · Nora Quinn")
    assert page.url.endswith("/queue/")

    # and snoozes the other patient's lapse until next week, with a reason: the snooze form
    # is fetched into her card when she opens the flag's other actions
    flag = page.locator(f"#flag-{lapse.pk}")
    expect(flag.get_by_label("Snooze until")).to_have_count(0)
    flag.get_by_text("More actions").click()
    until = timezone.localdate() + dt.timedelta(days=7)
    flag.get_by_label("Snooze until").fill(until.isoformat())
    flag.get_by_label("Why it can wait").fill("Seen in clinic next week")
    visit.check(page, "triage", "queue-actions-open", shots=False)
    flag.get_by_role("button", name="Snooze").click()
    # then she is told, and the flag has left her queue
    expect(page.locator(f"#patient-{other.pk}")).to_contain_text(
        f"Snoozed until {until.isoformat()}."
    )
    expect(page.locator(f"#flag-{lapse.pk}")).to_have_count(0)
    assert Flag.objects.get(pk=lapse.pk).snoozed_until == until
    visit.check(page, "triage", "queue-after", shots=False)


def test_the_burden_page_is_clean_under_axe_and_an_admin_tunes_a_rule(
    live_server: object, page: Page, visit: Visit
) -> None:
    base = str(live_server)
    clinic, patient, _nurse, _nurse2, _clinician = clinic_with_staff()
    flag_raise(patient_id=patient.pk, kind="high_interference", source="response", source_id=1)
    UserFactory.create(username="lead", role=Role.ADMIN, is_superuser=True)
    page.set_viewport_size({"width": 360, "height": 800})
    log_in(page, base, "lead")
    page.goto(f"{base}/queue/burden/")
    expect(page.locator("main")).to_contain_text("PRO-TECT: 34 %")
    visit.check(page, "triage", "burden")
    page.get_by_text("Change the rules").click()
    page.get_by_label("Target time to act (hours)").fill("0")
    page.get_by_role("button", name="Save rules").click()
    expect(page.locator("main")).to_contain_text("greater than or equal to 1")
    visit.check(page, "triage", "burden-error", shots=False)
    page.get_by_label("Target time to act (hours)").fill("8")
    page.get_by_role("button", name="Save rules").click()
    saved = "Flag rules of Riverside Breast Centre saved."
    expect(page.locator(".messages")).to_contain_text(saved)
    clinic.refresh_from_db()
    assert clinic.target_hours == 8
