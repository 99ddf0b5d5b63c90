"""The cell rules of disclosure control, for every app that shows counts of patients.

- No cell of 1 to 10 patients is shown (the CMS cell-size suppression policy: "no cell
  containing a value of 1 to 10 can be reported directly"; zero may be shown).
- Complementary suppression: where cells add up to a total, one hidden cell could be worked out
  by subtraction, so another is hidden with it.
- Ages are whole years, those over 89 one category (HIPAA Safe Harbor, 45 CFR
  164.514(b)(2)(i)(C)).

The report-level rules (refusals, curves, quarters) are in ``analytics.disclosure``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

MIN_CELL = 11  # smallest group shown (CMS cell-size suppression policy: cells of 1-10 hidden)
TOP_AGE = 90  # ages over 89 are one category (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i)(C))

K = TypeVar("K")


def is_small(value: Any) -> bool:
    """A count of 1 to 10 patients (zero may be shown)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < MIN_CELL


def top_coded_age(years: float) -> int:
    """Whole years, 90 for anyone older than 89."""
    return min(int(years), TOP_AGE)


def age_label(years: int) -> str:
    """An age for de-identified output: whole years, "90+" for anyone older than 89."""
    return f"{TOP_AGE}+" if years >= TOP_AGE else str(years)


def suppress_linked(values: Mapping[K, Any], relations: Iterable[Iterable[K]]) -> dict[K, Any]:
    """Cells of 1-10 hidden (``None``), then complementary suppression.

    Each relation lists cells that add up (a row and its total): if exactly one of them were
    hidden it could be worked out from the others, so the smallest other shown cell of that
    relation (a zero too: it loses least) is hidden too, until no relation has a single
    hidden cell."""
    out: dict[K, Any] = {k: (None if is_small(v) else v) for k, v in values.items()}
    groups = [[k for k in relation if k in out] for relation in relations]
    changed = True
    while changed:
        changed = False
        for relation in groups:
            hidden = [k for k in relation if out[k] is None]
            shown = [(out[k], str(k), k) for k in relation if out[k] is not None]
            if len(hidden) == 1 and shown:
                out[min(shown)[2]] = None
                changed = True
    return out


def suppress_cells(cells: Mapping[str, Any]) -> dict[str, Any]:
    """Cells that add up to a total that is shown (or derivable): see :func:`suppress_linked`."""
    return suppress_linked(cells, [list(cells)])
