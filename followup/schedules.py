"""Reassessment schedules, reminder e-mails with single-use links, and the overdue rule.

Two kinds of slot: the routine months of her clinic's schedule, and at most one open *adaptive*
slot (``adaptive_sync``): after a worsening flag, a new intervention or a resumed AI her next
BPI-SF falls due ``adaptive_interval_weeks`` (a clinic rule, default 4) after it, then as long
after each answer, until two answers in a row are stable; her home, the what's-due panel and
the reminders read open slots, so they follow it with no code of their own.

Due times live in the database and beat sweeps them (no ``eta``/``countdown``): a sweep claims
each (slot, attempt) by inserting its ``ReminderSend`` row (unique in the database) and sends
only what it claimed, so two beats, two workers or a sweep run twice send one e-mail. Every
query here works on a batch of slots, so the number of queries grows with batches, not patients.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import logging
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from adherence.models import CARE_STOP_KINDS, EventKind, Intervention, TreatmentEvent
from adherence.selectors import off_ai
from assessments.models import Response
from patients.clock import local_date
from patients.invitations import sender_name_of, sender_of
from patients.models import Clinic, Patient
from patients.rules import ClinicRules, rules_of

from .models import (
    Channel,
    FlagKind,
    FlagTrigger,
    PatientSchedule,
    QuestionnaireLink,
    ReassessmentSlot,
    ReminderSend,
    SendStatus,
    TriggerSource,
)
from .notify import (
    CHANNELS,
    LeaseKeeper,
    Outgoing,
    channels_of,
    claim_lease,
    deliver,
    record_outcome,
)
from .services import flag_applies, flag_raise

logger = logging.getLogger(__name__)

BATCH = 1000
# Reminders at the due time, then after 3 and 7 days, then no more.
REMINDER_DAYS = (0, 3, 7)
# A reminder attempt that could not go out (beat down, quiet hours) is still sent within this
# time of when it fell due; older ones are not sent late in bulk.
REMINDER_GRACE = dt.timedelta(days=2)
# Overdue flags look back this far, so that a new clinic's history does not flood the queue.
OVERDUE_LOOKBACK_DAYS = 30
LINK_SALT = "aimss.questionnaire-link"
# Adaptive reassessment looks back this far for a trigger (a worsening, an intervention, a
# resumed AI); older ones have had their routine reassessments since.
ADAPTIVE_LOOKBACK_DAYS = 180
# An adaptive reassessment that would have fallen due longer ago than this is not created late:
# the routine schedule has taken over (the reminders' grace is shorter still).
ADAPTIVE_LATE_DAYS = 14

WORSENED = "worsening"
INTERVENTION = "intervention"
RESUMED = "resumed"


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def local_due_at(due_date: dt.date, due_time: dt.time, time_zone: str) -> dt.datetime:
    """The instant of ``due_time`` on ``due_date`` in the patient's zone (DST-aware)."""
    return dt.datetime.combine(due_date, due_time, tzinfo=ZoneInfo(time_zone))


def schedule_months(rules: ClinicRules, interval: int, up_to_months: int) -> list[int]:
    """Months after diagnosis of each reassessment, through ``up_to_months``."""
    months = list(rules.initial_months)
    last = months[-1] if months else 0
    months += list(range(last + interval, up_to_months + 1, interval))
    return [m for m in months if m <= up_to_months]


