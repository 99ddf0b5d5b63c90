"""Downloads: the de-identified analysis dataset with its data dictionary, every table as CSV,
the Kaplan-Meier figures as SVG and PNG, on the page, the API and ``cohort_report``; and a
cached report reused only when its settings and software versions match."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from analytics import services
from analytics.cohort import CohortFilter
from analytics.downloads import DATA_DICTIONARY, report_tables
from analytics.importer import cohort_import
from analytics.models import JobStatus, ReportJob
from analytics.services import cache_key, report_job_request
from analytics.versions import software_versions
from patients.models import AccessRecord, Clinic, Patient, Role, User
from tests.analytics.test_import import _rows, _write
from tests.conftest import client_for
from tests.factories import ClinicFactory, UserFactory

pytestmark = pytest.mark.django_db

COLUMNS = [name for name, *_rest in DATA_DICTIONARY]


@pytest.fixture
def clinic(tmp_path: Path) -> Clinic:
    clinic = ClinicFactory.create(code="imp", name="Import clinic")
    rows = _rows(n=80)
    for row in rows[:3]:  # a surgery held by 3 patients: a rare category
        row["surgery"] = "mastectomy"
    for row in rows[3:]:
        row["surgery"] = "lumpectomy"
    assert cohort_import(path=_write(tmp_path, rows)).errors == []
    return clinic


@pytest.fixture
def researcher(clinic: Clinic) -> User:
    return UserFactory.create(username="res_dl", role=Role.RESEARCHER, clinics=[clinic])


@pytest.fixture
def job(clinic: Clinic, researcher: User) -> ReportJob:
    done = report_job_request(user=researcher, cohort_filter=CohortFilter(clinic_ids=(clinic.pk,)))
    assert done.status == JobStatus.DONE, done.error
    assert done.disclosure_control
    return done


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_dataset_download_is_de_identified_and_suppressed_for_a_researcher(
    job: ReportJob, researcher: User
) -> None:
    client = client_for(researcher)
    # when she downloads the analysis dataset twice
    first = client.get(reverse("analytics:dataset", kwargs={"pk": job.pk, "fmt": "csv"}))
    second = client.get(reverse("analytics:dataset", kwargs={"pk": job.pk, "fmt": "csv"}))
    assert first.status_code == 200
    assert first["Content-Disposition"].startswith("attachment")
    rows = _csv(first.content.decode())
    # then it is one row per analysed patient, in the data dictionary's columns
    assert len(rows) == (job.result or {})["n_patients"] == 80
    assert list(rows[0]) == COLUMNS
    # with no id, record number or date: pseudonyms, new in every download
    ids = {str(pk) for pk in Patient.objects.values_list("pk", flat=True)}
    refs = set(Patient.objects.values_list("record_number", flat=True))
    assert not {r["patient"] for r in rows} & (ids | refs)
    assert not {r["patient"] for r in rows} & {r["patient"] for r in _csv(second.content.decode())}
    assert not any("-" in value and value[:4].isdigit() for r in rows for value in r.values())
    # ages in whole years, at most 90
    assert all(r["age"].isdigit() and int(r["age"]) <= 90 for r in rows)
    # and the surgery held by 3 patients is blanked, the common one kept
    assert {r["surgery"] for r in rows} == {"", "lumpectomy"}
    assert sum(r["surgery"] == "" for r in rows) == 3
    # and her reading of the patients' data is recorded, one record per patient
    assert AccessRecord.objects.filter(user=researcher, what="analysis dataset").count() == 160


def test_the_data_dictionary_describes_every_column_in_csv_and_json(researcher: User) -> None:
    client = client_for(researcher)
    as_csv = _csv(client.get(reverse("analytics:dictionary_csv")).content.decode())
    as_json = client.get(reverse("analytics:dictionary_json")).json()
    assert [r["column"] for r in as_csv] == COLUMNS
    assert [c["column"] for c in as_json["columns"]] == COLUMNS
    assert all(r["description"] and r["type"] for r in as_csv)


def test_every_table_downloads_as_csv_and_the_figures_as_svg_and_png(
    job: ReportJob, researcher: User
) -> None:
    client = client_for(researcher)
    names = report_tables(job.result or {})
    assert {"table1", "cox_multivariable", "flow", "schoenfeld", "km_overall", "table1b"} <= set(
        names
    )
    for name in names:
        answer = client.get(reverse("analytics:table", kwargs={"pk": job.pk, "name": name}))
        assert answer.status_code == 200, name
        assert answer["Content-Type"].startswith("text/csv")
        assert answer.content.decode().split("\n")[0], name
    svg = client.get(
        reverse("analytics:figure", kwargs={"pk": job.pk, "name": "km_overall", "fmt": "svg"})
    )
    assert svg.status_code == 200
    assert b"<svg" in svg.content
    assert b"Numbers at risk" in svg.content
    png = client.get(
        reverse("analytics:figure", kwargs={"pk": job.pk, "name": "km_high", "fmt": "png"})
    )
    assert png.content.startswith(b"\x89PNG")
    # an unknown table or format is a 404, not a 500
    missing = client.get(reverse("analytics:table", kwargs={"pk": job.pk, "name": "nope"}))
    assert missing.status_code == 404
    bad = client.get(
        reverse("analytics:figure", kwargs={"pk": job.pk, "name": "km_high", "fmt": "gif"})
    )
    assert bad.status_code == 404


def test_a_downloaded_table_carries_the_reports_suppression(
    job: ReportJob, researcher: User
) -> None:
    # the Table 1 cells the report hid are blank in the CSV too
    rows = _csv(report_tables(job.result or {})["table1"])
    surgery = [r for r in rows if r["variable"] == "Surgery" and r["level"] == "mastectomy"]
    assert surgery
    assert all(r["n"] == "" for r in surgery)


def test_the_api_serves_the_same_downloads(job: ReportJob, researcher: User) -> None:
    client = client_for(researcher)
    dataset = client.get(
        reverse("api:analytics-report-dataset", kwargs={"pk": job.pk, "fmt": "json"})
    )
    assert dataset.status_code == 200
    records = json.loads(dataset.content)
    assert len(records) == 80
    assert list(records[0]) == COLUMNS
    table = client.get(
        reverse("api:analytics-report-table", kwargs={"pk": job.pk, "name": "cox_multivariable"})
    )
    assert table.content.decode().startswith("term,label,hr")
    dictionary = client.get(reverse("api:analytics-data-dictionary")).json()
    assert [c["column"] for c in dictionary["columns"]] == COLUMNS


def test_the_command_writes_the_dataset_the_dictionary_and_a_table(
    clinic: Clinic, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("cohort_report", "--dataset", "--format", "csv", "--deidentified")
    rows = _csv(capsys.readouterr().out)
    assert len(rows) == 80
    assert list(rows[0]) == COLUMNS
    call_command("cohort_report", "--dictionary", "--format", "json")
    assert [c["column"] for c in json.loads(capsys.readouterr().out)["columns"]] == COLUMNS
    call_command("cohort_report", "--table", "flow")
    assert capsys.readouterr().out.startswith("step,label,removed,remaining")


def test_the_report_records_its_as_of_date_filter_settings_and_versions(
    job: ReportJob,
) -> None:
    result: dict[str, Any] = job.result or {}
    assert result["as_of"]
    assert result["filter"]["clinic_ids"] == job.filter["clinic_ids"]
    assert result["settings"]["other_stop"] == "censor"
    assert set(result["versions"]) == {"app", "lifelines", "statsmodels", "scipy"}


def test_the_cache_key_changes_with_the_settings_and_the_library_versions(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = CohortFilter(clinic_ids=(clinic.pk,))
    key = cache_key(base)
    # the same filter, settings and versions: the same key (a cached result is reused)
    assert cache_key(base) == key
    # any setting changed: another key
    assert cache_key(CohortFilter(clinic_ids=(clinic.pk,), other_stop="exclude")) != key
    assert cache_key(CohortFilter(clinic_ids=(clinic.pk,), criteria=("stage_iv",))) != key
    earlier = base.resolved().as_of
    assert earlier is not None
    assert cache_key(CohortFilter(clinic_ids=(clinic.pk,), as_of=earlier.replace(year=2025))) != key
    # another lifelines: another key
    versions = software_versions() | {"lifelines": "0.0.1"}
    monkeypatch.setattr(services, "software_versions", lambda: versions)
    assert cache_key(base) != key


def test_the_report_page_states_its_population_and_offers_the_downloads(
    job: ReportJob, researcher: User
) -> None:
    page = client_for(researcher).get(reverse("analytics:job", kwargs={"pk": job.pk}))
    text = page.content.decode()
    assert page.status_code == 200
    assert f"As of {(job.result or {})['as_of']}" in text
    assert "Patient flow (CONSORT)" in text
    assert "never after the day the first intervention started" in text
    assert reverse("analytics:dataset", kwargs={"pk": job.pk, "fmt": "csv"}) in text
    assert "Proportional hazards (Schoenfeld, global)" in text
    assert "landmark" in text
