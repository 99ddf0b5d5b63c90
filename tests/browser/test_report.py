"""A demo-sized cohort report read on a phone: at 360 px nothing scrolls the page sideways
(wide tables scroll inside their own captioned region, charts fit), and axe finds nothing
serious."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from analytics.cohort import CohortFilter
from analytics.importer import cohort_import
from analytics.models import JobStatus
from analytics.services import report_job_request
from patients.models import Role
from tests.analytics.test_import import _rows, _write
from tests.browser.conftest import Visit
from tests.browser.world import log_in
from tests.factories import ClinicFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_SIZE = 253  # patients in the demo's cohort


def test_a_demo_sized_report_fits_a_phone_and_passes_axe(
    live_server: object, page: Page, visit: Visit, tmp_path: Path
) -> None:
    # given a clinic with a demo-sized imported cohort, its clinician, and her report
    clinic = ClinicFactory.create(code="imp", name="Import clinic")
    assert cohort_import(path=_write(tmp_path, _rows(n=DEMO_SIZE))).errors == []
    clinician = UserFactory.create(username="clinician", role=Role.CLINICIAN, clinics=[clinic])
    job = report_job_request(user=clinician, cohort_filter=CohortFilter(clinic_ids=(clinic.pk,)))
    assert job.status == JobStatus.DONE, job.error
    base = str(live_server)
    log_in(page, base, "clinician")

    # when she opens it at 360 px
    page.goto(f"{base}/analytics/jobs/{job.pk}/")
    page.wait_for_selector(".chart .main-svg", state="attached")

    # then the page is no wider than the screen, and axe finds no serious violation
    assert page.evaluate("() => document.scrollingElement.scrollWidth") <= 360
    visit.check(page, "report", "done")
    # and every table is reachable: inside a region that scrolls on its own and is named
    loose = page.evaluate(
        """() => Array.from(document.querySelectorAll("main table"))
            .filter(t => !t.closest(".table-wrap[role=region][aria-labelledby], "
                + ".table-wrap[role=region][aria-label]"))
            .map(t => t.className || t.querySelector("caption")?.textContent || "table")"""
    )
    assert loose == []
