"""Background work after a submission. Tasks take ids only, never health information."""

from __future__ import annotations

import logging

from celery import shared_task

from .models import Response

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def evaluate_response_task(response_id: int) -> None:
    """Evaluate a submitted response against the clinic's flag rules.

    Idempotent. The flag rules arrive with the flags issue; until then the evaluation records
    only that the response was seen (ids only), so that the dispatch path is live and tested.
    """
    row = Response.objects.filter(pk=response_id).values("pk", "patient_id").first()
    if row is None:
        logger.warning("assessment.evaluate.missing response_id=%s", response_id)
        return
    logger.info("assessment.evaluated response_id=%s patient_id=%s", row["pk"], row["patient_id"])
