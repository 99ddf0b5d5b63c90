"""CSV exports of responses, treatment events, interventions and flags, streamed.

Rows are read with ``QuerySet.iterator(chunk_size=...)`` (a server-side cursor on PostgreSQL)
and written one at a time into the response, so 100,000 rows never sit in memory.

Who gets what (README, "CSV exports"):

- care staff and administrators: the patients of their clinics (administrators: all),
  identified by clinic and record number, dates exact, free text included;
- researchers: the clinics they are granted, de-identified: a pseudonym per patient (an HMAC
  of the patient id under ``SECRET_KEY``, stable across exports), age at AIMSS diagnosis instead
  of a birth date, dates cut to the month (``YYYY-MM``), no names, contact or free text.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.crypto import salted_hmac

from adherence.models import Intervention, TreatmentEvent
from assessments.models import INTERFERENCE_FIELDS, Response
from followup.models import Flag
from patients.access import NO_ONE, patient_filter
from patients.models import User, age_on

CHUNK_SIZE = 2000  # rows fetched per round trip of the server-side cursor
PSEUDONYM_SALT = "aimss.interop.export-pseudonym"
PSEUDONYM_CHARS = 16  # 64 bits of the HMAC: collisions negligible at any clinic's size
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # spreadsheet formula injection
# Patient columns read for the identity columns (never written for researchers).
PATIENT_VALUES = ("patient_id", "clinic__code", "record_number", "birth_date", "diagnosis")


def pseudonym(patient_id: int) -> str:
    """A stable, non-reversible stand-in for a patient id (needs ``SECRET_KEY`` to link)."""
    return salted_hmac(PSEUDONYM_SALT, str(patient_id)).hexdigest()[:PSEUDONYM_CHARS]


def month(value: dt.date | dt.datetime | None) -> str:
    return value.strftime("%Y-%m") if value else ""


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


def _scope(user: User, path: str) -> Q:
    """Care staff and admins: what ``patients.access`` grants; researchers: granted clinics."""
    if _is_researcher(user):
        return Q(**{f"{path}__clinic__memberships__user": user}) if user.is_active else NO_ONE
    return patient_filter(user, path)


def export_rows(*, user: User, name: str) -> Iterator[list[Any]]:
    """The header, then one row per record within ``user``'s reach (identified or not)."""
    export = EXPORTS[name]
    deidentified = _is_researcher(user)
    path = export.patient_path
    patient_values = {
        "patient_id": f"{path}_id",
        "clinic__code": f"{path}__clinic__code",
        "record_number": f"{path}__record_number",
        "birth_date": f"{path}__birth_date",
        "diagnosis": f"{path}__aimss_diagnosis_date",
    }
    own = export.columns if deidentified else export.columns + export.free_text
    queryset = (
        export.queryset()
        .filter(_scope(user, path))
        .order_by(f"{path}_id", "id")
        .values_list(*own, *patient_values.values())
    )
    if deidentified:
        yield ["clinic", "pseudonym", "age_at_diagnosis", *own]
    else:
        yield ["clinic", "record_number", *own]
    for values in queryset.iterator(chunk_size=CHUNK_SIZE):
        record = dict(zip(own, values[: len(own)], strict=True))
        patient = dict(zip(PATIENT_VALUES, values[len(own) :], strict=True))
        if deidentified:
            diagnosis, birth = patient["diagnosis"], patient["birth_date"]
            identity = [
                patient["clinic__code"],
                pseudonym(patient["patient_id"]),
                age_on(birth, diagnosis) if diagnosis else "",
            ]
            cells = [month(record[c]) if c in export.dates else record[c] for c in own]
        else:
            identity = [patient["clinic__code"], patient["record_number"]]
            cells = [record[c] for c in own]
        yield identity + cells


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
