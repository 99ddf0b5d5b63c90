"""Three-month trajectories without dropping patients who missed a visit.

The study compared BPI from baseline to month 3 by repeated-measures ANOVA, which needs every
patient at every visit and assumes sphericity. Here:

- a linear mixed model (statsmodels ``MixedLM``): outcome ~ month (categorical, 0-3) x group,
  with a random intercept per patient, fitted by REML on every available response; the
  time x group test is the joint Wald test of the month x group terms (3 degrees of freedom);
  On a large cohort statsmodels' fit costs seconds per thousand patients (a Python loop over
  patients in every likelihood evaluation: 23 s an outcome on 5,000), so above
  :data:`MIXEDLM_MAX_PATIENTS` the same model is fitted by :func:`random_intercept_reml`:
  the exact REML estimate of a random-intercept model, profiled on the variance ratio
  gamma = tau^2 / sigma^2, with every cross-product summed per patient in closed form
  (V_i^-1 = (I - gamma / (1 + n_i gamma) J) / sigma^2; Harville 1977; Pinheiro & Bates 2000,
  ch. 2). ``tests/analytics/test_mixed.py`` checks it against MixedLM to 1e-4;
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
MIXEDLM_MAX_PATIENTS = 2000  # statsmodels' MixedLM up to here, the closed form above


def _long(frame: pd.DataFrame, outcome: str) -> pd.DataFrame:
    parts = []
    for month in MONTHS:
        column = outcome if month == 0 else f"{outcome}_m{month}"
        part = frame[["patient_id", "strategy", column]].rename(columns={column: "value"})
        parts.append(part.assign(month=month))
    return pd.concat(parts).dropna(subset=["value"])


def _design(data: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Intercept, later months, combined, and month x combined (treatment coding)."""
    strategy = data["strategy"]
    # "combined"/"monotherapy" in the analysis dataset, 1/0 in the design frame
    combined = (
        (strategy == "combined") if strategy.dtype == object else (strategy.astype(float) == 1)
    ).to_numpy(dtype=float)
    months = data["month"].to_numpy()
    # the visits present (an imported cohort has baseline and month 3 only); the first is the
    # reference, as in the formula C(month)
    later = sorted(set(months.tolist()))[1:]
    columns = [np.ones(len(data))]
    names = ["intercept"]
    for month in later:
        columns.append((months == month).astype(float))
        names.append(f"month{month}")
    columns.append(combined)
    names.append("combined")
    for month in later:
        columns.append((months == month) * combined)
        names.append(f"month{month}:combined")
    return np.column_stack(columns), names


def random_intercept_reml(
    y: np.ndarray, x: np.ndarray, groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """REML fit of y = X b + u_group + e (u ~ N(0, tau^2), e ~ N(0, sigma^2)): the fixed
    effects, their covariance, sigma^2 and tau^2 (see the module's docstring)."""
    from scipy.optimize import minimize_scalar

    codes, sizes = np.unique(groups, return_inverse=True, return_counts=True)[1:]
    n, p = x.shape
    sums_x = np.zeros((len(sizes), p))
    np.add.at(sums_x, codes, x)
    sums_y = np.bincount(codes, weights=y, minlength=len(sizes))
    xx, xy, yy = x.T @ x, x.T @ y, float(y @ y)

    def pieces(gamma: float) -> tuple[np.ndarray, np.ndarray, float]:
        w = gamma / (1 + sizes * gamma)
        a = xx - (sums_x * w[:, None]).T @ sums_x
        b = xy - (sums_x * w[:, None]).T @ sums_y
        c = yy - float(w @ sums_y**2)
        return a, b, c

    def minus_reml(log_gamma: float) -> float:
        gamma = float(np.exp(log_gamma))
        a, b, c = pieces(gamma)
        quadratic = c - float(b @ np.linalg.solve(a, b))
        logdet = np.linalg.slogdet(a)[1]
        return float(0.5 * ((n - p) * np.log(quadratic) + np.log1p(sizes * gamma).sum() + logdet))

    best = minimize_scalar(minus_reml, bounds=(-20.0, 10.0), method="bounded")
    gamma = float(np.exp(best.x))
    a, b, c = pieces(gamma)
    beta = np.linalg.solve(a, b)
    sigma2 = (c - float(b @ beta)) / (n - p)
    return beta, sigma2 * np.linalg.inv(a), sigma2, gamma * sigma2


def _time_by_group_closed_form(data: pd.DataFrame) -> tuple[float, int, list[str]]:
    x, names = _design(data)
    beta, cov, _sigma2, _tau2 = random_intercept_reml(
        data["value"].to_numpy(dtype=float), x, data["patient_id"].to_numpy()
    )
    terms = [i for i, name in enumerate(names) if ":" in name]
    effect = beta[terms]
    statistic = float(effect @ np.linalg.solve(cov[np.ix_(terms, terms)], effect))
    return statistic, len(terms), []


def _time_by_group_mixedlm(data: pd.DataFrame) -> tuple[float, int, list[str]]:
    import statsmodels.formula.api as smf

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
    messages = sorted({str(w.message).split("\n")[0] for w in caught})
    return float(wald.statistic), len(names), messages


def mixed_model(frame: pd.DataFrame, outcome: str) -> dict[str, Any]:
    """Random-intercept model of ``outcome`` over months 0-3 by group; time x group Wald test."""
    from scipy import stats as sps

    data = _long(frame, outcome)
    if data["month"].nunique() < 2 or data["strategy"].nunique() < 2:
        return {"error": "needs two groups and at least two visits"}
    patients = int(data["patient_id"].nunique())
    large = patients > MIXEDLM_MAX_PATIENTS
    fit = _time_by_group_closed_form if large else _time_by_group_mixedlm
    statistic, df, messages = fit(data)
    return {
        "method": "linear mixed model, random intercept per patient, REML; month categorical"
        + ("; closed-form REML (large cohort)" if large else "; statsmodels MixedLM"),
        "n_patients": patients,
        "n_responses": len(data),
        "time_x_group": {"chi2": statistic, "df": df, "p": float(sps.chi2.sf(statistic, df))},
        "warnings": messages,
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
