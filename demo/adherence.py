"""AI therapy, interventions, treatment events and check-ins for the demo cohort, calibrated to
the study (Liang et al.).

- Initial management gives each patient exactly her profile's group: monotherapy = one
  category started within the first week after the AIMSS diagnosis; combined = two or three
  categories started within the first 10 days (the clinic window is 14 days). Some monotherapy
  patients escalate later (from day 30), which does not change the derived strategy.
- Composite events are simulated, not allotted: each patient's time to the event is drawn from
  a proportional-hazards model (exponential baseline) with the study's covariate effects
  (:data:`LOG_HAZARD_RATIOS`: average pain, age, stage, chemotherapy, and strategy within each
  interference stratum), and she has the event if it comes before her follow-up ends. The
  baseline hazard is solved so that the expected number of events is the study's 68 of 253
  (scaled to the cohort size); the number drawn varies around it. Most events are AIMSS
  discontinuations (an explicit termination, or an AIMSS interruption running into a
  discontinuation), a few recurrences and deaths.
- Follow-up: at least 18 months from diagnosis, ending between then and 2026-11-01, fixed by the
  seed and never by today's date. Check-ins at months 1, 2 and 3, then every 3 months, and one at
  the last follow-up; a few lapses, and lapses before an AIMSS discontinuation.

Everything draws from its own random stream (``"{seed}:adherence"``), so the baseline cohort of
:mod:`patients.demo` is unchanged, and is written with ``bulk_create``.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from adherence.models import (
    DAYS_IN_WEEK,
    AdherenceCheckIn,
    AiCourse,
    Drug,
    EventKind,
    Intervention,
    InterventionCategory,
    Measure,
    MissedReason,
    RegimenChange,
    RegimenChangeKind,
    StopReason,
    TreatmentEvent,
)
from adherence.services import is_adherence_lapse
from demo.patients import FOLLOW_UP_END, DemoProfile
from followup.schedules import add_months, schedule_months
from patients.models import Patient
from patients.rules import DEFAULT_RULES as RULES

HIGH_INTERFERENCE = 7  # BPI interference >= 7 (Serlin 1995; Shi 2017; the study)
STUDY_EVENTS = 68  # composite events of 253 patients (the study)
STUDY_HIGH_EVENTS = 31  # of them among patients with high baseline interference (>= 7)
STUDY_TOTAL = 253
# The hazard model the event times are drawn from (Liang et al.): the multivariable Cox model's
# average pain (1.438 per point), age (1.064 per year) and TNM II/III (0.568); chemotherapy's
# univariate HR (1.530); combined vs monotherapy 0.731 with low interference and 0.125 with
# high (the stratified HRs). The effect of high interference under monotherapy is not
# reported: it is solved, with the baseline hazard, so that the expected events are the
# study's 68, 31 of them with high interference (:func:`_calibrate`).
LOG_HAZARD_RATIOS = {
    "average_pain": math.log(1.438),
    "age": math.log(1.064),
    "stage_ii_iii": math.log(0.568),
    "chemotherapy": math.log(1.530),
    "combined_low": math.log(0.731),
    "combined_high": math.log(0.125),
}
CENTRES = {"average_pain": 5.7, "age": 63.0}  # the study's means, so the baseline is typical
EVENT_FROM_DAY = 15  # events come after the strategy window (days from diagnosis)
FOLLOW_UP_MIN_DAYS = 548  # 18 months (the study's inclusion)
EVENT_TYPE_SHARES = (("aimss", 0.80), ("recurrence", 0.12), ("death", 0.08))
SHARE_EXPLICIT_TERMINATION = 0.65  # of AIMSS discontinuations; the rest run from an interruption
SHARE_TEMPORARY_INTERRUPTION = 0.08
SHARE_ESCALATION = 0.35  # monotherapy patients given a second category later
SHARE_TEN_YEARS = 0.2
SHARE_RANDOM_LAPSE = 0.04

CATEGORY_WEIGHTS: dict[str, float] = {
    InterventionCategory.PHYSICAL_THERAPY: 0.40,
    InterventionCategory.ANALGESIC: 0.38,
    InterventionCategory.COMPLEMENTARY: 0.14,
    InterventionCategory.AI_ADJUSTMENT: 0.08,
}
MEASURES: dict[str, list[str]] = {
    InterventionCategory.ANALGESIC: [Measure.CELECOXIB, Measure.LOXOPROFEN, Measure.DULOXETINE],
    InterventionCategory.PHYSICAL_THERAPY: [Measure.EXERCISE, Measure.PHYSIOTHERAPY],
    InterventionCategory.AI_ADJUSTMENT: [Measure.DOSE_REDUCTION, Measure.INTERMITTENT_DOSING],
    InterventionCategory.COMPLEMENTARY: [Measure.VITAMIN_D, Measure.VITAMIN_D, Measure.ACUPUNCTURE],
}
# (shortest, longest) days of each category; an AI adjustment stays.
DURATION_DAYS: dict[str, tuple[int, int]] = {
    InterventionCategory.ANALGESIC: (28, 84),
    InterventionCategory.PHYSICAL_THERAPY: (56, 120),
    InterventionCategory.COMPLEMENTARY: (56, 112),  # vitamin D 8-16 weeks (the guideline)
}
SIDE_EFFECTS = [
    "Stiff fingers in the morning",
    "Aching knees on the stairs",
    "Sore wrists",
    "Hot flushes",
    "Tired, joints ache",
]


@dataclass
class _Plan:
    profile: DemoProfile
    patient: Patient
    stratum: str
    event: str | None = None
    event_day: int = 0
    follow_up_end: dt.date = dt.date.min
    off_periods: list[tuple[dt.date, dt.date]] = field(default_factory=list)


def _relative_hazard(plan: _Plan, high_effect: float) -> float:
    """exp(linear predictor) of the study's hazard model for one patient, with
    ``high_effect`` the log HR of high interference (monotherapy)."""
    profile, beta = plan.profile, LOG_HAZARD_RATIOS
    age = (profile.aimss_diagnosis_date - profile.birth_date).days / 365.25
    high = plan.stratum == "high"
    combined = profile.group == "combined"
    predictor = (
        beta["average_pain"] * (profile.baseline_average_pain - CENTRES["average_pain"])
        + beta["age"] * (age - CENTRES["age"])
        + beta["stage_ii_iii"] * (profile.tnm_stage in ("II", "III"))
        + beta["chemotherapy"] * profile.chemotherapy
        + high_effect * high
        + (beta["combined_high"] if high else beta["combined_low"]) * combined
    )
    return math.exp(predictor)


def _expected(rate: float, risks: Sequence[float], spans: Sequence[int]) -> float:
    return sum(1 - math.exp(-rate * r * s) for r, s in zip(risks, spans, strict=True))


def _bisect(function: Callable[[float], float], target: float, low: float, high: float) -> float:
    """x in [low, high] with function(x) = target, for an increasing function (geometric
    bisection: the arguments are positive rates or relative hazards)."""
    for _ in range(60):
        middle = math.sqrt(low * high)
        low, high = (middle, high) if function(middle) < target else (low, middle)
    return math.sqrt(low * high)


def _calibrate(plans: Sequence[_Plan], spans: Sequence[int]) -> tuple[float, list[float]]:
    """The baseline hazard (per day) and each patient's relative hazard such that the expected
    events are the study's (68 of 253, 31 with high interference, scaled to the cohort)."""
    scale = len(plans) / STUDY_TOTAL
    high = [p.stratum == "high" for p in plans]

    def solved(hr_high: float) -> tuple[float, list[float]]:
        risks = [_relative_hazard(p, math.log(hr_high)) for p in plans]
        rate = _bisect(lambda r: _expected(r, risks, spans), STUDY_EVENTS * scale, 1e-9, 1.0)
        return rate, risks

    def high_events(hr_high: float) -> float:
        rate, risks = solved(hr_high)
        chosen = [(r, s) for r, s, h in zip(risks, spans, high, strict=True) if h]
        return _expected(rate, [r for r, _ in chosen], [s for _, s in chosen])

    return solved(_bisect(high_events, STUDY_HIGH_EVENTS * scale, 0.05, 50.0))


