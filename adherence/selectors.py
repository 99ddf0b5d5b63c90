"""Derived, never typed: course status, the management strategy at diagnosis and the
treatment interruption-free survival record (the study's primary outcome; Liang et al.).

One derivation serves one patient (:func:`survival_record`) and a cohort
(:func:`survival_records`, a fixed number of queries whatever the cohort size); pages, the API,
analytics and charts all read it from here.

Definitions (documented once, tested in ``tests/adherence/test_survival.py``):

- **Origin**: the AIMSS diagnosis date. A patient without one has no record (time ``None``).
- **Strategy at diagnosis**: see :mod:`adherence.strategy` (monotherapy, combined or none).
- **Event**: the earliest composite event (see :class:`adherence.models.TreatmentEvent` for how
  "due to AIMSS" is encoded). Ties on one day are broken death > recurrence >
  aimss_discontinuation: the most final outcome names the event, since the others could not be
  observed after it anyway.
- **Censoring**: without an event, at the last follow-up: the latest date of any data recorded
  for her (treatment events and their ends, interventions and their ends, regimen changes,
  check-ins, answers, an imported chart's last visit; see :data:`FOLLOW_UP_SOURCES`), never
  "today", so a patient lost to follow-up is not counted as event-free until now.
- **Other stops censor**: a permanent discontinuation for another reason (progression, organ
  dysfunction, her choice not due to AIMSS) or a switch to a non-AI endocrine therapy is not an
  event: she is censored on its date (``censoring`` names which) unless an event came first.
  (The study excluded such patients; analytics offers that as a setting.)
- **As-of date** (reports): with ``as_of``, nothing recorded after it is read, and an AIMSS
  stop still open is counted up to ``as_of``: 91 days or more is the event; shorter, she is
  censored at ``as_of`` with ``censoring="open_aimss_stop"`` and ``open_stop_days`` (a later
  report may then count it as an event). Without ``as_of`` (the patient's pages) an open stop
  is counted to the last follow-up, as before.
- **Recurrence before the AIMSS diagnosis** is not an event of the follow-up (it precedes the
  origin); ``recurrence_before_origin`` records it for the study's eligibility criterion.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Exists, Max, OuterRef, QuerySet
from django.utils import timezone

from assessments.models import Response
from patients.clock import local_date, zone_of
from patients.models import Patient
from patients.rules import rules_of

from .models import (
    AIMSS_STOP_MIN_DAYS,
    CARE_STOP_KINDS,
    DAYS_IN_WEEK,
    AdherenceCheckIn,
    AiCourse,
    CourseStatus,
    EventKind,
    ExternalFollowUp,
    Intervention,
    RegimenChange,
    RegimenChangeKind,
    StopReason,
    TreatmentEvent,
)
from .strategy import COMBINED as COMBINED  # analytics reads the groups from here too
from .strategy import strategy_at_diagnosis

EVENT_DEATH = "death"
EVENT_RECURRENCE = "recurrence"
EVENT_AIMSS_DISCONTINUATION = "aimss_discontinuation"
# Same-day ties: the lower number wins.
EVENT_PRIORITY = {EVENT_DEATH: 0, EVENT_RECURRENCE: 1, EVENT_AIMSS_DISCONTINUATION: 2}


@dataclass(frozen=True)
class SurvivalRecord:
    patient_id: int
    strategy: str | None
    categories: tuple[str, ...]
    time_days: int | None
    event: bool
    event_type: str | None
    censored_at: dt.date | None
    origin: dt.date | None
    event_date: dt.date | None = None
    # why she is censored: "last_follow_up", "other_discontinuation", "switch_non_ai",
    # "open_aimss_stop" (at the as-of date); None with an event
    censoring: str | None = None
    # the date she stopped the AI for another reason or switched to a non-AI therapy, if ever
    other_stop_date: dt.date | None = None
    open_stop_days: int | None = None  # days off so far of an AIMSS stop open at the as-of date
    recurrence_before_origin: bool = False


@dataclass
class PatientData:
    """What the derivations need about one patient, loaded in bulk."""

    patient: Patient
    events: list[TreatmentEvent] = field(default_factory=list)
    interventions: list[tuple[str, dt.date, dt.date | None]] = field(default_factory=list)
    last_dates: list[dt.date] = field(default_factory=list)
    non_ai_switches: list[dt.date] = field(default_factory=list)


# --- events -----------------------------------------------------------------------------------


def aimss_stop_event_date(
    events: Sequence[TreatmentEvent], last_follow_up: dt.date
) -> dt.date | None:
    """The start of the first AIMSS stop that counts as "discontinuation due to AIMSS"."""
    stops = sorted(
        (
            e
            for e in events
            if e.kind in (EventKind.INTERRUPTION, EventKind.DISCONTINUATION)
            and e.reason == StopReason.AIMSS
        ),
        key=lambda e: (e.start_date, e.kind != EventKind.INTERRUPTION),
    )
    run_start: dt.date | None = None
    run_end: dt.date | None = None  # last day off in the run; None = still off
    run_explicit = False
    for stop in stops:
        open_ended = stop.kind == EventKind.DISCONTINUATION or stop.end_date is None
        continues = (
            run_start is not None
            and run_end is not None
            and stop.start_date <= run_end + dt.timedelta(days=1)
        )
        if run_start is not None and not continues:
            if _run_counts(run_start, run_end, run_explicit, last_follow_up):
                return run_start
            run_start = None
        if run_start is None:
            run_start, run_end, run_explicit = stop.start_date, stop.start_date, False
        if open_ended:
            run_end = None
        elif run_end is not None and stop.end_date is not None:
            run_end = max(run_end, stop.end_date)
        run_explicit = run_explicit or stop.explicit_aimss_termination
        if run_end is None:  # nothing after an open stop can start a new run
            break
    if run_start is not None and _run_counts(run_start, run_end, run_explicit, last_follow_up):
        return run_start
    return None


def _run_counts(start: dt.date, end: dt.date | None, explicit: bool, last: dt.date) -> bool:
    if explicit:
        return True
    days_off = ((end or max(last, start)) - start).days + 1
    return days_off >= AIMSS_STOP_MIN_DAYS


def last_follow_up(data: PatientData) -> dt.date | None:
    dates = list(data.last_dates)
    for event in data.events:
        dates.append(event.last_date)
    for _category, start, end in data.interventions:
        dates.append(end or start)
    diagnosis = data.patient.aimss_diagnosis_date
    if diagnosis:
        dates.append(diagnosis)
    return max(dates) if dates else None


CENSOR_LAST_FOLLOW_UP = "last_follow_up"
CENSOR_OTHER_DISCONTINUATION = "other_discontinuation"
CENSOR_SWITCH_NON_AI = "switch_non_ai"
CENSOR_OPEN_AIMSS_STOP = "open_aimss_stop"


def _as_of_view(data: PatientData, as_of: dt.date) -> PatientData:
    """What was known on ``as_of``: later records dropped, stops still open on that day open."""
    events = []
    for event in data.events:
        if event.start_date > as_of:
            continue
        if event.end_date is not None and event.end_date > as_of:
            event = copy.copy(event)
            event.end_date = None
        events.append(event)
    return PatientData(
        patient=data.patient,
        events=events,
        interventions=[
            (c, s, e if e is None or e <= as_of else None)
            for c, s, e in data.interventions
            if s <= as_of
        ],
        last_dates=[d for d in data.last_dates if d <= as_of],
        non_ai_switches=[d for d in data.non_ai_switches if d <= as_of],
    )


def _other_stop(data: PatientData, origin: dt.date) -> tuple[dt.date, str] | None:
    """Her first stop of the AI that is not for AIMSS: a discontinuation for another reason or
    a switch to a non-AI endocrine therapy (one before the diagnosis counts on the diagnosis)."""
    stops = [
        (e.start_date, CENSOR_OTHER_DISCONTINUATION)
        for e in data.events
        if e.kind == EventKind.DISCONTINUATION and e.reason == StopReason.OTHER
    ] + [(d, CENSOR_SWITCH_NON_AI) for d in data.non_ai_switches]
    if not stops:
        return None
    when, kind = min(stops)
    return max(when, origin), kind


def _open_aimss_stop(events: Sequence[TreatmentEvent]) -> dt.date | None:
    """The start of an AIMSS stop still open (an interruption without an end, or a
    discontinuation for AIMSS), or None."""
    starts = [
        e.start_date
        for e in events
        if e.reason == StopReason.AIMSS
        and (e.kind == EventKind.DISCONTINUATION or e.end_date is None)
        and e.kind in (EventKind.INTERRUPTION, EventKind.DISCONTINUATION)
    ]
    return min(starts) if starts else None


def derive_survival(data: PatientData, as_of: dt.date | None = None) -> SurvivalRecord:
    """The survival record from one patient's loaded data (no queries); ``as_of``: as known
    on that day (reports), with an open AIMSS stop counted up to it."""
    patient = data.patient
    if as_of is not None:
        data = _as_of_view(data, as_of)
    origin = patient.aimss_diagnosis_date
    strategy, categories = strategy_at_diagnosis(
        diagnosis=origin,
        window_days=rules_of(patient.clinic).strategy_window_days,
        starts=[(c, s) for c, s, _e in data.interventions],
    )
    if origin is None:
        return SurvivalRecord(patient.pk, strategy, categories, None, False, None, None, None)
    last = last_follow_up(data) or origin
    # an open stop runs to the as-of date in a report (she is still off the drug on that day)
    open_until = max(as_of, last) if as_of is not None else last
    recurrences = [e.start_date for e in data.events if e.kind == EventKind.RECURRENCE]
    candidates: list[tuple[dt.date, str]] = [
        (e.start_date, EVENT_DEATH) for e in data.events if e.kind == EventKind.DEATH
    ] + [(day, EVENT_RECURRENCE) for day in recurrences if day >= origin]
    aimss_date = aimss_stop_event_date(data.events, open_until)
    if aimss_date is not None:
        candidates.append((aimss_date, EVENT_AIMSS_DISCONTINUATION))
    other = _other_stop(data, origin)
    other_date = other[0] if other else None
    before = any(day < origin for day in recurrences)
    if candidates:
        when, kind = min(candidates, key=lambda c: (c[0], EVENT_PRIORITY[c[1]]))
        if other is None or other[0] >= when:
            return SurvivalRecord(
                patient.pk,
                strategy,
                categories,
                (when - origin).days,
                True,
                kind,
                None,
                origin,
                when,
                other_stop_date=other_date,
                recurrence_before_origin=before,
            )
    if other is not None:
        return SurvivalRecord(
            patient.pk,
            strategy,
            categories,
            (other[0] - origin).days,
            False,
            None,
            other[0],
            origin,
            censoring=other[1],
            other_stop_date=other_date,
            recurrence_before_origin=before,
        )
    open_start = _open_aimss_stop(data.events) if as_of is not None else None
    if open_start is not None and as_of is not None:
        return SurvivalRecord(
            patient.pk,
            strategy,
            categories,
            (as_of - origin).days,
            False,
            None,
            as_of,
            origin,
            censoring=CENSOR_OPEN_AIMSS_STOP,
            open_stop_days=(as_of - open_start).days + 1,
            other_stop_date=other_date,
            recurrence_before_origin=before,
        )
    return SurvivalRecord(
        patient.pk,
        strategy,
        categories,
        (last - origin).days,
        False,
        None,
        last,
        origin,
        censoring=CENSOR_LAST_FOLLOW_UP,
        other_stop_date=other_date,
        recurrence_before_origin=before,
    )


# --- loading ----------------------------------------------------------------------------------

# Sources of the last follow-up: each gives {patient_id: latest date} for a set of patient ids
# in one query. Events, interventions and regimen changes are loaded anyway and counted in
# ``last_follow_up``.
# the patients' ids: a list, or a subquery for a large cohort (no 100,000 literals in the SQL)
PatientIds = Iterable[int]
FollowUpSource = Callable[[PatientIds, dict[int, Patient]], dict[int, dt.date]]


def _check_in_dates(ids: PatientIds, patients: dict[int, Patient]) -> dict[int, dt.date]:
    rows = (
        AdherenceCheckIn.objects.filter(patient_id__in=ids)
        .values("patient_id")
        .annotate(last=Max("submitted_at"))
    )
    return {row["patient_id"]: local_date(row["last"], patients[row["patient_id"]]) for row in rows}


def _response_dates(ids: PatientIds, patients: dict[int, Patient]) -> dict[int, dt.date]:
    """Her last BPI-SF answer is a contact too."""
    rows = (
        Response.objects.filter(patient_id__in=ids)
        .values("patient_id")
        .annotate(last=Max("submitted_at"))
    )
    return {row["patient_id"]: local_date(row["last"], patients[row["patient_id"]]) for row in rows}


def _external_follow_up_dates(ids: PatientIds, _patients: dict[int, Patient]) -> dict[int, dt.date]:
    """An imported chart's last follow-up is a contact too."""
    return dict(
        ExternalFollowUp.objects.filter(patient_id__in=ids).values_list(
            "patient_id", "last_follow_up_date"
        )
    )


