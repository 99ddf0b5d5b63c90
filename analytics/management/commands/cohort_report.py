"""``manage.py cohort_report``: the study's analyses on the app's own cohort."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics import disclosure
from analytics.cohort import CohortFilter
from analytics.downloads import (
    analysis_dataset,
    dataset_csv,
    dataset_json,
    dictionary_csv,
    dictionary_json,
    report_tables,
)
from analytics.eligibility import CRITERIA, OTHER_STOP_CENSOR, OTHER_STOP_SETTINGS
from analytics.forms import QUARTERS_ONLY
from analytics.report import cohort_report, report_csv
from analytics.services import clinics_for, under_disclosure_control
from patients.access import can_run_analytics, record_list_access
from patients.models import Clinic, User


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"not a date (YYYY-MM-DD): {value}") from error


class Command(BaseCommand):
    help = (
        "Table 1, Kaplan-Meier and log-rank, Cox models, trajectories and competing risks on "
        "the cohort (patients by AIMSS diagnosis date), de-identified, as JSON or CSV. With "
        "--user, as that user may see it: her clinics only, and under disclosure control "
        "(no group under 11, whole quarters) unless she may see them identified."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--clinic", action="append", default=[], help="clinic id or code (repeatable)"
        )
        parser.add_argument("--from", dest="date_from", type=_date, help="diagnosed on or after")
        parser.add_argument("--to", dest="date_to", type=_date, help="diagnosed on or before")
        parser.add_argument(
            "--as-of", dest="as_of", type=_date, help="read the records as known on this day"
        )
        parser.add_argument(
            "--other-stop",
            choices=OTHER_STOP_SETTINGS,
            default=OTHER_STOP_CENSOR,
            help="AI stopped for another reason: censored at that date (default) or excluded",
        )
        parser.add_argument(
            "--skip-criterion",
            action="append",
            default=[],
            choices=list(CRITERIA),
            help="an eligibility criterion not to apply (repeatable)",
        )
        parser.add_argument("--format", choices=("json", "csv"), default="json")
        what = parser.add_mutually_exclusive_group()
        what.add_argument(
            "--dataset",
            action="store_true",
            help="the de-identified analysis dataset (one row per patient) instead of the report",
        )
        what.add_argument(
            "--dictionary", action="store_true", help="the analysis dataset's data dictionary"
        )
        what.add_argument(
            "--table", help="one table of the report as CSV (e.g. table1, cox_multivariable, flow)"
        )
        parser.add_argument(
            "--user", help="run as this user (username): her clinics, her disclosure control"
        )
        parser.add_argument(
            "--deidentified",
            action="store_true",
            help="apply disclosure control (for a report that leaves the clinic)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = self._user(options["user"])
        allowed = clinics_for(user) if user else Clinic.objects.all()
        clinic_ids: list[int] = []
        for given in options["clinic"]:
            clinic = allowed.filter(code=given).first()
            if clinic is None and given.isascii() and given.isdigit():
                clinic = allowed.filter(pk=int(given)).first()
            if clinic is None:
                raise CommandError(f"no clinic with id or code {given!r}")
            clinic_ids.append(clinic.pk)
        if user and not clinic_ids:
            clinic_ids = list(allowed.values_list("pk", flat=True))
            if not clinic_ids:
                raise CommandError(f"no clinic is granted to {user.username}: nothing to analyse")
        cohort_filter = CohortFilter(
            clinic_ids=tuple(sorted(clinic_ids)) if clinic_ids else None,
            date_from=options["date_from"],
            date_to=options["date_to"],
            as_of=options["as_of"],
            other_stop=options["other_stop"],
            criteria=tuple(c for c in CRITERIA if c not in options["skip_criterion"]),
        ).resolved()
        controlled = options["deidentified"] or (
            user is not None and under_disclosure_control(user, cohort_filter)
        )
        if controlled:
            start, end = cohort_filter.date_from, cohort_filter.date_to
            as_of = options["as_of"]
            if (
                (start and not disclosure.is_quarter_start(start))
                or (end and not disclosure.is_quarter_end(end))
                or (as_of and not disclosure.is_quarter_end(as_of))
            ):
                raise CommandError(str(QUARTERS_ONLY))
        if options["dictionary"]:
            text = dictionary_csv() if options["format"] == "csv" else dictionary_json()
            self.stdout.write(text, ending="" if text.endswith("\n") else "\n")
            return
        try:
            if options["dataset"]:
                frame = analysis_dataset(cohort_filter=cohort_filter, disclosure_control=controlled)
                if user is not None:
                    record_list_access(
                        user, patient_ids=frame.attrs["patient_ids"], what="analysis dataset"
                    )
                text = dataset_csv(frame) if options["format"] == "csv" else dataset_json(frame)
                self.stdout.write(text, ending="" if text.endswith("\n") else "\n")
                return
            report = cohort_report(cohort_filter=cohort_filter, disclosure_control=controlled)
        except disclosure.ReportRefused as refused:
            raise CommandError(str(refused)) from None
        if options["table"]:
            tables = report_tables(report)
            if options["table"] not in tables:
                raise CommandError(f"no table {options['table']!r}: one of {', '.join(tables)}")
            self.stdout.write(tables[options["table"]], ending="")
        elif options["format"] == "csv":
            self.stdout.write(report_csv(report), ending="")
        else:
            self.stdout.write(json.dumps(report, indent=1))

    def _user(self, username: str | None) -> User | None:
        if username is None:
            return None
        user = User.objects.filter(username=username).first()
        if user is None or not can_run_analytics(user):
            raise CommandError(f"{username!r} is not a user who may run cohort analytics")
        return user
