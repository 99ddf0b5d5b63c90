"""Reads for the nurse queue: the scoped queue, counts, and time from flag to first action."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.core.cache import cache
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from adherence.models import AdherenceCheckIn, Intervention
from adherence.selectors import care_stop_of, survival_record
from assessments.models import Response
from assessments.selectors import responses_of
from patients.access import clinic_ids_of
from patients.clock import local_date
from patients.models import Patient, User

from .models import Flag, FlagKind, FlagStatus, ReassessmentSlot, ReminderSend

RESPONSE_TIME_DAYS = 90
# The queue page's summaries are kept in the cache this long (seconds). A change of state made
# in this process forgets them at once (``queue_changed``); one made elsewhere (a Celery worker
# raising a flag; another web process while the cache is per process) shows within this time:
# short for the counts, which a nurse watches go down as she works.
QUEUE_COUNTS_CACHE_SECONDS = 5
RESPONSE_TIME_CACHE_SECONDS = 300  # a 90-day median; it moves only on a flag's first action
_QUEUE_GENERATION = "followup:queue:generation"
ANY_STATUS = "any"
T = TypeVar("T")
# What a queue row shows (templates/followup/_flag_row.html); a patient has some forty columns.
QUEUE_ROW_FIELDS = (
    *("kind", "status", "priority", "opened_at", "trigger_count", "claimed_by_id"),
    *("patient__family_name", "patient__given_name", "patient__record_number", "clinic__code"),
    *("claimed_by__username", "claimed_by__first_name", "claimed_by__last_name"),
)


def flag_queue(
    *,
    user: User,
    kind: str = "",
    clinic_id: int | None = None,
    mine: bool = False,
    status: str = "",
    patient_id: int | None = None,
) -> QuerySet[Flag]:
    """Flags of the clinics ``user`` works in: unresolved by default, priority then age.

    Scoped by the flag's clinic (an index range) rather than through the patient."""
    flags = _in_her_clinics(Flag.objects.all(), user)
    if status == ANY_STATUS:
        pass
    elif status:
        flags = flags.filter(status=status)
    else:
        flags = flags.exclude(status=FlagStatus.RESOLVED)  # the queue index's own condition
    if kind:
        flags = flags.filter(kind=kind)
    if clinic_id:
        flags = flags.filter(clinic_id=clinic_id)
    if patient_id:
        flags = flags.filter(patient_id=patient_id)
    if mine:
        flags = flags.filter(claimed_by=user)
    return flags.select_related("patient", "clinic", "claimed_by").order_by(
        "priority", "opened_at", "id"
    )


def _in_her_clinics(flags: QuerySet[Flag], user: User) -> QuerySet[Flag]:
    clinic_ids = clinic_ids_of(user)
    return flags if clinic_ids is None else flags.filter(clinic_id__in=clinic_ids)


def flag_counts(*, user: User, clinic_id: int | None = None) -> dict[str, int]:
    """Unresolved flags per kind (every kind present, zero when none), in one query.

    Cached (``QUEUE_COUNTS_CACHE_SECONDS``): counting 50,000 open flags costs more than the
    rest of the queue page."""

    def count() -> dict[str, int]:
        flags = flag_queue(user=user, clinic_id=clinic_id).order_by()
        counts = dict(flags.values_list("kind").annotate(n=Count("*")).values_list("kind", "n"))
        return {kind: counts.get(kind, 0) for kind in FlagKind.values}

    return _cached("counts", user, clinic_id, QUEUE_COUNTS_CACHE_SECONDS, count)


def queue_changed() -> None:
    """Forget the queue's cached counts and medians: a flag opened, was first acted on,
    resolved, reopened or moved clinic."""
    cache.set(_QUEUE_GENERATION, time.time_ns(), None)


def _cached(name: str, user: User, clinic_id: int | None, seconds: int, read: Callable[[], T]) -> T:
    """``read()``, kept in the cache per clinics of ``user`` until the queue changes."""
    clinic_ids = clinic_ids_of(user)
    scope = "all" if clinic_ids is None else ",".join(map(str, sorted(clinic_ids)))
    key = f"followup:{name}:{cache.get(_QUEUE_GENERATION, 0)}:{scope}:{clinic_id or ''}"
    value: T | None = cache.get(key)
    if value is None:
        value = read()
        cache.set(key, value, seconds)
    return value


@dataclass(frozen=True)
class ResponseTime:
    label: str
    flags: int
    median_hours: float


def _median_hours(waits: list[dt.timedelta]) -> float:
    return round(statistics.median(w.total_seconds() for w in waits) / 3600, 1)


def time_to_first_action(
    *, user: User, clinic_id: int | None = None
) -> dict[str, list[ResponseTime]]:
    """Median hours from a flag opening to its first recorded action, per clinic and nurse,
    over the flags opened in the last ``RESPONSE_TIME_DAYS`` days.

    Cached (``RESPONSE_TIME_CACHE_SECONDS``): a busy clinic acts on tens of thousands of flags
    in 90 days, and the queue page shows these medians on every view."""
    return _cached(
        "response-times",
        user,
        clinic_id,
        RESPONSE_TIME_CACHE_SECONDS,
        lambda: _time_to_first_action(user=user, clinic_id=clinic_id),
    )


