"""The de-identified analysis dataset: one row per patient, as the study's Table 1 describes her.

No names, record numbers, contact details or dates leave this module: age is years (one
decimal) at the AIMSS diagnosis, body size is the BMI, and every time is counted in days from
the diagnosis. The internal ``patient_id`` is kept only to link
repeated measures inside the statistics and is never written into a report.

Definitions (Liang et al.):

- **origin, strategy, time and event** come from :func:`adherence.selectors.survival_records`
  (strategy at diagnosis; the composite endpoint; censoring at the last follow-up).
- **baseline BPI**: the current version of the 24-hour-recall response nearest the AIMSS
  diagnosis within 14 days either side (ties: the earlier one); average pain is item 5, the
  interference score the stored mean of item 9.
- **month m (1-3)**: the response nearest ``diagnosis + round(m * 30.4375)`` days within 14 days
  either side (the windows do not overlap).
- **high interference**: baseline interference score >= 7 (the study's constant; a clinic's own
  ``high_interference_from`` drives its flags, not the cohort analysis).

Patients without an AIMSS diagnosis, a strategy (no intervention in the window) or a baseline
response are left out and counted in ``excluded``.

Dates are compared as UTC calendar days (responses are stored in UTC); a day's shift for a
patient far from UTC cannot move a response across the 14-day windows in a way that matters.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Count, Max, Q

from adherence.models import (
    AdherenceCheckIn,
    AiCourse,
    Intervention,
    RegimenChange,
    TreatmentEvent,
)
from adherence.selectors import COMBINED, survival_records
from assessments.models import RecallPeriod, Response
from patients.models import Patient, TnmStage

HIGH_INTERFERENCE = 7.0  # BPI interference score >= 7 (Serlin 1995; Shi 2017; the study)
BASELINE_WINDOW_DAYS = 14  # days either side of the diagnosis
MONTH_WINDOW_DAYS = 14  # days either side of months 1-3
DAYS_PER_MONTH = 30.4375
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
]


@dataclass(frozen=True)
class CohortFilter:
    """Which patients: clinics and AIMSS diagnosis dates.

    ``clinic_ids=None`` is every clinic (the operator's command, an administrator); an empty
    tuple is no clinic at all: an empty grant never means "all"."""

    clinic_ids: tuple[int, ...] | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["clinic_ids"] = None if self.clinic_ids is None else sorted(self.clinic_ids)
        for key in ("date_from", "date_to"):
            data[key] = data[key].isoformat() if data[key] else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CohortFilter:
        def day(value: str | None) -> dt.date | None:
            return dt.date.fromisoformat(value) if value else None

        clinics = data.get("clinic_ids")
        return cls(
            clinic_ids=None if clinics is None else tuple(sorted(int(c) for c in clinics)),
            date_from=day(data.get("date_from")),
            date_to=day(data.get("date_to")),
        )

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.as_json(), sort_keys=True).encode()).hexdigest()


@dataclass
class Cohort:
    data: pd.DataFrame
    excluded: dict[str, int] = field(default_factory=dict)


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
    patients = list(
        cohort_patients(cohort_filter)
        .select_related("clinic")
        .only(
            "id",
            "clinic_id",
            "clinic__strategy_window_days",
            "time_zone",
            "birth_date",
            "height_cm",
            "weight_kg",
            "tnm_stage",
            "surgery",
            "chemotherapy",
            "radiotherapy",
            "aimss_diagnosis_date",
        )
    )
    if not patients:
        return Cohort(pd.DataFrame(columns=COLUMNS), {})
    ids = [p.pk for p in patients]
    records = {r.patient_id: r for r in survival_records(Patient.objects.filter(pk__in=ids))}
    courses = {
        pid: (drug, start)
        for pid, drug, start in AiCourse.objects.filter(patient_id__in=ids).values_list(
            "patient_id", "drug", "start_date"
        )
    }

    rows = []
    for p in patients:
        dx = p.aimss_diagnosis_date
        assert dx is not None
        record = records[p.pk]
        drug, start = courses.get(p.pk, (None, None))
        height_m = float(p.height_cm) / 100
        rows.append(
            {
                "patient_id": p.pk,
                "clinic_id": p.clinic_id,
                "diagnosis": dx,
                "age": round((dx - p.birth_date).days / DAYS_PER_YEAR, 1),
                "bmi": round(float(p.weight_kg) / (height_m * height_m), 2),
                "tnm_stage": p.tnm_stage,
                "stage_ii_iii": int(p.tnm_stage in (TnmStage.STAGE_II, TnmStage.STAGE_III)),
                "surgery": p.surgery,
                "chemotherapy": int(p.chemotherapy),
                "radiotherapy": int(p.radiotherapy),
                "ai_drug": drug,
                "months_to_aimss": ((dx - start).days / DAYS_PER_MONTH) if start else np.nan,
                "strategy": record.strategy,
                "combined": int(record.strategy == COMBINED) if record.strategy else np.nan,
                "time_days": record.time_days,
                "event": int(record.event),
                "event_type": record.event_type or "none",
            }
        )
    frame = pd.DataFrame(rows).set_index("patient_id", drop=False)
    frame.index.name = None

    window_end = dt.timedelta(
        days=round(max(TRAJECTORY_MONTHS) * DAYS_PER_MONTH) + MONTH_WINDOW_DAYS
    )
    first = min(frame["diagnosis"]) - dt.timedelta(days=BASELINE_WINDOW_DAYS + 1)
    last = max(frame["diagnosis"]) + window_end + dt.timedelta(days=1)
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
    if not answers.empty:
        submitted = pd.to_datetime(answers["submitted_at"], utc=True).dt.tz_convert(None)
        diagnosis = pd.to_datetime(answers["patient_id"].map(frame["diagnosis"]))
        answers["day"] = (submitted.dt.normalize() - diagnosis).dt.days
        answers["interference"] = answers["interference"].astype(float)
        answers["average_pain"] = answers["average_pain"].astype(float)
        targets = {0: (0, BASELINE_WINDOW_DAYS)} | {
            m: (round(m * DAYS_PER_MONTH), MONTH_WINDOW_DAYS) for m in TRAJECTORY_MONTHS
        }
        for month, (day, window) in targets.items():
            target = pd.Series(day, index=frame.index)
            near = _nearest(answers, target, window)
            suffix = "" if month == 0 else f"_m{month}"
            frame.loc[near.index, f"average_pain{suffix}"] = near["average_pain"]
            frame.loc[near.index, f"interference{suffix}"] = near["interference"]
    frame["high_interference"] = np.where(
        frame["interference"].isna(), np.nan, (frame["interference"] >= HIGH_INTERFERENCE) * 1.0
    )

    excluded = {
        "no_strategy": int(frame["strategy"].isna().sum()),
        "no_baseline": int((frame["strategy"].notna() & frame["interference"].isna()).sum()),
    }
    keep = frame["strategy"].notna() & frame["interference"].notna() & frame["average_pain"].notna()
    data = frame.loc[keep, COLUMNS].reset_index(drop=True)
    for column in ("combined", "high_interference", "time_days", "event"):
        data[column] = data[column].astype(int)
    return Cohort(data, excluded)