def _months_between(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def schedules_sync(*, patients: Iterable[Patient], today: dt.date | None = None) -> int:
    """Create the slots each patient is due up to her next one; returns how many were added.

    ``patients`` should come with ``clinic`` and ``schedule`` selected.
    """
    today = today or timezone.localdate()
    patient_list = [p for p in patients if p.aimss_diagnosis_date is not None]
    # Reassessments run while she is on AI: none after a permanent discontinuation, a
    # confirmed recurrence or a death (care_stop_apply removed her open slots).
    stopped = set(
        TreatmentEvent.objects.filter(
            patient__in=patient_list, kind__in=CARE_STOP_KINDS
        ).values_list("patient_id", flat=True)
    )
    existing: dict[int, set[int]] = {}
    for patient_id, months in ReassessmentSlot.objects.filter(
        patient__in=patient_list, adaptive=False
    ).values_list("patient_id", "months_after_diagnosis"):
        existing.setdefault(patient_id, set()).add(months)
    new_slots = []
    scheduled = []
    for patient in patient_list:
        override: PatientSchedule | None = getattr(patient, "schedule", None)
        if (override is not None and override.paused) or patient.pk in stopped:
            continue
        scheduled.append(patient)
        rules = rules_of(patient.clinic)
        interval = (override.interval_months if override else None) or rules.interval_months
        diagnosis = patient.aimss_diagnosis_date
        assert diagnosis is not None
        horizon = _months_between(diagnosis, today) + interval  # through her next slot
        for months in schedule_months(rules, interval, horizon):
            if months in existing.get(patient.pk, ()):
                continue
            due_date = add_months(diagnosis, months)
            new_slots.append(
                ReassessmentSlot(
                    patient=patient,
                    months_after_diagnosis=months,
                    due_date=due_date,
                    due_at=local_due_at(due_date, rules.due_time, patient.time_zone),
                )
            )
    ReassessmentSlot.objects.bulk_create(new_slots, batch_size=BATCH, ignore_conflicts=True)
    return len(new_slots) + adaptive_sync(patients=scheduled, today=today)


# --- adaptive reassessment -----------------------------------------------------------------


@dataclass(frozen=True)
class Adaptive:
    """Why her next reassessment comes early, and when."""

    reason: str  # WORSENED, INTERVENTION or RESUMED
    since: dt.date  # the trigger's date (her local date)
    due_date: dt.date  # the trigger, or her latest answer since, plus the clinic's weeks
    stable_answers: int  # answers in a row since the trigger that did not worsen (0 or 1)


def _triggers(patients: list[Patient], today: dt.date) -> dict[int, tuple[dt.date, str]]:
    """Each patient's latest adaptive trigger in the lookback, as (her local date, reason)."""
    by_id = {p.pk: p for p in patients}
    since = today - dt.timedelta(days=ADAPTIVE_LOOKBACK_DAYS)
    found: dict[int, tuple[dt.date, str]] = {}

    def keep(patient_id: int, day: dt.date, reason: str) -> None:
        if since <= day <= today and (patient_id not in found or day > found[patient_id][0]):
            found[patient_id] = (day, reason)

    for patient_id, at in FlagTrigger.objects.filter(
        kind=FlagKind.WORSENING,
        flag__patient__in=patients,
        triggered_at__gte=timezone.now() - dt.timedelta(days=ADAPTIVE_LOOKBACK_DAYS + 1),
    ).values_list("flag__patient_id", "triggered_at"):
        keep(patient_id, local_date(at, by_id[patient_id]), WORSENED)
    for patient_id, day in Intervention.objects.filter(
        patient__in=patients, start_date__gte=since, start_date__lte=today
    ).values_list("patient_id", "start_date"):
        keep(patient_id, day, INTERVENTION)
    # An interruption's end date is the last day off the drug: she resumed the next day.
    for patient_id, last_off in TreatmentEvent.objects.filter(
        patient__in=patients,
        kind=EventKind.INTERRUPTION,
        end_date__isnull=False,
        end_date__gte=since - dt.timedelta(days=1),
        end_date__lt=today,
    ).values_list("patient_id", "end_date"):
        if last_off is not None:
            keep(patient_id, last_off + dt.timedelta(days=1), RESUMED)
    return found


def _worsened(
    answer: tuple[Decimal, Decimal | None], previous: tuple[Decimal, Decimal | None], by: Decimal
) -> bool:
    """The worsening rule of ``followup.evaluation``: average pain or interference up by the
    clinic's points from the previous answer."""
    rises = [answer[0] - previous[0]]
    if answer[1] is not None and previous[1] is not None:
        rises.append(answer[1] - previous[1])
    return max(rises) >= by


def adaptive_states(*, patients: Iterable[Patient], today: dt.date) -> dict[int, Adaptive]:
    """The patients whose next reassessment is adaptive, with its due date (a few queries for
    the whole batch). ``patients`` should come with ``clinic`` selected."""
    patient_list = list(patients)
    by_id = {p.pk: p for p in patient_list}
    triggers = _triggers(patient_list, today)
    answers: dict[int, list[tuple[dt.date, Decimal, Decimal | None]]] = {}
    for patient_id, at, average, interference in (
        Response.objects.current()
        .filter(patient_id__in=list(triggers))
        .order_by("patient_id", "submitted_at", "id")
        .values_list("patient_id", "submitted_at", "average_pain", "interference_score")
    ):
        answers.setdefault(patient_id, []).append(
            (
                local_date(at, by_id[patient_id]),
                Decimal(average),
                None if interference is None else Decimal(interference),
            )
        )
    states = {}
    for patient_id, (since, reason) in triggers.items():
        rules = rules_of(by_id[patient_id].clinic)
        history = answers.get(patient_id, [])
        stable, anchor = 0, since
        for index, (day, average, interference) in enumerate(history):
            if day <= since:
                continue
            anchor = day
            previous = history[index - 1] if index else None
            worse = previous is not None and _worsened(
                (average, interference), previous[1:], rules.worsening_points
            )
            stable = 0 if worse else stable + 1
        if stable >= 2:
            continue  # back to the routine schedule
        due = anchor + dt.timedelta(weeks=rules.adaptive_interval_weeks)
        states[patient_id] = Adaptive(reason, since, due, stable)
    return states


def _whole_months(start: dt.date, end: dt.date) -> int:
    return _months_between(start, end) - (1 if end.day < start.day else 0)


def adaptive_sync(*, patients: Iterable[Patient], today: dt.date | None = None) -> int:
    """Keep each patient's one open adaptive slot at its due date, or remove it (not yet due)
    once she is back to routine; returns how many slots it created.

    No adaptive slot is made while a routine one falls due between today and its date: that
    answer comes first, and the next adaptive date counts from it. ``patients`` should come
    with ``clinic`` selected, and be those whose schedule runs (not paused, not off AI).
    """
    today = today or timezone.localdate()
    patient_list = [p for p in patients if p.aimss_diagnosis_date is not None]
    states = adaptive_states(patients=patient_list, today=today)
    open_slots = ReassessmentSlot.objects.filter(
        patient__in=patient_list, completed_at__isnull=True
    )
    adaptive_open = {s.patient_id: s for s in open_slots.filter(adaptive=True)}
    routine_first: dict[int, dt.date] = {}
    for patient_id, due_date in (
        open_slots.filter(adaptive=False, patient_id__in=list(states), due_date__gte=today)
        .order_by("due_date")
        .values_list("patient_id", "due_date")
    ):
        routine_first.setdefault(patient_id, due_date)
    gone = [
        slot.pk
        for patient_id, slot in adaptive_open.items()
        if patient_id not in states and slot.due_date > today
    ]
    if gone:
        ReassessmentSlot.objects.filter(pk__in=gone, completed_at__isnull=True).delete()
    new_slots = []
    for patient in patient_list:
        state = states.get(patient.pk)
        if state is None:
            continue
        diagnosis = patient.aimss_diagnosis_date
        assert diagnosis is not None
        rules = rules_of(patient.clinic)
        # A reassessment after the diagnosis is never the baseline: month 1 at the earliest.
        fields = {
            "due_date": state.due_date,
            "due_at": local_due_at(state.due_date, rules.due_time, patient.time_zone),
            "months_after_diagnosis": max(1, _whole_months(diagnosis, state.due_date)),
        }
        slot = adaptive_open.get(patient.pk)
        if slot is not None:
            # One already due stays what she owes; one still ahead moves to the new date.
            if slot.due_date > today and slot.due_date != state.due_date:
                ReassessmentSlot.objects.filter(pk=slot.pk, completed_at__isnull=True).update(
                    **fields
                )
            continue
        first = routine_first.get(patient.pk)
        if (first is not None and first <= state.due_date) or (
            state.due_date < today - dt.timedelta(days=ADAPTIVE_LATE_DAYS)
        ):
            continue
        new_slots.append(ReassessmentSlot(patient=patient, adaptive=True, **fields))
    ReassessmentSlot.objects.bulk_create(new_slots, ignore_conflicts=True)
    return len(new_slots)


def schedules_sync_all(*, today: dt.date | None = None) -> int:
    """Sync every patient's schedule, in batches."""
    added = 0
    patients = Patient.objects.filter(aimss_diagnosis_date__isnull=False).select_related(
        "clinic", "schedule"
    )
    last_id = 0
    while True:
        batch = list(patients.filter(pk__gt=last_id).order_by("pk")[:BATCH])
        if not batch:
            return added
        added += schedules_sync(patients=batch, today=today)
        last_id = batch[-1].pk


def in_quiet_hours(patient: Patient, now: dt.datetime) -> bool:
    """Whether ``now`` falls in her quiet hours (a window may span midnight)."""
    local = now.astimezone(ZoneInfo(patient.time_zone)).time()
    start, end = patient.quiet_hours_start, patient.quiet_hours_end
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


# --- links -------------------------------------------------------------------------------------


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def link_new(
    *, slot: ReassessmentSlot, valid_days: int, now: dt.datetime
) -> tuple[QuestionnaireLink, str]:
    """A new (unsaved) link for ``slot`` and its signed token; only the hash is stored."""
    raw = secrets.token_urlsafe(32)
    link = QuestionnaireLink(
        slot=slot, token_hash=_hash(raw), expires_at=now + dt.timedelta(days=valid_days)
    )
    return link, signing.TimestampSigner(salt=LINK_SALT).sign(raw)


class LinkInvalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "invalid", "expired", "opened" or "used"


def link_check(token: str, *, now: dt.datetime | None = None) -> QuestionnaireLink:
    """The link behind ``token`` if it is genuine, unexpired and never opened."""
    now = now or timezone.now()
    try:
        raw = signing.TimestampSigner(salt=LINK_SALT).unsign(token)
    except signing.BadSignature:
        raise LinkInvalid("invalid") from None
    link = (
        QuestionnaireLink.objects.select_related("slot__patient")
        .filter(token_hash=_hash(raw))
        .first()
    )
    if link is None:
        raise LinkInvalid("invalid")
    answered = Response.objects.filter(
        patient_id=link.slot.patient_id, created_at__gte=link.created_at
    ).exists()
    if link.slot.completed_at is not None or answered:
        raise LinkInvalid("used")
    if link.used_at is not None:
        raise LinkInvalid("opened")
    if link.expires_at <= now:
        raise LinkInvalid("expired")
    return link


def link_open(*, link: QuestionnaireLink, now: dt.datetime | None = None) -> bool:
    """Spend ``link`` at its first opening; False if another opening got there first.

    A link is single-use from the moment it is opened (not answered): whoever holds the e-mail
    afterwards, or reads the address in a log or a browser's history, gets nothing from it.
    """
    now = now or timezone.now()
    return (
        QuestionnaireLink.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=now) == 1
    )


