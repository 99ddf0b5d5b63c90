"""``manage.py cohort_report``: the study's analyses on the app's own cohort."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.cohort import CohortFilter
from analytics.report import cohort_report, report_csv
from patients.models import Clinic


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"not a date (YYYY-MM-DD): {value}") from error


class Command(BaseCommand):
    help = (
        "Table 1, Kaplan-Meier and log-rank, Cox models, trajectories and competing risks on "
        "the cohort (patients by AIMSS diagnosis date), de-identified, as JSON or CSV."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--clinic", action="append", default=[], help="clinic id or code (repeatable)"
        )
        parser.add_argument("--from", dest="date_from", type=_date, help="diagnosed on or after")
        parser.add_argument("--to", dest="date_to", type=_date, help="diagnosed on or before")
        parser.add_argument("--format", choices=("json", "csv"), default="json")

    def handle(self, *args: Any, **options: Any) -> None:
        clinic_ids = []
        for given in options["clinic"]:
            clinic = Clinic.objects.filter(code=given).first()
            if clinic is None and given.isdigit():
                clinic = Clinic.objects.filter(pk=int(given)).first()
            if clinic is None:
                raise CommandError(f"no clinic with id or code {given!r}")
            clinic_ids.append(clinic.pk)
        cohort_filter = CohortFilter(
            clinic_ids=tuple(sorted(clinic_ids)),
            date_from=options["date_from"],
            date_to=options["date_to"],
        )
        report = cohort_report(cohort_filter=cohort_filter)
        if options["format"] == "csv":
            self.stdout.write(report_csv(report), ending="")
        else:
            self.stdout.write(json.dumps(report, indent=1))
