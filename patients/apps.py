from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "Clinics, people and patients"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deployment checks)
        from .roles import sync_role_groups

        # Permissions exist only after migrate has run, so groups are synced then.
        post_migrate.connect(sync_role_groups, sender=self)
