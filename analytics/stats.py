"""The study's analyses as pure functions over the analysis dataset (:mod:`analytics.cohort`).

Methods (the study's analysis, Liang et al.), each named in the report it produces:

- Table 1: mean ± SD with Student's t-test (equal variances) for continuous variables; counts
  (%) with Pearson's chi-square without continuity correction (which reproduces the study's
  p-values), or Fisher's exact test when an expected count is under 5: the exact test for 2x2
  tables, the Fisher-Freeman-Halton test by Monte Carlo permutation (9,999 resamples, fixed
  seed) for larger ones.
- Kaplan-Meier (lifelines) of interruption-free survival with numbers at risk (at the report's
  months, and at every step of the curve); log-rank test.
- Cox proportional hazards (lifelines ``CoxPHFitter``, Efron ties, no penalty): univariate per
  baseline variable; multivariable with the strategy x high-interference interaction; within
  each interference stratum. Proportional hazards checked by Schoenfeld residuals
  (``proportional_hazard_test``, rank-transformed time). Events per variable = events / terms.
- Trajectories: mean ± SD per month and group (every patient seen at that visit); the time x
  group test is the study's own: a split-plot repeated-measures ANOVA (group between, month
  0-3 within; sphericity assumed) on the patients seen at all four visits. A linear mixed
  model (statsmodels ``MixedLM``) would keep patients with a missed visit, but takes seconds
  per outcome on 10,000 patients, against the report's 10-second budget.
- Competing risks: Aalen-Johansen cumulative incidence of AIMSS discontinuation with recurrence
  and death as competing events, per group; with the cause-specific Cox HR of combined
  management for AIMSS discontinuation.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from patients.clock import DAYS_PER_MONTH

from .competing import ENDPOINT_EVENTS, EVENT_OF_INTEREST, cause_codes
from .coxfit import TERM_LABELS, fit_cox, schoenfeld

GROUPS = ("monotherapy", "combined")
AT_RISK_MONTHS = (0, 6, 12, 18, 24, 30, 36)
EPV_MIN = 10  # events per variable below which a Cox model is flagged (Peduzzi 1996)
EXPECTED_MIN = 5  # expected cell count under which Fisher's test replaces chi-square
PERMUTATIONS = 9999
ALPHA = 0.05

CONTINUOUS = {
    "age": "Age, years",
    "bmi": "BMI, kg/m²",
    "months_to_aimss": "Months from AI start to AIMSS",
    "average_pain": "BPI average pain at baseline",
    "interference": "BPI interference at baseline",
}
CATEGORICAL: dict[str, tuple[str, list[Any]]] = {
    "tnm_stage": ("TNM stage", ["0-I", "II", "III"]),
    "chemotherapy": ("Chemotherapy", [1, 0]),
    "radiotherapy": ("Radiotherapy", [1, 0]),
    "ai_drug": ("Initial AI", ["anastrozole", "exemestane", "letrozole"]),
    "surgery": ("Surgery", ["lumpectomy", "mastectomy"]),
}
# Univariate Cox: each baseline variable on its own (terms as in the multivariable model).
YES_NO = {1: "yes", 0: "no"}
UNIVARIATE = {
    "strategy": ["strategy"],
    "age": ["age"],
    "bmi": ["bmi"],
    "stage_ii_iii": ["stage_ii_iii"],
    "chemotherapy": ["chemotherapy"],
    "radiotherapy": ["radiotherapy"],
    "mastectomy": ["mastectomy"],
    "ai_drug": ["exemestane", "letrozole"],
    "months_to_aimss": ["months_to_aimss"],
    "average_pain": ["average_pain"],
    "interference": ["interference"],
    "high_interference": ["high_interference"],
}
MULTIVARIABLE = [
    "strategy",
    "high_interference",
    "strategy_x_high_interference",
    "average_pain",
    "age",
    "stage_ii_iii",
]
STRATIFIED = ["strategy", "average_pain", "age", "stage_ii_iii"]


def _num(value: Any, places: int = 6) -> float | None:
    """A JSON-safe float (``None`` for NaN or infinity)."""
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        return None
    # ``places`` decimals, but tiny p-values keep their significant digits
    return round(value, places) if abs(value) >= 10 ** (1 - places) else float(f"{value:.3g}")


def design(data: pd.DataFrame) -> pd.DataFrame:
    """The model terms: combined = 1, high interference (>= 7) = 1, and their product."""
    out = data.copy()
    out["group"] = out["strategy"]  # "monotherapy" / "combined", for grouping
    out["strategy"] = out["combined"].astype(float)
    out["high_interference"] = out["high_interference"].astype(float)
    out["strategy_x_high_interference"] = out["strategy"] * out["high_interference"]
    out["mastectomy"] = (out["surgery"] == "mastectomy").astype(float)
    out["exemestane"] = (out["ai_drug"] == "exemestane").astype(float)
    out["letrozole"] = (out["ai_drug"] == "letrozole").astype(float)
    return out


# --- Table 1 ----------------------------------------------------------------------------------


def _categorical_test(table: np.ndarray) -> tuple[float | None, str]:
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return None, "not testable"
    expected = sps.contingency.expected_freq(table)
    if expected.min() >= EXPECTED_MIN:
        return float(sps.chi2_contingency(table, correction=False).pvalue), "chi-square"
    if table.shape == (2, 2):
        return float(sps.fisher_exact(table).pvalue), "Fisher exact"
    method = sps.PermutationMethod(n_resamples=PERMUTATIONS, rng=np.random.default_rng(0))
    result = sps.fisher_exact(table, method=method)
    return float(result.pvalue), "Fisher-Freeman-Halton (Monte Carlo)"


def percentages(counts: Sequence[int] | np.ndarray) -> list[float | None]:
    """Percentages to one decimal, rounded once, that add up to exactly 100.0 (largest
    remainder: the tenths lost to rounding go to the largest remainders)."""
    counts = np.asarray(counts, dtype=int)
    total = int(counts.sum())
    if total == 0:
        return [None] * len(counts)
    tenths = counts * 1000 / total
    floors = np.floor(tenths).astype(int)
    short = 1000 - int(floors.sum())
    for i in np.argsort(-(tenths - floors), kind="stable")[:short]:
        floors[i] += 1
    return [round(int(f) / 10, 1) for f in floors]


def table1(data: pd.DataFrame) -> list[dict[str, Any]]:
    """Table 1 by strategy (monotherapy vs combined)."""
    rows: list[dict[str, Any]] = []
    by = {g: data[data["group"] == g] for g in GROUPS}
    for column, label in CONTINUOUS.items():
        values = {g: by[g][column].dropna().astype(float) for g in GROUPS}
        p = None
        if all(len(v) >= 2 for v in values.values()):
            p = sps.ttest_ind(values["monotherapy"], values["combined"], equal_var=True).pvalue
        rows.append(
            {
                "variable": column,
                "label": label,
                "kind": "continuous",
                "groups": {
                    g: {
                        "n": len(v),
                        "mean": _num(v.mean() if len(v) else None, 4),
                        "sd": _num(v.std(ddof=1) if len(v) >= 2 else None, 4),
                    }
                    for g, v in values.items()
                },
                "test": "t-test",
                "p": _num(p),
            }
        )
    for column, (label, levels) in CATEGORICAL.items():
        counts = np.array(
            [[int((by[g][column] == level).sum()) for g in GROUPS] for level in levels]
        )
        # per group: its levels' percentages (rounded once, adding up to 100.0)
        percents = [percentages(counts[:, j]) for j in range(len(GROUPS))]
        p, test = _categorical_test(counts)
        rows.append(
            {
                "variable": column,
                "label": label,
                "kind": "categorical",
                "levels": [
                    {
                        "level": YES_NO.get(level, str(level)),
                        "groups": {
                            g: {
                                "n": int(counts[i, j]),
                                "percent": percents[j][i],
                            }
                            for j, g in enumerate(GROUPS)
                        },
                    }
                    for i, level in enumerate(levels)
                ],
                "test": test,
                "p": _num(p),
            }
        )
    return rows


# --- Kaplan-Meier and log-rank ----------------------------------------------------------------


def at_risk(times: np.ndarray, months: Sequence[int] = AT_RISK_MONTHS) -> list[dict[str, int]]:
    """Numbers still at risk (time >= t) at each of ``months``."""
    return [{"month": m, "n": int((times >= m * DAYS_PER_MONTH).sum())} for m in months]


def _still_at_risk(times: np.ndarray, steps: Any) -> list[int]:
    """How many of ``times`` are at or after each step (one sort, not one pass per step)."""
    ordered = np.sort(times)
    return [int(n) for n in len(ordered) - np.searchsorted(ordered, np.asarray(steps), "left")]


def kaplan_meier(data: pd.DataFrame) -> dict[str, Any]:
    """The Kaplan-Meier curve (days) of each group with its 95 % CI and numbers at risk."""
    from lifelines import KaplanMeierFitter

    curves: dict[str, Any] = {}
    for group in GROUPS:
        part = data[data["group"] == group]
        if part.empty:
            curves[group] = None
            continue
        fitter = KaplanMeierFitter().fit(part["time_days"], part["event"])
        table = fitter.survival_function_.join(fitter.confidence_interval_)
        times = part["time_days"].to_numpy()
        curves[group] = {
            "n": len(part),
            "events": int(part["event"].sum()),
            "time_days": [int(t) for t in table.index],
            # still followed at each step (disclosure control cuts the curve where few are)
            "n_at_risk": _still_at_risk(times, table.index),
            "survival": [_num(v) for v in table.iloc[:, 0]],
            "ci_low": [_num(v) for v in table.iloc[:, 1]],
            "ci_high": [_num(v) for v in table.iloc[:, 2]],
            "at_risk": at_risk(part["time_days"].to_numpy()),
            # days on which someone was censored: the curve's censoring marks
            "censored_days": sorted({int(t) for t in part.loc[part["event"] == 0, "time_days"]}),
        }
    return curves


def logrank(data: pd.DataFrame) -> dict[str, Any]:
    """Log-rank test of combined vs monotherapy."""
    from lifelines.statistics import logrank_test

    a, b = (data[data["group"] == g] for g in GROUPS)
    if a.empty or b.empty or data["event"].sum() == 0:
        return {"test": "log-rank", "statistic": None, "p": None}
    result = logrank_test(a["time_days"], b["time_days"], a["event"], b["event"])
    return {
        "test": "log-rank",
        "statistic": _num(result.test_statistic),
        "p": _num(result.p_value),
    }


# --- Cox --------------------------------------------------------------------------------------


def hr_entries(fitter: Any) -> list[dict[str, Any]]:
    """``{"term", "label", "hr", "ci_low", "ci_high", "p"}`` for every term of a fitted model."""
    summary = fitter.summary
    return [
        {
            "term": str(term),
            "label": TERM_LABELS.get(str(term), str(term)),
            "hr": _num(row["exp(coef)"]),
            "ci_low": _num(row["exp(coef) lower 95%"]),
            "ci_high": _num(row["exp(coef) upper 95%"]),
            "p": _num(row["p"]),
        }
        for term, row in summary.iterrows()
    ]


def _usable(frame: pd.DataFrame, terms: Sequence[str]) -> str | None:
    """Why a Cox model cannot be fitted on ``frame``, or ``None``."""
    if int(frame["event"].sum()) == 0:
        return "no events"
    constant = [t for t in terms if frame[t].nunique() < 2]
    if constant:
        return "no variation in " + ", ".join(constant)
    return None


def cox(
    frame: pd.DataFrame, terms: Sequence[str], *, strata: Sequence[str] | None = None
) -> dict[str, Any]:
    """One Cox model (stratified by ``strata``, e.g. the clinic): its HR entries, events per
    variable, the fitting library's warnings and the Schoenfeld test of proportional hazards."""
    strata = list(strata or [])
    frame = frame.dropna(subset=[*terms, "time_days", "event"])
    events = int(frame["event"].sum())
    epv = events / len(terms) if terms else None
    model: dict[str, Any] = {
        "terms": list(terms),
        "labels": [TERM_LABELS.get(t, t) for t in terms],
        "strata": strata,
        "n": len(frame),
        "events": events,
        "epv": _num(epv, 2),
        "epv_warning": epv is not None and epv < EPV_MIN,
        "hr": [],
        "warnings": [],
    }
    problem = _usable(frame, terms)
    if problem:
        model["error"] = problem
        return model
    try:
        fitter, caught = fit_cox(frame, terms, **({"strata": strata} if strata else {}))
    except Exception as error:  # convergence failure (separation, collinearity)
        model["error"] = f"the model did not converge ({type(error).__name__})"
        return model
    model["warnings"] = caught
    model["hr"] = hr_entries(fitter)
    model["ph_check"] = schoenfeld(fitter, frame, TERM_LABELS)
    return model


