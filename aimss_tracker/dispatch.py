"""Queue background work after the transaction commits, by task name.

Lower apps (``assessments``, ``adherence``) hand work to the app above them (``followup``)
by the task's name, so they never import it. A broker outage never fails the write that
asked for the work: it is logged with ids only, and the periodic sweeps find what was missed.
"""

from __future__ import annotations

import logging

from django.db import transaction

from .celery import app

logger = logging.getLogger(__name__)

EVALUATE_RESPONSE = "followup.tasks.evaluate_response_task"
EVALUATE_CHECK_IN = "followup.tasks.evaluate_check_in_task"
EVALUATE_TREATMENT_EVENT = "followup.tasks.evaluate_treatment_event_task"
PATIENT_CLINIC_CHANGED = "followup.tasks.patient_clinic_changed_task"


def send_now(task_name: str, *ids: int) -> None:
    """Send a task (ids only); on a broker error log and move on."""
    try:
        app.send_task(task_name, args=list(ids), retry=False)
    except Exception:  # broker down or unreachable: the sweeps catch up
        logger.warning("could not queue %s for ids %s; a sweep will", task_name, ids)


def send_on_commit(task_name: str, *ids: int) -> None:
    transaction.on_commit(lambda: send_now(task_name, *ids))
