"""Reaching each other: the nurse calls from the flag (tel: links, "Called patient" in one
tap); the patient sees her clinic's number, prominently after a severe answer."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone, translation

from adherence.models import EventKind
from adherence.services import treatment_event_create
from followup.models import ActionKind, Flag, FlagAction, FlagKind, TriggerSource
from followup.services import flag_raise
from tests.conftest import World, client_for
from tests.factories import AiCourseFactory, ResponseFactory


def _high_flag(world: World) -> Flag:
    result = flag_raise(
        patient_id=world.patient_a.pk,
        kind=FlagKind.HIGH_INTERFERENCE,
        source=TriggerSource.RESPONSE,
        source_id=1,
    )
    assert result is not None
    return result.flag


def _with_phones(world: World) -> None:
    world.patient_a.phone = "+447911123456"
    world.patient_a.save()
    world.clinic_a.phone = "+442079460000"
    world.clinic_a.opening_hours = "Mon-Fri 09:00-17:00"
    world.clinic_a.save()


def test_the_flag_page_has_her_number_as_a_tel_link_and_a_one_tap_call(world: World) -> None:
    _with_phones(world)
    flag = _high_flag(world)
    client = client_for(world.nurse_a)
    page = client.get(reverse("followup:flag", args=[flag.pk])).content.decode()
    assert 'href="tel:+447911123456"' in page
    assert "07911 123456" in page
    # one tap after the call records it
    client.post(reverse("followup:flag", args=[flag.pk]), {"op": "act", "action": "called_patient"})
    action = FlagAction.objects.get(flag=flag)
    assert action.action == ActionKind.CALLED_PATIENT
    assert action.actor == world.nurse_a


def test_the_trajectory_page_has_her_number(world: World) -> None:
    _with_phones(world)
    page = client_for(world.clinician_a).get(reverse("clinical:patient", args=[world.patient_a.pk]))
    assert 'href="tel:+447911123456"' in page.content.decode()


def test_her_home_shows_the_clinic_number_and_hours(world: World) -> None:
    _with_phones(world)
    page = client_for(world.patient_a.user).get(reverse("clinical:patient_home")).content.decode()
    assert 'href="tel:+442079460000"' in page
    assert "020 7946 0000" in page
    assert "Mon-Fri 09:00-17:00" in page


def test_after_a_severe_answer_the_clinic_number_comes_first_in_its_own_words(
    world: World,
) -> None:
    _with_phones(world)
    world.clinic_a.call_us_words_en = "Please ring the nurses today on"
    world.clinic_a.call_us_words_zh_hans = "请今天联系护士"
    world.clinic_a.save()
    severe = ResponseFactory.create(
        patient=world.patient_a, worst_pain=9, least_pain=6, average_pain=8, pain_now=8
    )
    mild = ResponseFactory.create(
        patient=world.patient_a,
        worst_pain=2,
        least_pain=0,
        average_pain=1,
        pain_now=1,
        interference={k: 1 for k in severe.interference_answers},
    )
    client = client_for(world.patient_a.user)
    page = client.get(reverse("assessments:detail", args=[severe.pk])).content.decode()
    assert "Please ring the nurses today on" in page
    assert page.index("tel:+442079460000") < page.index("result-heading")
    calm = client.get(reverse("assessments:detail", args=[mild.pk])).content.decode()
    assert "Please ring the nurses today on" not in calm
    with translation.override("zh-hans"):
        assert world.clinic_a.call_us_words() == "请今天联系护士"


def test_the_default_words_are_translated(world: World) -> None:
    with translation.override("zh-hans"):
        assert world.clinic_a.call_us_words() == "今天请致电"
    assert world.clinic_a.call_us_words() == "Call us today on"


def test_a_death_shows_on_her_staff_pages_and_support_says_off_ai(world: World) -> None:
    patient = world.patient_a
    AiCourseFactory.create(patient=patient, start_date=dt.date(2023, 11, 1))
    flag = _high_flag(world)
    treatment_event_create(patient=patient, kind=EventKind.DEATH, start_date=timezone.localdate())
    client = client_for(world.clinician_a)
    record = client.get(reverse("clinical:patient", args=[patient.pk])).content.decode()
    assert "Died on" in record
    assert "She is off AI" in record
    assert "Died on" in client.get(reverse("followup:flag", args=[flag.pk])).content.decode()
