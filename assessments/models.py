"""The BPI-SF instrument, patients' responses (immutable, versioned by correction) and drafts.

A response stores its answers item by item, the instrument version and recall period it was
given under, and its scores as computed by :mod:`assessments.scoring` at submission, so that
lists and charts never recompute them. A submitted response is never updated (a PostgreSQL
trigger refuses UPDATE); a staff correction is a new row that ``supersedes`` the old one.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aimss_tracker.audit import audited
from patients.models import Patient

from .scoring import SCALE_MAX, SCALE_MIN, PainBand

BPI_SF = "bpi-sf"
RELIEF_STEPS = tuple(range(0, 101, 10))  # item 8: 0-100 % in steps of 10 (BPI-SF)
TREATMENTS_MAX_CHARS = 1000
CORRECTION_REASON_MAX_CHARS = 1000  # the correction form and the API take no more


class RecallPeriod(models.TextChoices):
    HOURS_24 = "24h", _("the last 24 hours")
    DAYS_7 = "7d", _("the last 7 days")


class EntryMode(models.TextChoices):
    SELF = "self", _("Entered by the patient")
    TELEPHONE = "telephone", _("Entered by staff on the telephone")
    IMPORTED = "imported", _("Imported from a registry file")


class BodyRegion(models.TextChoices):
    """Item 2 body-map regions: left/right where paired; front or back as drawn."""

    NECK = "neck", _("Neck")
    SHOULDERS_LEFT = "shoulders_left", _("Left shoulder")
    SHOULDERS_RIGHT = "shoulders_right", _("Right shoulder")
    ELBOWS_LEFT = "elbows_left", _("Left elbow")
    ELBOWS_RIGHT = "elbows_right", _("Right elbow")
    HANDS_WRISTS_LEFT = "hands_wrists_left", _("Left hand and wrist")
    HANDS_WRISTS_RIGHT = "hands_wrists_right", _("Right hand and wrist")
    BACK_UPPER = "back_upper", _("Upper back")
    BACK_LOWER = "back_lower", _("Lower back")
    HIPS_LEFT = "hips_left", _("Left hip")
    HIPS_RIGHT = "hips_right", _("Right hip")
    KNEES_LEFT = "knees_left", _("Left knee")
    KNEES_RIGHT = "knees_right", _("Right knee")
    ANKLES_FEET_LEFT = "ankles_feet_left", _("Left ankle and foot")
    ANKLES_FEET_RIGHT = "ankles_feet_right", _("Right ankle and foot")


REGION_CODES = frozenset(BodyRegion.values)
# Which figure of the body map shows a region.
BACK_VIEW_REGIONS = frozenset({BodyRegion.NECK, BodyRegion.BACK_UPPER, BodyRegion.BACK_LOWER})

# Item 9 A-G, in the instrument's order: (API name, model field).
INTERFERENCE_FIELDS = (
    ("general_activity", "interference_general_activity"),
    ("mood", "interference_mood"),
    ("walking_ability", "interference_walking_ability"),
    ("normal_work", "interference_normal_work"),
    ("relations_with_others", "interference_relations_with_others"),
    ("sleep", "interference_sleep"),
    ("enjoyment_of_life", "interference_enjoyment_of_life"),
)
PAIN_FIELDS = ("worst_pain", "least_pain", "average_pain", "pain_now")  # items 3-6
# What an imported response may lack (``manage.py import_cohort`` is given item 5 and the
# interference score only): items 1, 3, 4 and 6 and the severity score (the mean of 3-6).
# Every other response has them all (a CheckConstraint); item 5 is always given.
IMPORT_OPTIONAL_FIELDS = (
    "has_pain_today",
    "worst_pain",
    "least_pain",
    "pain_now",
    "pain_severity_score",
)
SCALE_FIELDS = PAIN_FIELDS + tuple(field for _name, field in INTERFERENCE_FIELDS)

SCALE_VALIDATORS = [MinValueValidator(SCALE_MIN), MaxValueValidator(SCALE_MAX)]


class Instrument(models.Model):
    """One loaded version of an instrument definition (items, labels, anchors per language).

    Rows are only ever added (``manage.py load_instrument FILE``); responses point at the
    version they were given under.
    """

    code = models.SlugField(max_length=32, default=BPI_SF)
    version = models.CharField(max_length=64)
    definition = models.JSONField()
    loaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code", "-loaded_at"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="unique_instrument_version"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.version}"


def _scale_field(
    verbose_name: Any, *, null: bool = False
) -> models.PositiveSmallIntegerField[Any, Any]:
    return models.PositiveSmallIntegerField(
        verbose_name, null=null, blank=null, validators=SCALE_VALIDATORS
    )


def _scale_constraint(field: str, *, null: bool) -> models.CheckConstraint:
    in_range = Q(**{f"{field}__gte": SCALE_MIN, f"{field}__lte": SCALE_MAX})
    return models.CheckConstraint(
        condition=(Q(**{f"{field}__isnull": True}) | in_range) if null else in_range,
        name=f"response_{field}_0_10",
    )


def validate_relief(value: int | None) -> None:
    if value is not None and value not in RELIEF_STEPS:
        raise ValidationError(_("Choose a relief from 0% to 100% in steps of 10."))


class ResponseQuerySet(models.QuerySet["Response"]):
    def current(self) -> ResponseQuerySet:
        """Only the current version of each response: those no correction supersedes.

        Written as NOT EXISTS among the same patient's responses (a correction always belongs
        to the patient of the version it corrects: ``Response.clean`` and the correction
        service keep it so), which PostgreSQL answers from the patient index. The plain
        ``superseded_by__isnull=True`` join hashed the whole table, so one patient's
        trajectory grew slower with the cohort.
        """
        newer = Response.objects.filter(
            patient_id=OuterRef("patient_id"), supersedes_id=OuterRef("pk")
        )
        return self.filter(~Exists(newer))


@audited(bulk_written=True)
class Response(models.Model):
    """One submitted BPI-SF, immutable; a correction is a new row that supersedes it."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="responses")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="responses")
    language = models.CharField(max_length=8, default="en")
    recall_period = models.CharField(
        max_length=3, choices=RecallPeriod.choices, default=RecallPeriod.HOURS_24
    )
    # Item 1
    has_pain_today = models.BooleanField(
        _("pain other than everyday kinds today"), null=True, blank=True
    )
    # Item 2: region codes (BodyRegion), one of them the worst
    pain_locations = models.JSONField(default=list, blank=True)
    worst_location = models.CharField(
        max_length=24, choices=BodyRegion.choices, blank=True, default=""
    )
    # Items 3-6
    worst_pain = _scale_field(_("worst pain"), null=True)
    least_pain = _scale_field(_("least pain"), null=True)
    average_pain = _scale_field(_("average pain"))
    pain_now = _scale_field(_("pain right now"), null=True)
    # Item 7 (free text: never logged)
    treatments = models.TextField(blank=True, default="", max_length=TREATMENTS_MAX_CHARS)
    # Item 8
    relief_percent = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[validate_relief]
    )
    # Item 9 A-G
    interference_general_activity = _scale_field(_("general activity"), null=True)
    interference_mood = _scale_field(_("mood"), null=True)
    interference_walking_ability = _scale_field(_("walking ability"), null=True)
    interference_normal_work = _scale_field(_("normal work"), null=True)
    interference_relations_with_others = _scale_field(_("relations with other people"), null=True)
    interference_sleep = _scale_field(_("sleep"), null=True)
    interference_enjoyment_of_life = _scale_field(_("enjoyment of life"), null=True)
    # Scores, computed once by assessments.scoring at submission
    pain_severity_score = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    interference_score = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    pain_band = models.CharField(max_length=8, choices=PainBand.choices)
    interference_high = models.BooleanField(default=False)
    # Who, when, how
    submitted_at = models.DateTimeField(
        default=timezone.now, help_text=_("When the answers were given (kept by corrections).")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    entry_mode = models.CharField(max_length=16, choices=EntryMode.choices, default=EntryMode.SELF)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="entered_responses",
        help_text=_("Who typed it in: the patient herself, or the nurse on the telephone."),
    )
    submission_key = models.UUIDField(
        default=uuid.uuid4,
        help_text=_("The form's one-time token or the API's Idempotency-Key."),
    )
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        help_text=_("The version this correction replaces."),
    )
    correction_reason = models.TextField(
        blank=True, default="", max_length=CORRECTION_REASON_MAX_CHARS
    )

    objects = ResponseQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            *[
                _scale_constraint(field, null=field in IMPORT_OPTIONAL_FIELDS)
                for field in PAIN_FIELDS
            ],
            models.CheckConstraint(
                condition=Q(entry_mode=EntryMode.IMPORTED)
                | Q(**{f"{field}__isnull": False for field in IMPORT_OPTIONAL_FIELDS}),
                name="response_items_given_unless_imported",
            ),
            *[_scale_constraint(field, null=True) for _name, field in INTERFERENCE_FIELDS],
            models.CheckConstraint(
                condition=Q(relief_percent__isnull=True) | Q(relief_percent__in=RELIEF_STEPS),
                name="response_relief_percent_0_100_step_10",
            ),
            models.CheckConstraint(
                condition=Q(recall_period__in=RecallPeriod.values),
                name="response_recall_period_valid",
            ),
            models.CheckConstraint(
                condition=Q(entry_mode__in=EntryMode.values), name="response_entry_mode_valid"
            ),
            models.CheckConstraint(
                condition=Q(pain_band__in=PainBand.values), name="response_pain_band_valid"
            ),
            models.CheckConstraint(
                condition=Q(pain_severity_score__isnull=True)
                | Q(pain_severity_score__gte=0, pain_severity_score__lte=10),
                name="response_pain_severity_score_0_10",
            ),
            models.CheckConstraint(
                condition=Q(interference_score__isnull=True)
                | Q(interference_score__gte=0, interference_score__lte=10),
                name="response_interference_score_0_10",
            ),
            models.CheckConstraint(
                condition=Q(supersedes__isnull=True) | ~Q(correction_reason=""),
                name="response_correction_has_reason",
            ),
            # A double submit (same form token or Idempotency-Key) stores one response.
            models.UniqueConstraint(
                fields=["patient", "submission_key"], name="unique_response_submission_key"
            ),
        ]
        indexes = [models.Index(fields=["patient", "-submitted_at"])]

    def __str__(self) -> str:
        return f"BPI-SF response {self.pk}"

    @property
    def interference_answers(self) -> dict[str, int | None]:
        return {name: getattr(self, field) for name, field in INTERFERENCE_FIELDS}

    @property
    def is_imported(self) -> bool:
        """Loaded by ``import_cohort``: only the items and scores the file gave are stored."""
        return self.entry_mode == EntryMode.IMPORTED

    @property
    def calls_for_the_clinic(self) -> bool:
        """High interference (>= the clinic's cut-off, 7 by default: Serlin 1995; the study)
        or severe pain: her clinic's phone number comes first on her result page."""
        return self.interference_high or self.pain_band == PainBand.SEVERE

    @property
    def is_correction(self) -> bool:
        return self.supersedes_id is not None

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {
            field: [message]
            for field, message in location_errors(
                has_pain_today=self.has_pain_today,
                pain_locations=self.pain_locations,
                worst_location=self.worst_location,
            ).items()
        }
        if self.supersedes_id and not self.correction_reason.strip():
            errors.setdefault("correction_reason", []).append(
                _("Say why the response is corrected.")
            )
        if self.supersedes is not None and self.supersedes.patient_id != self.patient_id:
            errors.setdefault("supersedes", []).append(
                _("A correction must belong to the patient of the response it corrects.")
            )
        if errors:
            raise ValidationError(errors)


