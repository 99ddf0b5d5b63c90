"""Flags: one unresolved flag per kind, idempotent raising, one winner per claim,
notifications sent once and without health information, escalation once."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from followup.models import Flag, FlagAction, FlagNotification, FlagStatus, FlagTrigger
from followup.services import (
    FlagConflict,
    flag_claim,
    flag_raise,
    flag_record_action,
    flag_reopen,
    flag_resolve,
    flags_escalate_due,
    notification_send,
    notifications_pending,
)
from patients.models import Role
from tests.conftest import World
from tests.factories import UserFactory


def _raise(world: World, source_id: int = 1, kind: str = "high_interference", **kw: Any) -> Any:
    return flag_raise(
        patient_id=world.patient_a.pk, kind=kind, source="response", source_id=source_id, **kw
    )


def test_evaluating_the_same_event_twice_gives_one_flag_and_one_trigger(world: World) -> None:
    first = _raise(world, value=7.0)
    again = _raise(world, value=7.0)
    assert first.opened
    assert not again.opened
    assert not again.attached
    assert Flag.objects.count() == 1
    assert FlagTrigger.objects.count() == 1


def test_a_new_trigger_attaches_to_the_open_flag(world: World) -> None:
    _raise(world, source_id=1)
    second = _raise(world, source_id=2)
    assert second.attached
    assert not second.opened
    flag = Flag.objects.get()
    assert flag.trigger_count == 2
    assert flag.triggers.count() == 2


def test_after_resolution_a_new_event_opens_a_new_flag_but_an_old_one_does_not(
    world: World,
) -> None:
    flag = _raise(world, source_id=1).flag
    flag_resolve(flag_id=flag.pk, user=world.nurse_a)
    assert not _raise(world, source_id=1).opened  # a late duplicate of the old event
    assert _raise(world, source_id=2).opened
    assert Flag.objects.filter(status=FlagStatus.RESOLVED).count() == 1
    assert Flag.objects.exclude(status=FlagStatus.RESOLVED).count() == 1


def test_the_database_allows_one_unresolved_flag_per_kind(world: World) -> None:
    flag = _raise(world).flag
    with pytest.raises(IntegrityError), transaction.atomic():
        Flag.objects.create(
            patient=world.patient_a,
            clinic=world.clinic_a,
            kind=flag.kind,
            priority=1,
            opened_at=timezone.now(),
            last_triggered_at=timezone.now(),
        )


def _race(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work`` in ``n`` threads released together; each thread its own connection."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as error:  # collected for the assertions
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_two_workers_evaluating_at_once_raise_one_flag(world: World) -> None:
    results = _race(4, lambda i: _raise(world, source_id=99))
    assert sum(r.opened for r in results) == 1, results
    assert Flag.objects.count() == 1
    assert FlagTrigger.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_nurses_claiming_at_once_one_wins_and_the_other_is_told_who(world: World) -> None:
    other = UserFactory.create(
        username="nurse_a2",
        first_name="Nina",
        last_name="Other",
        role=Role.NURSE,
        clinics=[world.clinic_a],
    )
    world.nurse_a.first_name, world.nurse_a.last_name = "Ada", "First"
    world.nurse_a.save()
    flag = _raise(world).flag
    nurses = [world.nurse_a, other]
    results = _race(2, lambda i: flag_claim(flag_id=flag.pk, user=nurses[i]))
    winners = [r for r in results if isinstance(r, Flag)]
    losers = [r for r in results if isinstance(r, FlagConflict)]
    assert len(winners) == 1, results
    assert len(losers) == 1, results
    winner = winners[0].claimed_by
    assert winner is not None
    assert winner.get_full_name() in str(losers[0])


def test_claiming_again_is_harmless_for_the_holder(world: World) -> None:
    flag = _raise(world).flag
    flag_claim(flag_id=flag.pk, user=world.nurse_a)
    assert flag_claim(flag_id=flag.pk, user=world.nurse_a).claimed_by == world.nurse_a


def test_acting_claims_an_open_flag_and_measures_the_first_action(world: World) -> None:
    flag = _raise(world).flag
    flag_record_action(flag_id=flag.pk, user=world.nurse_a, action="called_patient", note="ok")
    flag.refresh_from_db()
    assert flag.status == FlagStatus.CLAIMED
    assert flag.claimed_by == world.nurse_a
    assert flag.first_action_by == world.nurse_a
    assert flag.first_action_at is not None


def test_a_flag_someone_else_holds_cannot_be_acted_on_or_resolved(world: World) -> None:
    colleague = UserFactory.create(role=Role.NURSE, clinics=[world.clinic_a])
    flag = _raise(world).flag
    flag_claim(flag_id=flag.pk, user=world.nurse_a)
    with pytest.raises(FlagConflict):
        flag_record_action(flag_id=flag.pk, user=colleague, action="advice_given")
    with pytest.raises(FlagConflict):
        flag_resolve(flag_id=flag.pk, user=colleague)
    assert not FlagAction.objects.filter(actor=colleague).exists()


def test_resolve_and_reopen(world: World) -> None:
    flag = _raise(world).flag
    flag_resolve(flag_id=flag.pk, user=world.nurse_a, note="spoke to her")
    with pytest.raises(FlagConflict):
        flag_resolve(flag_id=flag.pk, user=world.nurse_a)
    reopened = flag_reopen(flag_id=flag.pk, user=world.nurse_a, note="pain back")
    assert reopened.status == FlagStatus.OPEN
    assert reopened.claimed_by is None
    assert list(flag.actions.values_list("action", flat=True)) == ["resolved", "reopened"]


def test_reopen_is_refused_when_a_newer_flag_of_the_kind_is_open(world: World) -> None:
    flag = _raise(world, source_id=1).flag
    flag_resolve(flag_id=flag.pk, user=world.nurse_a)
    _raise(world, source_id=2)
    with pytest.raises(FlagConflict):
        flag_reopen(flag_id=flag.pk, user=world.nurse_a)


def test_a_high_priority_flag_notifies_the_clinic_nurses_once_without_health_data(
    world: World,
) -> None:
    # when a high-interference flag opens for a patient of clinic A
    flag = _raise(world, value=9.4).flag
    notifications = list(FlagNotification.objects.filter(flag=flag))
    # then exactly the nurses of clinic A are to be told
    assert [n.recipient for n in notifications] == [world.nurse_a]
    # and sending twice (two workers, a retried task, the sweep) sends one e-mail
    assert notification_send(notification_id=notifications[0].pk) is True
    assert notification_send(notification_id=notifications[0].pk) is False
    assert notifications_pending() == []
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert isinstance(message, mail.EmailMultiAlternatives)
    body = message.body + str(message.alternatives[0][0]) + str(message.subject)
    assert f"/queue/{flag.pk}/" in body
    for secret in (world.patient_a.family_name, world.patient_a.given_name, "9.4", "interference"):
        assert secret not in body


def test_normal_priority_flags_do_not_e_mail(world: World) -> None:
    _raise(world, kind="worsening")
    assert not FlagNotification.objects.exists()


def test_a_notification_claimed_by_a_worker_that_died_is_sent_by_the_sweep(world: World) -> None:
    flag = _raise(world).flag
    notification = FlagNotification.objects.get(flag=flag)
    # a worker claimed it, then was killed before sending
    FlagNotification.objects.filter(pk=notification.pk).update(
        claimed_at=timezone.now() - dt.timedelta(minutes=11)
    )
    assert notifications_pending() == [notification.pk]
    assert notification_send(notification_id=notification.pk)
    assert len(mail.outbox) == 1


def test_unclaimed_high_priority_flags_escalate_to_clinicians_once(world: World) -> None:
    flag = _raise(world).flag
    now = timezone.now()
    # not yet: within 24 hours
    assert flags_escalate_due(now=now + dt.timedelta(hours=23)) == []
    # after 24 hours, once, to the clinicians of her clinic
    assert flags_escalate_due(now=now + dt.timedelta(hours=25)) == [flag.pk]
    assert flags_escalate_due(now=now + dt.timedelta(hours=26)) == []
    escalations = FlagNotification.objects.filter(flag=flag, reason="escalated")
    assert [n.recipient for n in escalations] == [world.clinician_a]


def test_a_claimed_flag_does_not_escalate(world: World) -> None:
    flag = _raise(world).flag
    flag_claim(flag_id=flag.pk, user=world.nurse_a)
    assert flags_escalate_due(now=timezone.now() + dt.timedelta(hours=48)) == []
