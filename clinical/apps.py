from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    """The clinician's views: the patient list, the trajectory page with decision support and
    its API. It only reads ``patients``, ``assessments``, ``adherence`` and ``followup`` (no
    models of its own) and nothing imports it back."""

    name = "clinical"
    verbose_name = "Clinician views"
