"""What a researcher takes away from a report: the analysis dataset with its data dictionary,
every table as CSV and the survival figures as SVG or PNG.

**The analysis dataset** is one row per patient, de-identified for everyone who downloads it
(HIPAA Safe Harbor, 45 CFR 164.514(b)(2)): per-download random pseudonyms for the patient and
her clinic (never a database id; different in every download), age in whole years top-coded at
90, every time in days from the AIMSS diagnosis (no date at all), no free text, rows in a random
order. Under disclosure control (:mod:`analytics.disclosure`) the report's refusals apply, and a
category held by 1 to 10 patients in a column is blanked (the CMS cell-size rule: a rare value
would single a patient out).

**Tables** are read from the report itself, so they carry its suppression. **Figures** are
drawn server-side with matplotlib's Agg backend (installed with lifelines; plotly's static
export needs kaleido and a browser, which a server does not have) from the report's curves:
Kaplan-Meier steps with their 95 % confidence band, censoring marks, and the numbers at risk
under the x axis.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Iterable
from typing import Any

import pandas as pd

from patients.clock import DAYS_PER_MONTH
from patients.disclosure import MIN_CELL, top_coded_age

from . import disclosure
from .cohort import CohortFilter, build_cohort

PSEUDONYM_BYTES = 8  # 64 random bits: collisions negligible at any cohort's size
SUPPRESSED = ""  # a blanked cell in the dataset

# The dataset's columns, in order: (name, type, unit or coding, description).
DATA_DICTIONARY: list[tuple[str, str, str, str]] = [
    ("patient", "string", "pseudonym", "Random stand-in for the patient, new in every download"),
    ("clinic", "string", "pseudonym", "Random stand-in for her clinic, new in every download"),
    ("age", "integer", "years", "Age at the AIMSS diagnosis, whole years, 90 = 90 or older"),
    ("bmi", "number", "kg/m²", "Body-mass index"),
    ("tnm_stage", "category", "0-I, II, III", "TNM stage"),
    ("surgery", "category", "lumpectomy, mastectomy", "Breast surgery"),
    ("chemotherapy", "integer", "1 yes, 0 no", "Chemotherapy"),
    ("radiotherapy", "integer", "1 yes, 0 no", "Radiotherapy"),
    ("ai_drug", "category", "anastrozole, exemestane, letrozole", "Initial aromatase inhibitor"),
    ("months_to_aimss", "number", "months", "From AI start to the AIMSS diagnosis"),
    ("strategy", "category", "monotherapy, combined", "Initial management after diagnosis"),
    ("average_pain", "number", "0-10", "Baseline BPI item 5 (average pain)"),
    ("interference", "number", "0-10", "Baseline BPI interference score (mean of item 9)"),
    ("high_interference", "integer", "1 if >= 7", "Baseline interference >= 7 (the study)"),
    ("average_pain_m1", "number", "0-10", "Average pain at month 1 (nearest within 14 days)"),
    ("interference_m1", "number", "0-10", "Interference at month 1 (nearest within 14 days)"),
    ("average_pain_m2", "number", "0-10", "Average pain at month 2"),
    ("interference_m2", "number", "0-10", "Interference at month 2"),
    ("average_pain_m3", "number", "0-10", "Average pain at month 3"),
    ("interference_m3", "number", "0-10", "Interference at month 3"),
    ("time_days", "integer", "days", "From the AIMSS diagnosis to the event or censoring"),
    ("event", "integer", "1 event, 0 censored", "Composite endpoint reached"),
    (
        "event_type",
        "category",
        "aimss_discontinuation, recurrence, death, none",
        "Which composite event",
    ),
    (
        "censoring",
        "category",
        "last_follow_up, other_discontinuation, switch_non_ai, open_aimss_stop, none",
        "Why she is censored (none: an event)",
    ),
    ("open_stop_days", "integer", "days", "Days off the AI so far in an AIMSS stop open at as-of"),
    ("strategy_window_days", "integer", "days", "Her clinic's window defining the strategy"),
]
CATEGORY_COLUMNS = [name for name, kind, _unit, _text in DATA_DICTIONARY if kind == "category"]


def dictionary_rows() -> list[dict[str, str]]:
    return [
        {"column": name, "type": kind, "unit_or_coding": unit, "description": text}
        for name, kind, unit, text in DATA_DICTIONARY
    ]


def dictionary_json() -> str:
    return json.dumps(
        {
            "columns": dictionary_rows(),
            "suppressed_value": SUPPRESSED,
            "note": "De-identified (HIPAA Safe Harbor); blank where a category is held by "
            f"fewer than {MIN_CELL} patients under disclosure control.",
        },
        indent=1,
        ensure_ascii=False,
    )


def dictionary_csv() -> str:
    return rows_csv(["column", "type", "unit_or_coding", "description"], dictionary_rows())


def analysis_dataset(*, cohort_filter: CohortFilter, disclosure_control: bool) -> pd.DataFrame:
    """The de-identified analysis dataset (see the module's docstring); under disclosure
    control, a cohort the report would refuse raises :class:`~analytics.disclosure.ReportRefused`.
    ``attrs["patient_ids"]`` keeps the internal ids for the access record only."""
    data = build_cohort(cohort_filter).data
    if disclosure_control:
        reason = disclosure.refusal(data)
        if reason:
            raise disclosure.ReportRefused(reason)
    patients: dict[Any, str] = {}
    clinics: dict[Any, str] = {}

    def pseudonym(given: dict[Any, str], key: Any) -> str:
        return given.setdefault(key, secrets.token_hex(PSEUDONYM_BYTES))

    out = pd.DataFrame(
        {
            "patient": [pseudonym(patients, pid) for pid in data["patient_id"]],
            "clinic": [pseudonym(clinics, cid) for cid in data["clinic_id"]],
            "age": [top_coded_age(a) for a in data["age"]],
        }
    )
    for name, _kind, _unit, _text in DATA_DICTIONARY[3:]:
        out[name] = data[name].to_numpy()
    out["bmi"] = out["bmi"].round(1)
    out["months_to_aimss"] = out["months_to_aimss"].astype(float).round(1)
    if disclosure_control:
        for column in CATEGORY_COLUMNS:
            counts = out[column].value_counts()
            rare = counts[(counts > 0) & (counts < MIN_CELL)].index
            out[column] = out[column].astype(object).where(~out[column].isin(rare), SUPPRESSED)
    # a random row order: the database's order would leak who was enrolled first
    order = sorted(range(len(out)), key=lambda _i: secrets.randbits(64))
    shuffled = out.iloc[order].reset_index(drop=True)
    shuffled.attrs["patient_ids"] = [int(i) for i in data["patient_id"]]
    return shuffled


def dataset_csv(frame: pd.DataFrame) -> str:
    return str(frame.to_csv(index=False, lineterminator="\n", na_rep=""))


def dataset_json(frame: pd.DataFrame) -> str:
    return frame.to_json(orient="records", force_ascii=False) or "[]"


# --- tables -----------------------------------------------------------------------------------


def rows_csv(columns: list[str], rows: Iterable[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})
    return buffer.getvalue()


HR_COLUMNS = ["term", "label", "hr", "ci_low", "ci_high", "p", "ph_p"]


def _hr_rows(model: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not model:
        return []
    ph = {t["term"]: t["p"] for t in (model.get("ph_check") or {}).get("terms", [])}
    return [{**e, "ph_p": e.get("ph_p", ph.get(e["term"]))} for e in model.get("hr") or []]


def _table1_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for row in report.get("table1") or []:
        levels = row.get("levels") or [{"level": "", "groups": row["groups"]}]
        for level in levels:
            for group, cell in level["groups"].items():
                rows.append(
                    {"variable": row["label"], "level": level["level"], "group": group, **cell}
                    | {"p": row["p"], "test": row["test"]}
                )
    return rows


def _curve_rows(curves: dict[str, Any] | None, value: str = "survival") -> list[dict[str, Any]]:
    rows = []
    for group, curve in (curves or {}).items():
        if not curve:
            continue
        for i, day in enumerate(curve.get("time_days") or []):
            rows.append(
                {
                    "group": group,
                    "time_days": day,
                    value: curve[value][i],
                    "ci_low": (curve.get("ci_low") or [None] * (i + 1))[i],
                    "ci_high": (curve.get("ci_high") or [None] * (i + 1))[i],
                    "n_at_risk": curve["n_at_risk"][i],
                }
            )
    return rows


def _schoenfeld_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    models = {
        "multivariable": report.get("cox_multivariable"),
        "stratified_high": (report.get("stratified") or {}).get("high"),
        "stratified_low": (report.get("stratified") or {}).get("low"),
        "landmark_univariate": (report.get("landmark") or {}).get("univariate"),
        "landmark_multivariable": (report.get("landmark") or {}).get("multivariable"),
        "interaction_model": (report.get("evidence") or {}).get("interaction_model"),
        "iptw": (report.get("evidence") or {}).get("iptw"),
    }
    rows = []
    for name, model in models.items():
        check = (model or {}).get("ph_check") or {}
        if "global" in check:
            rows.append({"model": name, "term": "GLOBAL", **check["global"]})
        for term in check.get("terms", []):
            rows.append({"model": name, **term})
    return rows


def report_tables(report: dict[str, Any]) -> dict[str, str]:
    """Every table of a report as CSV text, by name."""
    evidence = report.get("evidence") or {}
    interaction = evidence.get("interaction_model") or {}
    km = report.get("km") or {}
    tables = {
        "flow": rows_csv(["step", "label", "removed", "remaining"], report.get("flow") or []),
        "table1": rows_csv(
            ["variable", "level", "group", "n", "mean", "sd", "percent", "p", "test"],
            _table1_rows(report),
        ),
        "cox_univariate": rows_csv(["variable", *HR_COLUMNS], report.get("cox_univariate") or []),
        "cox_multivariable": rows_csv(HR_COLUMNS, _hr_rows(report.get("cox_multivariable"))),
        "stratified_high": rows_csv(
            HR_COLUMNS, _hr_rows((report.get("stratified") or {}).get("high"))
        ),
        "stratified_low": rows_csv(
            HR_COLUMNS, _hr_rows((report.get("stratified") or {}).get("low"))
        ),
        "landmark": rows_csv(
            ["model", *HR_COLUMNS],
            [
                {"model": name, **row}
                for name in ("univariate", "multivariable")
                for row in _hr_rows((report.get("landmark") or {}).get(name))
            ],
        ),
        "schoenfeld": rows_csv(
            ["model", "term", "label", "chi2", "df", "p"], _schoenfeld_rows(report)
        ),
        "interaction_strata": rows_csv(
            ["label", "hr", "ci_low", "ci_high", "p"],
            list((interaction.get("strata") or {}).values()),
        ),
        "events_per_cell": rows_csv(
            ["stratum", "strategy", "n", "events", "sparse"],
            interaction.get("events_per_cell") or [],
        ),
        "table1b": rows_csv(
            ["variable", "label", "smd_before", "smd_after", "balanced_after"],
            (evidence.get("iptw") or {}).get("balance") or [],
        ),
    }
    for name in ("overall", "high", "low"):
        tables[f"km_{name}"] = rows_csv(
            ["group", "time_days", "survival", "ci_low", "ci_high", "n_at_risk"],
            _curve_rows(km.get(name)),
        )
    tables["cif"] = rows_csv(
        ["group", "time_days", "cif", "n_at_risk"],
        _curve_rows((report.get("competing_risks") or {}).get("groups"), "cif"),
    )
    return tables


# --- figures ----------------------------------------------------------------------------------

FIGURES = ("km_overall", "km_high", "km_low")
FIGURE_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
COLOURS = {"monotherapy": "#1f77b4", "combined": "#d62728"}
AT_RISK_MONTHS = (0, 6, 12, 18, 24, 30, 36)


def figure(report: dict[str, Any], name: str, fmt: str) -> bytes:
    """A Kaplan-Meier figure (``km_overall``, ``km_high``, ``km_low``) as SVG or PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    curves = (report.get("km") or {}).get(name.removeprefix("km_")) or {}
    fig = Figure(figsize=(6.4, 4.8))
    axes = fig.add_axes((0.12, 0.32, 0.84, 0.6))
    rows: list[tuple[str, list[str]]] = []
    for group, curve in curves.items():
        if not curve or not curve.get("time_days"):
            continue
        months = [0.0] + [d / DAYS_PER_MONTH for d in curve["time_days"]]
        colour = COLOURS.get(group, "#333333")
        axes.step(months, [1.0, *curve["survival"]], where="post", color=colour, label=group)
        if curve.get("ci_low"):
            axes.fill_between(
                months,
                [1.0, *curve["ci_low"]],
                [1.0, *curve["ci_high"]],
                step="post",
                color=colour,
                alpha=0.15,
                linewidth=0,
            )
        censored = [d / DAYS_PER_MONTH for d in curve.get("censored_days") or []]
        if censored:
            steps = pd.Series([1.0, *curve["survival"]], index=months)
            heights = [float(steps[steps.index <= m].iloc[-1]) for m in censored]
            axes.plot(censored, heights, "|", color=colour, markersize=8)
        rows.append(
            (group, ["–" if p["n"] is None else str(p["n"]) for p in curve.get("at_risk") or []])
        )
    axes.set_ylim(0, 1.02)
    axes.set_xlim(0, max(AT_RISK_MONTHS))
    axes.set_xticks(list(AT_RISK_MONTHS))
    axes.set_xlabel("Months from AIMSS diagnosis")
    axes.set_ylabel("Interruption-free survival")
    axes.legend(loc="lower left")
    # numbers at risk under the x axis, each under its tick
    for line, (group, counts) in enumerate(rows):
        y = -0.32 - 0.1 * line
        axes.text(-0.02, y, group, transform=axes.transAxes, ha="right", fontsize=8)
        for month, count in zip(AT_RISK_MONTHS, counts, strict=False):
            axes.text(
                month, y, count, transform=axes.get_xaxis_transform(), ha="center", fontsize=8
            )
    if rows:
        axes.text(0, -0.22, "Numbers at risk", transform=axes.transAxes, fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=120)
    return buffer.getvalue()