def _simulate_events(plans: Sequence[_Plan], spans: Sequence[int], rng: random.Random) -> None:
    """Draw each patient's event time from the hazard model; an event before her follow-up
    ends is her composite event."""
    at_risk = [max(span - EVENT_FROM_DAY, 1) for span in spans]
    rate, risks = _calibrate(plans, at_risk)
    for plan, risk, days in zip(plans, risks, at_risk, strict=True):
        time = rng.expovariate(rate * risk)
        if time < days:
            plan.event = _event_type(rng)
            plan.event_day = EVENT_FROM_DAY + int(time)


def _pick(rng: random.Random, weights: dict[str, float], exclude: Sequence[str] = ()) -> str:
    options = [(k, w) for k, w in weights.items() if k not in exclude]
    return rng.choices([k for k, _ in options], [w for _, w in options])[0]


def _event_type(rng: random.Random) -> str:
    draw = rng.random()
    for kind, share in EVENT_TYPE_SHARES:
        if draw < share:
            return kind
        draw -= share
    return EVENT_TYPE_SHARES[0][0]


def _at(date: dt.date) -> dt.datetime:
    return dt.datetime.combine(date, dt.time(10, 0), tzinfo=dt.UTC)


def seed_adherence(
    profiles: Sequence[DemoProfile], patients: Sequence[Patient], seed: int
) -> dict[str, int]:
    """Write courses, regimen changes, interventions, events and check-ins for the cohort."""
    rng = random.Random(f"{seed}:adherence")  # nosec B311
    plans = [
        _Plan(
            profile=profile,
            patient=patient,
            stratum="high" if profile.baseline_interference >= HIGH_INTERFERENCE else "low",
        )
        for profile, patient in zip(profiles, patients, strict=True)
    ]
    spans = []
    for plan in plans:
        dx = plan.profile.aimss_diagnosis_date
        spans.append(rng.randint(FOLLOW_UP_MIN_DAYS, (FOLLOW_UP_END - dx).days))
        plan.follow_up_end = dx + dt.timedelta(days=spans[-1])
    _simulate_events(plans, spans, rng)

    courses, changes, interventions, events, check_ins = [], [], [], [], []
    for plan in plans:
        profile, patient = plan.profile, plan.patient
        dx = profile.aimss_diagnosis_date
        censor = plan.follow_up_end
        span = (censor - dx).days
        course = AiCourse(
            patient=patient,
            drug=profile.ai_drug,
            start_date=profile.ai_start_date,
            planned_duration_years=10 if rng.random() < SHARE_TEN_YEARS else 5,
        )
        courses.append(course)

        # The composite event, if she has one.
        if plan.event:
            when = dx + dt.timedelta(days=plan.event_day)
            if plan.event == "death":
                plan.follow_up_end = when
                events.append(
                    TreatmentEvent(patient=patient, kind=EventKind.DEATH, start_date=when)
                )
            elif plan.event == "recurrence":
                events.append(
                    TreatmentEvent(patient=patient, kind=EventKind.RECURRENCE, start_date=when)
                )
            elif rng.random() < SHARE_EXPLICIT_TERMINATION or plan.event_day > span - 120:
                events.append(
                    TreatmentEvent(
                        patient=patient,
                        kind=EventKind.DISCONTINUATION,
                        reason=StopReason.AIMSS,
                        explicit_aimss_termination=True,
                        start_date=when,
                        note="Stopped for joint pain",
                    )
                )
                plan.off_periods.append((when, censor))
            else:  # an AIMSS interruption that ran into a permanent discontinuation
                last_off = when + dt.timedelta(days=rng.randint(20, 60))
                events.append(
                    TreatmentEvent(
                        patient=patient,
                        kind=EventKind.INTERRUPTION,
                        reason=StopReason.AIMSS,
                        start_date=when,
                        end_date=last_off,
                    )
                )
                events.append(
                    TreatmentEvent(
                        patient=patient,
                        kind=EventKind.DISCONTINUATION,
                        reason=StopReason.AIMSS,
                        start_date=last_off + dt.timedelta(days=1),
                    )
                )
                plan.off_periods.append((when, censor))
        elif rng.random() < SHARE_TEMPORARY_INTERRUPTION:
            start = dx + dt.timedelta(days=rng.randint(30, span - 60))
            last_off = start + dt.timedelta(days=rng.randint(7, 45))
            reason = StopReason.AIMSS if rng.random() < 0.7 else StopReason.OTHER
            events.append(
                TreatmentEvent(
                    patient=patient,
                    kind=EventKind.INTERRUPTION,
                    reason=reason,
                    start_date=start,
                    end_date=last_off,
                )
            )
            plan.off_periods.append((start, last_off))
        end = plan.follow_up_end

        # Initial management: exactly her group; escalations come after the window.
        if profile.group == "monotherapy":
            initial = [_pick(rng, CATEGORY_WEIGHTS)]
            offsets = [rng.randint(0, 7)]
        else:
            k = 3 if rng.random() < 0.3 else 2
            initial = []
            for _ in range(k):
                initial.append(_pick(rng, CATEGORY_WEIGHTS, exclude=initial))
            offsets = [rng.randint(0, 10) for _ in initial]
        starts = list(zip(initial, offsets, strict=True))
        if profile.group == "monotherapy" and rng.random() < SHARE_ESCALATION:
            day = rng.randint(30, 180)
            if dx + dt.timedelta(days=day) <= end:
                starts.append((_pick(rng, CATEGORY_WEIGHTS, exclude=initial), day))
        for category, offset in starts:
            start = dx + dt.timedelta(days=offset)
            measure = rng.choice(MEASURES[category])
            stop: dt.date | None = None
            if category in DURATION_DAYS:
                stop = start + dt.timedelta(days=rng.randint(*DURATION_DAYS[category]))
                if stop > end:
                    stop = end if plan.event == "death" else None
            interventions.append(
                Intervention(
                    patient=patient,
                    category=category,
                    measure=measure,
                    start_date=start,
                    end_date=stop,
                )
            )
            if category == InterventionCategory.AI_ADJUSTMENT:
                changes.append(
                    RegimenChange(course=course, kind=measure, date=start, reason="AIMSS")
                )
        if not plan.event and rng.random() < 0.04 and span > 260:
            others = [d for d in Drug.values if d != profile.ai_drug]
            changes.append(
                RegimenChange(
                    course=course,
                    kind=RegimenChangeKind.SWITCH_AGENT,
                    new_drug=rng.choice(others),
                    date=dx + dt.timedelta(days=rng.randint(120, 240)),
                    reason="AIMSS persisting",
                )
            )

        # Check-ins at her reassessment slots after the baseline (months 1, 2, 3, then every 3
        # months), and one at the last follow-up.
        horizon = (end.year - dx.year) * 12 + end.month - dx.month
        months = schedule_months(RULES, RULES.interval_months, horizon)
        dates = [day for day in (add_months(dx, m) for m in months) if dx < day < end]
        if plan.event != "death":
            dates.append(end)
        aimss_event = plan.event == "aimss"
        event_date = dx + dt.timedelta(days=plan.event_day)
        for date in dates:
            off = any(a <= date <= b for a, b in plan.off_periods)
            struggling = aimss_event and event_date - dt.timedelta(days=60) <= date < event_date
            if off:
                taken, stopped, wants = 0, True, False
            elif struggling:
                taken, stopped, wants = rng.randint(2, 6), False, True
            elif rng.random() < SHARE_RANDOM_LAPSE:
                taken, stopped, wants = rng.randint(3, 4), False, False
            else:
                taken, stopped, wants = rng.choice((7, 7, 7, 6)), False, False
            check_in = AdherenceCheckIn(
                patient=patient,
                submitted_at=_at(date),
                days_taken_last_7=taken,
                stopped=stopped,
                wants_to_stop=wants,
                reason="The joint pain" if (stopped or wants) else "",
                missed_reason=_missed_reason(taken, stopped=stopped, wants=wants),
                side_effects=rng.choice(SIDE_EFFECTS) if rng.random() < 0.3 else "",
                entered_by_id=patient.user_id,
                submission_token=uuid.UUID(int=rng.getrandbits(128), version=4),
                lapse_evaluated_at=_at(date),
            )
            check_in.lapse = is_adherence_lapse(check_in, patient.clinic)
            check_ins.append(check_in)

    AiCourse.objects.bulk_create(courses, batch_size=1000)
    RegimenChange.objects.bulk_create(changes, batch_size=1000)
    Intervention.objects.bulk_create(interventions, batch_size=1000)
    TreatmentEvent.objects.bulk_create(events, batch_size=1000)
    AdherenceCheckIn.objects.bulk_create(check_ins, batch_size=2000)
    return {
        "courses": len(courses),
        "interventions": len(interventions),
        "events": sum(p.event is not None for p in plans),
        "check_ins": len(check_ins),
    }


