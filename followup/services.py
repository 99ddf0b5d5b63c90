"""Writes for flags: raise (idempotent), claim (one winner), act, resolve, reopen, escalate,
and the claim-then-send of notification e-mails.

Concurrency follows healthchecks: a conditional ``UPDATE ... WHERE`` decides who wins, and the
row count says whether we did. Raising a flag locks the patient's row so that two workers
evaluating the same event serialise, and the unique trigger makes the second a no-op.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from adherence.models import EventKind, TreatmentEvent
from adherence.selectors import care_stop_of, off_ai
from aimss_tracker.dispatch import send_on_commit
from patients.models import Clinic, Patient, Role, User
from patients.rules import rules_of
from patients.services import clinic_update, patient_death_record

from .models import (
    CARE_ACTIONS,
    KIND_PRIORITY,
    ActionKind,
    Channel,
    Flag,
    FlagAction,
    FlagKind,
    FlagNotification,
    FlagStatus,
    FlagTrigger,
    NotificationReason,
    Priority,
    ReassessmentSlot,
    SendStatus,
    SystemReason,
)
from .notify import CHANNELS, Outgoing, channels_of, claim_lease, deliver, record_outcome
from .selectors import awake, badge_changed, queue_changed

logger = logging.getLogger(__name__)

ESCALATION_BATCH = 500
# Flags about taking the AI and answering its reassessments: they apply only while she is on
# AI, so they are never raised after, and are closed at, a discontinuation, recurrence or death.
ON_AI_KINDS = (FlagKind.ADHERENCE_LAPSE, FlagKind.OVERDUE)
CARE_STOP_REASONS = {
    EventKind.DISCONTINUATION: SystemReason.DISCONTINUATION,
    EventKind.RECURRENCE: SystemReason.RECURRENCE,
    EventKind.DEATH: SystemReason.DEATH,
}


class FlagConflict(Exception):
    """The flag is not in the state the action needs (someone else got there first)."""


@dataclass(frozen=True)
class RaiseResult:
    flag: Flag
    opened: bool  # a new flag was opened
    attached: bool  # the trigger was new (False: this event had already been evaluated)


@transaction.atomic
def flag_raise(
    *,
    patient_id: int,
    kind: str,
    source: str,
    source_id: int,
    value: Decimal | float | None = None,
    at: dt.datetime | None = None,
    reason: str = "",
    intentional: bool = False,
) -> RaiseResult:
    """Open a flag of ``kind`` for the patient, or attach this trigger to her open one.

    Idempotent: the same source event raises a kind at most once, ever (running the
    evaluation twice, or on two workers at once, yields one flag and one trigger). The rules
    ask :func:`flag_applies` first.
    """
    kind = FlagKind(kind)
    patient = Patient.objects.select_for_update().only("pk", "clinic_id").get(pk=patient_id)
    existing = (
        FlagTrigger.objects.filter(kind=kind, source=source, source_id=source_id)
        .select_related("flag")
        .first()
    )
    if existing is not None:
        return RaiseResult(flag=existing.flag, opened=False, attached=False)
    now = at or timezone.now()
    flag = (
        Flag.objects.filter(patient_id=patient_id, kind=kind)
        .exclude(status=FlagStatus.RESOLVED)
        .first()
    )
    opened = flag is None
    if flag is None:
        flag = Flag.objects.create(
            patient_id=patient_id,
            clinic_id=patient.clinic_id,
            kind=kind,
            priority=KIND_PRIORITY[kind],
            opened_at=now,
            last_triggered_at=now,
            intentional=intentional,
        )
    else:
        # A new trigger of the same kind wakes a snoozed flag at once: the snooze was a
        # judgement on the old values, not on these.
        woken = flag.snoozed_until is not None and flag.snoozed_until > timezone.localdate(now)
        Flag.objects.filter(pk=flag.pk).update(
            last_triggered_at=now,
            trigger_count=F("trigger_count") + 1,
            snoozed_until=None,
            snooze_reason="",
            # Once she has said she chose to miss doses, the flag stays marked until resolved.
            **({"intentional": True} if intentional else {}),
        )
        flag.refresh_from_db()
        if woken:
            FlagAction.objects.create(
                flag=flag, action=ActionKind.WOKEN, system_reason=SystemReason.WOKEN
            )
            transaction.on_commit(queue_changed)
    FlagTrigger.objects.create(
        flag=flag,
        kind=kind,
        source=source,
        source_id=source_id,
        value=None if value is None else Decimal(str(value)).quantize(Decimal("0.01")),
        reason=reason,
        triggered_at=now,
    )
    logger.info("flag %s %s (kind %s)", flag.pk, "opened" if opened else "re-triggered", kind)
    if opened:
        transaction.on_commit(queue_changed)
    if opened and flag.priority == Priority.HIGH:
        notifications_create(flag=flag, reason=NotificationReason.OPENED)
    return RaiseResult(flag=flag, opened=opened, attached=True)


def flag_applies(*, patient_id: int, kind: str) -> bool:
    """No adherence-lapse or overdue flag for a patient who is off AI (ON_AI_KINDS)."""
    return kind not in ON_AI_KINDS or care_stop_of(patient_id) is None


def _recipients(flag: Flag, reason: str) -> list[User]:
    """Her clinic's nurses (or clinicians) who see its patients identified: a membership
    marked de-identified gets no flag about anyone."""
    role = Role.NURSE if reason == NotificationReason.OPENED else Role.CLINICIAN
    return list(
        User.objects.filter(
            role=role,
            is_active=True,
            memberships__clinic_id=flag.patient.clinic_id,
            memberships__deidentified=False,
        ).distinct()
    )


def notifications_create(*, flag: Flag, reason: str) -> list[FlagNotification]:
    """One notification per recipient and channel she chose for this flag and reason; sent
    after commit."""
    FlagNotification.objects.bulk_create(
        [
            FlagNotification(flag=flag, recipient=user, reason=reason, channel=channel)
            for user in _recipients(flag, reason)
            for channel in channels_of(user, user.flag_alert_channels)
        ],
        ignore_conflicts=True,
    )
    created = list(
        FlagNotification.objects.filter(flag=flag, reason=reason, status=SendStatus.PENDING)
    )
    if created:  # one task sends the flag's messages, however many recipients
        send_on_commit("followup.tasks.send_flag_notifications_task", flag.pk)
    return created


def _unclaimed_or_lapsed(now: dt.datetime) -> Q:
    return Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - claim_lease())


def notification_send(*, notification_id: int) -> bool:
    """Claim the notification, send it by its channel, record how it went. False if it was
    not ours to send or did not go.

    The message names no patient and no score: only that a flag waits in the queue. A text
    that can never go (an invalid number) is recorded failed and an e-mail goes instead.
    """
    now = timezone.now()
    claimed = (
        FlagNotification.objects.filter(pk=notification_id, status=SendStatus.PENDING)
        .filter(_unclaimed_or_lapsed(now))
        .update(claimed_at=now)
    )
    if claimed != 1:
        return False
    notification = FlagNotification.objects.select_related(
        "recipient", "flag__patient__clinic"
    ).get(pk=notification_id)
    base = settings.AIMSS_BASE_URL.rstrip("/")
    outgoing = Outgoing(
        what="flag",
        key=f"flag-{notification.flag_id}-{notification.recipient_id}-{notification.reason}",
        recipient=notification.recipient,
        context={
            "recipient": notification.recipient,
            "clinic": notification.flag.patient.clinic.name,
            "reason": notification.reason,
            "url": f"{base}{reverse('followup:flag', args=[notification.flag_id])}",
            "queue_url": f"{base}{reverse('followup:queue')}",
        },
    )
    channel = CHANNELS[notification.channel]()
    try:
        outcome = deliver(channel, outgoing)
    finally:
        channel.close()
    # Only the claim we made may finish the row (a sweep may have taken a lapsed one over).
    mine = FlagNotification.objects.filter(pk=notification_id, claimed_at=now)
    record_outcome(mine, outcome, claimed_at=now)
    logger.info(
        "notification %s for flag %s: %s", notification_id, notification.flag_id, outcome.status
    )
    if outcome.status == SendStatus.FAILED and notification.channel != Channel.EMAIL:
        _fall_back_to_email(notification)
    return outcome.sent


def _fall_back_to_email(notification: FlagNotification) -> None:
    if not notification.recipient.email:
        return
    fallback, created = FlagNotification.objects.get_or_create(
        flag_id=notification.flag_id,
        recipient_id=notification.recipient_id,
        reason=notification.reason,
        channel=Channel.EMAIL,
    )
    if created:
        notification_send(notification_id=fallback.pk)


def flag_notifications_send(*, flag_id: int) -> int:
    """Send every pending notification of one flag (each claimed on its own); returns how many
    went."""
    ids = FlagNotification.objects.filter(flag_id=flag_id, status=SendStatus.PENDING).values_list(
        "pk", flat=True
    )
    return sum(notification_send(notification_id=pk) for pk in list(ids))


def notifications_pending(*, now: dt.datetime | None = None) -> list[int]:
    """Ids of notifications never sent, deferred, or claimed by a worker that died."""
    now = now or timezone.now()
    return list(
        FlagNotification.objects.filter(status=SendStatus.PENDING)
        .filter(_unclaimed_or_lapsed(now))
        .values_list("pk", flat=True)[:1000]
    )


def flags_escalate_due(*, now: dt.datetime | None = None) -> list[int]:
    """Escalate open high-priority flags nobody claimed within the clinic's time."""
    now = now or timezone.now()
    escalated: list[int] = []
    for clinic in Clinic.objects.all():
        rules = rules_of(clinic)
        due = (
            Flag.objects.filter(
                status=FlagStatus.OPEN,
                priority=Priority.HIGH,
                escalated_at__isnull=True,
                patient__clinic_id=clinic.pk,
                opened_at__lte=now - dt.timedelta(hours=rules.escalation_hours),
            )
            .filter(awake(timezone.localdate(now)))  # a nurse decided a snoozed flag can wait
            .values_list("pk", flat=True)[:ESCALATION_BATCH]
        )
        for flag_id in due:
            with transaction.atomic():
                won = Flag.objects.filter(
                    pk=flag_id, status=FlagStatus.OPEN, escalated_at__isnull=True
                ).update(escalated_at=now)
                if won:
                    flag = Flag.objects.select_related("patient").get(pk=flag_id)
                    notifications_create(flag=flag, reason=NotificationReason.ESCALATED)
                    escalated.append(flag_id)
    return escalated


