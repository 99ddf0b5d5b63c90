"""The flag rules on real submissions: high interference, worsening, adherence lapses,
interruptions; idempotent evaluation; dispatch on the real Redis broker and a real worker."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import redis
from django.urls import reverse
from django.utils import timezone

from adherence.services import check_in_submit, treatment_event_create
from aimss_tracker.celery import app
from assessments.models import Response
from followup.evaluation import (
    check_in_evaluate,
    evaluations_sweep,
    response_evaluate,
    treatment_event_evaluate,
)
from followup.models import Flag, FlagNotification, ReassessmentSlot
from followup.schedules import schedules_sync
from tests.conftest import World, client_for, queued_messages
from tests.factories import AiCourseFactory, ResponseFactory

ALL_SEVENS = dict.fromkeys(
    [
        "general_activity",
        "mood",
        "walking_ability",
        "normal_work",
        "relations_with_others",
        "sleep",
        "enjoyment_of_life",
    ],
    7,
)


def _interference(total_over_seven: int) -> dict[str, int]:
    """Seven answers whose mean is ``total_over_seven / 7``."""
    base, extra = divmod(total_over_seven, 7)
    return {k: base + (1 if i < extra else 0) for i, k in enumerate(ALL_SEVENS)}


def _respond(world: World, interference: dict[str, int], average: int = 5, **kw: Any) -> Response:
    return ResponseFactory.create(
        patient=world.patient_a, interference=interference, average_pain=average, **kw
    )


def test_interference_of_7_raises_one_flag_and_just_below_none(world: World) -> None:
    below = _respond(world, _interference(48))  # 6.86
    at = _respond(world, _interference(49))  # 7.00
    assert below.interference_score == Decimal("6.86")
    assert at.interference_score == Decimal("7.00")
    assert response_evaluate(response_id=below.pk) == []
    [result] = response_evaluate(response_id=at.pk)
    assert result.opened
    assert Flag.objects.filter(kind="high_interference").count() == 1


def test_evaluating_twice_gives_one_flag_and_a_new_high_score_attaches(world: World) -> None:
    first = _respond(world, ALL_SEVENS)
    response_evaluate(response_id=first.pk)
    response_evaluate(response_id=first.pk)
    second = _respond(world, ALL_SEVENS)
    response_evaluate(response_id=second.pk)
    flag = Flag.objects.get(kind="high_interference")
    assert flag.trigger_count == 2
    assert flag.triggers.count() == 2


def test_the_clinic_threshold_decides(world: World) -> None:
    world.clinic_a.high_interference_from = Decimal("6.0")
    world.clinic_a.save()
    response = _respond(world, _interference(43))  # 6.14
    assert len(response_evaluate(response_id=response.pk)) == 1


def test_the_flag_follows_the_decision_stored_when_the_response_was_scored(world: World) -> None:
    # given a response scored high under a clinic threshold of 6 (6.14)
    world.clinic_a.high_interference_from = Decimal("6.0")
    world.clinic_a.save()
    response = _respond(world, _interference(43))
    assert response.interference_high is True
    # when the clinic moves its threshold back to 7 before the evaluation runs
    world.clinic_a.high_interference_from = Decimal("7.0")
    world.clinic_a.save()
    # then the flag rule reads the stored decision, not the score against the new threshold
    assert len(response_evaluate(response_id=response.pk)) == 1


def test_worsening_by_two_points_raises_a_flag_and_one_point_does_not(world: World) -> None:
    low = _interference(21)  # 3.0
    response_evaluate(response_id=_respond(world, low, average=3).pk)
    response_evaluate(response_id=_respond(world, low, average=4).pk)  # +1
    assert not Flag.objects.filter(kind="worsening").exists()
    response_evaluate(response_id=_respond(world, low, average=6).pk)  # +2
    assert Flag.objects.filter(kind="worsening").count() == 1


def test_worsening_compares_like_with_like_recall_periods(world: World) -> None:
    low = _interference(21)
    response_evaluate(response_id=_respond(world, low, average=2, recall_period="7d").pk)
    response_evaluate(response_id=_respond(world, low, average=6, recall_period="24h").pk)
    assert not Flag.objects.filter(kind="worsening").exists()


def test_a_lapse_raises_one_flag_however_often_it_is_evaluated(world: World) -> None:
    check_in, _ = check_in_submit(
        patient=world.patient_a,
        days_taken_last_7=4,
        stopped=False,
        wants_to_stop=False,
        missed_reason="ran_out",
    )
    fine, _ = check_in_submit(
        patient=world.patient_a, days_taken_last_7=7, stopped=False, wants_to_stop=False
    )
    check_in_evaluate(check_in_id=check_in.pk)
    check_in_evaluate(check_in_id=check_in.pk)
    assert check_in_evaluate(check_in_id=fine.pk) is None
    flag = Flag.objects.get(kind="adherence_lapse")
    assert flag.trigger_count == 1
    assert flag.priority == 1


def test_a_recorded_interruption_is_a_lapse(world: World) -> None:
    AiCourseFactory.create(patient=world.patient_a, start_date=dt.date(2023, 11, 1))
    event = treatment_event_create(
        patient=world.patient_a,
        kind="interruption",
        start_date=dt.date(2024, 6, 1),
        reason="aimss",
        recorded_by=world.clinician_a,
    )
    treatment_event_evaluate(event_id=event.pk)
    treatment_event_evaluate(event_id=event.pk)
    assert Flag.objects.get(kind="adherence_lapse").trigger_count == 1


def test_a_response_completes_the_open_reassessment(world: World) -> None:
    today = timezone.localdate()
    schedules_sync(patients=[world.patient_a], today=today)
    open_before = ReassessmentSlot.objects.filter(completed_at__isnull=True).count()
    response_evaluate(response_id=_respond(world, _interference(21)).pk)
    open_after = ReassessmentSlot.objects.filter(completed_at__isnull=True)
    assert open_after.count() < open_before
    assert all(s.due_date > today + dt.timedelta(days=14) for s in open_after)


def test_the_sweep_evaluates_what_a_lost_task_left(world: World) -> None:
    response = _respond(world, ALL_SEVENS)
    check_in, _ = check_in_submit(
        patient=world.patient_a,
        days_taken_last_7=2,
        stopped=True,
        wants_to_stop=False,
        missed_reason="other",
    )
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    assert evaluations_sweep(now=later) == 2
    assert evaluations_sweep(now=later) == 0
    assert set(Flag.objects.values_list("kind", flat=True)) == {
        "high_interference",
        "adherence_lapse",
    }
    assert response.evaluation is not None


# --- dispatch on the real broker -----------------------------------------------------------


def _queued(broker: redis.Redis, *, at_least: int = 0) -> list[tuple[str, list[Any]]]:
    return [
        (message["headers"]["task"], json.loads(base64.b64decode(message["body"]))[0])
        for message in queued_messages(broker, at_least=at_least)
    ]


def test_a_submission_queues_its_evaluation_after_commit_with_the_id_only(
    world: World, broker: redis.Redis, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _respond(world, ALL_SEVENS, treatments="MARKER-TEXT")
        assert _queued(broker) == []
    for callback in callbacks:
        callback()
    assert _queued(broker, at_least=1) == [("followup.tasks.evaluate_response_task", [response.pk])]
    assert "MARKER-TEXT" not in str(broker.lrange("celery", 0, -1))


@pytest.fixture
def broker_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """The product's dispatch, given a real Celery app whose broker port has no server."""
    from celery import Celery

    from aimss_tracker import dispatch

    dead = Celery("aimss_tracker")
    dead.config_from_object("django.conf:settings", namespace="CELERY")
    dead.conf.update(broker_url="redis://127.0.0.1:9/0")
    monkeypatch.setattr(dispatch, "app", dead)


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_a_submission_still_saves_and_answers_quickly(
    world: World, broker_down: None
) -> None:
    payload = {
        "recall_period": "24h",
        "has_pain_today": True,
        "pain_locations": ["knees_left"],
        "worst_location": "knees_left",
        "worst_pain": 8,
        "least_pain": 4,
        "average_pain": 6,
        "pain_now": 5,
        "treatments": "",
        "relief_percent": 30,
        "interference": ALL_SEVENS,
    }
    client = client_for(world.patient_a.user)
    url = reverse("api:assessment-list")
    started = time.monotonic()
    response = client.post(url, payload, content_type="application/json")
    elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert elapsed < 2.0, elapsed
    assert Response.objects.filter(pk=response.json()["id"]).exists()
    # and once the broker is back, one sweep raises exactly one flag and one notification
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    evaluations_sweep(now=later)
    evaluations_sweep(now=later)
    assert Flag.objects.filter(kind="high_interference").count() == 1
    assert FlagNotification.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_raises_the_flag_after_a_submission(
    world: World, broker: redis.Redis
) -> None:
    from celery.contrib.testing.worker import start_worker

    app.loader.import_default_modules()  # the worker's task registry, as `celery worker` builds it
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        response = _respond(world, ALL_SEVENS)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not Flag.objects.exists():
            time.sleep(0.1)
    flag = Flag.objects.get()
    assert flag.kind == "high_interference"
    assert flag.triggers.get().source_id == response.pk
    assert FlagNotification.objects.filter(flag=flag).count() == 1


def test_the_sweep_leaves_an_imported_history_alone(world: World) -> None:
    import uuid

    # given a high-interference questionnaire answered a year ago, stored today (an import)
    answered = _respond(world, ALL_SEVENS)
    imported = Response.objects.get(pk=answered.pk)
    imported.pk = None
    imported.submission_key = uuid.uuid4()
    imported.submitted_at = answered.submitted_at - dt.timedelta(days=365)
    imported.save(force_insert=True)
    answered.delete()
    # when the sweep runs, then it raises nothing for it
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    evaluations_sweep(now=later)
    assert not Flag.objects.exists()
