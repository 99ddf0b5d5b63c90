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


def patient_search(queryset: QuerySet[Any], text: str) -> QuerySet[Any]:
    """Patients matching what staff type: "Family, Given" (the lists' own format), "Given
    Family" (or any words of her names, in any order), or her record number."""
    text = text.strip()
    if not text:
        return queryset
    if "," in text:
        family, _comma, given = (part.strip() for part in text.partition(","))
        names = Q(family_name__icontains=family) if family else Q()
        if given:
            names &= Q(given_name__icontains=given)
    else:
        names = Q()
        for word in text.split():
            names &= (
                Q(given_name__icontains=word)
                | Q(family_name__icontains=word)
                | Q(record_number__icontains=word)
            )
    return queryset.filter(names | Q(record_number__iexact=text))
