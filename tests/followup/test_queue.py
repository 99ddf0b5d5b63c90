"""The nurse queue page and the flags API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from followup.models import Flag, FlagStatus
from followup.services import flag_claim, flag_raise, flag_record_action, flag_reopen, flag_resolve
from tests.conftest import World, client_for
from tests.factories import PatientFactory


def _flag(patient_id: int, kind: str, source_id: int, at: dt.datetime | None = None) -> Flag:
    return flag_raise(
        patient_id=patient_id, kind=kind, source="response", source_id=source_id, at=at
    ).flag


def test_queue_shows_her_clinics_flags_by_priority_then_age(world: World) -> None:
    now = timezone.now()
    old_normal = _flag(world.patient_a.pk, "worsening", 1, now - dt.timedelta(days=3))
    new_high = _flag(world.patient_a.pk, "high_interference", 2, now - dt.timedelta(hours=1))
    _flag(world.patient_b.pk, "high_interference", 3)
    body = client_for(world.nurse_a).get(reverse("followup:queue")).content.decode()
    assert body.index(f'id="flag-{new_high.pk}"') < body.index(f'id="flag-{old_normal.pk}"')
    assert world.patient_b.family_name not in body
    assert "High pain interference" in body
    assert "Worsening" in body


def test_queue_filters_and_counts(world: World) -> None:
    high = _flag(world.patient_a.pk, "high_interference", 1)
    _flag(world.patient_a.pk, "overdue", 2)
    flag_claim(flag_id=high.pk, user=world.nurse_a)
    client = client_for(world.nurse_a)
    by_kind = client.get(reverse("followup:queue"), {"kind": "overdue"}).content.decode()
    assert f'id="flag-{high.pk}"' not in by_kind
    mine = client.get(reverse("followup:queue"), {"mine": "1"}).content.decode()
    assert f'id="flag-{high.pk}"' in mine
    assert "flag-" in mine
    assert mine.count('id="flag-') == 1
    response = client.get(reverse("followup:queue"))
    counts = {code: n for code, _label, n in response.context["counts"]}
    assert counts == {
        "high_interference": 1,
        "worsening": 0,
        "adherence_lapse": 0,
        "overdue": 1,
        "review_management": 0,
    }


def _queue_queries(world: World, n: int, offset: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(n):
        patient = PatientFactory.create(clinic=world.clinic_a)
        _flag(patient.pk, "high_interference", offset + i)
        _flag(patient.pk, "overdue", offset + i)
        flag_record_action(
            flag_id=Flag.objects.filter(patient=patient).first().pk,  # type: ignore[union-attr]
            user=world.nurse_a,
            action="called_patient",
        )
    client = client_for(world.nurse_a)
    client.get(reverse("followup:queue"))  # warm the session
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("followup:queue")).status_code == 200
    return len(captured)


def test_the_queue_page_costs_the_same_queries_for_3_or_30_patients(world: World) -> None:
    few = _queue_queries(world, 3, offset=1000)
    many = _queue_queries(world, 27, offset=2000)
    assert few == many, (few, many)
    assert few > 5  # the queries were seen


def test_claim_in_place_with_htmx_and_without_it(world: World) -> None:
    flag = _flag(world.patient_a.pk, "high_interference", 1)
    client = client_for(world.nurse_a)
    url = reverse("followup:queue_flag", args=[flag.pk])
    # with htmx her card comes back in place, with the confirmation
    card = client.post(
        url, {"op": "claim", "qs": "kind=high_interference"}, headers={"HX-Request": "true"}
    )
    assert card.status_code == 200
    html = card.content.decode()
    assert html.lstrip().startswith(
        f'<li class="card patient-card" id="patient-{world.patient_a.pk}"'
    )
    assert "You claimed the flag." in html
    # without it, the form posts and goes back to the queue as it was (filters kept)
    other = _flag(world.patient_a.pk, "overdue", 2)
    back = client.post(
        reverse("followup:queue_flag", args=[other.pk]),
        {"op": "claim", "qs": "kind=overdue&page=2&evil=1"},
    )
    assert back.status_code == 302
    assert back["Location"] == reverse("followup:queue") + "?kind=overdue&page=2"
    assert Flag.objects.filter(status=FlagStatus.CLAIMED).count() == 2


def test_a_second_nurse_sees_who_has_the_flag(world: World) -> None:
    from patients.models import Role
    from tests.factories import UserFactory

    colleague = UserFactory.create(
        first_name="Nora", last_name="Second", role=Role.NURSE, clinics=[world.clinic_a]
    )
    world.nurse_a.first_name, world.nurse_a.last_name = "Ada", "First"
    world.nurse_a.save()
    flag = _flag(world.patient_a.pk, "high_interference", 1)
    flag_claim(flag_id=flag.pk, user=world.nurse_a)
    response = client_for(colleague).post(
        reverse("followup:queue_flag", args=[flag.pk]),
        {"op": "claim"},
        headers={"HX-Request": "true"},
    )
    assert "Ada First is already working on this flag." in response.content.decode()


def test_recording_an_action_and_resolving_from_the_flag_page(world: World) -> None:
    flag = _flag(world.patient_a.pk, "high_interference", 1)
    client = client_for(world.nurse_a)
    url = reverse("followup:flag", args=[flag.pk])
    page = client.get(url).content.decode()
    assert "multimodal" in page  # the study's suggestion on a high-interference flag
    client.post(url, {"op": "act", "action": "called_patient", "note": "rang her"})
    client.post(url, {"op": "resolve", "note": "settled"})
    flag.refresh_from_db()
    assert flag.status == FlagStatus.RESOLVED
    history = client.get(url).content.decode()
    assert "rang her" in history
    assert "settled" in history
    rt = client.get(reverse("followup:queue")).context["response_times"]
    assert [r.label for r in rt["clinics"]] == ["Clinic A"]
    assert [r.label for r in rt["nurses"]] == [world.nurse_a.username]


def test_the_medians_are_kept_until_a_flag_is_first_acted_on(
    world: World, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # given a flag acted on, whose median the queue has shown (and so cached)
    first = _flag(world.patient_a.pk, "high_interference", 1)
    with django_capture_on_commit_callbacks(execute=True):
        flag_record_action(flag_id=first.pk, user=world.nurse_a, action="called_patient")
    client = client_for(world.nurse_a)

    def acted() -> int:
        return client.get(reverse("followup:queue")).context["response_times"]["clinics"][0].flags

    assert acted() == 1
    # when a second action on the same flag changes no median, and a second flag is resolved
    with django_capture_on_commit_callbacks(execute=True) as again:
        flag_record_action(flag_id=first.pk, user=world.nurse_a, action="advice_given")
    assert again == []
    second = _flag(world.patient_a.pk, "overdue", 2)
    with django_capture_on_commit_callbacks(execute=True):
        flag_resolve(flag_id=second.pk, user=world.nurse_a)
    # then the next queue view counts both
    assert acted() == 2


def test_the_counts_are_kept_until_a_flag_opens_resolves_or_reopens(
    world: World, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    client = client_for(world.nurse_a)

    def high() -> int:
        counts = client.get(reverse("followup:queue")).context["counts"]
        return {code: n for code, _label, n in counts}["high_interference"]

    # given the counts shown (and cached) with no flag
    assert high() == 0
    # when a flag opens, is resolved, then reopened, then the counts follow at once
    with django_capture_on_commit_callbacks(execute=True):
        flag = _flag(world.patient_a.pk, "high_interference", 1)
    assert high() == 1
    with django_capture_on_commit_callbacks(execute=True):
        flag_resolve(flag_id=flag.pk, user=world.nurse_a)
    assert high() == 0
    with django_capture_on_commit_callbacks(execute=True):
        flag_reopen(flag_id=flag.pk, user=world.nurse_a)
    assert high() == 1


def test_cached_counts_and_medians_are_kept_per_clinics_of_the_viewer(world: World) -> None:
    # given a flag acted on in clinic A only
    flag = _flag(world.patient_a.pk, "high_interference", 1)
    flag_record_action(flag_id=flag.pk, user=world.nurse_a, action="called_patient")
    # when the nurses of both clinics open the queue, A's first
    seen_by_a = client_for(world.nurse_a).get(reverse("followup:queue")).context
    seen_by_b = client_for(world.nurse_b).get(reverse("followup:queue")).context
    # then B sees nothing of A's clinic
    assert {code: n for code, _label, n in seen_by_a["counts"]}["high_interference"] == 1
    assert {code: n for code, _label, n in seen_by_b["counts"]}["high_interference"] == 0
    assert [r.label for r in seen_by_a["response_times"]["clinics"]] == ["Clinic A"]
    assert seen_by_b["response_times"]["clinics"] == []


def test_an_invalid_action_is_refused_with_a_message(world: World) -> None:
    flag = _flag(world.patient_a.pk, "high_interference", 1)
    response = client_for(world.nurse_a).post(
        reverse("followup:flag", args=[flag.pk]), {"op": "act", "action": "teleport"}, follow=True
    )
    assert "Choose one of the listed actions." in response.content.decode()
    assert not flag.actions.exists()


# --- API -------------------------------------------------------------------------------------


def test_api_lists_flags_with_the_pinned_fields_and_filters(world: World) -> None:
    high = _flag(world.patient_a.pk, "high_interference", 1)
    _flag(world.patient_a.pk, "overdue", 2)
    _flag(world.patient_b.pk, "overdue", 3)
    client = client_for(world.nurse_a)
    rows = client.get(reverse("api:flag-list")).json()["results"]
    assert {r["kind"] for r in rows} == {"high_interference", "overdue"}
    assert {"id", "patient", "kind", "status", "opened_at"} <= rows[0].keys()
    assert rows[0]["id"] == high.pk  # priority first
    only = client.get(reverse("api:flag-list"), {"kind": "overdue", "status": "open"}).json()
    assert [r["kind"] for r in only["results"]] == ["overdue"]
    by_patient = client.get(reverse("api:flag-list"), {"patient": world.patient_b.pk}).json()
    assert by_patient["results"] == []


@pytest.mark.parametrize("op", ["claim", "resolve"])
def test_api_claim_and_resolve(world: World, op: str) -> None:
    flag = _flag(world.patient_a.pk, "high_interference", 1)
    response = client_for(world.nurse_a).post(
        reverse(f"api:flag-{op}", args=[flag.pk]), {}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == {"claim": "claimed", "resolve": "resolved"}[op]


def test_api_claim_conflict_is_409_with_who(world: World) -> None:
    flag = _flag(world.patient_a.pk, "high_interference", 1)
    flag_claim(flag_id=flag.pk, user=world.clinician_a)
    response = client_for(world.nurse_a).post(reverse("api:flag-claim", args=[flag.pk]))
    assert response.status_code == 409
    assert world.clinician_a.username in response.json()["detail"]


def test_api_records_actions_and_validates_them(world: World) -> None:
    flag = _flag(world.patient_a.pk, "high_interference", 1)
    client = client_for(world.nurse_a)
    url = reverse("api:flag-record-action", args=[flag.pk])
    bad = client.post(url, {"action": "teleport"}, content_type="application/json")
    assert bad.status_code == 400
    assert "action" in bad.json()
    good = client.post(
        url, {"action": "advice_given", "note": "ice"}, content_type="application/json"
    )
    assert good.status_code == 200
    assert good.json()["first_action_at"] is not None


def test_api_writes_ignore_fields_the_user_may_not_set(world: World) -> None:
    flag = _flag(world.patient_a.pk, "high_interference", 1)
    client_for(world.nurse_a).post(
        reverse("api:flag-resolve", args=[flag.pk]),
        {"note": "done", "status": "open", "patient": world.patient_b.pk, "resolved_by": 1},
        content_type="application/json",
    )
    flag.refresh_from_db()
    assert flag.status == FlagStatus.RESOLVED
    assert flag.patient_id == world.patient_a.pk
    assert flag.resolved_by == world.nurse_a


def test_the_flag_page_shows_the_patient_quick_view(world: World) -> None:
    from adherence.services import check_in_submit
    from tests.factories import InterventionFactory, ResponseFactory

    ResponseFactory.create(patient=world.patient_a, average_pain=6, worst_pain=9)
    InterventionFactory.create(
        patient=world.patient_a,
        category="physical_therapy",
        measure="physiotherapy",
        start_date=world.patient_a.aimss_diagnosis_date,
    )
    check_in_submit(
        patient=world.patient_a,
        days_taken_last_7=3,
        stopped=False,
        wants_to_stop=True,
        missed_reason="ran_out",
    )
    flag = _flag(world.patient_a.pk, "adherence_lapse", 1)
    body = client_for(world.nurse_a).get(reverse("followup:flag", args=[flag.pk])).content.decode()
    assert "AI taken 3 of 7 days" in body
    assert "wants to stop" in body
    assert "Monotherapy" in body
    assert "<td>6</td><td>9</td>" in body
