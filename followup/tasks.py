"""Celery tasks of follow-up: thin, ids only, idempotent (claim-then-act in the services)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def send_flag_notification_task(notification_id: int) -> None:
    services.notification_send(notification_id=notification_id)


@shared_task(ignore_result=True)
def notifications_sweep_task() -> None:
    """Send what a lost task or a broker outage left unsent."""
    for notification_id in services.notifications_pending():
        services.notification_send(notification_id=notification_id)


@shared_task(ignore_result=True)
def escalation_sweep_task() -> None:
    services.flags_escalate_due()
