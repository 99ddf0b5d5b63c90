"""The default demo shows the study's direction, and the analytics page serves it (one seed
for the whole module's assertions: seeding costs seconds)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from analytics.cohort import CohortFilter
from analytics.models import JobStatus, ReportJob
from analytics.report import cohort_report
from analytics.services import report_job_request
from patients.models import Clinic, User
from tests.conftest import World, client_for
from tests.factories import TreatmentEventFactory

pytestmark = pytest.mark.django_db


def _hr(entries: list[dict[str, object]], term: str) -> dict[str, object]:
    return next(e for e in entries if e["term"] == term)


def test_the_default_seed_shows_the_studys_direction_on_the_analytics_page() -> None:
    # given the default demo (253 patients, seed 1)
    call_command("seed_demo", password="demo-secret-pw")
    # when the cohort report runs on it
    report = cohort_report(cohort_filter=CohortFilter())
    # then the groups are the study's, and the simulated events about its 68
    assert report["groups"]["monotherapy"]["n"] == 182
    assert report["groups"]["combined"]["n"] == 71
    assert 58 <= report["n_events"] <= 78
    # and the four hazard ratios land inside the study's 95 % confidence intervals
    univariate = _hr(report["cox_univariate"], "strategy")["hr"]
    interaction = _hr(report["cox_multivariable"]["hr"], "strategy_x_high_interference")["hr"]
    high = _hr(report["stratified"]["high"]["hr"], "strategy")["hr"]
    low = _hr(report["stratified"]["low"]["hr"], "strategy")["hr"]
    assert 0.283 <= univariate <= 0.986  # type: ignore[operator]
    assert 0.051 <= interaction <= 0.722  # type: ignore[operator]
    assert 0.042 <= high <= 0.378  # type: ignore[operator]
    assert 0.322 <= low <= 1.659  # type: ignore[operator]
    # and the covariates point the study's way
    for term, above_one in [
        ("average_pain", True),
        ("age", True),
        ("chemotherapy", True),
        ("stage_ii_iii", False),
    ]:
        assert (_hr(report["cox_univariate"], term)["hr"] > 1) == above_one, term  # type: ignore[operator]
    # and the month-3 scores are near the study's (combined 2.75 / 2.51, mono 3.63 / 3.30)
    trajectory = report["trajectory"]
    for outcome, group, study in [
        ("average_pain", "combined", 2.75),
        ("average_pain", "monotherapy", 3.63),
        ("interference", "combined", 2.51),
        ("interference", "monotherapy", 3.30),
    ]:
        assert abs(trajectory[outcome]["groups"][group][3]["mean"] - study) < 0.3
        assert trajectory[outcome]["p_interaction"] < 0.001

    # when the researcher asks the page for it
    researcher = User.objects.get(username="researcher")
    client = client_for(researcher)
    response = client.post(reverse("analytics:home"), {})
    assert response.status_code == 302
    job = ReportJob.objects.get(created_by=researcher)
    page = client.get(response["Location"]).content.decode()
    # then it is computed, with charts, and no patient is named in it
    assert job.status == JobStatus.DONE
    assert "analytics-charts" in page
    assert "plotly/plotly.min.js" in page
    for name in User.objects.filter(role="patient").values_list("last_name", flat=True)[:50]:
        assert name not in page
    # and a second request reuses the cached result until new data arrive
    all_clinics = CohortFilter(
        clinic_ids=tuple(sorted(Clinic.objects.values_list("pk", flat=True)))
    )
    again = report_job_request(user=researcher, cohort_filter=all_clinics)
    assert again.cache_key == job.cache_key
    assert again.status == JobStatus.DONE
    patient = researcher.clinics.first().patients.first()  # type: ignore[union-attr]
    TreatmentEventFactory.create(patient=patient, kind="recurrence", reason="")
    fresh = report_job_request(user=researcher, cohort_filter=all_clinics)
    assert fresh.cache_key != job.cache_key


def test_nurses_and_patients_do_not_see_analytics(world: World) -> None:
    for user in (world.nurse_a, world.patient_a.user):
        assert client_for(user).get(reverse("analytics:home")).status_code == 404
    for user in (world.researcher, world.clinician_a, world.admin):
        assert client_for(user).get(reverse("analytics:home")).status_code == 200


def test_the_task_computes_a_queued_job_once(world: World) -> None:
    from analytics.tasks import cohort_report_task

    job = ReportJob.objects.create(
        created_by=world.researcher, filter=CohortFilter().as_json(), cache_key="k"
    )
    cohort_report_task(job.pk)
    cohort_report_task(job.pk)  # a second delivery does nothing
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job.progress == 100
    assert job.result is not None
    assert job.result["n_patients"] == 0
