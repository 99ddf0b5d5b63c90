"""``import_cohort``: a known file reproduces known hazard ratios; bad rows; re-import."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pghistory.models
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError
from django.db.models import Model
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle
from lifelines import CoxPHFitter

from adherence.models import EventKind, StopReason, TreatmentEvent
from analytics import importer
from analytics.cohort import CohortFilter, build_cohort
from analytics.importer import COLUMNS, cohort_import
from analytics.models import ImportedPatient
from analytics.report import cohort_report
from assessments.models import EntryMode, Response
from assessments.scoring import PainBand
from interop import fhir
from patients.models import Patient
from tests.conftest import World, client_for
from tests.factories import ClinicFactory, ResponseFactory

pytestmark = pytest.mark.django_db

CATEGORIES = ["analgesic", "physical_therapy", "ai_adjustment", "complementary"]


def _rows(n: int = 80, seed: int = 3) -> list[dict[str, str]]:
    """A cohort in which combined management and less pain mean fewer events."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        combined = i % 3 == 0
        pain = rng.randint(3, 9)
        dx = dt.date(2022, 1, 1) + dt.timedelta(days=rng.randint(0, 365))
        risk = 0.2 + 0.07 * (pain - 3) - (0.15 if combined else 0)
        event = rng.random() < risk
        kind = rng.choice(["aimss_discontinuation"] * 6 + ["recurrence", "death"])
        event_day = rng.randint(20, 600)
        last = dx + dt.timedelta(
            days=rng.randint(event_day, 800) if event else rng.randint(548, 800)
        )
        rows.append(
            {
                "patient_ref": f"IMP-{i:03d}",
                "clinic": "imp",
                "birth_date": (dx - dt.timedelta(days=rng.randint(55 * 365, 72 * 365))).isoformat(),
                "height_cm": "158.0",
                "weight_kg": f"{rng.uniform(50, 75):.1f}",
                "tnm_stage": rng.choice(["0", "I", "II", "III"]),
                "surgery": rng.choice(["lumpectomy", "mastectomy"]),
                "chemotherapy": rng.choice(["yes", "no"]),
                "radiotherapy": rng.choice(["yes", "no"]),
                "ai_drug": rng.choice(["anastrozole", "letrozole", "exemestane"]),
                "ai_start_date": (dx - dt.timedelta(days=rng.randint(30, 200))).isoformat(),
                "aimss_diagnosis_date": dx.isoformat(),
                "initial_categories": ";".join(
                    rng.sample(CATEGORIES, 2) if combined else [rng.choice(CATEGORIES)]
                ),
                "baseline_average_pain": str(pain),
                "baseline_interference": f"{rng.randint(20, 63) / 7:.2f}",
                "month3_average_pain": str(max(0, pain - 2)),
                "month3_interference": "3.50",
                "event_type": kind if event else "none",
                "event_date": (dx + dt.timedelta(days=event_day)).isoformat() if event else "",
                "last_followup_date": last.isoformat(),
            }
        )
    return rows


def _write(tmp_path: Path, rows: list[dict[str, str]], name: str = "cohort.csv") -> Path:
    path = tmp_path / name
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _expected_hr(rows: list[dict[str, str]], terms: list[str]) -> pd.Series:
    """The same model fitted independently on the file's own rows."""
    frame = pd.DataFrame(
        {
            "strategy": [float(";" in r["initial_categories"]) for r in rows],
            "average_pain": [float(r["baseline_average_pain"]) for r in rows],
            "event": [int(r["event_type"] != "none") for r in rows],
            "time_days": [
                (
                    dt.date.fromisoformat(r["event_date"] or r["last_followup_date"])
                    - dt.date.fromisoformat(r["aimss_diagnosis_date"])
                ).days
                for r in rows
            ],
        }
    )
    fitter = CoxPHFitter().fit(frame[[*terms, "time_days", "event"]], "time_days", "event")
    return fitter.hazard_ratios_


def test_a_known_file_reproduces_known_hazard_ratios(tmp_path: Path) -> None:
    # given a clinic and a file of 80 patients
    ClinicFactory.create(code="imp", name="Import clinic")
    rows = _rows()
    # when it is imported and the cohort report is run
    result = cohort_import(path=_write(tmp_path, rows))
    assert result.errors == []
    assert result.created == 80
    report = cohort_report(cohort_filter=CohortFilter())
    # then the report's patients and events are the file's
    assert report["n_patients"] == 80
    assert report["n_events"] == sum(r["event_type"] != "none" for r in rows)
    assert set(report["excluded"].values()) == {0}
    # and its hazard ratios are those of an independent fit on the rows
    univariate = {e["term"]: e for e in report["cox_univariate"]}
    for term in ("strategy", "average_pain"):
        assert univariate[term]["hr"] == pytest.approx(_expected_hr(rows, [term])[term], abs=1e-5)
    # and the month-3 interference scores are the file's 3.50
    months = report["trajectory"]["interference"]["groups"]["combined"]
    assert months[3]["mean"] == pytest.approx(3.5)


