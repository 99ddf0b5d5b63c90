"""Reads for the nurse queue: the scoped queue, counts, and time from flag to first action."""

from __future__ import annotations

import datetime as dt
import functools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.core.cache import cache
from django.db.models import (
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from adherence.models import AdherenceCheckIn, Intervention, MissedReason
from adherence.selectors import care_stop_of, survival_record
from assessments.models import Response
from assessments.selectors import responses_of
from patients.access import clinic_ids_of
from patients.clock import local_date
from patients.models import CARE_ROLES, Clinic, Patient, StaffMembership, User, listed_name
from patients.rules import TARGET_HOURS, ClinicRules, rules_of

from .models import (
    URGENCY,
    Flag,
    FlagKind,
    FlagStatus,
    FlagTrigger,
    Priority,
    ReassessmentSlot,
    ReminderSend,
    TriggerSource,
    urgency,
    urgency_of,
)

RESPONSE_TIME_DAYS = 90
# The queue page's summaries are kept in the cache this long (seconds). A change of state made
# in this process forgets them at once (``queue_changed``); one made elsewhere (a Celery worker
# raising a flag; another web process while the cache is per process) shows within this time:
# short for the counts, which a nurse watches go down as she works.
QUEUE_COUNTS_CACHE_SECONDS = 5
RESPONSE_TIME_CACHE_SECONDS = 300  # a 90-day median; it moves only on a flag's first action
_QUEUE_GENERATION = "followup:queue:generation"
# The badge's own generation: a claim or a reassignment changes the badge (unclaimed flags)
# but none of the counts or medians, which are kept on.
_BADGE_GENERATION = "followup:badge:generation"
ANY_STATUS = "any"
T = TypeVar("T")


def awake(today: dt.date) -> Q:
    """Flags not snoozed on ``today``: a snooze ends by itself on its date (no task)."""
    return Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=today)


def flag_queue(
    *,
    user: User,
    kind: str = "",
    clinic_id: int | None = None,
    mine: bool = False,
    status: str = "",
    patient_id: int | None = None,
    snoozed: bool | None = False,
) -> QuerySet[Flag]:
    """Flags of the clinics ``user`` works in: unresolved by default, priority then age.

    A flag snoozed until a later date is left out (``snoozed=False``), or is all that is
    listed (``snoozed=True``); ``snoozed=None`` and ``status="any"`` list both.
    Scoped by the flag's clinic (an index range) rather than through the patient."""
    flags = _in_her_clinics(Flag.objects.all(), user)
    if status == ANY_STATUS:
        snoozed = None
    elif status:
        flags = flags.filter(status=status)
    else:
        flags = flags.exclude(status=FlagStatus.RESOLVED)  # the queue index's own condition
    if snoozed is not None:
        today = timezone.localdate()
        flags = flags.filter(snoozed_until__gt=today) if snoozed else flags.filter(awake(today))
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


@dataclass(frozen=True)
class QueueSummary:
    """The queue's totals under its filters other than the kind: unresolved flags per kind
    (every kind present, zero when none) and the patients they belong to."""

    counts: dict[str, int]
    patients: int

    def patients_of(self, kind: str) -> int:
        """The patients listed under the kind filter ``kind`` ("" for every kind). A patient
        has at most one unresolved flag of a kind (a database constraint), so the patients
        with a flag of a kind are as many as that kind's flags."""
        return self.counts.get(kind, 0) if kind else self.patients


def queue_summary(*, user: User, filters: QueueFilters) -> QueueSummary:
    """Counts per kind and patients, in two queries, under the queue's filters other than
    the kind (so each count is what that kind's link lists).

    Cached (``QUEUE_COUNTS_CACHE_SECONDS``, forgotten at once on ``queue_changed``): counting
    50,000 open flags, and their patients, costs more than the rest of the queue page."""
    filters = QueueFilters(
        clinic_id=filters.clinic_id,
        mine=filters.mine,
        snoozed=filters.snoozed,
        over_target=filters.over_target,
    )

    def count() -> QueueSummary:
        flags = triage_flags(user=user, filters=filters, now=timezone.now()).order_by()
        counts = dict(flags.values_list("kind").annotate(n=Count("*")).values_list("kind", "n"))
        patients = flags.values("patient_id").distinct().count()
        return QueueSummary({kind: counts.get(kind, 0) for kind in FlagKind.values}, patients)

    if filters.mine:  # her own flags: few, and changed by every claim (not cached)
        return count()
    name = f"summary:{_filter_key(filters)}"
    return _cached(name, user, filters.clinic_id, QUEUE_COUNTS_CACHE_SECONDS, count)


