"""Keeping ``ScoreSummary`` (each patient's latest and previous scores) right on every write.

Every writer of responses calls one of these in the transaction that writes them:

- :func:`score_summary_record` after a submission: one statement, an upsert that moves her
  latest response to "previous" when the new one is newer. It works from the row as committed
  by any concurrent submission (the upsert waits for its lock), so two submissions at once for
  one patient still leave the newest as latest and the other as previous.
- :func:`score_summaries_refresh` after a correction or a bulk insert (demo, ``import_cohort``,
  bench data): recomputes the rows of the given patients from their current responses.

Kept apart from ``services.py`` so that the submission path gains a single call.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import F, Window
from django.db.models.functions import RowNumber

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
    # PostgreSQL and SQLite (3.24+) share this upsert syntax; SET expressions read the row as
    # it was before the update. Only constant column names are formatted in.
    table, cols = ScoreSummary._meta.db_table, ", ".join(latest)
    vals = ", ".join(["%s"] * len(latest))
    return (
        f"INSERT INTO {table} AS s (patient_id, {cols}) VALUES (%s, {vals}) "  # noqa: S608 # nosec
        f"ON CONFLICT (patient_id) DO UPDATE SET {', '.join(updates)}"
    )


RECORD_SQL = _record_sql()


def score_summary_record(*, response: Response) -> None:
    """Count a newly submitted (current) response in her summary: one upsert."""
    fields = {f.attname: f for f in ScoreSummary._meta.concrete_fields}
    params = [response.patient_id] + [
        fields[column].get_db_prep_save(getattr(response, field), connection)
        for column, field in LATEST
    ]
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
        .values_list("patient_id", *(field for _column, field in LATEST))
    )
    summaries: dict[int, ScoreSummary] = {}
    for patient_id, *values in ranked:
        summary = summaries.get(patient_id)
        if summary is None:
            summaries[patient_id] = ScoreSummary(
                patient_id=patient_id,
                **{column: value for (column, _f), value in zip(LATEST, values, strict=True)},
            )
        else:  # the second newest
            for column, value in zip(PREVIOUS, values, strict=False):
                setattr(summary, column, value)
    update: list[Any] = [column.removesuffix("_id") for column, _f in LATEST]
    update += [column.removesuffix("_id") for column in PREVIOUS]
    ScoreSummary.objects.bulk_create(
        summaries.values(),
        update_conflicts=True,
        unique_fields=["patient"],
        update_fields=update,
    )