# --- reminders -----------------------------------------------------------------------------


def _claim_batch(
    attempt: int, offset_days: int, now: dt.datetime, claim: uuid.UUID
) -> tuple[int, int]:
    """Claim up to BATCH slots whose reminder ``attempt`` fell due and is unsent, one row per
    channel she chose; returns (candidates seen, slots claimed). Slots in the patient's quiet
    hours wait for a later sweep. Slots another sweep is claiming at this moment are skipped
    (locked, not waited for), so sweeps running at once on several workers take disjoint
    batches."""
    due_from = now - dt.timedelta(days=offset_days)
    already = ReminderSend.objects.filter(slot=OuterRef("pk"), attempt=attempt)
    candidates = list(
        ReassessmentSlot.objects.filter(
            completed_at__isnull=True,
            due_at__lte=due_from,
            due_at__gt=due_from - REMINDER_GRACE,
        )
        .filter(Q(patient__email__gt="") | Q(patient__phone__gt=""))
        .filter(~Exists(already), ~off_ai("patient_id"))
        .exclude(patient__schedule__paused=True)
        .select_related("patient")
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("due_at")[:BATCH]
    )
    ready = [slot for slot in candidates if not in_quiet_hours(slot.patient, now)]
    ReminderSend.objects.bulk_create(
        [
            ReminderSend(slot=s, attempt=attempt, channel=c, claim=claim, claimed_at=now)
            for s in ready
            for c in channels_of(s.patient, s.patient.reminder_channels)
        ],
        ignore_conflicts=True,
    )
    return len(candidates), len(ready)


