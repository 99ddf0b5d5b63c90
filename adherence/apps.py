from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig


class AdherenceConfig(AppConfig):
    """AI therapy courses, treatment events, interventions and adherence check-ins
    (depends on ``patients`` and ``assessments``)."""

    name = "adherence"
    verbose_name = "AI therapy and adherence"

    def seed_demo(self, *, profiles: Sequence[Any], patients: Sequence[Any], seed: int) -> str:
        from .demo import seed_adherence, trim_responses_after_stop

        counts = seed_adherence(profiles, patients, seed)
        trimmed = trim_responses_after_stop()
        return (
            f"{counts['courses']} AI courses, {counts['interventions']} interventions, "
            f"{counts['events']} composite events, {counts['check_ins']} check-ins "
            f"({trimmed} questionnaires after a death or discontinuation removed)"
        )

    def erase_demo(self) -> None:
        from .demo import erase_adherence

        erase_adherence()
