"""Celery tasks of the analytics app: ids only, thin, idempotent."""

from __future__ import annotations

from celery import shared_task

from .services import report_job_run


@shared_task(name="analytics.tasks.cohort_report_task", time_limit=900, soft_time_limit=840)
def cohort_report_task(job_id: int) -> None:
    """Compute one cohort report job (claimed once; a second delivery does nothing)."""
    report_job_run(job_id=job_id)
