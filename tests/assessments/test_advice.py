"""Self-management advice is data: a checked, versioned file; she reads the part for her answers."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

import assessments
from assessments.advice import (
    BUNDLED_ADVICE,
    REQUIRED_SITUATIONS,
    advice_current,
    advice_errors,
    normalised,
    read_advice,
)
from assessments.models import AdviceItem, AdviceSet, Response
from patients.models import Clinic, Patient
from tests.assessments.test_pages import form_data
from tests.conftest import World, client_for, reminder_link
from tests.factories import ResponseFactory

LOW_INTERFERENCE = dict.fromkeys(
    (
        "general_activity",
        "mood",
        "walking_ability",
        "normal_work",
        "relations_with_others",
        "sleep",
        "enjoyment_of_life",
    ),
    2,
)
HIGH_INTERFERENCE = dict.fromkeys(LOW_INTERFERENCE, 8)
# worst, least, average, now -> severity 2 (mild), 5 (moderate), 7 (severe): Serlin 1995 bands
PAIN = {"mild": (3, 1, 2, 2), "moderate": (6, 4, 5, 5), "severe": (8, 6, 7, 7)}


def bundled() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(BUNDLED_ADVICE.read_text(encoding="utf-8"))
    return data


def texts(situation: str, language: str) -> list[str]:
    """The bundled file's texts for a situation, in a file language tag."""
    return [i["text"][language] for i in bundled()["items"] if i["situation"] == situation]


def respond(patient: Patient, band: str, *, interference: dict[str, int] | None = None) -> Response:
    worst, least, average, now = PAIN[band]
    response: Response = ResponseFactory.create(
        patient=patient,
        worst_pain=worst,
        least_pain=least,
        average_pain=average,
        pain_now=now,
        interference=interference or LOW_INTERFERENCE,
    )
    return response


def result_page(world: World, response: Response) -> str:
    client = client_for(world.patient_a.user)
    page = client.get(reverse("assessments:detail", args=[response.pk]))
    assert page.status_code == 200
    return page.content.decode()


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "advice.json"
    path.write_text(text, encoding="utf-8")
    return str(path)


def load_refused(path: str) -> str:
    with pytest.raises(CommandError) as refused:
        call_command("load_advice", path)
    return str(refused.value)


# --- the file, its loader and its versions -----------------------------------------------------


def test_the_bundled_file_says_something_for_every_situation_in_both_languages() -> None:
    data = read_advice(BUNDLED_ADVICE)
    assert advice_errors(data) == []
    situations = {item["situation"] for item in data["items"]}
    assert {situation.value for situation in REQUIRED_SITUATIONS} <= situations
    for item in data["items"]:
        assert item["text"]["en"]
        assert item["text"]["zh-Hans"]
        assert item["source"]


def test_the_migration_loads_the_bundled_file_as_the_loader_would(db: None) -> None:
    # given no advice (a test database may have been flushed since it was migrated)
    AdviceSet.objects.all().delete()
    migration = next((Path(assessments.__file__).parent / "migrations").glob("*_advice.py"))
    module = importlib.import_module(f"assessments.migrations.{migration.stem}")
    # when the migration's step runs
    module.load_bundled(apps, None)
    # then the bundled file is the current advice, stored as the loader stores it
    current = advice_current()
    assert current is not None
    assert current.version == bundled()["version"]
    assert current.content == normalised(read_advice(BUNDLED_ADVICE))
    assert current.items.count() == len(bundled()["items"])
    # so loading the bundled file again finds it loaded
    call_command("load_advice", str(BUNDLED_ADVICE))
    assert AdviceSet.objects.count() == 1


def _missing_chinese(data: dict[str, Any]) -> None:
    del data["items"][3]["text"]["zh-Hans"]


def _unknown_situation(data: dict[str, Any]) -> None:
    data["items"][2]["situation"] = "awful"


def _no_source(data: dict[str, Any]) -> None:
    data["items"][1]["source"] = "   "


def _unknown_field(data: dict[str, Any]) -> None:
    data["items"][0]["colour"] = "red"


def _unknown_language(data: dict[str, Any]) -> None:
    data["items"][4]["limits"]["fr"] = "Bon à savoir"


def _too_long(data: dict[str, Any]) -> None:
    data["items"][5]["text"]["en"] = "x" * 601


def _no_worsening_item(data: dict[str, Any]) -> None:
    data["items"] = [item for item in data["items"] if item["situation"] != "worsening"]