def _conflict_message(flag: Flag, user: User) -> str:
    if flag.status == FlagStatus.RESOLVED:
        return _("This flag was already resolved.")
    if flag.claimed_by_id and flag.claimed_by_id != user.pk:
        who = flag.claimed_by.get_full_name() or flag.claimed_by.get_username()  # type: ignore[union-attr]
        return _("%(who)s is already working on this flag.") % {"who": who}
    return _("This flag changed meanwhile; reload the queue.")


def flag_claim(*, flag_id: int, user: User) -> Flag:
    """Claim an open flag. Of two nurses claiming at once, one wins; the other is told who."""
    won = Flag.objects.filter(pk=flag_id, status=FlagStatus.OPEN).update(
        status=FlagStatus.CLAIMED, claimed_by=user, claimed_at=timezone.now()
    )
    flag = Flag.objects.select_related("claimed_by").get(pk=flag_id)
    if not won and not (flag.status == FlagStatus.CLAIMED and flag.claimed_by_id == user.pk):
        raise FlagConflict(_conflict_message(flag, user))
    if won:
        transaction.on_commit(badge_changed)
    return flag


@transaction.atomic
def flag_record_action(*, flag_id: int, user: User, action: str, note: str = "") -> FlagAction:
    """Record what was done; an open flag is claimed by whoever acts on it first."""
    if action not in CARE_ACTIONS:
        raise ValidationError({"action": _("Choose one of the listed actions.")})
    flag = Flag.objects.select_for_update().get(pk=flag_id)
    if flag.status == FlagStatus.RESOLVED or (
        flag.status == FlagStatus.CLAIMED and flag.claimed_by_id != user.pk
    ):
        raise FlagConflict(_conflict_message(flag, user))
    now = timezone.now()
    if flag.status == FlagStatus.OPEN:
        flag.status, flag.claimed_by, flag.claimed_at = FlagStatus.CLAIMED, user, now
        transaction.on_commit(badge_changed)
    if flag.first_action_at is None:
        flag.first_action_at, flag.first_action_by = now, user
        transaction.on_commit(queue_changed)
    flag.save()
    recorded = FlagAction(flag=flag, actor=user, action=action, note=note.strip())
    recorded.full_clean()
    recorded.save()
    return recorded


