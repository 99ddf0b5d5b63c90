"""Who may see whom: patients only themselves, staff only their clinics, 404 otherwise.

The resolver walk makes the check structural: every route that takes an id must be listed in
OBJECT_ROUTES with the way to reach patient B's object, so a new route without access
coverage fails ``test_every_route_with_an_id_is_covered``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.conftest import World, client_for
from tests.factories import (
    AiCourseFactory,
    CheckInFactory,
    InterventionFactory,
    RegimenChangeFactory,
    TreatmentEventFactory,
)

# route name -> (kwargs reaching patient B's object, who legitimately owns/sees it)
OBJECT_ROUTES: dict[str, tuple[Callable[[World], dict[str, Any]], str]] = {
    "patients:detail": (lambda w: {"pk": w.patient_b.pk}, "nurse_b"),
    "api:patient-detail": (lambda w: {"pk": w.patient_b.pk}, "patient_b_user"),
    "adherence:therapy": (lambda w: {"pk": w.patient_b.pk}, "nurse_b"),
    "api:patient-survival": (lambda w: {"pk": w.patient_b.pk}, "nurse_b"),
    "api:ai-course-detail": (
        lambda w: {"pk": AiCourseFactory.create(patient=w.patient_b).pk},
        "nurse_b",
    ),
    "api:regimen-change-detail": (
        lambda w: {"pk": RegimenChangeFactory.create(course__patient=w.patient_b).pk},
        "nurse_b",
    ),
    "api:treatment-event-detail": (
        lambda w: {"pk": TreatmentEventFactory.create(patient=w.patient_b).pk},
        "nurse_b",
    ),
    "api:intervention-detail": (
        lambda w: {"pk": InterventionFactory.create(patient=w.patient_b).pk},
        "nurse_b",
    ),
    "api:check-in-detail": (
        lambda w: {"pk": CheckInFactory.create(patient=w.patient_b).pk},
        "patient_b_user",
    ),
}

# Django's admin has its own gate (is_staff + model permissions), tested below.
EXEMPT_NAMESPACES = ("admin:",)


def _routes(
    resolver: URLResolver, namespace: str = "", params: frozenset[str] = frozenset()
) -> Iterator[tuple[str, frozenset[str]]]:
    for entry in resolver.url_patterns:
        own = frozenset(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _routes(entry, inner, params | own)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", params | own


def routes_with_ids() -> set[str]:
    return {
        name
        for name, params in _routes(get_resolver())
        if params - {"format"} and not name.startswith(EXEMPT_NAMESPACES)
    }


def test_every_route_with_an_id_is_covered() -> None:
    # given every named route that takes a parameter
    routes = routes_with_ids()
    # then each one is checked below (a new route must be added to OBJECT_ROUTES)
    assert routes, "the resolver walk found no routes; it is broken"
    assert routes - OBJECT_ROUTES.keys() == set(), "routes without an access test"
    assert OBJECT_ROUTES.keys() - routes == set(), "OBJECT_ROUTES names a route that is gone"


def _user(world: World, who: str) -> Any:
    return world.patient_b.user if who == "patient_b_user" else getattr(world, who)


def _shows_patient_b(world: World, response: Any) -> bool:
    """Her name on a page or patient record; her id on an API record that belongs to her."""
    if world.patient_b.family_name in response.content.decode():
        return True
    if response.get("Content-Type", "").startswith("application/json"):
        return response.json().get("patient") == world.patient_b.pk
    return False


@pytest.mark.parametrize("route", sorted(OBJECT_ROUTES))
@pytest.mark.parametrize("intruder", ["patient_a_user", "nurse_a", "clinician_a", "researcher"])
def test_object_of_patient_b_is_404_for_anyone_outside_her_reach(
    world: World, route: str, intruder: str
) -> None:
    # given a URL for patient B's object
    kwargs, _owner = OBJECT_ROUTES[route]
    url = reverse(route, kwargs=kwargs(world))
    user = world.patient_a.user if intruder == "patient_a_user" else getattr(world, intruder)
    # when someone outside her reach asks for it
    response = client_for(user).get(url)
    # then it does not exist for them, and nothing of hers is in the answer
    assert response.status_code == 404
    assert world.patient_b.family_name not in response.content.decode()


@pytest.mark.parametrize("route", sorted(OBJECT_ROUTES))
def test_object_of_patient_b_is_served_to_those_in_her_reach(world: World, route: str) -> None:
    # given the same URLs, asked by the person who may see them and by an admin
    kwargs, owner = OBJECT_ROUTES[route]
    url = reverse(route, kwargs=kwargs(world))
    for user in (_user(world, owner), world.admin):
        # then they are served, so the 404s above are the access check and not a broken route
        response = client_for(user).get(url)
        assert response.status_code == 200, (user, response.status_code)
        assert _shows_patient_b(world, response)


@pytest.mark.parametrize("route", sorted(OBJECT_ROUTES))
def test_anonymous_users_are_sent_to_login_or_refused(world: World, route: str) -> None:
    kwargs, _owner = OBJECT_ROUTES[route]
    response = client_for(None).get(reverse(route, kwargs=kwargs(world)))
    assert response.status_code in (302, 401, 403)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("route", ["patients:staff_home", "patients:detail"])
def test_staff_pages_are_404_for_patients(world: World, route: str) -> None:
    kwargs = {"pk": world.patient_a.pk} if route == "patients:detail" else {}
    # even her own record through the staff page
    response = client_for(world.patient_a.user).get(reverse(route, kwargs=kwargs))
    assert response.status_code == 404


def test_patient_home_is_404_for_staff(world: World) -> None:
    response = client_for(world.nurse_a).get(reverse("patients:patient_home"))
    assert response.status_code == 404


def test_admin_site_refuses_everyone_but_admins(world: World) -> None:
    url = reverse("admin:patients_patient_change", args=[world.patient_b.pk])
    for user in (world.patient_a.user, world.nurse_b, world.clinician_b, world.researcher, None):
        response = client_for(user).get(url)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
    assert client_for(world.admin).get(url).status_code == 200


def test_staff_patient_list_shows_only_their_clinics(world: World) -> None:
    body = client_for(world.nurse_a).get(reverse("patients:staff_home")).content.decode()
    assert world.patient_a.family_name in body
    assert world.patient_b.family_name not in body


def test_api_list_is_scoped_to_the_caller(world: World) -> None:
    def names(user: Any) -> set[str]:
        payload = client_for(user).get(reverse("api:patient-list")).json()
        return {row["family_name"] for row in payload["results"]}

    assert names(world.patient_a.user) == {world.patient_a.family_name}
    assert names(world.nurse_a) == {world.patient_a.family_name}
    assert names(world.researcher) == set()
    assert names(world.admin) == {world.patient_a.family_name, world.patient_b.family_name}


def test_researchers_see_counts_but_no_identities(world: World) -> None:
    body = client_for(world.researcher).get(reverse("patients:staff_home")).content.decode()
    assert "Clinic A" in body
    assert "Clinic B" in body
    for patient in (world.patient_a, world.patient_b):
        assert patient.family_name not in body
        assert patient.record_number not in body
