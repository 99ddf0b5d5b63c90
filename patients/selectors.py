"""Reads about patients shared by pages and API."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from .disclosure import suppress_linked
from .models import Clinic, User


def clinics_of(user: User) -> QuerySet[Clinic]:
    """The clinics a staff user works in (all of them for an administrator)."""
    if user.is_admin_role:
        return Clinic.objects.all()
    return Clinic.objects.filter(memberships__user=user)


def cohort_summary(*, user: User) -> list[dict[str, Any]]:
    """De-identified counts per clinic of ``user`` (for researchers): no names, no dates, and
    under disclosure control (a count of 1-10 is None, as is one that would give it away)."""
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
    return [_suppressed(dict(row)) for row in rows]


def _suppressed(row: dict[str, Any]) -> dict[str, Any]:
    """A clinic's row of counts: stages add up to the patients, and so do the diagnosed and
    the undiagnosed (not shown, but derivable), so each is suppressed as a table."""
    cells = {k: v for k, v in row.items() if k.startswith("n_")}
    cells["undiagnosed"] = cells["n_patients"] - cells["n_diagnosed"]
    stages = ["n_stage_0_i", "n_stage_ii", "n_stage_iii"]
    kept = suppress_linked(
        cells,
        [["n_diagnosed", "undiagnosed", "n_patients"], [*stages, "n_patients"]],
    )
    del kept["undiagnosed"]
    return row | kept


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
