"""An administrator changes her clinic's rules on its settings page, at 360 px, checked by
axe: the time zone is picked from a list, a wrong value is explained, a right one is saved."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from patients.models import Role
from patients.rules import rules_of
from tests.browser.conftest import Visit
from tests.browser.world import log_in
from tests.factories import ClinicFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_changes_the_worsening_threshold(
    live_server: object, page: Page, visit: Visit
) -> None:
    # given a clinic and its administrator
    clinic = ClinicFactory.create(code="rbc", name="Riverside Breast Centre")
    UserFactory.create(username="admin", role=Role.ADMIN, clinics=[clinic])
    base = str(live_server)
    log_in(page, base, "admin")
    page.goto(f"{base}/clinics/{clinic.pk}/settings/")
    visit.check(page, "clinic-settings", "form")

    # when she asks for severe pain below moderate pain
    page.get_by_label("Severe pain from (0-10)").fill("4")
    page.get_by_role("button", name="Save the settings").click()
    # then nothing is saved and the field says why
    expect(page.locator("main")).to_contain_text("Severe pain must start above moderate pain")
    visit.check(page, "clinic-settings", "refused")

    # when she sets the worsening threshold and the zone instead
    page.get_by_label("Severe pain from (0-10)").fill("7")
    page.get_by_label("Worsening (points)").fill("3")
    page.get_by_label("Time zone").select_option("Asia/Shanghai")
    page.get_by_role("button", name="Save the settings").click()
    # then they are saved and every reader of the clinic's rules sees them
    expect(page.locator("main")).to_contain_text("are saved")
    clinic.refresh_from_db()
    assert str(rules_of(clinic).worsening_points) == "3.0"
    assert rules_of(clinic).time_zone == "Asia/Shanghai"
