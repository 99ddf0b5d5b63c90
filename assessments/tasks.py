"""Background tasks of the assessments app, run by name from the app below it (patients)."""

from __future__ import annotations

from celery import shared_task

from .summaries import score_summary_follow_patient


@shared_task(ignore_result=True)
def score_summary_follow_patient_task(patient_id: int) -> None:
    """She moved or was renamed: her summary's copy of her clinic and name follows."""
    score_summary_follow_patient(patient_id=patient_id)
