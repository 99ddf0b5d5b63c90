"""Cohort report jobs (the cache of computed reports) and the record of imported patients."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from patients.models import Patient


class JobStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Computing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    REFUSED = "refused", _("Refused")


class ReportStep(models.TextChoices):
    """The analysis a running report is computing (shown beside its progress bar)."""

    COHORT = "cohort", _("Building the analysis dataset")
    TABLE1 = "table1", _("Table 1")
    SURVIVAL = "survival", _("Kaplan-Meier curves and log-rank tests")
    COX = "cox", _("Univariate Cox models")
    ADJUSTED = "adjusted", _("Multivariable and stratified Cox models, landmark analysis")
    TRAJECTORY = "trajectory", _("Baseline to month 3")
    COMPETING = "competing", _("Competing risks")
    EVIDENCE = "evidence", _("Interaction, weighting, Fine-Gray and mixed models")


class ReportJob(models.Model):
    """One request for a cohort report: its filter, progress and (when done) its result.

    A done job is also the cache: a request with the same ``cache_key`` (the filter and the
    data version) reuses its result. A job belongs to the user who asked for it.

    A job under ``disclosure_control`` holds only the suppressed result (or, ``refused``, none:
    ``error`` then names the rule that refused it), and its ``n_patients`` is shown only when
    it is 0 or at least 11.
    """

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_jobs"
    )
    filter = models.JSONField(help_text=_("Clinic ids and AIMSS diagnosis dates."))
    cache_key = models.CharField(max_length=64)
    n_patients = models.PositiveIntegerField(default=0)
    disclosure_control = models.BooleanField(
        default=False,
        help_text=_("Computed for a user without access to identified data: small cells hidden."),
    )
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    # what a running job is computing now: a stage's name, never a figure
    step = models.CharField(max_length=12, choices=ReportStep.choices, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0, progress__lte=100), name="reportjob_progress_0_100"
            ),
            models.CheckConstraint(
                condition=Q(status__in=JobStatus.values), name="reportjob_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["cache_key"],
                condition=Q(status=JobStatus.DONE),
                name="reportjob_done_cache_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"cohort report {self.pk} ({self.status})"

    @property
    def n_patients_shown(self) -> int | None:
        """The cohort's size as lists may show it (None: hidden by disclosure control)."""
        from .disclosure import is_small

        return None if self.disclosure_control and is_small(self.n_patients) else self.n_patients


class ImportedPatient(models.Model):
    """A patient loaded by ``manage.py import_cohort``: the row's fingerprint, so a second
    import of the same row changes nothing. (Her chart's last follow-up date is
    :class:`adherence.models.ExternalFollowUp`.)"""

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="import_record")
    row_sha256 = models.CharField(max_length=64)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["patient_id"]

    def __str__(self) -> str:
        return f"imported patient {self.patient_id}"
