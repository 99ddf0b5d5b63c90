"""A report computed by the worker records its progress and the step it is on, and its page
shows them in a labelled <progress> that refreshes itself without JavaScript."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics.cohort import CohortFilter
from analytics.importer import cohort_import
from analytics.models import JobStatus, ReportJob, ReportStep
from analytics.report import report_from_data
from analytics.services import report_job_run
from patients.models import Role
from tests.analytics.synthetic import analysis_dataset
from tests.analytics.test_import import _rows, _write
from tests.conftest import client_for
from tests.factories import ClinicFactory, UserFactory


def test_the_report_names_every_step_in_order_with_growing_progress() -> None:
    # given an analysis dataset
    calls: list[tuple[int, str]] = []
    # when the report is computed
    report_from_data(analysis_dataset(n=240, seed=3), progress=lambda p, s: calls.append((p, s)))
    # then every analysis step after the cohort is announced once, in order, the percentages
    # growing and under 100 (100 is the job's, once the result is saved)
    steps = [step for _percent, step in calls]
    assert steps == [s.value for s in ReportStep][2:]
    percents = [percent for percent, _step in calls]
    assert percents == sorted(set(percents))
    assert percents[0] > 0
    assert percents[-1] < 100


@pytest.mark.django_db
def test_a_worker_run_writes_each_step_to_the_job_and_clears_it_when_done(
    tmp_path: Path,
) -> None:
    # given a queued job over an imported cohort
    clinic = ClinicFactory.create(code="prog", name="Progress clinic")
    rows = [row | {"clinic": "prog"} for row in _rows(n=60)]
    assert cohort_import(path=_write(tmp_path, rows)).errors == []
    researcher = UserFactory.create(username="res_prog", role=Role.RESEARCHER, clinics=[clinic])
    job = ReportJob.objects.create(
        created_by=researcher,
        filter=CohortFilter(clinic_ids=(clinic.pk,)).resolved().as_json(),
        cache_key="prog",
    )
    # when the worker runs it
    with CaptureQueriesContext(connection) as queries:
        assert report_job_run(job_id=job.pk)
    # then each step was written to the job as it began, in order, with its percentage
    written = [
        re.search(r'"step" = \'(\w*)\'', q["sql"])
        for q in queries.captured_queries
        if q["sql"].startswith('UPDATE "analytics_reportjob"')
    ]
    steps = [m.group(1) for m in written if m]
    in_turn = [step for i, step in enumerate(steps) if i == 0 or steps[i - 1] != step]
    assert in_turn == [s.value for s in ReportStep] + [""]
    # and once done the job is at 100 % with no step left
    job.refresh_from_db()
    assert (job.status, job.progress, job.step) == (JobStatus.DONE, 100, "")


@pytest.mark.django_db
def test_a_running_jobs_page_shows_a_labelled_progress_bar_and_refreshes_itself() -> None:
    # given a job the worker is computing, at the adjusted Cox models
    clinic = ClinicFactory.create()
    researcher = UserFactory.create(username="res_bar", role=Role.RESEARCHER, clinics=[clinic])
    job = ReportJob.objects.create(
        created_by=researcher,
        filter=CohortFilter(clinic_ids=(clinic.pk,)).as_json(),
        cache_key="bar",
        status=JobStatus.RUNNING,
        progress=40,
        step=ReportStep.ADJUSTED,
    )
    # when its owner opens the page
    page = client_for(researcher).get(reverse("analytics:job", args=[job.pk])).content.decode()
    # then a <progress> at 40 is labelled by the status and the step's name, and the page
    # refreshes itself (no JavaScript needed)
    assert '<meta http-equiv="refresh"' in page
    assert re.search(r'<progress max="100" value="40" aria-labelledby="job-step">', page)
    label = re.search(r'<p id="job-step">([^<]*)</p>', page)
    assert label is not None
    assert str(ReportStep.ADJUSTED.label) in label.group(1)
    assert str(JobStatus.RUNNING.label) in label.group(1)
