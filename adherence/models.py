"""AI therapy courses, regimen changes, treatment events, management interventions and
adherence check-ins: the data the study's outcome is made of (Liang et al.).

Nothing derived is stored: the course status, the management strategy at diagnosis and the
interruption-free survival record are computed by :mod:`adherence.selectors`. Single-row
invariants are database constraints; cross-row rules (overlapping interruptions, events before
the diagnosis, data after death) are checked by :mod:`adherence.services` under a lock on the
patient row.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from aimss_tracker.audit import audited
from patients.models import Patient

# Liang et al.: "permanent AI discontinuation due to AIMSS (>= 3 months off, ...)". Three months are
# counted as 91 days off the drug (13 weeks), both ends inclusive.
AIMSS_STOP_MIN_DAYS = 91  # days
DAYS_IN_WEEK = 7  # the check-in's recall period, days
# MARS-5 (Horne, Medication Adherence Report Scale): 5 items scored 1-5, total 5-25, higher is
# more adherent. Copyrighted: the repository ships its structure only (adherence/scale.py).
MARS5_ITEMS = 5
MARS5_ITEM_MIN, MARS5_ITEM_MAX = 1, 5  # points per item
MARS5_TOTAL_MIN, MARS5_TOTAL_MAX = 5, 25  # points


class MissedReason(models.TextChoices):
    """Why she missed doses. Non-adherence is unintentional (forgetting, running out) or
    intentional (choosing to stop or take less, mostly for side effects); the two need
    different help, so the intentional reasons reach a nurse first."""

    FORGOT = "forgot", _("I forgot")
    SIDE_EFFECTS = "side_effects", _("Side effects")
    DECIDED = "decided", _("I decided to stop or take less")
    RAN_OUT = "ran_out", _("I ran out of tablets")
    OTHER = "other", _("Another reason")


INTENTIONAL_REASONS = (MissedReason.SIDE_EFFECTS, MissedReason.DECIDED)


class Drug(models.TextChoices):
    ANASTROZOLE = "anastrozole", _("Anastrozole")
    LETROZOLE = "letrozole", _("Letrozole")
    EXEMESTANE = "exemestane", _("Exemestane")


class PlannedDuration(models.IntegerChoices):
    FIVE_YEARS = 5, _("5 years")
    TEN_YEARS = 10, _("10 years")


class CourseStatus(models.TextChoices):
    """Derived from the events (see ``selectors.course_status``), never stored."""

    ACTIVE = "active", _("Active")
    INTERRUPTED = "interrupted", _("Interrupted")
    COMPLETED = "completed", _("Completed")
    DISCONTINUED = "discontinued", _("Discontinued")


@audited(bulk_written=True)
class AiCourse(models.Model):
    """A patient's adjuvant aromatase-inhibitor therapy: one course per patient.

    Switches of agent are regimen changes of the same course, so ``drug`` is the initial AI
    (Table 1 of the study counts the initial AI).
    """

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="ai_course")
    drug = models.CharField(_("initial aromatase inhibitor"), max_length=16, choices=Drug.choices)
    start_date = models.DateField(_("AI start date"))
    planned_duration_years = models.PositiveSmallIntegerField(
        _("planned duration"), choices=PlannedDuration.choices, default=PlannedDuration.FIVE_YEARS
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["patient_id"]
        constraints = [
            models.CheckConstraint(condition=Q(drug__in=Drug.values), name="aicourse_drug_valid"),
            models.CheckConstraint(
                condition=Q(planned_duration_years__in=PlannedDuration.values),
                name="aicourse_planned_duration_5_or_10",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_drug_display()} from {self.start_date:%Y-%m-%d}"

    @property
    def planned_end_date(self) -> dt.date:
        try:
            return self.start_date.replace(year=self.start_date.year + self.planned_duration_years)
        except ValueError:  # 29 February
            return self.start_date.replace(
                year=self.start_date.year + self.planned_duration_years, day=28
            )


class RegimenChangeKind(models.TextChoices):
    DOSE_REDUCTION = "dose_reduction", _("Dose reduction")
    INTERMITTENT_DOSING = "intermittent_dosing", _("Intermittent dosing")
    SWITCH_AGENT = "switch_agent", _("Switch of agent")
    # Leaving AI therapy for tamoxifen or another non-AI endocrine therapy: the study's
    # endpoint is about the AI, so she is censored on that day (see adherence.selectors).
    SWITCH_NON_AI = "switch_non_ai", _("Switch to a non-AI endocrine therapy")


@audited()
class RegimenChange(models.Model):
    """A dated change of the AI regimen, with its reason; a switch names the new drug."""

    course = models.ForeignKey(AiCourse, on_delete=models.PROTECT, related_name="regimen_changes")
    kind = models.CharField(max_length=24, choices=RegimenChangeKind.choices)
    date = models.DateField()
    new_drug = models.CharField(
        _("new drug"),
        max_length=16,
        choices=Drug.choices,
        blank=True,
        help_text=_("Only for a switch of agent."),
    )
    reason = models.CharField(max_length=500)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["course_id", "date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=RegimenChangeKind.SWITCH_AGENT, new_drug__in=Drug.values)
                | (~Q(kind=RegimenChangeKind.SWITCH_AGENT) & Q(new_drug="")),
                name="regimenchange_new_drug_iff_switch",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.date:%Y-%m-%d}"

    def clean(self) -> None:
        if self.kind == RegimenChangeKind.SWITCH_AGENT and not self.new_drug:
            raise ValidationError({"new_drug": _("A switch of agent names the new drug.")})
        if self.kind != RegimenChangeKind.SWITCH_AGENT and self.new_drug:
            raise ValidationError({"new_drug": _("Only a switch of agent has a new drug.")})


class EventKind(models.TextChoices):
    INTERRUPTION = "interruption", _("Temporary interruption")
    DISCONTINUATION = "discontinuation", _("Permanent discontinuation")
    RECURRENCE = "recurrence", _("Recurrence or metastasis (confirmed)")
    DEATH = "death", _("Death")


class StopReason(models.TextChoices):
    AIMSS = "aimss", _("AIMSS")
    OTHER = "other", _("Other reason")


STOP_KINDS = (EventKind.INTERRUPTION, EventKind.DISCONTINUATION)
# Events after which her AI care stops for good: no reassessments, reminders, adherence-lapse
# or overdue flags, current interventions end. A permanent discontinuation ends the AI; a
# confirmed recurrence moves her to other treatment (the AI is stopped for it; in the study,
# Liang et al., recurrence is part of the composite endpoint); a death ends everything.
CARE_STOP_KINDS = (EventKind.DISCONTINUATION, EventKind.RECURRENCE, EventKind.DEATH)


@audited(bulk_written=True)
class TreatmentEvent(models.Model):
    """A treatment event: the raw material of the study's composite endpoint.

    How the recorded data encode the study's endpoint (the study's primary outcome):

    - ``recurrence`` (confirmed date = ``start_date``) and ``death`` (``start_date``) are
      composite events on their date.
    - "Permanent AI discontinuation due to AIMSS (>= 3 months off, or explicit termination for
      AIMSS intolerance)". An *AIMSS stop* is a run of AIMSS-reason stops: interruptions with
      ``reason=aimss`` and a discontinuation with ``reason=aimss``; an interruption followed
      within a day by another AIMSS stop is the same run. The run is a composite event, dated
      on the day the run began (where the drug was first stopped), when

      * it contains a discontinuation with ``explicit_aimss_termination`` (the clinician records
        that the AI was terminated for AIMSS intolerance), or
      * it lasted at least :data:`AIMSS_STOP_MIN_DAYS` (91) days, both ends inclusive: up to an
        interruption's ``end_date`` (the last day off the drug), or, for a discontinuation or an
        interruption still open, up to the last follow-up. An interruption of >= 91 days counts
        even if the drug was resumed afterwards: the study's criterion is the time off.

      A shorter AIMSS stop is a lapse of adherence, not an event (the patient is still at risk).
      Stops for ``other`` reasons never count (the study excluded AI stopped for other reasons).

    ``end_date`` exists only for interruptions (open while she is still off the drug).
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="treatment_events")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    start_date = models.DateField(
        _("date"), help_text=_("Start of an interruption; date of any other event.")
    )
    end_date = models.DateField(
        _("end date"),
        null=True,
        blank=True,
        help_text=_("Interruptions only: the last day off the drug; empty while still off."),
    )
    reason = models.CharField(
        _("reason for stopping"),
        max_length=8,
        choices=StopReason.choices,
        blank=True,
        help_text=_("Interruptions and discontinuations only."),
    )
    explicit_aimss_termination = models.BooleanField(
        _("terminated for AIMSS intolerance"),
        default=False,
        help_text=_("Discontinuations for AIMSS only: the AI was explicitly terminated."),
    )
    note = models.CharField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["patient_id", "start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(kind=EventKind.INTERRUPTION, end_date__gte=F("start_date")),
                name="treatmentevent_end_only_for_interruption_after_start",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=STOP_KINDS, reason__in=StopReason.values)
                | (~Q(kind__in=STOP_KINDS) & Q(reason="")),
                name="treatmentevent_reason_iff_stop",
            ),
            models.CheckConstraint(
                condition=Q(explicit_aimss_termination=False)
                | Q(kind=EventKind.DISCONTINUATION, reason=StopReason.AIMSS),
                name="treatmentevent_explicit_only_for_aimss_discontinuation",
            ),
            # One death and one permanent discontinuation per patient.
            models.UniqueConstraint(
                fields=["patient", "kind"],
                condition=Q(kind__in=[EventKind.DEATH, EventKind.DISCONTINUATION]),
                name="treatmentevent_one_death_one_discontinuation",
            ),
        ]
        indexes = [
            # Clinician-recorded interruptions still open: an adherence-lapse trigger to poll.
            models.Index(
                fields=["patient"],
                condition=Q(kind=EventKind.INTERRUPTION, end_date__isnull=True),
                name="treatmentevent_open_stop_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.start_date:%Y-%m-%d}"

    @property
    def last_date(self) -> dt.date:
        return self.end_date or self.start_date

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        is_stop = self.kind in STOP_KINDS
        if self.end_date is not None:
            if self.kind != EventKind.INTERRUPTION:
                errors.setdefault("end_date", []).append(
                    _("Only a temporary interruption has an end date.")
                )
            elif self.start_date and self.end_date < self.start_date:
                errors.setdefault("end_date", []).append(
                    _("The end %(end)s is before the start %(start)s.")
                    % {"end": self.end_date.isoformat(), "start": self.start_date.isoformat()}
                )
        if is_stop and not self.reason:
            errors.setdefault("reason", []).append(
                _("Say whether the AI was stopped for AIMSS or another reason.")
            )
        if not is_stop and self.reason:
            errors.setdefault("reason", []).append(
                _("Only an interruption or a discontinuation has a reason for stopping.")
            )
        if self.explicit_aimss_termination and not (
            self.kind == EventKind.DISCONTINUATION and self.reason == StopReason.AIMSS
        ):
            errors.setdefault("explicit_aimss_termination", []).append(
                _("Only a discontinuation for AIMSS can be an explicit termination for AIMSS.")
            )
        if errors:
            raise ValidationError(errors)


class InterventionCategory(models.TextChoices):
    """The study's four categories of AIMSS management (Liang et al., groups)."""

    ANALGESIC = "analgesic", _("Analgesic medication")
    PHYSICAL_THERAPY = "physical_therapy", _("Physical therapy")
    AI_ADJUSTMENT = "ai_adjustment", _("AI regimen adjustment")
    COMPLEMENTARY = "complementary", _("Complementary or alternative")


class Measure(models.TextChoices):
    """The maintained list of specific measures (Liang et al.; the guideline summary)."""

    CELECOXIB = "celecoxib", _("Celecoxib")
    LOXOPROFEN = "loxoprofen", _("Loxoprofen")
    DULOXETINE = "duloxetine", _("Duloxetine")
    EXERCISE = "exercise", _("Exercise programme")
    PHYSIOTHERAPY = "physiotherapy", _("Physiotherapy")
    DOSE_REDUCTION = "dose_reduction", _("Dose reduction")
    INTERMITTENT_DOSING = "intermittent_dosing", _("Intermittent dosing")
    VITAMIN_D = "vitamin_d", _("Vitamin D")
    ACUPUNCTURE = "acupuncture", _("Acupuncture")
    OTHER = "other", _("Other")


# Each measure's category; "other" may be recorded under any category (with a note).
MEASURE_CATEGORY: dict[str, str | None] = {
    Measure.CELECOXIB: InterventionCategory.ANALGESIC,
    Measure.LOXOPROFEN: InterventionCategory.ANALGESIC,
    Measure.DULOXETINE: InterventionCategory.ANALGESIC,
    Measure.EXERCISE: InterventionCategory.PHYSICAL_THERAPY,
    Measure.PHYSIOTHERAPY: InterventionCategory.PHYSICAL_THERAPY,
    Measure.DOSE_REDUCTION: InterventionCategory.AI_ADJUSTMENT,
    Measure.INTERMITTENT_DOSING: InterventionCategory.AI_ADJUSTMENT,
    Measure.VITAMIN_D: InterventionCategory.COMPLEMENTARY,
    Measure.ACUPUNCTURE: InterventionCategory.COMPLEMENTARY,
    Measure.OTHER: None,
}


@audited(bulk_written=True)
class Intervention(models.Model):
    """A management intervention for AIMSS, in one of the study's four categories."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="interventions")
    category = models.CharField(max_length=20, choices=InterventionCategory.choices)
    measure = models.CharField(max_length=24, choices=Measure.choices)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text=_("Empty while ongoing."))
    note = models.CharField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["patient_id", "start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="intervention_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(category__in=InterventionCategory.values),
                name="intervention_category_valid",
            ),
            models.CheckConstraint(
                condition=Q(measure=Measure.OTHER)
                | Q(
                    *[
                        Q(measure=measure, category=category)
                        for measure, category in MEASURE_CATEGORY.items()
                        if category
                    ],
                    _connector=Q.OR,
                ),
                name="intervention_measure_in_its_category",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_measure_display()} from {self.start_date:%Y-%m-%d}"

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors["end_date"] = [
                _("The end %(end)s is before the start %(start)s.")
                % {"end": self.end_date.isoformat(), "start": self.start_date.isoformat()}
            ]
        expected = MEASURE_CATEGORY.get(self.measure)
        if expected and self.category and self.category != expected:
            errors["category"] = [
                _("%(measure)s belongs to the category %(category)s.")
                % {
                    "measure": Measure(self.measure).label,
                    "category": InterventionCategory(expected).label,
                }
            ]
        if errors:
            raise ValidationError(errors)


@audited()
class AdherenceCheckIn(models.Model):
    """The patient's own answer: days the AI was taken in the last 7, stopping, side effects.

    ``lapse`` is decided at submission by the clinic's rule (``services.is_adherence_lapse``)
    so that it survives a broker outage; ``lapse_evaluated_at`` is set when the after-commit
    task has handed it on (the hook for the adherence-lapse flag).
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="check_ins")
    submitted_at = models.DateTimeField()
    days_taken_last_7 = models.PositiveSmallIntegerField(
        _("days the AI was taken in the last 7"),
        validators=[MinValueValidator(0), MaxValueValidator(DAYS_IN_WEEK)],
    )
    stopped = models.BooleanField(_("has stopped taking the AI"), default=False)
    wants_to_stop = models.BooleanField(_("wants to stop taking the AI"), default=False)
    reason = models.TextField(_("why"), blank=True, max_length=2000)
    side_effects = models.TextField(_("side effects in her words"), blank=True, max_length=2000)
    # Asked exactly when she took the AI on fewer than all 7 days.
    missed_reason = models.CharField(
        _("why doses were missed"), max_length=16, choices=MissedReason.choices, blank=True
    )
    missed_reason_other = models.CharField(
        _("the other reason, in her words"), max_length=500, blank=True
    )
    # The clinic's licensed adherence scale (MARS-5), when it asks it: the version answered,
    # the item answers ({"1": 5, ...}) and their total.
    scale = models.ForeignKey(
        "assessments.Instrument",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    scale_answers = models.JSONField(default=dict, blank=True)
    scale_total = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(MARS5_TOTAL_MIN), MaxValueValidator(MARS5_TOTAL_MAX)],
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submission_token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    lapse = models.BooleanField(default=False)
    lapse_evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["patient_id", "-submitted_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(days_taken_last_7__gte=0, days_taken_last_7__lte=DAYS_IN_WEEK),
                name="checkin_days_taken_0_to_7",
            ),
            # No reason without a missed dose. (A reason for every missed dose is checked
            # when she answers, ``clean``: check-ins stored before the question have none.)
            models.CheckConstraint(
                condition=Q(
                    days_taken_last_7__lt=DAYS_IN_WEEK, missed_reason__in=MissedReason.values
                )
                | Q(missed_reason=""),
                name="checkin_missed_reason_only_if_missed",
            ),
            models.CheckConstraint(
                condition=Q(missed_reason=MissedReason.OTHER) | Q(missed_reason_other=""),
                name="checkin_other_text_only_for_other",
            ),
            models.CheckConstraint(
                condition=Q(scale__isnull=True, scale_total__isnull=True)
                | Q(
                    scale__isnull=False,
                    scale_total__gte=MARS5_TOTAL_MIN,
                    scale_total__lte=MARS5_TOTAL_MAX,
                ),
                name="checkin_scale_total_with_scale",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "-submitted_at"], name="checkin_patient_recent_idx"),
            # The sweep for check-ins whose lapse was never handed on (lost task).
            models.Index(
                fields=["created_at"],
                condition=Q(lapse_evaluated_at__isnull=True),
                name="checkin_unevaluated_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Check-in {self.pk} of patient {self.patient_id}"

    @property
    def intentional(self) -> bool:
        return self.missed_reason in INTENTIONAL_REASONS

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        missed = self.days_taken_last_7 is not None and self.days_taken_last_7 < DAYS_IN_WEEK
        if missed and not self.missed_reason:
            errors["missed_reason"] = [
                _(
                    "She took it on %(days)s of 7 days: say why doses were missed (forgot, "
                    "side effects, decided to stop or take less, ran out, or another reason)."
                )
                % {"days": self.days_taken_last_7}
            ]
        if not missed and self.missed_reason:
            errors["missed_reason"] = [
                _("No dose was missed (7 of 7 days): leave the reason for missed doses empty.")
            ]
        if self.missed_reason_other and self.missed_reason != MissedReason.OTHER:
            errors["missed_reason_other"] = [
                _("Words for another reason go with the reason 'Another reason' only.")
            ]
        if errors:
            raise ValidationError(errors)


class DoseReminder(models.Model):
    """Her daily reminder to take her tablet, which she turns on herself.

    Sent once a day at her local ``time`` (held in her quiet hours) by the channels she chose;
    the text says nothing about her health or her drug. ``claimed_for`` is the local day a
    sweep claimed the send for (claim-then-send: two sweeps never both send a day), ``sent_on``
    the day it went. Not audited: every day's claim is an update.
    """

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="dose_reminder")
    enabled = models.BooleanField(_("send me a daily reminder"), default=False)
    time = models.TimeField(_("at (your local time)"), default=dt.time(9, 0))
    claimed_for = models.DateField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_on = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["patient_id"]
        indexes = [
            models.Index(fields=["time"], condition=Q(enabled=True), name="dosereminder_on_idx"),
        ]

    def __str__(self) -> str:
        return f"Dose reminder of patient {self.patient_id}"


@audited(bulk_written=True)
class ExternalFollowUp(models.Model):
    """Her last follow-up as recorded outside this application (an imported chart's last visit).

    The survival selector counts it as a contact, as it counts any data recorded here, so an
    imported patient is censored at her chart's last follow-up rather than at her last answer.
    """

    patient = models.OneToOneField(
        Patient, on_delete=models.PROTECT, related_name="external_follow_up"
    )
    last_follow_up_date = models.DateField(_("last follow-up date"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["patient_id"]

    def __str__(self) -> str:
        return f"External follow-up of patient {self.patient_id}"
