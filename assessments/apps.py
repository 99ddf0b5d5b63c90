from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    """The BPI-SF instrument, responses and their scores (depends on ``patients``)."""

    name = "assessments"
    verbose_name = "BPI-SF assessments"

    # Hooks ``manage.py seed_demo`` (in ``patients``, which cannot import us) calls on every app.
    def seed_demo(self, *, profiles: Sequence[Any], patients: Sequence[Any], seed: int) -> str:
        from .demo import seed_responses

        return f"{seed_responses(profiles=profiles, patients=patients, seed=seed)} BPI-SF responses"

    def erase_demo(self) -> None:
        from .demo import erase_responses

        erase_responses()
