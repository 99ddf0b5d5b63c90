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


def audited(**options: Any) -> Callable[[type[M]], type[M]]:
    """Track inserts, updates (old values in the previous event) and deletes of a model."""
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