def _wrong_format(data: dict[str, Any]) -> None:
    data["format"] = "aimss-advice/9"


def _limits_not_an_object(data: dict[str, Any]) -> None:
    data["items"][6]["limits"] = "none"


@pytest.mark.parametrize(
    ("spoil", "fault"),
    [
        (_missing_chinese, r"line \d+: items\[3\]\.text\.zh-Hans: missing"),
        (_unknown_situation, r"line \d+: items\[2\]\.situation: 'awful' is not one of none, mild"),
        (_no_source, r"line \d+: items\[1\]\.source: empty"),
        (_unknown_field, r"line \d+: items\[0\]\.colour: unknown field"),
        (_unknown_language, r"line \d+: items\[4\]\.limits\.fr: unknown language"),
        (_too_long, r"line \d+: items\[5\]\.text\.en: longer than 600 characters \(601\)"),
        (_no_worsening_item, r"line \d+: items: no item for situation 'worsening'"),
        (_wrong_format, r"line \d+: format: must be 'aimss-advice/1'"),
        (_limits_not_an_object, r"line \d+: items\[6\]\.limits: must be an object"),
    ],
)
def test_a_malformed_file_is_refused_with_its_place_and_the_current_advice_stays(
    db: None, tmp_path: Path, spoil: Callable[[dict[str, Any]], None], fault: str
) -> None:
    # given the current advice, and a new version spoilt in one place
    before = advice_current()
    data = bundled()
    data["version"] = "clinic-2027"
    spoil(data)
    # when the clinic loads it
    message = load_refused(write(tmp_path, json.dumps(data, indent=2, ensure_ascii=False)))
    # then it is refused, naming the fault's line and place, and nothing changed
    assert re.search(fault, message), message
    assert "nothing was changed" in message
    assert not AdviceSet.objects.filter(version="clinic-2027").exists()
    assert advice_current() == before


def test_the_fault_names_the_line_it_is_on(db: None, tmp_path: Path) -> None:
    text = "\n".join(
        [
            "{",
            '  "format": "aimss-advice/1",',
            '  "version": "short",',
            '  "version": "shorter",',
            '  "items": [',
            "    {",
            '      "situation": "mild",',
            '      "text": {"en": "Walk."},',
            '      "source": "Guideline summary",',
            '      "limits": {"en": "General.", "zh-Hans": "一般性建议。"}',
            "    },",
            "    42",
            "  ]",
            "}",
        ]
    )
    message = load_refused(write(tmp_path, text))
    assert "line 4: version: given twice" in message
    assert "line 8: items[0].text.zh-Hans: missing" in message
    assert "items[1]: must be an object" in message
    assert "line 5: items: no item for situation 'moderate'" in message


def test_a_file_that_is_not_json_is_refused_with_its_line_and_column(
    db: None, tmp_path: Path
) -> None:
    before = advice_current()
    text = '{\n  "format": "aimss-advice/1",\n  "items": [\n    {"situation": "mild",}\n  ]\n}\n'
    message = load_refused(write(tmp_path, text))
    assert "line 4, column 26: not valid JSON" in message
    assert list(AdviceSet.objects.all()) == [before]


def test_a_changed_file_under_a_loaded_version_is_refused(db: None, tmp_path: Path) -> None:
    advice_current()  # the bundled version (migrated, or loaded again after a flush)
    data = bundled()
    data["items"][0]["text"]["en"] = "Changed wording."
    message = load_refused(write(tmp_path, json.dumps(data)))
    assert f"version: '{data['version']}' is already loaded with other content" in message
    current = advice_current()
    assert current is not None
    assert current.items.get(position=0).text["en"] != "Changed wording."


def test_a_new_version_becomes_current_and_the_old_one_is_kept(
    world: World, tmp_path: Path
) -> None:
    # given the clinic's reviewed advice, with its own words for mild pain
    old = advice_current()
    assert old is not None
    data = bundled()
    data["version"] = "clinic-a-2027-01"
    data["items"][1]["text"]["en"] = "Walk to the park with a friend three times a week."
    path = write(tmp_path, json.dumps(data, ensure_ascii=False))
    # when it is loaded (twice: the second time does nothing)
    call_command("load_advice", path)
    call_command("load_advice", path)
    # then it is current, the old version is kept, and she reads the new words
    assert advice_current() == AdviceSet.objects.get(version="clinic-a-2027-01")
    assert AdviceSet.objects.filter(pk=old.pk).exists()
    assert AdviceItem.objects.filter(advice_set=old).count() == len(data["items"])
    page = result_page(world, respond(world.patient_a, "mild"))
    assert "Walk to the park with a friend three times a week." in page
    assert escape(bundled()["items"][1]["text"]["en"]) not in page


