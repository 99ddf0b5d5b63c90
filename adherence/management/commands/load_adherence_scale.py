"""``manage.py load_adherence_scale FILE``: load the clinic's licensed MARS-5 wording."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from adherence.scale import BUNDLED_MARS5, scale_load
from assessments.instrument import read_definition


class Command(BaseCommand):
    help = (
        "Load a MARS-5 definition file (JSON, the instrument format; the bundled file is the "
        "structure only). The check-in asks the newest licensed version where the clinic's "
        "settings turn the scale on."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", nargs="?", default=str(BUNDLED_MARS5), help="definition file (JSON)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            definition = read_definition(options["file"])
            instrument, created = scale_load(definition=definition)
        except (OSError, json.JSONDecodeError, ValueError) as error:
            raise CommandError(f"{options['file']}: {error}") from error
        if created:
            self.stdout.write(self.style.SUCCESS(f"Loaded {instrument}."))
        else:
            self.stdout.write(f"{instrument} is already loaded; nothing to do.")
