"""Each patient's score summary (the clinician's list reads it) stays equal to her responses.

Every writer of responses keeps it in its own transaction: the submission service, the staff
correction, the demo seed and ``import_cohort``. The expectation is recomputed here from the
responses themselves, as the list used to: the newest and second-newest current responses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments.models import Response, ScoreSummary
from assessments.services import Answers, response_correct
from assessments.summaries import score_summaries_refresh, score_summary_record
from patients.models import Patient
from tests.analytics.test_import import _rows, _write
from tests.conftest import World
from tests.factories import ClinicFactory, ResponseFactory

pytestmark = pytest.mark.django_db


def _expected(patient_id: int) -> dict[str, Any] | None:
    current = list(
        Response.objects.filter(patient_id=patient_id, superseded_by__isnull=True).order_by(
            "-submitted_at", "-id"
        )[:2]
    )
    if not current:
        return None
    latest, previous = current[0], (current[1] if len(current) > 1 else None)
    her = Patient.objects.get(pk=patient_id)
    return {
        "clinic_id": her.clinic_id,  # copied from her record as it is now
        "family_name": her.family_name,
        "latest_response_id": latest.pk,
        "latest_at": latest.submitted_at,
        "latest_average": latest.average_pain,
        "latest_interference": latest.interference_score,
        "latest_band": latest.pain_band,
        "latest_high": latest.interference_high,
        "previous_response_id": previous.pk if previous else None,
        "previous_at": previous.submitted_at if previous else None,
        "previous_average": previous.average_pain if previous else None,
        "previous_interference": previous.interference_score if previous else None,
    }


def _summary(patient_id: int) -> dict[str, Any] | None:
    return (
        ScoreSummary.objects.filter(patient_id=patient_id)
        .values(
            *(f.attname for f in ScoreSummary._meta.concrete_fields if f.attname != "patient_id")
        )
        .first()
    )


def _items(value: int) -> dict[str, int]:
    names = ["general_activity", "mood", "walking_ability", "normal_work"]
    names += ["relations_with_others", "sleep", "enjoyment_of_life"]
    return dict.fromkeys(names, value)


def test_each_submission_makes_the_newest_latest_and_the_one_before_previous(
    world: World,
) -> None:
    # given a first submission
    first = ResponseFactory.create(patient=world.patient_a, average_pain=4, interference=_items(3))
    assert _summary(world.patient_a.pk) == _expected(world.patient_a.pk)
    assert _summary(world.patient_a.pk)["previous_response_id"] is None  # type: ignore[index]
    # when she submits again
    second = ResponseFactory.create(patient=world.patient_a, average_pain=7, interference=_items(8))
    # then the new one is her latest and the first her previous
    summary = _summary(world.patient_a.pk)
    assert summary == _expected(world.patient_a.pk)
    assert summary is not None
    assert (summary["latest_response_id"], summary["previous_response_id"]) == (
        second.pk,
        first.pk,
    )
    assert (summary["latest_average"], summary["latest_band"], summary["latest_high"]) == (
        7,
        "moderate",  # pain severity (7 + 3 + 7 + 4) / 4 = 5.25
        True,
    )
    # and another patient's summary is untouched
    assert _summary(world.patient_b.pk) is None


def test_the_submission_path_gains_one_statement(world: World) -> None:
    # given a stored response (as the service has just saved it)
    response = ResponseFactory.create(patient=world.patient_a)
    # when it is counted in her summary
    with CaptureQueriesContext(connection) as queries:
        score_summary_record(response=response)
    # then that is one statement, and counting it twice changes nothing
    assert len(queries) == 1
    assert _summary(world.patient_a.pk) == _expected(world.patient_a.pk)


def test_a_response_older_than_her_latest_becomes_previous_or_nothing(world: World) -> None:
    # given responses at 10:00 and 12:00 (stored as a bulk writer would, then counted)
    patient = world.patient_a
    template = ResponseFactory.create(patient=patient)
    base = dt.datetime(2024, 6, 1, 10, tzinfo=dt.UTC)
    Response.objects.filter(pk=template.pk).delete()
    ScoreSummary.objects.filter(patient=patient).delete()

    def stored(hour: int, average: int) -> Response:
        fields = {
            f.attname: getattr(template, f.attname)
            for f in Response._meta.concrete_fields
            if f.attname not in ("id", "submitted_at", "average_pain", "submission_key")
        }
        return Response.objects.create(
            **fields,
            submitted_at=base.replace(hour=hour),
            average_pain=average,
            submission_key=uuid.uuid4(),
        )

    ten, noon = stored(10, 2), stored(12, 6)
    score_summary_record(response=ten)
    score_summary_record(response=noon)
    # when one given at 11:00 arrives late, then it is her previous; one from 9:00 changes nothing
    eleven = stored(11, 4)
    score_summary_record(response=eleven)
    nine = stored(9, 9)
    score_summary_record(response=nine)
    summary = _summary(patient.pk)
    assert summary == _expected(patient.pk)
    assert summary is not None
    assert (summary["latest_response_id"], summary["previous_response_id"]) == (noon.pk, eleven.pk)


@pytest.mark.parametrize("which", ["latest", "previous"])
def test_a_correction_replaces_the_version_it_supersedes(world: World, which: str) -> None:
    # given two responses
    older = ResponseFactory.create(patient=world.patient_a, average_pain=3, interference=_items(2))
    newer = ResponseFactory.create(patient=world.patient_a, average_pain=5, interference=_items(4))
    target = newer if which == "latest" else older
    # when staff correct one of them
    answers = dataclasses.replace(Answers.from_response(target), average_pain=9)
    correction = response_correct(
        response=target, answers=answers, corrected_by=world.nurse_a, reason="typed wrongly"
    )
    # then the correction takes its place, and the superseded version is gone from the summary
    summary = _summary(world.patient_a.pk)
    assert summary == _expected(world.patient_a.pk)
    assert summary is not None
    assert correction.pk in (summary["latest_response_id"], summary["previous_response_id"])
    assert target.pk not in (summary["latest_response_id"], summary["previous_response_id"])


def test_refresh_recomputes_rows_written_in_bulk(world: World) -> None:
    # given responses counted in her summary, then a wrong summary (as a bulk insert leaves it)
    ResponseFactory.create(patient=world.patient_a, average_pain=2)
    ResponseFactory.create(patient=world.patient_a, average_pain=8)
    ScoreSummary.objects.filter(patient=world.patient_a).update(latest_average=0)
    # when her summary is refreshed
    score_summaries_refresh(patient_ids=[world.patient_a.pk, world.patient_b.pk])
    # then it is right again, and a patient without responses still has none
    assert _summary(world.patient_a.pk) == _expected(world.patient_a.pk)
    assert _summary(world.patient_b.pk) is None


def test_the_demo_seed_leaves_every_summary_right() -> None:
    # given the demo cohort
    call_command("seed_demo", patients=12, seed=2, verbosity=0)
    # then every patient with responses has her summary, and it is right
    patients = list(Patient.objects.filter(responses__isnull=False).distinct())
    assert patients
    assert ScoreSummary.objects.count() == len(patients)
    for patient in patients:
        assert _summary(patient.pk) == _expected(patient.pk)


def test_an_imported_cohort_has_its_summaries(tmp_path: Path) -> None:
    # given an imported cohort (baseline and month-3 responses)
    ClinicFactory.create(code="imp", name="Import clinic")
    call_command("import_cohort", str(_write(tmp_path, _rows(n=6))))
    # then each patient's month-3 response is latest and her baseline previous
    patients = list(Patient.objects.filter(clinic__code="imp"))
    assert len(patients) == 6
    for patient in patients:
        summary = _summary(patient.pk)
        assert summary == _expected(patient.pk)
        assert summary is not None
        assert summary["previous_response_id"] is not None
