"""Reads for the clinician's pages and API: one patient's trajectory, the patient list.

:func:`patient_trajectory` loads everything the chart shows about one patient in six queries
whatever her history (responses, treatment events, regimen changes, interventions, check-ins,
open flags). :func:`patient_list_page` chooses a page of patients (their latest scores and
trend come from ``assessments.ScoreSummary``, a join), annotates that page with open flags,
next due date, months on AI and the strategy at diagnosis (the annotation form of
``adherence.strategy``) in one query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from typing import Any, NamedTuple

from django.core.paginator import Page, Paginator
from django.db.models import (
    Count,
    Exists,
    F,
    Field,
    IntegerField,
    Model,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import localize

from adherence.models import (
    CARE_STOP_KINDS,
    AdherenceCheckIn,
    AiCourse,
    Intervention,
    RegimenChange,
    TreatmentEvent,
)
from adherence.strategy import (
    COMBINED,
    MONOTHERAPY,
    STRATEGY_LABELS,
    strategy_categories,
    strategy_filter,
    strategy_of,
)
from assessments.models import EntryMode, Response, ScoreSummary
from assessments.scoring import PainBand, in_pain_band, pain_band, score_shown
from followup.models import Flag, FlagStatus, ReassessmentSlot
from patients.access import clinic_ids_of, patients_visible_to
from patients.clock import DAYS_PER_MONTH, zone_of
from patients.models import Patient, User
from patients.rules import ClinicRules, rules_of
from patients.selectors import patient_search

from .templatetags.clinical_tags import trend

OPEN_FLAG_STATUSES = (FlagStatus.OPEN, FlagStatus.CLAIMED)


def _open_flags_of(patient: Any) -> QuerySet[Flag]:
    """Unresolved flags of ``patient`` (a patient, or ``OuterRef("pk")`` in a subquery)."""
    return Flag.objects.filter(patient=patient, status__in=OPEN_FLAG_STATUSES)


def months_between(start: dt.date | None, end: dt.date) -> int | None:
    """Whole months (``DAYS_PER_MONTH``) completed from ``start`` to ``end``; None without a
    start. Every page, the chart's hover and the API count months since diagnosis this way."""
    if start is None:
        return None
    return int((end - start).days // DAYS_PER_MONTH)


def _score(value: Decimal | None) -> float | None:
    shown = score_shown(value)
    return None if shown is None else float(shown)


def _labels(model: type[Model], field_name: str) -> dict[Any, str]:
    """A choice field's labels in the active language, translated once per call: the model's
    ``get_FOO_display`` translates every choice of the field again for each row."""
    field = model._meta.get_field(field_name)
    assert isinstance(field, Field)
    return {value: str(label) for value, label in field.flatchoices}


# --- one patient's trajectory -------------------------------------------------------------------


class ResponsePoint(NamedTuple):
    """One current response on the chart (a named tuple: a patient has hundreds, and a frozen
    dataclass is slower to build)."""

    id: int
    date: dt.date
    months: int | None  # whole months since the AIMSS diagnosis
    worst: int | None  # items 1-4 and 6 and the severity: empty on imported responses
    least: int | None
    average: int
    now: int | None
    interference: float | None
    severity: float | None
    recall_period: str
    band: str  # the stored BPI pain severity band (assessments.scoring)
    interference_high: bool  # the decision stored when it was scored
    imported: bool = False  # loaded by import_cohort: only item 5 and interference given

    @property
    def band_label(self) -> str:
        """The band's translated name, for pages (the code stays for colours and the API)."""
        return str(PainBand(self.band).label)


@dataclass(frozen=True)
class EventMark:
    """A treatment event or a regimen change, drawn as a marker (or a span if it has an end)."""

    id: int
    kind: str  # an EventKind value, or "regimen_change"
    label: str
    start: dt.date
    end: dt.date | None = None  # interruptions: last day off; None while still off
    detail: str = ""
    reason: str = ""  # a treatment event's StopReason value (empty for a regimen change)


@dataclass(frozen=True)
class InterventionSpan:
    id: int
    category: str
    category_label: str
    measure: str
    measure_label: str
    start: dt.date
    end: dt.date | None  # None while ongoing


@dataclass(frozen=True)
class CheckInPoint:
    id: int
    date: dt.date
    days_taken: int
    missed_reason: str = ""  # adherence.models.MissedReason, empty when none was asked


@dataclass(frozen=True)
class Trajectory:
    """Everything the trajectory chart and its side panel show about one patient."""

    patient: Patient
    thresholds: ClinicRules
    diagnosis: dt.date | None
    series: list[ResponsePoint]  # oldest first
    events: list[EventMark]
    interventions: list[InterventionSpan]
    check_ins: list[CheckInPoint]  # oldest first
    # the day her AI care stopped (a discontinuation, recurrence or death), or None
    care_stop: dt.date | None = None
    open_flags: list[Flag] = field(default_factory=list)

    @property
    def off_ai(self) -> bool:
        return self.care_stop is not None

    @property
    def latest(self) -> ResponsePoint | None:
        return self.series[-1] if self.series else None

    @property
    def previous(self) -> ResponsePoint | None:
        return self.series[-2] if len(self.series) > 1 else None

    @property
    def average_trend(self) -> int | None:
        """Latest minus previous average pain (positive: worse)."""
        if self.latest is None or self.previous is None:
            return None
        return self.latest.average - self.previous.average

    @property
    def interference_trend(self) -> float | None:
        """Latest minus previous interference score (positive: worse)."""
        latest, previous = self.latest, self.previous
        if latest is None or previous is None:
            return None
        if latest.interference is None or previous.interference is None:
            return None
        return round(latest.interference - previous.interference, 2)

    def current_interventions(self, today: dt.date) -> list[InterventionSpan]:
        return [
            i for i in self.interventions if i.start <= today and (i.end is None or i.end >= today)
        ]

    @property
    def first_date(self) -> dt.date | None:
        """The earliest date anything was recorded."""
        dates = [e.start for e in self.events] + [i.start for i in self.interventions]
        if self.series:  # oldest first
            dates.append(self.series[0].date)
        if self.check_ins:
            dates.append(self.check_ins[0].date)
        return min(dates) if dates else None

    @property
    def last_date(self) -> dt.date | None:
        """The latest date anything was recorded (open spans are drawn up to it)."""
        dates = [p.date for p in self.series] + [c.date for c in self.check_ins]
        dates += [e.end or e.start for e in self.events]
        dates += [i.end or i.start for i in self.interventions]
        return max(dates) if dates else None


RESPONSE_FIELDS = (
    "id",
    "day",
    "worst_pain",
    "least_pain",
    "average_pain",
    "pain_now",
    "interference_score",
    "pain_severity_score",
    "recall_period",
    "pain_band",
    "interference_high",
    "entry_mode",
)


def _ended_by(start: dt.date, end: dt.date | None, care_stop: dt.date | None) -> dt.date | None:
    """An intervention's end, no later than the day her AI care stopped."""
    if care_stop is None or start > care_stop:
        return end
    return care_stop if end is None else min(end, care_stop)


def patient_trajectory(patient: Patient, *, with_flags: bool = True) -> Trajectory:
    """One patient's current BPI-SF responses, events, interventions and check-ins.

    Six queries (five without the open flags), whatever the length of her history. Response
    dates are the patient's local dates; months count from her AIMSS diagnosis.
    """
    zone = zone_of(patient)
    diagnosis = patient.aimss_diagnosis_date
    series = []
    # Her local dates come from the database: converting 500 timestamps in Python costs more
    # than the rest of the page's data.
    rows = (
        Response.objects.current()
        .filter(patient=patient)
        .annotate(day=TruncDate("submitted_at", tzinfo=zone))
        .order_by("submitted_at", "id")
        .values_list(*RESPONSE_FIELDS)
    )
    for row in rows:
        pk, day, worst, least, average, now, interference, severity, recall, band, high, mode = row
        series.append(
            ResponsePoint(
                id=pk,
                date=day,
                months=months_between(diagnosis, day),
                worst=worst,
                least=least,
                average=average,
                now=now,
                interference=_score(interference),
                severity=_score(severity),
                recall_period=recall,
                band=band,
                interference_high=high,
                imported=mode == EntryMode.IMPORTED,
            )
        )
    kinds, reasons = _labels(TreatmentEvent, "kind"), _labels(TreatmentEvent, "reason")
    events = [
        EventMark(
            id=pk,
            kind=kind,
            label=kinds.get(kind, kind),
            start=start,
            end=end,
            detail=reasons.get(reason, reason) if reason else "",
            reason=reason,
        )
        for pk, kind, start, end, reason in TreatmentEvent.objects.filter(patient=patient)
        .order_by("start_date", "id")
        .values_list("id", "kind", "start_date", "end_date", "reason")
    ]
    changes, drugs = _labels(RegimenChange, "kind"), _labels(RegimenChange, "new_drug")
    events += [
        EventMark(
            id=pk,
            kind="regimen_change",
            label=changes.get(kind, kind),
            start=day,
            detail=drugs.get(drug, drug) if drug else "",
        )
        for pk, kind, day, drug in RegimenChange.objects.filter(course__patient=patient)
        .order_by("date", "id")
        .values_list("id", "kind", "date", "new_drug")
    ]
    events.sort(key=lambda e: (e.start, e.kind, e.id))
    categories, measures = _labels(Intervention, "category"), _labels(Intervention, "measure")
    # Care that stops (a permanent discontinuation, a recurrence or a death) ends every
    # intervention still running then: its span ends on the day care stopped.
    stops = [e.start for e in events if e.kind in CARE_STOP_KINDS]
    care_stop = min(stops) if stops else None
    interventions = [
        InterventionSpan(
            id=pk,
            category=category,
            category_label=categories.get(category, category),
            measure=measure,
            measure_label=measures.get(measure, measure),
            start=start,
            end=_ended_by(start, end, care_stop),
        )
        for pk, category, measure, start, end in Intervention.objects.filter(patient=patient)
        .order_by("start_date", "id")
        .values_list("id", "category", "measure", "start_date", "end_date")
    ]
    check_ins = [
        CheckInPoint(id=pk, date=day, days_taken=days, missed_reason=why)
        for pk, day, days, why in AdherenceCheckIn.objects.filter(patient=patient)
        .annotate(day=TruncDate("submitted_at", tzinfo=zone))
        .order_by("submitted_at", "id")
        .values_list("id", "day", "days_taken_last_7", "missed_reason")
    ]
    open_flags = (
        list(_open_flags_of(patient).order_by("priority", "opened_at")) if with_flags else []
    )
    return Trajectory(
        patient=patient,
        thresholds=rules_of(patient.clinic),
        diagnosis=diagnosis,
        series=series,
        events=events,
        interventions=interventions,
        check_ins=check_ins,
        care_stop=care_stop,
        open_flags=open_flags,
    )


# --- the patient list ---------------------------------------------------------------------------

SORTS = {
    "name": ("family_name", "given_name", "id"),
    "record": ("record_number", "id"),
    "average": (F("latest_average").desc(nulls_last=True), "family_name", "id"),
    "interference": (F("latest_interference").desc(nulls_last=True), "family_name", "id"),
    "flags": ("-open_flags", "family_name", "id"),
    "due": (F("next_due").asc(nulls_last=True), "family_name", "id"),
    "last": (F("latest_at").desc(nulls_last=True), "family_name", "id"),
}
DEFAULT_SORT = "name"
BAND_HIGH_INTERFERENCE = "high_interference"
STRATEGY_NONE = "none"
STRATEGIES = (MONOTHERAPY, COMBINED, STRATEGY_NONE)


@dataclass(frozen=True)
class PatientListFilters:
    search: str = ""
    clinic_id: int | None = None
    band: str = ""  # a PainBand value or BAND_HIGH_INTERFERENCE
    open_flags: bool = False
    strategy: str = ""  # monotherapy, combined, none
    sort: str = DEFAULT_SORT


def _open_flags() -> Coalesce:
    flags = (
        _open_flags_of(OuterRef("pk"))
        .order_by()
        .values("patient")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(flags, output_field=IntegerField()), 0)


def _next_due() -> Subquery:
    slots = ReassessmentSlot.objects.filter(patient=OuterRef("pk"), completed_at__isnull=True)
    return Subquery(slots.order_by("due_date").values("due_date")[:1])


def _ai_start() -> Subquery:
    return Subquery(AiCourse.objects.filter(patient=OuterRef("pk")).values("start_date")[:1])


# The list's per-patient annotations, each built only when asked for (building and compiling
# a subquery costs more than running it on a page's rows): her scores from her ``ScoreSummary``
# (a join), the rest correlated subqueries on indexed columns.
ANNOTATIONS: dict[str, Callable[[], Any]] = {
    "latest_at": lambda: F("score_summary__latest_at"),
    "latest_average": lambda: F("score_summary__latest_average"),
    "latest_interference": lambda: F("score_summary__latest_interference"),
    "latest_band": lambda: F("score_summary__latest_band"),
    "latest_high": lambda: F("score_summary__latest_high"),
    "previous_average": lambda: F("score_summary__previous_average"),
    "previous_interference": lambda: F("score_summary__previous_interference"),
    "open_flags": _open_flags,
    "next_due": _next_due,
    "ai_start": _ai_start,
    "strategy_n": strategy_categories,
}


def _annotations(names: Iterable[str]) -> dict[str, Any]:
    return {name: ANNOTATIONS[name]() for name in names}


# The annotations each sort needs (the rest are computed for the page's rows only).
SORT_NEEDS = {
    "average": ("latest_average",),
    "interference": ("latest_interference",),
    "flags": ("open_flags",),
    "due": ("next_due",),
    "last": ("latest_at",),
}


def patient_list(
    *, user: User, filters: PatientListFilters, annotate_all: bool = True
) -> QuerySet[Patient]:
    """Patients ``user`` may see, annotated for the clinician's list, filtered and sorted.

    Annotations: the latest current response's average pain, interference, band, high flag and
    date; the previous response's average pain and interference (the trend); unresolved flags;
    the next open reassessment's due date; the AI start date; the number of intervention
    categories in the strategy window (the strategy at diagnosis). With ``annotate_all=False`` only
    those the filters and the sort need are computed (for choosing a page's ids cheaply).
    """
    needed = set(SORT_NEEDS.get(filters.sort, ()))
    if filters.band == BAND_HIGH_INTERFERENCE:
        needed.add("latest_high")
    elif filters.band:
        needed.add("latest_average")
    if filters.strategy in STRATEGIES:
        needed.add("strategy_n")
    patients: QuerySet[Any] = patients_visible_to(user)
    if annotate_all:
        patients = patients.select_related("clinic").annotate(**_annotations(ANNOTATIONS))
    else:
        patients = patients.annotate(**_annotations(sorted(needed)))
    if filters.clinic_id:
        patients = patients.filter(clinic_id=filters.clinic_id)
    patients = patient_search(patients, filters.search)
    if filters.band == BAND_HIGH_INTERFERENCE:
        patients = patients.filter(latest_high=True)
    elif filters.band:
        # the band of the average pain the list shows beside it
        patients = patients.filter(in_pain_band(filters.band, "latest_average"))
    if filters.open_flags:
        patients = patients.filter(Exists(_open_flags_of(OuterRef("pk"))))
    if filters.strategy in STRATEGIES:
        chosen = None if filters.strategy == STRATEGY_NONE else filters.strategy
        patients = patients.filter(strategy_filter(chosen))
    return patients.order_by(*SORTS.get(filters.sort, SORTS[DEFAULT_SORT]))


@dataclass(frozen=True)
class PatientListRow:
    """One row of the clinician's patient list as it is shown, labels translated (worked out
    here once rather than by template lookups, filters and URL reversals per cell). An empty
    string is "no value yet"."""

    patient_id: int
    url: str
    name: str
    record_number: str
    clinic: str
    average: str  # latest average pain
    band: str  # latest pain band code (assessments.scoring), for its colour
    band_label: str  # the band's translated name
    average_trend: str  # latest minus previous average pain, with an arrow
    interference: str  # latest interference score
    high: bool  # the decision stored on the latest response
    interference_trend: str
    open_flags: int
    strategy: str  # the strategy at diagnosis, translated; "—" for none yet
    months_on_ai: str
    next_due: str

    @classmethod
    def of(cls, p: Any, today: dt.date) -> PatientListRow:
        """The row of ``p``, a patient annotated by :func:`patient_list`."""
        average_trend = (
            p.latest_average - p.previous_average
            if p.latest_average is not None and p.previous_average is not None
            else None
        )
        interference_trend = (
            float(p.latest_interference - p.previous_interference)
            if p.latest_interference is not None and p.previous_interference is not None
            else None
        )
        months_on_ai = months_between(p.ai_start, today) if p.ai_start else None
        strategy = strategy_of(p.strategy_n)
        # The band beside the average pain is that average's band (not the severity's).
        band = None if p.latest_average is None else pain_band(p.latest_average, rules_of(p.clinic))
        return cls(
            patient_id=p.pk,
            url=reverse("clinical:patient", args=[p.pk]),
            name=p.listed_name,
            record_number=p.record_number,
            clinic=p.clinic.code.upper(),
            average="" if p.latest_average is None else localize(p.latest_average),
            band=band or "",
            band_label=str(band.label) if band else "",
            average_trend=trend(average_trend),
            interference=""
            if p.latest_interference is None
            else str(localize(score_shown(p.latest_interference))),
            high=bool(p.latest_high),
            interference_trend=trend(interference_trend),
            open_flags=p.open_flags,
            strategy=str(STRATEGY_LABELS[strategy]) if strategy else "—",
            months_on_ai="—" if months_on_ai is None else str(months_on_ai),
            next_due=p.next_due.isoformat() if p.next_due else "—",
        )


class _ScoredFirst:
    """The ids of the list sorted by average pain, as a sequence the paginator slices: the
    patients with a score first, read in order from their summaries' index (her clinic, average
    pain, family name), then those without one by name, from the patients' index. As one query
    (patients left-joined to their summaries) PostgreSQL sorts every patient of the clinic, or
    hashes every summary of the cohort, to show 25 of them.

    The same order as ``SORTS["average"]``: an average is never empty on a summary."""

    def __init__(self, user: User, filters: PatientListFilters) -> None:
        everyone = patient_list(
            user=user, filters=replace(filters, sort=DEFAULT_SORT), annotate_all=False
        )
        self._everyone = everyone
        scored = ScoreSummary.objects.all()
        clinics = clinic_ids_of(user)
        if clinics is not None:
            scored = scored.filter(clinic_id__in=clinics)
        if filters.clinic_id:
            scored = scored.filter(clinic_id=filters.clinic_id)
        if filters.band == BAND_HIGH_INTERFERENCE:
            scored = scored.filter(latest_high=True)
        elif filters.band:
            scored = scored.filter(in_pain_band(filters.band, "latest_average"))
        if filters.search or filters.open_flags or filters.strategy in STRATEGIES:
            scored = scored.filter(patient__in=everyone.values("pk"))
        self._scored = scored.order_by(
            F("latest_average").desc(), "family_name", "patient_id"
        ).values_list("patient_id", flat=True)
        # Everyone in a band has a score.
        self._unscored = (
            everyone.none()
            if filters.band
            else everyone.filter(score_summary__isnull=True).order_by("family_name", "id")
        ).values_list("pk", flat=True)

    @cached_property
    def _count(self) -> int:
        return self._everyone.count()

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, page: slice) -> list[int]:
        start, stop = page.start or 0, min(page.stop, self._count)
        ids = list(self._scored[start:stop])
        if len(ids) == stop - start:
            return ids
        # Past the last patient with a score (counted only here).
        scored = start + len(ids) if ids else self._scored.count()
        return ids + list(self._unscored[max(start - scored, 0) : stop - scored])


