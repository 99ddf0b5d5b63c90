"""No 500 on hostile input (docs/security.md #28): every API route, walked from the URL resolver, is
fed a table of hostile values in its path, its query string and its body; each answer is a 4xx
with a JSON body in DRF's shape, and nothing is saved.

The routes come from the resolver, so a new route is attacked without being listed here; its
valid bodies (the baselines hostile fields are swapped into) are listed, and a test fails if a
route that takes a body has none."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from aimss_tracker.inputs import JSON_MAX_DEPTH
from tests.conftest import World, client_for
from tests.factories import AiCourseFactory, ResponseFactory

# Values no route should ever turn into a 500.
UNICODE_DIGITS = ["²", "٣", "１２", "߁"]  # superscript, Arabic-Indic, fullwidth, N'Ko
PATH_IDS = [*UNICODE_DIGITS, "9" * 25, "-1", "1.5", "0x1", "%00", "1%20"]
QUERY_VALUES = ["²", "٣", "9" * 40, "\x00", "x" * 5000]
DEEP = 5_000  # levels; Python's own parser gives up near 1,000
HUGE = "x" * 200_000
FIELD_VALUES: list[Any] = [
    "²",
    "٣",
    HUGE,
    "\x00",
    10**30,
    1.5,
    None,
    ["x"] * 1000,
    {"a": {}},
    "2024-02-30",
]
QUERY_NAMES = ["patient", "status", "kind", "page", "lang", "format"]


def _api_patterns() -> Iterator[tuple[str, URLPattern]]:
    """(route, pattern) of every route in the API's namespace."""
    api = next(
        p
        for p in get_resolver().url_patterns
        if isinstance(p, URLResolver) and p.namespace == "api"
    )

    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, URLPattern]]:
        for pattern in patterns:
            regex = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, regex)
            elif isinstance(pattern, URLPattern) and pattern.name:
                yield regex, pattern

    yield from walk(api.url_patterns, "/api/v1/")


def _api_routes() -> Iterator[tuple[str, str]]:
    """(name, path template) of every route in the API's namespace."""
    for regex, pattern in _api_patterns():
        yield str(pattern.name), regex


def _path(template: str, value: str) -> str:
    """The route with ``value`` in every parameter (Django's <int:pk> or a router's regex)."""
    path = re.sub(r"<[^>]+>", value, template)
    path = re.sub(r"\(\?P<[^>]+>[^)]*\)", value, path)
    return path.lstrip("^").rstrip("$").replace("\\.", ".").replace("\\", "")


def _snapshot() -> dict[str, int]:
    """Row counts of every table a request could write data to (the audit and session
    bookkeeping aside: a refused request is still recorded as seen)."""
    skip = {"patients.accessrecord", "axes", "sessions", "pghistory", "django_celery_beat"}
    counts = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        meta = model._meta
        wanted = meta.managed and not meta.proxy and not label.endswith("event")
        if wanted and not any(s in label for s in skip):
            counts[label] = model._default_manager.count()
    return counts


def _is_json_error(response: Any) -> bool:
    if not 400 <= response.status_code < 500:
        return False
    if not response.get("Content-Type", "").startswith("application/json"):
        return False
    body = json.loads(response.content)
    return isinstance(body, dict | list)


def _clients(world: World) -> list[Client]:
    """A clinician of clinic B, the administrator and patient B: between them every route."""
    return [
        client_for(world.clinician_b),
        client_for(world.admin),
        client_for(world.patient_b.user),
    ]


@pytest.fixture
def data(world: World) -> World:
    ResponseFactory.create(patient=world.patient_b)
    AiCourseFactory.create(patient=world.patient_b)
    return world


def test_the_walk_finds_the_api(db: None) -> None:
    names = {name for name, _ in _api_routes()}
    assert {"patient-list", "patient-detail", "assessment-list", "flag-claim"} <= names
    assert len(names) >= 25


def test_ids_in_paths_are_ascii_digits_only(data: World) -> None:
    before = _snapshot()
    failures = []
    for name, template in _api_routes():
        if "<" not in template and "(?P<" not in template:
            continue
        for value in PATH_IDS:
            path = _path(template, value)
            for client in _clients(data)[::2]:
                for method in ("get", "post"):
                    response = getattr(client, method)(path)
                    if not _is_json_error(response):
                        failures.append((name, method, path, response.status_code))
    assert failures == []
    assert _snapshot() == before


def test_query_strings_never_give_a_500(data: World) -> None:
    before = _snapshot()
    failures = []
    for name, template in _api_routes():
        path = _path(template, str(data.patient_b.pk))
        for param in QUERY_NAMES:
            for value in QUERY_VALUES:
                for client in _clients(data)[::2]:
                    response = client.get(path, {param: value})
                    if response.status_code >= 500 or (
                        response.status_code >= 400 and not _is_json_error(response)
                    ):
                        failures.append((name, param, value[:12], response.status_code))
    assert failures == []
    assert _snapshot() == before


def _deep(levels: int, kind: str) -> str:
    return (
        ("[" * levels + "]" * levels) if kind == "list" else ('{"a":' * levels + "1" + "}" * levels)
    )