def location_errors(
    *, has_pain_today: bool | None, pain_locations: Any, worst_location: str | None
) -> dict[str, str]:
    """Item 2's rules, shared by the model, the form and the API: one message per field."""
    locations = pain_locations or []
    if not isinstance(locations, list) or any(
        not isinstance(code, str) or code not in REGION_CODES for code in locations
    ):
        return {"pain_locations": str(_("Choose body areas from the map."))}
    if has_pain_today and not locations:
        return {"pain_locations": str(_("Mark at least one area where you feel pain."))}
    if worst_location and worst_location not in locations:
        return {
            "worst_location": str(
                _("The area that hurts most must be one of the areas you marked.")
            )
        }
    if locations and not worst_location:
        return {"worst_location": str(_("Mark which of the areas hurts most."))}
    return {}


class ScoreSummary(models.Model):
    """A patient's latest and previous current responses' scores, for the clinician's list.

    Derived, never typed: every writer of responses keeps it in its own transaction
    (:mod:`assessments.summaries`), so that the list sorts and filters 10,000 patients by their
    latest scores with a join instead of a subquery per patient. One row per patient with at
    least one current (not superseded) response; "latest" is the newest by ``submitted_at``,
    then id, as the trajectory orders them. The previous response's scores give the trend.

    Her clinic and family name are copied here (kept by the same functions, and by a move or a
    rename of her) so that one clinic's list sorted by average pain is read in order from one
    index, whatever the number of patients in other clinics (ADR 0008).
    """

    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, primary_key=True, related_name="score_summary"
    )
    # (Indexed below, as the first column of the list's index.)
    clinic = models.ForeignKey(
        "patients.Clinic", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    family_name = models.CharField(max_length=100)  # as Patient.family_name
    # Responses are deleted only when a demo is erased; their summary goes with them.
    latest_response = models.OneToOneField(Response, on_delete=models.CASCADE, related_name="+")
    latest_at = models.DateTimeField()
    latest_average = models.PositiveSmallIntegerField()
    latest_interference = models.DecimalField(max_digits=4, decimal_places=2, null=True)
    latest_band = models.CharField(max_length=8, choices=PainBand.choices)
    latest_high = models.BooleanField()
    previous_response = models.OneToOneField(
        Response, on_delete=models.CASCADE, null=True, related_name="+"
    )
    previous_at = models.DateTimeField(null=True)
    previous_average = models.PositiveSmallIntegerField(null=True)
    previous_interference = models.DecimalField(max_digits=4, decimal_places=2, null=True)

    class Meta:
        ordering = ["patient"]
        # Joined to the patients by its primary key. The list sorted by average pain reads a
        # clinic's patients with a score from the first index, in the list's order (then those
        # without a score, by name, from the patients' own index).
        indexes = [
            models.Index(
                fields=["clinic", "-latest_average", "family_name", "patient"],
                name="summary_list_average_idx",
            ),
            models.Index(fields=["latest_band"], name="summary_band_idx"),
            models.Index(
                fields=["latest_high"], name="summary_high_idx", condition=Q(latest_high=True)
            ),
        ]

    def __str__(self) -> str:
        return f"score summary of patient {self.patient_id}"


class ResponseDraft(models.Model):
    """A patient's unfinished questionnaire (one per patient); never a response, never scored."""

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="draft")
    submission_key = models.UUIDField(default=uuid.uuid4)
    answers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"draft of patient {self.patient_id}"