FOLLOW_UP_SOURCES: tuple[FollowUpSource, ...] = (
    _check_in_dates,
    _response_dates,
    _external_follow_up_dates,
)


def load_patient_data(patients: Iterable[Patient]) -> list[PatientData]:
    """Events, intervention dates and last follow-up dates for many patients in a few queries."""
    by_id = {p.pk: PatientData(patient=p) for p in patients}
    if not by_id:
        return []
    ids: PatientIds = (
        patients.values_list("pk", flat=True) if isinstance(patients, QuerySet) else list(by_id)
    )
    for event in TreatmentEvent.objects.filter(patient_id__in=ids).order_by("start_date", "id"):
        by_id[event.patient_id].events.append(event)
    for pid, category, start, end in Intervention.objects.filter(patient_id__in=ids).values_list(
        "patient_id", "category", "start_date", "end_date"
    ):
        by_id[pid].interventions.append((category, start, end))
    for pid, date, kind in RegimenChange.objects.filter(course__patient_id__in=ids).values_list(
        "course__patient_id", "date", "kind"
    ):
        by_id[pid].last_dates.append(date)  # a regimen change is a contact
        if kind == RegimenChangeKind.SWITCH_NON_AI:
            by_id[pid].non_ai_switches.append(date)
    patient_map = {pid: data.patient for pid, data in by_id.items()}
    for source in FOLLOW_UP_SOURCES:
        for pid, date in source(ids, patient_map).items():
            by_id[pid].last_dates.append(date)
    return list(by_id.values())