PATIENTS_PER_PAGE = 25
# What a row shows of the patient herself (the rest of her record is not loaded).
# Her clinic whole: its rules give the band of her average pain.
ROW_FIELDS = ("family_name", "given_name", "record_number", "aimss_diagnosis_date", "clinic")


def patient_list_page(
    *, user: User, filters: PatientListFilters, page_number: Any, today: dt.date | None = None
) -> tuple[Page[Any], list[PatientListRow]]:
    """One page of the clinician's patient list in three queries: a count, the page's ids, and
    every annotation for those rows (the strategy by ``adherence.strategy``'s annotation)."""
    today = today or timezone.localdate()
    # The page's ids first (only the annotations its filters and sort need), then every
    # annotation for those 25 rows.
    ids: Any
    if filters.sort == "average":
        ids = _ScoredFirst(user, filters)
    else:
        ids = patient_list(user=user, filters=filters, annotate_all=False)
        ids = ids.values_list("pk", flat=True)
    paginator = Paginator(ids, PATIENTS_PER_PAGE)
    page = paginator.get_page(page_number)
    page_ids = list(page.object_list)
    # (Ids of her visible patients, chosen above: no need to filter them again.)
    annotated = (
        Patient.objects.filter(pk__in=page_ids)
        .select_related("clinic")
        .only(*ROW_FIELDS)
        .annotate(**_annotations(ANNOTATIONS))
    )
    by_id = {p.pk: p for p in annotated}
    rows = [PatientListRow.of(by_id[pk], today) for pk in page_ids]
    return page, rows
