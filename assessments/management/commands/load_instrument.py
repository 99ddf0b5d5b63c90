"""``manage.py load_instrument FILE``: load an instrument definition (e.g. licensed wording)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessments.instrument import BUNDLED_BPI_SF, read_definition
from assessments.services import instrument_load


class Command(BaseCommand):
    help = (
        "Load a versioned instrument definition file (JSON; format in the README). New "
        "responses use the most recently loaded version; stored ones keep theirs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", nargs="?", default=str(BUNDLED_BPI_SF), help="definition file (JSON)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            definition = read_definition(options["file"])
            instrument, created = instrument_load(definition=definition)
        except (OSError, json.JSONDecodeError, ValueError) as error:
            raise CommandError(f"{options['file']}: {error}") from error
        if created:
            self.stdout.write(self.style.SUCCESS(f"Loaded {instrument}."))
        else:
            self.stdout.write(f"{instrument} is already loaded; nothing to do.")
