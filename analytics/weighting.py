"""Confounding by indication: propensity scores, inverse-probability weights and E-values.

Allocation in the study was not random: sicker patients (higher pain and interference) got
combined management, which the authors name as their first limitation. This module emulates
the comparison a randomised trial would make (target-trial emulation, Hernán & Robins 2016):

- the propensity score for combined management from the baseline covariates (logistic
  regression, statsmodels);
- stabilised inverse-probability-of-treatment weights, P(A) / P(A | X), truncated at the 1st and
  99th percentiles (Cole & Hernán 2008);
- standardized mean differences before and after weighting (Austin 2009; |SMD| < 0.1 is the
  usual mark of balance): the report's Table 1b;
- the weighted Kaplan-Meier curves and Cox model, with robust (sandwich) standard errors,
  because weights make the model-based ones too narrow;
- an E-value for each main hazard ratio (VanderWeele & Ding, Ann Intern Med 2017): how strong
  an unmeasured confounder would have to be, on the risk-ratio scale with both treatment and
  outcome, to explain the estimate away. The outcome is not rare here (about a quarter have an
  event), so the hazard ratio is first turned into an approximate risk ratio with their
  square-root transformation.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from .coxfit import fit_cox, schoenfeld

PROPENSITY_COVARIATES = {
    "age": "age, years",
    "bmi": "BMI, kg/m²",
    "stage_ii_iii": "TNM II/III",
    "chemotherapy": "chemotherapy",
    "radiotherapy": "radiotherapy",
    "mastectomy": "mastectomy",
    "exemestane": "exemestane (vs anastrozole)",
    "letrozole": "letrozole (vs anastrozole)",
    "months_to_aimss": "months from AI start to AIMSS",
    "average_pain": "BPI average pain at baseline",
    "interference": "BPI interference at baseline",
}
TRUNCATE_PERCENTILES = (1, 99)  # Cole & Hernán 2008
SCORE_FLOOR = 1e-6  # propensity scores are kept this far from 0 and 1
BALANCED_SMD = 0.1  # Austin 2009
RARE_OUTCOME = 0.15  # VanderWeele & Ding 2017: below this the HR approximates the risk ratio


def propensity_scores(frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """P(combined | baseline covariates) per patient, and the fitting warnings."""
    import statsmodels.api as sm

    covariates = [c for c in PROPENSITY_COVARIATES if frame[c].nunique() > 1]
    x = sm.add_constant(frame[covariates].astype(float), has_constant="add")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = sm.Logit(frame["strategy"].astype(float), x).fit(disp=0)
    return np.asarray(model.predict(x)), sorted({str(w.message) for w in caught})


def stabilised_weights(treated: np.ndarray, score: np.ndarray) -> np.ndarray:
    """P(A) / P(A | X), truncated at the 1st and 99th percentiles."""
    # a score of exactly 0 or 1 (perfect prediction in a small cohort) would weigh infinitely
    score = np.clip(score, SCORE_FLOOR, 1 - SCORE_FLOOR)
    share = treated.mean()
    weights = np.where(treated == 1, share / score, (1 - share) / (1 - score))
    low, high = np.percentile(weights, TRUNCATE_PERCENTILES)
    return np.asarray(np.clip(weights, low, high))


def standardized_difference(values: np.ndarray, treated: np.ndarray, weights: np.ndarray) -> float:
    """Weighted difference in means over the pooled SD (the same formula for binary
    covariates, whose variance is p(1 - p))."""
    means, variances = [], []
    for arm in (1, 0):
        v, w = values[treated == arm], weights[treated == arm]
        mean = np.average(v, weights=w)
        means.append(mean)
        variances.append(np.average((v - mean) ** 2, weights=w))
    pooled = math.sqrt((variances[0] + variances[1]) / 2)
    return float((means[0] - means[1]) / pooled) if pooled > 0 else 0.0


def balance_table(frame: pd.DataFrame, weights: np.ndarray) -> list[dict[str, Any]]:
    """Table 1b: SMD of each covariate before and after weighting."""
    treated = frame["strategy"].to_numpy(dtype=int)
    ones = np.ones(len(frame))
    rows = []
    for column, label in PROPENSITY_COVARIATES.items():
        values = frame[column].to_numpy(dtype=float)
        before = standardized_difference(values, treated, ones)
        after = standardized_difference(values, treated, weights)
        rows.append(
            {
                "variable": column,
                "label": label,
                "smd_before": round(before, 3),
                "smd_after": round(after, 3),
                "balanced_after": abs(after) < BALANCED_SMD,
            }
        )
    return rows


def e_value(hr: float, ci_low: float, ci_high: float, *, event_share: float) -> dict[str, Any]:
    """E-values for a hazard ratio and for the interval limit nearer 1 (VanderWeele & Ding)."""

    def as_risk_ratio(value: float) -> float:
        if event_share < RARE_OUTCOME:
            return value
        return float((1 - 0.5 ** math.sqrt(value)) / (1 - 0.5 ** math.sqrt(1 / value)))

    def e(rr: float) -> float:
        rr = rr if rr >= 1 else 1 / rr
        return rr + math.sqrt(rr * (rr - 1))

    limit = 1.0 if ci_low <= 1 <= ci_high else e(as_risk_ratio(ci_high if hr < 1 else ci_low))
    return {
        "e_value": round(e(as_risk_ratio(hr)), 2),
        "e_value_ci": round(limit, 2),
        "approximation": "HR as risk ratio (rare outcome)"
        if event_share < RARE_OUTCOME
        else "square-root transformation of the HR (common outcome)",
    }


def weighted_analysis(frame: pd.DataFrame, strata: list[str] | None = None) -> dict[str, Any]:
    """Propensity model, Table 1b, IPTW Kaplan-Meier and Cox with robust SEs, and E-values."""
    from lifelines import KaplanMeierFitter

    frame = frame.dropna(subset=[*PROPENSITY_COVARIATES, "strategy", "time_days", "event"])
    score, caught = propensity_scores(frame)
    weights = stabilised_weights(frame["strategy"].to_numpy(dtype=int), score)
    weighted = frame.assign(iptw=weights)
    options: dict[str, Any] = {"strata": strata} if strata else {}
    fitter, caught_cox = fit_cox(weighted, ["strategy"], weights_col="iptw", robust=True, **options)
    row = fitter.summary.loc["strategy"]
    hr: dict[str, Any] = {
        "term": "combined vs monotherapy (IPTW)",
        "hr": float(row["exp(coef)"]),
        "ci_low": float(row["exp(coef) lower 95%"]),
        "ci_high": float(row["exp(coef) upper 95%"]),
        "p": float(row["p"]),
    }
    event_share = float(frame["event"].mean())
    curves = {}
    for label, arm in (("monotherapy", 0), ("combined", 1)):
        part = weighted[weighted["strategy"] == arm]
        with warnings.catch_warnings(record=True) as caught_km:
            warnings.simplefilter("always")
            km = KaplanMeierFitter().fit(part["time_days"], part["event"], weights=part["iptw"])
        caught_cox += [str(w.message).strip().split("\n")[0] for w in caught_km]
        curve = km.survival_function_.iloc[:, 0]
        # patients (not weights) at risk at each step, so that disclosure control can cut a
        # curve where fewer than 11 remain
        times = np.sort(part["time_days"].to_numpy())
        at_risk = len(times) - np.searchsorted(times, curve.index.to_numpy(), side="left")
        curves[label] = {
            "time_days": [int(t) for t in curve.index],
            "survival": [round(float(s), 4) for s in curve],
            "n_at_risk": [int(n) for n in at_risk],
        }
    return {
        "method": "logistic propensity score; stabilised weights truncated at the 1st/99th "
        "percentiles; weighted Cox with robust (sandwich) standard errors",
        "weights": {
            "min": round(float(weights.min()), 3),
            "max": round(float(weights.max()), 3),
            "mean": round(float(weights.mean()), 3),
        },
        "balance": balance_table(frame, weights),
        "hr": hr
        | e_value(
            float(row["exp(coef)"]),
            float(row["exp(coef) lower 95%"]),
            float(row["exp(coef) upper 95%"]),
            event_share=event_share,
        ),
        "km": curves,
        "ph_check": schoenfeld(fitter, weighted),
        "warnings": sorted({*caught, *caught_cox}),
    }