def cox_univariate(
    frame: pd.DataFrame, strata: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Each baseline variable on its own, with its Schoenfeld test (``ph_p``, ``ph_flag``)."""
    entries = []
    for variable, terms in UNIVARIATE.items():
        model = cox(frame, terms, strata=strata)
        ph = {t["term"]: t for t in (model.get("ph_check") or {}).get("terms", [])}
        for entry in model["hr"]:
            term_ph = ph.get(entry["term"])
            entries.append(
                {
                    **entry,
                    "variable": variable,
                    "ph_p": _num(term_ph["p"]) if term_ph else None,
                    "ph_flag": bool(term_ph and term_ph["p"] < ALPHA),
                    "warnings": model["warnings"],
                }
            )
        if model.get("error"):
            entries.append(
                {
                    "term": variable,
                    "label": TERM_LABELS.get(variable, variable),
                    "variable": variable,
                    "hr": None,
                    "ci_low": None,
                    "ci_high": None,
                    "p": None,
                    "error": model["error"],
                }
            )
    return entries


def stratified(frame: pd.DataFrame, strata: Sequence[str] | None = None) -> dict[str, Any]:
    """Cox of strategy within each interference stratum, adjusted as the study did."""
    return {
        "high": cox(frame[frame["high_interference"] == 1], STRATIFIED, strata=strata),
        "low": cox(frame[frame["high_interference"] == 0], STRATIFIED, strata=strata),
    }


# --- Trajectories -----------------------------------------------------------------------------

TRAJECTORY_OUTCOMES = {"average_pain": "BPI average pain", "interference": "BPI interference"}


def trajectory(data: pd.DataFrame) -> dict[str, Any]:
    """Mean ± SD per month (0-3) and group, and the time x group test of a mixed model."""
    out: dict[str, Any] = {
        "method": "repeated-measures ANOVA (split-plot: group between, month within, "
        "sphericity assumed) on patients with all four visits; F test of time x group",
        "months": [0, 1, 2, 3],
    }
    for outcome in TRAJECTORY_OUTCOMES:
        columns = [outcome] + [f"{outcome}_m{m}" for m in (1, 2, 3)]
        means: dict[str, Any] = {}
        for group in GROUPS:
            part = data.loc[data["group"] == group, columns]
            means[group] = [
                {
                    "month": month,
                    "n": int(part[c].notna().sum()),
                    "mean": _num(part[c].mean(), 4),
                    "sd": _num(part[c].std(ddof=1), 4),
                }
                for month, c in enumerate(columns)
            ]
        out[outcome] = {"groups": means, **_time_by_group(data, columns)}
    return out


def _time_by_group(data: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """Split-plot repeated-measures ANOVA (the study's method) on patients with every visit:
    the F test of time x group against time x subjects within groups (sphericity assumed)."""
    complete = data.dropna(subset=columns)
    values = complete[columns].to_numpy(float)
    groups = complete["combined"].to_numpy()
    n, t = values.shape
    labels = np.unique(groups)
    if len(labels) < 2 or n <= len(labels) or t < 2:
        return {"p_interaction": None, "n_complete": int(n), "error": "not enough data"}
    grand = values.mean()
    ss_subjects = t * ((values.mean(axis=1) - grand) ** 2).sum()
    ss_time = n * ((values.mean(axis=0) - grand) ** 2).sum()
    ss_group = ss_cells = 0.0
    for label in labels:
        part = values[groups == label]
        ss_group += t * len(part) * (part.mean() - grand) ** 2
        ss_cells += len(part) * ((part.mean(axis=0) - grand) ** 2).sum()
    ss_interaction = ss_cells - ss_group - ss_time
    ss_error = ((values - grand) ** 2).sum() - ss_subjects - ss_time - ss_interaction
    df_interaction = (t - 1) * (len(labels) - 1)
    df_error = (t - 1) * (n - len(labels))
    if ss_error <= 0:
        return {"p_interaction": None, "n_complete": int(n), "error": "no residual variance"}
    f_value = (ss_interaction / df_interaction) / (ss_error / df_error)
    return {
        "p_interaction": _num(sps.f.sf(f_value, df_interaction, df_error)),
        "f": _num(f_value, 4),
        "df": [df_interaction, df_error],
        "n_complete": int(n),
    }


# --- Competing risks --------------------------------------------------------------------------

CIF_MONTHS = (6, 12, 18, 24, 30, 36)


def competing_risks(frame: pd.DataFrame, strata: Sequence[str] | None = None) -> dict[str, Any]:
    """Aalen-Johansen cumulative incidence of AIMSS discontinuation (recurrence and death
    compete), per group, and the cause-specific Cox HR of combined management."""
    from lifelines import AalenJohansenFitter

    causes = cause_codes(frame["event_type"])
    result: dict[str, Any] = {
        "method": "Aalen-Johansen; recurrence and death as competing events",
        "event_of_interest": EVENT_OF_INTEREST,
        "events": {k: int((frame["event_type"] == k).sum()) for k in ENDPOINT_EVENTS},
        "groups": {},
    }
    for group in GROUPS:
        mask = frame["group"] == group
        if not mask.any() or not (causes[mask] == 1).any():
            result["groups"][group] = None
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fitter = AalenJohansenFitter(calculate_variance=False, seed=0).fit(
                frame.loc[mask, "time_days"], causes[mask], event_of_interest=1
            )
        result.setdefault("warnings", [])
        result["warnings"] = sorted(
            {*result["warnings"], *(str(w.message).strip().split("\n")[0] for w in caught)}
        )
        cif = fitter.cumulative_density_.iloc[:, 0]
        # the jitter lifelines adds to tied times is sub-day: whole days are shown
        days = np.floor(cif.index.to_numpy()).astype(int)
        series = pd.Series(cif.to_numpy(), index=days).groupby(level=0).last()
        times = frame.loc[mask, "time_days"].to_numpy()
        result["groups"][group] = {
            "time_days": [int(t) for t in series.index],
            "n_at_risk": _still_at_risk(times, series.index),
            "cif": [_num(v) for v in series],
            "at_months": [
                {"month": m, "cif": _num(_step_value(series, m * DAYS_PER_MONTH))}
                for m in CIF_MONTHS
            ],
        }
    cause_specific = frame.assign(event=(causes == 1).astype(int))
    model = cox(cause_specific, ["strategy"], strata=strata)
    result["cause_specific_hr"] = model["hr"]
    result["cause_specific_ph_check"] = model.get("ph_check")
    if model.get("error"):
        result["cause_specific_error"] = model["error"]
    return result


def _step_value(series: pd.Series, at: float) -> float:
    before = series[series.index <= at]
    return float(before.iloc[-1]) if len(before) else 0.0