WHOLE_BODIES = {
    "deep list": _deep(DEEP, "list"),
    "deep object": _deep(DEEP, "object"),
    "just over the depth": _deep(JSON_MAX_DEPTH + 1, "list"),
    "not json": "{'a': 1,",
    "a string": '"x"',
    "a number": "12",
    "a list": "[1, 2]",
    "null": "null",
    "nul byte": '{"a": "\\u0000"}',
    "lone surrogate": '{"a": "\\ud800"}',
    "huge": json.dumps({"a": "x" * 3_000_000}),
}


def _takes_post(name: str) -> bool:
    """Whether the route's view answers POST (a viewset action or an APIView method)."""
    match = next(p for _regex, p in _api_patterns() if p.name == name)
    actions = getattr(match.callback, "actions", None)
    if actions is not None:
        return "post" in actions
    view_class = getattr(match.callback, "view_class", None)
    return view_class is not None and hasattr(view_class, "post")


def _writes(data: World) -> Iterator[tuple[str, str]]:
    for name, template in _api_routes():
        if _takes_post(name):
            yield name, _path(template, str(data.patient_b.pk))


def test_hostile_bodies_are_refused_with_json(data: World) -> None:
    before = _snapshot()
    failures = []
    writes = list(_writes(data))
    assert len(writes) >= 10
    for name, path in writes:
        for label, body in WHOLE_BODIES.items():
            for client in _clients(data)[::2]:
                response = client.post(path, body, content_type="application/json")
                if not _is_json_error(response):
                    failures.append((name, label, response.status_code))
    assert failures == []
    assert _snapshot() == before


# A valid body per write route: each hostile field value is swapped into it, one at a time.
def _baselines(data: World) -> dict[str, dict[str, Any]]:
    patient = data.patient_b.pk
    from adherence.models import AiCourse

    course = AiCourse.objects.filter(patient=data.patient_b).first()
    return {
        "assessment-list": {
            "has_pain_today": True,
            "pain_locations": ["knees_left"],
            "worst_location": "knees_left",
            "worst_pain": 6,
            "least_pain": 2,
            "average_pain": 4,
            "pain_now": 3,
            "treatments": "",
            "interference": {"mood": 5, "sleep": 6},
        },
        "patient-telephone-assessment": {
            "has_pain_today": False,
            "worst_pain": 1,
            "least_pain": 0,
            "average_pain": 1,
            "pain_now": 0,
        },
        "check-in-list": {"patient": patient, "days_taken_last_7": 7},
        "intervention-list": {
            "patient": patient,
            "measure": "exercise",
            "category": "physical_therapy",
            "start_date": "2024-03-05",
            "note": "",
        },
        "ai-course-list": {
            "patient": patient,
            "drug": "anastrozole",
            "start_date": "2023-11-01",
            "planned_duration_years": 5,
        },
        "regimen-change-list": {
            "course": getattr(course, "pk", None),
            "kind": "dose_reduction",
            "date": "2024-04-01",
            "reason": "",
        },
        "treatment-event-list": {
            "patient": patient,
            "kind": "recurrence",
            "start_date": "2024-09-01",
        },
        "auth-token": {"username": "clin_b", "password": "wrong"},
        "fhir-questionnaire-response-import": {"resourceType": "QuestionnaireResponse"},
    }


def test_hostile_field_values_are_refused_with_json(data: World) -> None:
    routes = dict(_api_routes())
    baselines = _baselines(data)
    before = _snapshot()
    failures = []
    for name, body in baselines.items():
        path = _path(routes[name], str(data.patient_b.pk))
        for field in body:
            for value in FIELD_VALUES:
                for client in _clients(data)[::2]:
                    hostile = {**body, field: value}
                    response = client.post(path, hostile, content_type="application/json")
                    if response.status_code >= 500 or (
                        response.status_code >= 400 and not _is_json_error(response)
                    ):
                        failures.append((name, field, repr(value)[:20], response.status_code))
                    elif response.status_code < 400 and value in (HUGE, "\x00", 10**30):
                        failures.append((name, field, repr(value)[:20], 0))  # accepted
    assert failures == []
    assert _snapshot() == before


def test_api_errors_outside_drf_are_json_too(world: World) -> None:
    client = client_for(world.clinician_b)
    # no such route, a method the route lacks, a body over Django's limit
    missing = client.get("/api/v1/no-such-thing/")
    wrong_method = client.delete(reverse("api:patient-list"))
    too_big = client_for(world.patient_b.user).post(
        reverse("api:assessment-list"),
        json.dumps({"treatments": "x" * 3_000_000}),
        content_type="application/json",
    )
    assert (missing.status_code, wrong_method.status_code, too_big.status_code) == (404, 405, 413)
    for response in (missing, wrong_method, too_big):
        assert "detail" in response.json()


@pytest.mark.parametrize("value", ["²", "٣", "9" * 40])
def test_pages_refuse_ids_that_are_not_ascii_digits(world: World, value: str) -> None:
    client = client_for(world.nurse_b)
    for route in ("clinical:patients", "followup:queue"):
        assert client.get(reverse(route), {"clinic": value}).status_code == 400
    # and an id beyond a bigint in a page's path is no such page
    assert client.get(f"/patients/{'9' * 25}/").status_code == 404