def test_a_check_only_run_loads_nothing(db: None, tmp_path: Path) -> None:
    data = bundled()
    data["version"] = "clinic-2027-draft"
    call_command("load_advice", "--check", write(tmp_path, json.dumps(data)))
    assert not AdviceSet.objects.filter(version="clinic-2027-draft").exists()


def test_an_administrator_reviews_the_advice_read_only(world: World) -> None:
    current = advice_current()
    assert current is not None
    admin = client_for(world.admin)
    listing = admin.get(reverse("admin:assessments_adviceset_changelist"))
    assert listing.status_code == 200
    assert current.version in listing.content.decode()
    page = admin.get(reverse("admin:assessments_adviceset_change", args=[current.pk]))
    assert page.status_code == 200
    assert "Guideline summary on AIMSS" in page.content.decode()
    assert admin.get(reverse("admin:assessments_adviceset_add")).status_code == 403


# --- what she reads after a questionnaire --------------------------------------------------------


@pytest.mark.parametrize("band", ["mild", "moderate", "severe"])
@pytest.mark.parametrize(("language", "tag"), [("en", "en"), ("zh-hans", "zh-Hans")])
def test_she_reads_the_advice_for_her_band_in_her_language(
    world: World, band: str, language: str, tag: str
) -> None:
    # given a patient who reads in this language and answers in this band
    world.patient_a.preferred_language = language
    world.patient_a.save()
    response = respond(world.patient_a, band)
    assert response.pain_band == band
    # when she opens her result
    page = result_page(world, response)
    # then she reads her band's advice in her language, and not another band's
    assert f'lang="{language}"' in page
    for text in texts(band, tag):
        assert escape(text) in page
    for other in set(PAIN) - {band}:
        for text in texts(other, tag):
            assert escape(text) not in page
    other_tag = "en" if tag == "zh-Hans" else "zh-Hans"
    assert escape(texts(band, other_tag)[0]) not in page
    source = next(i["source"] for i in bundled()["items"] if i["situation"] == band)
    assert escape(source) in page  # each item names its source


def test_the_band_follows_the_clinics_cut_points(world: World) -> None:
    # given a clinic whose severe band starts at 5
    Clinic.objects.filter(pk=world.clinic_a.pk).update(pain_moderate_from=3, pain_severe_from=5)
    world.patient_a.refresh_from_db()
    # when she answers with a severity of 5
    page = result_page(world, respond(world.patient_a, "moderate"))
    # then she reads the severe advice
    assert escape(texts("severe", "en")[0]) in page
    assert escape(texts("moderate", "en")[0]) not in page


def _phone_and_advice(page: str) -> tuple[int, int]:
    return page.find('href="tel:+442079460000"'), page.find('id="advice-heading"')


@pytest.mark.parametrize(
    ("band", "interference"),
    [("moderate", HIGH_INTERFERENCE), ("severe", LOW_INTERFERENCE)],
    ids=["interference-high", "pain-severe"],
)
def test_her_clinics_phone_comes_first_when_interference_is_high_or_pain_severe(
    world: World, band: str, interference: dict[str, int]
) -> None:
    Clinic.objects.filter(pk=world.clinic_a.pk).update(phone="+442079460000")
    response = respond(world.patient_a, band, interference=interference)
    page = result_page(world, response)
    phone, advice = _phone_and_advice(page)
    assert 0 <= phone < advice
    assert "call-clinic prominent" in page
    if response.interference_high:
        for text in texts("high_interference", "en"):
            assert escape(text) in page


def test_her_clinics_phone_follows_the_advice_when_neither(world: World) -> None:
    Clinic.objects.filter(pk=world.clinic_a.pk).update(phone="+442079460000")
    response = respond(world.patient_a, "moderate")
    assert not response.interference_high
    page = result_page(world, response)
    phone, advice = _phone_and_advice(page)
    assert 0 <= advice < phone
    assert "call-clinic prominent" not in page
    assert escape(texts("high_interference", "en")[0]) not in page


