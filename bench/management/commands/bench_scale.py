"""Data and timings for the scale scenario (``make bench-scale``; not part of CI).

``bench_scale build --patients N``: N patients in clinics of ``--clinic-size`` (10,000 by default:
a cohort grows by clinics, and staff see their own), each patient with one BPI-SF response (and
its score summary) and a reassessment slot, a tenth of them due now; one patient in twenty with
two open flags; the logins the request scenarios use, members of the first clinic. Rows go in
with PostgreSQL's COPY, triggers off (a benchmark database only), so a million patients take
minutes, not hours.
``bench_scale sweep --workers W``: times the reminder sweep over those slots as W workers run it
(W processes sweeping at once, as W Celery worker processes do when the sweep task spreads
itself) and prints JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction
from django.test.utils import override_settings
from django.utils import timezone

from assessments.models import Response
from assessments.services import Answers, response_submit
from assessments.summaries import score_summaries_refresh
from bench.scenarios import BENCH_PASSWORD, BENCH_PATIENTS, SUBMISSION
from followup.models import (
    Flag,
    FlagKind,
    FlagStatus,
    QuestionnaireLink,
    ReassessmentSlot,
    ReminderSend,
)
from followup.schedules import reminders_send_due
from patients.models import Clinic, Patient, Role
from patients.services import user_create

CLINIC = "bench-scale"  # the first clinic, whose staff the request scenarios log in as
CLINIC_SIZE = 10_000  # patients per clinic
DUE_SHARE = 10  # one patient in ten is due for her reassessment
FLAGGED_SHARE = 20  # one patient in twenty has open flags
SWEEP_TARGET_SECONDS = 120  # over a million patients, 100,000 due


def copy_rows(model: type[models.Model], rows: Iterable[models.Model]) -> int:
    """Insert ``rows`` (unsaved instances) with COPY; returns how many. Each field's value is
    what Django would save (``pre_save`` fills the ``auto_now_add`` timestamps)."""
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for obj in rows:
            copy.write_row(
                [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]
            )
            count += 1
    return count


def _patients(clinic: Clinic, n: int, first: int = 0) -> Iterator[Patient]:
    for i in range(first, first + n):
        yield Patient(
            clinic=clinic,
            record_number=f"SC-{i:07d}",
            given_name="Scale",
            family_name=f"Patient{i:07d}",
            birth_date=dt.date(1955 + i % 20, 1 + i % 12, 1 + i % 28),
            height_cm=Decimal("160"),
            weight_kg=Decimal("62"),
            tnm_stage="II",
            surgery="lumpectomy",
            chemotherapy=i % 3 == 0,
            radiotherapy=True,
            aimss_diagnosis_date=dt.date(2025, 1, 1),
            email=f"scale{i}@example.org",
            time_zone="UTC",
            quiet_hours_start=dt.time(0, 0),
            quiet_hours_end=dt.time(0, 0),
        )


def _responses(sample: Response, patient_ids: list[int]) -> Iterator[Response]:
    """One response each, the sample's answers with another average pain."""
    values = {
        f.attname: getattr(sample, f.attname)
        for f in Response._meta.concrete_fields
        if not isinstance(f, models.AutoField)
    }
    for i, pid in enumerate(patient_ids):
        yield Response(
            **{
                **values,
                "patient_id": pid,
                "submission_key": uuid.uuid4(),
                "average_pain": i % 11,
                "submitted_at": sample.submitted_at - dt.timedelta(minutes=i % 50_000),
            }
        )


def _slots(patient_ids: list[int], now: dt.datetime) -> Iterator[ReassessmentSlot]:
    for i, pid in enumerate(patient_ids):
        due = i % DUE_SHARE == 0
        at = now - dt.timedelta(minutes=30) if due else now + dt.timedelta(days=30)
        yield ReassessmentSlot(
            patient_id=pid, months_after_diagnosis=3, due_date=at.date(), due_at=at
        )


