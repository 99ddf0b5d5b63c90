"""Who may see whom: patients only themselves, staff only their clinics, 404 otherwise.

The resolver walk makes the check structural: every route that takes an id must be listed in
OBJECT_ROUTES with the way to reach patient B's object, so a new route without access
coverage fails ``test_every_route_with_an_id_is_covered``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from assessments.models import Response
from tests.conftest import World, client_for
from tests.factories import (
    AiCourseFactory,
    CheckInFactory,
    InterventionFactory,
    RegimenChangeFactory,
    ResponseFactory,
    TreatmentEventFactory,
)

# What identifies patient B's BPI-SF response in an answer (pages show her name; the API
# answer carries the free text instead).
RESPONSE_B_MARKER = "response-of-patient-b"


def response_of_b(world: World) -> Response:
    """Patient B's BPI-SF response (created on first use)."""
    found = Response.objects.filter(patient=world.patient_b).first()
    return found or ResponseFactory.create(patient=world.patient_b, treatments=RESPONSE_B_MARKER)


def _flag_b(world: World) -> Any:
    from followup.services import flag_raise

    return flag_raise(
        patient_id=world.patient_b.pk, kind="worsening", source="response", source_id=1
    ).flag


@dataclass(frozen=True)
class Route:
    """How to reach patient B's object through a route, and who legitimately may."""

    kwargs: Callable[[World], dict[str, Any]]
    owner: str  # "nurse_b", "patient_b_user" or "admin"
    method: str = "get"
    # What in the answer shows it is hers: her family name unless this says otherwise.
    marker: Callable[[World], str] = lambda w: w.patient_b.family_name
    # False for de-identified aggregates, which are no view of one patient's data.
    identified: bool = True


def _her_api_record(world: World) -> str:
    """An API record carries her id rather than her name."""
    return f'"patient":{world.patient_b.pk}'


def _report_job_of_clinician_b(world: World) -> Any:
    """A cohort report job belongs to the user who asked for it: here clinician B."""
    from analytics.cohort import CohortFilter
    from analytics.models import ReportJob

    return ReportJob.objects.create(
        created_by=world.clinician_b,
        filter=CohortFilter(clinic_ids=(world.clinic_b.pk,)).as_json(),
        cache_key="job-of-clinician-b",
        status="done",
        progress=100,
        result={"n_patients": 0, "n_events": 0, "excluded": {}},
    )