def _reminder(row: ReminderSend, now: dt.datetime) -> tuple[Outgoing, QuestionnaireLink]:
    """What one reminder says: a new single-use link to her questionnaire (saved by the
    caller), from the clinic's neutral sender name (never its name, which may reveal a
    diagnosis)."""
    slot, patient = row.slot, row.slot.patient
    rules = rules_of(patient.clinic)
    link, token = link_new(slot=slot, valid_days=rules.link_valid_days, now=now)
    base = settings.AIMSS_BASE_URL.rstrip("/")
    outgoing = Outgoing(
        what="reminder",
        key=f"reminder-{slot.pk}-{row.attempt}",
        recipient=patient,
        context={
            "url": f"{base}{reverse('followup:questionnaire_link', args=[token])}",
            "clinic": sender_name_of(patient.clinic),
            "attempt": row.attempt,
            "valid_days": rules.link_valid_days,
        },
        from_email=sender_of(patient.clinic),
    )
    return outgoing, link


def _send_claimed(claim: uuid.UUID, now: dt.datetime) -> int:
    """Send the reminders this claim holds, each by its channel; returns how many went."""
    rows = list(
        ReminderSend.objects.filter(claim=claim, status=SendStatus.PENDING).select_related(
            "slot__patient__clinic"
        )
    )
    sent = _send_rows(rows, claim, now)
    if rows:
        logger.info("reminder claim %s: %s of %s sent", claim, sent, len(rows))
    return sent


