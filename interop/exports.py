"""CSV exports of responses, treatment events, interventions and flags, streamed.

Rows are read with ``QuerySet.iterator(chunk_size=...)`` (a server-side cursor on PostgreSQL)
and written one at a time into the response, so 100,000 rows never sit in memory.

Who gets what (README, "CSV exports"):

- care staff and administrators: the patients of their clinics (administrators: all),
  identified by clinic and record number, dates exact, free text included;
- researchers: the clinics they are granted that hold at least 11 patients (none such: the
  export is refused), under HIPAA Safe Harbor (45 CFR 164.514(b)(2)): per-export random
  pseudonyms for patients and clinics (never derived from a database or API id, different in
  every export), the year of the AIMSS diagnosis and the age then (whole years, "90+" over 89)
  instead of a birth date, every other date as days from the AIMSS diagnosis, no record ids, no
  free text, rows in a random order. A user with no clinic granted gets no rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from adherence.models import Intervention, TreatmentEvent
from assessments.models import INTERFERENCE_FIELDS, Response
from followup.models import Flag
from patients.access import patient_filter
from patients.disclosure import MIN_CELL, age_label
from patients.models import Clinic, Patient, User, age_on

CHUNK_SIZE = 2000  # rows fetched per round trip of the server-side cursor
PSEUDONYM_BYTES = 8  # 64 random bits: collisions negligible at any clinic's size
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # spreadsheet formula injection
# Patient columns read for the identity columns (never written for researchers).
PATIENT_VALUES = ("patient_id", "clinic__code", "record_number", "birth_date", "diagnosis")
# Record columns researchers never get: database ids join to the API and to other exports.
RECORD_IDS = ("id", "supersedes_id")


class Pseudonyms:
    """Random stand-ins, drawn fresh for each export: the same patient has the same pseudonym
    within one export (her rows can be linked) and an unrelated one in the next."""

    def __init__(self) -> None:
        self.given: dict[Any, str] = {}

    def __call__(self, key: Any) -> str:
        if key not in self.given:
            self.given[key] = secrets.token_hex(PSEUDONYM_BYTES)
        return self.given[key]


def days_from(value: dt.date | dt.datetime | None, origin: dt.date | None) -> int | str:
    """Whole days from ``origin`` (the AIMSS diagnosis) to ``value`` (UTC calendar days)."""
    if value is None or origin is None:
        return ""
    day = value.astimezone(dt.UTC).date() if isinstance(value, dt.datetime) else value
    return (day - origin).days


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Export:
    """One export: its rows (a queryset of patient-owned records), their columns, and the
    path from the record to its patient. ``free_text`` columns go to care staff only."""

    queryset: Callable[[], QuerySet[Any]]
    patient_path: str
    columns: tuple[str, ...]
    dates: tuple[str, ...] = ()
    free_text: tuple[str, ...] = ()


EXPORTS: dict[str, Export] = {
    "responses": Export(
        queryset=lambda: Response.objects.current(),
        patient_path="patient",
        columns=(
            "id",
            "submitted_at",
            "recall_period",
            "entry_mode",
            "instrument__version",
            "has_pain_today",
            "worst_location",
            "worst_pain",
            "least_pain",
            "average_pain",
            "pain_now",
            "relief_percent",
            *(field for _name, field in INTERFERENCE_FIELDS),
            "pain_severity_score",
            "interference_score",
            "pain_band",
            "interference_high",
            "supersedes_id",
        ),
        dates=("submitted_at",),
        free_text=("treatments",),
    ),
    "events": Export(
        queryset=TreatmentEvent.objects.all,
        patient_path="patient",
        columns=("id", "kind", "start_date", "end_date", "reason", "explicit_aimss_termination"),
        dates=("start_date", "end_date"),
        free_text=("note",),
    ),
    "interventions": Export(
        queryset=Intervention.objects.all,
        patient_path="patient",
        columns=("id", "category", "measure", "start_date", "end_date"),
        dates=("start_date", "end_date"),
        free_text=("note",),
    ),
    "flags": Export(
        queryset=Flag.objects.all,
        patient_path="patient",
        columns=(
            "id",
            "kind",
            "status",
            "priority",
            "opened_at",
            "last_triggered_at",
            "trigger_count",
            "claimed_at",
            "first_action_at",
            "escalated_at",
            "resolved_at",
        ),
        dates=(
            "opened_at",
            "last_triggered_at",
            "claimed_at",
            "first_action_at",
            "escalated_at",
            "resolved_at",
        ),
    ),
}


def export_allowed(user: User) -> bool:
    return user.is_active and (user.is_admin_role or user.is_care_staff or _is_researcher(user))


def _is_researcher(user: User) -> bool:
    return not (user.is_admin_role or user.is_care_staff or user.is_patient_role)


def researcher_clinic_ids(user: User) -> list[int]:
    """The granted clinics a researcher's export covers: those with at least MIN_CELL
    patients (an empty grant covers none)."""
    if not user.is_active:
        return []
    granted = Clinic.objects.filter(memberships__user=user)
    sized = granted.annotate(n=Count("patients")).filter(n__gte=MIN_CELL)
    return list(sized.values_list("pk", flat=True))


def refusal(user: User) -> str | None:
    """Why ``user``'s export is refused, or None: a researcher's granted patients are all in
    clinics too small to export."""
    if not _is_researcher(user) or researcher_clinic_ids(user):
        return None
    if Patient.objects.filter(clinic__memberships__user=user).exists():
        return _(
            "This export is refused: each of your clinics has fewer than 11 patients, and a "
            "de-identified export never describes fewer."
        )
    return None


def _scope(user: User, path: str) -> Q:
    """Care staff and admins: what ``patients.access`` grants; researchers: granted clinics
    large enough to export."""
    if _is_researcher(user):
        return Q(**{f"{path}__clinic_id__in": researcher_clinic_ids(user)})
    return patient_filter(user, path)


def export_rows(*, user: User, name: str) -> Iterator[list[Any]]:
    """The header, then one row per record within ``user``'s reach (identified or not)."""
    if _is_researcher(user):
        yield from _safe_harbor_rows(user=user, name=name)
        return
    export = EXPORTS[name]
    path = export.patient_path
    own = export.columns + export.free_text
    queryset = (
        export.queryset()
        .filter(_scope(user, path))
        .order_by(f"{path}_id", "id")
        .values_list(*own, f"{path}__clinic__code", f"{path}__record_number")
    )
    yield ["clinic", "record_number", *own]
    for values in queryset.iterator(chunk_size=CHUNK_SIZE):
        yield [values[-2], values[-1], *values[: len(own)]]