OBJECT_ROUTES: dict[str, Route] = {
    "clinical:patient": Route(lambda w: {"pk": w.patient_b.pk}, "nurse_b"),
    "clinical:invitation_resend": Route(lambda w: {"pk": w.patient_b.pk}, "nurse_b", "post"),
    "clinical:patient_summary": Route(lambda w: {"pk": w.patient_b.pk}, "nurse_b"),
    # A record form of her trajectory page carries no name: it posts to her page.
    "clinical:record_form": Route(
        lambda w: {"pk": w.patient_b.pk, "name": "intervention"},
        "nurse_b",
        marker=lambda w: f'action="/patients/{w.patient_b.pk}/"',
    ),
    "api:patient-trajectory": Route(
        lambda w: {"pk": w.patient_b.pk}, "nurse_b", marker=_her_api_record
    ),
    "analytics:job": Route(
        lambda w: {"pk": _report_job_of_clinician_b(w).pk},
        "clinician_b",
        marker=lambda w: w.clinic_b.name,
        identified=False,
    ),
    "api:analytics-report": Route(
        lambda w: {"pk": _report_job_of_clinician_b(w).pk},
        "clinician_b",
        marker=lambda w: f'"clinic_ids":[{w.clinic_b.pk}]',
        identified=False,
    ),
    "analytics:table": Route(
        lambda w: {"pk": _report_job_of_clinician_b(w).pk, "name": "flow"},
        "clinician_b",
        marker=lambda w: "step,label,removed,remaining",
        identified=False,
    ),
    "analytics:figure": Route(
        lambda w: {"pk": _report_job_of_clinician_b(w).pk, "name": "km_overall", "fmt": "svg"},
        "clinician_b",
        marker=lambda w: "<svg",
        identified=False,
    ),
    "analytics:dataset": Route(
        lambda w: {"pk": _report_job_of_clinician_b(w).pk, "fmt": "csv"},
        "clinician_b",
        marker=lambda w: "patient,clinic,age,bmi",
        identified=False,
    ),
    "api:analytics-report-table": Route(
        lambda w: {"pk": _report_job_of_clinician_b(w).pk, "name": "flow"},
        "clinician_b",
        marker=lambda w: "step,label,removed,remaining",
        identified=False,
    ),
    "api:analytics-report-figure": Route(
        lambda w: {"pk": _report_job_of_clinician_b(w).pk, "name": "km_overall", "fmt": "svg"},
        "clinician_b",
        marker=lambda w: "<svg",
        identified=False,
    ),
    "api:analytics-report-dataset": Route(
        lambda w: {"pk": _report_job_of_clinician_b(w).pk, "fmt": "csv"},
        "clinician_b",
        marker=lambda w: "patient,clinic,age,bmi",
        identified=False,
    ),
    "api:patient-detail": Route(lambda w: {"pk": w.patient_b.pk}, "patient_b_user"),
    "api:assessment-detail": Route(
        lambda w: {"pk": response_of_b(w).pk}, "patient_b_user", marker=lambda w: RESPONSE_B_MARKER
    ),
    "assessments:detail": Route(lambda w: {"pk": response_of_b(w).pk}, "patient_b_user"),
    "assessments:correct": Route(lambda w: {"pk": response_of_b(w).pk}, "nurse_b"),
    "assessments:patient_responses": Route(lambda w: {"pk": w.patient_b.pk}, "nurse_b"),
    "assessments:staff_new": Route(lambda w: {"pk": w.patient_b.pk}, "nurse_b"),
    "followup:flag": Route(lambda w: {"pk": _flag_b(w).pk}, "nurse_b"),
    "api:flag-detail": Route(lambda w: {"pk": _flag_b(w).pk}, "nurse_b", marker=lambda w: "kind"),
    "api:flag-claim": Route(lambda w: {"pk": _flag_b(w).pk}, "nurse_b", "post"),
    "api:flag-record-action": Route(lambda w: {"pk": _flag_b(w).pk}, "nurse_b", "post"),
    "api:flag-resolve": Route(lambda w: {"pk": _flag_b(w).pk}, "nurse_b", "post"),
    "api:flag-reopen": Route(lambda w: {"pk": _flag_b(w).pk}, "nurse_b", "post"),
    "api:flag-snooze": Route(lambda w: {"pk": _flag_b(w).pk}, "nurse_b", "post"),
    "api:flag-reassign": Route(lambda w: {"pk": _flag_b(w).pk}, "nurse_b", "post"),
    "followup:queue_flag": Route(lambda w: {"pk": _flag_b(w).pk}, "nurse_b", "post"),
    "followup:flag_actions": Route(
        lambda w: {"pk": _flag_b(w).pk}, "nurse_b", marker=lambda w: 'value="snooze"'
    ),
    "followup:queue_patient": Route(lambda w: {"pk": w.patient_b.pk}, "nurse_b", "post"),
    "adherence:therapy": Route(lambda w: {"pk": w.patient_b.pk}, "nurse_b"),
    "api:patient-survival": Route(
        lambda w: {"pk": w.patient_b.pk}, "nurse_b", marker=_her_api_record
    ),
    "api:ai-course-detail": Route(
        lambda w: {"pk": AiCourseFactory.create(patient=w.patient_b).pk},
        "nurse_b",
        marker=_her_api_record,
    ),
    "api:regimen-change-detail": Route(
        lambda w: {"pk": RegimenChangeFactory.create(course__patient=w.patient_b).pk},
        "nurse_b",
        marker=_her_api_record,
    ),
    "api:treatment-event-detail": Route(
        lambda w: {"pk": TreatmentEventFactory.create(patient=w.patient_b).pk},
        "nurse_b",
        marker=_her_api_record,
    ),
    "api:intervention-detail": Route(
        lambda w: {"pk": InterventionFactory.create(patient=w.patient_b).pk},
        "nurse_b",
        marker=_her_api_record,
    ),
    # The FHIR Bundle carries her Patient resource, with her name.
    "api:assessment-correct": Route(lambda w: {"pk": response_of_b(w).pk}, "nurse_b", "post"),
    "api:patient-telephone-assessment": Route(lambda w: {"pk": w.patient_b.pk}, "nurse_b", "post"),
    "api:treatment-event-end": Route(
        lambda w: {"pk": TreatmentEventFactory.create(patient=w.patient_b).pk}, "nurse_b", "post"
    ),
    "api:patient-fhir": Route(lambda w: {"pk": w.patient_b.pk}, "patient_b_user"),
    # A clinic's rules: administrators only (no patient's data, so no access record).
    "patients:clinic_settings": Route(
        lambda w: {"clinic_id": w.clinic_b.pk},
        "admin",
        marker=lambda w: w.clinic_b.name,
        identified=False,
    ),
    "api:check-in-detail": Route(
        lambda w: {"pk": CheckInFactory.create(patient=w.patient_b).pk},
        "patient_b_user",
        marker=_her_api_record,
    ),
}


