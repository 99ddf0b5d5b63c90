"""schemathesis against the API's own OpenAPI schema, as a patient, a nurse and a clinician:
no 5xx, answers that match the schema, and no operation that ignores authentication.

The schema is generated in-process (as ``/api/v1/schema/`` serves it) and every generated
request goes through Django's WSGI handler into the test database, authenticated by an API
token. Each example gets a fresh token, so ``DELETE /auth/token/`` (revoke) is tested too.
Bounded: a few derandomized examples per operation and role.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import ignored_auth, response_schema_conformance

from interop.tokens import api_token_issue
from tests.conftest import World
from tests.factories import ResponseFactory

MAX_EXAMPLES = 5

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = WSGIHandler()


@pytest.fixture
def wsgi_in_test_transaction() -> Iterator[None]:
    """The WSGI handler would close the test's connection (and its transaction) after each
    request; Django's own test client avoids that the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    cache.clear()  # throttling counters
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _user(world: World, role: str) -> Any:
    return {
        "patient": world.patient_a.user,
        "nurse": world.nurse_a,
        "clinician": world.clinician_a,
    }[role]


@pytest.mark.parametrize("role", ["patient", "nurse", "clinician"])
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(
    case: Any, role: str, world: World, wsgi_in_test_transaction: None
) -> None:
    # given a user of the role with a fresh token, and a response to find
    user = _user(world, role)
    if not world.patient_a.responses.exists():
        ResponseFactory.create(patient=world.patient_a)
    _token, key = api_token_issue(user=user, second_factor=True)
    # when schemathesis sends a generated request
    # then no server error, the answer matches the schema, and auth is not ignored
    case.call_and_validate(
        headers={"Authorization": f"Token {key}"},
        checks=[not_a_server_error, response_schema_conformance, ignored_auth],
    )
