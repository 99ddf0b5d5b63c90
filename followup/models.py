"""Flags raised by the flag rules, the actions nurses take on them, and the
notifications they cause.

Invariants live in the database: at most one unresolved flag of a kind per patient (a new
trigger attaches to it; alert fatigue was the main cost of ePRO alerting in PRO-TECT), one
trigger per source event and kind (evaluating the same response twice changes nothing), and
one notification per flag, recipient and reason.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils.translation import gettext_lazy as _

from adherence.models import MissedReason
from aimss_tracker.audit import audited
from patients import models as patient_models
from patients.models import Clinic, Patient


class FlagKind(models.TextChoices):
    HIGH_INTERFERENCE = "high_interference", _("High pain interference")
    WORSENING = "worsening", _("Worsening")
    ADHERENCE_LAPSE = "adherence_lapse", _("Adherence lapse")
    OVERDUE = "overdue", _("Overdue reassessment")
    # No response at a trial's time point after an intervention (followup.checks).
    REVIEW_MANAGEMENT = "review_management", _("Review management")


class FlagStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLAIMED = "claimed", _("Claimed")
    RESOLVED = "resolved", _("Resolved")


class Priority(models.IntegerChoices):
    HIGH = 1, _("High")
    NORMAL = 2, _("Normal")


# High interference and a lapse threaten the AI itself: they notify nurses and escalate.
KIND_PRIORITY = {
    FlagKind.HIGH_INTERFERENCE: Priority.HIGH,
    FlagKind.ADHERENCE_LAPSE: Priority.HIGH,
    FlagKind.WORSENING: Priority.NORMAL,
    FlagKind.OVERDUE: Priority.NORMAL,
    FlagKind.REVIEW_MANAGEMENT: Priority.NORMAL,
}


# Clinical urgency of a kind in the queue, most urgent first: interference that stops her living
# her life and a new worsening come before a lapse in taking the AI, which comes before a missed
# questionnaire (which says nothing yet about her pain).
URGENCY = {
    FlagKind.HIGH_INTERFERENCE: 0,
    FlagKind.WORSENING: 0,
    FlagKind.ADHERENCE_LAPSE: 2,
    # Management that did not help is a decision for the next visit, not an alarm.
    FlagKind.REVIEW_MANAGEMENT: 2,
    FlagKind.OVERDUE: 3,
}
# A lapse she chose (side effects, decided to stop or take less) comes before one she did not:
# intentional non-adherence is the one a nurse's call can change.
INTENTIONAL_LAPSE_URGENCY = 1


def urgency_of(kind: str, intentional: bool = False) -> int:
    """A flag's urgency level in Python (the same as :func:`urgency`)."""
    if kind == FlagKind.ADHERENCE_LAPSE and intentional:
        return INTENTIONAL_LAPSE_URGENCY
    return URGENCY[FlagKind(kind)]


def urgency() -> Case:
    """A flag's urgency level in SQL: the queue orders by it, from its own index."""
    return Case(
        # (keywords in the order the migration writer sorts them, or it sees a changed index)
        When(
            intentional=True, kind=FlagKind.ADHERENCE_LAPSE, then=Value(INTENTIONAL_LAPSE_URGENCY)
        ),
        *(When(kind=kind, then=Value(level)) for kind, level in URGENCY.items()),
        output_field=models.IntegerField(),
    )


class TriggerSource(models.TextChoices):
    RESPONSE = "response", _("BPI-SF response")
    CHECK_IN = "check_in", _("Adherence check-in")
    TREATMENT_EVENT = "treatment_event", _("Recorded interruption")
    SCHEDULE_SLOT = "schedule_slot", _("Missed reassessment")
    RESPONSE_CHECK = "response_check", _("Response check at a trial's time point")


class ActionKind(models.TextChoices):
    CALLED_PATIENT = "called_patient", _("Called patient")
    ADVICE_GIVEN = "advice_given", _("Advice given")
    REFERRED = "referred", _("Referred")
    ESCALATED_TO_CLINICIAN = "escalated_to_clinician", _("Escalated to clinician")
    MANAGEMENT_CHANGED = "management_changed", _("Management changed")
    NO_ACTION_NEEDED = "no_action_needed", _("No action needed")
    RESOLVED = "resolved", _("Resolved")
    REOPENED = "reopened", _("Reopened")
    SNOOZED = "snoozed", _("Snoozed")
    REASSIGNED = "reassigned", _("Reassigned")
    WOKEN = "woken", _("Woken")


