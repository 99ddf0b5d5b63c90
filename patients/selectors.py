"""Reads about patients shared by pages and API."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from .models import Clinic, User


def clinics_of(user: User) -> QuerySet[Clinic]:
    """The clinics a staff user works in (all of them for an administrator)."""
    if user.is_admin_role:
        return Clinic.objects.all()
    return Clinic.objects.filter(memberships__user=user)


def cohort_summary(*, user: User) -> list[dict[str, Any]]:
    """De-identified counts per clinic of ``user`` (for researchers): no names, no dates."""
    rows = (
        clinics_of(user)
        .annotate(
            n_patients=Count("patients"),
            n_diagnosed=Count("patients", filter=Q(patients__aimss_diagnosis_date__isnull=False)),
            n_stage_0_i=Count("patients", filter=Q(patients__tnm_stage="0-I")),
            n_stage_ii=Count("patients", filter=Q(patients__tnm_stage="II")),
            n_stage_iii=Count("patients", filter=Q(patients__tnm_stage="III")),
        )
        .values("name", "n_patients", "n_diagnosed", "n_stage_0_i", "n_stage_ii", "n_stage_iii")
    )
    return [dict(row) for row in rows]