@transaction.atomic
def flag_resolve(*, flag_id: int, user: User, note: str = "") -> Flag:
    flag = Flag.objects.select_for_update().get(pk=flag_id)
    if flag.status == FlagStatus.RESOLVED or (
        flag.status == FlagStatus.CLAIMED and flag.claimed_by_id != user.pk
    ):
        raise FlagConflict(_conflict_message(flag, user))
    now = timezone.now()
    flag.status, flag.resolved_at, flag.resolved_by = FlagStatus.RESOLVED, now, user
    if flag.claimed_by_id is None:
        flag.claimed_by, flag.claimed_at = user, now
    if flag.first_action_at is None:
        flag.first_action_at, flag.first_action_by = now, user
    flag.save()
    transaction.on_commit(queue_changed)
    FlagAction.objects.create(flag=flag, actor=user, action=ActionKind.RESOLVED, note=note.strip())
    return flag


@transaction.atomic
def flag_reopen(*, flag_id: int, user: User, note: str = "") -> Flag:
    flag = Flag.objects.select_for_update().get(pk=flag_id)
    if flag.status != FlagStatus.RESOLVED:
        raise FlagConflict(_("Only a resolved flag can be reopened."))
    newer = (
        Flag.objects.filter(patient_id=flag.patient_id, kind=flag.kind)
        .exclude(status=FlagStatus.RESOLVED)
        .exists()
    )
    if newer:
        raise FlagConflict(_("A newer flag of this kind is already open for this patient."))
    flag.status = FlagStatus.OPEN
    flag.claimed_by = flag.claimed_at = flag.resolved_at = flag.resolved_by = None
    flag.save()
    transaction.on_commit(queue_changed)
    FlagAction.objects.create(flag=flag, actor=user, action=ActionKind.REOPENED, note=note.strip())
    return flag