class SystemReason(models.TextChoices):
    """Why the system, not a nurse, closed a flag."""

    DISCONTINUATION = (
        "discontinuation",
        _("Resolved by the system: the AI was permanently discontinued."),
    )
    RECURRENCE = "recurrence", _("Resolved by the system: a recurrence was confirmed.")
    DEATH = "death", _("Resolved by the system: the patient died.")
    ANSWERED = "answered", _("Resolved by the system: she answered the reassessment.")
    WOKEN = "woken", _("Snooze ended by the system: the flag was raised again.")


# The actions a nurse chooses from; "resolved", "reopened", "snoozed" and "reassigned" are
# recorded by those services.
CARE_ACTIONS = [
    ActionKind.CALLED_PATIENT,
    ActionKind.ADVICE_GIVEN,
    ActionKind.REFERRED,
    ActionKind.ESCALATED_TO_CLINICIAN,
    ActionKind.MANAGEMENT_CHANGED,
    ActionKind.NO_ACTION_NEEDED,
]


@audited()
class Flag(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="flags")
    # Her clinic, copied so the queue of a clinic is one index range (fast whatever the number of
    # open flags); kept in step by ``patient_update`` when a patient changes clinic.
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=24, choices=FlagKind.choices)
    status = models.CharField(max_length=12, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    opened_at = models.DateTimeField()
    last_triggered_at = models.DateTimeField()
    trigger_count = models.PositiveIntegerField(default=1)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claimed_flags",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    first_action_at = models.DateTimeField(null=True, blank=True)
    first_action_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Out of the queue (and of ``?status=open``) before this date; back by itself on it (a
    # query, no task), or at once when the flag is raised again.
    snoozed_until = models.DateField(null=True, blank=True)
    snooze_reason = models.CharField(max_length=200, blank=True)
    # An adherence lapse she chose (a trigger's reason was intentional); kept until resolved.
    intentional = models.BooleanField(default=False)

    class Meta:
        ordering = ["priority", "opened_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind"],
                condition=~Q(status=FlagStatus.RESOLVED),
                name="one_unresolved_flag_per_kind",
            ),
            models.CheckConstraint(condition=Q(kind__in=FlagKind.values), name="flag_kind_known"),
            models.CheckConstraint(
                condition=~Q(status=FlagStatus.CLAIMED) | Q(claimed_by__isnull=False),
                name="claimed_flag_has_claimant",
            ),
            models.CheckConstraint(
                condition=~Q(status=FlagStatus.RESOLVED) | Q(resolved_at__isnull=False),
                name="resolved_flag_has_time",
            ),
        ]
        indexes = [
            # The queue: unresolved flags, priority then age.
            models.Index(
                fields=["clinic", "priority", "opened_at"],
                condition=~Q(status=FlagStatus.RESOLVED),
                name="flag_queue_idx",
            ),
            # Counts per kind of a clinic's queue, from the index alone.
            models.Index(
                fields=["clinic", "kind"],
                condition=~Q(status=FlagStatus.RESOLVED),
                name="flag_queue_kind_idx",
            ),
            # The queue by urgency: a clinic's unresolved flags, most urgent level first, newest
            # trigger first; the first appearance of each patient is her place in the queue.
            models.Index(
                F("clinic"),
                urgency(),
                F("last_triggered_at").desc(),
                F("id"),
                condition=~Q(status=FlagStatus.RESOLVED),
                name="flag_triage_idx",
            ),
            # The queue by waiting time: the oldest flag first.
            models.Index(
                fields=["clinic", "opened_at", "id"],
                condition=~Q(status=FlagStatus.RESOLVED),
                name="flag_waiting_idx",
            ),
            # The badge on every staff page: a clinic's unclaimed high-priority flags.
            models.Index(
                fields=["clinic"],
                condition=Q(status=FlagStatus.OPEN, priority=1),
                name="flag_badge_idx",
            ),
            # Time to first action: recent flags that were acted on.
            models.Index(
                fields=["clinic", "opened_at"],
                condition=Q(first_action_at__isnull=False),
                name="flag_acted_idx",
            ),
            # The escalation sweep: open, high priority, not yet escalated.
            models.Index(
                fields=["opened_at"],
                condition=Q(status=FlagStatus.OPEN, escalated_at__isnull=True, priority=1),
                name="flag_escalation_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} flag #{self.pk}"

    # Django's get_FOO_display hashes every (lazily translated) choice on each call; this
    # translates just the one label.
    @property
    def kind_label(self) -> str:
        return str(FlagKind(self.kind).label)

    @property
    def is_high_priority(self) -> bool:
        return self.priority == Priority.HIGH


class FlagTrigger(models.Model):
    """One event that raised or re-raised a flag."""

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="triggers")
    kind = models.CharField(max_length=24, choices=FlagKind.choices)
    source = models.CharField(max_length=20, choices=TriggerSource.choices)
    source_id = models.BigIntegerField()
    value = models.DecimalField(
        max_digits=4, decimal_places=2, null=True, blank=True, help_text=_("e.g. the score")
    )
    # Why she missed doses, as she said in the check-in (adherence.models.MissedReason).
    reason = models.CharField(max_length=16, blank=True)
    triggered_at = models.DateTimeField()

    class Meta:
        ordering = ["triggered_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "source", "source_id"], name="one_trigger_per_source_and_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} from {self.source} {self.source_id}"

    @property
    def reason_label(self) -> str:
        """Why she missed doses, in words (empty when none was given)."""
        return str(MissedReason(self.reason).label) if self.reason in MissedReason.values else ""


@audited()
class FlagAction(models.Model):
    """What a nurse (or clinician) did about a flag."""

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="actions")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the system acted (see the system reason)."),
    )
    action = models.CharField(max_length=24, choices=ActionKind.choices)
    system_reason = models.CharField(max_length=16, choices=SystemReason.choices, blank=True)
    note = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(actor__isnull=False, system_reason="")
                | Q(actor__isnull=True, system_reason__in=SystemReason.values),
                name="flag_action_by_someone_or_the_system",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} on flag #{self.flag_id}"


