"""The de-identified analysis dataset: one row per patient, as the study's Table 1 describes her.

No names, record numbers, contact details or dates leave this module: age is years (one
decimal) at the AIMSS diagnosis, body size is the BMI, and every time is counted in days from
the diagnosis. The internal ``patient_id`` is kept only to link
repeated measures inside the statistics and is never written into a report.

Definitions (Liang et al.):

- **origin, strategy, time and event** come from :func:`adherence.selectors.survival_records`
  (strategy at diagnosis; the composite endpoint; censoring at the last follow-up).
- **baseline BPI**: :data:`adherence.baseline.BASELINE_RULE` (the current version of the
  24-hour-recall response nearest the diagnosis from 14 days before to 7 days after it, never
  after the first intervention's day); average pain is item 5, the interference score the
  stored mean of item 9.
- **month m (1-3)**: the response nearest ``diagnosis + round(m * 30.4375)`` days within 14 days
  either side (the windows do not overlap).
- **high interference**: baseline interference score >= 7 (the study's constant; a clinic's own
  ``high_interference_from`` drives its flags, not the cohort analysis).

The study's eligibility criteria (:mod:`analytics.eligibility`) and the analysis's own needs (a
strategy, a baseline response) leave patients out, each step counted in ``flow`` and
``excluded``. Everything is read as known on the filter's ``as_of`` date.

Dates are compared as UTC calendar days (responses are stored in UTC); a day's shift for a
patient far from UTC cannot move a response across the 14-day windows in a way that matters.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Count, F, Max, Min, Q
from django.utils import timezone

from adherence.baseline import BASELINE_AFTER_DAYS, BASELINE_BEFORE_DAYS
from adherence.models import (
    AdherenceCheckIn,
    AiCourse,
    Intervention,
    RegimenChange,
    TreatmentEvent,
)
from adherence.selectors import COMBINED, survival_records
from assessments.models import RecallPeriod, Response
from patients.clock import DAYS_PER_MONTH
from patients.models import Patient, TnmStage

from .eligibility import (
    CRITERIA,
    MIN_FOLLOW_UP_DAYS,
    OTHER_STOP_CENSOR,
    OTHER_STOP_CENSORINGS,
    OTHER_STOP_SETTINGS,
    flow,
)

HIGH_INTERFERENCE = 7.0  # BPI interference score >= 7 (Serlin 1995; Shi 2017; the study)
MONTH_WINDOW_DAYS = 14  # days either side of months 1-3
DAYS_PER_YEAR = 365.25
TRAJECTORY_MONTHS = (1, 2, 3)  # the study's trajectory runs from baseline to month 3

COLUMNS = [
    "patient_id",
    "clinic_id",
    "age",
    "bmi",
    "tnm_stage",
    "stage_ii_iii",
    "surgery",
    "chemotherapy",
    "radiotherapy",
    "ai_drug",
    "months_to_aimss",
    "strategy",
    "combined",
    "average_pain",
    "interference",
    "high_interference",
    "average_pain_m1",
    "interference_m1",
    "average_pain_m2",
    "interference_m2",
    "average_pain_m3",
    "interference_m3",
    "time_days",
    "event",
    "event_type",
    "censoring",
    "open_stop_days",
    "strategy_window_days",
]


@dataclass(frozen=True)
class CohortFilter:
    """Which patients (clinics, AIMSS diagnosis dates), as known on which day, under which of
    the study's criteria: everything that decides a report's numbers besides the data.

    ``clinic_ids=None`` is every clinic (the operator's command, an administrator); an empty
    tuple is no clinic at all: an empty grant never means "all". ``as_of=None`` is today,
    resolved when the report runs (:meth:`resolved`). ``criteria``: the eligibility criteria
    applied (all by default); ``other_stop``: "censor" or "exclude" (see
    :mod:`analytics.eligibility`)."""

    clinic_ids: tuple[int, ...] | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    as_of: dt.date | None = None
    other_stop: str = OTHER_STOP_CENSOR
    criteria: tuple[str, ...] = tuple(CRITERIA)

    def __post_init__(self) -> None:
        if self.other_stop not in OTHER_STOP_SETTINGS:
            raise ValueError(f"other_stop must be one of {OTHER_STOP_SETTINGS}")
        unknown = set(self.criteria) - set(CRITERIA)
        if unknown:
            raise ValueError(f"unknown criteria: {sorted(unknown)}")
        object.__setattr__(self, "criteria", tuple(c for c in CRITERIA if c in self.criteria))

    def resolved(self) -> CohortFilter:
        """The same filter with ``as_of`` fixed (today if not given)."""
        return replace(self, as_of=self.as_of or timezone.localdate())

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["clinic_ids"] = None if self.clinic_ids is None else sorted(self.clinic_ids)
        data["criteria"] = list(self.criteria)
        for key in ("date_from", "date_to", "as_of"):
            data[key] = data[key].isoformat() if data[key] else None
        return data

    def selection_json(self) -> dict[str, Any]:
        """Clinics and diagnosis dates only (the report's ``filter``)."""
        data = self.as_json()
        return {key: data[key] for key in ("clinic_ids", "date_from", "date_to")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CohortFilter:
        def day(value: str | None) -> dt.date | None:
            return dt.date.fromisoformat(value) if value else None

        clinics = data.get("clinic_ids")
        criteria = data.get("criteria")
        return cls(
            clinic_ids=None if clinics is None else tuple(sorted(int(c) for c in clinics)),
            date_from=day(data.get("date_from")),
            date_to=day(data.get("date_to")),
            as_of=day(data.get("as_of")),
            other_stop=data.get("other_stop") or OTHER_STOP_CENSOR,
            criteria=tuple(CRITERIA) if criteria is None else tuple(criteria),
        )

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.as_json(), sort_keys=True).encode()).hexdigest()


@dataclass
class Cohort:
    data: pd.DataFrame
    excluded: dict[str, int] = field(default_factory=dict)
    flow: list[dict[str, Any]] = field(default_factory=list)
    clinics: list[dict[str, Any]] = field(default_factory=list)  # each clinic's strategy window


def cohort_patients(cohort_filter: CohortFilter) -> Any:
    patients = Patient.objects.filter(aimss_diagnosis_date__isnull=False)
    if cohort_filter.clinic_ids is not None:
        patients = patients.filter(clinic_id__in=cohort_filter.clinic_ids)
    if cohort_filter.date_from:
        patients = patients.filter(aimss_diagnosis_date__gte=cohort_filter.date_from)
    if cohort_filter.date_to:
        patients = patients.filter(aimss_diagnosis_date__lte=cohort_filter.date_to)
    return patients


def data_version(cohort_filter: CohortFilter) -> str:
    """A fingerprint of everything the analysis reads: a new or changed record changes it.

    Counts catch deletions, the latest ``created_at`` catches additions, and the number and
    latest of end dates catch an interruption or intervention being ended. Six queries.
    """
    patients = cohort_patients(cohort_filter)
    parts: list[Any] = [
        patients.aggregate(n=Count("id"), last=Max("updated_at"), dx=Max("aimss_diagnosis_date"))
    ]
    scoped = Q(patient__in=patients.values("id"))
    for model in (Response, TreatmentEvent, Intervention, AdherenceCheckIn, AiCourse):
        extra: dict[str, Any] = {}
        if model in (TreatmentEvent, Intervention):
            extra = {"ends": Count("end_date"), "last_end": Max("end_date")}
        parts.append(
            model._default_manager.filter(scoped).aggregate(
                n=Count("id"), last=Max("created_at"), **extra
            )
        )
    parts.append(
        RegimenChange.objects.filter(course__patient__in=patients.values("id")).aggregate(
            n=Count("id"), last=Max("created_at")
        )
    )
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()


def _nearest(responses: pd.DataFrame, target: pd.Series, window: int) -> pd.DataFrame:
    """Per patient, the response nearest ``target`` days after diagnosis within ``window``."""
    offset = (responses["day"] - responses["patient_id"].map(target)).abs()
    near = responses.assign(distance=offset)[offset <= window]
    near = near.sort_values(["patient_id", "distance", "day", "id"])
    return near.drop_duplicates("patient_id").set_index("patient_id")


def build_cohort(cohort_filter: CohortFilter) -> Cohort:
    """The analysis dataset for ``cohort_filter`` in a fixed number of queries."""
    cohort_filter = cohort_filter.resolved()
    as_of = cohort_filter.as_of
    assert as_of is not None
    # One values() query per table, the cohort passed as a subquery (never a list of 100,000
    # ids in the SQL, which costs more to send and parse than the rows do to read).
    selected = cohort_patients(cohort_filter)
    patients = list(
        selected.values(
            "id",
            "clinic_id",
            "clinic__strategy_window_days",
            "birth_date",
            "height_cm",
            "weight_kg",
            "tnm_stage",
            "surgery",
            "chemotherapy",
            "radiotherapy",
            "aimss_diagnosis_date",
            "stage_iv",
            "rheumatic_disease",
            "long_term_immunosuppression",
        )
    )
    if not patients:
        return Cohort(pd.DataFrame(columns=COLUMNS), {}, [])
    in_cohort = selected.values("id")
    records = {
        r.patient_id: r
        for r in survival_records(
            # what the derivation reads of her (a full row is twice the cost at 100,000)
            Patient.objects.filter(pk__in=in_cohort).only(
                "id", "clinic", "aimss_diagnosis_date", "time_zone"
            ),
            as_of=as_of,
        )
    }
    courses = {
        pid: (drug, start)
        for pid, drug, start in AiCourse.objects.filter(patient_id__in=in_cohort).values_list(
            "patient_id", "drug", "start_date"
        )
    }
    # the first intervention on or after the diagnosis: a baseline answer may not follow it
    interventions = {
        row["patient_id"]: row
        for row in Intervention.objects.filter(patient_id__in=in_cohort, start_date__lte=as_of)
        .values("patient_id")
        .annotate(n=Count("id"))
    }
    first_starts = dict(
        Intervention.objects.filter(
            patient_id__in=in_cohort,
            start_date__gte=F("patient__aimss_diagnosis_date"),
            start_date__lte=as_of,
        )
        .values("patient_id")
        .annotate(first=Min("start_date"))
        .values_list("patient_id", "first")
    )

    rows = []
    for p in patients:
        dx = p["aimss_diagnosis_date"]
        assert dx is not None
        record = records[p["id"]]
        drug, start = courses.get(p["id"], (None, None))
        height_m = float(p["height_cm"]) / 100
        first = first_starts.get(p["id"])
        rows.append(
            {
                "patient_id": p["id"],
                "clinic_id": p["clinic_id"],
                "diagnosis": dx,
                "age": round((dx - p["birth_date"]).days / DAYS_PER_YEAR, 1),
                "bmi": round(float(p["weight_kg"]) / (height_m * height_m), 2),
                "tnm_stage": p["tnm_stage"],
                "stage_ii_iii": int(p["tnm_stage"] in (TnmStage.STAGE_II, TnmStage.STAGE_III)),
                "surgery": p["surgery"],
                "chemotherapy": int(p["chemotherapy"]),
                "radiotherapy": int(p["radiotherapy"]),
                "ai_drug": drug,
                "months_to_aimss": ((dx - start).days / DAYS_PER_MONTH) if start else np.nan,
                "strategy": record.strategy,
                "combined": int(record.strategy == COMBINED) if record.strategy else np.nan,
                "time_days": record.time_days,
                "event": int(record.event),
                "event_type": record.event_type or "none",
                "censoring": record.censoring or "none",
                "open_stop_days": record.open_stop_days,
                "first_intervention_day": (first - dx).days if first else np.nan,
                "strategy_window_days": p["clinic__strategy_window_days"],
                # eligibility (analytics.eligibility)
                "stage_iv": p["stage_iv"],
                "recurrence_before_aimss": record.recurrence_before_origin,
                "rheumatic_disease": p["rheumatic_disease"],
                "long_term_immunosuppression": p["long_term_immunosuppression"],
                "no_intervention": p["id"] not in interventions,
                "short_follow_up": (as_of - dx).days < MIN_FOLLOW_UP_DAYS,
                "other_stop": record.censoring in OTHER_STOP_CENSORINGS,
            }
        )
    frame = pd.DataFrame(rows).set_index("patient_id", drop=False)
    frame.index.name = None
    _add_scores(frame, in_cohort, as_of)
    frame["high_interference"] = np.where(
        frame["interference"].isna(), np.nan, (frame["interference"] >= HIGH_INTERFERENCE) * 1.0
    )
    frame["no_strategy"] = frame["strategy"].isna()
    frame["no_baseline"] = frame["interference"].isna() | frame["average_pain"].isna()
    steps, keep = flow(frame, criteria=cohort_filter.criteria, other_stop=cohort_filter.other_stop)
    excluded = {step["step"]: step["removed"] for step in steps if step["removed"] is not None}
    data = frame.loc[keep, COLUMNS].reset_index(drop=True)
    for column in ("combined", "high_interference", "time_days", "event"):
        data[column] = data[column].astype(int)
    windows = {p["clinic_id"]: p["clinic__strategy_window_days"] for p in patients}
    clinics = [
        {"clinic_id": cid, "strategy_window_days": days} for cid, days in sorted(windows.items())
    ]
    return Cohort(data, excluded, steps, clinics)


def _add_scores(frame: pd.DataFrame, ids: Any, as_of: dt.date) -> None:
    """Baseline (``average_pain``, ``interference``) and month 1-3 scores, in place (``ids``:
    the cohort's patient ids, a subquery)."""
    window_end = dt.timedelta(
        days=round(max(TRAJECTORY_MONTHS) * DAYS_PER_MONTH) + MONTH_WINDOW_DAYS
    )
    first = min(frame["diagnosis"]) - dt.timedelta(days=BASELINE_BEFORE_DAYS + 1)
    last = min(max(frame["diagnosis"]) + window_end + dt.timedelta(days=1), as_of)
    answers = pd.DataFrame.from_records(
        Response.objects.current()
        .filter(
            patient_id__in=ids,
            recall_period=RecallPeriod.HOURS_24,
            submitted_at__date__gte=first,
            submitted_at__date__lte=last,
        )
        .values_list("id", "patient_id", "submitted_at", "average_pain", "interference_score"),
        columns=["id", "patient_id", "submitted_at", "average_pain", "interference"],
    )
    for column in ("average_pain", "interference"):
        frame[column] = np.nan
        for month in TRAJECTORY_MONTHS:
            frame[f"{column}_m{month}"] = np.nan
    if answers.empty:
        return
    submitted = pd.to_datetime(answers["submitted_at"], utc=True).dt.tz_convert(None)
    diagnosis = pd.to_datetime(answers["patient_id"].map(frame["diagnosis"]))
    answers["day"] = (submitted.dt.normalize() - diagnosis).dt.days
    answers["interference"] = answers["interference"].astype(float)
    answers["average_pain"] = answers["average_pain"].astype(float)
    # Baseline: from 14 days before to 7 after the diagnosis, on or before the first
    # intervention's day (a score after treatment began is no baseline).
    limit = answers["patient_id"].map(frame["first_intervention_day"]).fillna(np.inf)
    candidates = answers[
        (answers["day"] >= -BASELINE_BEFORE_DAYS)
        & (answers["day"] <= BASELINE_AFTER_DAYS)
        & (answers["day"] <= limit)
    ]
    near = _nearest(candidates, pd.Series(0, index=frame.index), BASELINE_BEFORE_DAYS)
    frame.loc[near.index, "average_pain"] = near["average_pain"]
    frame.loc[near.index, "interference"] = near["interference"]
    for month in TRAJECTORY_MONTHS:
        target = pd.Series(round(month * DAYS_PER_MONTH), index=frame.index)
        near = _nearest(answers, target, MONTH_WINDOW_DAYS)
        frame.loc[near.index, f"average_pain_m{month}"] = near["average_pain"]
        frame.loc[near.index, f"interference_m{month}"] = near["interference"]
