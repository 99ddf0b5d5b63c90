from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """Real-world evidence: the study's analyses on the app's own cohort (SPEC section 6).

    It reads ``patients``, ``assessments`` and ``adherence`` and nothing imports it back.
    """

    name = "analytics"
    verbose_name = "Real-world-evidence analytics"

    def ready(self) -> None:
        # An imported patient's last follow-up date is a contact, as any recorded data is.
        from adherence.selectors import FOLLOW_UP_SOURCES

        from .importer import imported_follow_up_dates

        if imported_follow_up_dates not in FOLLOW_UP_SOURCES:
            FOLLOW_UP_SOURCES.append(imported_follow_up_dates)
