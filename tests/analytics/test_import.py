"""``import_cohort``: a known file reproduces known hazard ratios; bad rows; re-import."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from lifelines import CoxPHFitter

from adherence.models import TreatmentEvent
from analytics.cohort import CohortFilter
from analytics.importer import COLUMNS, cohort_import
from analytics.report import cohort_report
from assessments.models import Response
from patients.models import Patient
from tests.factories import ClinicFactory

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