@pytest.mark.parametrize(
    ("second", "points", "shown"),
    [
        ((5, 1, 2, 2), "2.0", True),  # worst pain up 2 (3 -> 5)
        ((3, 1, 4, 2), "2.0", True),  # average pain up 2 (2 -> 4)
        ((4, 1, 3, 2), "2.0", False),  # up 1: not worsening
        ((5, 1, 2, 2), "3.0", False),  # up 2 where the clinic counts 3
        ((1, 0, 1, 1), "2.0", False),  # down
    ],
)
def test_worsening_advice_appears_only_when_her_pain_rose_by_the_clinics_points(
    world: World, second: tuple[int, int, int, int], points: str, shown: bool
) -> None:
    # given the clinic's worsening points and her previous answer (worst 3, average 2)
    Clinic.objects.filter(pk=world.clinic_a.pk).update(worsening_points=Decimal(points))
    world.patient_a.refresh_from_db()
    respond(world.patient_a, "mild")
    # when she answers again
    worst, least, average, now = second
    response = ResponseFactory.create(
        patient=world.patient_a,
        worst_pain=worst,
        least_pain=least,
        average_pain=average,
        pain_now=now,
        interference=LOW_INTERFERENCE,
    )
    # then the worsening advice is there only after a rise
    page = result_page(world, response)
    assert (escape(texts("worsening", "en")[0]) in page) is shown


def test_the_reminder_links_thank_you_page_gives_advice_but_tells_nothing_of_earlier_answers(
    world: World,
) -> None:
    # given an earlier, milder answer of hers, and her reminder link
    respond(world.patient_a, "mild")
    today = timezone.localdate()
    Patient.objects.filter(pk=world.patient_a.pk).update(
        aimss_diagnosis_date=today - dt.timedelta(days=1),
        quiet_hours_start=dt.time(0, 0),
        quiet_hours_end=dt.time(0, 0),
    )
    world.patient_a.refresh_from_db()
    client = Client()
    client.get(reminder_link(world.patient_a))
    # when she answers through it with her pain much higher (moderate, interference 7.4)
    submitted = client.post(reverse("assessments:new"), form_data())
    page = client.get(submitted["Location"]).content.decode()
    # then her thank-you page gives the advice for these answers, not the worsening advice
    assert "Thank you" in page
    assert escape(texts("moderate", "en")[0]) in page
    assert escape(texts("high_interference", "en")[0]) in page
    assert escape(texts("worsening", "en")[0]) not in page


def test_her_first_answer_has_no_worsening_advice(world: World) -> None:
    page = result_page(world, respond(world.patient_a, "severe"))
    assert escape(texts("worsening", "en")[0]) not in page


def test_the_care_team_sees_her_scores_without_her_advice(world: World) -> None:
    response = respond(world.patient_a, "moderate")
    page = client_for(world.nurse_a).get(reverse("assessments:detail", args=[response.pk]))
    assert escape(texts("moderate", "en")[0]) not in page.content.decode()


# --- what she reads after an adherence check-in ----------------------------------------------


def _check_in(world: World, days: str) -> Any:
    form = {
        "days_taken_last_7": days,
        "stopped": "no",
        "wants_to_stop": "no",
        "submission_token": str(uuid.uuid4()),
    }
    if int(days) < 7:
        # a reason that is neither her choice (always a lapse) nor forgetting (its own page)
        form["missed_reason"] = "ran_out"
    return client_for(world.patient_a.user).post(reverse("clinical:check_in"), form, follow=True)


@pytest.mark.parametrize(("days", "shown"), [("4", True), ("5", False), ("7", False)])
def test_a_check_in_below_the_clinics_minimum_days_shows_the_lapse_advice(
    world: World, days: str, shown: bool
) -> None:
    page = _check_in(world, days)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Thank you" in body
    assert (escape(texts("check_in_lapse", "en")[0]) in body) is shown
    # without a lapse she is back on her page, as before
    landed = page.redirect_chain[-1][0]
    assert (landed == reverse("clinical:patient_home")) is not shown


def test_the_lapse_advice_speaks_chinese_to_her(world: World) -> None:
    world.patient_a.preferred_language = "zh-hans"
    world.patient_a.save()
    body = _check_in(world, "2").content.decode()
    assert escape(texts("check_in_lapse", "zh-Hans")[0]) in body
    assert "漏服药物时" in body  # the section's heading, from the catalogue


def test_the_check_in_result_is_about_her_own_latest_check_in(world: World) -> None:
    # given patient A's lapse and patient B with no check-in
    _check_in(world, "2")
    # then the result page names no check-in, and B, who has none, finds nothing there
    assert reverse("clinical:check_in_done") == "/me/check-in/done/"
    other = client_for(world.patient_b.user).get(reverse("clinical:check_in_done"))
    assert other.status_code == 404
