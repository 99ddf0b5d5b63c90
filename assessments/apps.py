from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    """The BPI-SF instrument, responses and their scores (depends on ``patients``)."""

    name = "assessments"
    verbose_name = "BPI-SF assessments"
