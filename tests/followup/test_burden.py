"""The alert burden page: per clinic and ISO week, beside PRO-TECT's 34 %, with the safety
audit of suppression, each rule's threshold editable by an administrator, and its CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from followup.burden import CSV_COLUMNS, BurdenRow
from followup.evaluation import response_evaluate
from followup.models import Flag
from followup.services import flag_raise, flag_record_action, flag_resolve, flag_snooze
from patients.models import Clinic
from tests.conftest import World, client_for
from tests.factories import PatientFactory, ResponseFactory

HIGH = dict.fromkeys(
    (
        "general_activity",
        "mood",
        "walking_ability",
        "normal_work",
        "relations_with_others",
        "sleep",
        "enjoyment_of_life",
    ),
    8,
)


def _this_week(world: World) -> BurdenRow:
    """Given four responses this week in clinic A and four flags: a high interference acted on,
    an overdue resolved with "no action needed", a lapse snoozed and then a worsening."""
    patients = [world.patient_a, *(PatientFactory.create(clinic=world.clinic_a) for _ in "xyz")]
    high_response = ResponseFactory.create(patient=patients[0], interference=HIGH)
    for patient in patients[1:]:
        ResponseFactory.create(patient=patient)
    response_evaluate(response_id=high_response.pk)
    high = Flag.objects.get(kind="high_interference")
    flag_record_action(flag_id=high.pk, user=world.nurse_a, action="called_patient")
    overdue = flag_raise(
        patient_id=patients[1].pk, kind="overdue", source="schedule_slot", source_id=1
    ).flag
    flag_record_action(flag_id=overdue.pk, user=world.nurse_a, action="no_action_needed")
    flag_resolve(flag_id=overdue.pk, user=world.nurse_a)
    lapse = flag_raise(
        patient_id=patients[2].pk, kind="adherence_lapse", source="check_in", source_id=1, value=3
    ).flag
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    flag_snooze(flag_id=lapse.pk, user=world.nurse_a, until=tomorrow, reason="on holiday")
    flag_raise(
        patient_id=patients[2].pk, kind="worsening", source="response", source_id=99, value=2
    )
    page = client_for(world.clinician_a).get(reverse("followup:burden"))
    assert page.status_code == 200
    (section,) = page.context["sections"]
    return section[0].weeks[0]


def test_burden_per_week_beside_pro_tect(world: World) -> None:
    week = _this_week(world)
    assert week.responses == 4
    assert week.responses_alerting_pct == 25.0  # one of four responses raised a flag
    assert week.per_100_by_kind == [25.0, 25.0, 25.0, 25.0, 0.0]  # no review-management
    assert week.flags == 4
    assert week.resolved_no_action_pct == 25.0
    assert week.snoozed_pct == 25.0
    assert week.median_hours_to_first_action is not None
    # the overdue resolved without action and the snoozed lapse were suppressed; the lapse
    # was followed by a worsening within 30 days
    assert (week.suppressed, week.suppressed_then_worse) == (2, 1)
    assert week.suppressed_then_worse_pct == 50.0


def test_the_page_shows_each_rules_threshold_and_pro_tects_34_percent(world: World) -> None:
    Clinic.objects.filter(pk=world.clinic_a.pk).update(worsening_points=Decimal("2.5"))
    html = client_for(world.clinician_a).get(reverse("followup:burden")).content.decode()
    assert "PRO-TECT: 34 %" in html
    assert "Interference score ≥ 7.0" in html
    assert "Pain or interference up ≥ 2.5 points" in html
    assert "Change the rules" not in html  # clinicians see them; administrators change them


def test_csv_has_the_documented_columns_and_the_same_figures(world: World) -> None:
    week = _this_week(world)
    response = client_for(world.clinician_a).get(reverse("followup:burden_csv"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert tuple(rows[0]) == CSV_COLUMNS
    line = dict(zip(rows[0], rows[1], strict=True))
    assert line["clinic_code"] == "a"
    assert line["iso_week"] == week.iso_week
    assert line["responses"] == "4"
    assert line["responses_alerting_pct"] == "25.0"
    assert line["pro_tect_alerting_pct"] == "34"
    assert line["high_interference_per_100_responses"] == "25.0"
    assert line["suppressed_then_worsening_pct"] == "50.0"
    assert line["high_interference_from"] == "7.0"


def test_only_her_clinics_and_only_leads_and_administrators(world: World) -> None:
    flag_raise(patient_id=world.patient_a.pk, kind="overdue", source="schedule_slot", source_id=1)
    seen_by_b = client_for(world.clinician_b).get(reverse("followup:burden"))
    assert [s[0].clinic.code for s in seen_by_b.context["sections"]] == ["b"]
    assert all(not s[0].weeks for s in seen_by_b.context["sections"])
    csv_b = client_for(world.clinician_b).get(reverse("followup:burden_csv")).content.decode()
    assert "\na," not in csv_b
    for user in (world.nurse_a, world.researcher):
        assert client_for(user).get(reverse("followup:burden")).status_code == 404
        assert client_for(user).get(reverse("followup:burden_csv")).status_code == 404
    assert client_for(None).get(reverse("followup:burden")).status_code == 302


def _rules_post(clinic: Clinic, **changes: str) -> dict[str, str]:
    values = {
        "high_interference_from": "6.5",
        "worsening_points": "2.0",
        "adherence_min_days": "5",
        "overdue_days": "7",
        "target_hours": "8",
        "note_templates": "Left a voicemail\n\nAdvice on exercise given",
        **changes,
    }
    return {"clinic": str(clinic.pk), **{f"clinic-{clinic.pk}-{k}": v for k, v in values.items()}}


def test_an_administrator_changes_a_threshold_beside_its_burden(world: World) -> None:
    client = client_for(world.admin)
    response = client.post(reverse("followup:burden"), _rules_post(world.clinic_a), follow=True)
    assert "Flag rules of Clinic A saved." in response.content.decode()
    world.clinic_a.refresh_from_db()
    rules = world.clinic_a
    assert world.clinic_a.high_interference_from == Decimal("6.5")
    assert rules.target_hours == 8
    assert rules.note_templates == ["Left a voicemail", "Advice on exercise given"]
    # and the queue offers her note templates (with a flag's actions, opened from its card)
    flag = flag_raise(
        patient_id=world.patient_a.pk, kind="overdue", source="schedule_slot", source_id=1
    ).flag
    nurse = client_for(world.nurse_a)
    queue = nurse.get(reverse("followup:queue")).content.decode()
    assert "target 8 h" in queue
    actions = nurse.get(
        reverse("followup:flag_actions", args=[flag.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert '<option value="Left a voicemail">' in actions


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("target_hours", "0", "greater than or equal to 1"),
        ("high_interference_from", "11", "less than or equal to 10"),
        ("adherence_min_days", "٣", "Enter a whole number."),
        ("note_templates", "x" * 201, "under 200 characters"),
    ],
)
def test_bad_rules_are_refused_with_a_message_and_nothing_saved(
    world: World, field: str, value: str, message: str
) -> None:
    response = client_for(world.admin).post(
        reverse("followup:burden"), _rules_post(world.clinic_a, **{field: value})
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    world.clinic_a.refresh_from_db()
    assert world.clinic_a.high_interference_from == Decimal("7.0")
    assert (world.clinic_a.target_hours, world.clinic_a.note_templates) == (24, [])


def test_a_clinician_cannot_change_the_rules(world: World) -> None:
    response = client_for(world.clinician_a).post(
        reverse("followup:burden"), _rules_post(world.clinic_a)
    )
    assert response.status_code == 404
    world.clinic_a.refresh_from_db()
    assert world.clinic_a.target_hours == 24