def survival_records(
    patients: QuerySet[Patient], *, as_of: dt.date | None = None
) -> list[SurvivalRecord]:
    """Survival records of a cohort, in a fixed number of queries whatever its size (as known
    on ``as_of``, if given)."""
    return [derive_survival(d, as_of) for d in load_patient_data(patients.select_related("clinic"))]


def survival_record(patient: Patient) -> SurvivalRecord:
    """The survival record of one patient."""
    return derive_survival(load_patient_data([patient])[0])


# --- care that stops ---------------------------------------------------------------------------


def care_stop_of(patient_id: int) -> TreatmentEvent | None:
    """Her first event after which AI care stops (a permanent discontinuation, a confirmed
    recurrence or a death; ``models.CARE_STOP_KINDS``), or ``None`` while she is on AI."""
    return (
        TreatmentEvent.objects.filter(patient_id=patient_id, kind__in=CARE_STOP_KINDS)
        .order_by("start_date", "id")
        .first()
    )


def off_ai(patient_ref: str | OuterRef = "pk") -> Exists:
    """The same rule for a queryset: ``.filter(~off_ai())`` keeps the patients still on AI;
    ``patient_ref`` names the patient's id in the outer query (e.g. ``"patient_id"``)."""
    ref = patient_ref if isinstance(patient_ref, OuterRef) else OuterRef(patient_ref)
    return Exists(TreatmentEvent.objects.filter(patient_id=ref, kind__in=CARE_STOP_KINDS))


