from django.apps import AppConfig


class FollowupConfig(AppConfig):
    """Follow-up of patients between visits: flags and the nurse queue, notifications and
    escalation, reassessment schedules and reminders. It reads from ``patients``,
    ``assessments`` and ``adherence`` and nothing imports it back."""

    name = "followup"
    verbose_name = "Follow-up: flags, queue and reminders"
