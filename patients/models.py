"""Clinics, the people who use the product, and patients with their study baseline.

Baseline characteristics follow Table 1 of the study (Liang et al.). Derived values (age, BMI)
are computed from what was recorded and never stored a second time.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pgtrigger
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.functional import cached_property
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from phonenumber_field.modelfields import PhoneNumberField

from aimss_tracker.audit import audited

# A clinic's rules (thresholds and intervals) and their published defaults.
from . import rules

# Plausibility bounds for adult body measures (an impossible value gets a clear error).
BMI_MIN = Decimal("10")  # kg/m²
BMI_MAX = Decimal("80")  # kg/m²
HEIGHT_CM_MIN, HEIGHT_CM_MAX = 100, 250
WEIGHT_KG_MIN, WEIGHT_KG_MAX = 20, 350


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    CHINESE_SIMPLIFIED = "zh-hans", "简体中文"


class Role(models.TextChoices):
    PATIENT = "patient", _("Patient")
    NURSE = "nurse", _("Nurse")
    CLINICIAN = "clinician", _("Clinician")
    RESEARCHER = "researcher", _("Researcher")
    ADMIN = "admin", _("Administrator")


class ContactChannels(models.TextChoices):
    """How someone wants to hear from the application: a patient of her reminders, a nurse of
    high-priority flags."""

    EMAIL = "email", _("E-mail")
    SMS = "sms", _("Text message (SMS)")
    BOTH = "both", _("E-mail and text message")


def wants_sms(channels: str) -> bool:
    return channels in (ContactChannels.SMS, ContactChannels.BOTH)


def wants_email(channels: str) -> bool:
    return channels in (ContactChannels.EMAIL, ContactChannels.BOTH)


# Roles that care for identified patients of their clinics.
CARE_ROLES = frozenset({Role.NURSE, Role.CLINICIAN})


def default_initial_months() -> list[int]:
    return list(rules.INITIAL_MONTHS)


def validate_months(value: object) -> None:
    """A list of whole months after the diagnosis (0 is the baseline)."""
    if not isinstance(value, list) or not all(
        isinstance(month, int) and 0 <= month <= rules.INITIAL_MONTHS_MAX for month in value
    ):
        raise ValidationError(
            _("Months after the diagnosis, each from 0 to %(max)s."),
            params={"max": rules.INITIAL_MONTHS_MAX},
        )


NOTE_TEMPLATES_MAX = 20
NOTE_TEMPLATE_MAX_CHARS = 200


def validate_note_templates(value: object) -> None:
    """A short list of short notes."""
    if (
        not isinstance(value, list)
        or len(value) > NOTE_TEMPLATES_MAX
        or not all(isinstance(n, str) and 0 < len(n) <= NOTE_TEMPLATE_MAX_CHARS for n in value)
    ):
        raise ValidationError(
            _("At most %(n)s note templates of up to %(chars)s characters each."),
            params={"n": NOTE_TEMPLATES_MAX, "chars": NOTE_TEMPLATE_MAX_CHARS},
        )


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Choose a time zone from the list."))


@audited()
class Clinic(models.Model):
    """A site. A patient belongs to one clinic; staff belong to one or more."""

    name = models.CharField(max_length=200, unique=True)
    code = models.SlugField(max_length=32, unique=True, help_text=_("Short code, e.g. 'rbc'."))
    time_zone = models.CharField(
        max_length=64, default=rules.TIME_ZONE, validators=[validate_time_zone]
    )
    pain_moderate_from = models.PositiveSmallIntegerField(
        default=rules.PAIN_MODERATE_FROM,
        validators=[MinValueValidator(2), MaxValueValidator(9)],
        help_text=_("Pain severity from which pain counts as moderate (Serlin 1995: 5)."),
    )
    pain_severe_from = models.PositiveSmallIntegerField(
        default=rules.PAIN_SEVERE_FROM,
        validators=[MinValueValidator(3), MaxValueValidator(10)],
        help_text=_("Pain severity from which pain counts as severe (Serlin 1995: 7)."),
    )
    high_interference_from = models.DecimalField(
        max_digits=3,
        decimal_places=1,
        default=rules.HIGH_INTERFERENCE_FROM,
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal("10"))],
        help_text=_("Interference score from which interference is high (the study: 7)."),
    )
    strategy_window_days = models.PositiveSmallIntegerField(
        _("initial management window (days)"),
        default=rules.STRATEGY_WINDOW_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(rules.STRATEGY_WINDOW_DAYS_MAX)],
        help_text=_(
            "Interventions started within this many days after the AIMSS diagnosis make up the "
            "management strategy at diagnosis (monotherapy or combined)."
        ),
    )
    adherence_min_days = models.PositiveSmallIntegerField(
        _("adherence lapse threshold (days of 7)"),
        default=rules.ADHERENCE_MIN_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(7)],
        help_text=_("A check-in with the AI taken on fewer of the last 7 days is a lapse."),
    )
    # The clinic holds a licence for MARS-5 and has loaded its wording: the check-in asks it.
    ask_adherence_scale = models.BooleanField(
        _("ask the adherence scale (MARS-5) at check-ins"),
        default=False,
        help_text=_(
            "Only with the clinic's licence and its wording loaded (manage.py "
            "load_adherence_scale FILE); otherwise the check-in does not show it."
        ),
    )
    worsening_points = models.DecimalField(
        _("worsening (points)"),
        max_digits=3,
        decimal_places=1,
        default=rules.WORSENING_POINTS,
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal("10"))],
        help_text=_(
            "Average pain or interference up by at least this much from the previous answers "
            "raises a worsening flag (IMMPACT: about 2)."
        ),
    )
    overdue_days = models.PositiveSmallIntegerField(
        _("overdue after (days)"),
        default=rules.OVERDUE_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text=_("A reassessment still missing this many days after it fell due is overdue."),
    )
    adaptive_interval_weeks = models.PositiveSmallIntegerField(
        _("adaptive reassessment after (weeks)"),
        default=rules.ADAPTIVE_INTERVAL_WEEKS,
        validators=[MinValueValidator(1), MaxValueValidator(rules.ADAPTIVE_INTERVAL_WEEKS_MAX)],
        help_text=_(
            "After a worsening flag, a new intervention or a resumed AI, the next questionnaire "
            "falls due this many weeks later instead of at the routine interval, until two "
            "answers in a row are stable (a clinic rule)."
        ),
    )
    escalation_hours = models.PositiveSmallIntegerField(
        _("escalation after (hours)"),
        default=rules.ESCALATION_HOURS,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 14)],
        help_text=_("An unclaimed high-priority flag goes to the clinicians after this time."),
    )
    target_hours = models.PositiveSmallIntegerField(
        _("target time to act (hours)"),
        default=rules.TARGET_HOURS,
        validators=[MinValueValidator(1), MaxValueValidator(rules.TARGET_HOURS_MAX)],
        help_text=_("The queue shows how long each flag has waited against this target."),
    )
    note_templates = models.JSONField(
        _("note templates"),
        default=list,
        blank=True,
        validators=[validate_note_templates],
        help_text=_("Short notes a nurse picks when recording an action."),
    )
    initial_months = models.JSONField(
        _("first reassessments (months after diagnosis)"),
        default=default_initial_months,
        validators=[validate_months],
        help_text=_("e.g. 0, 1, 2, 3: baseline and the first three months."),
    )
    interval_months = models.PositiveSmallIntegerField(
        _("then every (months)"),
        default=rules.INTERVAL_MONTHS,
        validators=[MinValueValidator(1), MaxValueValidator(rules.INTERVAL_MONTHS_MAX)],
        help_text=_("The guideline: reassess every 2 to 4 months."),
    )
    due_time = models.TimeField(_("due at (patient's local time)"), default=rules.DUE_TIME)
    link_valid_days = models.PositiveSmallIntegerField(
        _("reminder link valid (days)"),
        default=rules.LINK_VALID_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    phone = PhoneNumberField(
        _("clinic phone"), blank=True, help_text=_("The number patients call, e.g. 020 7946 0000.")
    )
    opening_hours = models.CharField(
        _("opening hours"), max_length=200, blank=True, help_text=_("e.g. Mon-Fri 09:00-17:00")
    )
    call_us_words_en = models.CharField(
        _("'call us' words (English)"),
        max_length=200,
        blank=True,
        help_text=_(
            "Shown to a patient after a severe answer, before the clinic phone. "
            "Empty: 'Call us today on'."
        ),
    )
    call_us_words_zh_hans = models.CharField(
        _("'call us' words (Simplified Chinese)"),
        max_length=200,
        blank=True,
        help_text=_("The same words in Simplified Chinese. Empty: the translated default."),
    )
    email_sender_name = models.CharField(
        _("e-mail sender name"),
        max_length=100,
        blank=True,
        help_text=_(
            "The name reminder and invitation e-mails come from. Keep it neutral: a name that "
            "reveals a diagnosis tells whoever sees her inbox. Empty: the product's name."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    pain_moderate_from__gte=2,
                    pain_moderate_from__lt=F("pain_severe_from"),
                    pain_severe_from__lte=10,
                ),
                name="clinic_pain_bands_ordered",
            ),
            models.CheckConstraint(
                condition=Q(high_interference_from__gt=0, high_interference_from__lte=10),
                name="clinic_high_interference_in_range",
            ),
            models.CheckConstraint(
                condition=Q(strategy_window_days__gte=1, strategy_window_days__lte=365),
                name="clinic_strategy_window_positive",
            ),
            models.CheckConstraint(
                condition=Q(adherence_min_days__gte=1, adherence_min_days__lte=7),
                name="clinic_adherence_min_days_1_to_7",
            ),
            models.CheckConstraint(
                condition=Q(worsening_points__gt=0, worsening_points__lte=10),
                name="clinic_worsening_in_range",
            ),
            models.CheckConstraint(
                condition=Q(escalation_hours__gte=1), name="clinic_escalation_positive"
            ),
            models.CheckConstraint(
                condition=Q(target_hours__gte=1, target_hours__lte=rules.TARGET_HOURS_MAX),
                name="clinic_target_hours_in_range",
            ),
            models.CheckConstraint(
                condition=Q(overdue_days__gte=1), name="clinic_overdue_positive"
            ),
            models.CheckConstraint(
                condition=Q(interval_months__gte=1, interval_months__lte=12),
                name="clinic_schedule_interval_1_to_12_months",
            ),
            models.CheckConstraint(
                condition=Q(
                    adaptive_interval_weeks__gte=1,
                    adaptive_interval_weeks__lte=rules.ADAPTIVE_INTERVAL_WEEKS_MAX,
                ),
                name="clinic_adaptive_interval_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def call_us_words(self) -> str:
        """The words before the clinic's phone number, in the current language: the clinic's
        own, or the translated default."""
        own = self.call_us_words_zh_hans if get_language() == "zh-hans" else self.call_us_words_en
        return own or gettext("Call us today on")


# Salt of the session hash below (the one Django's ``AbstractBaseUser`` uses).
SESSION_HASH_SALT = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"


# (mypy's Django plugin cannot see the manager of RecoveryDevice, a django-otp device: the
# package has no type information.)
@audited(exclude=["password", "last_login", "sessions_revoked_at"])
class User(AbstractUser):  # type: ignore[django-manager-missing]
    """A login. ``role`` decides what the user may do; clinics decide whom she may see."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PATIENT)
    clinics = models.ManyToManyField(
        Clinic, through="StaffMembership", related_name="staff", blank=True
    )
    preferred_language = models.CharField(
        max_length=8, choices=Language.choices, default=Language.ENGLISH
    )
    sessions_revoked_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="Every session and API token of this user from before this moment is void "
        "(set when she signs out and when her password changes).",
    )
    invited_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the last invitation e-mail was sent.")
    )
    # A staff member's own mobile, for the text messages she chose for high-priority flags.
    phone = PhoneNumberField(_("mobile phone"), blank=True)
    flag_alert_channels = models.CharField(
        _("high-priority flags reach me by"),
        max_length=8,
        choices=ContactChannels.choices,
        default=ContactChannels.EMAIL,
    )

    class Meta:
        ordering = ["username"]

    def set_password(self, raw_password: str | None) -> None:
        """A new password ends every session and API token (saved with the password)."""
        super().set_password(raw_password)
        self.sessions_revoked_at = timezone.now()

    def check_password(self, raw_password: str | None) -> bool:
        # Django re-hashes an outdated hash here and saves the password field alone: that is
        # not a new password, so her sessions and tokens stay as they were.
        revoked_at = self.sessions_revoked_at
        matched = super().check_password(raw_password)
        self.sessions_revoked_at = revoked_at
        return matched

    def _session_hash(self, secret: str | bytes) -> str:
        revoked = self.sessions_revoked_at.timestamp() if self.sessions_revoked_at else ""
        return salted_hmac(
            SESSION_HASH_SALT,
            f"{self.password}|{revoked}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def get_session_auth_hash(self) -> str:
        """Django's session check (an HMAC of the password), with ``sessions_revoked_at`` in it:
        moving that moment ends all her sessions on every device at their next request."""
        return self._session_hash(settings.SECRET_KEY)

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(fallback_secret)

    @property
    def invitation_used(self) -> bool:
        """Whether she has set a password through her invitation (or signed in since)."""
        return self.has_usable_password() or self.last_login is not None

    @property
    def is_admin_role(self) -> bool:
        return self.is_superuser or self.role == Role.ADMIN

    @property
    def is_care_staff(self) -> bool:
        return self.role in CARE_ROLES

    @cached_property
    def care_clinic_ids(self) -> list[int]:
        """The clinics whose identified patients she cares for (a de-identified membership
        gives none). Read once per request: ``request.user`` lives for one request."""
        return list(
            StaffMembership.objects.filter(user=self, deidentified=False).values_list(
                "clinic_id", flat=True
            )
        )

    @property
    def is_patient_role(self) -> bool:
        return self.role == Role.PATIENT and not self.is_superuser


@audited()
class StaffMembership(models.Model):
    """A staff member's membership of one clinic: identified (care) or de-identified only."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="memberships")
    deidentified = models.BooleanField(
        _("de-identified only"),
        default=False,
        help_text=_(
            "This member sees the clinic's patients only as de-identified analytics, under "
            "disclosure control, never by name (researchers always do)."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["clinic__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "clinic"], name="unique_staff_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.clinic}"


class TnmStage(models.TextChoices):
    # Stage IV (metastatic) is outside the study population and the product's scope.
    STAGE_0_I = "0-I", "0/I"
    STAGE_II = "II", "II"
    STAGE_III = "III", "III"


class Surgery(models.TextChoices):
    LUMPECTOMY = "lumpectomy", _("Lumpectomy")
    MASTECTOMY = "mastectomy", _("Mastectomy")


class MenopausalStatus(models.TextChoices):
    NATURAL = "natural", _("Postmenopausal (natural)")
    SURGICAL = "surgical", _("Postmenopausal (surgical)")
    INDUCED = "induced", _("Postmenopausal (treatment-induced)")


class HrStatus(models.TextChoices):
    ER_PR_POSITIVE = "er+pr+", "ER+ PR+"
    ER_POSITIVE_PR_NEGATIVE = "er+pr-", "ER+ PR-"
    ER_NEGATIVE_PR_POSITIVE = "er-pr+", "ER- PR+"


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """Whole years between ``birth_date`` and ``on``."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def bmi(height_cm: Decimal, weight_kg: Decimal) -> Decimal:
    """Body-mass index in kg/m², to one decimal."""
    metres = Decimal(height_cm) / 100
    return (Decimal(weight_kg) / (metres * metres)).quantize(Decimal("0.1"))


def listed_name(family_name: str, given_name: str) -> str:
    """Her name as the lists sorted by family name show it: "Family, Given" (also for lists
    that read the two fields as values)."""
    return f"{family_name}, {given_name}"


@audited(bulk_written=True)
class Patient(models.Model):
    """A woman on adjuvant aromatase-inhibitor therapy, with the study's baseline record."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    user = models.OneToOneField(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patient",
        help_text=_("Her login, if she uses the patient pages."),
    )
    record_number = models.CharField(_("record number"), max_length=32)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    height_cm = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(HEIGHT_CM_MIN), MaxValueValidator(HEIGHT_CM_MAX)],
    )
    weight_kg = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(WEIGHT_KG_MIN), MaxValueValidator(WEIGHT_KG_MAX)],
    )
    tnm_stage = models.CharField(_("TNM stage"), max_length=3, choices=TnmStage.choices)
    surgery = models.CharField(max_length=16, choices=Surgery.choices)
    chemotherapy = models.BooleanField()
    radiotherapy = models.BooleanField()
    menopausal_status = models.CharField(
        max_length=16, choices=MenopausalStatus.choices, default=MenopausalStatus.NATURAL
    )
    hr_status = models.CharField(
        _("hormone-receptor status"),
        max_length=8,
        choices=HrStatus.choices,
        default=HrStatus.ER_PR_POSITIVE,
    )
    # The study's exclusions (Liang et al.) that no other record derives: a cohort report may
    # leave such patients out, criterion by criterion (analytics.eligibility).
    stage_iv = models.BooleanField(
        _("stage IV (metastatic) disease"),
        default=False,
        help_text=_("Distant metastases at the start of AI therapy."),
    )
    rheumatic_disease = models.BooleanField(
        _("pre-existing rheumatic disease"),
        default=False,
        help_text=_("Rheumatoid arthritis or another rheumatic disease before the AI."),
    )
    long_term_immunosuppression = models.BooleanField(
        _("long-term steroids or immunosuppressants"),
        default=False,
        help_text=_("Long-term systemic corticosteroids or immunosuppressive drugs."),
    )
    aimss_diagnosis_date = models.DateField(
        _("AIMSS diagnosis date"),
        null=True,
        blank=True,
        help_text=_("Empty while she has no aromatase inhibitor-associated symptoms."),
    )
    # Kept with her record, so that every page of hers, in any app, says she died.
    died_on = models.DateField(_("date of death"), null=True, blank=True, editable=False)
    email = models.EmailField(blank=True)
    phone = PhoneNumberField(
        _("mobile phone"), blank=True, help_text=_("Stored in international (E.164) form.")
    )
    preferred_language = models.CharField(
        max_length=8, choices=Language.choices, default=Language.ENGLISH
    )
    time_zone = models.CharField(max_length=64, default="UTC")
    quiet_hours_start = models.TimeField(default=rules.QUIET_HOURS_START)
    quiet_hours_end = models.TimeField(default=rules.QUIET_HOURS_END)
    reminder_channels = models.CharField(
        _("reminders by"),
        max_length=8,
        choices=ContactChannels.choices,
        default=ContactChannels.EMAIL,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reminder_channels__in=ContactChannels.values),
                name="patient_reminder_channels_known",
            ),
            models.UniqueConstraint(
                fields=["clinic", "record_number"], name="unique_record_number_per_clinic"
            ),
            models.CheckConstraint(
                condition=Q(tnm_stage__in=TnmStage.values), name="patient_tnm_stage_in_scope"
            ),
            models.CheckConstraint(
                condition=Q(height_cm__gte=HEIGHT_CM_MIN, height_cm__lte=HEIGHT_CM_MAX),
                name="patient_height_plausible",
            ),
            models.CheckConstraint(
                condition=Q(weight_kg__gte=WEIGHT_KG_MIN, weight_kg__lte=WEIGHT_KG_MAX),
                name="patient_weight_plausible",
            ),
            # BMI = weight / (height/100)², so 10 <= BMI <= 80 without a division.
            models.CheckConstraint(
                condition=Q(
                    weight_kg__gte=F("height_cm") * F("height_cm") * BMI_MIN / 10000,
                    weight_kg__lte=F("height_cm") * F("height_cm") * BMI_MAX / 10000,
                ),
                name="patient_bmi_plausible",
            ),
            models.CheckConstraint(
                condition=Q(aimss_diagnosis_date__isnull=True)
                | Q(aimss_diagnosis_date__gt=F("birth_date")),
                name="patient_diagnosis_after_birth",
            ),
        ]
        indexes = [models.Index(fields=["clinic", "family_name"])]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name} ({self.record_number})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def listed_name(self) -> str:
        return listed_name(self.family_name, self.given_name)

    @property
    def age(self) -> int:
        return age_on(self.birth_date, timezone.localdate())

    @property
    def bmi(self) -> Decimal:
        return bmi(self.height_cm, self.weight_kg)

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        today = timezone.localdate()
        if self.birth_date and self.birth_date > today:
            errors.setdefault("birth_date", []).append(_("Birth date cannot be in the future."))
        if self.tnm_stage and self.tnm_stage not in TnmStage.values:
            errors.setdefault("tnm_stage", []).append(
                _("Stage %(stage)s is out of scope: choose 0/I, II or III (stage IV is excluded).")
                % {"stage": self.tnm_stage}
            )
        if self.height_cm is not None and self.weight_kg is not None and self.height_cm > 0:
            value = bmi(self.height_cm, self.weight_kg)
            if not BMI_MIN <= value <= BMI_MAX:
                errors.setdefault("weight_kg", []).append(
                    _(
                        "Height %(h)s cm and weight %(w)s kg give a BMI of %(bmi)s kg/m², "
                        "outside the possible 10-80; check both values."
                    )
                    % {"h": self.height_cm, "w": self.weight_kg, "bmi": value}
                )
        if self.aimss_diagnosis_date:
            if self.aimss_diagnosis_date > today:
                errors.setdefault("aimss_diagnosis_date", []).append(
                    _("The AIMSS diagnosis date cannot be in the future.")
                )
            if self.birth_date and self.aimss_diagnosis_date <= self.birth_date:
                errors.setdefault("aimss_diagnosis_date", []).append(
                    _("The AIMSS diagnosis date must come after the birth date.")
                )
        if wants_sms(self.reminder_channels) and not self.phone:
            errors.setdefault("reminder_channels", []).append(
                _("Text-message reminders need her mobile phone number.")
            )
        if errors:
            raise ValidationError(errors)


class OptOutVia(models.TextChoices):
    REPLY = "reply", _("Replied with a stop keyword")
    LINK = "link", _("Opened the stop link")
    PROFILE = "profile", _("Changed her profile")


class SmsOptOut(models.Model):
    """A stop of text messages: whose number, when and how. Append-only by use: the
    application only ever adds rows."""

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, null=True, blank=True, related_name="sms_opt_outs"
    )
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, blank=True, related_name="sms_opt_outs"
    )
    phone = PhoneNumberField(blank=True)
    via = models.CharField(max_length=8, choices=OptOutVia.choices)
    keyword = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(patient__isnull=False) | Q(user__isnull=False),
                name="sms_opt_out_of_someone",
            ),
        ]

    def __str__(self) -> str:
        return f"SMS opt-out {self.pk} ({self.via})"


class AccessRecord(models.Model):
    """One staff view of one patient's data. Append-only: the database refuses
    updates and deletes."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="access_records")
    what = models.CharField(max_length=120, help_text=_("The record viewed, by type and id."))
    viewed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-viewed_at", "-id"]
        indexes = [models.Index(fields=["patient", "viewed_at"])]
        triggers = [
            pgtrigger.Protect(
                name="access_record_append_only",
                operation=pgtrigger.Update | pgtrigger.Delete,
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} viewed {self.what}"


# Recovery codes are 80 random bits, not chosen passwords: Argon2 at a light cost (8 MiB, one
# pass) keeps a copy of the table useless without making each check cost what a password's does.
RECOVERY_CODE_HASHER = Argon2PasswordHasher()
RECOVERY_CODE_HASHER.time_cost = 1
RECOVERY_CODE_HASHER.memory_cost = 8192
RECOVERY_CODE_HASHER.parallelism = 1


class RecoveryDevice(TimestampMixin, ThrottlingMixin, Device):
    """A staff member's one-use recovery codes (a django-otp device), each kept only as a
    password hash: shown to her once when made, never readable again by anyone."""

    user = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        related_name="recovery_devices",
        help_text="The user that this device belongs to.",
    )

    class Meta:
        ordering = ["user_id"]

    def get_throttle_factor(self) -> int:
        return 1  # seconds after a wrong code, doubling: guessing is slowed down

    def verify_token(self, token: Any) -> bool:
        allowed, _reason = self.verify_is_allowed()
        if not allowed:
            return False
        token = str(token)
        for code in self.codes.all():
            # claimed by deleting it, so that two requests cannot both use one code
            if check_password(token, code.code_hash) and (
                RecoveryCode.objects.filter(pk=code.pk).delete()[0] == 1
            ):
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self.save()
                return True
        self.throttle_increment()
        return False


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=128)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Recovery code {self.pk} of device {self.device_id}"