def _safe_harbor_rows(*, user: User, name: str) -> Iterator[list[Any]]:
    """A researcher's rows under HIPAA Safe Harbor (see the module's docstring)."""
    export = EXPORTS[name]
    path = export.patient_path
    own = [c for c in export.columns if c not in RECORD_IDS]
    queryset = (
        export.queryset()
        .filter(_scope(user, path))
        .order_by("?")  # rows in a random order: the order says nothing about a patient
        .values_list(
            *own,
            f"{path}_id",
            f"{path}__clinic_id",
            f"{path}__birth_date",
            f"{path}__aimss_diagnosis_date",
        )
    )
    columns = [f"{c}_day" if c in export.dates else c for c in own]
    yield ["site", "pseudonym", "diagnosis_year", "age_at_diagnosis", *columns]
    patients, sites = Pseudonyms(), Pseudonyms()
    for values in queryset.iterator(chunk_size=CHUNK_SIZE):
        patient_id, clinic_id, birth, diagnosis = values[len(own) :]
        record = dict(zip(own, values[: len(own)], strict=True))
        age = age_label(age_on(birth, diagnosis)) if diagnosis else ""
        cells = [days_from(record[c], diagnosis) if c in export.dates else record[c] for c in own]
        yield [
            sites(clinic_id),
            patients(patient_id),
            diagnosis.year if diagnosis else "",
            age,
            *cells,
        ]


class _Echo:
    """A file-like object whose ``write`` hands the line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([_cell(value) for value in row])


def export_patient_ids(*, user: User, name: str) -> list[int]:
    """The patients whose records an export holds for ``user`` (for her access records)."""
    export = EXPORTS[name]
    path = export.patient_path
    return list(
        export.queryset()
        .filter(_scope(user, path))
        .order_by()
        .values_list(f"{path}_id", flat=True)
        .distinct()
    )
