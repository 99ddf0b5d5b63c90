"""The flag rules applied to what patients and clinicians record.

Each ``*_evaluate`` acts, then marks: raising is idempotent (one trigger per source event and
kind), so an evaluation interrupted before its mark simply runs again. The sweep finds every
record whose task was lost (broker down, worker killed).
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from adherence.models import AdherenceCheckIn, EventKind, TreatmentEvent
from assessments.models import Response
from patients.rules import rules_of

from .models import (
    Flag,
    FlagKind,
    FlagStatus,
    FlagTrigger,
    QuestionnaireLink,
    ReassessmentSlot,
    ResponseEvaluation,
    SystemReason,
    TriggerSource,
)
from .services import (
    RaiseResult,
    flag_applies,
    flag_raise,
    flags_resolve_by_system,
)

logger = logging.getLogger(__name__)

# A response completes the open reassessment due up to this many days after it (early answers
# count) or any time before it (late answers count).
SLOT_EARLY_DAYS = 14
# The sweep looks this far back for records whose evaluation was lost.
SWEEP_LOOKBACK = dt.timedelta(days=30)
SWEEP_BATCH = 500


def _previous_response(response: Response) -> Response | None:
    """Her previous current response with the same recall period (charts never mix them)."""
    return (
        Response.objects.current()
        .filter(
            patient_id=response.patient_id,
            recall_period=response.recall_period,
            submitted_at__lt=response.submitted_at,
        )
        .exclude(pk=response.pk)
        .order_by("-submitted_at", "-pk")
        .first()
    )


def response_evaluate(*, response_id: int) -> list[RaiseResult]:
    """Run the high-interference and worsening rules on one response; complete its slot."""
    response = Response.objects.select_related("patient__clinic").filter(pk=response_id).first()
    if response is None:
        return []
    clinic = response.patient.clinic
    results = []
    # High interference (score >= 7: Serlin 1995; Shi 2017; the study), as decided and stored
    # when the response was scored with her clinic's rules.
    score = response.interference_score
    if response.interference_high:
        results.append(
            flag_raise(
                patient_id=response.patient_id,
                kind=FlagKind.HIGH_INTERFERENCE,
                source=TriggerSource.RESPONSE,
                source_id=response.pk,
                value=score,
            )
        )
    # Worsening: average pain (item 5) or interference up by >= 2 points from the previous
    # response (about 2 points is a meaningful change; Dworkin et al., IMMPACT 2008).
    previous = _previous_response(response)
    if previous is not None:
        points = rules_of(clinic).worsening_points
        rises = [Decimal(response.average_pain) - Decimal(previous.average_pain)]
        if score is not None and previous.interference_score is not None:
            rises.append(score - previous.interference_score)
        if max(rises) >= points:
            results.append(
                flag_raise(
                    patient_id=response.patient_id,
                    kind=FlagKind.WORSENING,
                    source=TriggerSource.RESPONSE,
                    source_id=response.pk,
                    value=max(rises),
                )
            )
    slot_complete(response=response)
    overdue_resolve_answered(patient_id=response.patient_id)
    ResponseEvaluation.objects.get_or_create(response_id=response.pk)
    logger.debug("response %s evaluated: %s flag triggers", response.pk, len(results))
    return results


def slot_complete(*, response: Response) -> int:
    """Mark her open reassessments up to this response (or due soon after it) as done, and
    the reminder links issued before it as used."""
    answered_on = timezone.localdate(response.submitted_at)
    QuestionnaireLink.objects.filter(
        slot__patient_id=response.patient_id,
        used_at__isnull=True,
        created_at__lte=response.created_at,
    ).update(used_at=response.submitted_at)
    return ReassessmentSlot.objects.filter(
        patient_id=response.patient_id,
        completed_at__isnull=True,
        due_date__lte=answered_on + dt.timedelta(days=SLOT_EARLY_DAYS),
    ).update(completed_at=response.submitted_at)


def overdue_resolve_answered(*, patient_id: int) -> int:
    """Her open overdue flag closes itself once every reassessment it was raised for has been
    answered; returns how many flags closed."""
    answered = []
    for flag in Flag.objects.filter(patient_id=patient_id, kind=FlagKind.OVERDUE).exclude(
        status=FlagStatus.RESOLVED
    ):
        slot_ids = flag.triggers.filter(source=TriggerSource.SCHEDULE_SLOT).values("source_id")
        if not ReassessmentSlot.objects.filter(pk__in=slot_ids, completed_at__isnull=True).exists():
            answered.append(flag.pk)
    if not answered:
        return 0
    return flags_resolve_by_system(
        flags=Flag.objects.filter(pk__in=answered), reason=SystemReason.ANSWERED
    )


def check_in_evaluate(*, check_in_id: int) -> RaiseResult | None:
    """A check-in with a lapse (fewer than 5 of 7 days, stopped, wants to stop, or doses
    missed by her choice) raises the adherence-lapse flag, with her reason; the lapse itself
    was decided when she submitted it.

    Routing by her reason: side effects or a decision to stop or take less mark the flag
    intentional (above unintentional lapses in the queue); forgetting, running out and other
    reasons raise only the ordinary lapse (forgetting is met on her confirmation page with
    tips and a daily reminder she can turn on)."""
    check_in = AdherenceCheckIn.objects.filter(pk=check_in_id).first()
    if check_in is None:
        return None
    result = None
    if check_in.lapse and flag_applies(
        patient_id=check_in.patient_id, kind=FlagKind.ADHERENCE_LAPSE
    ):
        result = flag_raise(
            patient_id=check_in.patient_id,
            kind=FlagKind.ADHERENCE_LAPSE,
            source=TriggerSource.CHECK_IN,
            source_id=check_in.pk,
            value=check_in.days_taken_last_7,
            reason=check_in.missed_reason,
            intentional=check_in.intentional,
        )
    AdherenceCheckIn.objects.filter(pk=check_in.pk, lapse_evaluated_at__isnull=True).update(
        lapse_evaluated_at=timezone.now()
    )
    return result


def treatment_event_evaluate(*, event_id: int) -> RaiseResult | None:
    """A clinician-recorded interruption is an adherence lapse."""
    event = TreatmentEvent.objects.filter(pk=event_id, kind=EventKind.INTERRUPTION).first()
    if event is None or not flag_applies(
        patient_id=event.patient_id, kind=FlagKind.ADHERENCE_LAPSE
    ):
        return None
    return flag_raise(
        patient_id=event.patient_id,
        kind=FlagKind.ADHERENCE_LAPSE,
        source=TriggerSource.TREATMENT_EVENT,
        source_id=event.pk,
    )


def evaluations_sweep(*, now: dt.datetime | None = None) -> int:
    """Evaluate what a lost task left behind; returns how many records it evaluated."""
    now = now or timezone.now()
    # The newest are left to their own task, probably running (AIMSS_SWEEP_GRACE_SECONDS).
    grace = dt.timedelta(seconds=settings.AIMSS_SWEEP_GRACE_SECONDS)
    window = {"created_at__gte": now - SWEEP_LOOKBACK, "created_at__lt": now - grace}
    done = 0
    # A questionnaire answered long ago (an imported cohort's history) raises no flag today.
    responses = (
        Response.objects.filter(
            **window, evaluation__isnull=True, submitted_at__gte=now - SWEEP_LOOKBACK
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for response_id in responses:
        response_evaluate(response_id=response_id)
        done += 1
    check_ins = (
        AdherenceCheckIn.objects.filter(**window, lapse_evaluated_at__isnull=True)
        .order_by("created_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for check_in_id in check_ins:
        check_in_evaluate(check_in_id=check_in_id)
        done += 1
    raised = FlagTrigger.objects.filter(
        source=TriggerSource.TREATMENT_EVENT, source_id=OuterRef("pk")
    )
    events = (
        TreatmentEvent.objects.filter(**window, kind=EventKind.INTERRUPTION)
        .filter(~Exists(raised))
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for event_id in events:
        treatment_event_evaluate(event_id=event_id)
        done += 1
    return done
