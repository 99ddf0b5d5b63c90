"""Database invariants: item ranges, one response per submission key, immutability, versions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from assessments.models import Response
from assessments.selectors import responses_of, versions_of
from assessments.services import Answers, ResponseAlreadyCorrected, response_correct
from tests.conftest import World
from tests.factories import ResponseFactory


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("worst_pain", 11),
        ("pain_now", -1),
        ("interference_sleep", 11),
        ("relief_percent", 35),
        ("relief_percent", 110),
        ("recall_period", "30d"),
        ("pain_band", "extreme"),
        ("pain_severity_score", 10.5),
    ],
)
def test_the_database_refuses_out_of_range_answers_written_directly(
    world: World, field: str, value: Any
) -> None:
    # given a stored response copied field by field
    response = ResponseFactory.create(patient=world.patient_a)
    response.pk = None
    response.submission_key = None  # type: ignore[assignment]
    setattr(response, field, value)
    # when it is written past every validation
    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.bulk_create([response])


def test_one_response_per_patient_and_submission_key(world: World) -> None:
    response = ResponseFactory.create(patient=world.patient_a)
    copy = Response.objects.get(pk=response.pk)
    copy.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.bulk_create([copy])


def test_a_correction_must_have_a_reason_in_the_database(world: World) -> None:
    response = ResponseFactory.create(patient=world.patient_a)
    copy = Response.objects.get(pk=response.pk)
    copy.pk = None
    copy.submission_key = None  # type: ignore[assignment]
    copy.supersedes = response
    copy.correction_reason = ""
    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.bulk_create([copy])


def test_a_submitted_response_cannot_be_updated(world: World) -> None:
    # given a submitted response
    response = ResponseFactory.create(patient=world.patient_a, worst_pain=7)
    # when anything tries to change it in place, even a bulk update
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        Response.objects.filter(pk=response.pk).update(worst_pain=2)
    # then it is unchanged
    response.refresh_from_db()
    assert response.worst_pain == 7


def test_a_correction_is_a_new_version_and_the_old_stays_visible(world: World) -> None:
    # given a response with a mistyped worst pain
    original = ResponseFactory.create(patient=world.patient_a, worst_pain=9, least_pain=1)
    # when a nurse corrects it
    answers = Answers.from_response(original)
    fixed = Answers(**{**answers.as_dict(), "worst_pain": 6})
    correction = response_correct(
        response=original, answers=fixed, corrected_by=world.nurse_a, reason="typed 9 for 6"
    )
    # then a new version holds the corrected answers and scores, pointing at the original
    assert correction.pk != original.pk
    assert correction.supersedes == original
    assert correction.worst_pain == 6
    assert correction.pain_severity_score == (6 + 1 + 5 + 4) / 4
    assert correction.entered_by == world.nurse_a
    assert correction.submitted_at == original.submitted_at
    # and the original is unchanged and still stored, but no longer current
    original.refresh_from_db()
    assert original.worst_pain == 9
    assert list(responses_of(patient=world.patient_a)) == [correction]
    assert set(responses_of(patient=world.patient_a, current_only=False)) == {original, correction}
    assert versions_of(original) == versions_of(correction) == [original, correction]


def test_current_keeps_every_patients_newest_versions_and_only_those(world: World) -> None:
    # given two patients' responses, one corrected twice and one corrected once
    first = ResponseFactory.create(patient=world.patient_a)
    untouched_a = ResponseFactory.create(patient=world.patient_a)
    other = ResponseFactory.create(patient=world.patient_b)
    untouched_b = ResponseFactory.create(patient=world.patient_b)
    answers = Answers.from_response(first)
    second = response_correct(
        response=first, answers=answers, corrected_by=world.nurse_a, reason="a"
    )
    third = response_correct(
        response=second, answers=answers, corrected_by=world.nurse_a, reason="b"
    )
    fixed = response_correct(
        response=other, answers=answers, corrected_by=world.nurse_a, reason="c"
    )
    # then the current versions are the last of each chain and the uncorrected ones
    assert set(Response.objects.current()) == {third, untouched_a, fixed, untouched_b}
    assert set(Response.objects.filter(patient=world.patient_a).current()) == {third, untouched_a}


def test_a_correction_of_another_patients_response_is_refused(world: World) -> None:
    original = ResponseFactory.create(patient=world.patient_a)
    wrong = ResponseFactory.create(patient=world.patient_b)
    wrong.pk = None
    wrong.supersedes = original
    wrong.correction_reason = "wrong patient"
    with pytest.raises(ValidationError) as caught:
        wrong.full_clean(validate_unique=False, validate_constraints=False)
    assert "supersedes" in caught.value.message_dict


def test_a_version_can_be_corrected_only_once(world: World) -> None:
    original = ResponseFactory.create(patient=world.patient_a)
    answers = Answers.from_response(original)
    first = response_correct(
        response=original, answers=answers, corrected_by=world.nurse_a, reason="a"
    )
    # the service refuses a second correction of the same version, under its row lock
    with pytest.raises(ResponseAlreadyCorrected), transaction.atomic():
        response_correct(response=original, answers=answers, corrected_by=world.nurse_a, reason="b")
    # and the database refuses a second successor written past it
    second = Response.objects.get(pk=first.pk)
    second.pk, second.submission_key = None, uuid.uuid4()
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save(force_insert=True)


def test_a_correction_without_a_reason_is_refused(world: World) -> None:
    original = ResponseFactory.create(patient=world.patient_a)
    with pytest.raises(ValidationError) as caught:
        response_correct(
            response=original,
            answers=Answers.from_response(original),
            corrected_by=world.nurse_a,
            reason="  ",
        )
    assert "correction_reason" in caught.value.message_dict


def test_scores_use_the_clinics_thresholds(world: World) -> None:
    # given a clinic that counts interference of 5 as high
    world.clinic_a.high_interference_from = 5
    world.clinic_a.save()
    world.patient_a.refresh_from_db()
    response = ResponseFactory.create(
        patient=world.patient_a,
        interference=dict.fromkeys(["mood", "sleep", "normal_work", "walking_ability"], 5),
    )
    assert response.interference_high is True