def test_importing_the_same_file_twice_changes_nothing(tmp_path: Path) -> None:
    ClinicFactory.create(code="imp", name="Import clinic")
    path = _write(tmp_path, _rows(n=12))
    call_command("import_cohort", str(path))
    counts = (Patient.objects.count(), Response.objects.count(), TreatmentEvent.objects.count())
    # when the same file comes again
    result = cohort_import(path=path)
    # then every row is recognised and nothing is added
    assert (result.created, result.unchanged, result.errors) == (0, 12, [])
    assert (
        Patient.objects.count(),
        Response.objects.count(),
        TreatmentEvent.objects.count(),
    ) == counts


def test_bad_rows_are_reported_by_line_and_field_and_nothing_is_imported(tmp_path: Path) -> None:
    ClinicFactory.create(code="imp", name="Import clinic")
    rows = _rows(n=5)
    rows[1]["tnm_stage"] = "IV"
    rows[2]["clinic"] = "nowhere"
    rows[3]["baseline_interference"] = "11"
    rows[4]["event_type"] = "death"
    rows[4]["event_date"] = ""
    path = _write(tmp_path, rows)
    # when it is imported
    result = cohort_import(path=path)
    # then each problem names its line (the header is line 1) and field
    assert "line 3, field tnm_stage: 'IV' is not one of 0, I, II, III" in result.errors
    assert "line 4, field clinic: no clinic with code 'nowhere'" in result.errors
    assert "line 5, field baseline_interference: 11 is outside 0-10" in result.errors
    assert "line 6, field event_date: required" in result.errors
    assert len(result.errors) == 4
    # and the good row was not imported either
    assert not Patient.objects.exists()
    with pytest.raises(CommandError, match="4 problems"):
        call_command("import_cohort", str(path))


def _command_errors(path: Path) -> tuple[str, str]:
    """What ``import_cohort`` writes to stderr, and its one-line refusal."""
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_cohort", str(path), stderr=err)
    return err.getvalue(), str(refused.value)


@pytest.mark.django_db
def test_a_file_that_is_not_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    # given a file saved in Latin-1 with an accented name on its third line
    ClinicFactory.create(code="imp", name="Import clinic")
    text = _write(tmp_path, _rows(n=3)).read_text().splitlines()
    text[2] += "é"
    path = tmp_path / "latin1.csv"
    path.write_bytes("\n".join(text).encode("latin-1"))
    # when it is imported: one clear line, no traceback, nothing imported
    stderr, refusal = _command_errors(path)
    assert (
        stderr.strip() == "line 3, field (file): byte 0xe9 is not UTF-8; save the file as CSV UTF-8"
    )
    assert refusal == "1 problems; nothing was imported."
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_oversized_fields_extra_values_and_duplicate_columns_are_refused_line_by_line(
    tmp_path: Path,
) -> None:
    ClinicFactory.create(code="imp", name="Import clinic")
    # given a row with a 5,000-character field (within csv's own limit) and one with an extra value
    rows = _rows(n=4)
    rows[1]["initial_categories"] = "x" * 5_000
    path = _write(tmp_path, rows)
    lines = path.read_text().splitlines()
    lines[3] += ",surplus"
    path.write_text("\n".join(lines) + "\n")
    # when it is imported
    result = cohort_import(path=path)
    # then one line per problem, by line and field, and nothing imported
    assert result.errors == [
        "line 3, field initial_categories: longer than 100 characters",
        f"line 4, field (extra): 1 value(s) beyond the {len(COLUMNS)} columns of the header",
    ]
    assert not Patient.objects.exists()
    # given a header naming a column twice
    lines = path.read_text().splitlines()
    lines[0] += ",clinic"
    path.write_text("\n".join([lines[0], *[line + ",imp" for line in lines[1:2]]]) + "\n")
    stderr, refusal = _command_errors(path)
    assert stderr.strip() == "line 1, field clinic: the column appears 2 times"
    assert refusal == "1 problems; nothing was imported."


