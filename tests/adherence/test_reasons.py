"""Why she missed doses: asked exactly when she did, routed by its kind (forgetting to tips and a
reminder she can turn on, a choice to an intentional flag, the rest to the ordinary lapse rule);
the proportion of days covered; the MARS-5 structure and its licensed wording."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from adherence.forms import CheckInForm
from adherence.models import AdherenceCheckIn, DoseReminder
from adherence.scale import (
    MARS5,
    bundled_structure,
    scale_definition_errors,
    scale_in_use,
    scale_load,
)
from adherence.selectors import pdc_estimate
from adherence.services import check_in_submit
from assessments.models import Instrument
from clinical.charts import trajectory_figure
from clinical.selectors import patient_trajectory
from followup.evaluation import check_in_evaluate
from followup.models import Flag, FlagTrigger
from patients.models import Patient
from patients.rules import rules_of
from tests.conftest import World, client_for
from tests.factories import AiCourseFactory, CheckInFactory, PatientFactory

pytestmark = pytest.mark.django_db

FORM = {"stopped": "no", "wants_to_stop": "no", "reason": "", "side_effects": ""}


def _form(**answers: str) -> CheckInForm:
    return CheckInForm(
        {**FORM, **answers, "submission_token": "6f1f6c9e-7f64-4d7b-9a4e-1b0c2f0d9e11"}
    )


@pytest.fixture
def patient() -> Patient:
    patient = PatientFactory.create(aimss_diagnosis_date=dt.date(2024, 3, 1))
    AiCourseFactory.create(patient=patient, start_date=dt.date(2023, 11, 1))
    return patient


# --- asked iff missed ------------------------------------------------------------------------


def test_a_missed_dose_without_a_reason_is_refused_and_the_message_says_where() -> None:
    # given she took it on 6 of 7 days and chose no reason
    form = _form(days_taken_last_7="6")
    # then the form refuses it on the reason's question, naming the days
    assert not form.is_valid()
    assert "6 of 7 days" in form.errors["missed_reason"][0]
    assert "choose why" in form.errors["missed_reason"][0]


def test_no_reason_is_needed_and_none_kept_when_every_dose_was_taken() -> None:
    # given 7 of 7 days and a reason left chosen from an earlier answer
    form = _form(days_taken_last_7="7", missed_reason="forgot")
    # then it is valid and the reason is dropped
    assert form.is_valid(), form.errors
    assert form.service_arguments()["missed_reason"] == ""


def test_the_service_refuses_a_missing_reason_and_a_reason_without_a_missed_dose(
    patient: Patient,
) -> None:
    with pytest.raises(ValidationError) as missing:
        check_in_submit(patient=patient, days_taken_last_7=3, stopped=False, wants_to_stop=False)
    assert "missed_reason" in missing.value.message_dict
    with pytest.raises(ValidationError) as extra:
        check_in_submit(
            patient=patient,
            days_taken_last_7=7,
            stopped=False,
            wants_to_stop=False,
            missed_reason="forgot",
        )
    assert "7 of 7" in extra.value.message_dict["missed_reason"][0]
    assert not AdherenceCheckIn.objects.exists()  # nothing half-saved


def test_words_for_another_reason_go_only_with_other(patient: Patient) -> None:
    with pytest.raises(ValidationError) as info:
        check_in_submit(
            patient=patient,
            days_taken_last_7=5,
            stopped=False,
            wants_to_stop=False,
            missed_reason="forgot",
            missed_reason_other="travel",
        )
    assert "missed_reason_other" in info.value.message_dict
    check_in, _ = check_in_submit(
        patient=patient,
        days_taken_last_7=5,
        stopped=False,
        wants_to_stop=False,
        missed_reason="other",
        missed_reason_other="I was travelling",
    )
    assert check_in.missed_reason_other == "I was travelling"


def test_the_api_carries_the_reason_and_refuses_it_missing(world: World) -> None:
    client = client_for(world.patient_a.user)
    url = reverse("api:check-in-list")
    body: dict[str, Any] = {"days_taken_last_7": 6, "stopped": False, "wants_to_stop": False}
    refused = client.post(url, body, content_type="application/json")
    assert refused.status_code == 400
    assert "missed_reason" in refused.json()
    body["missed_reason"] = "side_effects"
    stored = client.post(url, body, content_type="application/json")
    assert stored.status_code == 201
    assert stored.json()["missed_reason"] == "side_effects"
    assert stored.json()["lapse"] is True  # a choice to miss doses is a lapse at 6 of 7 days


# --- routing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "flagged", "intentional"),
    [
        ("forgot", False, False),
        ("side_effects", True, True),
        ("decided", True, True),
        ("ran_out", False, False),
        ("other", False, False),
    ],
)
def test_each_reason_at_6_of_7_days_is_routed_by_its_kind(
    patient: Patient, reason: str, flagged: bool, intentional: bool
) -> None:
    # given a check-in above the clinic's lapse threshold (6 of 7 days) with this reason
    check_in, _ = check_in_submit(
        patient=patient,
        days_taken_last_7=6,
        stopped=False,
        wants_to_stop=False,
        missed_reason=reason,
    )
    # when it is evaluated
    check_in_evaluate(check_in_id=check_in.pk)
    # then only a choice to miss doses raises a flag, marked intentional, with the reason
    flag = Flag.objects.filter(patient=patient, kind="adherence_lapse").first()
    assert (flag is not None) is flagged
    if flag is not None:
        assert flag.intentional is intentional
        assert FlagTrigger.objects.get(flag=flag).reason == reason


@pytest.mark.parametrize("reason", ["forgot", "ran_out", "other"])
def test_an_unintentional_reason_below_the_threshold_raises_the_ordinary_lapse(
    patient: Patient, reason: str
) -> None:
    check_in, _ = check_in_submit(
        patient=patient,
        days_taken_last_7=3,
        stopped=False,
        wants_to_stop=False,
        missed_reason=reason,
    )
    check_in_evaluate(check_in_id=check_in.pk)
    flag = Flag.objects.get(patient=patient, kind="adherence_lapse")
    assert flag.intentional is False
    assert flag.triggers.get().reason == reason


def test_an_intentional_reason_marks_her_open_unintentional_flag(patient: Patient) -> None:
    first, _ = check_in_submit(
        patient=patient,
        days_taken_last_7=3,
        stopped=False,
        wants_to_stop=False,
        missed_reason="ran_out",
    )
    check_in_evaluate(check_in_id=first.pk)
    second, _ = check_in_submit(
        patient=patient,
        days_taken_last_7=4,
        stopped=False,
        wants_to_stop=False,
        missed_reason="decided",
    )
    check_in_evaluate(check_in_id=second.pk)
    flag = Flag.objects.get(patient=patient, kind="adherence_lapse")
    assert (flag.intentional, flag.trigger_count) == (True, 2)


def test_forgetting_leads_to_tips_and_an_offer_of_a_daily_reminder(world: World) -> None:
    client = client_for(world.patient_a.user)
    form = {
        **FORM,
        "days_taken_last_7": "5",
        "missed_reason": "forgot",
        "submission_token": "0d3f1c2e-7f64-4d7b-9a4e-1b0c2f0d9e11",
    }
    # when she says she forgot
    response = client.post(reverse("clinical:check_in"), form)
    # then her confirmation is the page of tips, with the reminder she can turn on
    assert response.status_code == 302
    assert response["Location"] == reverse("adherence:dose_reminder")
    page = client.get(response["Location"]).content.decode()
    assert "weekly pill box" in page
    assert 'name="enabled"' in page
    assert 'name="time"' in page
    # and she turns it on at 08:30
    saved = client.post(reverse("adherence:dose_reminder"), {"enabled": "on", "time": "08:30"})
    assert saved.status_code == 302
    reminder = DoseReminder.objects.get(patient=world.patient_a)
    assert (reminder.enabled, reminder.time) == (True, dt.time(8, 30))


@pytest.mark.parametrize(("reason", "lapse"), [("side_effects", True), ("ran_out", False)])
def test_other_reasons_go_back_to_her_page_or_to_the_lapse_advice(
    world: World, reason: str, lapse: bool
) -> None:
    form = {
        **FORM,
        "days_taken_last_7": "5",
        "missed_reason": reason,
        "submission_token": "1d3f1c2e-7f64-4d7b-9a4e-1b0c2f0d9e11",
    }
    response = client_for(world.patient_a.user).post(reverse("clinical:check_in"), form)
    # a choice to miss doses is a lapse whatever the days, so she reads the lapse advice first
    if lapse:
        assert response["Location"] == reverse("clinical:check_in_done")
    else:
        assert response["Location"] == reverse("clinical:patient_home")


def test_a_bad_reminder_time_is_refused_with_a_message(world: World) -> None:
    response = client_for(world.patient_a.user).post(
        reverse("adherence:dose_reminder"), {"enabled": "on", "time": "25:99"}
    )
    assert response.status_code == 400
    assert "hours and minutes" in response.content.decode()
    assert not DoseReminder.objects.exists()


# --- proportion of days covered -----------------------------------------------------------------


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=dt.UTC)


def test_pdc_on_a_worked_example(db: None) -> None:
    # given her AI started 2024-01-01 and, by 2024-03-31 (91 days), four check-ins:
    patient = PatientFactory.create(time_zone="UTC")
    AiCourseFactory.create(patient=patient, start_date=dt.date(2024, 1, 1))
    today = dt.date(2024, 3, 31)
    for day, taken in [
        (dt.date(2024, 1, 14), 7),  # covers 01-08 .. 01-14
        (dt.date(2024, 2, 11), 5),  # covers 02-05 .. 02-11
        (dt.date(2024, 2, 14), 2),  # covers 02-08 .. 02-14: overlaps; it is the later, it counts
        (dt.date(2024, 3, 31), 6),  # covers 03-25 .. 03-31
    ]:
        CheckInFactory.create(
            patient=patient,
            submitted_at=_at(day),
            days_taken_last_7=taken,
            missed_reason="" if taken == 7 else "forgot",
        )
    # when the estimate is made
    pdc = pdc_estimate(patient, today=today)
    # then three weeks count (02-11 overlaps 02-14's week): (7 + 2 + 6) / 21 = 71 %
    assert (pdc.check_ins, pdc.days_taken, pdc.days_reported) == (3, 15, 21)
    assert pdc.percent == 71
    # the window starts with her AI; the 91 - 21 = 70 days without a check-in are unknown
    assert (pdc.start, pdc.days_unknown) == (dt.date(2024, 1, 1), 70)


def test_pdc_leaves_out_check_ins_older_than_12_months(db: None) -> None:
    patient = PatientFactory.create(time_zone="UTC")
    today = dt.date(2025, 6, 30)
    CheckInFactory.create(patient=patient, submitted_at=_at(dt.date(2024, 6, 1)))
    assert pdc_estimate(patient, today=today).pdc is None
    CheckInFactory.create(
        patient=patient,
        submitted_at=_at(dt.date(2025, 6, 1)),
        days_taken_last_7=0,
        missed_reason="decided",
    )
    estimate = pdc_estimate(patient, today=today)
    assert (estimate.check_ins, estimate.pdc, estimate.days_unknown) == (1, 0.0, 365 - 7)


def test_the_trajectory_page_states_the_pdc_and_its_method(world: World) -> None:
    CheckInFactory.create(
        patient=world.patient_a,
        submitted_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
        days_taken_last_7=6,
        missed_reason="side_effects",
    )
    page = client_for(world.clinician_a).get(reverse("clinical:patient", args=[world.patient_a.pk]))
    body = page.content.decode()
    assert "Proportion of days covered: 86 %" in body
    assert "Method: PDC = days taken" in body
    assert "unknown" in body


def test_the_clinicians_chart_shows_each_check_in_with_its_reason(world: World) -> None:
    for days_ago, taken, reason in [(20, 7, ""), (10, 6, "side_effects"), (1, 3, "forgot")]:
        CheckInFactory.create(
            patient=world.patient_a,
            submitted_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago),
            days_taken_last_7=taken,
            missed_reason=reason,
        )
    figure = trajectory_figure(patient_trajectory(world.patient_a))
    trace = next(t for t in figure["data"] if t.get("yaxis") == "y2")
    assert trace["y"] == [7, 6, 3]
    assert trace["hovertext"] == ["", "Side effects", "I forgot"]
    # a choice to miss doses is drawn apart (a diamond)
    assert trace["marker"]["symbol"] == ["circle", "diamond", "circle"]


# --- MARS-5 -----------------------------------------------------------------------------------


def _licensed() -> dict[str, Any]:
    definition = copy.deepcopy(bundled_structure())
    definition["version"] = "licensed-test"
    definition["licensed_wording"] = True
    for item in definition["items"]:
        item["label"] = {"en": f"Licensed {item['field']}", "zh-hans": f"许可 {item['field']}"}
        item["options"] = {str(n): {"en": f"answer {n}", "zh-hans": f"答 {n}"} for n in range(1, 6)}
    return definition


def test_the_bundled_mars5_structure_loads_and_is_not_asked() -> None:
    # the repository ships 5 items of 1-5 and no wording
    definition = bundled_structure()
    assert scale_definition_errors(definition) == []
    assert [(i["min"], i["max"]) for i in definition["items"]] == [(1, 5)] * 5
    instrument, created = scale_load(definition=definition)
    assert created
    assert instrument.code == MARS5
    # a structure is never asked, even where the clinic turned the scale on
    patient = PatientFactory.create()
    patient.clinic.ask_adherence_scale = True
    patient.clinic.save()
    assert scale_in_use(patient.clinic) is None


@pytest.mark.parametrize(
    ("breaks", "message"),
    [
        (lambda d: d["items"].pop(), "items must be, in order"),
        (lambda d: d["items"][2].update(max=7), "must run from 1 to 5"),
        (lambda d: d["items"][0]["options"].pop("3"), "options must label each answer 1 to 5"),
        (lambda d: d["items"][1]["label"].pop("zh-hans"), "no text for language 'zh-hans'"),
        (lambda d: d.update(code="bpi-sf"), "code must be 'mars-5'"),
    ],
)
def test_a_malformed_licensed_file_is_refused(tmp_path: Path, breaks: Any, message: str) -> None:
    definition = _licensed()
    breaks(definition)
    path = tmp_path / "mars5.json"
    path.write_text(json.dumps(definition), encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        call_command("load_adherence_scale", str(path))
    assert not Instrument.objects.filter(code=MARS5).exists()


def test_a_licensed_scale_is_asked_where_the_clinic_turned_it_on(world: World) -> None:
    # given the licensed wording loaded and her clinic asking the scale
    scale_load(definition=_licensed())
    world.clinic_a.ask_adherence_scale = True
    world.clinic_a.save()
    client = client_for(world.patient_a.user)
    page = client.get(reverse("clinical:check_in")).content.decode()
    assert "Licensed item_1" in page
    assert "answer 5" in page
    # when she answers it
    form = {
        **FORM,
        "days_taken_last_7": "7",
        "submission_token": "2d3f1c2e-7f64-4d7b-9a4e-1b0c2f0d9e11",
        **{f"scale_item_{n}": str(n) for n in range(1, 6)},
    }
    assert client.post(reverse("clinical:check_in"), form).status_code == 302
    # then the answers and their total are stored with the version asked
    check_in = AdherenceCheckIn.objects.get(patient=world.patient_a)
    assert check_in.scale_total == 15
    assert check_in.scale_answers["item_5"] == 5
    assert check_in.scale is not None
    assert check_in.scale.version == "licensed-test"


def test_scale_answers_are_refused_where_the_clinic_does_not_ask_it(patient: Patient) -> None:
    with pytest.raises(ValidationError) as info:
        check_in_submit(
            patient=patient,
            days_taken_last_7=7,
            stopped=False,
            wants_to_stop=False,
            scale_answers={f"item_{n}": 5 for n in range(1, 6)},
        )
    assert "scale_answers" in info.value.message_dict


def test_an_administrator_turns_the_scale_on_on_the_clinic_settings_page(world: World) -> None:
    from tests.patients.test_clinic_settings import _form as settings_form

    # given the clinic asks no scale (the default)
    assert rules_of(world.clinic_a).ask_adherence_scale is False
    url = reverse("patients:clinic_settings", args=[world.clinic_a.pk])
    # when the administrator ticks it on the settings page
    response = client_for(world.admin).post(
        url, settings_form(world.clinic_a, ask_adherence_scale="on")
    )
    # then the clinic's rules say so
    assert response.status_code == 302
    world.clinic_a.refresh_from_db()
    assert rules_of(world.clinic_a).ask_adherence_scale is True