def death_of(patient: Patient) -> TreatmentEvent | None:
    return TreatmentEvent.objects.filter(patient=patient, kind=EventKind.DEATH).first()


def current_drug(patient: Patient) -> str | None:
    """The aromatase inhibitor she takes now: the last switch of agent, else the course's."""
    course = AiCourse.objects.filter(patient=patient).first()
    if course is None:
        return None
    switch = (
        RegimenChange.objects.filter(course=course, new_drug__gt="")
        .order_by("-date", "-id")
        .first()
    )
    return switch.new_drug if switch else course.drug


# --- course -----------------------------------------------------------------------------------


def course_status(
    course: AiCourse, events: Sequence[TreatmentEvent], today: dt.date | None = None
) -> CourseStatus:
    """Active, interrupted, completed or discontinued, from the events (never stored)."""
    today = today or timezone.localdate()
    if any(e.kind in (EventKind.DISCONTINUATION, EventKind.DEATH) for e in events):
        return CourseStatus.DISCONTINUED
    if today >= course.planned_end_date:
        return CourseStatus.COMPLETED
    for e in events:
        if (
            e.kind == EventKind.INTERRUPTION
            and e.start_date <= today
            and (e.end_date is None or e.end_date >= today)
        ):
            return CourseStatus.INTERRUPTED
    return CourseStatus.ACTIVE


