"""The cohort report: the study's analyses on a filtered cohort, as one JSON-ready dict.

Keys (pinned: clients read them): ``n_patients``, ``n_events``, ``groups``, ``table1``, ``km``,
``logrank``, ``cox_univariate``, ``cox_multivariable``, ``stratified`` (``high``, ``low``),
``trajectory``, ``competing_risks``. Every hazard ratio is ``{"term", "hr", "ci_low",
"ci_high", "p"}``. Nothing in it identifies a patient: counts, means, model estimates and curves
over days from diagnosis only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from adherence.baseline import BASELINE_RULE

from . import disclosure, stats
from .cohort import HIGH_INTERFERENCE, Cohort, CohortFilter, build_cohort
from .eligibility import (
    CRITERIA,
    MIN_FOLLOW_UP_DAYS,
    OTHER_STOP_EXCLUDE,
    OTHER_STOP_LABEL,
)
from .evidence import evidence
from .versions import software_versions

# progress(percent done, the step now computing: a ReportStep value)
Progress = Callable[[int, str], None]

STRATA = {"high": 1, "low": 0}


def _no_progress(_percent: int, _step: str) -> None:
    return None


def report_from_data(
    data: pd.DataFrame, *, excluded: dict[str, int] | None = None, progress: Progress = _no_progress
) -> dict[str, Any]:
    """Every analysis of the report on an analysis dataset (see :mod:`analytics.cohort`)."""
    frame = stats.design(data) if len(data) else data
    report: dict[str, Any] = {
        "n_patients": len(data),
        "n_events": int(data["event"].sum()) if len(data) else 0,
        "excluded": excluded or {},
        "high_interference_from": HIGH_INTERFERENCE,
        "groups": {
            g: {
                "n": int((data["strategy"] == g).sum()),
                "events": int(data.loc[data["strategy"] == g, "event"].sum()),
            }
            for g in stats.GROUPS
        },
    }
    if len(data) == 0:
        return report | {
            key: None
            for key in (
                "table1",
                "km",
                "logrank",
                "cox_univariate",
                "cox_multivariable",
                "stratified",
                "trajectory",
                "competing_risks",
                "landmark",
            )
        }
    report["strata"] = {
        name: {
            "n": int((frame["high_interference"] == value).sum()),
            "events": int(frame.loc[frame["high_interference"] == value, "event"].sum()),
        }
        for name, value in STRATA.items()
    }
    report["table1"] = stats.table1(frame)
    progress(8, "survival")
    report["km"] = {"overall": stats.kaplan_meier(frame)} | {
        name: stats.kaplan_meier(frame[frame["high_interference"] == value])
        for name, value in STRATA.items()
    }
    report["logrank"] = {"overall": stats.logrank(frame)} | {
        name: stats.logrank(frame[frame["high_interference"] == value])
        for name, value in STRATA.items()
    }
    progress(12, "cox")
    # more than one clinic: each clinic its own baseline hazard in every Cox model
    strata = ["clinic_id"] if frame["clinic_id"].nunique() > 1 else None
    report["clinic_strata"] = bool(strata)
    report["cox_univariate"] = stats.cox_univariate(frame, strata)
    progress(40, "adjusted")
    report["cox_multivariable"] = stats.cox(frame, stats.MULTIVARIABLE, strata=strata)
    report["stratified"] = stats.stratified(frame, strata)
    report["landmark"] = landmark(frame, strata)
    progress(58, "trajectory")
    report["trajectory"] = stats.trajectory(frame)
    progress(60, "competing")
    report["competing_risks"] = stats.competing_risks(frame, strata)
    progress(66, "evidence")
    report["evidence"] = evidence(frame, strata)
    return report


CENSORING_LABELS = {
    "last_follow_up": "at the last follow-up",
    "other_discontinuation": "at a permanent discontinuation for another reason",
    "switch_non_ai": "at a switch to a non-AI endocrine therapy",
    "open_aimss_stop": "at the as-of date, during an AIMSS interruption shorter than 91 days "
    "so far (a later report may count it as an event)",
}


def report_settings(cohort_filter: CohortFilter) -> dict[str, Any]:
    """What the report applied, in words: the criteria, the other-stop rule, the baseline."""
    excluded = cohort_filter.other_stop == OTHER_STOP_EXCLUDE
    return {
        "as_of": cohort_filter.as_of.isoformat() if cohort_filter.as_of else None,
        "criteria": [
            {"criterion": name, "label": label, "applied": name in cohort_filter.criteria}
            for name, label in CRITERIA.items()
        ],
        "min_follow_up_days": MIN_FOLLOW_UP_DAYS,
        "other_stop": cohort_filter.other_stop,
        "other_stop_rule": OTHER_STOP_LABEL
        + (": excluded from the analysis" if excluded else ": censored at that date"),
        "baseline_rule": BASELINE_RULE,
    }


def censoring_counts(data: pd.DataFrame) -> dict[str, int]:
    """Censored patients by why (see :data:`CENSORING_LABELS`)."""
    if "censoring" not in data or not len(data):
        return {}
    censored = data.loc[data["event"] == 0, "censoring"]
    return {key: int((censored == key).sum()) for key in CENSORING_LABELS}


def landmark(frame: pd.DataFrame, strata: list[str] | None) -> dict[str, Any]:
    """Sensitivity analysis: follow-up restarted at the end of each patient's strategy window
    (the landmark), among those still event-free and followed then, so that no one is
    classified by a management she had not yet received when her follow-up began (guarding
    against immortal-time bias)."""
    window = (
        frame["strategy_window_days"]
        if "strategy_window_days" in frame
        else pd.Series(14, index=frame.index)
    )
    at_risk = frame[frame["time_days"] > window]
    moved = at_risk.assign(time_days=at_risk["time_days"] - window[at_risk.index])
    return {
        "method": "landmark at the end of each clinic's strategy window: patients still "
        "event-free and followed then, time counted from the landmark",
        "landmark_days": sorted({int(w) for w in window.unique()}),
        "removed": {
            "events_before": int(
                (frame["event"].astype(bool) & ~frame.index.isin(at_risk.index)).sum()
            ),
            "censored_before": int(
                (~frame["event"].astype(bool) & ~frame.index.isin(at_risk.index)).sum()
            ),
        },
        "univariate": stats.cox(moved, ["strategy"], strata=strata),
        "multivariable": stats.cox(moved, stats.MULTIVARIABLE, strata=strata),
    }


def cohort_report(
    *,
    cohort_filter: CohortFilter,
    progress: Progress = _no_progress,
    disclosure_control: bool = False,
) -> dict[str, Any]:
    """Build the cohort for ``cohort_filter`` and run every analysis on it.

    Under ``disclosure_control`` (a user without access to identified data): ages are whole
    years top-coded at 90, a cohort, group or stratum under 11 patients raises
    :class:`~analytics.disclosure.ReportRefused` before any analysis runs, and the result is
    suppressed (:func:`~analytics.disclosure.suppress_report`)."""
    cohort_filter = cohort_filter.resolved()
    progress(1, "cohort")
    cohort: Cohort = build_cohort(cohort_filter)
    data = cohort.data
    if disclosure_control:
        data = disclosure.coarsen(data)
        reason = disclosure.refusal(data)
        if reason:
            raise disclosure.ReportRefused(reason)
    progress(5, "table1")
    report = report_from_data(data, excluded=cohort.excluded, progress=progress)
    report = {
        "as_of": cohort_filter.as_of.isoformat() if cohort_filter.as_of else None,
        "clinics": cohort.clinics,
        "filter": cohort_filter.selection_json(),
        "settings": report_settings(cohort_filter),
        "versions": software_versions(),
        "flow": cohort.flow,
        "censoring": censoring_counts(data),
        **report,
    }
    return disclosure.suppress_report(report) if disclosure_control else report


# --- CSV --------------------------------------------------------------------------------------

CSV_HEADER = ("section", "path", "value")


def _flatten(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            label = inner.get("term") or inner.get("variable") if isinstance(inner, dict) else None
            yield from _flatten(inner, f"{path}[{label or i}]")
    else:
        yield path, value


def report_csv(report: dict[str, Any]) -> str:
    """The report as ``section,path,value`` rows (one per number; curves point by point)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for section, value in report.items():
        for path, leaf in _flatten(value, ""):
            writer.writerow((section, path, "" if leaf is None else leaf))
    return buffer.getvalue()
