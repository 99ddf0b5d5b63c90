"""The demo's follow-up: reassessment slots up to today, the ones the seeded questionnaires
answered marked done, and the flags the latest answers raise, so nurses meet a living queue."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.utils import timezone

from adherence.models import AdherenceCheckIn
from assessments.models import Response
from followup.evaluation import SLOT_EARLY_DAYS, check_in_evaluate, response_evaluate
from followup.models import Flag, FlagNotification, ReassessmentSlot, ResponseEvaluation
from followup.schedules import overdue_flags_raise, schedules_sync_all


def seed_followup() -> str:
    today = timezone.localdate()
    schedules_sync_all(today=today)
    answered: dict[int, list[dt.datetime]] = defaultdict(list)
    for patient_id, submitted_at in Response.objects.order_by("submitted_at").values_list(
        "patient_id", "submitted_at"
    ):
        answered[patient_id].append(submitted_at)
    done = []
    for slot in ReassessmentSlot.objects.filter(completed_at__isnull=True).order_by("due_date"):
        for submitted_at in answered.get(slot.patient_id, []):
            if (
                timezone.localdate(submitted_at) + dt.timedelta(days=SLOT_EARLY_DAYS)
                >= slot.due_date
            ):
                slot.completed_at = submitted_at
                done.append(slot)
                break
    ReassessmentSlot.objects.bulk_update(done, ["completed_at"], batch_size=1000)
    # The rules on each patient's latest answers (earlier ones are history, already handled).
    latest_responses = {
        pid: rid
        for pid, rid in Response.objects.current()
        .order_by("patient_id", "submitted_at")
        .values_list("patient_id", "pk")
    }
    for response_id in latest_responses.values():
        response_evaluate(response_id=response_id)
    ResponseEvaluation.objects.bulk_create(
        [
            ResponseEvaluation(response_id=pk)
            for pk in Response.objects.values_list("pk", flat=True)
        ],
        ignore_conflicts=True,
    )
    latest_check_ins = {
        pid: cid
        for pid, cid in AdherenceCheckIn.objects.order_by("patient_id", "submitted_at").values_list(
            "patient_id", "pk"
        )
    }
    for check_in_id in latest_check_ins.values():
        check_in_evaluate(check_in_id=check_in_id)
    AdherenceCheckIn.objects.filter(lapse_evaluated_at__isnull=True).update(
        lapse_evaluated_at=timezone.now()
    )
    overdue_flags_raise(today=today)
    # The demo's flags are not news: no e-mail storm to the demo nurses at first start.
    FlagNotification.objects.filter(sent_at__isnull=True).update(sent_at=timezone.now())
    return (
        f"{ReassessmentSlot.objects.count()} reassessment slots, {Flag.objects.count()} open flags"
    )


def erase_followup() -> None:
    for model in (Flag, ReassessmentSlot):
        model._default_manager.all().delete()
