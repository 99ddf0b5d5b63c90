"""The management strategy at diagnosis (Liang et al.), written once, in both forms.

The study groups patients by their initial management after the AIMSS diagnosis: the
categories of intervention (analgesic, physical therapy, AI regimen adjustment,
complementary) whose ``start_date`` lies in ``[diagnosis, diagnosis + window]``, both ends
inclusive (with the default 14-day window, day 14 is in, day 15 out). One category is
monotherapy, two or more combined, none no strategy yet. An intervention started *before* the
diagnosis is not management *after* it, so it does not count. The window is the clinic's
(``patients.rules``).

- :func:`strategy_at_diagnosis` decides it for one patient from her interventions (Python);
- :func:`strategy_categories` counts the same categories as a queryset annotation, for lists
  that filter or show it; :func:`strategy_filter` and :func:`strategy_of` turn that count into
  the strategy. ``tests/adherence/test_strategy.py`` proves both forms agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, DateField, Func, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from .models import Intervention

MONOTHERAPY = "monotherapy"
COMBINED = "combined"
# Combined: at least two categories at once (Liang et al.).
COMBINED_FROM = 2  # categories
STRATEGY_LABELS = {MONOTHERAPY: _("Monotherapy"), COMBINED: _("Combined")}


def strategy_of(categories: int) -> str | None:
    """The strategy of a number of categories started in the window."""
    if categories >= COMBINED_FROM:
        return COMBINED
    return MONOTHERAPY if categories >= 1 else None


def strategy_at_diagnosis(
    *, diagnosis: dt.date | None, window_days: int, starts: Iterable[tuple[str, dt.date]]
) -> tuple[str | None, tuple[str, ...]]:
    """(strategy, categories) from (category, start_date) pairs of her interventions."""
    if diagnosis is None:
        return None, ()
    last_day = diagnosis + dt.timedelta(days=window_days)
    categories = tuple(sorted({c for c, start in starts if diagnosis <= start <= last_day}))
    return strategy_of(len(categories)), categories


class AddDays(Func):
    """A date plus a whole number of days, both columns, on PostgreSQL and on SQLite (the demo),
    whose backend cannot multiply a number by an interval."""

    arity = 2
    output_field = DateField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        return self.as_sql(
            compiler, connection, template="(%(expressions)s)", arg_joiner=" + ", **extra
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        return self.as_sql(
            compiler,
            connection,
            template="date(%(expressions)s || ' days')",
            arg_joiner=", '+' || ",
            **extra,
        )


def strategy_categories() -> Coalesce:
    """For a queryset of patients: how many categories of intervention she started in her
    clinic's window after the diagnosis (0 without a diagnosis or an intervention)."""
    window_end = AddDays(OuterRef("aimss_diagnosis_date"), OuterRef("clinic__strategy_window_days"))
    counts = (
        Intervention.objects.filter(
            patient=OuterRef("pk"),
            start_date__gte=OuterRef("aimss_diagnosis_date"),
            start_date__lte=window_end,
        )
        .order_by()
        .values("patient")
        .annotate(n=Count("category", distinct=True))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def strategy_filter(strategy: str | None, *, count: str = "strategy_n") -> Q:
    """Patients of ``strategy`` (None: no strategy yet), by the annotation named ``count``."""
    if strategy == COMBINED:
        return Q(**{f"{count}__gte": COMBINED_FROM})
    if strategy == MONOTHERAPY:
        return Q(**{f"{count}__gte": 1, f"{count}__lt": COMBINED_FROM})
    return Q(**{count: 0})
