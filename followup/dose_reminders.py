"""Her daily dose reminder (turned on on her "remembering your tablet" page): sent once a day
at her chosen local time, by the channels she chose for reminders, never in her quiet hours.

Claim-then-send: a sweep (beat, every few minutes) claims a reminder for her local day with
one conditional UPDATE, so two sweeps never both send it, then sends and records the day. A
claim whose worker died is taken over after the claim lease, unless the day was sent. The
text names neither her drug nor her illness: "a reminder from your clinic", from the clinic's
neutral sender name.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Q
from django.utils import timezone

from adherence.models import DoseReminder
from adherence.selectors import off_ai
from patients.clock import local_date, zone_of
from patients.invitations import sender_name_of, sender_of
from patients.models import Patient

from .models import SendStatus
from .notify import CHANNELS, Outgoing, channels_of, claim_lease, deliver
from .schedules import in_quiet_hours

logger = logging.getLogger(__name__)

# A reminder the sweep could not send at her time (beat down, quiet hours) still goes within
# this long after it; later, that day's reminder is skipped (a dose reminder at midnight for a
# morning tablet would do more harm than good). The product's choice.
DOSE_REMINDER_GRACE = dt.timedelta(hours=3)
BATCH = 500


def _local_now(patient: Patient, now: dt.datetime) -> dt.datetime:
    return now.astimezone(zone_of(patient))


def is_due(reminder: DoseReminder, now: dt.datetime) -> bool:
    """Whether today's reminder (her local day) is due now: within the grace after her time,
    not sent today, outside her quiet hours."""
    local = _local_now(reminder.patient, now)
    at = dt.datetime.combine(local.date(), reminder.time, tzinfo=local.tzinfo)
    return (
        at <= local < at + DOSE_REMINDER_GRACE
        and reminder.sent_on != local.date()
        and not in_quiet_hours(reminder.patient, now)
    )


def dose_reminder_claim(*, reminder_id: int, day: dt.date, now: dt.datetime) -> bool:
    """Claim her reminder of ``day``: True for exactly one claimant (a lost claim, older
    than the lease and unsent, may be claimed again)."""
    lost = Q(claimed_for=day, claimed_at__lt=now - claim_lease()) & ~Q(sent_on=day)
    free = Q(claimed_for__isnull=True) | Q(claimed_for__lt=day) | Q(claimed_for__gt=day) | lost
    claimed = (
        DoseReminder.objects.filter(free, pk=reminder_id, enabled=True)
        .exclude(sent_on=day)
        .update(claimed_for=day, claimed_at=now)
    )
    return claimed == 1


def dose_reminder_send(*, reminder: DoseReminder, day: dt.date, now: dt.datetime) -> bool:
    """Send a claimed reminder by each of her channels; the day counts as sent when one went.
    When every channel deferred (an outage), the claim is given up for the next sweep."""
    patient = reminder.patient
    outgoing = Outgoing(
        what="dose_reminder",
        key=f"dose-reminder-{reminder.pk}-{day.isoformat()}",
        recipient=patient,
        context={"clinic": sender_name_of(patient.clinic)},
        from_email=sender_of(patient.clinic),
    )
    outcomes = []
    for kind in channels_of(patient, patient.reminder_channels):
        channel = CHANNELS[kind]()
        try:
            outcomes.append(deliver(channel, outgoing))
        finally:
            channel.close()
    if any(outcome.sent for outcome in outcomes):
        DoseReminder.objects.filter(pk=reminder.pk, claimed_for=day).update(sent_on=day)
        return True
    if any(outcome.status == SendStatus.PENDING for outcome in outcomes):
        DoseReminder.objects.filter(pk=reminder.pk, claimed_for=day).update(
            claimed_at=now - claim_lease()
        )
    else:
        # Nowhere to send (no address, refused): the day is over for this reminder.
        DoseReminder.objects.filter(pk=reminder.pk, claimed_for=day).update(sent_on=day)
    return False


def dose_reminders_send_due(*, now: dt.datetime | None = None) -> int:
    """Send every daily reminder due now; returns how many went."""
    now = now or timezone.now()
    # Her day and time are in her own time zone, so the due test is in Python (a few hundred
    # reminders turned on per clinic, read by primary key in batches).
    candidates = (
        DoseReminder.objects.filter(enabled=True)
        .filter(~off_ai("patient_id"))
        .filter(Q(patient__email__gt="") | Q(patient__phone__gt=""))
        .select_related("patient__clinic")
        .order_by("pk")
    )
    sent = 0
    last_id = 0
    while True:
        batch = list(candidates.filter(pk__gt=last_id)[:BATCH])
        if not batch:
            break
        last_id = batch[-1].pk
        for reminder in batch:
            if not is_due(reminder, now):
                continue
            day = local_date(now, reminder.patient)
            if dose_reminder_claim(reminder_id=reminder.pk, day=day, now=now):
                sent += dose_reminder_send(reminder=reminder, day=day, now=now)
    if sent:
        logger.info("dose reminders: %s sent", sent)
    return sent
