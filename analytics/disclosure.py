"""Disclosure control: what a user without access to identified data may see of a cohort.

Who: researchers, and anyone whose membership of a clinic in the report is marked
de-identified (:func:`applies`). Administrators and care staff reading their own clinics'
identified patients are not controlled.

The rules, every one applied before a number leaves the server:

- **Cell size.** No count, mean, SD, percentage, curve step or number at risk of a group of 1 to
  10 patients (the CMS cell-size suppression policy: "no cell containing a value of 1 to 10 can
  be reported directly"; zero may be shown). A suppressed value is ``None`` (JSON ``null``).
- **Complementary suppression.** Where cells add up to a total that is shown, one suppressed
  cell could be derived back by subtraction; the next smallest cell is suppressed with it.
- **Refusal.** A report over fewer than 11 patients, or with a strategy group or interference
  stratum under 11, is not computed at all (:func:`refusal`).
- **Ages** are whole years, top-coded at 90 (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i)(C):
  ages over 89 are aggregated into a single category of 90 or older).

The cell rules themselves (:func:`~patients.disclosure.suppress_linked`) live in
:mod:`patients.disclosure`, below every app that shows a count. New analyses go through
:func:`suppress_report` too: any dict holding a patient count ``n``
(with its ``mean``, ``sd``, ``percent``, ... beside it) or a curve with ``n_at_risk`` per step
is suppressed by the generic rules; a table whose cells add up to a shown total calls
``suppress_cells`` or ``suppress_linked`` for its complementary suppression.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from django.utils.translation import gettext_lazy as _

from patients.access import clinic_ids_of
from patients.clock import DAYS_PER_MONTH
from patients.disclosure import (
    MIN_CELL,
    TOP_AGE,
    is_small,
    suppress_cells,
    suppress_linked,
    top_coded_age,
)

# Keys of a dict that count patients (suppressed when 1-10) ...
COUNT_KEYS = ("n", "events", "n_complete")
# ... and the statistics computed over that dict's ``n`` patients (suppressed with a small n).
STATISTIC_KEYS = (
    "mean",
    "sd",
    "percent",
    "median",
    "events",
    "epv",
    "survival",
    "ci_low",
    "ci_high",
    "cif",
    "time_days",
    "n_at_risk",
    "at_risk",
    "at_months",
)
# Parallel per-step lists of a curve, cut where fewer than MIN_CELL remain at risk.
CURVE_KEYS = ("time_days", "survival", "ci_low", "ci_high", "cif", "n_at_risk")

REFUSALS = {
    "cohort": _(
        "This report is refused: it would describe fewer than 11 patients. Widen the clinics "
        "or the quarters."
    ),
    "group": _(
        "This report is refused: one of the initial management groups (monotherapy, combined) "
        "has fewer than 11 patients. Widen the clinics or the quarters."
    ),
    "stratum": _(
        "This report is refused: one of the interference strata (high, low) has fewer than 11 "
        "patients. Widen the clinics or the quarters."
    ),
}

QUARTER_STARTS = ((1, 1), (4, 1), (7, 1), (10, 1))
QUARTER_ENDS = ((3, 31), (6, 30), (9, 30), (12, 31))


class ReportRefused(Exception):
    """A disclosure-controlled report that may not be computed; ``code`` keys REFUSALS."""

    def __init__(self, code: str) -> None:
        super().__init__(str(REFUSALS[code]))
        self.code = code


def applies(user: Any, clinic_ids: Iterable[int]) -> bool:
    """True unless ``user`` may see every one of ``clinic_ids``'s patients identified."""
    identified = clinic_ids_of(user)
    if identified is None:  # administrators
        return False
    return not set(clinic_ids) <= set(identified)


def is_quarter_start(day: dt.date) -> bool:
    return (day.month, day.day) in QUARTER_STARTS


def is_quarter_end(day: dt.date) -> bool:
    return (day.month, day.day) in QUARTER_ENDS


# --- Before computing -------------------------------------------------------------------------


