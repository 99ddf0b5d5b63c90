"""Benchmark data for the clinician's views (``make bench`` runs this before the server starts).

``bench_clinical trajectory-data``: one patient with 520 weekly BPI-SF responses (10 years) and
60 therapy records (interruptions, regimen changes, interventions of every category, a
recurrence), plus 52 check-ins, in a clinic whose clinician is ``bench-clinician``.
``bench_clinical list-data``: 10,000 patients in another clinic, each with two responses, an AI
course, an intervention, an open reassessment slot, and an open flag on every fifth; the
clinician ``bench-list-clinician``. Rows are bulk-inserted with scores from
``assessments.scoring`` (responses are immutable, INSERT only). Idempotent: data already there
is kept.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from adherence.models import (
    AdherenceCheckIn,
    AiCourse,
    EventKind,
    Intervention,
    InterventionCategory,
    Measure,
    RegimenChange,
    RegimenChangeKind,
    StopReason,
    TreatmentEvent,
)
from assessments import scoring
from assessments.models import INTERFERENCE_FIELDS, RecallPeriod, Response
from assessments.selectors import instrument_current
from assessments.summaries import score_summaries_refresh
from followup.models import Flag, FlagKind, FlagStatus, ReassessmentSlot
from patients.models import Clinic, Patient, Role, User
from patients.rules import rules_of
from patients.services import user_create

BENCH_PASSWORD = "bench-password-2026"  # noqa: S105 (the password bench/scenarios.py logs in with)
TRAJECTORY_RECORD = "BENCH-TRAJ-1"
WEEKS = 520
LIST_PATIENTS = 10_000
DIAGNOSIS = dt.date(2016, 1, 4)


def _patient(clinic: Clinic, i: int, prefix: str) -> Patient:
    return Patient(
        clinic=clinic,
        record_number=f"{prefix}-{i:06d}",
        given_name="Bench",
        family_name=f"Patient{i:06d}",
        birth_date=dt.date(1958, 1, 1),
        height_cm=Decimal("160"),
        weight_kg=Decimal("62"),
        tnm_stage="II",
        surgery="lumpectomy",
        chemotherapy=False,
        radiotherapy=True,
        aimss_diagnosis_date=DIAGNOSIS,
        time_zone="UTC",
    )


def _response(
    patient: Patient, entered_by: User, instrument_id: int, at: dt.datetime, rng: random.Random
) -> Response:
    average = rng.randint(2, 8)
    worst, least, now = min(10, average + 2), max(0, average - 2), average
    items = [min(10, max(0, average + rng.randint(-2, 2))) for _ in INTERFERENCE_FIELDS]
    scores = scoring.score(
        worst=worst,
        least=least,
        average=average,
        now=now,
        interference_items=items,
        thresholds=rules_of(patient.clinic),
    )
    return Response(
        patient=patient,
        instrument_id=instrument_id,
        entered_by=entered_by,
        recall_period=RecallPeriod.DAYS_7 if rng.random() < 0.2 else RecallPeriod.HOURS_24,
        has_pain_today=True,
        pain_locations=["knees_left"],
        worst_location="knees_left",
        worst_pain=worst,
        least_pain=least,
        average_pain=average,
        pain_now=now,
        pain_severity_score=scores.pain_severity,
        interference_score=scores.interference,
        pain_band=scores.pain_band,
        interference_high=scores.interference_high,
        submitted_at=at,
        submission_key=uuid.uuid4(),
        **{field: value for (_n, field), value in zip(INTERFERENCE_FIELDS, items, strict=True)},
    )


def _clinician(username: str, clinic: Clinic) -> User:
    return user_create(
        username=username,
        role=Role.CLINICIAN,
        password_hash=make_password(BENCH_PASSWORD),
        clinics=[clinic],
    )


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["trajectory-data", "list-data"])

    def handle(self, *args: Any, **options: Any) -> None:
        if options["what"] == "trajectory-data":
            self._trajectory()
        else:
            self._list()
        if connection.vendor == "postgresql":
            # What autovacuum does soon after a bulk load: the planner's statistics, and the
            # visibility map that lets counts and sorts read an index without the table.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)")

    @transaction.atomic
    def _trajectory(self) -> None:
        if Patient.objects.filter(record_number=TRAJECTORY_RECORD).exists():
            return
        rng = random.Random(6)
        clinic = Clinic.objects.create(code="bench-traj", name="Bench trajectory clinic")
        clinician = _clinician("bench-clinician", clinic)
        patient = _patient(clinic, 1, "X")
        patient.record_number, patient.family_name = TRAJECTORY_RECORD, "Trajectory"
        patient.save()
        instrument_id = instrument_current().pk
        start = dt.datetime.combine(DIAGNOSIS, dt.time(10), tzinfo=dt.UTC)
        Response.objects.bulk_create(
            [
                _response(patient, clinician, instrument_id, start + dt.timedelta(weeks=w), rng)
                for w in range(WEEKS)
            ]
        )
        score_summaries_refresh(patient_ids=[patient.pk])
        course = AiCourse.objects.create(
            patient=patient,
            drug="anastrozole",
            start_date=DIAGNOSIS - dt.timedelta(days=120),
            planned_duration_years=10,
        )
        # 60 records: 20 interruptions, 15 regimen changes, 24 interventions, 1 recurrence.
        events = [
            TreatmentEvent(
                patient=patient,
                kind=EventKind.INTERRUPTION,
                start_date=DIAGNOSIS + dt.timedelta(days=90 + 180 * k),
                end_date=DIAGNOSIS + dt.timedelta(days=90 + 180 * k + 20),
                reason=StopReason.AIMSS,
            )
            for k in range(20)
        ]
        events.append(
            TreatmentEvent(
                patient=patient,
                kind=EventKind.RECURRENCE,
                start_date=DIAGNOSIS + dt.timedelta(days=3600),
            )
        )
        TreatmentEvent.objects.bulk_create(events)
        RegimenChange.objects.bulk_create(
            [
                RegimenChange(
                    course=course,
                    kind=RegimenChangeKind.DOSE_REDUCTION,
                    date=DIAGNOSIS + dt.timedelta(days=200 + 240 * k),
                    reason="Joint pain",
                )
                for k in range(15)
            ]
        )
        measures = [
            (InterventionCategory.ANALGESIC, Measure.CELECOXIB),
            (InterventionCategory.PHYSICAL_THERAPY, Measure.EXERCISE),
            (InterventionCategory.AI_ADJUSTMENT, Measure.DOSE_REDUCTION),
            (InterventionCategory.COMPLEMENTARY, Measure.VITAMIN_D),
        ]
        Intervention.objects.bulk_create(
            [
                Intervention(
                    patient=patient,
                    category=measures[k % 4][0],
                    measure=measures[k % 4][1],
                    start_date=DIAGNOSIS + dt.timedelta(days=150 * k),
                    end_date=DIAGNOSIS + dt.timedelta(days=150 * k + 90) if k < 22 else None,
                )
                for k in range(24)
            ]
        )
        AdherenceCheckIn.objects.bulk_create(
            [
                AdherenceCheckIn(
                    patient=patient,
                    submitted_at=start + dt.timedelta(weeks=10 * k),
                    days_taken_last_7=rng.randint(3, 7),
                )
                for k in range(52)
            ]
        )

    @transaction.atomic
    def _list(self) -> None:
        if Clinic.objects.filter(code="bench-list").exists():
            return
        rng = random.Random(7)
        clinic = Clinic.objects.create(code="bench-list", name="Bench list clinic")
        clinician = _clinician("bench-list-clinician", clinic)
        Patient.objects.bulk_create(
            [_patient(clinic, i, "BL") for i in range(LIST_PATIENTS)], batch_size=5000
        )
        patients = list(Patient.objects.filter(clinic=clinic).select_related("clinic"))
        instrument_id = instrument_current().pk
        now = timezone.now()
        Response.objects.bulk_create(
            [
                _response(p, clinician, instrument_id, now - dt.timedelta(days=d + i % 30), rng)
                for i, p in enumerate(patients)
                for d in (40, 10)
            ],
            batch_size=5000,
        )
        score_summaries_refresh(patient_ids=[p.pk for p in patients])
        AiCourse.objects.bulk_create(
            [
                AiCourse(
                    patient=p, drug="letrozole", start_date=DIAGNOSIS, planned_duration_years=5
                )
                for p in patients
            ],
            batch_size=5000,
        )
        Intervention.objects.bulk_create(
            [
                Intervention(
                    patient=p,
                    category=InterventionCategory.PHYSICAL_THERAPY,
                    measure=Measure.EXERCISE,
                    start_date=DIAGNOSIS + dt.timedelta(days=3),
                )
                for p in patients
            ],
            batch_size=5000,
        )
        ReassessmentSlot.objects.bulk_create(
            [
                ReassessmentSlot(
                    patient=p,
                    months_after_diagnosis=120,
                    due_date=(now + dt.timedelta(days=i % 90)).date(),
                    due_at=now + dt.timedelta(days=i % 90),
                )
                for i, p in enumerate(patients)
            ],
            batch_size=5000,
        )
        Flag.objects.bulk_create(
            [
                Flag(
                    patient=p,
                    clinic_id=p.clinic_id,
                    kind=FlagKind.HIGH_INTERFERENCE,
                    priority=1,
                    status=FlagStatus.OPEN,
                    opened_at=now,
                    last_triggered_at=now,
                )
                for p in patients[::5]
            ],
            batch_size=5000,
        )
