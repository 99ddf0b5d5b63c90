"""Three-month trajectories without dropping patients who missed a visit.

The study compared BPI from baseline to month 3 by repeated-measures ANOVA, which needs every
patient at every visit and assumes sphericity. Here:

- a linear mixed model (statsmodels ``MixedLM``): outcome ~ month (categorical, 0-3) x group,
  with a random intercept per patient, fitted by REML on every available response; the
  time x group test is the joint Wald test of the month x group terms (3 degrees of freedom);
- a baseline-adjusted month-3 comparison (ANCOVA, ordinary least squares): month-3 value ~
  baseline value + group, whose group coefficient is the adjusted difference in means
  (Vickers & Altman, BMJ 2001). It needs only baseline and month 3, so it also runs on an
  imported cohort that has nothing in between.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

MONTHS = (0, 1, 2, 3)


def _long(frame: pd.DataFrame, outcome: str) -> pd.DataFrame:
    parts = []
    for month in MONTHS:
        column = outcome if month == 0 else f"{outcome}_m{month}"
        part = frame[["patient_id", "strategy", column]].rename(columns={column: "value"})
        parts.append(part.assign(month=month))
    return pd.concat(parts).dropna(subset=["value"])


def mixed_model(frame: pd.DataFrame, outcome: str) -> dict[str, Any]:
    """Random-intercept model of ``outcome`` over months 0-3 by group; time x group Wald test."""
    import statsmodels.formula.api as smf

    data = _long(frame, outcome)
    if data["month"].nunique() < 2 or data["strategy"].nunique() < 2:
        return {"error": "needs two groups and at least two visits"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = smf.mixedlm("value ~ C(month) * strategy", data, groups=data["patient_id"]).fit(
            reml=True
        )
        names = [n for n in result.params.index if ":" in n]
        constraints = np.zeros((len(names), len(result.params)))
        for row, name in enumerate(names):
            constraints[row, list(result.params.index).index(name)] = 1.0
        wald = result.wald_test(constraints, scalar=True)
    return {
        "method": "linear mixed model, random intercept per patient, REML; month categorical",
        "n_patients": int(data["patient_id"].nunique()),
        "n_responses": len(data),
        "time_x_group": {
            "chi2": float(wald.statistic),
            "df": len(names),
            "p": float(wald.pvalue),
        },
        "warnings": sorted({str(w.message).split("\n")[0] for w in caught}),
    }


def ancova_month3(frame: pd.DataFrame, outcome: str) -> dict[str, Any]:
    """Month-3 value adjusted for baseline: combined minus monotherapy, with its 95 % CI."""
    import statsmodels.formula.api as smf

    data = frame[[outcome, f"{outcome}_m3", "strategy"]].dropna()
    data = data.rename(columns={outcome: "baseline", f"{outcome}_m3": "month3"})
    if len(data) < 4 or data["strategy"].nunique() < 2:
        return {"error": "needs baseline and month 3 in both groups"}
    result = smf.ols("month3 ~ baseline + strategy", data).fit()
    low, high = result.conf_int().loc["strategy"]
    return {
        "method": "ANCOVA: month 3 ~ baseline + group (ordinary least squares)",
        "n": len(data),
        "difference": float(result.params["strategy"]),
        "ci_low": float(low),
        "ci_high": float(high),
        "p": float(result.pvalues["strategy"]),
    }
