"""The audit trail of clinical data, by django-pghistory.

Every insert, update and delete of a tracked model, including bulk updates and raw SQL, is
copied by a PostgreSQL trigger into an append-only event table (updates and deletes of the event
table are refused by another trigger), with the request's user and path as context. On the
SQLite demo no trigger is installed and nothing is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import pghistory

M = TypeVar("M")


def audited(*, bulk_written: bool = False, **options: Any) -> Callable[[type[M]], type[M]]:
    """Track inserts, updates (old values in the previous event) and deletes of a model.

    ``bulk_written``: the triggers fire once per statement and copy its rows from the
    statement's transition tables in one INSERT, instead of once per row. Same events, same
    context; for the tables ``import_cohort`` fills with 100,000 rows at a time, where a
    row-level trigger (a PL/pgSQL call and a subtransaction for the context each row) cost
    more than the rows themselves."""
    if bulk_written:
        options["level"] = pghistory.Statement
    # pghistory is untyped: its decorator returns the model class it was given
    return cast(
        Callable[[type[M]], type[M]],
        pghistory.track(
            pghistory.InsertEvent(),
            pghistory.UpdateEvent(),
            pghistory.DeleteEvent(),
            append_only=True,
            **options,
        ),
    )