def _flags(clinic: Clinic, patient_ids: list[int], now: dt.datetime) -> Iterator[Flag]:
    kinds = [FlagKind.HIGH_INTERFERENCE, FlagKind.OVERDUE]
    for i, pid in enumerate(patient_ids[::FLAGGED_SHARE]):
        for k, kind in enumerate(kinds):
            yield Flag(
                patient_id=pid,
                clinic=clinic,
                kind=kind,
                priority=1 if kind == FlagKind.HIGH_INTERFERENCE else 2,
                status=FlagStatus.OPEN,
                opened_at=now - dt.timedelta(minutes=i * 2 + k),
                last_triggered_at=now,
            )


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["build", "sweep", "sweep-worker"])
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
        parser.add_argument("--patients", type=int, default=10_000)
        parser.add_argument("--clinic-size", type=int, default=CLINIC_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("the scale scenario needs PostgreSQL (COPY)")
        if options["what"] == "build":
            self._build(options["patients"], options["clinic_size"])
        elif options["what"] == "sweep":
            self._sweep(options["workers"])
        else:  # one of the sweep's workers: how many it sent
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                self.stdout.write(str(reminders_send_due()))

    def _build(self, n: int, clinic_size: int) -> None:
        started = time.perf_counter()
        if Clinic.objects.filter(code=CLINIC).exists():  # built by an earlier run
            self.stdout.write(json.dumps({"scenario": "scale_build", "patients": n, "seconds": 0}))
            return
        now = timezone.now()
        with transaction.atomic():
            clinic = Clinic.objects.create(code=CLINIC, name="Bench scale clinic")
            password = make_password(BENCH_PASSWORD)
            for username, role in (
                ("bench-nurse", Role.NURSE),
                ("bench-list-clinician", Role.CLINICIAN),
            ):
                user_create(username=username, role=role, password_hash=password, clinics=[clinic])
            # The first patients, with logins, through the services: the sample response.
            for i in range(BENCH_PATIENTS):
                user = user_create(
                    username=f"bench-patient-{i}", role=Role.PATIENT, password_hash=password
                )
                patient = next(_patients(clinic, 1))
                patient.record_number, patient.user = f"SC-L{i:03d}", user
                patient.save()
                sample, _created = response_submit(
                    patient=patient,
                    answers=Answers.from_data(SUBMISSION),
                    entered_by=user,
                    submission_key=uuid.uuid4(),
                )
            with connection.cursor() as cursor:  # a benchmark database: no audit, no triggers
                cursor.execute("SET LOCAL session_replication_role = replica")
            clinics = [clinic] + [
                Clinic.objects.create(code=f"{CLINIC}-{c}", name=f"Bench scale clinic {c}")
                for c in range(2, -(-n // clinic_size) + 1)
            ]
            for c, each in enumerate(clinics):
                first = max(c * clinic_size, BENCH_PATIENTS)
                copy_rows(Patient, _patients(each, min(n, (c + 1) * clinic_size) - first, first))
            ids = list(Patient.objects.filter(user__isnull=True).values_list("pk", flat=True))
            copy_rows(Response, _responses(sample, ids))
            all_ids = list(Patient.objects.values_list("pk", flat=True))
            copy_rows(ReassessmentSlot, _slots(all_ids, now))
            for each in clinics:
                in_clinic = list(Patient.objects.filter(clinic=each).values_list("pk", flat=True))
                copy_rows(Flag, _flags(each, in_clinic, now))
            for start in range(0, len(ids), 100_000):
                score_summaries_refresh(patient_ids=ids[start : start + 100_000])
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        self.stdout.write(
            json.dumps(
                {
                    "scenario": "scale_build",
                    "patients": n,
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
        )

    def _sweep(self, workers_n: int) -> None:
        # An earlier run's sends and links are forgotten, so that every run sends the same.
        with transaction.atomic():
            ReminderSend.objects.all().delete()
            QuestionnaireLink.objects.all().delete()
        due = ReassessmentSlot.objects.filter(
            completed_at__isnull=True, due_at__lte=timezone.now()
        ).count()
        patients = Patient.objects.count()
        started = time.perf_counter()
        workers = [
            subprocess.Popen(  # noqa: S603
                [sys.executable, "manage.py", "bench_scale", "sweep-worker"],
                cwd=settings.BASE_DIR,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(workers_n)
        ]
        sent = sum(int(worker.communicate()[0].split()[-1]) for worker in workers)
        seconds = time.perf_counter() - started
        self.stdout.write(
            json.dumps(
                {
                    "scenario": "scale_reminder_sweep",
                    "patients": patients,
                    "due": due,
                    "sent": sent,
                    "workers": workers_n,
                    "seconds": round(seconds, 2),
                    "target_seconds": SWEEP_TARGET_SECONDS,
                }
            )
        )
