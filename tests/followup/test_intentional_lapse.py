"""A lapse she chose (side effects, decided to stop or take less) comes before the lapses she
did not choose in the nurse's queue, and its card says why."""

from __future__ import annotations

import datetime as dt
import re

from django.urls import reverse
from django.utils import timezone

from followup.models import Flag
from followup.services import flag_raise
from patients.models import Patient
from tests.conftest import World, client_for
from tests.factories import PatientFactory


def _lapse(patient: Patient, source_id: int, *, hours_ago: float, reason: str) -> Flag:
    return flag_raise(
        patient_id=patient.pk,
        kind="adherence_lapse",
        source="check_in",
        source_id=source_id,
        value=4,
        at=timezone.now() - dt.timedelta(hours=hours_ago),
        reason=reason,
        intentional=reason in ("side_effects", "decided"),
    ).flag


def _cards(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'class="card patient-card" id="patient-(\d+)"', html)]


def test_an_intentional_lapse_comes_before_newer_unintentional_ones(world: World) -> None:
    # given two unintentional lapses raised just now and an intentional one two days old
    forgot = PatientFactory.create(clinic=world.clinic_a)
    ran_out = PatientFactory.create(clinic=world.clinic_a)
    decided = PatientFactory.create(clinic=world.clinic_a)
    _lapse(forgot, 1, hours_ago=0, reason="forgot")
    _lapse(ran_out, 2, hours_ago=0.5, reason="ran_out")
    _lapse(decided, 3, hours_ago=48, reason="decided")
    # and a high interference flag, still the most urgent
    flag_raise(
        patient_id=world.patient_a.pk,
        kind="high_interference",
        source="response",
        source_id=4,
        value=8,
        at=timezone.now() - dt.timedelta(hours=72),
    )
    # when the nurse opens her queue
    page = client_for(world.nurse_a).get(reverse("followup:queue")).content.decode()
    # then the intentional lapse comes right after interference, before the newer lapses
    assert _cards(page) == [world.patient_a.pk, decided.pk, forgot.pk, ran_out.pk]
    # and each lapse card says why she missed doses, the chosen one as intentional
    assert "AI taken 4/7 days · intentional: I decided to stop or take less" in page
    assert "AI taken 4/7 days · I forgot" in page


def test_the_api_gives_an_intentional_lapse_its_own_level(world: World) -> None:
    side_effects = PatientFactory.create(clinic=world.clinic_a)
    ran_out = PatientFactory.create(clinic=world.clinic_a)
    _lapse(ran_out, 1, hours_ago=0, reason="ran_out")
    _lapse(side_effects, 2, hours_ago=10, reason="side_effects")
    body = client_for(world.nurse_a).get("/api/v1/flags/", {"group": "patient"}).json()
    assert [(r["patient"], r["urgency"]) for r in body["results"]] == [
        (side_effects.pk, 1),
        (ran_out.pk, 2),
    ]
    assert body["results"][0]["flags"][0]["intentional"] is True


def test_the_flag_page_lists_each_trigger_with_her_reason(world: World) -> None:
    flag = _lapse(world.patient_a, 1, hours_ago=1, reason="side_effects")
    page = client_for(world.nurse_a).get(reverse("followup:flag", args=[flag.pk]))
    assert "Side effects" in page.content.decode()