@dataclass(frozen=True)
class TherapyOverview:
    """Everything the staff therapy page shows about one patient."""

    course: AiCourse | None
    course_status: CourseStatus | None
    regimen_changes: list[RegimenChange]
    events: list[TreatmentEvent]
    interventions: list[Intervention]
    check_ins: list[AdherenceCheckIn]
    survival: SurvivalRecord


RECENT_CHECK_INS = 10


def therapy_overview(patient: Patient) -> TherapyOverview:
    course = AiCourse.objects.filter(patient=patient).first()
    events = list(TreatmentEvent.objects.filter(patient=patient).order_by("start_date", "id"))
    return TherapyOverview(
        course=course,
        course_status=course_status(course, events) if course else None,
        regimen_changes=list(
            RegimenChange.objects.filter(course__patient=patient).order_by("date", "id")
        ),
        events=events,
        interventions=list(Intervention.objects.filter(patient=patient).order_by("start_date")),
        check_ins=list(
            AdherenceCheckIn.objects.filter(patient=patient).order_by("-submitted_at")[
                :RECENT_CHECK_INS
            ]
        ),
        survival=survival_record(patient),
    )


# --- proportion of days covered ----------------------------------------------------------------

# The window of the estimate: the last 12 months (the usual period of a PDC; medication
# adherence research measures it over a year of therapy).
PDC_WINDOW_DAYS = 365  # days


@dataclass(frozen=True)
class PdcEstimate:
    """Her proportion of days covered, estimated from her check-ins (method in words on the
    trajectory page): each check-in reports the 7 days up to the day she answered it; check-ins
    whose weeks overlap a later one's are left out (the later answer counts); days in the window
    without a check-in are unknown, neither taken nor missed."""

    start: dt.date  # first day of the window
    end: dt.date  # last day of the window
    check_ins: int  # the check-ins counted
    days_taken: int  # days taken, as she reported
    days_reported: int  # days covered by the counted check-ins (7 each)
    days_unknown: int  # days of the window no check-in covers

    @property
    def pdc(self) -> float | None:
        """Days taken / days reported (0-1), None without any check-in."""
        return self.days_taken / self.days_reported if self.days_reported else None

    @property
    def percent(self) -> int | None:
        return None if self.pdc is None else round(self.pdc * 100)


def course_start_of(patient: Patient) -> dt.date | None:
    """The day her AI course started, or None before one is recorded."""
    return AiCourse.objects.filter(patient=patient).values_list("start_date", flat=True).first()


def pdc_estimate(patient: Patient, today: dt.date | None = None) -> PdcEstimate:
    """PDC = days taken reported / days in the weeks covered by check-ins, over the last 12
    months (or since her AI started, if later)."""
    today = today or local_date(timezone.now(), patient)
    course_start = course_start_of(patient)
    zone = zone_of(patient)
    answers = (
        AdherenceCheckIn.objects.filter(patient=patient)
        .order_by("-submitted_at", "-id")
        .values_list("submitted_at", "days_taken_last_7")
    )
    days = ((submitted_at.astimezone(zone).date(), taken) for submitted_at, taken in answers)
    return pdc_from_check_ins(days, today=today, course_start=course_start)


def pdc_from_check_ins(
    answers: Iterable[tuple[dt.date, int]], *, today: dt.date, course_start: dt.date | None
) -> PdcEstimate:
    """The same estimate from check-ins already read: (her local day, days taken), newest
    first (the trajectory page has them)."""
    start = today - dt.timedelta(days=PDC_WINDOW_DAYS - 1)
    if course_start is not None and course_start > start:
        start = min(course_start, today)
    counted: list[tuple[dt.date, int]] = []
    earliest_covered: dt.date | None = None
    for day, days in answers:
        if day > today:
            continue
        first = day - dt.timedelta(days=DAYS_IN_WEEK - 1)
        if first < start:
            break  # its week reaches before the window; older ones too
        if earliest_covered is not None and day >= earliest_covered:
            continue  # overlaps the later check-in's week
        counted.append((day, days))
        earliest_covered = first
    reported = DAYS_IN_WEEK * len(counted)
    return PdcEstimate(
        start=start,
        end=today,
        check_ins=len(counted),
        days_taken=sum(days for _day, days in counted),
        days_reported=reported,
        days_unknown=(today - start).days + 1 - reported,
    )
