"""A flag kind is declared in one place: adding one fails here until it has all it needs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from followup.burden import rule_in_words
from followup.models import (
    KIND_PRIORITY,
    URGENCY,
    FlagKind,
    FlagStatus,
    Priority,
    urgency_of,
)
from followup.selectors import CardMaker, waited_words
from patients.models import User
from patients.rules import ClinicRules


@pytest.mark.parametrize("kind", FlagKind.values)
def test_every_kind_has_a_priority_an_urgency_and_its_rule_in_words(kind: str) -> None:
    # given a flag kind, then it has a priority (notify and escalate or not), a place in the
    # queue's order, and its rule in words beside its burden
    assert KIND_PRIORITY[FlagKind(kind)] in Priority.values
    assert urgency_of(kind) == URGENCY[FlagKind(kind)]
    assert rule_in_words(kind, ClinicRules())


def test_the_burden_page_shows_each_rule_with_the_clinics_threshold() -> None:
    rules = ClinicRules(worsening_points=Decimal("3.0"))
    assert "3.0" in rule_in_words(FlagKind.WORSENING, rules)


@pytest.mark.parametrize(
    ("waited", "words"),
    [
        (dt.timedelta(seconds=20), "0 minutes"),
        (dt.timedelta(minutes=1), "1 minute"),
        (dt.timedelta(minutes=59), "59 minutes"),
        (dt.timedelta(hours=1), "1 hour"),
        (dt.timedelta(hours=47, minutes=59), "47 hours"),
        (dt.timedelta(hours=48), "2 days"),
        (dt.timedelta(days=9, hours=23), "9 days"),
    ],
)
def test_a_wait_is_told_in_the_unit_held_against_a_target_in_hours(
    waited: dt.timedelta, words: str
) -> None:
    assert waited_words(waited) == words


def test_a_card_lists_her_flags_with_the_values_that_raised_them() -> None:
    # given two flags of one patient as the queue reads them (plain values)
    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    user = User(pk=7, username="nurse")

    def flag(pk: int, kind: str, value: Decimal | None, claimed_by: int | None) -> dict[str, Any]:
        return {
            "pk": pk,
            "kind": kind,
            "status": FlagStatus.CLAIMED if claimed_by else FlagStatus.OPEN,
            "priority": KIND_PRIORITY[FlagKind(kind)],
            "opened_at": now - dt.timedelta(hours=30),
            "last_triggered_at": now,
            "trigger_count": 2,
            "claimed_by_id": claimed_by,
            "escalated_at": None,
            "snoozed_until": None,
            "snooze_reason": "",
            "intentional": False,
            "patient_id": 3,
            "clinic_id": 1,
            "patient__family_name": "Smith",
            "patient__given_name": "Ann",
            "patient__record_number": "R-1",
            "patient__phone": None,
            "patient__died_on": None,
            "clinic__code": "rvs",
            "claimed_by__username": "nurse",
            "claimed_by__first_name": "Nina",
            "claimed_by__last_name": "Nurse",
            "last_value": value,
            "last_source": "response",
            "last_reason": None,
        }

    cards = CardMaker(user, {1: ClinicRules(target_hours=24)}, now)
    # when her card is made
    card = cards.card(
        3, [flag(1, "high_interference", Decimal("8.14"), 7), flag(2, "overdue", None, None)]
    )
    # then it names her, and each flag says what raised it, how long it waited, who has it
    assert (card.name, card.meta) == ("Smith, Ann", "R-1 · RVS")
    high, overdue = card.flags
    assert high.raised_by == "Interference 8.1"
    assert high.wait == "Waiting 30 hours · target 24 h"
    assert (high.over_target, high.mine, high.high, high.can_claim) == (True, True, True, False)
    assert high.status == "Claimed · Nina Nurse"
    assert high.triggers == "2 triggers"
    assert overdue.raised_by == "Reassessment missing"
    assert (overdue.can_claim, overdue.can_act) == (True, True)
    assert card.overdue_to_resolve == 1
