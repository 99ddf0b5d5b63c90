"""Give the application's database role its privileges: run by the owner after ``migrate``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections, transaction

from aimss_tracker.db_roles import app_role_grant, audit_tables


class Command(BaseCommand):
    help = (
        "As the owner of the tables (DATABASE_MIGRATE_URL), create the application's role "
        "(the user of DATABASE_URL) if needed and grant it read and write on the data but only "
        "INSERT and SELECT on the audit tables. Run after every `migrate --database=migrate`."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if "migrate" not in connections:
            raise CommandError(
                "DATABASE_MIGRATE_URL is not set: the application and the migrations use the "
                "same role, so there is no separate application role to grant."
            )
        owner, app = connections["migrate"], connections["default"]
        if owner.vendor != "postgresql":
            raise CommandError("Database roles exist on PostgreSQL only.")
        role = app.settings_dict["USER"]
        if not role or role == owner.settings_dict["USER"]:
            raise CommandError(
                "DATABASE_URL and DATABASE_MIGRATE_URL name the same role; give the application "
                "a role of its own in DATABASE_URL."
            )
        with transaction.atomic(using="migrate"), owner.cursor() as cursor:
            app_role_grant(cursor, role=role, password=app.settings_dict.get("PASSWORD") or None)
        self.stdout.write(
            f"Role {role}: read and write on the data, INSERT and SELECT only on "
            f"{len(audit_tables())} audit tables."
        )
