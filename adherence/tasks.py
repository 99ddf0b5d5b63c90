"""Celery tasks for adherence: ids only, never health data; idempotent (claim, then act)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from .models import AdherenceCheckIn
from .services import check_in_evaluate

# A check-in not evaluated this long after it was stored lost its task (broker down, worker
# killed); the sweep evaluates it.
SWEEP_GRACE = dt.timedelta(minutes=5)
SWEEP_BATCH = 500


@shared_task(acks_late=True, ignore_result=True)
def evaluate_adherence_task(check_in_id: int) -> None:
    """Decide and hand on the adherence lapse of one check-in (runs after its commit)."""
    check_in_evaluate(check_in_id=check_in_id)


@shared_task(acks_late=True, ignore_result=True, expires=600)
def sweep_adherence_task() -> int:
    """Evaluate check-ins whose task was lost; returns how many it handed on.

    Beat registration comes with the flags issue, which owns the periodic sweeps.
    """
    ids = list(
        AdherenceCheckIn.objects.filter(
            lapse_evaluated_at__isnull=True, created_at__lt=timezone.now() - SWEEP_GRACE
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    return sum(check_in_evaluate(check_in_id=pk) is not None for pk in ids)