@transaction.atomic
def flags_resolve_by_system(*, flags: QuerySet[Flag], reason: str) -> int:
    """Close these unresolved flags with a system reason that says why; returns how many."""
    now = timezone.now()
    closed = 0
    for flag in flags.exclude(status=FlagStatus.RESOLVED).select_for_update():
        flag.status, flag.resolved_at = FlagStatus.RESOLVED, now
        flag.save(update_fields=["status", "resolved_at"])
        FlagAction.objects.create(flag=flag, action=ActionKind.RESOLVED, system_reason=reason)
        closed += 1
    if closed:
        transaction.on_commit(queue_changed)
    return closed


@transaction.atomic
def care_stop_apply(*, patient_id: int) -> int:
    """After a discontinuation, recurrence or death: no more reassessments or reminders (her
    open slots go, with their links), and her open adherence-lapse and overdue flags close
    with the reason. Idempotent; returns how many flags it closed."""
    stop = care_stop_of(patient_id)
    if stop is None:
        return 0
    death = TreatmentEvent.objects.filter(patient_id=patient_id, kind=EventKind.DEATH).first()
    if death is not None:  # an imported death, too
        patient_death_record(patient_id=patient_id, died_on=death.start_date)
    ReassessmentSlot.objects.filter(patient_id=patient_id, completed_at__isnull=True).delete()
    return flags_resolve_by_system(
        flags=Flag.objects.filter(patient_id=patient_id, kind__in=ON_AI_KINDS),
        reason=CARE_STOP_REASONS[EventKind(stop.kind)],
    )


