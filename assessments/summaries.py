"""Keeping ``ScoreSummary`` (each patient's latest and previous scores) right on every write.

Every writer of responses calls one of these in the transaction that writes them:

- :func:`score_summary_record` after a submission: one statement, an upsert that moves her
  latest response to "previous" when the new one is newer. It works from the row as committed
  by any concurrent submission (the upsert waits for its lock), so two submissions at once for
  one patient still leave the newest as latest and the other as previous.
- :func:`score_summaries_refresh` after a correction or a bulk insert (demo, ``import_cohort``,
  bench data): recomputes the rows of the given patients from their current responses.

Both copy her clinic and family name from her record as it is committed when they run (the
list's index reads them); :func:`score_summary_follow_patient` copies them again when she
moves or is renamed (``patients.services.patient_update``, by task name). A submission's
foreign key to her record waits for a move or rename in progress (it locks her record), so
the copy is never older than the record.

Kept apart from ``services.py`` so that the submission path gains a single call.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import F, Subquery, Window
from django.db.models.functions import RowNumber

from patients.models import Patient

from .models import Response, ScoreSummary

# (summary column, response field) of the latest response; the first four are also kept for
# the previous one.
LATEST = (
    ("latest_response_id", "id"),
    ("latest_at", "submitted_at"),
    ("latest_average", "average_pain"),
    ("latest_interference", "interference_score"),
    ("latest_band", "pain_band"),
    ("latest_high", "interference_high"),
)
PREVIOUS = ("previous_response_id", "previous_at", "previous_average", "previous_interference")
PATIENT_COPY = ("clinic_id", "family_name")  # copied from her record (the same column names)
REFRESH_CHUNK = 2000  # patients per statement (SQLite caps the number of parameters)

# Is the new response (excluded.*) newer than her latest, or else (and not her latest itself:
# counting one twice changes nothing) newer than her previous one?
_NEWER_THAN_LATEST = (
    "(excluded.latest_at, excluded.latest_response_id) > (s.latest_at, s.latest_response_id)"
)
_NEWER_THAN_PREVIOUS = (
    "(excluded.latest_response_id <> s.latest_response_id AND (s.previous_at IS NULL OR "
    "(excluded.latest_at, excluded.latest_response_id) > (s.previous_at, s.previous_response_id)))"
)


def _record_sql() -> str:
    latest = [column for column, _field in LATEST]
    updates = [
        f"{previous} = CASE WHEN {_NEWER_THAN_LATEST} THEN s.{column} "
        f"WHEN {_NEWER_THAN_PREVIOUS} THEN excluded.{column} ELSE s.{previous} END"
        for previous, column in zip(PREVIOUS, latest, strict=False)
    ]
    updates += [
        f"{column} = CASE WHEN {_NEWER_THAN_LATEST} THEN excluded.{column} ELSE s.{column} END"
        for column in latest
    ]
    updates += [f"{column} = excluded.{column}" for column in PATIENT_COPY]
    # PostgreSQL and SQLite (3.24+) share this upsert syntax (SQLite needs the WHERE to tell
    # the upsert from a join); SET expressions read the row as it was before the update. Only
    # constant table and column names are formatted in.
    table, patients = ScoreSummary._meta.db_table, Patient._meta.db_table
    cols = ", ".join([*PATIENT_COPY, *latest])
    copied = ", ".join(f"p.{column}" for column in PATIENT_COPY)
    vals = ", ".join(["%s"] * len(latest))
    return (
        f"INSERT INTO {table} AS s (patient_id, {cols}) "  # noqa: S608 # nosec
        f"SELECT p.id, {copied}, {vals} FROM {patients} p WHERE p.id = %s "
        f"ON CONFLICT (patient_id) DO UPDATE SET {', '.join(updates)}"
    )


RECORD_SQL = _record_sql()


def score_summary_record(*, response: Response) -> None:
    """Count a newly submitted (current) response in her summary: one upsert."""
    fields = {f.attname: f for f in ScoreSummary._meta.concrete_fields}
    params = [
        fields[column].get_db_prep_save(getattr(response, field), connection)
        for column, field in LATEST
    ]
    params.append(response.patient_id)
    with connection.cursor() as cursor:
        cursor.execute(RECORD_SQL, params)


def score_summaries_refresh(*, patient_ids: Iterable[int]) -> None:
    """Recompute the summaries of ``patient_ids`` from their current responses.

    For writers that insert many responses at once or supersede one (a correction). Their
    summary rows are locked first, so that a submission for one of them waits and then counts
    its response on top of the recomputed row.
    """
    ids = sorted(set(patient_ids))
    for start in range(0, len(ids), REFRESH_CHUNK):
        _refresh(ids[start : start + REFRESH_CHUNK])


def _refresh(ids: list[int]) -> None:
    list(ScoreSummary.objects.select_for_update().filter(patient_id__in=ids).values_list("pk"))
    ranked = (
        Response.objects.current()
        .filter(patient_id__in=ids)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("patient_id")],
                order_by=[F("submitted_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=2)
        .order_by("patient_id", "rank")
        .values_list(
            "patient_id",
            *(f"patient__{column}" for column in PATIENT_COPY),
            *(field for _column, field in LATEST),
        )
    )
    summaries: dict[int, ScoreSummary] = {}
    for patient_id, clinic_id, family_name, *values in ranked:
        summary = summaries.get(patient_id)
        if summary is None:
            summaries[patient_id] = ScoreSummary(
                patient_id=patient_id,
                clinic_id=clinic_id,
                family_name=family_name,
                **{column: value for (column, _f), value in zip(LATEST, values, strict=True)},
            )
        else:  # the second newest
            for column, value in zip(PREVIOUS, values, strict=False):
                setattr(summary, column, value)
    update: list[Any] = [column.removesuffix("_id") for column in PATIENT_COPY]
    update += [column.removesuffix("_id") for column, _f in LATEST]
    update += [column.removesuffix("_id") for column in PREVIOUS]
    ScoreSummary.objects.bulk_create(
        summaries.values(),
        update_conflicts=True,
        unique_fields=["patient"],
        update_fields=update,
    )


def score_summary_follow_patient(*, patient_id: int) -> None:
    """Copy her clinic and family name again into her summary, after a move or a rename."""
    record = Patient.objects.filter(pk=patient_id)
    ScoreSummary.objects.filter(patient_id=patient_id).update(
        clinic_id=Subquery(record.values("clinic_id")),
        family_name=Subquery(record.values("family_name")),
    )