class Channel(models.TextChoices):
    """The channel one message went by (``followup.notify`` has one class per channel)."""

    EMAIL = "email", _("E-mail")
    SMS = "sms", _("Text message")


class SendStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class NotificationReason(models.TextChoices):
    OPENED = "opened", _("High-priority flag opened")
    ESCALATED = "escalated", _("Unclaimed flag escalated")


class FlagNotification(models.Model):
    """A message to a staff member about a flag, by one channel; sent once (claim, then send)."""

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="notifications")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(max_length=12, choices=NotificationReason.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(max_length=8, choices=SendStatus.choices, default=SendStatus.PENDING)
    failure_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["flag", "recipient", "reason", "channel"],
                name="one_notification_per_reason_channel",
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(status="pending"),
                name="notification_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason} notification for flag #{self.flag_id}"


# Old migrations name this default; the schedule's rules live on the clinic (patients.rules).
default_initial_months = patient_models.default_initial_months


@audited()
class PatientSchedule(models.Model):
    """A per-patient override of her clinic's schedule."""

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="schedule")
    interval_months = models.PositiveSmallIntegerField(null=True, blank=True)
    paused = models.BooleanField(default=False, help_text=_("No new slots or reminders."))
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["patient_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(interval_months__isnull=True)
                | Q(interval_months__gte=1, interval_months__lte=12),
                name="patient_schedule_interval_1_to_12_months",
            ),
        ]

    def __str__(self) -> str:
        return f"Schedule override of patient {self.patient_id}"