def care_stops_sweep() -> int:
    """Apply the stop to every patient off AI who still has open slots or such flags, or who
    died with her record not saying so (an imported event, or a task lost to a broker
    outage); returns how many flags it closed."""
    open_slots = ReassessmentSlot.objects.filter(completed_at__isnull=True).values("patient_id")
    open_flags = (
        Flag.objects.filter(kind__in=ON_AI_KINDS)
        .exclude(status=FlagStatus.RESOLVED)
        .values("patient_id")
    )
    deaths = TreatmentEvent.objects.filter(kind=EventKind.DEATH).values("patient_id")
    not_yet_dead = Q(pk__in=deaths) & (Q(died_on__isnull=True) | Q(user__is_active=True))
    patient_ids = (
        Patient.objects.filter(Q(pk__in=open_slots) | Q(pk__in=open_flags) | not_yet_dead)
        .filter(off_ai())
        .values_list("pk", flat=True)
    )
    return sum(care_stop_apply(patient_id=pk) for pk in patient_ids)


def flags_follow_clinics(*, patient_id: int | None = None) -> int:
    """Move flags, open and resolved, to their patient's current clinic (a transfer).

    ``patient_update`` calls it for her in the move's transaction; the sweep calls it for
    everyone, for moves made behind the service's back (a bulk update, a database console)."""
    flags = Flag.objects.all()
    if patient_id is not None:
        flags = flags.filter(patient_id=patient_id)
    current = Patient.objects.filter(pk=OuterRef("patient_id")).values("clinic_id")[:1]
    moved = flags.exclude(clinic_id=Subquery(current)).update(clinic_id=Subquery(current))
    if moved:
        transaction.on_commit(queue_changed)
    return moved


# A snooze is a short deferral between contacts, not a way to close a flag: at most this long.
SNOOZE_MAX_DAYS = 90
SNOOZE_REASON_MAX_CHARS = 200


def _actionable(flag: Flag, user: User) -> None:
    """Raise the conflict unless ``user`` may act on the flag: unresolved, and open or hers."""
    if flag.status == FlagStatus.RESOLVED or (
        flag.status == FlagStatus.CLAIMED and flag.claimed_by_id != user.pk
    ):
        raise FlagConflict(_conflict_message(flag, user))


@transaction.atomic
def flag_snooze(*, flag_id: int, user: User, until: dt.date, reason: str) -> Flag:
    """Take the flag out of the queue until ``until`` (a future date, at most
    ``SNOOZE_MAX_DAYS`` away), with a reason. It comes back by itself on that date (the queue
    asks the date; no task), or at once if the flag is raised again (``flag_raise``)."""
    today = timezone.localdate()
    reason = reason.strip()
    errors = {}
    if until <= today:
        errors["until"] = _("Choose a date after today.")
    elif until > today + dt.timedelta(days=SNOOZE_MAX_DAYS):
        errors["until"] = _("A flag can be snoozed for at most %(days)s days.") % {
            "days": SNOOZE_MAX_DAYS
        }
    if not reason:
        errors["reason"] = _("Say why the flag can wait.")
    elif len(reason) > SNOOZE_REASON_MAX_CHARS:
        errors["reason"] = _("Keep the reason under %(n)s characters.") % {
            "n": SNOOZE_REASON_MAX_CHARS
        }
    if errors:
        raise ValidationError(errors)
    flag = Flag.objects.select_for_update().get(pk=flag_id)
    _actionable(flag, user)
    flag.snoozed_until, flag.snooze_reason = until, reason
    flag.save(update_fields=["snoozed_until", "snooze_reason"])
    FlagAction.objects.create(
        flag=flag,
        actor=user,
        action=ActionKind.SNOOZED,
        note=_("Until %(date)s: %(reason)s") % {"date": until.isoformat(), "reason": reason},
    )
    transaction.on_commit(queue_changed)
    return flag