def _send_rows(rows: list[ReminderSend], claim: uuid.UUID, now: dt.datetime) -> int:
    """Send claimed rows, renewing the claim's lease while the batch lasts.

    A text is recorded sent the moment the provider took it: no provider here dedupes a
    repeat, so a worker killed mid-batch must leave at most the text in hand unrecorded.
    E-mails are recorded in groups (a handful of queries per batch, not per patient): one sent
    again after a kill carries the same Message-ID, which mail systems discard.
    """
    if not rows:
        return 0
    prepared = [_reminder(row, now) for row in rows]
    QuestionnaireLink.objects.bulk_create([link for _outgoing, link in prepared])
    emailed: list[int] = []

    def flush(at: dt.datetime | None = None) -> None:
        if emailed:
            ReminderSend.objects.filter(pk__in=emailed, claim=claim).update(
                status=SendStatus.SENT, sent_at=at or timezone.now()
            )
            emailed.clear()

    def renew(at: dt.datetime) -> None:
        flush(at)
        ReminderSend.objects.filter(claim=claim, status=SendStatus.PENDING).update(claimed_at=at)

    lease = LeaseKeeper(renew)
    channels = {kind: cls() for kind, cls in CHANNELS.items()}
    sent, instead = 0, []
    try:
        for row, (outgoing, _link) in zip(rows, prepared, strict=True):
            lease.keep()
            outcome = deliver(channels[row.channel], outgoing)
            sent += outcome.sent
            if outcome.sent and row.channel == Channel.EMAIL:
                emailed.append(row.pk)
                continue
            mine = ReminderSend.objects.filter(pk=row.pk, claim=claim)
            record_outcome(mine, outcome, claimed_at=now)
            if outcome.status == SendStatus.FAILED and row.channel != Channel.EMAIL:
                instead += _email_instead(row, claim)
        flush()
    finally:
        for channel in channels.values():
            channel.close()
    return sent + _send_rows(instead, claim, now)