@pytest.mark.django_db
def test_a_field_beyond_the_csv_modules_limit_is_refused_not_a_traceback(tmp_path: Path) -> None:
    ClinicFactory.create(code="imp", name="Import clinic")
    rows = _rows(n=2)
    rows[1]["patient_ref"] = "y" * 200_000
    path = _write(tmp_path, rows)
    stderr, _refusal = _command_errors(path)
    assert stderr.strip().startswith("line 3, field (row): field larger than field limit")
    assert not Patient.objects.exists()


# --- Imported responses hold what the file gave, exactly, and nothing else -----------------


def _one(tmp_path: Path, **changes: str) -> Patient:
    """One imported patient: ``_rows``'s first row with ``changes``."""
    ClinicFactory.create(code="imp", name="Import clinic")
    result = cohort_import(path=_write(tmp_path, [_rows(n=1)[0] | changes]))
    assert result.errors == []
    return Patient.objects.get(record_number="IMP-000")


def test_imported_scores_are_kept_exactly_to_two_decimals_and_judged_on_the_exact_value(
    tmp_path: Path,
) -> None:
    # given scores no mean of 4 to 7 whole answers reproduces: 6.99 (such a mean is 7.00,
    # "high") and 0.01 (such a mean is 0.00)
    patient = _one(
        tmp_path,
        baseline_average_pain="6",
        baseline_interference="6.99",
        month3_average_pain="0",
        month3_interference="0.01",
    )
    # when imported
    baseline, month3 = patient.responses.order_by("submitted_at")
    # then the stored scores are the file's, and 6.99 is not high interference
    assert (baseline.interference_score, month3.interference_score) == (
        Decimal("6.99"),
        Decimal("0.01"),
    )
    assert baseline.interference_high is False
    # and the band is that of the given average pain (6: moderate), not of a made-up severity
    assert (baseline.average_pain, baseline.pain_band) == (6, PainBand.MODERATE)
    assert patient.score_summary.latest_interference == Decimal("0.01")


def test_a_score_with_a_third_decimal_is_refused_not_rounded(tmp_path: Path) -> None:
    ClinicFactory.create(code="imp", name="Import clinic")
    path = _write(tmp_path, [_rows(n=1)[0] | {"baseline_interference": "4.285"}])
    result = cohort_import(path=path)
    assert result.errors == [
        "line 2, field baseline_interference: 4.285 has more than two decimals "
        "(scores are kept as given)"
    ]
    assert not Patient.objects.exists()


def test_items_the_file_does_not_give_stay_empty_and_the_response_is_marked_imported(
    tmp_path: Path,
) -> None:
    patient = _one(tmp_path, baseline_average_pain="7", baseline_interference="4.50")
    response = patient.responses.order_by("submitted_at").first()
    assert response is not None
    # then nothing is copied from item 5 or made up for item 9
    assert response.entry_mode == EntryMode.IMPORTED
    assert response.average_pain == 7
    assert (response.worst_pain, response.least_pain, response.pain_now) == (None, None, None)
    assert response.has_pain_today is None
    assert response.pain_severity_score is None
    assert set(response.interference_answers.values()) == {None}


def test_a_response_typed_in_must_still_have_every_item(world: World) -> None:
    # given a response entered by the patient, stored again without item 3
    response = ResponseFactory.create(patient=world.patient_a)
    response.pk, response.worst_pain, response.submission_key = None, None, uuid.uuid4()
    # when it is saved, then the database refuses it: only imported responses may lack items
    with pytest.raises(IntegrityError, match="response_items_given_unless_imported"):
        response.save()