# Django's admin has its own gate (is_staff + model permissions), tested below.
EXEMPT_NAMESPACES = ("admin:",)
# Routes whose parameter is a secret, not an object id, each with the test that covers it.
TOKEN_ROUTES = {
    "followup:questionnaire_link": "tests/followup/test_schedules.py (forged, expired, used)",
    "followup:sms_stop": "tests/followup/test_notify.py (signed; forged is a 404)",
    "invitation_confirm": "tests/patients/test_accounts.py (works once, expires, not a reset)",
    "password_reset_confirm": "tests/patients/test_accounts.py (Django's reset tokens)",
}


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
        if params - {"format"}
        and not name.startswith(EXEMPT_NAMESPACES)
        and name not in TOKEN_ROUTES
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


def _ask(user: Any, route: Route, url: str) -> Any:
    client = client_for(user)
    return client.post(url, {}) if route.method == "post" else client.get(url)


@pytest.mark.parametrize("route", sorted(OBJECT_ROUTES))
@pytest.mark.parametrize("intruder", ["patient_a_user", "nurse_a", "clinician_a", "researcher"])
def test_object_of_patient_b_is_404_for_anyone_outside_her_reach(
    world: World, route: str, intruder: str
) -> None:
    # given a URL for patient B's object
    spec = OBJECT_ROUTES[route]
    url = reverse(route, kwargs=spec.kwargs(world))
    user = world.patient_a.user if intruder == "patient_a_user" else getattr(world, intruder)
    # when someone outside her reach asks for it (or tries to act on it)
    response = _ask(user, spec, url)
    # then it does not exist for them, and nothing of hers is in the answer
    assert response.status_code == 404
    assert world.patient_b.family_name not in response.content.decode()
    assert spec.marker(world) not in response.content.decode()


@pytest.mark.parametrize("route", sorted(OBJECT_ROUTES))
def test_object_of_patient_b_is_served_to_those_in_her_reach(world: World, route: str) -> None:
    # given the same URLs, asked by the person who may see them and by an admin
    spec = OBJECT_ROUTES[route]
    url = reverse(route, kwargs=spec.kwargs(world))
    for user in (_user(world, spec.owner), world.admin):
        # then they are served, so the 404s above are the access check and not a broken route
        response = _ask(user, spec, url)
        if spec.method == "get":
            assert response.status_code == 200, (user, response.status_code)
            assert spec.marker(world) in response.content.decode()
        else:  # an action: it may be refused for its state or data, but the object is found
            assert response.status_code in (200, 201, 302, 400, 409), (user, response.status_code)


@pytest.mark.parametrize("route", sorted(OBJECT_ROUTES))
def test_anonymous_users_are_sent_to_login_or_refused(world: World, route: str) -> None:
    spec = OBJECT_ROUTES[route]
    response = _ask(None, spec, reverse(route, kwargs=spec.kwargs(world)))
    assert response.status_code in (302, 401, 403)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("route", ["patients:staff_home", "clinical:patients", "clinical:patient"])
def test_staff_pages_are_404_for_patients(world: World, route: str) -> None:
    kwargs = {"pk": world.patient_a.pk} if route == "clinical:patient" else {}
    # even her own record through the staff page
    response = client_for(world.patient_a.user).get(reverse(route, kwargs=kwargs))
    assert response.status_code == 404


def test_patient_home_is_404_for_staff(world: World) -> None:
    response = client_for(world.nurse_a).get(reverse("clinical:patient_home"))
    assert response.status_code == 404


def test_admin_site_refuses_everyone_but_admins(world: World) -> None:
    url = reverse("admin:patients_patient_change", args=[world.patient_b.pk])
    for user in (world.patient_a.user, world.nurse_b, world.clinician_b, world.researcher, None):
        response = client_for(user).get(url)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
    assert client_for(world.admin).get(url).status_code == 200


def test_staff_patient_list_shows_only_their_clinics(world: World) -> None:
    body = client_for(world.nurse_a).get(reverse("clinical:patients")).content.decode()
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


@pytest.mark.parametrize(
    "route",
    sorted(n for n, spec in OBJECT_ROUTES.items() if spec.method == "get" and spec.identified),
)
def test_every_staff_view_of_her_data_is_recorded(world: World, route: str) -> None:
    from patients.models import AccessRecord

    # given a staff member of her clinic opening a route that shows patient B's data
    spec = OBJECT_ROUTES[route]
    url = reverse(route, kwargs=spec.kwargs(world))
    before = AccessRecord.objects.filter(user=world.clinician_b, patient=world.patient_b).count()
    response = client_for(world.clinician_b).get(url)
    # then the view is recorded against her
    assert response.status_code == 200
    after = AccessRecord.objects.filter(user=world.clinician_b, patient=world.patient_b).count()
    assert after == before + 1
