"""``bench_import``: times ``import_cohort`` on a generated file of N patients (100,000 by
default) and then ``cohort_report`` over them, against the targets of issue 21 (import < 180 s,
report < 60 s). Adds a new clinic (``bimp<epoch>``) and its patients each run: bench databases
only, which grow by the cohort each time.

Prints one JSON object a line, as ``bench/run.py`` reads timed commands.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.cohort import CohortFilter
from analytics.importer import COLUMNS, cohort_import
from analytics.report import cohort_report
from patients.models import Clinic

TARGETS = {"import": 180.0, "report": 60.0}  # seconds (issue 21)
CATEGORIES = ["analgesic", "physical_therapy", "ai_adjustment", "complementary"]
CLINIC = "bimp"


def _rows(n: int, seed: int) -> list[dict[str, str]]:
    """A retrospective cohort in the import's shape: combined management and less pain, fewer
    events; follow-up of at least 18 months."""
    rng = random.Random(seed)  # nosec B311 (synthetic data)
    rows = []
    for i in range(n):
        combined = rng.random() < 0.3
        pain = rng.randint(3, 9)
        dx = dt.date(2021, 1, 1) + dt.timedelta(days=rng.randint(0, 900))
        event = rng.random() < 0.15 + 0.04 * (pain - 3) - (0.08 if combined else 0)
        event_day = rng.randint(20, 540)
        last = dx + dt.timedelta(days=rng.randint(event_day if event else 548, 900))
        rows.append(
            {
                "patient_ref": f"B{i:07d}",
                "clinic": CLINIC,
                "birth_date": (dx - dt.timedelta(days=rng.randint(50 * 365, 80 * 365))).isoformat(),
                "height_cm": f"{rng.uniform(150, 175):.1f}",
                "weight_kg": f"{rng.uniform(48, 85):.1f}",
                "tnm_stage": rng.choice(["0", "I", "II", "III"]),
                "surgery": rng.choice(["lumpectomy", "mastectomy"]),
                "chemotherapy": rng.choice(["yes", "no"]),
                "radiotherapy": rng.choice(["yes", "no"]),
                "ai_drug": rng.choice(["anastrozole", "letrozole", "exemestane"]),
                "ai_start_date": (dx - dt.timedelta(days=rng.randint(30, 300))).isoformat(),
                "aimss_diagnosis_date": dx.isoformat(),
                "initial_categories": ";".join(
                    rng.sample(CATEGORIES, 2) if combined else [rng.choice(CATEGORIES)]
                ),
                "baseline_average_pain": str(pain),
                "baseline_interference": f"{rng.randint(14, 70) / 7:.2f}",
                "month3_average_pain": str(max(0, pain - rng.randint(1, 3))),
                "month3_interference": f"{rng.randint(7, 42) / 7:.2f}",
                "event_type": rng.choice(["aimss_discontinuation"] * 6 + ["recurrence", "death"])
                if event
                else "none",
                "event_date": (dx + dt.timedelta(days=event_day)).isoformat() if event else "",
                "last_followup_date": last.isoformat(),
            }
        )
    return rows


class Command(BaseCommand):
    help = "Time import_cohort and cohort_report on N generated patients (bench databases only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=21)
        parser.add_argument(
            "--clinic",
            help="code of a new clinic for the import (default: a fresh one per run, so that "
            "make bench can run again on its database)",
        )
        parser.add_argument(
            "--import-only", action="store_true", help="time the import, not the report"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        import lifelines  # noqa: F401  (import cost is not the report's)
        import statsmodels.formula.api  # noqa: F401

        code = options["clinic"] or f"{CLINIC}{int(time.time())}"
        clinic, _created = Clinic.objects.get_or_create(
            code=code, defaults={"name": f"Bench import clinic {code}"}
        )
        if clinic.patients.exists():
            raise CommandError(f"clinic {code!r} already has patients: use a fresh database")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "cohort.csv"
            with path.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, COLUMNS)
                writer.writeheader()
                writer.writerows(
                    row | {"clinic": code} for row in _rows(options["rows"], options["seed"])
                )
            started = time.perf_counter()
            result = cohort_import(path=path)
            imported = time.perf_counter() - started
        if result.errors:
            raise CommandError("; ".join(result.errors[:5]))
        timings: list[tuple[str, float, dict[str, Any]]] = [
            ("import", imported, {"rows": result.created})
        ]
        if not options["import_only"]:
            started = time.perf_counter()
            report = cohort_report(cohort_filter=CohortFilter(clinic_ids=(clinic.pk,)))
            counts = {"patients": report["n_patients"], "events": report["n_events"]}
            timings.append(("report", time.perf_counter() - started, counts))
        for name, seconds, extra in timings:
            self.stdout.write(
                json.dumps(
                    {
                        "scenario": f"{name} {options['rows']} patients",
                        **extra,
                        "seconds": round(seconds, 2),
                        "target_seconds": TARGETS[name],
                        "ok": seconds < TARGETS[name],
                    }
                )
            )
