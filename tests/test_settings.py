"""Settings come from the environment; production without secrets refuses to start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

from aimss_tracker.celery import app

ROOT = Path(__file__).resolve().parent.parent


def _django_setup(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "aimss_tracker.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_without_secret_key_or_hosts_fails_with_a_clear_message() -> None:
    result = _django_setup(DJANGO_DEBUG="false")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS must be set" in result.stderr


def test_production_with_secrets_starts() -> None:
    result = _django_setup(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="x" * 60,
        DJANGO_ALLOWED_HOSTS="aimss.example.org",
    )
    assert result.returncode == 0, result.stderr


def test_persistent_database_connections_are_on() -> None:
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0


def test_celery_follows_the_reliability_settings() -> None:
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_time_limit
    assert conf.task_soft_time_limit
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.beat_scheduler == "aimss_tracker.beat:SingleBeatScheduler"


def test_tests_run_on_the_production_parts() -> None:
    # make test points the suite at PostgreSQL and Redis, as production runs
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert settings.CELERY_BROKER_URL.startswith("redis://")


def test_the_planner_prices_random_reads_for_solid_state_storage(db: None) -> None:
    # given the application's PostgreSQL connection (DATABASE_RANDOM_PAGE_COST unset)
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        # then a random read costs 1.1 sequential ones, not PostgreSQL's default 4
        assert cursor.fetchone()[0] == "1.1"


PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "p" * 60,
    "DJANGO_ALLOWED_HOSTS": "aimss.example.org",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AIMSS_"))}
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_deploy_check_warns_when_staff_mfa_is_off_in_production() -> None:
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, AIMSS_STAFF_MFA="off"
    )
    assert result.returncode != 0
    assert "aimss.W001" in result.stderr + result.stdout


def test_production_cookies_are_secure_host_cookies() -> None:
    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0)"
    )
    result = _manage("shell", "-c", code, **PRODUCTION)
    assert result.stdout.strip().splitlines()[-1].split() == [
        "__Host-sessionid",
        "__Host-csrftoken",
        "True",
        "True",
        "True",
    ]
