from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """Real-world evidence: the study's analyses on the app's own cohort.

    It reads ``patients``, ``assessments`` and ``adherence`` and nothing imports it back.
    """

    name = "analytics"
    verbose_name = "Real-world-evidence analytics"