# The study's symptom trajectory runs from baseline to month 3 (Liang et al.).
TRAJECTORY_DAYS = 100


def erase_adherence() -> None:
    """Delete every adherence record (``seed_demo --reset``)."""
    for model in (AdherenceCheckIn, TreatmentEvent, Intervention, RegimenChange, AiCourse):
        model._default_manager.all().delete()


def trim_responses_after_stop() -> int:
    """Reassessments happen while she is on AI: the demo's questionnaires,
    seeded on a plain schedule, stop at her death, and at a permanent discontinuation once the
    study's 3-month trajectory (baseline to month 3) is complete."""
    from assessments.models import Response
    from assessments.summaries import score_summaries_refresh

    removed = 0
    stops = TreatmentEvent.objects.filter(
        kind__in=[EventKind.DEATH, EventKind.DISCONTINUATION]
    ).values_list("patient_id", "kind", "start_date", "patient__aimss_diagnosis_date")
    last_day: dict[int, dt.date] = {}
    for patient_id, kind, day, diagnosis in stops:
        if kind == EventKind.DISCONTINUATION and diagnosis is not None:
            day = max(day, diagnosis + dt.timedelta(days=TRAJECTORY_DAYS))
        last_day[patient_id] = min(day, last_day.get(patient_id, day))
    for patient_id, day in last_day.items():
        later = Response.objects.filter(patient_id=patient_id, submitted_at__date__gt=day)
        # newest first: a correction points at the version it replaces
        for response in later.order_by("-submitted_at", "-pk"):
            response.delete()
            removed += 1
    score_summaries_refresh(patient_ids=last_day)
    return removed


def _missed_reason(taken: int, *, stopped: bool, wants: bool) -> str:
    """Why a demo patient missed doses, without drawing from the random streams (so the cohort
    and its analyses stay as calibrated): stopping or wanting to stop is her choice because of
    the pain; otherwise a missed day or two was forgotten, and more were tablets run out."""
    if taken >= DAYS_IN_WEEK:
        return ""
    if stopped or wants:
        return MissedReason.SIDE_EFFECTS
    return MissedReason.FORGOT if taken >= DAYS_IN_WEEK - 2 else MissedReason.RAN_OUT
