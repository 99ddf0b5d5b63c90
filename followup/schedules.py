"""Reassessment schedules, reminder e-mails with single-use links, and the overdue rule.

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
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from adherence.models import CARE_STOP_KINDS, TreatmentEvent
from adherence.selectors import off_ai
from assessments.models import Response
from patients.invitations import sender_name_of, sender_of
from patients.models import Clinic, Patient
from patients.rules import ClinicRules, rules_of

from .models import (
    FlagKind,
    PatientSchedule,
    QuestionnaireLink,
    ReassessmentSlot,
    ReminderSend,
    TriggerSource,
)
from .services import claim_lease, flag_applies, flag_raise, message_id

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
    for patient_id, months in ReassessmentSlot.objects.filter(patient__in=patient_list).values_list(
        "patient_id", "months_after_diagnosis"
    ):
        existing.setdefault(patient_id, set()).add(months)
    new_slots = []
    for patient in patient_list:
        override: PatientSchedule | None = getattr(patient, "schedule", None)
        if (override is not None and override.paused) or patient.pk in stopped:
            continue
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
    """Claim up to BATCH slots whose reminder ``attempt`` fell due and is unsent; returns
    (candidates seen, claimed). Slots in the patient's quiet hours wait for a later sweep."""
    due_from = now - dt.timedelta(days=offset_days)
    already = ReminderSend.objects.filter(slot=OuterRef("pk"), attempt=attempt)
    candidates = list(
        ReassessmentSlot.objects.filter(
            completed_at__isnull=True,
            due_at__lte=due_from,
            due_at__gt=due_from - REMINDER_GRACE,
            patient__email__gt="",
        )
        .filter(~Exists(already), ~off_ai("patient_id"))
        .exclude(patient__schedule__paused=True)
        .select_related("patient")
        .order_by("due_at")[:BATCH]
    )
    ready = [slot for slot in candidates if not in_quiet_hours(slot.patient, now)]
    ReminderSend.objects.bulk_create(
        [ReminderSend(slot=s, attempt=attempt, claim=claim, claimed_at=now) for s in ready],
        ignore_conflicts=True,
    )
    return len(candidates), len(ready)


def _send_claimed(claim: uuid.UUID, now: dt.datetime) -> int:
    """Send the reminders this sweep claimed; mark them sent."""
    claimed = list(
        ReminderSend.objects.filter(claim=claim, sent_at__isnull=True).select_related(
            "slot__patient__clinic"
        )
    )
    if not claimed:
        return 0
    base = settings.AIMSS_BASE_URL.rstrip("/")
    messages, links = [], []
    for reminder in claimed:
        slot, patient = reminder.slot, reminder.slot.patient
        rules = rules_of(patient.clinic)
        link, token = link_new(slot=slot, valid_days=rules.link_valid_days, now=now)
        links.append(link)
        context = {
            "url": f"{base}{reverse('followup:questionnaire_link', args=[token])}",
            # the neutral name the clinic configured, never its (diagnosis-revealing) name
            "clinic": sender_name_of(patient.clinic),
            "attempt": reminder.attempt,
            "valid_days": rules.link_valid_days,
        }
        with translation.override(patient.preferred_language):
            subject = render_to_string("followup/email/reminder_subject.txt", context).strip()
            message = EmailMultiAlternatives(
                subject,
                render_to_string("followup/email/reminder.txt", context),
                from_email=sender_of(patient.clinic),
                to=[patient.email],
                headers={"Message-ID": message_id("reminder", slot.pk, reminder.attempt)},
            )
            message.attach_alternative(
                render_to_string("followup/email/reminder.html", context), "text/html"
            )
        messages.append(message)
    QuestionnaireLink.objects.bulk_create(links)
    sent = get_connection().send_messages(messages) or 0
    ReminderSend.objects.filter(claim=claim, sent_at__isnull=True).update(sent_at=timezone.now())
    logger.info("reminder sweep %s sent %s e-mails", claim, sent)
    return len(claimed)


def reminders_send_due(*, now: dt.datetime | None = None) -> int:
    """Send every reminder attempt that fell due and was not sent; returns how many."""
    now = now or timezone.now()
    sent = 0
    for attempt, offset_days in enumerate(REMINDER_DAYS):
        while True:
            claim = uuid.uuid4()
            with transaction.atomic():
                seen, claimed = _claim_batch(attempt, offset_days, now, claim)
            sent += _send_claimed(claim, now)
            if seen < BATCH or claimed == 0:
                break
    sent += _resend_lost(now)
    return sent


def _resend_lost(now: dt.datetime) -> int:
    """Reminders claimed by a sweep that died before sending them: claim anew and send."""
    stale = list(
        ReminderSend.objects.filter(
            sent_at__isnull=True, claimed_at__lt=now - claim_lease()
        ).values_list("pk", "claim")[:BATCH]
    )
    if not stale:
        return 0
    claim = uuid.uuid4()
    for pk, old_claim in stale:
        ReminderSend.objects.filter(pk=pk, claim=old_claim, sent_at__isnull=True).update(
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
