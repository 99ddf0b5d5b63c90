"""The clinician's patient list: annotations, filters, sort, and a constant number of queries."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from adherence.models import InterventionCategory, Measure
from adherence.selectors import survival_records
from assessments.models import ScoreSummary
from assessments.services import Answers, response_correct
from clinical.selectors import PatientListFilters, patient_list, patient_list_page
from followup.services import flag_raise
from patients.models import Patient
from patients.services import patient_update
from tests.conftest import World, client_for
from tests.factories import (
    AiCourseFactory,
    InterventionFactory,
    PatientFactory,
    ResponseFactory,
)


def _patients(world: World, n: int) -> None:
    for i in range(n):
        patient = PatientFactory.create(clinic=world.clinic_a, family_name=f"Listed{i:03d}")
        ResponseFactory.create(patient=patient, average_pain=4)
        ResponseFactory.create(patient=patient, average_pain=6)
        AiCourseFactory.create(patient=patient)
        InterventionFactory.create(patient=patient)
        if i % 2:
            flag_raise(patient_id=patient.pk, kind="worsening", source="response", source_id=i)


def _queries_for_list(world: World, page: int = 1) -> tuple[int, str]:
    client = client_for(world.clinician_a)
    client.get(reverse("clinical:patients"))  # session warm-up
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("clinical:patients"), {"sort": "average", "page": str(page)})
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_list_costs_the_same_number_of_queries_for_3_and_30_patients(world: World) -> None:
    # given 3 patients with responses, courses, interventions and flags (and one without
    # responses, the world's patient A: the page reaches the patients without a score)
    _patients(world, 3)
    few, _body = _queries_for_list(world)
    # when 27 more are added
    _patients(world, 27)
    many, body = _queries_for_list(world, page=2)
    # then the page that reaches the patients without a score costs the same number of queries
    assert few == many
    assert "Listed026" in body  # (the last of the 27 added)
    # and a page of patients with a score one query fewer (it needs nothing of the others)
    first, body = _queries_for_list(world)
    assert first == few - 1
    assert "Listed000" in body


def test_a_row_shows_latest_pain_trend_flags_and_strategy(world: World) -> None:
    # given a patient whose pain rose from 4 to 6, with an open flag and one category at diagnosis
    _patients(world, 2)
    body = (
        client_for(world.clinician_a)
        .post(reverse("clinical:patients"), {"q": "Listed001"}, follow=True)
        .content.decode()
    )
    # then her row says so
    assert "Listed001" in body
    assert "Listed000" not in body
    assert "▲ +2" in body
    assert "Monotherapy" in body


def test_filters_by_band_flags_and_strategy(world: World) -> None:
    _patients(world, 4)
    client = client_for(world.clinician_a)
    with_flags = client.get(reverse("clinical:patients"), {"flags": "1"}).content.decode()
    assert "Listed001" in with_flags
    assert "Listed000" not in with_flags
    severe = client.get(reverse("clinical:patients"), {"band": "severe"}).content.decode()
    assert "Listed001" not in severe
    combined = client.get(reverse("clinical:patients"), {"strategy": "combined"}).content.decode()
    assert "Listed001" not in combined


def test_the_sql_strategy_filter_agrees_with_the_survival_selector(world: World) -> None:
    # given patients with no intervention, one category, two categories, one just outside the
    # window (day 15) and one before the diagnosis
    diagnosis = dt.date(2024, 3, 1)
    cases = {
        "none": [],
        "mono": [(InterventionCategory.PHYSICAL_THERAPY, Measure.EXERCISE, 0)],
        "combined": [
            (InterventionCategory.PHYSICAL_THERAPY, Measure.EXERCISE, 0),
            (InterventionCategory.ANALGESIC, Measure.CELECOXIB, 14),
        ],
        "late": [(InterventionCategory.ANALGESIC, Measure.CELECOXIB, 15)],
        "early": [(InterventionCategory.ANALGESIC, Measure.CELECOXIB, -1)],
    }
    for name, interventions in cases.items():
        patient = PatientFactory.create(
            clinic=world.clinic_a, family_name=name, aimss_diagnosis_date=diagnosis
        )
        for category, measure, day in interventions:
            InterventionFactory.create(
                patient=patient,
                category=category,
                measure=measure,
                start_date=diagnosis + dt.timedelta(days=day),
            )
    expected = {
        r.patient_id: r.strategy or "none"
        for r in survival_records(Patient.objects.filter(clinic=world.clinic_a))
    }
    # when the list filters by each strategy
    for strategy in ("monotherapy", "combined", "none"):
        found = set(
            patient_list(
                user=world.clinician_a, filters=PatientListFilters(strategy=strategy)
            ).values_list("pk", flat=True)
        )
        # then it selects exactly the patients the survival selector puts there
        assert found == {pk for pk, s in expected.items() if s == strategy}, strategy


def test_sorting_by_average_follows_corrections_and_puts_patients_without_answers_last(
    world: World,
) -> None:
    # given three patients: latest average pain 8, latest 3, and none yet
    high = PatientFactory.create(clinic=world.clinic_a, family_name="Sorted1")
    low = PatientFactory.create(clinic=world.clinic_a, family_name="Sorted2")
    PatientFactory.create(clinic=world.clinic_a, family_name="Sorted3")
    ResponseFactory.create(patient=low, average_pain=3)
    wrong = ResponseFactory.create(patient=high, average_pain=8)
    client = client_for(world.clinician_a)

    def order() -> list[str]:
        body = client.post(
            reverse("clinical:patients"), {"q": "Sorted", "sort": "average"}, follow=True
        )
        return re.findall(r"(Sorted\d)", body.content.decode())

    assert order() == ["Sorted1", "Sorted2", "Sorted3"]
    # when staff correct the 8 to a 1
    answers = dataclasses.replace(Answers.from_response(wrong), average_pain=1)
    response_correct(response=wrong, answers=answers, corrected_by=world.nurse_a, reason="typo")
    # then she sorts below the 3, and the patient without answers stays last
    assert order() == ["Sorted2", "Sorted1", "Sorted3"]


def _cohort_for_sorting(world: World) -> None:
    """Patients with and without scores, ties in average pain and in family name, in two
    clinics: the order across a page boundary has to hold in every case."""
    for i in range(40):
        clinic = world.clinic_a if i % 4 else world.clinic_b
        patient = PatientFactory.create(clinic=clinic, family_name=f"Tied{i % 7}")
        if i % 3:  # two in three have answered, some twice
            ResponseFactory.create(patient=patient, average_pain=i % 5)
            if i % 2:
                ResponseFactory.create(patient=patient, average_pain=(i * 7) % 11)
        if i % 5 == 0:
            flag_raise(patient_id=patient.pk, kind="worsening", source="response", source_id=i)


@pytest.mark.parametrize(
    "filters",
    [
        PatientListFilters(),
        PatientListFilters(band="mild"),
        PatientListFilters(band="high_interference"),
        PatientListFilters(search="Tied3"),
        PatientListFilters(open_flags=True),
        PatientListFilters(strategy="none"),
    ],
    ids=["all", "band", "high", "search", "flags", "strategy"],
)
@pytest.mark.parametrize("who", ["clinician_a", "admin"])
def test_every_page_sorted_by_average_is_the_one_query_order(
    world: World, filters: PatientListFilters, who: str
) -> None:
    # given patients with and without scores, ties, and another clinic
    _cohort_for_sorting(world)
    user = getattr(world, who)
    filters = dataclasses.replace(filters, sort="average")
    # when the list is read page by page (scored patients first, then the rest, separately)
    expected = list(patient_list(user=user, filters=filters).values_list("pk", flat=True))
    pages, number = [], 1
    while True:
        page, rows = patient_list_page(user=user, filters=filters, page_number=number)
        pages += [row.patient_id for row in rows]
        if not page.has_next():
            break
        number += 1
    # then it is the order of the single query over patients left-joined to their scores
    assert pages == expected
    assert page.paginator.count == len(expected)


def test_a_move_or_a_rename_follows_her_into_the_list_sorted_by_average(world: World) -> None:
    # given a patient of clinic A with a score
    patient = PatientFactory.create(clinic=world.clinic_a, family_name="Before")
    ResponseFactory.create(patient=patient, average_pain=7)
    by_average = PatientListFilters(sort="average")

    def listed(user: Any) -> list[str]:
        _page, rows = patient_list_page(user=user, filters=by_average, page_number=1)
        return [row.name for row in rows if row.patient_id == patient.pk]

    # when she is renamed, then moved to clinic B
    patient_update(patient=patient, family_name="After")
    assert listed(world.clinician_a) == [f"After, {patient.given_name}"]
    patient_update(patient=patient, clinic=world.clinic_b)
    # then clinic B's list sorted by average shows her under her new name, clinic A's no more
    assert listed(world.clinician_a) == []
    assert listed(world.clinician_b) == [f"After, {patient.given_name}"]
    summary = ScoreSummary.objects.get(patient=patient)
    assert (summary.clinic_id, summary.family_name) == (world.clinic_b.pk, "After")
    # and a later submission keeps the copy as her record has it
    ResponseFactory.create(patient=patient, average_pain=2)
    summary.refresh_from_db()
    assert (summary.clinic_id, summary.family_name, summary.latest_average) == (
        world.clinic_b.pk,
        "After",
        2,
    )


def test_a_search_never_puts_its_text_in_a_url(world: World, caplog: Any) -> None:
    # given patients of clinic A, one of them the one searched for
    _patients(world, 3)
    client = client_for(world.clinician_a)
    # when a clinician searches for her name with a filter and a sort
    with caplog.at_level(logging.DEBUG):
        response = client.post(
            reverse("clinical:patients"), {"q": "Listed001", "sort": "record", "flags": ""}
        )
        # then she is sent to the list by an opaque id, and the list shows the patient found
        assert response.status_code == 302
        location = response["Location"]
        assert "Listed001" not in location
        assert "search=" in location
        assert "sort=record" in location
        body = client.get(location).content.decode()
    assert "Listed001" in body
    assert "Listed000" not in body
    # and the page's own links (paging) carry the id, never the text
    assert "Listed001" not in "".join(re.findall(r'href="([^"]*)"', body))
    # and nothing identifying reached the logs
    assert "Listed001" not in caplog.text
    # while the id means nothing in another session
    other = client_for(world.clinician_a).get(location).content.decode()
    assert "Listed000" in other


def test_the_search_text_in_a_query_string_is_ignored(world: World) -> None:
    _patients(world, 2)
    body = (
        client_for(world.clinician_a)
        .get(reverse("clinical:patients"), {"q": "Listed001"})
        .content.decode()
    )
    assert "Listed000" in body


def test_the_band_beside_average_pain_is_the_band_of_that_average(world: World) -> None:
    # given average pain 5 with a pain severity of 4.75 (mild by its own measure)
    ResponseFactory.create(patient=world.patient_a, average_pain=5)
    client = client_for(world.clinician_a)
    # when the clinician opens the list, and filters it on moderate and on mild pain
    body = client.get(reverse("clinical:patients")).content.decode()
    moderate = client.get(reverse("clinical:patients"), {"band": "moderate"}).content.decode()
    mild = client.get(reverse("clinical:patients"), {"band": "mild"}).content.decode()
    # then her 5 stands beside "Moderate pain", and the filter agrees with what it shows
    assert re.search(r"<td>5 <span class=\"band band-moderate\">Moderate pain</span>", body)
    assert world.patient_a.record_number in moderate
    assert world.patient_a.record_number not in mild


def test_bands_and_strategies_reach_staff_as_translated_names_not_codes(world: World) -> None:
    # given a patient whose latest pain band is moderate, and a nurse who reads Chinese
    _patients(world, 1)
    world.clinician_a.preferred_language = "zh-hans"
    world.clinician_a.save()
    # when each opens the list
    english = client_for(world.nurse_a).get(reverse("clinical:patients")).content.decode()
    with translation.override("en"):  # her page leaves Chinese active in this thread: not after
        chinese = client_for(world.clinician_a).get(reverse("clinical:patients")).content.decode()
    # then the band is named in her language, and the raw code is only a colour class
    assert 'band-moderate">Moderate pain<' in english
    assert ">moderate<" not in english
    assert 'band-moderate">中度疼痛<' in chinese
    assert "单一疗法" in chinese  # monotherapy
    assert "高干扰" in chinese  # the band filter's "High interference"