def _email_instead(row: ReminderSend, claim: uuid.UUID) -> list[ReminderSend]:
    """A text that can never go (an invalid number): the e-mail still goes, if she has one."""
    if not row.slot.patient.email:
        return []
    created = ReminderSend.objects.bulk_create(
        [
            ReminderSend(
                slot=row.slot,
                attempt=row.attempt,
                channel=Channel.EMAIL,
                claim=claim,
                claimed_at=timezone.now(),
            )
        ],
        ignore_conflicts=True,
    )
    fallback = ReminderSend.objects.filter(
        slot=row.slot,
        attempt=row.attempt,
        channel=Channel.EMAIL,
        claim=claim,
        status=SendStatus.PENDING,
    ).select_related("slot__patient__clinic")
    return list(fallback) if created else []


def reminders_send_due(
    *, now: dt.datetime | None = None, on_more: Callable[[], object] | None = None
) -> int:
    """Send every reminder attempt that fell due and was not sent; returns how many went.

    ``on_more`` is called once, before the first full batch is sent (more may be due): the
    sweep task asks another worker to join in. Sweeps running at once claim disjoint batches,
    so the time a large sweep takes divides by the number of workers."""
    now = now or timezone.now()
    sent = 0
    for attempt, offset_days in enumerate(REMINDER_DAYS):
        while True:
            claim = uuid.uuid4()
            with transaction.atomic():
                seen, claimed = _claim_batch(attempt, offset_days, now, claim)
            if on_more is not None and seen == BATCH:
                on_more()
                on_more = None
            sent += _send_claimed(claim, now)
            if seen < BATCH or claimed == 0:
                break
    sent += reminders_resend_lost(now=now)
    return sent


def reminders_resend_lost(*, now: dt.datetime | None = None) -> int:
    """Reminders whose claim lapsed (a worker that died mid-batch, or a send deferred by an
    outage): claim them anew and send."""
    now = now or timezone.now()
    stale = list(
        ReminderSend.objects.filter(
            status=SendStatus.PENDING, claimed_at__lt=now - claim_lease()
        ).values_list("pk", "claim")[:BATCH]
    )
    if not stale:
        return 0
    claim = uuid.uuid4()
    for pk, old_claim in stale:
        ReminderSend.objects.filter(pk=pk, claim=old_claim, status=SendStatus.PENDING).update(
            claim=claim, claimed_at=now
        )
    return _send_claimed(claim, now)


# --- overdue -----------------------------------------------------------------------------------


def overdue_flags_raise(*, today: dt.date | None = None) -> int:
    """Raise the overdue flag for reassessments still missing ``overdue_days`` after due."""
    today = today or timezone.localdate()
    raised = 0
    for clinic in Clinic.objects.all():
        late_before = today - dt.timedelta(days=rules_of(clinic).overdue_days)
        slots = ReassessmentSlot.objects.filter(
            Q(patient__clinic=clinic),
            completed_at__isnull=True,
            due_date__lte=late_before,
            due_date__gt=late_before - dt.timedelta(days=OVERDUE_LOOKBACK_DAYS),
        ).values_list("pk", "patient_id")
        for slot_id, patient_id in slots.iterator(chunk_size=BATCH):
            if not flag_applies(patient_id=patient_id, kind=FlagKind.OVERDUE):
                continue
            result = flag_raise(
                patient_id=patient_id,
                kind=FlagKind.OVERDUE,
                source=TriggerSource.SCHEDULE_SLOT,
                source_id=slot_id,
            )
            raised += result.attached
    return raised
