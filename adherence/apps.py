from django.apps import AppConfig


class AdherenceConfig(AppConfig):
    """AI therapy courses, treatment events, interventions and adherence check-ins
    (depends on ``patients`` and ``assessments``)."""

    name = "adherence"
    verbose_name = "AI therapy and adherence"