def _time_to_first_action(*, user: User, clinic_id: int | None) -> dict[str, list[ResponseTime]]:
    since = timezone.now() - dt.timedelta(days=RESPONSE_TIME_DAYS)
    flags = _in_her_clinics(
        Flag.objects.filter(first_action_at__isnull=False, opened_at__gte=since), user
    )
    if clinic_id:
        flags = flags.filter(clinic_id=clinic_id)
    # The wait is subtracted in SQL: reading two aware datetimes per row costs ten times more.
    rows = flags.annotate(waited=F("first_action_at") - F("opened_at")).values_list(
        "clinic__name", "first_action_by__username", "waited"
    )
    by_clinic: dict[str, list[dt.timedelta]] = {}
    by_nurse: dict[str, list[dt.timedelta]] = {}
    for clinic, nurse, waited in rows:
        by_clinic.setdefault(clinic, []).append(waited)
        by_nurse.setdefault(nurse or "—", []).append(waited)
    return {
        "clinics": [
            ResponseTime(k, len(v), _median_hours(v)) for k, v in sorted(by_clinic.items())
        ],
        "nurses": [ResponseTime(k, len(v), _median_hours(v)) for k, v in sorted(by_nurse.items())],
    }


@dataclass(frozen=True)
class QuickView:
    """What a nurse needs beside a flag: last scores, current strategy, adherence."""

    responses: list[Response]
    strategy: str | None
    categories: tuple[str, ...]
    current_interventions: list[Intervention]
    last_check_in: AdherenceCheckIn | None


QUICK_VIEW_RESPONSES = 3


def patient_quick_view(patient: Patient) -> QuickView:
    survival = survival_record(patient)
    today = timezone.localdate()
    return QuickView(
        responses=list(
            responses_of(patient=patient).order_by("-submitted_at")[:QUICK_VIEW_RESPONSES]
        ),
        strategy=survival.strategy,
        categories=survival.categories,
        current_interventions=list(
            Intervention.objects.filter(patient=patient, start_date__lte=today)
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
            .order_by("start_date")
        ),
        last_check_in=AdherenceCheckIn.objects.filter(patient=patient)
        .order_by("-submitted_at")
        .first(),
    )


# --- adherence check-ins: due with her reassessments -----------------------------------------
# A reassessment slot is a BPI-SF and an adherence check-in, so a check-in falls due at each
# slot after the baseline (months 1, 2, 3, then every 3 months by default; the clinic's
# schedule in ``patients.rules``). The baseline is the BPI-SF at diagnosis only.


def _check_in_slots(patient: Patient) -> QuerySet[ReassessmentSlot]:
    return ReassessmentSlot.objects.filter(patient=patient, months_after_diagnosis__gt=0)


def check_in_due_since(patient: Patient, today: dt.date | None = None) -> dt.date | None:
    """The due date of her latest reassessment slot that fell due with no check-in since, or
    ``None`` if none is due (or she is off AI)."""
    if patient.aimss_diagnosis_date is None or care_stop_of(patient.pk) is not None:
        return None
    today = today or timezone.localdate()
    slot = _check_in_slots(patient).filter(due_date__lte=today).order_by("-due_date").first()
    if slot is None:
        return None
    last = AdherenceCheckIn.objects.filter(patient=patient).order_by("-submitted_at").first()
    if last is not None and local_date(last.submitted_at, patient) >= slot.due_date:
        return None
    return slot.due_date


def check_in_next(patient: Patient, today: dt.date | None = None) -> dt.date | None:
    """The due date of her next reassessment slot after today, or ``None`` (off AI)."""
    if patient.aimss_diagnosis_date is None or care_stop_of(patient.pk) is not None:
        return None
    today = today or timezone.localdate()
    slot = _check_in_slots(patient).filter(due_date__gt=today).order_by("due_date").first()
    return slot.due_date if slot else None


@dataclass(frozen=True)
class WhatsDue:
    """What her home tells her first: the questionnaire and check-in due or next, with her
    reminder and check-in history."""

    questionnaire_due: dt.date | None  # the oldest reassessment due and not answered
    questionnaire_next: dt.date | None  # the next one after today
    check_in_due: dt.date | None
    check_in_next: dt.date | None
    reminders: list[ReminderSend]
    check_ins: list[AdherenceCheckIn]

    @property
    def anything_due(self) -> bool:
        return self.questionnaire_due is not None or self.check_in_due is not None


WHATS_DUE_HISTORY = 10


def whats_due(patient: Patient, today: dt.date | None = None) -> WhatsDue:
    today = today or timezone.localdate()
    open_slots = ReassessmentSlot.objects.filter(patient=patient, completed_at__isnull=True)
    due = open_slots.filter(due_date__lte=today).order_by("due_date").first()
    upcoming = open_slots.filter(due_date__gt=today).order_by("due_date").first()
    return WhatsDue(
        questionnaire_due=due.due_date if due else None,
        questionnaire_next=upcoming.due_date if upcoming else None,
        check_in_due=check_in_due_since(patient, today),
        check_in_next=check_in_next(patient, today),
        reminders=list(
            ReminderSend.objects.filter(slot__patient=patient, sent_at__isnull=False)
            .select_related("slot")
            .order_by("-sent_at")[:WHATS_DUE_HISTORY]
        ),
        check_ins=list(
            AdherenceCheckIn.objects.filter(patient=patient).order_by("-submitted_at")[
                :WHATS_DUE_HISTORY
            ]
        ),
    )