# --- Self-management advice (content as data: assessments.advice) ------------------------------


class AdviceSituation(models.TextChoices):
    """When an advice item is shown: her pain band, or what her answers showed."""

    NONE = "none", _("No pain")
    MILD = "mild", _("Mild pain")
    MODERATE = "moderate", _("Moderate pain")
    SEVERE = "severe", _("Severe pain")
    HIGH_INTERFERENCE = "high_interference", _("High interference")
    WORSENING = "worsening", _("Worsening")
    CHECK_IN_LAPSE = "check_in_lapse", _("Check-in lapse")


ADVICE_VERSION_MAX_CHARS = 64
ADVICE_SOURCE_MAX_CHARS = 300


class AdviceSet(models.Model):
    """One loaded version of the self-management advice (``manage.py load_advice FILE``).

    Rows are only ever added: the most recently loaded version is current and the older ones
    are kept, so that what a patient was shown can be told later.
    """

    version = models.CharField(max_length=ADVICE_VERSION_MAX_CHARS, unique=True)
    notes = models.TextField(blank=True, default="")
    content = models.JSONField(help_text=_("The file as loaded (languages normalised)."))
    loaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-loaded_at", "-id"]

    def __str__(self) -> str:
        return f"advice {self.version}"


class AdviceItem(models.Model):
    """One piece of advice for one situation, in every language, with its source and limits."""

    advice_set = models.ForeignKey(AdviceSet, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(help_text=_("Its place in the file, from 0."))
    situation = models.CharField(max_length=24, choices=AdviceSituation.choices)
    text = models.JSONField(help_text=_("Language code -> advice in plain words."))
    source = models.CharField(max_length=ADVICE_SOURCE_MAX_CHARS)
    limits = models.JSONField(help_text=_("Language code -> what the advice cannot promise."))

    class Meta:
        ordering = ["advice_set", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["advice_set", "position"], name="unique_advice_item_position"
            ),
            models.CheckConstraint(
                condition=Q(situation__in=AdviceSituation.values),
                name="advice_item_situation_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.advice_set} item {self.position} ({self.situation})"