def flag_counts(
    *, user: User, clinic_id: int | None = None, filters: QueueFilters | None = None
) -> dict[str, int]:
    """Unresolved flags per kind (every kind present, zero when none) under the queue's
    filters other than the kind (``queue_summary``)."""
    return queue_summary(user=user, filters=filters or QueueFilters(clinic_id=clinic_id)).counts


def queue_changed() -> None:
    """Forget the queue's cached counts, medians and badge: a flag opened, was first acted
    on, resolved, reopened, snoozed, woken or moved clinic."""
    now = time.time_ns()
    cache.set_many({_QUEUE_GENERATION: now, _BADGE_GENERATION: now}, None)


def badge_changed() -> None:
    """Forget the cached badge only: a flag was claimed or handed on (it is no longer
    unclaimed; the queue's counts of unresolved flags are the same)."""
    cache.set(_BADGE_GENERATION, time.time_ns(), None)


def _scope(user: User) -> str:
    clinic_ids = clinic_ids_of(user)
    return "all" if clinic_ids is None else ",".join(map(str, sorted(clinic_ids)))


def _cached(name: str, user: User, clinic_id: int | None, seconds: int, read: Callable[[], T]) -> T:
    """``read()``, kept in the cache per clinics of ``user`` until the queue changes."""
    key = f"followup:{name}:{cache.get(_QUEUE_GENERATION, 0)}:{_scope(user)}:{clinic_id or ''}"
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


# --- The queue, one row per patient ---------------------------------------------------------

URGENCY_LEVELS = sorted(set(URGENCY.values()))
SORT_URGENCY = "urgency"
SORT_LONGEST_WAITING = "waiting"
QUEUE_SORTS = (SORT_URGENCY, SORT_LONGEST_WAITING)
# A patient has at most one unresolved flag of a kind (a database constraint), so the first
# n patients of the queue are among its first n x this many flags.
FLAGS_PER_PATIENT_MAX = len(FlagKind.values)


@dataclass(frozen=True)
class QueueFilters:
    kind: str = ""
    clinic_id: int | None = None
    mine: bool = False
    snoozed: bool = False  # list the snoozed flags instead of the awake ones
    over_target: bool = False  # only flags waiting longer than their clinic's target
    sort: str = SORT_URGENCY


def triage_flags(*, user: User, filters: QueueFilters, now: dt.datetime) -> QuerySet[Flag]:
    """The unresolved flags the queue lists under ``filters``."""
    flags = flag_queue(
        user=user,
        kind=filters.kind,
        clinic_id=filters.clinic_id,
        mine=filters.mine,
        snoozed=filters.snoozed,
    )
    return flags.filter(_over_target(now)) if filters.over_target else flags


def _over_target(now: dt.datetime) -> Q:
    """Flags opened longer ago than their clinic's target time (one small read of the rules)."""
    custom = dict(
        Clinic.objects.exclude(target_hours=TARGET_HOURS).values_list("pk", "target_hours")
    )
    over = Q(opened_at__lt=now - dt.timedelta(hours=TARGET_HOURS)) & ~Q(clinic_id__in=list(custom))
    for clinic_id, hours in custom.items():
        over |= Q(clinic_id=clinic_id, opened_at__lt=now - dt.timedelta(hours=hours))
    return over


class PatientWalk:
    """The patients of the queue, in order, as a sequence Django's Paginator can page.

    A patient's place is the first appearance of one of her flags in the queue's order (most
    urgent level, then newest trigger; or oldest first), so a page is read from the top of an
    index (``flag_triage_idx``, ``flag_waiting_idx``) instead of grouping every open flag of the
    clinic: the first n patients are among the first n x ``FLAGS_PER_PATIENT_MAX`` flags. Deep
    pages read more rows; nurses work from the top."""

    def __init__(self, flags: QuerySet[Flag], sort: str, count: Callable[[], int]) -> None:
        if sort == SORT_LONGEST_WAITING:
            self.flags = flags.order_by("opened_at", "id")
        else:
            self.flags = flags.order_by(urgency().asc(), "-last_triggered_at", "id")
        self._count = count

    def count(self) -> int:
        return self._count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, page: slice) -> list[int]:
        start, stop = page.start or 0, page.stop
        first = self.flags.values_list("patient_id", flat=True)[: stop * FLAGS_PER_PATIENT_MAX]
        return list(dict.fromkeys(first))[start:stop]  # distinct, in order


