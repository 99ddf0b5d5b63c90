"""``manage.py load_advice FILE``: check and load a version of the self-management advice."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessments.advice import (
    BUNDLED_ADVICE,
    AdviceFileError,
    advice_current,
    advice_errors,
    advice_set_load,
    read_advice,
)


class Command(BaseCommand):
    help = (
        "Check an advice file (JSON; format in docs/advice.md) and load it as a new version, "
        "which patients read from now on; older versions are kept. A faulty file is refused "
        "whole, with one line per fault naming its place."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", nargs="?", default=str(BUNDLED_ADVICE), help="advice file (JSON)"
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="only check the file; load nothing",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        try:
            data = read_advice(path)
            if options["check"]:
                errors = advice_errors(data)
                if errors:
                    raise AdviceFileError(errors)
                self.stdout.write(self.style.SUCCESS(f"{path}: can be loaded."))
                return
            advice_set, created = advice_set_load(data=data)
        except AdviceFileError as error:
            faults = "\n".join(f"  {fault}" for fault in error.errors)
            raise CommandError(
                f"{path}: not loaded ({len(error.errors)} fault(s); nothing was changed):\n{faults}"
            ) from error
        if created:
            items = advice_set.items.count()
            self.stdout.write(
                self.style.SUCCESS(f"Loaded {advice_set} ({items} items); it is now current.")
            )
        elif advice_current() == advice_set:
            self.stdout.write(f"{advice_set} is already loaded and current; nothing to do.")
        else:
            self.stdout.write(
                f"{advice_set} is already loaded but a later version is current; to make this "
                "content current again, load it under a new version."
            )
