from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo: ``manage.py seed_demo`` builds two clinics, a login of every role and a
    synthetic cohort calibrated to the study. It sits above every domain app and imports them
    all; no domain app imports it or carries a hook for it."""

    name = "demo"
    verbose_name = "Demo data"
