"""Benchmark data and timings for follow-up (``make bench`` runs these).

``bench_followup queue-data``: a clinic with 12,500 patients and 50,000 open flags (4 kinds
each: the one-unresolved-flag-per-kind invariant allows no more per patient) and a nurse.
``bench_followup sweep``: 100,000 scheduled patients, 10,000 of them due now; times the
reminder sweep and prints JSON with seconds, e-mails and queries.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, reset_queries, transaction
from django.test.utils import override_settings
from django.utils import timezone

from bench.scenarios import BENCH_PASSWORD
from followup.models import Flag, FlagKind, FlagStatus, ReassessmentSlot, ReminderSend
from followup.schedules import reminders_send_due
from patients.models import Clinic, Patient, Role
from patients.services import user_create


def _patients(clinic: Clinic, n: int, prefix: str) -> list[int]:
    Patient.objects.bulk_create(
        [
            Patient(
                clinic=clinic,
                record_number=f"{prefix}-{i:06d}",
                given_name="Bench",
                family_name=f"Patient{i:06d}",
                birth_date=dt.date(1962, 1, 1),
                height_cm=Decimal("160"),
                weight_kg=Decimal("62"),
                tnm_stage="II",
                surgery="lumpectomy",
                chemotherapy=False,
                radiotherapy=True,
                aimss_diagnosis_date=dt.date(2025, 1, 1),
                email=f"{prefix}{i}@example.org",
                time_zone="UTC",
                quiet_hours_start=dt.time(0, 0),
                quiet_hours_end=dt.time(0, 0),
            )
            for i in range(n)
        ],
        batch_size=5000,
    )
    return list(Patient.objects.filter(clinic=clinic).values_list("pk", flat=True))


def _vacuum_flags() -> None:
    """What autovacuum would do to tables this size, so index-only scans can be used and the
    planner knows the patients are thousands (it otherwise scans them all to join a page's
    80 flags to their patients)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE followup_flag")
            cursor.execute("VACUUM ANALYZE patients_patient")


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["queue-data", "sweep"])
        parser.add_argument("--patients", type=int, default=None)
        parser.add_argument("--due", type=int, default=10_000)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["what"] == "queue-data":
            self._queue_data(options["patients"] or 12_500)
        else:
            self._sweep(options["patients"] or 100_000, options["due"])

    @transaction.atomic
    def _queue_data(self, n: int) -> None:
        if Clinic.objects.filter(code="bench-queue").exists():
            return
        clinic = Clinic.objects.create(code="bench-queue", name="Bench queue clinic")
        user_create(
            username="bench-nurse",
            role=Role.NURSE,
            password_hash=make_password(BENCH_PASSWORD),
            clinics=[clinic],
        )
        now = timezone.now()
        kinds = list(FlagKind.values)
        flags = [
            Flag(
                patient_id=pid,
                clinic=clinic,
                kind=kind,
                priority=1 if kind in ("high_interference", "adherence_lapse") else 2,
                status=FlagStatus.OPEN,
                opened_at=now - dt.timedelta(minutes=i * 4 + k),
                last_triggered_at=now,
            )
            for i, pid in enumerate(_patients(clinic, n, "BQ"))
            for k, kind in enumerate(kinds)
        ]
        Flag.objects.bulk_create(flags, batch_size=5000)
        transaction.on_commit(_vacuum_flags)

    def _sweep(self, n: int, due: int) -> None:
        clinic, _created = Clinic.objects.get_or_create(
            code="bench-sweep", defaults={"name": "Bench sweep clinic"}
        )
        ReminderSend.objects.filter(slot__patient__clinic=clinic).delete()
        ReassessmentSlot.objects.filter(patient__clinic=clinic).delete()
        patient_ids = list(Patient.objects.filter(clinic=clinic).values_list("pk", flat=True))
        if len(patient_ids) < n:
            patient_ids = (
                _patients(clinic, n - len(patient_ids), f"BS{len(patient_ids)}") + patient_ids
            )
            patient_ids = list(Patient.objects.filter(clinic=clinic).values_list("pk", flat=True))
        now = timezone.now()
        ReassessmentSlot.objects.bulk_create(
            [
                ReassessmentSlot(
                    patient_id=pid,
                    months_after_diagnosis=3,
                    due_date=(now if i < due else now + dt.timedelta(days=30)).date(),
                    due_at=now - dt.timedelta(minutes=30)
                    if i < due
                    else now + dt.timedelta(days=30),
                )
                for i, pid in enumerate(patient_ids[:n])
            ],
            batch_size=5000,
        )
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend", DEBUG=True
        ):
            reset_queries()
            started = time.perf_counter()
            sent = reminders_send_due(now=now)
            seconds = time.perf_counter() - started
            queries = len(connection.queries)
        self.stdout.write(
            json.dumps(
                {
                    "scenario": "reminder_sweep",
                    "description": f"reminder sweep over {n} scheduled patients, {due} due",
                    "scheduled_patients": n,
                    "due": due,
                    "sent": sent,
                    "seconds": round(seconds, 2),
                    "queries": queries,
                    "target_seconds": 30,
                }
            )
        )
