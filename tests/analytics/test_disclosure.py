"""Disclosure control (RELIABILITY 21) and the empty grant (RELIABILITY 22), on every path of the
analytics: the page, the API, ``manage.py cohort_report`` and the researcher's cohort summary.

The cohorts are imported as a clinic would import its retrospective data: "imp" with 80
patients (groups and strata of 11 or more, some Table 1 cells under 11) and "few" with 10.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from analytics import disclosure
from analytics.cohort import CohortFilter, build_cohort, cohort_patients
from analytics.importer import cohort_import
from analytics.models import JobStatus, ReportJob
from analytics.report import cohort_report
from analytics.services import REPORTS_PER_HOUR
from patients.disclosure import suppress_cells, suppress_linked
from patients.models import Clinic, Patient, Role, StaffMembership, User
from tests.analytics.test_import import _rows, _write
from tests.conftest import World, client_for
from tests.factories import ClinicFactory, UserFactory

COUNTS = ("n", "events", "n_complete", "n_patients", "n_events")
SMALL_NUMBER = re.compile(r"(?<![\w.,:/+-])(10|[1-9])(?![\w.,:/%-])")


@dataclass
class Clinics:
    big: Clinic
    few: Clinic
    researcher: User  # granted "imp"
    researcher_few: User  # granted "few" only
    clinician: User  # cares for "imp" patients: identified
    clinician_deidentified: User  # a member of "imp" marked de-identified


@pytest.fixture
def clinics(db: None, tmp_path: Path) -> Clinics:
    big = ClinicFactory.create(code="imp", name="Import clinic")
    few = ClinicFactory.create(code="few", name="Small clinic")
    few_rows = [
        row | {"clinic": "few", "patient_ref": f"FEW-{i:03d}"}
        for i, row in enumerate(_rows(n=10, seed=5))
    ]
    result = cohort_import(path=_write(tmp_path, _rows(n=80) + few_rows))
    assert result.errors == []
    deidentified = UserFactory.create(username="clin_deid", role=Role.CLINICIAN, clinics=[big])
    StaffMembership.objects.filter(user=deidentified).update(deidentified=True)
    return Clinics(
        big=big,
        few=few,
        researcher=UserFactory.create(username="res_big", role=Role.RESEARCHER, clinics=[big]),
        researcher_few=UserFactory.create(username="res_few", role=Role.RESEARCHER, clinics=[few]),
        clinician=UserFactory.create(username="clin_big", role=Role.CLINICIAN, clinics=[big]),
        clinician_deidentified=deidentified,
    )


def _small_counts(value: Any, path: str = "") -> list[str]:
    """Every place in a report where a count of 1-10 patients is still shown."""
    found: list[str] = []
    if isinstance(value, list):
        for i, item in enumerate(value):
            found += _small_counts(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, inner in value.items():
            where = f"{path}.{key}"
            if key in COUNTS and disclosure.is_small(inner):
                found.append(f"{where}={inner}")
            if key == "n_at_risk" and any(disclosure.is_small(n) for n in inner or []):
                found.append(where)
            if key in ("excluded", "events") and isinstance(inner, dict):
                found += [f"{where}.{k}={v}" for k, v in inner.items() if disclosure.is_small(v)]
            found += _small_counts(inner, where)
    return found


def _hidden(cells: list[Any]) -> int:
    return sum(cell is None for cell in cells)


# --- RELIABILITY 21: no statistic of fewer than 11 --------------------------------------------


def test_promise_21_a_cell_of_1_to_10_is_hidden_with_the_cell_that_would_give_it_back() -> None:
    # a row of three cells adding up to a shown total: 4 is hidden, and so is the next smallest
    assert suppress_cells({"a": 4, "b": 30, "c": 50}) == {"a": None, "b": None, "c": 50}
    # zero is shown; two small cells hide each other
    assert suppress_cells({"a": 0, "b": 3, "c": 7, "d": 40}) == {
        "a": 0,
        "b": None,
        "c": None,
        "d": 40,
    }
    # one small cell beside a zero: the zero is hidden with it (or their sum gives it back)
    assert suppress_cells({"no_strategy": 3, "no_baseline": 0}) == {
        "no_strategy": None,
        "no_baseline": None,
    }
    # nothing small: nothing hidden
    assert suppress_cells({"a": 11, "b": 12}) == {"a": 11, "b": 12}
    # a 2 x 2 table with its margins: hiding one cell hides along its row and its column
    values = {"a1": 5, "a2": 20, "b1": 30, "b2": 40, "a": 25, "b": 70, "1": 35, "2": 60}
    kept = suppress_linked(
        values, [["a1", "a2", "a"], ["b1", "b2", "b"], ["a1", "b1", "1"], ["a2", "b2", "2"]]
    )
    for relation in (["a1", "a2", "a"], ["b1", "b2", "b"], ["a1", "b1", "1"], ["a2", "b2", "2"]):
        assert _hidden([kept[k] for k in relation]) != 1, relation


def test_promise_21_a_controlled_report_shows_no_count_mean_or_curve_of_fewer_than_11(
    clinics: Clinics,
) -> None:
    cohort_filter = CohortFilter(clinic_ids=(clinics.big.pk,))
    # given the same cohort reported without and with disclosure control
    open_report = cohort_report(cohort_filter=cohort_filter)
    report = cohort_report(cohort_filter=cohort_filter, disclosure_control=True)
    # then the open report has small cells (so the controlled one has something to hide) ...
    assert _small_counts(open_report)
    # ... and the controlled one shows none, anywhere
    assert _small_counts(report) == []
    assert report["disclosure_control"] == {"min_cell": 11, "top_age": 90}
    # a Table 1 cell hidden in a group hides another of that group (its total is shown)
    hidden_cells = 0
    for row in report["table1"]:
        if row["kind"] == "categorical":
            for group in ("monotherapy", "combined"):
                cells = [level["groups"][group]["n"] for level in row["levels"]]
                assert _hidden(cells) != 1, (row["variable"], group, cells)
                hidden_cells += _hidden(cells)
                for level in row["levels"]:
                    if level["groups"][group]["n"] is None:
                        assert level["groups"][group]["percent"] is None
        else:
            for group in ("monotherapy", "combined"):
                entry = row["groups"][group]
                if entry["n"] is not None and entry["n"] < 11:
                    assert entry["mean"] is None
                    assert entry["sd"] is None
    assert hidden_cells >= 2
    # events by group add up to the total: never exactly one of them hidden
    events = [report["groups"][g]["events"] for g in ("monotherapy", "combined")]
    assert _hidden(events) != 1
    # every curve ends before fewer than 11 remain at risk
    for curves in report["km"].values():
        for curve in curves.values():
            assert curve is None or all(n >= 11 for n in curve["n_at_risk"] or [])
    open_steps = len(open_report["km"]["overall"]["combined"]["time_days"])
    assert len(report["km"]["overall"]["combined"]["time_days"]) < open_steps


def test_promise_21_ages_are_whole_years_top_coded_at_90(clinics: Clinics) -> None:
    # given the cohort with its oldest patient made 95 at her diagnosis
    oldest = Patient.objects.filter(clinic=clinics.big).order_by("birth_date").first()
    assert oldest is not None
    assert oldest.aimss_diagnosis_date is not None
    oldest.birth_date = oldest.aimss_diagnosis_date - dt.timedelta(days=round(95.4 * 365.25))
    oldest.save()
    cohort = build_cohort(CohortFilter(clinic_ids=(clinics.big.pk,)))
    # when it is coarsened for a controlled report
    ages = disclosure.coarsen(cohort.data)["age"]
    # then every age is whole and none is over 90
    assert ages.max() == 90
    assert (ages == ages.round()).all()
    assert disclosure.coarsen(pd.DataFrame({"age": [64.9, 89.99, 90.0, 104.2]}))[
        "age"
    ].tolist() == [64, 89, 90, 90]
    # and the report's mean age is that of the top-coded ages
    report = cohort_report(
        cohort_filter=CohortFilter(clinic_ids=(clinics.big.pk,)), disclosure_control=True
    )
    age_row = next(row for row in report["table1"] if row["variable"] == "age")
    data = disclosure.coarsen(cohort.data)
    for group in ("monotherapy", "combined"):
        expected = data.loc[data["strategy"] == group, "age"].mean()
        assert age_row["groups"][group]["mean"] == pytest.approx(expected, abs=1e-4)


def test_promise_21_a_report_over_fewer_than_11_patients_is_refused_not_computed(
    clinics: Clinics, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_analysis(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a refused report was computed")

    monkeypatch.setattr("analytics.report.report_from_data", no_analysis)
    client = client_for(clinics.researcher_few)
    # when a researcher asks for her 10-patient clinic on the page
    response = client.post(reverse("analytics:home"), {})
    # then a refused job is recorded, with no result, and the page says why
    job = ReportJob.objects.get(created_by=clinics.researcher_few)
    assert response.status_code == 302
    assert (job.status, job.error, job.result) == (JobStatus.REFUSED, "cohort", None)
    page = client.get(reverse("analytics:job", kwargs={"pk": job.pk})).content.decode()
    assert "fewer than 11 patients" in page
    # and the API and the command refuse it the same way
    answer = client.post(reverse("api:analytics-reports"), {}, content_type="application/json")
    assert answer.status_code == 201
    assert answer.json()["status"] == "refused"
    assert "fewer than 11 patients" in answer.json()["refusal"]
    assert answer.json()["result"] is None
    with pytest.raises(CommandError, match="fewer than 11 patients"):
        call_command("cohort_report", "--user", "res_few")
    with pytest.raises(CommandError, match="fewer than 11 patients"):
        call_command("cohort_report", "--clinic", "few", "--deidentified")


def test_promise_21_a_strategy_group_under_11_is_refused_not_computed(
    clinics: Clinics, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given a clinic of 30 patients of whom only 6 had combined management
    group = ClinicFactory.create(code="grp", name="Group clinic")
    rows = _rows(n=30, seed=9)
    for i, row in enumerate(rows):
        row |= {"clinic": "grp", "patient_ref": f"GRP-{i:03d}"}
        row["initial_categories"] = "analgesic;physical_therapy" if i < 6 else "analgesic"
    assert cohort_import(path=_write(tmp_path, rows, "grp.csv")).errors == []
    monkeypatch.setattr("analytics.report.report_from_data", _refuse_to_compute)
    cohort_filter = CohortFilter(clinic_ids=(group.pk,))
    # when a controlled report is asked for, then it is refused before any analysis
    with pytest.raises(disclosure.ReportRefused) as refused:
        cohort_report(cohort_filter=cohort_filter, disclosure_control=True)
    assert refused.value.code == "group"
    # and through the page, the job says so
    researcher = UserFactory.create(role=Role.RESEARCHER, clinics=[group])
    client_for(researcher).post(reverse("analytics:home"), {})
    job = ReportJob.objects.get(created_by=researcher)
    assert (job.status, job.error, job.result) == (JobStatus.REFUSED, "group", None)


def test_promise_21_an_interference_stratum_under_11_is_refused_not_computed(
    clinics: Clinics, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given a clinic of 40 patients of whom 5 have high interference at baseline
    stratum = ClinicFactory.create(code="str", name="Stratum clinic")
    rows = _rows(n=40, seed=11)
    for i, row in enumerate(rows):
        row |= {"clinic": "str", "patient_ref": f"STR-{i:03d}"}
        row["baseline_interference"] = "8.00" if i < 5 else "3.00"
    assert cohort_import(path=_write(tmp_path, rows, "str.csv")).errors == []
    monkeypatch.setattr("analytics.report.report_from_data", _refuse_to_compute)
    with pytest.raises(disclosure.ReportRefused) as refused:
        cohort_report(cohort_filter=CohortFilter(clinic_ids=(stratum.pk,)), disclosure_control=True)
    assert refused.value.code == "stratum"


def _refuse_to_compute(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a refused report was computed")


@pytest.mark.parametrize(
    ("date_from", "date_to", "accepted"),
    [
        ("2022-04-01", "2022-06-30", True),
        ("2022-01-15", "2022-12-31", False),
        ("2022-01-01", "2022-02-28", False),
        ("", "2022-09-29", False),
    ],
)
def test_promise_21_date_filters_are_whole_calendar_quarters(
    clinics: Clinics, date_from: str, date_to: str, accepted: bool
) -> None:
    dates = {"date_from": date_from, "date_to": date_to}
    # on the page
    response = client_for(clinics.researcher).post(reverse("analytics:home"), dates)
    assert response.status_code == (302 if accepted else 200)
    if not accepted:
        assert "whole calendar quarters" in response.content.decode()
    # on the API
    api = client_for(clinics.researcher).post(
        reverse("api:analytics-reports"),
        {k: v or None for k, v in dates.items()},
        content_type="application/json",
    )
    assert api.status_code == (201 if accepted else 400), api.content
    if not accepted:
        assert "whole calendar quarters" in json.dumps(api.json())
    # on the command
    args = [f"--{k.removeprefix('date_')}={v}" for k, v in dates.items() if v]
    try:
        call_command("cohort_report", "--user", "res_big", *args)
        message = ""
    except CommandError as error:
        message = str(error)
    assert ("whole calendar quarters" in message) is not accepted
    # and nothing but whole quarters was ever asked for
    assert ReportJob.objects.count() == (2 if accepted else 0)


def test_promise_21_care_staff_of_the_clinic_filter_by_any_date(clinics: Clinics) -> None:
    dates = {"date_from": "2022-01-15", "date_to": "2022-02-28"}
    response = client_for(clinics.clinician).post(reverse("analytics:home"), dates)
    assert response.status_code == 302
    assert ReportJob.objects.get().disclosure_control is False


def test_promise_21_a_de_identified_membership_is_controlled_and_sees_no_one_by_name(
    clinics: Clinics,
) -> None:
    client = client_for(clinics.clinician_deidentified)
    # her reports are controlled: quarters only, suppressed results
    bad = client.post(reverse("analytics:home"), {"date_from": "2022-01-15"})
    assert "whole calendar quarters" in bad.content.decode()
    assert client.post(reverse("analytics:home"), {}).status_code == 302
    job = ReportJob.objects.get(created_by=clinics.clinician_deidentified)
    assert job.disclosure_control is True
    assert job.result is not None
    assert job.result["disclosure_control"]["min_cell"] == 11
    # and she sees none of the clinic's patients identified, on the page or the API
    names = Patient.objects.filter(clinic=clinics.big).values_list("family_name", flat=True)
    page = client.get(reverse("clinical:patients")).content.decode()
    assert not any(name in page for name in names)
    assert client.get(reverse("api:patient-list")).json()["count"] == 0


def test_promise_21_a_controlled_user_never_reuses_an_uncontrolled_cached_result(
    clinics: Clinics,
) -> None:
    # given the clinician's (identified, uncontrolled) report on the clinic
    client_for(clinics.clinician).post(reverse("analytics:home"), {})
    mine = ReportJob.objects.get(created_by=clinics.clinician)
    assert mine.status == JobStatus.DONE
    assert mine.disclosure_control is False
    # when a researcher asks for the very same filter
    client_for(clinics.researcher).post(reverse("analytics:home"), {})
    theirs = ReportJob.objects.get(created_by=clinics.researcher)
    # then hers is computed under control, not copied from the clinician's
    assert theirs.cache_key != mine.cache_key
    assert theirs.result is not None
    assert "disclosure_control" in theirs.result
    assert _small_counts(theirs.result) == []
    # and her page shows the hidden cells as hidden
    page = client_for(clinics.researcher).get(reverse("analytics:job", kwargs={"pk": theirs.pk}))
    assert page.status_code == 200
    text = _visible_text(page.content.decode())
    assert "De-identified: values describing fewer than 11 patients" in text
    assert "hidden" in text
    assert "None" not in text


def test_promise_21_report_counts_in_lists_obey_the_cell_rule(clinics: Clinics) -> None:
    client = client_for(clinics.researcher_few)
    client.post(reverse("analytics:home"), {})
    job = ReportJob.objects.get()
    assert job.n_patients == 10  # stored, for the service, but never shown
    # the page's list and the API's list hide it
    page = client.get(reverse("analytics:home")).content.decode()
    row = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    assert row is not None
    assert "hidden" in row.group(1)
    assert ">10<" not in row.group(1)
    listed = client.get(reverse("api:analytics-reports")).json()
    assert [entry["n_patients"] for entry in listed] == [None]
    assert (
        client.get(reverse("api:analytics-report", kwargs={"pk": job.pk})).json()["n_patients"]
        is None
    )
    # while an uncontrolled job's count is shown to its clinician
    client_for(clinics.clinician).post(reverse("analytics:home"), {})
    listed = client_for(clinics.clinician).get(reverse("api:analytics-reports")).json()
    assert listed[0]["n_patients"] == 80


def test_promise_21_the_researchers_cohort_summary_hides_small_counts(clinics: Clinics) -> None:
    body = client_for(clinics.researcher_few).get(reverse("patients:staff_home")).content
    text = _visible_text(body.decode())
    assert "Small clinic" in text
    assert "hidden" in text
    assert SMALL_NUMBER.findall(text) == []


def test_promise_21_at_most_30_reports_an_hour_then_429(clinics: Clinics) -> None:
    # given a researcher who has started 30 reports in the last hour
    ReportJob.objects.bulk_create(
        [
            ReportJob(created_by=clinics.researcher, filter={}, cache_key=f"k{i}")
            for i in range(REPORTS_PER_HOUR)
        ]
    )
    client = client_for(clinics.researcher)
    # when she starts another on the page, then a clear 429 page
    page = client.post(reverse("analytics:home"), {})
    assert page.status_code == 429
    assert "30 reports in the last hour" in page.content.decode()
    # and on the API a 429 in DRF's JSON shape
    api = client.post(reverse("api:analytics-reports"), {}, content_type="application/json")
    assert api.status_code == 429
    assert "30 reports" in api.json()["detail"]
    assert ReportJob.objects.count() == REPORTS_PER_HOUR
    # an hour later she may start again
    ReportJob.objects.update(created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert client.post(reverse("analytics:home"), {}).status_code == 302


# --- The walk: a researcher with a 10-patient clinic sees no number under 11 ------------------


def _visible_text(page: str) -> str:
    """The text of a page's main element, without job numbers and dates."""
    main = re.search(r"<main[^>]*>(.*)</main>", page, re.S)
    text = re.sub(r"<[^>]+>", " ", main.group(1) if main else page)
    text = html.unescape(text)
    text = re.sub(r"#\d+", " ", text)
    return re.sub(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?", " ", text)


def _api_text(payload: Any) -> str:
    """A JSON answer without its record ids, clinic ids and times."""

    def strip(value: Any) -> Any:
        if isinstance(value, list):
            return [strip(v) for v in value]
        if isinstance(value, dict):
            return {
                k: strip(v)
                for k, v in value.items()
                if k not in ("id", "filter", "created_at", "finished_at")
            }
        return value

    return json.dumps(strip(payload))


def test_promise_21_every_analytics_and_export_url_shows_no_number_under_11_to_a_researcher(
    clinics: Clinics,
) -> None:
    client = client_for(clinics.researcher_few)
    few_patient = Patient.objects.filter(clinic=clinics.few).first()
    assert few_patient is not None
    bodies: dict[str, str] = {}
    # the analytics page, a report, the list of reports
    bodies["home"] = _visible_text(client.get(reverse("analytics:home")).content.decode())
    started = client.post(reverse("analytics:home"), {}, follow=True)
    bodies["job"] = _visible_text(started.content.decode())
    bodies["list"] = _visible_text(client.get(reverse("analytics:home")).content.decode())
    bodies["summary"] = _visible_text(client.get(reverse("patients:staff_home")).content.decode())
    # the analytics API
    answer = client.post(reverse("api:analytics-reports"), {}, content_type="application/json")
    bodies["api-start"] = _api_text(answer.json())
    bodies["api-list"] = _api_text(client.get(reverse("api:analytics-reports")).json())
    detail = reverse("api:analytics-report", kwargs={"pk": answer.json()["id"]})
    bodies["api-detail"] = _api_text(client.get(detail).json())
    # the exports (refused: her only clinic is too small) and her patient's FHIR bundle (none)
    for name in ("responses", "events", "interventions", "flags"):
        export = client.get(reverse(f"api:export-{name}"))
        assert export.status_code == 403
        bodies[name] = export.content.decode()
    fhir = client.get(reverse("api:patient-fhir", kwargs={"pk": few_patient.pk}))
    assert fhir.status_code == 404
    # the command, run as her
    with pytest.raises(CommandError) as refused:
        call_command("cohort_report", "--user", "res_few")
    bodies["command"] = str(refused.value)
    # then no count of her 10 patients, or of any part of them, appears anywhere
    for where, body in bodies.items():
        assert SMALL_NUMBER.findall(body) == [], (where, body[:2000])
    assert "fewer than 11" in bodies["job"]
    assert "fewer than 11" in bodies["api-detail"]


# --- RELIABILITY 22: an empty grant is no access ----------------------------------------------


def test_promise_22_an_empty_cohort_filter_is_no_clinic_not_every_clinic(clinics: Clinics) -> None:
    assert cohort_patients(CohortFilter(clinic_ids=())).count() == 0
    assert cohort_patients(CohortFilter(clinic_ids=None)).count() == 90
    assert CohortFilter.from_json(CohortFilter(clinic_ids=()).as_json()).clinic_ids == ()


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.CLINICIAN])
def test_promise_22_an_analyst_with_no_clinic_gets_no_report_anywhere(
    clinics: Clinics, role: str
) -> None:
    nobody = UserFactory.create(username="no_grant", role=role, clinics=[])
    client = client_for(nobody)
    # the page refuses to start a report
    page = client.post(reverse("analytics:home"), {})
    assert page.status_code == 200
    assert "No clinic has been granted to you" in page.content.decode()
    # so does the API (naming a clinic she was not granted changes nothing)
    api = client.post(reverse("api:analytics-reports"), {}, content_type="application/json")
    assert api.status_code == 400
    assert "No clinic has been granted" in json.dumps(api.json())
    named = client.post(
        reverse("api:analytics-reports"),
        {"clinics": [clinics.big.pk]},
        content_type="application/json",
    )
    assert named.status_code == 400
    # and the command
    with pytest.raises(CommandError, match="no clinic is granted"):
        call_command("cohort_report", "--user", "no_grant")
    assert ReportJob.objects.count() == 0


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.NURSE, Role.CLINICIAN])
def test_promise_22_staff_with_no_clinic_see_no_patient_data(clinics: Clinics, role: str) -> None:
    nobody = UserFactory.create(role=role, clinics=[])
    client = client_for(nobody)
    names = list(Patient.objects.values_list("family_name", flat=True))
    assert names
    # the patient API and the flag API list no one
    assert client.get(reverse("api:patient-list")).json()["count"] == 0
    flags = client.get(reverse("api:flag-list"))
    assert flags.status_code == 404 or flags.json()["count"] == 0
    # the patient list, the queue and the cohort summary show no one
    for route in ("clinical:patients", "followup:queue", "patients:staff_home"):
        page = client.get(reverse(route))
        body = page.content.decode()
        assert not any(name in body for name in names), route
    # the exports hold a header and no row
    for name in ("responses", "events", "interventions", "flags"):
        export = client.get(reverse(f"api:export-{name}"))
        assert export.status_code == 200
        lines = b"".join(export.streaming_content).decode().splitlines()  # type: ignore[attr-defined]
        assert len(lines) == 1, (name, lines[:3])


def test_promise_21_a_de_identified_nurse_gets_no_flag_and_no_queue_of_her_clinic(
    world: World,
) -> None:
    from followup.models import FlagNotification
    from followup.services import flag_raise

    # given a nurse of clinic A whose membership is marked de-identified
    nurse = UserFactory.create(username="nurse_deid", role=Role.NURSE, clinics=[world.clinic_a])
    StaffMembership.objects.filter(user=nurse).update(deidentified=True)
    # when a high-priority flag opens for a patient of clinic A
    flag = flag_raise(
        patient_id=world.patient_a.pk,
        kind="high_interference",
        source="response",
        source_id=1,
        value=9.4,
    ).flag
    # then only the identified nurse is told, and the de-identified one sees no queue row
    recipients = [n.recipient for n in FlagNotification.objects.filter(flag=flag)]
    assert recipients == [world.nurse_a]
    queue = client_for(nurse).get(reverse("followup:queue")).content.decode()
    assert world.patient_a.family_name not in queue
    assert client_for(nurse).get(reverse("api:flag-list")).json()["count"] == 0
    assert client_for(world.nurse_a).get(reverse("api:flag-list")).json()["count"] == 1
