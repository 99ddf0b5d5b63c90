"""The application's database role cannot rewrite the audit (docs/security.md #27, database half).

These tests log in as that role on a connection of their own, as the application does in
production, rather than relying on the suite's SET ROLE."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection
from psycopg import errors, sql

from aimss_tracker.db_roles import audit_tables
from tests.conftest import APP_ROLE

REWRITES = {
    "update": "UPDATE {table} SET id = id",
    "delete": "DELETE FROM {table}",
    "truncate": "TRUNCATE {table}",
    "disable trigger": "ALTER TABLE {table} DISABLE TRIGGER ALL",
    "alter": "ALTER TABLE {table} ADD COLUMN gone integer",
}


@pytest.fixture
def as_app_role(db: None) -> Iterator[psycopg.Connection]:
    """A login of the application's role on the test database (the test's own transaction is
    invisible to it: privileges are checked before any row is read)."""
    settings = connection.settings_dict
    app = psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        dbname=settings["NAME"],
        user=APP_ROLE,
        autocommit=True,
    )
    yield app
    app.close()


def test_the_audit_tables_include_every_event_table_and_the_access_records() -> None:
    tables = audit_tables()
    assert "patients_accessrecord" in tables
    assert "patients_patientevent" in tables
    assert len(tables) >= 10


@pytest.mark.parametrize("statement", list(REWRITES.values()), ids=list(REWRITES))
def test_the_application_role_cannot_rewrite_any_audit_table(
    as_app_role: psycopg.Connection, statement: str
) -> None:
    for table in audit_tables():
        with pytest.raises(errors.InsufficientPrivilege):
            as_app_role.execute(sql.SQL(statement).format(table=sql.Identifier(table)))


def test_the_application_role_may_append_to_and_read_the_audit_only(
    as_app_role: psycopg.Connection,
) -> None:
    # given the application's role: no superuser, owner of nothing
    row = as_app_role.execute(
        "SELECT rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    assert row == (False, False, False)
    owned = as_app_role.execute(
        "SELECT count(*) FROM pg_tables WHERE tableowner = current_user"
    ).fetchone()
    assert owned == (0,)
    # then on every audit table it may INSERT and SELECT, and nothing else
    for table in audit_tables():
        allowed = {
            privilege
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER")
            if as_app_role.execute(
                "SELECT has_table_privilege(current_user, %s, %s)", [table, privilege]
            ).fetchone()
            == (True,)
        }
        assert allowed == {"SELECT", "INSERT"}, table
    # while the data itself is read and written as usual
    assert as_app_role.execute(
        "SELECT has_table_privilege(current_user, 'patients_patient', 'UPDATE')"
    ).fetchone() == (True,)


def test_the_suite_itself_runs_as_the_application_role(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (APP_ROLE,)