class ReassessmentSlot(models.Model):
    """One due reassessment (BPI-SF plus adherence check-in) of one patient."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="slots")
    months_after_diagnosis = models.PositiveSmallIntegerField()
    due_date = models.DateField(help_text=_("In the patient's time zone."))
    due_at = models.DateTimeField(help_text=_("The clinic's due time on the due date, local."))
    completed_at = models.DateTimeField(null=True, blank=True)
    # An extra reassessment of the adaptive rule (weeks after a worsening, a new intervention
    # or a resumed AI), beside the routine months; ``months_after_diagnosis`` is then the whole
    # months at its due date, for reading only.
    adaptive = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["patient_id", "due_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "months_after_diagnosis"],
                condition=Q(adaptive=False),
                name="one_slot_per_patient_month",
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(adaptive=True, completed_at__isnull=True),
                name="one_open_adaptive_slot_per_patient",
            ),
        ]
        indexes = [
            # The reminder and overdue sweeps poll open slots by due time.
            models.Index(
                fields=["due_at"], condition=Q(completed_at__isnull=True), name="slot_open_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"Reassessment of patient {self.patient_id} due {self.due_date}"


class ReminderSend(models.Model):
    """One reminder for a slot by one channel; the database allows one per slot, attempt and
    channel. ``claimed_at`` is the claim's lease, renewed while its sweep is sending."""

    slot = models.ForeignKey(ReassessmentSlot, on_delete=models.CASCADE, related_name="reminders")
    attempt = models.PositiveSmallIntegerField(help_text=_("0 at the due time, then 1, 2."))
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(max_length=8, choices=SendStatus.choices, default=SendStatus.PENDING)
    failure_reason = models.CharField(max_length=200, blank=True)
    claim = models.UUIDField(help_text=_("The sweep that claimed it."))
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["slot_id", "attempt", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["slot", "attempt", "channel"], name="one_reminder_per_slot_attempt_channel"
            ),
        ]
        indexes = [
            models.Index(
                fields=["claimed_at"], condition=Q(status="pending"), name="reminder_pending_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"Reminder {self.attempt} of slot {self.slot_id}"


class QuestionnaireLink(models.Model):
    """The signed, expiring, single-use link of a reminder. Only a hash of the token is kept."""

    slot = models.ForeignKey(ReassessmentSlot, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Link for slot {self.slot_id}"


class ResponseEvaluation(models.Model):
    """A BPI-SF response the flag rules have run on (responses themselves are immutable)."""

    response = models.OneToOneField(
        "assessments.Response", on_delete=models.CASCADE, related_name="evaluation"
    )
    evaluated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-evaluated_at"]

    def __str__(self) -> str:
        return f"Evaluation of response {self.response_id}"


class CheckOutcome(models.TextChoices):
    PENDING = "pending", _("Pending")
    RESPONDED = "responded", _("Responded")
    NOT_RESPONDED = "not_responded", _("Not responded")
    NOT_ASSESSABLE = "not_assessable", _("Not assessable")


class ResponseCheck(models.Model):
    """A look at her answers at a trial's time point after an intervention (``followup.checks``).

    Created by the sweep for each recorded intervention with a trial time point (one per
    intervention, a database constraint), due on a date in the database (no task ``eta``), and
    evaluated once by whichever sweep claims it after its window has closed.
    """

    intervention = models.OneToOneField(
        "adherence.Intervention", on_delete=models.CASCADE, related_name="response_check"
    )
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    trial = models.CharField(max_length=16)
    measure = models.CharField(max_length=16, help_text=_("The BPI-SF item the trial measured."))
    started_on = models.DateField()
    due_date = models.DateField(help_text=_("The trial's time point after the start."))
    window_days = models.PositiveSmallIntegerField()
    outcome = models.CharField(
        max_length=16, choices=CheckOutcome.choices, default=CheckOutcome.PENDING
    )
    baseline_value = models.PositiveSmallIntegerField(null=True, blank=True)
    baseline_on = models.DateField(null=True, blank=True)
    followup_value = models.PositiveSmallIntegerField(null=True, blank=True)
    followup_on = models.DateField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["patient_id", "due_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=CheckOutcome.values), name="response_check_outcome_known"
            ),
            models.CheckConstraint(
                condition=Q(outcome=CheckOutcome.PENDING) | Q(evaluated_at__isnull=False),
                name="response_check_evaluated_has_time",
            ),
        ]
        indexes = [
            # The sweep polls pending checks by due date.
            models.Index(
                fields=["due_date"],
                condition=Q(outcome="pending"),
                name="response_check_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Response check of intervention {self.intervention_id} due {self.due_date}"
