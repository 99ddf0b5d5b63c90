"""One transfer path: moving a patient moves all her flags in the same transaction, whatever
screen made the move (docs/security.md #23)."""

from __future__ import annotations

from typing import Any

from django.forms.models import model_to_dict
from django.urls import reverse

from followup.models import Flag, FlagStatus
from followup.services import flag_raise, flag_resolve
from patients.models import Patient
from patients.services import patient_update
from tests.conftest import World, client_for


def _her_flags(world: World) -> tuple[Flag, Flag]:
    """Patient A has an open flag and a resolved one, both in clinic A's records."""
    open_flag = flag_raise(
        patient_id=world.patient_a.pk, kind="high_interference", source="response", source_id=1
    ).flag
    resolved = flag_raise(
        patient_id=world.patient_a.pk, kind="worsening", source="response", source_id=2
    ).flag
    flag_resolve(flag_id=resolved.pk, user=world.nurse_a, note="called her")
    return open_flag, resolved


def _seen_by(user: Any, open_flag: Flag, resolved: Flag) -> dict[str, bool]:
    """What a member of staff can reach of the two flags: queue page, flag API list and
    detail, a flag action."""
    client = client_for(user)
    queue = client.get(reverse("followup:queue")).content.decode()
    listed = client.get("/api/v1/flags/", {"status": "resolved"}).json()
    listed_ids = {row["id"] for row in listed.get("results", listed)}
    return {
        "queue": f'id="flag-{open_flag.pk}"' in queue,
        "flag page": client.get(reverse("followup:flag", args=[open_flag.pk])).status_code == 200,
        "api list (resolved)": resolved.pk in listed_ids,
        "api detail": client.get(f"/api/v1/flags/{resolved.pk}/").status_code == 200,
        "claim": client.post(f"/api/v1/flags/{open_flag.pk}/claim/").status_code == 200,
    }


ALL_SEEN = {
    "queue": True,
    "flag page": True,
    "api list (resolved)": True,
    "api detail": True,
    "claim": True,
}
NONE_SEEN = dict.fromkeys(ALL_SEEN, False)


def test_a_move_takes_every_flag_inside_the_same_transaction(world: World) -> None:
    # given her open and resolved flags in clinic A
    open_flag, resolved = _her_flags(world)
    # when she moves (the test's transaction is never committed: no on-commit work runs)
    patient_update(patient=world.patient_a, clinic=world.clinic_b)
    # then both flags are already in clinic B's records
    assert set(
        Flag.objects.filter(patient=world.patient_a).values_list("clinic_id", flat=True)
    ) == {world.clinic_b.pk}
    assert Flag.objects.get(pk=resolved.pk).status == FlagStatus.RESOLVED


def test_the_old_clinic_loses_her_flags_and_the_new_one_sees_them_at_once(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    # given her flags, which clinic A's nurse reaches and clinic B's does not
    open_flag, resolved = _her_flags(world)
    assert _seen_by(world.nurse_b, open_flag, resolved) == NONE_SEEN
    # when she moves to clinic B (and the move commits)
    with django_capture_on_commit_callbacks(execute=True):
        patient_update(patient=world.patient_a, clinic=world.clinic_b)
    # then clinic A's nurse reaches none of them, clinic B's nurse all of them
    assert _seen_by(world.nurse_a, open_flag, resolved) == NONE_SEEN
    assert _seen_by(world.nurse_b, open_flag, resolved) == ALL_SEEN


def test_the_admin_moves_her_through_the_same_service(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    # given her flags in clinic A
    open_flag, resolved = _her_flags(world)
    form = {
        key: ("" if value is None else value)
        for key, value in model_to_dict(world.patient_a).items()
        if key not in {"id", "user"}
    }
    form["clinic"] = world.clinic_b.pk
    form["user"] = ""
    # when an administrator changes her clinic on the admin's change page
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(world.admin).post(
            reverse("admin:patients_patient_change", args=[world.patient_a.pk]), form
        )
    # then she and all her flags are in clinic B
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Patient.objects.get(pk=world.patient_a.pk).clinic_id == world.clinic_b.pk
    assert _seen_by(world.nurse_a, open_flag, resolved) == NONE_SEEN
    assert _seen_by(world.nurse_b, open_flag, resolved) == ALL_SEEN


def test_the_sweep_moves_flags_left_behind_by_a_bulk_update(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from followup.services import flags_follow_clinics

    # given a move made behind the service's back
    open_flag, resolved = _her_flags(world)
    Patient.objects.filter(pk=world.patient_a.pk).update(clinic=world.clinic_b)
    # when the sweep runs, twice
    with django_capture_on_commit_callbacks(execute=True):
        moved = flags_follow_clinics()
        again = flags_follow_clinics()
    # then both flags moved, once
    assert (moved, again) == (2, 0)
    assert _seen_by(world.nurse_b, open_flag, resolved) == ALL_SEEN
