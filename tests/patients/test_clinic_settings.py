"""A clinic's rules: read through one ``rules_of``, edited by an administrator on one page."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from patients import rules
from patients.models import Clinic
from patients.rules import DEFAULT_RULES, rules_of
from tests.conftest import World, client_for


def _form(clinic: Clinic, **changes: Any) -> dict[str, Any]:
    """The settings form as the page shows it for ``clinic``, with ``changes``."""
    data: dict[str, Any] = {
        "time_zone": clinic.time_zone,
        "phone": "",
        "opening_hours": clinic.opening_hours,
        "call_us_words_en": "",
        "call_us_words_zh_hans": "",
        "email_sender_name": "",
        "pain_moderate_from": clinic.pain_moderate_from,
        "pain_severe_from": clinic.pain_severe_from,
        "high_interference_from": clinic.high_interference_from,
        "worsening_points": clinic.worsening_points,
        "adherence_min_days": clinic.adherence_min_days,
        "strategy_window_days": clinic.strategy_window_days,
        "initial_months": ", ".join(str(m) for m in clinic.initial_months),
        "interval_months": clinic.interval_months,
        "adaptive_interval_weeks": clinic.adaptive_interval_weeks,
        "due_time": clinic.due_time.strftime("%H:%M"),
        "link_valid_days": clinic.link_valid_days,
        "overdue_days": clinic.overdue_days,
        "escalation_hours": clinic.escalation_hours,
        "target_hours": clinic.target_hours,
    }
    data.update(changes)
    return data


def _defaults(clinic: Clinic) -> rules.ClinicRules:
    """The published rules, in the clinic's zone."""
    return dataclasses.replace(DEFAULT_RULES, time_zone=clinic.time_zone)


def test_a_new_clinic_has_the_published_rules(world: World) -> None:
    assert rules_of(world.clinic_a) == _defaults(world.clinic_a)
    assert DEFAULT_RULES.high_interference_from == Decimal("7.0")  # Serlin 1995; Shi 2017
    assert (DEFAULT_RULES.pain_moderate_from, DEFAULT_RULES.pain_severe_from) == (5, 7)
    assert DEFAULT_RULES.initial_months == (0, 1, 2, 3)
    assert rules_of(None) == DEFAULT_RULES


def test_an_administrator_changes_the_rules_and_every_reader_sees_them(world: World) -> None:
    url = reverse("patients:clinic_settings", args=[world.clinic_a.pk])
    client = client_for(world.admin)
    assert client.get(url).status_code == 200

    response = client.post(
        url,
        _form(
            world.clinic_a,
            time_zone="Asia/Shanghai",
            worsening_points="3",
            strategy_window_days="21",
            initial_months="0, 3, 1",
            interval_months="4",
            adaptive_interval_weeks="6",
            due_time="10:30",
            escalation_hours="12",
            opening_hours="Mon-Fri 08:00-16:00",
        ),
    )

    assert response.status_code == 302
    world.clinic_a.refresh_from_db()
    clinic_rules = rules_of(world.clinic_a)
    assert clinic_rules.worsening_points == Decimal("3")
    assert clinic_rules.strategy_window_days == 21
    assert clinic_rules.initial_months == (0, 1, 3)
    assert clinic_rules.interval_months == 4
    assert clinic_rules.adaptive_interval_weeks == 6
    assert clinic_rules.due_time == dt.time(10, 30)
    assert clinic_rules.escalation_hours == 12
    assert clinic_rules.time_zone == "Asia/Shanghai"
    assert world.clinic_a.opening_hours == "Mon-Fri 08:00-16:00"
    assert rules_of(world.clinic_b) == _defaults(world.clinic_b)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Select a valid choice"),
        (
            {"pain_moderate_from": "7", "pain_severe_from": "6"},
            "pain_severe_from",
            "Severe pain must start above moderate pain",
        ),
        ({"initial_months": "0, one"}, "initial_months", "Write whole months"),
        ({"initial_months": "0, 30"}, "initial_months", "within 24 months"),
        ({"interval_months": "13"}, "interval_months", "less than or equal to 12"),
        ({"high_interference_from": "11"}, "high_interference_from", "less than or equal to 10"),
        ({"escalation_hours": "0"}, "escalation_hours", "greater than or equal to 1"),
        (
            {"adaptive_interval_weeks": "13"},
            "adaptive_interval_weeks",
            "less than or equal to 12",
        ),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(
    world: World, changes: dict[str, str], field: str, message: str
) -> None:
    url = reverse("patients:clinic_settings", args=[world.clinic_a.pk])

    response = client_for(world.admin).post(url, _form(world.clinic_a, **changes))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    world.clinic_a.refresh_from_db()
    assert rules_of(world.clinic_a) == _defaults(world.clinic_a)  # nothing saved


def test_the_time_zone_is_chosen_from_a_list(world: World) -> None:
    url = reverse("patients:clinic_settings", args=[world.clinic_a.pk])
    body = client_for(world.admin).get(url).content.decode()
    assert '<select name="time_zone"' in body
    assert '<option value="Europe/London"' in body


@pytest.mark.parametrize("who", ["nurse_a", "clinician_a", "researcher"])
def test_only_an_administrator_reaches_the_settings(world: World, who: str) -> None:
    url = reverse("patients:clinic_settings", args=[world.clinic_a.pk])
    client = client_for(getattr(world, who))
    assert client.get(url).status_code == 404
    assert client.post(url, _form(world.clinic_a, worsening_points="5")).status_code == 404
    world.clinic_a.refresh_from_db()
    assert world.clinic_a.worsening_points == rules.WORSENING_POINTS


def test_an_unknown_clinic_is_a_404(world: World) -> None:
    url = reverse("patients:clinic_settings", args=[999_999])
    assert client_for(world.admin).get(url).status_code == 404


def test_a_patient_is_not_let_in(world: World) -> None:
    url = reverse("patients:clinic_settings", args=[world.clinic_a.pk])
    assert client_for(world.patient_a.user).get(url).status_code == 404
