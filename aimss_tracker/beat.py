"""The beat scheduler: django-celery-beat's database scheduler, with two guarantees added.

- **One beat at a time.** A beat runs the schedule only while it holds a PostgreSQL advisory
  lock, on a connection of its own (Django closes its connections between uses, which would
  drop a session lock). A second beat started by mistake stands by, says so in its log, and
  takes over within one tick of the first one's death. (SQLite, the demo: one process, no lock.)
- **A sweep the broker refused is queued as soon as it answers.** Celery's beat logs a failed
  publish and waits for the next interval; here the entry is kept and tried again every tick
  (at most ``RETRY_SECONDS`` apart), so a sweep missed while Redis was down runs right after.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from django.utils.functional import cached_property
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)

# pg_try_advisory_lock's key: any constant unique to this application's beat.
BEAT_LOCK_KEY = 0x4149_4D53_5342_4541  # "AIMSSBEA"
RETRY_SECONDS = 1.0  # how soon a refused publish is tried again
STANDBY_SECONDS = 5.0  # how often a standing-by beat tries the lock
STANDBY_LOG_EVERY = 300.0  # seconds between "standing by" lines


def _conninfo() -> dict[str, Any]:
    db = settings.DATABASES["default"]
    info = {
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "connect_timeout": 5,
        "autocommit": True,
    }
    return {k: v for k, v in info.items() if v is not None}


class SingleBeatScheduler(DatabaseScheduler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._lock: psycopg.Connection[Any] | None = None
        self._last_standby_log = 0.0
        self._missed: dict[str, Any] = {}
        super().__init__(*args, **kwargs)

    # --- one beat ---------------------------------------------------------------------------

    def _holds_lock(self) -> bool:
        if connection.vendor != "postgresql":
            return True
        if self._lock is not None:
            try:
                self._lock.execute("SELECT 1")
                return True
            except psycopg.Error:
                logger.warning("beat lost its schedule lock's connection; taking it again")
                self._lock = None
        try:
            lock = psycopg.connect(**_conninfo())
            row = lock.execute("SELECT pg_try_advisory_lock(%s)", [BEAT_LOCK_KEY]).fetchone()
        except psycopg.Error:
            logger.warning("beat cannot reach the database for its schedule lock")
            return False
        if row and row[0]:
            self._lock = lock
            logger.warning("beat holds the schedule lock: running the periodic tasks")
            return True
        lock.close()
        if time.monotonic() - self._last_standby_log >= STANDBY_LOG_EVERY:
            self._last_standby_log = time.monotonic()
            logger.warning("another beat holds the schedule lock: this beat is standing by")
        return False

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self._holds_lock():
            return STANDBY_SECONDS
        self._retry_missed()
        interval = float(super().tick(*args, **kwargs))
        return min(interval, RETRY_SECONDS) if self._missed else interval

    def close(self) -> None:
        super().close()
        if self._lock is not None:
            self._lock.close()  # the lock goes with the connection
            self._lock = None

    # --- a refused publish, retried ---------------------------------------------------------

    @cached_property
    def producer(self) -> Any:
        # Lazily connected (Celery's would wait on the broker with long retries inside a
        # tick); a publish to a broker that is down fails fast and is retried next tick.
        return self.Producer(self.connection, auto_declare=False)

    def apply_entry(self, entry: Any, producer: Any = None) -> None:
        try:
            self.apply_async(entry, producer=producer, advance=False)
        except Exception:  # broker down: try again next tick, on a fresh connection
            logger.warning("beat could not queue %s; retrying when the broker answers", entry.name)
            self._missed[entry.name] = entry
            self._drop_connection()
        else:
            self._missed.pop(entry.name, None)
            logger.info("beat queued %s", entry.name)

    def _retry_missed(self) -> None:
        for name, entry in list(self._missed.items()):
            try:
                self.apply_async(entry, producer=self.producer, advance=False)
            except Exception:
                self._drop_connection()
                return
            del self._missed[name]
            logger.warning("beat queued %s, missed while the broker was down", name)

    def _drop_connection(self) -> None:
        self.__dict__.pop("producer", None)
        stale = self.__dict__.pop("connection", None)
        if stale is not None:
            # a broken connection may fail to close; it is dropped either way
            with contextlib.suppress(Exception):
                stale.release()
