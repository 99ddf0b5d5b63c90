"""Celery tasks of follow-up: thin, ids only, idempotent (claim-then-act in the services)."""

from __future__ import annotations

from celery import shared_task

from aimss_tracker.dispatch import send_now

from . import services


@shared_task(ignore_result=True)
def send_flag_notifications_task(flag_id: int) -> None:
    services.flag_notifications_send(flag_id=flag_id)


@shared_task(ignore_result=True)
def notifications_sweep_task() -> None:
    """Send what a lost task, a dead worker or an outage left unsent: flag notifications, and
    reminders whose claim lapsed (every minute, so a dead worker's sends go within 2)."""
    from .schedules import reminders_resend_lost

    for notification_id in services.notifications_pending():
        services.notification_send(notification_id=notification_id)
    reminders_resend_lost()


@shared_task(ignore_result=True)
def escalation_sweep_task() -> None:
    services.flags_follow_clinics()
    services.flags_escalate_due()


@shared_task(ignore_result=True)
def patient_clinic_changed_task(patient_id: int) -> None:
    services.flags_follow_clinics(patient_id=patient_id)


@shared_task(ignore_result=True)
def care_stopped_task(patient_id: int) -> None:
    """A discontinuation, recurrence or death was recorded: stop what no longer applies."""
    services.care_stop_apply(patient_id=patient_id)


@shared_task(ignore_result=True)
def schedules_sync_task() -> None:
    from .schedules import schedules_sync_all

    services.care_stops_sweep()
    schedules_sync_all()


@shared_task(ignore_result=True)
def reminders_sweep_task() -> None:
    """Send the due reminders; a sweep that finds a full batch asks one more worker to join in
    (each joiner may ask another), so a large sweep spreads over the whole worker pool."""
    from .schedules import reminders_send_due

    reminders_send_due(on_more=lambda: send_now(reminders_sweep_task.name))


@shared_task(ignore_result=True)
def dose_reminders_sweep_task() -> None:
    from .dose_reminders import dose_reminders_send_due

    dose_reminders_send_due()


@shared_task(ignore_result=True)
def overdue_sweep_task() -> None:
    from .schedules import overdue_flags_raise

    overdue_flags_raise()


@shared_task(ignore_result=True)
def evaluate_response_task(response_id: int) -> None:
    from .evaluation import response_evaluate

    response_evaluate(response_id=response_id)


@shared_task(ignore_result=True)
def evaluate_check_in_task(check_in_id: int) -> None:
    from .evaluation import check_in_evaluate

    check_in_evaluate(check_in_id=check_in_id)


@shared_task(ignore_result=True)
def evaluate_treatment_event_task(event_id: int) -> None:
    from .evaluation import treatment_event_evaluate

    treatment_event_evaluate(event_id=event_id)


@shared_task(ignore_result=True)
def evaluations_sweep_task() -> None:
    """Evaluate responses, check-ins and interruptions whose own task was lost."""
    from .evaluation import evaluations_sweep

    evaluations_sweep()


@shared_task(ignore_result=True)
def response_checks_sweep_task() -> None:
    """Create the response checks of new interventions and evaluate those that fell due."""
    from .checks import response_checks_sweep

    response_checks_sweep()
