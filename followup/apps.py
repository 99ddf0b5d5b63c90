from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig


class FollowupConfig(AppConfig):
    """Follow-up of patients between visits: flags and the nurse queue, notifications and
    escalation, reassessment schedules and reminders. It reads from ``patients``,
    ``assessments`` and ``adherence`` and nothing imports it back."""

    name = "followup"
    verbose_name = "Follow-up: flags, queue and reminders"

    def seed_demo(self, *, profiles: Sequence[Any], patients: Sequence[Any], seed: int) -> str:
        from .demo import seed_followup

        return seed_followup()

    def erase_demo(self) -> None:
        from .demo import erase_followup

        erase_followup()