def refusal(data: pd.DataFrame) -> str | None:
    """Why a report on the analysis dataset ``data`` may not be computed, or None.

    ``data`` is the cohort of :mod:`analytics.cohort` (``strategy``, ``high_interference``)."""
    if len(data) < MIN_CELL:
        return "cohort"
    if any(int((data["strategy"] == g).sum()) < MIN_CELL for g in ("monotherapy", "combined")):
        return "group"
    if any(int((data["high_interference"] == v).sum()) < MIN_CELL for v in (0, 1)):
        return "stratum"
    return None


def coarsen(data: pd.DataFrame) -> pd.DataFrame:
    """The dataset as a controlled user's report may use it: ages whole and top-coded."""
    out = data.copy()
    out["age"] = out["age"].map(top_coded_age)
    return out


# --- After computing --------------------------------------------------------------------------


def _curve(curve: dict[str, Any]) -> None:
    """Cut a curve's steps from the first at which fewer than MIN_CELL are at risk; a value
    read off the curve at or after the cut is not shown either."""
    at_risk = curve.get("n_at_risk") or []
    keep = next((i for i, n in enumerate(at_risk) if n < MIN_CELL), len(at_risk))
    days = list(curve.get("time_days") or [])
    cut_day = days[keep] if keep < len(days) else None
    for key in CURVE_KEYS:
        if isinstance(curve.get(key), list):
            curve[key] = curve[key][:keep]
    if "censored_days" in curve:  # marks only where the curve is still shown
        curve["censored_days"] = [
            d for d in curve["censored_days"] if keep and (cut_day is None or d < cut_day)
        ]
    for point in curve.get("at_months") or []:
        if keep == 0 or (cut_day is not None and point["month"] * DAYS_PER_MONTH >= cut_day):
            point["cif"] = None


def _generic(value: Any) -> None:
    """Suppress, in place, every dict of a small group, and cut every curve, anywhere."""
    if isinstance(value, list):
        for item in value:
            _generic(item)
        return
    if not isinstance(value, dict):
        return
    if "n_at_risk" in value:
        _curve(value)
    if is_small(value.get("n")):
        for key in (*COUNT_KEYS, *STATISTIC_KEYS):
            if key in value:
                value[key] = None
    for key in COUNT_KEYS:
        if is_small(value.get(key)):
            value[key] = None
    if "events" in value and value["events"] is None and "epv" in value:
        value["epv"] = None  # events / terms gives the count back
    for inner in value.values():
        _generic(inner)


def _hide_missing(entry: dict[str, Any], of: int | None) -> None:
    """``of - n`` patients lack this value: a count too, hidden by hiding ``n``."""
    n = entry.get("n")
    if isinstance(n, int) and of is not None and is_small(of - n):
        entry["n"] = None


def _table1(rows: list[dict[str, Any]], group_n: Mapping[str, Any]) -> None:
    for row in rows:
        if row.get("kind") == "continuous":
            for group, entry in row["groups"].items():
                _hide_missing(entry, group_n.get(group))
        elif row.get("kind") == "categorical":
            for group, n in group_n.items():
                cells = {i: lv["groups"][group]["n"] for i, lv in enumerate(row["levels"])}
                kept = suppress_linked({**cells, "n": n}, [[*cells, "n"]])
                for i, level in enumerate(row["levels"]):
                    if kept[i] is None:
                        level["groups"][group]["n"] = None
                        level["groups"][group]["percent"] = None


