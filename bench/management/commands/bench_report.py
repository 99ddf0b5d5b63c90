"""``bench_report``: ``cohort_report`` over 100,000 patients (``make bench-report``).

``bench_report build --patients N``: a clinic of N imported patients, built fast: a seed
cohort of :data:`SEED_PATIENTS` goes through ``import_cohort`` (so every row is one the app
itself wrote), then its patients and every record the analysis reads (AI course,
interventions, BPI-SF responses, treatment events, external follow-up) are copied with
PostgreSQL's COPY until the clinic has N patients, triggers off (a benchmark database only).
``bench_report time``: times ``cohort_report`` over that clinic (the cohort query and every
analysis; the interpreter's start and the libraries' import are not counted) and prints one
JSON object a line, against the 60-second target.
"""

from __future__ import annotations

import csv
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction

from adherence.models import AiCourse, ExternalFollowUp, Intervention, TreatmentEvent
from analytics.cohort import CohortFilter
from analytics.importer import COLUMNS, cohort_import
from analytics.report import cohort_report
from assessments.models import Response
from bench.management.commands.bench_import import _rows
from patients.models import Clinic, Patient

CLINIC = "bench-report"
SEED_PATIENTS = 2000
TARGET_SECONDS = 60.0  # cohort_report over 100,000 patients
# The records of a patient the analysis reads, copied with her.
RECORDS: list[type[models.Model]] = [AiCourse, Intervention, Response, TreatmentEvent]
ONE_EACH: list[type[models.Model]] = [ExternalFollowUp]


def _copy(model: type[models.Model], columns: list[str], rows: list[list[Any]]) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


class Command(BaseCommand):
    help = "Build a 100,000-patient cohort fast, or time cohort_report over it (bench only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["build", "time"])
        parser.add_argument("--patients", type=int, default=100_000)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_report needs PostgreSQL (COPY)")
        if options["what"] == "build":
            self._build(options["patients"])
        else:
            self._time()

    def _build(self, n: int) -> None:
        if Clinic.objects.filter(code=CLINIC).exists():
            self.stdout.write(json.dumps({"scenario": "report_build", "skipped": "exists"}))
            return
        started = time.perf_counter()
        clinic = Clinic.objects.create(code=CLINIC, name="Bench report clinic")
        seed = min(n, SEED_PATIENTS)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "cohort.csv"
            with path.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, COLUMNS)
                writer.writeheader()
                writer.writerows(row | {"clinic": CLINIC} for row in _rows(seed, 21))
            result = cohort_import(path=path)
        if result.errors:
            raise CommandError("; ".join(result.errors[:5]))
        with transaction.atomic():
            with connection.cursor() as cursor:  # a benchmark database: no audit, no triggers
                cursor.execute("SET LOCAL session_replication_role = replica")
            self._copies(clinic, n - seed)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(
            json.dumps(
                {
                    "scenario": "report_build",
                    "patients": Patient.objects.filter(clinic=clinic).count(),
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
        )

    def _copies(self, clinic: Clinic, extra: int) -> None:
        """``extra`` more patients, each a copy of a seed patient with all her records."""
        patient_fields = _fields(Patient)
        seeds = list(Patient.objects.filter(clinic=clinic).order_by("pk").values())
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Patient._meta.db_table, extra],
            )
            new_ids = [row[0] for row in cursor.fetchall()]
        source = [seeds[i % len(seeds)] for i in range(extra)]
        rows = []
        for i, (pid, seed) in enumerate(zip(new_ids, source, strict=True)):
            values = seed | {"id": pid, "user_id": None, "record_number": f"BR-{i:07d}"}
            rows.append([pid, *(self._prep(f, values[f.attname]) for f in patient_fields)])
        _copy(Patient, ["id", *(str(f.column) for f in patient_fields)], rows)
        copies_of: dict[int, list[int]] = {}
        for pid, seed in zip(new_ids, source, strict=True):
            copies_of.setdefault(seed["id"], []).append(pid)
        for model in RECORDS + ONE_EACH:
            fields = _fields(model)
            records = model._default_manager.filter(
                patient__clinic=clinic, patient_id__in=copies_of
            )
            out = []
            for record in records.values():
                for pid in copies_of.get(record["patient_id"], []):
                    values = record | {"patient_id": pid}
                    if model is Response:
                        values |= {"submission_key": uuid.uuid4(), "supersedes_id": None}
                    out.append([self._prep(f, values[f.attname]) for f in fields])
            _copy(model, [str(f.column) for f in fields], out)

    @staticmethod
    def _prep(field: models.Field[Any, Any], value: Any) -> Any:
        return field.get_db_prep_save(value, connection)

    def _time(self) -> None:
        import lifelines  # noqa: F401  (import cost is not the report's)
        import statsmodels.api  # noqa: F401
        import statsmodels.formula.api  # noqa: F401

        clinic = Clinic.objects.filter(code=CLINIC).first()
        if clinic is None:
            raise CommandError("no bench cohort: run `manage.py bench_report build` first")
        steps: list[tuple[str, float]] = []

        def progress(_percent: int, step: str) -> None:
            steps.append((step, time.perf_counter()))

        started = time.perf_counter()
        report = cohort_report(
            cohort_filter=CohortFilter(clinic_ids=(clinic.pk,)), progress=progress
        )
        seconds = time.perf_counter() - started
        marks = [*steps, ("end", started + seconds)]
        self.stdout.write(
            json.dumps(
                {
                    "scenario": f"cohort_report {Patient.objects.filter(clinic=clinic).count()} "
                    "patients",
                    "patients": report["n_patients"],
                    "events": report["n_events"],
                    "seconds": round(seconds, 2),
                    "steps_seconds": {
                        step: round(marks[i + 1][1] - at, 2)
                        for i, (step, at) in enumerate(marks[:-1])
                    },
                    "target_seconds": TARGET_SECONDS,
                    "ok": seconds < TARGET_SECONDS,
                }
            )
        )
