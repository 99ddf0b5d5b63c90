"""Clinics, the people who use the product, and patients with their study baseline.

Baseline characteristics follow Table 1 of the study (Liang et al.). Derived values (age, BMI)
are computed from what was recorded and never stored a second time.
"""

from __future__ import annotations

import datetime as dt
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
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from phonenumber_field.modelfields import PhoneNumberField

from aimss_tracker.audit import audited

# Plausibility bounds for adult body measures (an impossible value gets a clear error).
BMI_MIN = Decimal("10")  # kg/m²
BMI_MAX = Decimal("80")  # kg/m²
HEIGHT_CM_MIN, HEIGHT_CM_MAX = 100, 250
WEIGHT_KG_MIN, WEIGHT_KG_MAX = 20, 350

# Default BPI-SF thresholds a clinic may change (Cleeland's BPI User Guide; Serlin 1995).
PAIN_MODERATE_FROM = 5  # 0-10 pain severity; Serlin 1995: 1-4 mild, 5-6 moderate, 7-10 severe
PAIN_SEVERE_FROM = 7  # Serlin 1995
HIGH_INTERFERENCE_FROM = Decimal("7.0")  # 0-10 interference score; Serlin 1995; Shi 2017; the study
# The study's "initial management" (Liang et al.): categories started within this many days
# after the AIMSS diagnosis decide monotherapy vs combined.
STRATEGY_WINDOW_DAYS = 14  # days
# The adherence-lapse flag rule: a lapse is the AI taken on fewer than 5 of the last 7 days.
ADHERENCE_MIN_DAYS = 5  # days of the last 7


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    CHINESE_SIMPLIFIED = "zh-hans", "简体中文"


class Role(models.TextChoices):
    PATIENT = "patient", _("Patient")
    NURSE = "nurse", _("Nurse")
    CLINICIAN = "clinician", _("Clinician")
    RESEARCHER = "researcher", _("Researcher")
    ADMIN = "admin", _("Administrator")


# Roles that care for identified patients of their clinics.
CARE_ROLES = frozenset({Role.NURSE, Role.CLINICIAN})


@audited()
class Clinic(models.Model):
    """A site. A patient belongs to one clinic; staff belong to one or more."""

    name = models.CharField(max_length=200, unique=True)
    code = models.SlugField(max_length=32, unique=True, help_text=_("Short code, e.g. 'rbc'."))
    time_zone = models.CharField(max_length=64, default="UTC")
    pain_moderate_from = models.PositiveSmallIntegerField(
        default=PAIN_MODERATE_FROM,
        validators=[MinValueValidator(2), MaxValueValidator(9)],
        help_text=_("Pain severity from which pain counts as moderate (Serlin 1995: 5)."),
    )
    pain_severe_from = models.PositiveSmallIntegerField(
        default=PAIN_SEVERE_FROM,
        validators=[MinValueValidator(3), MaxValueValidator(10)],
        help_text=_("Pain severity from which pain counts as severe (Serlin 1995: 7)."),
    )
    high_interference_from = models.DecimalField(
        max_digits=3,
        decimal_places=1,
        default=HIGH_INTERFERENCE_FROM,
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal("10"))],
        help_text=_("Interference score from which interference is high (the study: 7)."),
    )
    strategy_window_days = models.PositiveSmallIntegerField(
        _("initial management window (days)"),
        default=STRATEGY_WINDOW_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_(
            "Interventions started within this many days after the AIMSS diagnosis make up the "
            "management strategy at diagnosis (monotherapy or combined)."
        ),
    )
    adherence_min_days = models.PositiveSmallIntegerField(
        _("adherence lapse threshold (days of 7)"),
        default=ADHERENCE_MIN_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(7)],
        help_text=_("A check-in with the AI taken on fewer of the last 7 days is a lapse."),
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


@audited()
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
    email = models.EmailField(blank=True)
    phone = PhoneNumberField(
        _("mobile phone"), blank=True, help_text=_("Stored in international (E.164) form.")
    )
    preferred_language = models.CharField(
        max_length=8, choices=Language.choices, default=Language.ENGLISH
    )
    time_zone = models.CharField(max_length=64, default="UTC")
    quiet_hours_start = models.TimeField(default=dt.time(21, 0))
    quiet_hours_end = models.TimeField(default=dt.time(8, 0))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        constraints = [
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
        """Her name as the lists sorted by family name show it: "Family, Given"."""
        return f"{self.family_name}, {self.given_name}"

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
        if errors:
            raise ValidationError(errors)


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