def patient_queue(
    *, user: User, filters: QueueFilters, now: dt.datetime | None = None
) -> PatientWalk:
    """The ids of the patients with flags under ``filters``, most urgent first: her most
    urgent flag's level, then that level's newest trigger (``sort="waiting"``: her oldest
    flag first), for a Paginator."""
    flags = triage_flags(user=user, filters=filters, now=now or timezone.now())
    # The count is the cached summary's (forgotten on every change of the queue made here,
    # and by a worker where the cache is shared): counting the patients of 50,000 flags cost
    # more than the rest of the page. The queue view's paginator reads each page to its end
    # whatever the count says, so a count a few seconds old hides no patient.
    return PatientWalk(
        flags,
        filters.sort,
        lambda: queue_summary(user=user, filters=filters).patients_of(filters.kind),
    )


def _filter_key(filters: QueueFilters) -> str:
    return f"{filters.kind}:{int(filters.snoozed)}{int(filters.over_target)}"


@dataclass(frozen=True)
class FlagItem:
    """One flag on a patient's card."""

    pk: int
    kind: str
    kind_label: str
    high: bool
    raised_by: str  # the values that raised it, e.g. "Interference 8.1"
    triggers: str
    over_target: bool
    status: str
    mine: bool
    escalated: bool
    snoozed_until: dt.date | None
    snooze_reason: str
    can_claim: bool
    can_act: bool  # record an action, resolve, snooze: open, or claimed by her
    url: str  # the flag's page: every action as a plain form
    do_url: str  # where the card's forms post
    actions_url: str  # its secondary actions' forms, for htmx to fetch into the card
    wait: str  # "Waiting 3 hours · target 24 h"


@dataclass(frozen=True)
class PatientRow:
    """A patient's card in the queue: her open flags, most urgent first."""

    patient_id: int
    name: str
    meta: str
    phone_e164: str
    phone_national: str
    flags: list[FlagItem]
    url: str  # her record
    resolve_overdue_url: str
    died_on: dt.date | None = None  # a nurse must not call a patient who died

    @property
    def overdue_to_resolve(self) -> int:
        return sum(1 for f in self.flags if f.kind == FlagKind.OVERDUE and f.can_act)


def _raised_by(
    kind: str,
    value: Decimal | None,
    source: str | None,
    reason: str | None = None,
    intentional: bool = False,
) -> str:
    """The values that raised a flag, in words, with one decimal."""
    if kind == FlagKind.ADHERENCE_LAPSE and reason in MissedReason.values:
        said = _raised_by(kind, value, source)
        why = str(MissedReason(reason).label)
        if intentional:
            return _("%(values)s · intentional: %(reason)s") % {"values": said, "reason": why}
        return _("%(values)s · %(reason)s") % {"values": said, "reason": why}
    if kind == FlagKind.HIGH_INTERFERENCE and value is not None:
        return _("Interference %(score)s") % {"score": f"{value:.1f}"}
    if kind == FlagKind.WORSENING and value is not None:
        return _("+%(points)s since last") % {"points": f"{value:.1f}"}
    if kind == FlagKind.ADHERENCE_LAPSE:
        if source == TriggerSource.CHECK_IN and value is not None:
            return _("AI taken %(days)s/7 days") % {"days": int(value)}
        if source == TriggerSource.TREATMENT_EVENT:
            return _("Interruption recorded")
        return _("Stopped or wants to stop")
    if kind == FlagKind.OVERDUE:
        return _("Reassessment missing")
    if kind == FlagKind.REVIEW_MANAGEMENT and value is not None:
        return _("Drop of %(points)s at the trial's time point") % {"points": f"{value:.1f}"}
    return ""


