"""The application's PostgreSQL role: it reads and writes the data, but cannot rewrite the audit.

The owner of the tables (``DATABASE_MIGRATE_URL``) runs the migrations and then
:func:`app_role_grant`; the application connects as a role that owns nothing
(``DATABASE_URL``). On the audit tables (the pghistory event tables and the access records)
that role may INSERT and SELECT only: no UPDATE, DELETE or TRUNCATE, and, owning no table, no
ALTER TABLE and no DISABLE TRIGGER either. Tables created later give it SELECT and INSERT
only until the grants are run again after the migration, so a new table fails closed.
"""

from __future__ import annotations

from typing import Any

import pghistory.models
from django.apps import apps
from psycopg import errors, sql

from patients.models import AccessRecord


def audit_tables() -> list[str]:
    """The append-only tables: every pghistory event table and the access records."""
    tables = {AccessRecord._meta.db_table}
    for model in apps.get_models():
        meta = model._meta
        if issubclass(model, pghistory.models.Event) and meta.managed and not meta.proxy:
            tables.add(meta.db_table)
    return sorted(tables)


def app_role_grant(cursor: Any, *, role: str, password: str | None = None) -> None:
    """Create ``role`` (a login that owns nothing) if it does not exist, and give it exactly
    its privileges on this database. Run by the owner of the tables; idempotent."""
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    if cursor.fetchone() is None:
        create = sql.SQL(
            "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
        ).format(sql.Identifier(role))
        if password:
            create += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
        cursor.execute("SAVEPOINT app_role")
        try:
            cursor.execute(create)
        except (errors.DuplicateObject, errors.UniqueViolation):  # created meanwhile
            cursor.execute("ROLLBACK TO SAVEPOINT app_role")
    who = sql.Identifier(role)
    cursor.execute("SELECT current_database(), current_user")
    database, owner = cursor.fetchone()
    statements = [
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), who),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(who),
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(who),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
            who
        ),
        sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}").format(who),
        *(
            sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(
                sql.Identifier(table), who
            )
            for table in audit_tables()
        ),
        # Tables and sequences the owner creates later: append and read only, until the next
        # run of these grants after the migration that made them.
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
            "GRANT SELECT, INSERT ON TABLES TO {}"
        ).format(sql.Identifier(owner), who),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
            "GRANT USAGE, SELECT ON SEQUENCES TO {}"
        ).format(sql.Identifier(owner), who),
    ]
    for statement in statements:
        cursor.execute(statement)
