"""``manage.py import_cohort FILE.csv``: load a retrospective cohort (see analytics.importer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.importer import COLUMNS, cohort_import


class Command(BaseCommand):
    help = (
        "Import a retrospective cohort, one row per patient, columns: "
        + ", ".join(COLUMNS)
        + ". Nothing is imported unless every row is good; a second import changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            result = cohort_import(path=path)
        except OSError as unreadable:
            raise CommandError(f"cannot read {path}: {unreadable.strerror}") from unreadable
        if result.errors:
            for error in result.errors:
                self.stderr.write(error)
            raise CommandError(f"{len(result.errors)} problems; nothing was imported.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.created} patients; "
                f"{result.unchanged} already imported unchanged."
            )
        )