def waited_words(waited: dt.timedelta) -> str:
    """How long a flag has waited, in the unit a nurse holds against a target in hours:
    minutes under an hour, hours under two days, then days."""
    minutes = max(int(waited.total_seconds() // 60), 0)
    if minutes < 60:
        return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}
    hours = minutes // 60
    if hours < 48:
        return ngettext("%(n)s hour", "%(n)s hours", hours) % {"n": hours}
    return ngettext("%(n)s day", "%(n)s days", hours // 24) % {"n": hours // 24}


def url_maker(name: str) -> Callable[[int], str]:
    """``reverse(name, args=[pk])`` for many pks: reversed once, each pk put in its place
    (reversing costs tens of microseconds, and a page of cards has three links a flag)."""
    marker = "987654321"
    head, tail = reverse(name, args=[int(marker)]).split(marker)
    return lambda pk: f"{head}{pk}{tail}"


class CardMaker:
    """Builds a page's cards. A page holds a hundred flags, so what is the same for many of
    them (a kind's or status's label, the words of a value or a wait, a link's shape) is
    worked out once a page, not once a flag."""

    def __init__(self, user: User, rules: dict[int, ClinicRules], now: dt.datetime) -> None:
        self.user, self.rules, self.now = user, rules, now
        self.today = timezone.localdate(now)
        self.kinds = {kind.value: str(kind.label) for kind in FlagKind}
        self.statuses = {status.value: str(status.label) for status in FlagStatus}
        self.raised_by = functools.cache(_raised_by)
        self.wait = functools.cache(self._wait)
        self.triggers = functools.cache(self._triggers)
        self.flag_url = url_maker("followup:flag")
        self.do_url = url_maker("followup:queue_flag")
        self.actions_url = url_maker("followup:flag_actions")
        self.patient_url = url_maker("clinical:patient")
        self.resolve_overdue_url = url_maker("followup:queue_patient")

    @staticmethod
    def _wait(waited: str, hours: int) -> str:
        return _("Waiting %(waited)s · target %(hours)s h") % {"waited": waited, "hours": hours}

    @staticmethod
    def _triggers(n: int) -> str:
        return ngettext("%(counter)s trigger", "%(counter)s triggers", n) % {"counter": n}

    def flag(self, flag: dict[str, Any]) -> FlagItem:
        pk, status = flag["pk"], flag["status"]
        target_hours = self.rules[flag["clinic_id"]].target_hours
        waited = self.now - flag["opened_at"]
        label = self.statuses[status]
        if flag["claimed_by_id"] is not None:
            name = f"{flag['claimed_by__first_name']} {flag['claimed_by__last_name']}".strip()
            label += f" · {name or flag['claimed_by__username']}"
        mine = flag["claimed_by_id"] == self.user.pk
        snoozed = flag["snoozed_until"]
        snoozed = snoozed if snoozed and snoozed > self.today else None
        return FlagItem(
            pk=pk,
            kind=flag["kind"],
            kind_label=self.kinds[flag["kind"]],
            high=flag["priority"] == Priority.HIGH,
            raised_by=self.raised_by(
                flag["kind"],
                flag["last_value"],
                flag["last_source"],
                flag["last_reason"],
                flag["intentional"],
            ),
            triggers=self.triggers(flag["trigger_count"]) if flag["trigger_count"] > 1 else "",
            over_target=waited > dt.timedelta(hours=target_hours),
            status=label,
            mine=mine,
            escalated=flag["escalated_at"] is not None,
            snoozed_until=snoozed,
            snooze_reason=flag["snooze_reason"] if snoozed else "",
            can_claim=status == FlagStatus.OPEN,
            can_act=status == FlagStatus.OPEN or (status == FlagStatus.CLAIMED and mine),
            url=self.flag_url(pk),
            do_url=self.do_url(pk),
            actions_url=self.actions_url(pk),
            wait=self.wait(waited_words(waited), target_hours),
        )

    def card(self, patient_id: int, flags: list[dict[str, Any]]) -> PatientRow:
        first, phone = flags[0], flags[0]["patient__phone"]
        return PatientRow(
            patient_id=patient_id,
            name=listed_name(first["patient__family_name"], first["patient__given_name"]),
            meta=f"{first['patient__record_number']} · {first['clinic__code'].upper()}",
            phone_e164=phone.as_e164 if phone else "",
            phone_national=phone.as_national if phone else "",
            flags=[self.flag(flag) for flag in flags],
            url=self.patient_url(patient_id),
            resolve_overdue_url=self.resolve_overdue_url(patient_id),
            died_on=first["patient__died_on"],
        )


# What a card shows of a flag, its patient, clinic and claimant, read as plain values: a page
# holds a hundred flags, and a model instance of each with its patient (some forty columns),
# clinic and claimant cost more than the rest of the card.
CARD_FIELDS = (
    *("pk", "kind", "status", "priority", "opened_at", "last_triggered_at", "trigger_count"),
    "claimed_by_id",
    *("escalated_at", "snoozed_until", "snooze_reason", "intentional", "patient_id", "clinic_id"),
    *("patient__family_name", "patient__given_name", "patient__record_number", "patient__phone"),
    *("patient__died_on", "clinic__code"),
    *("claimed_by__username", "claimed_by__first_name", "claimed_by__last_name"),
)


NO_TRIGGER = {"last_value": None, "last_source": None, "last_reason": None}


def _card_order(flag: dict[str, Any]) -> tuple[int, float, int]:
    """Most urgent first, then newest trigger: the queue's own order (``urgency``)."""
    urgency = urgency_of(flag["kind"], flag["intentional"])
    return (urgency, -flag["last_triggered_at"].timestamp(), flag["pk"])


def queue_rows(
    *,
    user: User,
    patient_ids: list[int],
    filters: QueueFilters,
    now: dt.datetime | None = None,
) -> list[PatientRow]:
    """The cards of these patients (in this order), in three queries whatever their number:
    the flags, their latest triggers, and the clinics' rules. A flag's secondary actions
    (note, snooze, reassign) are not on the card: ``flag_actions`` reads them when opened."""
    now = now or timezone.now()
    latest = FlagTrigger.objects.filter(flag=OuterRef("pk")).order_by("-triggered_at", "-id")
    flags = list(
        triage_flags(user=user, filters=filters, now=now)
        .filter(patient_id__in=patient_ids)
        .annotate(last_trigger_id=Subquery(latest.values("pk")[:1]))
        .values(*CARD_FIELDS, "last_trigger_id")
    )
    # Each flag's latest trigger (the values that raised it), read by its id.
    flags_by_pk = {flag["pk"]: flag | NO_TRIGGER for flag in flags}
    triggers = FlagTrigger.objects.filter(
        pk__in=[f["last_trigger_id"] for f in flags if f["last_trigger_id"] is not None]
    ).values_list("flag_id", "value", "source", "reason")
    for flag_id, value, source, reason in triggers:
        flags_by_pk[flag_id].update(last_value=value, last_source=source, last_reason=reason)
    # A page's few dozen flags are put in the queue's order here rather than by the urgency
    # expression in SQL, which cost more to build than sorting them.
    flags = sorted(flags_by_pk.values(), key=_card_order)
    by_patient: dict[int, list[dict[str, Any]]] = {}
    for flag in flags:
        by_patient.setdefault(flag["patient_id"], []).append(flag)
    clinic_ids = {hers[0]["clinic_id"] for hers in by_patient.values()}
    rules = {c.pk: rules_of(c) for c in Clinic.objects.filter(pk__in=clinic_ids)}
    cards = CardMaker(user, rules, now)
    return [cards.card(pk, by_patient[pk]) for pk in patient_ids if pk in by_patient]


def colleagues_of(clinic_id: int) -> list[tuple[int, str]]:
    """The nurses and clinicians of a clinic a flag can be handed to: (user id, name)."""
    members = (
        StaffMembership.objects.filter(
            clinic_id=clinic_id,
            deidentified=False,
            user__is_active=True,
            user__role__in=CARE_ROLES,
        )
        .select_related("user")
        .order_by("user__last_name", "user__username")
    )
    return [(m.user_id, m.user.get_full_name() or m.user.username) for m in members]


# The badge is kept this long (seconds) per clinics: forgotten at once on a change made in this
# process (``queue_changed``, ``badge_changed``), and by a worker's where the cache is shared.
BADGE_CACHE_SECONDS = QUEUE_COUNTS_CACHE_SECONDS


def flag_badge_count(user: User) -> int:
    """Unclaimed, awake, high-priority flags of her clinics: the badge on every staff page
    (one count over a partial index, kept ``BADGE_CACHE_SECONDS`` per clinics; see
    docs/adr/0006-cached-queue-badge.md)."""
    today = timezone.localdate()
    key = f"followup:badge:{cache.get(_BADGE_GENERATION, 0)}:{_scope(user)}:{today.isoformat()}"
    n: int | None = cache.get(key)
    if n is None:
        n = (
            _in_her_clinics(Flag.objects.all(), user)
            .filter(status=FlagStatus.OPEN, priority=Priority.HIGH)
            .filter(awake(today))
            .count()
        )
        cache.set(key, n, BADGE_CACHE_SECONDS)
    return n