def _events(out: dict[str, Any]) -> None:
    """Events by group, by stratum and by both add up to each other and to the total: one
    table, suppressed together, and every copy of a cell (curves, models) follows it."""
    groups, strata, km = out.get("groups") or {}, out.get("strata") or {}, out.get("km") or {}
    values: dict[Any, Any] = {"total": out.get("n_events")}
    values |= {("group", g): e["events"] for g, e in groups.items()}
    values |= {("stratum", s): e["events"] for s, e in strata.items()}
    for s in strata:
        for g, curve in (km.get(s) or {}).items():
            values[(s, g)] = curve["events"] if curve else 0
    relations: list[list[Any]] = [["total", *[("group", g) for g in groups]]]
    relations.append(["total", *[("stratum", s) for s in strata]])
    for s in strata:
        relations.append([("stratum", s), *[(s, g) for g in groups]])
    for g in groups:
        relations.append([("group", g), *[(s, g) for s in strata]])
    kept = suppress_linked(values, relations)
    out["n_events"] = kept["total"]
    for g, entry in groups.items():
        entry["events"] = kept[("group", g)]
        if (km.get("overall") or {}).get(g):
            km["overall"][g]["events"] = entry["events"]
    for s, entry in strata.items():
        entry["events"] = kept[("stratum", s)]
        for g, curve in (km.get(s) or {}).items():
            if curve:
                curve["events"] = kept[(s, g)]
        model = (out.get("stratified") or {}).get(s)
        if model and entry["events"] is None:
            model["events"] = model["epv"] = None
    model = out.get("cox_multivariable")
    if model and out["n_events"] is None:
        model["events"] = model["epv"] = None
    competing = out.get("competing_risks")
    if competing:
        causes = competing["events"]
        kept_causes = suppress_linked({**causes, "total": out["n_events"]}, [[*causes, "total"]])
        competing["events"] = {c: kept_causes[c] for c in causes}


def _evidence(out: dict[str, Any]) -> None:
    """The interaction model's strategy x stratum cells add up to the strata and groups shown
    elsewhere: if any cell's count is small, every cell's count goes (a missing cell would be
    the stratum minus the others). The sparse-data note names the cells, not their counts."""
    model = (out.get("evidence") or {}).get("interaction_model") or {}
    cells = model.get("events_per_cell") or []
    for key in ("n", "events"):
        if any(is_small(cell.get(key)) for cell in cells):
            for cell in cells:
                cell[key] = None
    if model.get("sparse"):
        model["sparse_note"] = (
            "A strategy x stratum cell has too few events for ordinary estimates: "
            "Firth-penalised estimates are shown instead."
        )


def _flow(out: dict[str, Any]) -> None:
    """The CONSORT flow: each step's removed count as ``excluded`` (suppressed with its
    complement); only the first and last ``remaining`` are kept, since any two consecutive
    ones would give a suppressed step back."""
    steps = out.get("flow") or []
    for index, step in enumerate(steps):
        if step["removed"] is not None:
            step["removed"] = out["excluded"].get(step["step"])
        if 0 < index < len(steps) - 1 or is_small(step["remaining"]):
            step["remaining"] = None


def suppress_report(report: dict[str, Any]) -> dict[str, Any]:
    """A copy of a cohort report (:mod:`analytics.report`) fit for a controlled user."""
    out = copy.deepcopy(report)
    # Complementary suppression first, where cells add up to totals that are shown.
    _events(out)
    _evidence(out)
    # those left out add up to (cohort size - n analysed), both of which are shown
    out["excluded"] = suppress_cells(out.get("excluded") or {})
    _flow(out)
    # the censored add up to (n analysed - events), both shown
    out["censoring"] = suppress_cells(out.get("censoring") or {})
    # those before the landmark add up to (n analysed - n at the landmark), both shown
    if out.get("landmark"):
        out["landmark"]["removed"] = suppress_cells(out["landmark"]["removed"])
    group_n = {g: e.get("n") for g, e in (out.get("groups") or {}).items()}
    if out.get("table1"):
        _table1(out["table1"], group_n)
    for outcome in (out.get("trajectory") or {}).values():
        if isinstance(outcome, dict) and "groups" in outcome:
            for group, points in outcome["groups"].items():
                for point in points:
                    _hide_missing(point, group_n.get(group))
    # Then the generic rules everywhere: small groups, curves, numbers at risk.
    _generic(out)
    out["disclosure_control"] = {"min_cell": MIN_CELL, "top_age": TOP_AGE}
    return out


__all__ = [
    "MIN_CELL",
    "REFUSALS",
    "TOP_AGE",
    "ReportRefused",
    "applies",
    "coarsen",
    "is_small",
    "refusal",
    "suppress_cells",
    "suppress_linked",
    "suppress_report",
    "top_coded_age",
]