def colleague_of(*, clinic_id: int, user_id: int) -> User | None:
    """An active nurse or clinician who sees the clinic's patients identified, or None."""
    return (
        User.objects.filter(
            pk=user_id,
            is_active=True,
            role__in=[Role.NURSE, Role.CLINICIAN],
            memberships__clinic_id=clinic_id,
            memberships__deidentified=False,
        )
        .distinct()
        .first()
    )


@transaction.atomic
def flag_reassign(*, flag_id: int, user: User, to: int) -> Flag:
    """Hand an unresolved flag to a colleague of its clinic: it becomes claimed by her.
    Anyone of the clinic may hand a flag on (a nurse going off shift, a lead sharing work)."""
    flag = Flag.objects.select_for_update().get(pk=flag_id)
    colleague = colleague_of(clinic_id=flag.clinic_id, user_id=to)
    if colleague is None:
        raise ValidationError({"to": _("Choose a nurse or clinician of this flag's clinic.")})
    if flag.status == FlagStatus.RESOLVED:
        raise FlagConflict(_("This flag was already resolved."))
    flag.status, flag.claimed_by, flag.claimed_at = FlagStatus.CLAIMED, colleague, timezone.now()
    flag.save(update_fields=["status", "claimed_by", "claimed_at"])
    transaction.on_commit(badge_changed)
    FlagAction.objects.create(
        flag=flag,
        actor=user,
        action=ActionKind.REASSIGNED,
        note=_("To %(who)s") % {"who": colleague.get_full_name() or colleague.username},
    )
    return flag


@transaction.atomic
def flags_resolve_overdue(*, patient_id: int, user: User, note: str = "") -> int:
    """Resolve every overdue flag of the patient that ``user`` may act on (open, or claimed
    by her); returns how many."""
    flags = (
        Flag.objects.select_for_update()
        .filter(patient_id=patient_id, kind=FlagKind.OVERDUE)
        .exclude(status=FlagStatus.RESOLVED)
        .filter(Q(status=FlagStatus.OPEN) | Q(claimed_by=user))
    )
    resolved = 0
    for flag in flags:
        flag_resolve(flag_id=flag.pk, user=user, note=note)
        resolved += 1
    return resolved


# The rules the burden page edits beside their burden (all of them also on the clinic's
# settings page; both save through ``patients.services.clinic_update``).
BURDEN_RULE_FIELDS = (
    "high_interference_from",
    "worsening_points",
    "adherence_min_days",
    "overdue_days",
    "target_hours",
    "note_templates",
)


@transaction.atomic
def flag_rules_update(*, clinic_id: int, user: User, **values: object) -> Clinic:
    """Change a clinic's flag thresholds, target time and note templates (administrators;
    the view checks the role). Validated as a whole; nothing is saved if one value is wrong.
    New thresholds apply to what is evaluated from now on, never to flags already raised."""
    unknown = set(values) - set(BURDEN_RULE_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown rule: %(names)s") % {"names": ", ".join(sorted(unknown))})
    clinic = clinic_update(clinic=Clinic.objects.select_for_update().get(pk=clinic_id), **values)
    logger.info("flag rules of clinic %s changed by user %s", clinic.pk, user.pk)
    return clinic
