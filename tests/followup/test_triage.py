"""The queue a nurse can clear between calls: one card per patient, ordered by clinical
urgency, with the values that raised each flag; snooze, reassign, resolve her overdue flags;
filters that survive paging; the badge; the same through the API."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from followup.models import ActionKind, Flag, FlagAction, FlagStatus, SystemReason
from followup.selectors import flag_badge_count
from followup.services import flag_claim, flag_raise, flag_snooze
from followup.views import PATIENTS_PER_PAGE
from patients.models import Clinic, Patient, Role
from tests.conftest import World, client_for
from tests.factories import PatientFactory, UserFactory


def _flag(
    patient: Patient,
    kind: str,
    source_id: int,
    *,
    hours_ago: float = 0,
    value: float | Decimal | None = None,
    source: str = "response",
) -> Flag:
    at = timezone.now() - dt.timedelta(hours=hours_ago)
    return flag_raise(
        patient_id=patient.pk, kind=kind, source=source, source_id=source_id, value=value, at=at
    ).flag


def _cards(html: str) -> list[int]:
    """The patients' ids of the queue's cards, in order."""
    return [int(pk) for pk in re.findall(r'class="card patient-card" id="patient-(\d+)"', html)]


def _queue(client: Any, **params: str) -> str:
    return client.get(reverse("followup:queue"), params).content.decode()


def _tomorrow() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=1)


# --- ordering and rows -------------------------------------------------------------------------


def test_patients_are_ordered_by_clinical_urgency_then_newest_trigger(world: World) -> None:
    # given four patients: an old high interference, a newer worsening, a lapse, and an
    # overdue reassessment raised just now
    overdue = PatientFactory.create(clinic=world.clinic_a)
    lapse = PatientFactory.create(clinic=world.clinic_a)
    old_high = PatientFactory.create(clinic=world.clinic_a)
    new_worse = PatientFactory.create(clinic=world.clinic_a)
    _flag(overdue, "overdue", 1, hours_ago=0)
    _flag(lapse, "adherence_lapse", 2, hours_ago=1, value=3, source="check_in")
    _flag(old_high, "high_interference", 3, hours_ago=72, value=8)
    _flag(new_worse, "worsening", 4, hours_ago=2, value=2.4)
    # and one with a brand-new overdue flag and a day-old worsening: her worsening places her
    mixed = PatientFactory.create(clinic=world.clinic_a)
    _flag(mixed, "overdue", 5, hours_ago=0)
    _flag(mixed, "worsening", 6, hours_ago=24, value=3)
    # when the nurse opens the queue
    order = _cards(_queue(client_for(world.nurse_a)))
    # then interference and worsening come first (newest trigger first), then the lapse,
    # then the overdue reassessment, however new
    assert order == [new_worse.pk, mixed.pk, old_high.pk, lapse.pk, overdue.pk]


def test_waiting_longest_first_is_a_sort_the_nurse_can_choose(world: World) -> None:
    recent_high = PatientFactory.create(clinic=world.clinic_a)
    old_overdue = PatientFactory.create(clinic=world.clinic_a)
    _flag(recent_high, "high_interference", 1, hours_ago=1, value=8)
    _flag(old_overdue, "overdue", 2, hours_ago=50)
    html = _queue(client_for(world.nurse_a), sort="waiting")
    assert _cards(html) == [old_overdue.pk, recent_high.pk]


def test_one_card_per_patient_holds_all_her_open_flags(world: World) -> None:
    patient = world.patient_a
    flags = [
        _flag(patient, "high_interference", 1, value=8),
        _flag(patient, "worsening", 1, value=2),
        _flag(patient, "overdue", 2, hours_ago=30),
    ]
    html = _queue(client_for(world.nurse_a))
    assert _cards(html) == [patient.pk]
    for flag in flags:
        assert html.count(f'id="flag-{flag.pk}"') == 1
    # the most urgent flag comes first on her card
    assert html.index(f'id="flag-{flags[0].pk}"') < html.index(f'id="flag-{flags[2].pk}"')
    assert "1 patient" in html
    assert "3 flags to work" in html


def test_each_flag_shows_the_values_that_raised_it_and_its_wait_against_the_target(
    world: World,
) -> None:
    Clinic.objects.filter(pk=world.clinic_a.pk).update(target_hours=4)
    a, b = world.patient_a, PatientFactory.create(clinic=world.clinic_a)
    _flag(a, "high_interference", 1, value=8.14, hours_ago=1)
    _flag(a, "worsening", 1, value=2.43, hours_ago=1)
    _flag(b, "adherence_lapse", 7, value=3, source="check_in", hours_ago=6)
    html = _queue(client_for(world.nurse_a))
    assert "Interference 8.1" in html
    assert "+2.4 since last" in html
    assert "AI taken 3/7 days" in html
    assert "target 4 h" in html
    # the lapse has waited six hours against a four-hour target; the others one hour
    assert html.count("Over target") == 1


def test_claimed_by_me_and_escalated_are_visible(world: World) -> None:
    flag = _flag(world.patient_a, "high_interference", 1, value=8)
    Flag.objects.filter(pk=flag.pk).update(escalated_at=timezone.now())
    flag_claim(flag_id=flag.pk, user=world.nurse_a)
    html = _queue(client_for(world.nurse_a))
    card = html[html.index(f'id="flag-{flag.pk}"') :]
    assert "Escalated" in card
    assert "Yours" in card
    assert "Record action" in card


# --- snooze ----------------------------------------------------------------------------------


def test_a_snoozed_flag_leaves_the_queue_and_comes_back_on_its_date(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    flag = _flag(world.patient_a, "high_interference", 1, value=8)
    client = client_for(world.nurse_a)
    # when she snoozes it until tomorrow, as a plain form (no JavaScript)
    until = _tomorrow()
    back = client.post(
        reverse("followup:queue_flag", args=[flag.pk]),
        {"op": "snooze", "until": until.isoformat(), "reason": "Seen in clinic on Friday"},
        follow=True,
    )
    # then she is told, and the flag has left the queue and the open flags of the API
    assert f"Snoozed until {until.isoformat()}." in back.content.decode()
    assert _cards(_queue(client)) == []
    api = client.get("/api/v1/flags/", {"status": "open"}).json()
    assert [f["id"] for f in api["results"]] == []
    # but the "snoozed" filter lists it, with its reason
    snoozed = _queue(client, snoozed="1")
    assert _cards(snoozed) == [world.patient_a.pk]
    assert "Seen in clinic on Friday" in snoozed
    assert FlagAction.objects.filter(flag=flag, action=ActionKind.SNOOZED, actor=world.nurse_a)
    # and on the date it is back by itself (no task ran)
    # (the date moves on; the clock of her session does not, or its idle timeout would end it)
    real_localdate = timezone.localdate
    monkeypatch.setattr(
        timezone, "localdate", lambda *a, **k: real_localdate(*a, **k) + dt.timedelta(days=1)
    )
    assert _cards(_queue(client)) == [world.patient_a.pk]
    api = client.get("/api/v1/flags/", {"status": "open"}).json()
    assert [f["id"] for f in api["results"]] == [flag.pk]


def test_a_new_trigger_of_the_same_kind_wakes_a_snoozed_flag(world: World) -> None:
    flag = _flag(world.patient_a, "high_interference", 1, value=8)
    flag_snooze(flag_id=flag.pk, user=world.nurse_a, until=_tomorrow(), reason="waiting")
    # when she answers again with high interference
    _flag(world.patient_a, "high_interference", 2, value=9)
    # then the flag is back in the queue at once, and the wake is on its history
    flag.refresh_from_db()
    assert flag.snoozed_until is None
    assert _cards(_queue(client_for(world.nurse_a))) == [world.patient_a.pk]
    assert FlagAction.objects.filter(flag=flag, system_reason=SystemReason.WOKEN).count() == 1


def test_a_trigger_of_another_kind_leaves_the_snooze_alone(world: World) -> None:
    flag = _flag(world.patient_a, "overdue", 1)
    flag_snooze(flag_id=flag.pk, user=world.nurse_a, until=_tomorrow(), reason="on holiday")
    _flag(world.patient_a, "worsening", 2, value=2)
    flag.refresh_from_db()
    assert flag.snoozed_until == _tomorrow()


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"until": "2000-01-01", "reason": "x"}, "until", "Choose a date after today."),
        ({"until": "far", "reason": "x"}, "until", "Date has wrong format"),
        ({"until": None, "reason": "x"}, "until", "This field may not be null."),
        ({"reason": "x"}, "until", "This field is required."),
        ({"until": "TOMORROW", "reason": " "}, "reason", "This field may not be blank."),
        ({"until": "FAR", "reason": "x"}, "until", "at most 90 days"),
    ],
)
def test_snooze_refuses_bad_dates_and_missing_reasons_with_a_400(
    world: World, payload: dict[str, Any], field: str, message: str
) -> None:
    flag = _flag(world.patient_a, "high_interference", 1, value=8)
    dates = {"TOMORROW": _tomorrow(), "FAR": timezone.localdate() + dt.timedelta(days=91)}
    body = {k: dates[v].isoformat() if v in dates else v for k, v in payload.items()}
    response = client_for(world.nurse_a).post(
        f"/api/v1/flags/{flag.pk}/snooze/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    flag.refresh_from_db()
    assert flag.snoozed_until is None


def test_api_snooze_takes_the_flag_out_of_the_open_list(world: World) -> None:
    flag = _flag(world.patient_a, "high_interference", 1, value=8)
    client = client_for(world.nurse_a)
    response = client.post(
        f"/api/v1/flags/{flag.pk}/snooze/",
        {"until": _tomorrow().isoformat(), "reason": "call booked"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["snoozed_until"] == _tomorrow().isoformat()
    assert client.get("/api/v1/flags/", {"status": "open"}).json()["count"] == 0


# --- reassign, resolve her overdue flags --------------------------------------------------------


def test_reassign_hands_the_flag_to_a_colleague_of_the_clinic(world: World) -> None:
    colleague = UserFactory.create(
        first_name="Nora", last_name="Quinn", role=Role.NURSE, clinics=[world.clinic_a]
    )
    flag = _flag(world.patient_a, "high_interference", 1, value=8)
    flag_claim(flag_id=flag.pk, user=world.nurse_a)
    card = client_for(world.nurse_a).post(
        reverse("followup:queue_flag", args=[flag.pk]),
        {"op": "reassign", "to": str(colleague.pk)},
        headers={"HX-Request": "true"},
    )
    assert "Reassigned to Nora Quinn." in card.content.decode()
    flag.refresh_from_db()
    assert (flag.status, flag.claimed_by_id) == (FlagStatus.CLAIMED, colleague.pk)
    action = FlagAction.objects.get(flag=flag, action=ActionKind.REASSIGNED)
    assert action.actor == world.nurse_a
    # and she now finds it under "assigned to me"
    assert _cards(_queue(client_for(colleague), mine="1")) == [world.patient_a.pk]


@pytest.mark.parametrize("who", ["nurse_b", "researcher", "unknown"])
def test_api_reassign_refuses_anyone_outside_the_clinic_with_a_400(world: World, who: str) -> None:
    flag = _flag(world.patient_a, "high_interference", 1, value=8)
    to = 999_999 if who == "unknown" else getattr(world, who).pk
    response = client_for(world.nurse_a).post(
        f"/api/v1/flags/{flag.pk}/reassign/", {"to": to}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "Choose a nurse or clinician of this flag's clinic." in response.json()["to"]
    flag.refresh_from_db()
    assert flag.claimed_by_id is None


def test_api_reassign_to_a_clinician_of_the_clinic(world: World) -> None:
    flag = _flag(world.patient_a, "high_interference", 1, value=8)
    response = client_for(world.nurse_a).post(
        f"/api/v1/flags/{flag.pk}/reassign/",
        {"to": world.clinician_a.pk},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["claimed_by"] == world.clinician_a.username


@pytest.mark.parametrize("op", ["snooze", "reassign"])
def test_actions_on_a_flag_outside_her_clinics_are_404(world: World, op: str) -> None:
    flag = _flag(world.patient_b, "high_interference", 1, value=8)
    client = client_for(world.nurse_a)
    api = client.post(f"/api/v1/flags/{flag.pk}/{op}/", {}, content_type="application/json")
    web = client.post(reverse("followup:queue_flag", args=[flag.pk]), {"op": op})
    assert (api.status_code, web.status_code) == (404, 404)


def test_resolve_all_her_overdue_flags_at_once_leaves_the_others(world: World) -> None:
    overdue = _flag(world.patient_a, "overdue", 1, hours_ago=200)
    high = _flag(world.patient_a, "high_interference", 2, value=8)
    client = client_for(world.nurse_a)
    html = _queue(client)
    assert "Resolve all her overdue flags" in html
    back = client.post(
        reverse("followup:queue_patient", args=[world.patient_a.pk]), {"qs": "sort=waiting"}
    )
    assert back["Location"] == reverse("followup:queue") + "?sort=waiting"
    overdue.refresh_from_db()
    high.refresh_from_db()
    assert overdue.status == FlagStatus.RESOLVED
    assert high.status == FlagStatus.OPEN
    assert "1 overdue flag resolved." in client.get(back["Location"]).content.decode()


def test_an_action_she_may_not_take_is_told_in_her_card(world: World) -> None:
    colleague = UserFactory.create(role=Role.NURSE, clinics=[world.clinic_a], first_name="Kim")
    flag = _flag(world.patient_a, "high_interference", 1, value=8)
    flag_claim(flag_id=flag.pk, user=colleague)
    card = client_for(world.nurse_a).post(
        reverse("followup:queue_flag", args=[flag.pk]),
        {"op": "snooze", "until": _tomorrow().isoformat(), "reason": "x"},
        headers={"HX-Request": "true"},
    )
    assert "is already working on this flag" in card.content.decode()
    assert 'role="alert"' in card.content.decode()


# --- filters, paging, counts ------------------------------------------------------------------


def test_filters_survive_paging_and_counts_stay_exact(world: World) -> None:
    # given more overdue patients than a page holds, and one high-interference flag
    for i in range(PATIENTS_PER_PAGE + 3):
        _flag(PatientFactory.create(clinic=world.clinic_a), "overdue", 100 + i, hours_ago=i)
    _flag(world.patient_a, "high_interference", 1, value=8)
    client = client_for(world.nurse_a)
    # when she filters on overdue, sorted by waiting time
    first = client.get(reverse("followup:queue"), {"kind": "overdue", "sort": "waiting"})
    html = first.content.decode()
    # then the next page's link keeps the filter and the sort
    next_link = re.search(r'href="\?([^"]+)" rel="next"', html)
    assert next_link is not None
    params = dict(p.split("=") for p in next_link.group(1).replace("&amp;", "&").split("&"))
    assert params == {"kind": "overdue", "sort": "waiting", "page": "2"}
    second = _queue(client, **params)
    assert len(_cards(second)) == 3
    assert world.patient_a.pk not in _cards(html) + _cards(second)
    # and the counts per kind are exact, whatever the page
    counts = {code: n for code, _label, n in first.context["counts"]}
    assert counts["overdue"] == PATIENTS_PER_PAGE + 3
    assert counts["high_interference"] == 1


def test_waiting_longer_than_target_filter_uses_each_clinics_target(world: World) -> None:
    Clinic.objects.filter(pk=world.clinic_a.pk).update(target_hours=2)
    late = PatientFactory.create(clinic=world.clinic_a)
    _flag(late, "overdue", 1, hours_ago=3)
    _flag(world.patient_a, "overdue", 2, hours_ago=1)
    assert _cards(_queue(client_for(world.nurse_a), over="1")) == [late.pk]


def test_the_queue_answers_with_a_constant_number_of_queries(
    world: World, django_assert_max_num_queries: Any
) -> None:
    def patients(n: int) -> None:
        for _ in range(n):
            patient = PatientFactory.create(clinic=world.clinic_a)
            _flag(patient, "high_interference", patient.pk, value=Decimal("7.5"))
            flag = _flag(patient, "overdue", patient.pk)
            flag_claim(flag_id=flag.pk, user=world.nurse_a)

    client = client_for(world.nurse_a)
    patients(5)
    client.get(reverse("followup:queue"))  # warm the session and the cached summaries
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("followup:queue")).status_code == 200
    five = len(captured)  # now: the next request's start empties the log
    assert five > 5
    patients(45)
    client.get(reverse("followup:queue"))
    with django_assert_max_num_queries(five):
        response = client.get(reverse("followup:queue"))
    assert len(response.context["rows"]) == PATIENTS_PER_PAGE


# --- badge ------------------------------------------------------------------------------------


def test_the_badge_counts_her_clinics_unclaimed_high_flags_in_one_query(world: World) -> None:
    unclaimed = _flag(world.patient_a, "high_interference", 1, value=8)
    claimed = _flag(PatientFactory.create(clinic=world.clinic_a), "adherence_lapse", 2)
    flag_claim(flag_id=claimed.pk, user=world.nurse_a)
    _flag(PatientFactory.create(clinic=world.clinic_a), "overdue", 3)  # normal priority
    _flag(world.patient_b, "high_interference", 4, value=9)  # another clinic
    snoozed = _flag(PatientFactory.create(clinic=world.clinic_a), "high_interference", 5)
    flag_snooze(flag_id=snoozed.pk, user=world.nurse_a, until=_tomorrow(), reason="x")
    with CaptureQueriesContext(connection) as queries:
        assert flag_badge_count(world.nurse_a) == 1
    assert len(queries) <= 2  # her clinics (once per request) and the count
    page = client_for(world.nurse_a).get(reverse("clinical:patients")).content.decode()
    assert re.search(r'class="nav-badge">1<', page)
    assert unclaimed.pk


def test_no_badge_for_a_researcher(world: World) -> None:
    _flag(world.patient_a, "high_interference", 1, value=8)
    page = client_for(world.researcher).get(reverse("patients:staff_home")).content.decode()
    assert "nav-badge" not in page


# --- API grouped by patient --------------------------------------------------------------------


def test_api_groups_flags_by_patient_in_the_queues_order(world: World) -> None:
    lapse = PatientFactory.create(clinic=world.clinic_a)
    _flag(lapse, "adherence_lapse", 1, source="check_in", value=3)
    _flag(world.patient_a, "overdue", 2)
    high = _flag(world.patient_a, "high_interference", 3, value=8)
    _flag(world.patient_b, "high_interference", 4, value=8)  # another clinic
    body = client_for(world.nurse_a).get("/api/v1/flags/", {"group": "patient"}).json()
    assert [(r["patient"], r["urgency"]) for r in body["results"]] == [
        (world.patient_a.pk, 0),
        (lapse.pk, 2),  # an unintentional lapse (1 is an intentional one)
    ]
    assert [f["kind"] for f in body["results"][0]["flags"]] == ["high_interference", "overdue"]
    assert body["results"][0]["flags"][0]["id"] == high.pk
    assert body["count"] == 2


def test_api_refuses_an_unknown_grouping(world: World) -> None:
    response = client_for(world.nurse_a).get("/api/v1/flags/", {"group": "clinic"})
    assert response.status_code == 400


def test_a_snooze_without_javascript_explains_a_bad_date(world: World) -> None:
    flag = _flag(world.patient_a, "high_interference", 1, value=8)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    page = client_for(world.nurse_a).post(
        reverse("followup:queue_flag", args=[flag.pk]),
        {"op": "snooze", "until": yesterday.isoformat(), "reason": "x", "qs": "kind=worsening"},
        follow=True,
    )
    assert page.redirect_chain[-1][0] == reverse("followup:queue") + "?kind=worsening"
    assert "Choose a date after today." in page.content.decode()
    flag.refresh_from_db()
    assert flag.snoozed_until is None


def test_a_snoozed_flag_does_not_escalate(world: World) -> None:
    from followup.services import flags_escalate_due

    flag = _flag(world.patient_a, "high_interference", 1, value=8, hours_ago=48)
    flag_snooze(flag_id=flag.pk, user=world.nurse_a, until=_tomorrow(), reason="seen today")
    assert flags_escalate_due() == []
    flag.refresh_from_db()
    assert flag.escalated_at is None


# --- secondary actions on demand ----------------------------------------------------------------


def test_a_card_carries_claim_and_resolve_and_opens_the_other_actions_on_demand(
    world: World,
) -> None:
    # given an open flag
    flag = _flag(world.patient_a, "high_interference", 1, value=8)
    # when the nurse opens the queue (filtered, so her place in it is kept)
    html = _queue(client_for(world.nurse_a), kind="high_interference")
    card = html[html.index(f'id="flag-{flag.pk}"') :]
    card = card[: card.index("</li>")]
    # then claim and resolve are forms in the card
    do = reverse("followup:queue_flag", args=[flag.pk])
    assert f'action="{do}"' in card
    assert 'name="op" value="claim"' in card
    assert 'name="op" value="resolve"' in card
    # and the other actions are not, but a link to the flag's page (every action as a plain
    # form), which htmx replaces by the flag's forms fetched into the card
    assert 'name="until"' not in card
    assert 'name="to"' not in card
    assert f'href="{reverse("followup:flag", args=[flag.pk])}"' in card
    actions = reverse("followup:flag_actions", args=[flag.pk])
    assert f'hx-get="{actions}?qs=kind%3Dhigh_interference"' in card


def test_the_actions_fragment_holds_the_note_snooze_and_reassign_forms(world: World) -> None:
    Clinic.objects.filter(pk=world.clinic_a.pk).update(note_templates=["Left a voicemail"])
    colleague = UserFactory.create(
        first_name="Nora", last_name="Quinn", role=Role.NURSE, clinics=[world.clinic_a]
    )
    flag = _flag(world.patient_a, "high_interference", 1, value=8)
    # when htmx asks for the flag's other actions, from a filtered queue
    fragment = client_for(world.nurse_a).get(
        reverse("followup:flag_actions", args=[flag.pk]),
        {"qs": "kind=high_interference&evil=1"},
        headers={"HX-Request": "true"},
    )
    # then they are forms posting to the card's action, keeping the queue's filters only
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert "<html" not in html  # a fragment, not a page
    do = reverse("followup:queue_flag", args=[flag.pk])
    assert html.count(f'hx-post="{do}"') == 4
    for op in ("act", "snooze", "resolve", "reassign"):
        assert f'name="op" value="{op}"' in html
    assert 'name="qs" value="kind=high_interference"' in html
    # with the clinic's note templates and its colleagues
    assert '<option value="Left a voicemail">' in html
    assert f'list="notes-{flag.pk}"' in html
    assert f'<option value="{colleague.pk}">Nora Quinn</option>' in html


def test_the_actions_fragment_of_a_flag_outside_her_clinics_is_404(world: World) -> None:
    flag = _flag(world.patient_b, "high_interference", 1, value=8)
    response = client_for(world.nurse_a).get(
        reverse("followup:flag_actions", args=[flag.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 404


def test_without_javascript_the_flag_page_snoozes_reassigns_and_records_a_note(
    world: World,
) -> None:
    Clinic.objects.filter(pk=world.clinic_a.pk).update(note_templates=["Left a voicemail"])
    colleague = UserFactory.create(
        first_name="Nora", last_name="Quinn", role=Role.NURSE, clinics=[world.clinic_a]
    )
    flag = _flag(world.patient_a, "high_interference", 1, value=8)
    client = client_for(world.nurse_a)
    url = reverse("followup:flag", args=[flag.pk])
    # given the flag's page with every action as a plain form
    page = client.get(url).content.decode()
    for op in ("act", "snooze", "reassign", "resolve"):
        assert f'name="op" value="{op}"' in page
    assert '<option value="Left a voicemail">' in page
    # when she records a note, each form posting to the page, then told so on it
    noted = client.post(
        url, {"op": "act", "action": "called_patient", "note": "Left a voicemail"}, follow=True
    )
    assert "Action recorded." in noted.content.decode()
    assert "Left a voicemail" in noted.content.decode()
    # and snoozes it until tomorrow with a reason
    until = _tomorrow()
    snoozed = client.post(
        url, {"op": "snooze", "until": until.isoformat(), "reason": "Seen Friday"}, follow=True
    )
    assert f"Snoozed until {until.isoformat()}." in snoozed.content.decode()
    flag.refresh_from_db()
    assert (flag.snoozed_until, flag.snooze_reason) == (until, "Seen Friday")
    # and hands it to her colleague
    handed = client.post(url, {"op": "reassign", "to": str(colleague.pk)}, follow=True)
    assert "Reassigned to Nora Quinn." in handed.content.decode()
    flag.refresh_from_db()
    assert (flag.status, flag.claimed_by_id) == (FlagStatus.CLAIMED, colleague.pk)
    assert handed.redirect_chain == [(url, 302)]


def test_a_bad_snooze_on_the_flag_page_says_what_is_wrong_and_saves_nothing(
    world: World,
) -> None:
    flag = _flag(world.patient_a, "high_interference", 1, value=8)
    url = reverse("followup:flag", args=[flag.pk])
    page = client_for(world.nurse_a).post(
        url, {"op": "snooze", "until": "2000-01-01", "reason": "x"}, follow=True
    )
    assert page.status_code == 200
    assert "Choose a date after today." in page.content.decode()
    flag.refresh_from_db()
    assert flag.snoozed_until is None


# --- what the queue costs ---------------------------------------------------------------------


def _queue_page_queries(world: World, client: Any, patients: int, capture: Any) -> int:
    with capture(execute=True):  # the flags' commits forget the cached counts, as in production
        for _ in range(patients):
            patient = PatientFactory.create(clinic=world.clinic_a)
            _flag(patient, "high_interference", patient.pk, value=8)
            flag_claim(flag_id=_flag(patient, "overdue", patient.pk).pk, user=world.nurse_a)
    client.get(reverse("followup:queue"))  # the counts, the badge and the medians are kept
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("followup:queue"))
    assert len(_cards(response.content.decode())) == min(
        response.context["page"].paginator.count, PATIENTS_PER_PAGE
    )
    return len(captured)


def test_the_queue_costs_the_same_queries_for_1_or_30_patients(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(world.nurse_a)
    one = _queue_page_queries(world, client, 1, django_capture_on_commit_callbacks)
    thirty = _queue_page_queries(world, client, 29, django_capture_on_commit_callbacks)
    assert one == thirty, (one, thirty)
    assert "30 patients" in _queue(client)


def test_the_patient_count_follows_a_new_flag_at_once(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(world.nurse_a)
    _flag(world.patient_a, "overdue", 1)
    assert "1 patient ·" in _queue(client)  # counted, and kept
    with django_capture_on_commit_callbacks(execute=True):
        _flag(PatientFactory.create(clinic=world.clinic_a), "overdue", 2)
    assert "2 patients ·" in _queue(client)


def test_a_patient_raised_elsewhere_is_not_hidden_by_a_kept_count(world: World) -> None:
    # given the queue seen with one patient, its count kept in the cache
    client = client_for(world.nurse_a)
    _flag(world.patient_a, "overdue", 1)
    assert _cards(_queue(client)) == [world.patient_a.pk]
    # when another process raises a flag (its commit does not reach this process's cache)
    other = PatientFactory.create(clinic=world.clinic_a)
    _flag(other, "high_interference", 2, value=8)
    # then the page still lists her, though the count is seconds old
    assert _cards(_queue(client)) == [other.pk, world.patient_a.pk]


def test_the_badge_is_kept_until_a_flag_is_claimed(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    flag = _flag(world.patient_a, "high_interference", 1, value=8)
    client = client_for(world.nurse_a)

    def badge() -> str:
        page = client.get(reverse("clinical:patients")).content.decode()
        found = re.search(r'class="nav-badge">(\d+)<', page)
        return found.group(1) if found else "none"

    assert badge() == "1"
    with CaptureQueriesContext(connection) as queries:
        assert flag_badge_count(world.nurse_a) == 1
    assert not [q for q in queries if "followup_flag" in q["sql"]]  # kept, not counted again
    with django_capture_on_commit_callbacks(execute=True):
        flag_claim(flag_id=flag.pk, user=world.nurse_a)
    assert badge() == "none"
