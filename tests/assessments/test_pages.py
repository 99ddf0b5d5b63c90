"""The patient form, her result and history, drafts, and the nurse's telephone entry."""

from __future__ import annotations

import uuid
from typing import Any

from django.urls import reverse

from assessments.models import EntryMode, Response, ResponseDraft
from tests.conftest import World, client_for
from tests.factories import ResponseFactory

NEW = "/assessments/new/"


def form_data(key: uuid.UUID | None = None, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "submission_key": str(key or uuid.uuid4()),
        "recall_period": "24h",
        "has_pain_today": "yes",
        "pain_locations": ["knees_left", "knees_right"],
        "worst_location": "knees_right",
        "worst_pain": "8",
        "least_pain": "2",
        "average_pain": "6",
        "pain_now": "4",
        "treatments": "",
        "relief_percent": "",
        "general_activity": "8",
        "mood": "7",
        "walking_ability": "8",
        "normal_work": "7",
        "relations_with_others": "6",
        "sleep": "8",
        "enjoyment_of_life": "8",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_form_has_a_fieldset_with_legend_per_scale_and_a_plain_body_map_list(
    world: World,
) -> None:
    body = client_for(world.patient_a.user).get(NEW).content.decode()
    assert body.count('<fieldset class="scale') == 4 + 1 + 7  # items 3-6, 8, 9A-G
    assert body.count("<legend>") >= 12
    assert 'type="checkbox" name="pain_locations" id="loc-knees_left"' in body
    assert 'name="save_draft"' in body
    assert "<script>" not in body  # no inline script: the form works without JavaScript


def test_a_double_submit_stores_one_response_and_shows_the_result_in_words(world: World) -> None:
    # given the form's one-time token
    client = client_for(world.patient_a.user)
    data = form_data(uuid.uuid4())
    # when she presses send twice
    first = client.post(NEW, data)
    second = client.post(NEW, data)
    # then one response is stored and both land on its result page
    assert Response.objects.count() == 1
    response = Response.objects.get()
    assert (
        first["Location"] == second["Location"] == reverse("assessments:detail", args=[response.pk])
    )
    page = client.get(first["Location"]).content.decode()
    assert "Your overall pain was moderate (5.0 of 10, the mean of your four pain ratings)." in page
    assert "Your pain interfered a lot with daily life (7.4 of 10)." in page


def test_one_message_per_missing_or_invalid_answer_and_nothing_saved(world: World) -> None:
    client = client_for(world.patient_a.user)
    data = form_data(worst_pain=None, least_pain="12", worst_location="elbows_left")
    response = client.post(NEW, data)
    body = response.content.decode()
    assert response.status_code == 200
    assert Response.objects.count() == 0
    assert body.count('class="field-error"') == 3
    assert "Choose a number from 0 to 10 for your worst pain." in body
    assert "Choose a whole number from 0 to 10." in body
    assert "The area that hurts most must be one of the areas you marked." in body
    # and her other answers are still there
    assert 'id="average_pain-6" value="6" checked' in body


def test_a_draft_survives_leaving_the_page_and_is_not_a_response(world: World) -> None:
    # given a half-filled questionnaire saved for later
    client = client_for(world.patient_a.user)
    key = uuid.uuid4()
    half = {"submission_key": str(key), "worst_pain": "7", "pain_locations": ["elbows_left"]}
    saved = client.post(NEW, {**half, "save_draft": "1"})
    assert saved["Location"] == reverse("clinical:patient_home")
    assert Response.objects.count() == 0
    # when she comes back
    home = client.get(reverse("clinical:patient_home")).content.decode()
    assert "Continue my questionnaire" in home
    body = client.get(NEW).content.decode()
    # then her answers and the same one-time token are restored
    assert 'id="worst_pain-7" value="7" checked' in body
    assert 'id="loc-elbows_left" value="elbows_left" checked' in body
    assert str(key) in body
    # and submitting consumes the draft
    client.post(NEW, form_data(key))
    assert ResponseDraft.objects.count() == 0
    assert Response.objects.get().submission_key == key


def test_the_form_speaks_chinese_to_a_chinese_speaking_patient(world: World) -> None:
    world.patient_a.preferred_language = "zh-hans"
    world.patient_a.save()
    body = client_for(world.patient_a.user).get(NEW).content.decode()
    assert 'lang="zh-hans"' in body
    assert "平均疼痛程度" in body  # item 5 from the instrument file
    assert "保存，稍后继续" in body  # the draft button from the catalogue
    assert "左膝" in body  # a body-map region


def test_the_patient_home_shows_her_history_in_words(world: World) -> None:
    ResponseFactory.create(
        patient=world.patient_a,
        interference=dict.fromkeys(["mood", "sleep", "normal_work", "walking_ability"], 8),
    )
    body = client_for(world.patient_a.user).get(reverse("clinical:patient_home")).content.decode()
    assert "Your pain interfered a lot with daily life (8.0 of 10)." in body
    assert reverse("assessments:new") in body


def test_a_nurse_enters_a_response_by_telephone_marked_as_such(world: World) -> None:
    client = client_for(world.nurse_a)
    url = reverse("assessments:staff_new", args=[world.patient_a.pk])
    assert world.patient_a.family_name in client.get(url).content.decode()
    response = client.post(url, form_data())
    stored = Response.objects.get()
    assert response["Location"] == reverse("assessments:detail", args=[stored.pk])
    assert stored.patient == world.patient_a
    assert stored.entry_mode == EntryMode.TELEPHONE
    assert stored.entered_by == world.nurse_a
    listing = client.get(reverse("assessments:patient_responses", args=[world.patient_a.pk]))
    assert "Entered by staff on the telephone (nurse_a)" in listing.content.decode()


def test_a_nurse_corrects_a_response_with_a_reason(world: World) -> None:
    original = ResponseFactory.create(patient=world.patient_a, worst_pain=9)
    client = client_for(world.nurse_a)
    url = reverse("assessments:correct", args=[original.pk])
    page = client.get(url).content.decode()
    assert 'id="worst_pain-9" value="9" checked' in page
    # without a reason nothing is saved
    client.post(url, form_data(worst_pain="6"))
    assert Response.objects.count() == 1
    client.post(url, form_data(worst_pain="6", correction_reason="patient misheard item 3"))
    correction = Response.objects.exclude(pk=original.pk).get()
    assert correction.supersedes == original
    assert correction.worst_pain == 6
    # and the corrected version can no longer be corrected
    assert client.get(url).status_code == 302


def test_a_correction_posted_after_someone_elses_is_refused_with_a_message(world: World) -> None:
    # given two nurses with the correction page of the same version open
    original = ResponseFactory.create(patient=world.patient_a, worst_pain=9)
    url = reverse("assessments:correct", args=[original.pk])
    first, second = client_for(world.nurse_a), client_for(world.nurse_b)
    world.nurse_b.clinics.add(world.clinic_a)
    assert second.get(url).status_code == 200
    # when the first saves her correction, then the second posts hers
    first.post(url, form_data(worst_pain="6", correction_reason="misheard item 3"))
    late_form = form_data(worst_pain="5", correction_reason="misheard too")
    late = second.post(url, late_form, follow=True)
    # then the second is told, not shown an error page, and only the first is stored
    assert late.status_code == 200
    assert "This version has been corrected already; correct the latest." in late.content.decode()
    assert Response.objects.filter(supersedes=original).get().worst_pain == 6


def test_patients_cannot_use_staff_pages_and_staff_cannot_use_the_patient_form(
    world: World,
) -> None:
    url = reverse("assessments:staff_new", args=[world.patient_a.pk])
    assert client_for(world.patient_a.user).get(url).status_code == 404
    assert client_for(world.nurse_a).get(NEW).status_code == 404


def test_every_recalled_item_carries_its_7_day_wording_and_no_developer_text(world: World) -> None:
    # given the bundled instrument, in English
    body = client_for(world.patient_a.user).get(NEW).content.decode()
    # then each item that asks about a period is worded for both periods (the script swaps them)
    assert body.count("in the last 7 days") == 7  # items 1, 2, 3, 4, 5, 8 and 9
    assert body.count("in the last 24 hours") == 2 * 7  # its data attribute, and shown
    # and the licence loading instruction stays out of her page
    assert "load_instrument" not in body


def test_after_choosing_7_days_the_form_comes_back_worded_for_7_days(world: World) -> None:
    # given an answer about the last 7 days with a mistake in it
    response = client_for(world.patient_a.user).post(
        NEW, form_data(recall_period="7d", worst_pain=None)
    )
    # then the form comes back with every item worded for the last 7 days
    body = response.content.decode()
    assert "Pain on average in the last 7 days</span>" in body
    assert "Pain at its worst in the last 24 hours</span>" not in body