def test_the_api_and_fhir_show_only_what_was_imported_and_say_so(
    tmp_path: Path, world: World
) -> None:
    patient = _one(tmp_path, clinic="a", baseline_average_pain="7", baseline_interference="4.50")
    response = patient.responses.order_by("submitted_at").first()
    assert response is not None
    admin = client_for(world.nurse_a)
    # the API: the items not given are null, the scores as given, the response marked imported
    data = admin.get(reverse("api:assessment-detail", kwargs={"pk": response.pk})).json()
    assert data["entry_mode"] == "imported"
    assert (data["worst_pain"], data["least_pain"], data["pain_now"]) == (None, None, None)
    assert (data["average_pain"], data["interference_score"]) == (7, 4.5)
    assert data["pain_severity_score"] is None
    assert set(data["interference"].values()) == {None}
    # FHIR: the QuestionnaireResponse answers item 5 only; the Observations are item 5 and the
    # interference score; every resource of the response is tagged imported
    bundle = admin.get(reverse("api:patient-fhir", kwargs={"pk": patient.pk})).json()
    Bundle.model_validate(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    answers = next(
        r
        for r in resources
        if r["resourceType"] == "QuestionnaireResponse"
        and r["id"] == fhir.response_resource_id(response)
    )
    assert [item["linkId"] for item in answers["item"]] == [fhir.RECALL_LINK, "5"]
    observations = {
        r["code"]["coding"][0]["code"]: r
        for r in resources
        if r["resourceType"] == "Observation" and r["id"].startswith(answers["id"] + "-")
    }
    assert set(observations) == {fhir.INTERFERENCE_LOINC, "average-pain"}
    assert observations[fhir.INTERFERENCE_LOINC]["valueQuantity"]["value"] == 4.5
    for resource in [answers, *observations.values()]:
        assert resource["meta"]["tag"][0]["code"] == "imported"


def test_the_pages_say_what_was_imported(tmp_path: Path, world: World) -> None:
    patient = _one(tmp_path, clinic="a", baseline_average_pain="6", baseline_interference="4.50")
    response = patient.responses.order_by("submitted_at").first()
    assert response is not None
    nurse = client_for(world.nurse_a)
    # the response's page: what was imported, exactly, and that nothing else was given
    page = nurse.get(reverse("assessments:detail", args=[response.pk])).content.decode()
    assert (
        "Imported: average pain 6 of 10 (Moderate pain); interference 4.50 of 10; "
        "other items not given." in page
    )
    assert "Worst pain</dt><dd>not given" in page
    # the patient's page: her latest response is an import; the chart's hover says so
    chart = nurse.get(reverse("clinical:patient", args=[patient.pk])).content.decode()
    assert "Imported: average pain and interference only; other items not given." in chart
    assert "Imported: average pain and interference only." in chart


def test_another_reason_to_stop_is_imported_as_such_and_censored(tmp_path: Path) -> None:
    # given a patient who stopped for another reason on day 100
    rows = _rows(n=1)
    dx = dt.date.fromisoformat(rows[0]["aimss_diagnosis_date"])
    patient = _one(
        tmp_path,
        event_type="other_discontinuation",
        event_date=(dx + dt.timedelta(days=100)).isoformat(),
        last_followup_date=(dx + dt.timedelta(days=700)).isoformat(),
    )
    # then she has a discontinuation for another reason
    event = TreatmentEvent.objects.get(patient=patient)
    assert (event.kind, event.reason) == (EventKind.DISCONTINUATION, StopReason.OTHER)
    # and the cohort counts no event: she is censored on that date
    data = build_cohort(CohortFilter(criteria=())).data
    row = data[data["patient_id"] == patient.pk].iloc[0]
    assert (row["event"], row["time_days"], row["censoring"]) == (0, 100, "other_discontinuation")
    # or she is excluded when the report says so
    excluded = build_cohort(CohortFilter(criteria=(), other_stop="exclude")).data
    assert patient.pk not in set(excluded["patient_id"])


def test_a_failure_after_tables_were_written_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a write that fails after the patients, courses, interventions and responses of
    # 10 rows went in
    ClinicFactory.create(code="imp", name="Import clinic")
    write, written = importer._write, []

    def fail_at_events(model: type[Model], objects: list[Any]) -> None:
        if model is TreatmentEvent:
            written.append(Response.objects.count())
            raise DatabaseError("the disk is full")
        write(model, objects)

    monkeypatch.setattr(importer, "_write", fail_at_events)
    # when the import fails
    with pytest.raises(DatabaseError):
        cohort_import(path=_write(tmp_path, _rows(n=10)))
    # then the responses had been written, and nothing is left
    assert written == [20]
    assert not Patient.objects.exists()
    assert not Response.objects.exists()
    assert not ImportedPatient.objects.exists()


def test_the_audit_trail_names_the_import(tmp_path: Path) -> None:
    patient = _one(tmp_path)
    # every written row has its insert event, under the context that names the import
    for model, ids in (
        (Patient, [patient.pk]),
        (Response, list(patient.responses.values_list("pk", flat=True))),
    ):
        for pk in ids:
            events = pghistory.models.Events.objects.filter(
                pgh_obj_model=model._meta.label, pgh_obj_id=str(pk)
            )
            assert [(e.pgh_label, e.pgh_context["command"]) for e in events] == [
                ("insert", "import_cohort")
            ]
