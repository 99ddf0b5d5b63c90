"""Demo BPI-SF responses for the synthetic cohort (``manage.py seed_demo``).

Each patient answers at AIMSS diagnosis with her profile's baseline (Liang et al., Table 1), then at
months 1, 2 and 3 on a straight path to her month-3 level (drawn around the study's month-3 mean
± SD for her group), then every 3 months until today with mild noise. Item-level answers are
generated so that item 5 and the item-9 mean match each visit's targets; scores come from
:mod:`assessments.scoring` as for real submissions. Its own random stream: seeding responses
never changes the cohort.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Sequence

from assessments import scoring
from assessments.models import INTERFERENCE_FIELDS, BodyRegion, Response
from assessments.selectors import instrument_current
from assessments.summaries import score_summaries_refresh
from demo.patients import FOLLOW_UP_END, DemoProfile
from patients.clock import DAYS_PER_MONTH
from patients.models import Patient
from patients.rules import rules_of

# Liang et al., month 3: (mean, SD) per group.
MONTH_3_AVERAGE_PAIN = {"monotherapy": (3.63, 0.98), "combined": (2.75, 0.77)}
MONTH_3_INTERFERENCE = {"monotherapy": (3.30, 1.19), "combined": (2.51, 0.89)}
FOLLOW_UP_EVERY_MONTHS = 3
FOLLOW_UP_NOISE = 0.6  # SD of the visit-to-visit wobble after month 3, points on 0-10
ANSWER_HOUR = 10  # local morning, in UTC for simplicity

TREATMENTS = {
    "monotherapy": ["celecoxib 200 mg daily", "physiotherapy twice a week", "vitamin D weekly"],
    "combined": [
        "celecoxib and physiotherapy",
        "loxoprofen, exercise programme",
        "vitamin D and physiotherapy",
    ],
}
PAIRED_JOINTS = [
    (BodyRegion.HANDS_WRISTS_LEFT, BodyRegion.HANDS_WRISTS_RIGHT),
    (BodyRegion.KNEES_LEFT, BodyRegion.KNEES_RIGHT),
    (BodyRegion.SHOULDERS_LEFT, BodyRegion.SHOULDERS_RIGHT),
    (BodyRegion.ANKLES_FEET_LEFT, BodyRegion.ANKLES_FEET_RIGHT),
    (BodyRegion.HIPS_LEFT, BodyRegion.HIPS_RIGHT),
    (BodyRegion.ELBOWS_LEFT, BodyRegion.ELBOWS_RIGHT),
]


def _clip(value: float, low: float = 0, high: float = 10) -> float:
    return max(low, min(high, value))


def _interference_items(target: float, rng: random.Random) -> list[int | None]:
    """Seven 0-10 answers whose mean is the target's nearest reachable value."""
    items = [int(_clip(round(target + rng.gauss(0, 0.9)))) for _ in range(7)]
    wanted = int(_clip(round(target * 7), 0, 70))
    while sum(items) != wanted:
        step = 1 if sum(items) < wanted else -1
        i = rng.randrange(7)
        if 0 <= items[i] + step <= 10:
            items[i] += step
    answers: list[int | None] = list(items)
    if rng.random() < 0.05:  # now and then one question is skipped
        answers[rng.randrange(7)] = None
    return answers


def _visits(
    profile: DemoProfile, today: dt.date, rng: random.Random
) -> list[tuple[dt.date, float, float]]:
    """(date, target average pain, target interference) for each visit up to today."""
    pain_mean, pain_sd = MONTH_3_AVERAGE_PAIN[profile.group]
    int_mean, int_sd = MONTH_3_INTERFERENCE[profile.group]
    z = rng.gauss(0, 1)  # one patient-level draw: a patient who does well does well on both
    pain_3 = _clip(pain_mean + pain_sd * (0.8 * z + 0.6 * rng.gauss(0, 1)))
    int_3 = _clip(int_mean + int_sd * (0.8 * z + 0.6 * rng.gauss(0, 1)))
    pain_0, int_0 = float(profile.baseline_average_pain), profile.baseline_interference
    visits = []
    month = 0
    while True:
        day = profile.aimss_diagnosis_date + dt.timedelta(days=round(month * DAYS_PER_MONTH))
        if day > today:
            break
        if month <= 3:
            share = month / 3
            pain = pain_0 + (pain_3 - pain_0) * share
            interference = int_0 + (int_3 - int_0) * share
        else:
            pain = _clip(pain_3 + rng.gauss(0, FOLLOW_UP_NOISE))
            interference = _clip(int_3 + rng.gauss(0, FOLLOW_UP_NOISE))
        visits.append((day, pain, interference))
        month += 1 if month < 3 else FOLLOW_UP_EVERY_MONTHS
    return visits


def seed_responses(
    *, profiles: Sequence[DemoProfile], patients: Sequence[Patient], seed: int
) -> int:
    """Write the demo responses of ``patients`` (paired with their profiles); returns a count."""
    rng = random.Random(f"{seed}:responses")  # nosec B311
    instrument = instrument_current()
    today = FOLLOW_UP_END  # not the real today: the same seed gives the same cohort
    rows = []
    for profile, patient in zip(profiles, patients, strict=True):
        assert patient.user_id is not None  # every demo patient has her login
        thresholds = rules_of(patient.clinic)
        joints = [r for pair in rng.sample(PAIRED_JOINTS, rng.randint(1, 3)) for r in pair]
        treatment = rng.choice(TREATMENTS[profile.group])
        for day, pain_target, interference_target in _visits(profile, today, rng):
            average = int(_clip(round(pain_target)))
            worst = int(_clip(average + rng.randint(1, 3)))
            least = int(_clip(average - rng.randint(1, 3)))
            now = int(_clip(average + rng.randint(-1, 1)))
            interference = _interference_items(interference_target, rng)
            scores = scoring.score(
                worst=worst,
                least=least,
                average=average,
                now=now,
                interference_items=interference,
                thresholds=thresholds,
            )
            locations = [str(code) for code in joints] if average > 0 else []
            answered_at = dt.datetime.combine(day, dt.time(ANSWER_HOUR), tzinfo=dt.UTC)
            rows.append(
                Response(
                    patient=patient,
                    instrument=instrument,
                    language=profile.language,
                    recall_period="24h",
                    has_pain_today=average > 0,
                    pain_locations=locations,
                    worst_location=locations[0] if locations else "",
                    worst_pain=worst,
                    least_pain=least,
                    average_pain=average,
                    pain_now=now,
                    treatments=treatment,
                    relief_percent=rng.choice(range(20, 80, 10)),
                    pain_severity_score=scores.pain_severity,
                    interference_score=scores.interference,
                    pain_band=scores.pain_band,
                    interference_high=scores.interference_high,
                    submitted_at=answered_at,
                    entered_by_id=patient.user_id,
                    submission_key=uuid.UUID(int=rng.getrandbits(128)),
                    **{
                        field: value
                        for (_name, field), value in zip(
                            INTERFERENCE_FIELDS, interference, strict=True
                        )
                    },
                )
            )
    Response.objects.bulk_create(rows, batch_size=2000)
    score_summaries_refresh(patient_ids=[p.pk for p in patients])
    return len(rows)


def erase_responses() -> None:
    """Delete every response and draft (demo reset only); newest versions first."""
    from assessments.models import ResponseDraft

    ResponseDraft.objects.all().delete()
    while Response.objects.exists():
        Response.objects.current().delete()
