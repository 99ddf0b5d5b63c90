"""``bench_analytics``: times ``cohort_report`` on the 253-patient demo and on 10,000 patients.

Seeds each cohort with ``seed_demo`` (``--reset``: bench databases only) and prints JSON with
the seconds of the report (cohort query + every analysis; the interpreter's start and the
libraries' import are not counted) against its target (2 s and 10 s).
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from analytics.cohort import CohortFilter
from analytics.report import cohort_report

TARGETS = {253: 2.0, 10000: 10.0}  # patients: seconds


class Command(BaseCommand):
    help = "Time cohort_report on seeded cohorts (erases the database: bench databases only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sizes", type=int, nargs="+", default=list(TARGETS))

    def handle(self, *args: Any, **options: Any) -> None:
        import lifelines  # noqa: F401  (import cost is not the report's)
        import statsmodels.formula.api  # noqa: F401

        rows = []
        for size in options["sizes"]:
            call_command("seed_demo", reset=True, patients=size, verbosity=0, stdout=_Null())
            started = time.perf_counter()
            report = cohort_report(cohort_filter=CohortFilter())
            seconds = time.perf_counter() - started
            target = TARGETS.get(size)
            rows.append(
                {
                    "scenario": f"cohort_report {size} patients",
                    "patients": report["n_patients"],
                    "events": report["n_events"],
                    "seconds": round(seconds, 2),
                    "target_seconds": target,
                    "ok": target is None or seconds < target,
                }
            )
        for row in rows:  # one JSON object a line, as bench/run.py reads timed commands
            self.stdout.write(json.dumps(row))


class _Null:
    def write(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    def flush(self) -> None:
        return None
