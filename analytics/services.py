"""Cohort report jobs: request (reusing a cached result, at most REPORTS_PER_HOUR per user),
run (with progress; under disclosure control for users without identified access) and scope."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from aimss_tracker.dispatch import send_on_commit
from patients.access import record_list_access
from patients.models import Clinic

from . import disclosure
from .cohort import CohortFilter, cohort_patients, data_version
from .models import JobStatus, ReportJob, ReportStep
from .versions import software_versions

logger = logging.getLogger(__name__)

COHORT_REPORT_TASK = "analytics.tasks.cohort_report_task"
# Cohorts up to this size are computed in the request (well under a second); larger ones in a
# Celery task while the page shows its progress.
INLINE_MAX_PATIENTS = 2000
# Reports one user may start in an hour: enough for work, too few to difference a cohort
# down to one patient by trying filter after filter.
REPORTS_PER_HOUR = 30


def clinics_for(user: Any) -> QuerySet[Clinic]:
    """The clinics whose cohort ``user`` may analyse: her memberships (admins: all)."""
    if user.is_admin_role:
        return Clinic.objects.all()
    return Clinic.objects.filter(memberships__user=user)


def jobs_visible_to(user: Any) -> QuerySet[ReportJob]:
    """A job belongs to the user who asked for it (administrators see all)."""
    jobs = ReportJob.objects.all()
    return jobs if user.is_admin_role else jobs.filter(created_by=user)


def cache_key(cohort_filter: CohortFilter, *, disclosure_control: bool = False) -> str:
    """The filter with its as-of date and settings, the version of the data it reads (new data
    means a new key), whether the result is suppressed (a controlled user never reuses an
    uncontrolled result), and the versions of the app, lifelines, statsmodels and scipy (a
    new release may compute differently)."""
    cohort_filter = cohort_filter.resolved()
    versions = json.dumps(software_versions(), sort_keys=True)
    text = (
        f"{cohort_filter.key()}:{data_version(cohort_filter)}:{int(disclosure_control)}:{versions}"
    )
    return hashlib.sha256(text.encode()).hexdigest()


def under_disclosure_control(user: Any, cohort_filter: CohortFilter) -> bool:
    """Whether ``user``'s report on ``cohort_filter`` is disclosure-controlled: unless she may
    see every one of its clinics' patients identified (every clinic: administrators only)."""
    if cohort_filter.clinic_ids is None:
        return not user.is_admin_role
    return disclosure.applies(user, cohort_filter.clinic_ids)


def report_rate_exceeded(user: Any) -> bool:
    """Whether ``user`` has started REPORTS_PER_HOUR reports in the last hour (cached reuses
    and refusals count: each one answers a question about the cohort)."""
    since = timezone.now() - dt.timedelta(hours=1)
    started = ReportJob.objects.filter(created_by=user, created_at__gte=since)
    return started.count() >= REPORTS_PER_HOUR


def report_job_request(*, user: Any, cohort_filter: CohortFilter) -> ReportJob:
    """A job for ``user``: done at once from the cache, computed now for a small cohort, or
    queued for the worker; refused at once, under disclosure control, for a cohort under 11
    patients. The caller has checked that the filter's clinics are hers and the rate."""
    cohort_filter = cohort_filter.resolved()
    controlled = under_disclosure_control(user, cohort_filter)
    key = cache_key(cohort_filter, disclosure_control=controlled)
    cached = ReportJob.objects.filter(cache_key=key, status=JobStatus.DONE).first()
    if cached is not None:
        now = timezone.now()
        return ReportJob.objects.create(
            created_by=user,
            filter=cohort_filter.as_json(),
            cache_key=key,
            n_patients=cached.n_patients,
            disclosure_control=controlled,
            status=JobStatus.DONE,
            progress=100,
            result=cached.result,
            started_at=now,
            finished_at=now,
        )
    running = jobs_visible_to(user).filter(
        created_by=user, cache_key=key, status__in=[JobStatus.PENDING, JobStatus.RUNNING]
    )
    if (job := running.first()) is not None:
        return job
    n_patients = cohort_patients(cohort_filter).count()
    job = ReportJob.objects.create(
        created_by=user,
        filter=cohort_filter.as_json(),
        cache_key=key,
        n_patients=n_patients,
        disclosure_control=controlled,
    )
    if controlled and n_patients < disclosure.MIN_CELL:
        now = timezone.now()
        ReportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.REFUSED, error="cohort", started_at=now, finished_at=now
        )
        job.refresh_from_db()
        return job
    if n_patients <= INLINE_MAX_PATIENTS:
        report_job_run(job_id=job.pk)
        job.refresh_from_db()
    else:
        send_on_commit(COHORT_REPORT_TASK, job.pk)
    return job


def report_job_run(*, job_id: int) -> bool:
    """Compute a pending job (claimed once: a second run does nothing); True if it ran."""
    claimed = ReportJob.objects.filter(pk=job_id, status=JobStatus.PENDING).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), progress=1, step=ReportStep.COHORT
    )
    if not claimed:
        return False
    job = ReportJob.objects.get(pk=job_id)

    def progress(percent: int, step: str) -> None:
        ReportJob.objects.filter(pk=job_id).update(
            progress=min(max(percent, 1), 99), step=ReportStep(step)
        )

    try:
        # lifelines, scipy and statsmodels load here, not with every process's URL conf
        from .report import cohort_report

        result = cohort_report(
            cohort_filter=CohortFilter.from_json(job.filter),
            progress=progress,
            disclosure_control=job.disclosure_control,
        )
    except disclosure.ReportRefused as refused:
        ReportJob.objects.filter(pk=job_id).update(
            status=JobStatus.REFUSED, error=refused.code, finished_at=timezone.now()
        )
        return True
    except Exception as error:
        logger.exception("cohort report job %s failed", job_id)
        ReportJob.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED, error=type(error).__name__, finished_at=timezone.now()
        )
        return True
    ReportJob.objects.filter(pk=job_id).update(
        status=JobStatus.DONE, progress=100, step="", result=result, finished_at=timezone.now()
    )
    logger.info("cohort report job %s done", job_id)
    return True


def report_dataset(*, job: ReportJob, user: Any) -> Any:
    """The de-identified analysis dataset of a done job's cohort (as the job was filtered and
    controlled), its patients' access recorded; ReportRefused under disclosure control for a
    cohort the report would refuse."""
    from .downloads import analysis_dataset

    frame = analysis_dataset(
        cohort_filter=CohortFilter.from_json(job.filter),
        disclosure_control=job.disclosure_control,
    )
    record_list_access(user, patient_ids=frame.attrs["patient_ids"], what="analysis dataset")
    return frame
