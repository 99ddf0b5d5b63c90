"""After commit, flag evaluation is queued with the response id only; an outage is survivable."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.conf import settings
from kombu.exceptions import OperationalError

from assessments.models import Response
from assessments.tasks import evaluate_response_task
from tests.conftest import World
from tests.factories import ResponseFactory


@pytest.fixture
def broker() -> redis.Redis:
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs the Redis broker")
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("celery")
    return client


def queued(broker: redis.Redis) -> list[dict[str, Any]]:
    messages = [json.loads(raw) for raw in broker.lrange("celery", 0, -1)]
    return [
        {
            "task": m["headers"]["task"],
            "args": json.loads(base64.b64decode(m["body"]))[0],
            "kwargs": json.loads(base64.b64decode(m["body"]))[1],
        }
        for m in messages
    ]


def test_submission_queues_evaluation_after_commit_with_the_id_only(
    world: World,
    broker: redis.Redis,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given a submission inside a transaction
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = ResponseFactory.create(patient=world.patient_a, treatments="MARKER-TEXT")
        # then nothing is queued before the commit
        assert queued(broker) == []
    # when the transaction commits
    assert len(callbacks) == 1
    callbacks[0]()
    # then one task is queued, carrying the response id and nothing else
    [message] = queued(broker)
    assert message == {
        "task": "assessments.tasks.evaluate_response_task",
        "args": [response.pk],
        "kwargs": {},
    }
    assert "MARKER-TEXT" not in json.dumps(broker.lrange("celery", 0, -1), default=str)


def test_a_broker_outage_does_not_fail_the_submission(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given a broker that refuses connections (the outside world, simulated)
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("Error 111 connecting to redis")

    monkeypatch.setattr(evaluate_response_task, "delay", refuse)
    # when a patient submits
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        response = ResponseFactory.create(patient=world.patient_a, treatments="MARKER-TEXT")
    # then the response is saved and the failure logged with ids only
    assert Response.objects.filter(pk=response.pk).exists()
    assert f"assessment.dispatch_failed response_id={response.pk}" in caplog.text
    assert "MARKER-TEXT" not in caplog.text


def test_the_task_is_idempotent_and_logs_ids_only(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    response = ResponseFactory.create(patient=world.patient_a, treatments="MARKER-TEXT")
    with caplog.at_level(logging.INFO):
        evaluate_response_task(response.pk)
        evaluate_response_task(response.pk)
        evaluate_response_task(999_999_999)
    assert caplog.text.count(f"assessment.evaluated response_id={response.pk}") == 2
    assert "assessment.evaluate.missing response_id=999999999" in caplog.text
    assert "MARKER-TEXT" not in caplog.text
    assert world.patient_a.family_name not in caplog.text
