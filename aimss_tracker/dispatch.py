"""Queue background work after the transaction commits, by task name.

Lower apps (``assessments``, ``adherence``) hand work to the app above them (``followup``)
by the task's name, so they never import it. A broker outage never fails the write that
asked for the work: it is logged with ids only, and the periodic sweeps find what was missed.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.db import transaction
from django.utils.module_loading import import_string

from .celery import app as app  # patched by the tests of the publish budget

logger = logging.getLogger(__name__)

EVALUATE_RESPONSE = "followup.tasks.evaluate_response_task"
EVALUATE_CHECK_IN = "followup.tasks.evaluate_check_in_task"
EVALUATE_TREATMENT_EVENT = "followup.tasks.evaluate_treatment_event_task"
PATIENT_CLINIC_CHANGED = "followup.tasks.patient_clinic_changed_task"
PATIENT_LISTING_CHANGED = "assessments.tasks.score_summary_follow_patient_task"
CARE_STOPPED = "followup.tasks.care_stopped_task"


# Publishing runs on a small pool and the request waits at most PUBLISH_WAIT for it: the
# Redis client retries a refused connection with back-off for seconds, and a submission must
# answer within 2 s with Redis down. The wait is one budget shared by every request: once a
# publish has been running longer than PUBLISH_WAIT (a broker that hangs instead of refusing),
# nobody waits for the publisher until it is free again, so twenty submissions at once do
# not each spend their own half second. A publish still running, or one never started
# because too many wait, is left to the sweeps.
PUBLISH_WAIT = 0.5  # seconds
PUBLISH_BACKLOG = 200  # publishes waiting for the pool before new ones are dropped
_publisher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="aimss-publish")
_running: dict[int, float] = {}  # publishes in progress: thread id -> monotonic start
_running_lock = threading.Lock()


def _publish(task_name: str, ids: tuple[int, ...]) -> None:
    me = threading.get_ident()
    with _running_lock:
        _running[me] = time.monotonic()
    try:
        app.send_task(task_name, args=list(ids), retry=False)
    except Exception:  # broker down or unreachable: the sweeps catch up
        logger.warning("could not queue %s for ids %s; a sweep will", task_name, ids)
    finally:
        with _running_lock:
            _running.pop(me, None)


def publisher_stuck() -> bool:
    """Whether a publish has run longer than PUBLISH_WAIT (the broker hangs)."""
    now = time.monotonic()
    with _running_lock:
        return any(now - started > PUBLISH_WAIT for started in _running.values())


def send_now(task_name: str, *ids: int) -> None:
    """Send a task (ids only) without ever holding the caller more than PUBLISH_WAIT, and
    without holding it at all while the broker hangs."""
    if _publisher._work_queue.qsize() > PUBLISH_BACKLOG:
        logger.warning("broker backlog; %s for ids %s left to a sweep", task_name, ids)
        return
    stuck = publisher_stuck()
    future = _publisher.submit(_publish, task_name, ids)
    if stuck:
        logger.warning("broker hangs; %s for ids %s left to finish or to a sweep", task_name, ids)
        return
    try:
        future.result(timeout=PUBLISH_WAIT)
    except FutureTimeout:
        logger.warning(
            "broker slow or down; %s for ids %s left to finish or to a sweep", task_name, ids
        )


def send_on_commit(task_name: str, *ids: int) -> None:
    transaction.on_commit(lambda: send_now(task_name, *ids))


def run_in_transaction(task_name: str, *ids: int) -> None:
    """Run a higher app's task here and now, in the caller's transaction, by its name.

    For work that must commit or roll back with the write that asked for it (a patient's
    move and her flags' move are one change): no broker, no second connection."""
    import_string(task_name).run(*ids)
