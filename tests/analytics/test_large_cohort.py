"""A large cohort's report is computed by array arithmetic where lifelines loops row by row,
and the results are lifelines' own: the Cox fits (Efron ties, strata, weights with robust
errors), their Schoenfeld residuals, and the Fine-Gray and Gray computations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter

from analytics import competing, stats
from analytics.coxfit import LARGE_COHORT_ROWS, fit_cox, large_cohort_fitter
from tests.analytics.synthetic import analysis_dataset

OPTIONS: list[dict[str, Any]] = [
    {},
    {"strata": ["clinic_id"]},
    {"weights_col": "w", "robust": True},
    {"weights_col": "w", "robust": True, "strata": ["clinic_id"]},
]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    data = stats.design(analysis_dataset(n=1500, seed=5, clinics=2))
    return data.assign(w=np.random.default_rng(1).uniform(0.5, 2.0, len(data)))


@pytest.mark.parametrize("options", OPTIONS, ids=["plain", "strata", "weights", "both"])
def test_the_large_cohort_cox_fit_and_residuals_are_lifelines_own(
    frame: pd.DataFrame, options: dict[str, Any]
) -> None:
    # given a cohort with tied event days, two clinics and weights
    columns = [*stats.MULTIVARIABLE, "time_days", "event"]
    columns += ["clinic_id"] if "strata" in options else []
    columns += ["w"] if "weights_col" in options else []
    data = frame[columns]
    # when both fitters fit the same model
    reference = CoxPHFitter().fit(data, "time_days", "event", **options)
    fast = large_cohort_fitter().fit(data, "time_days", "event", **options)
    # then coefficients, errors, p-values, likelihood and residuals agree to rounding
    assert np.allclose(fast.summary.to_numpy(), reference.summary.to_numpy(), rtol=1e-9)
    assert fast.log_likelihood_ == pytest.approx(reference.log_likelihood_, rel=1e-12)
    ours = fast.compute_residuals(data, kind="schoenfeld")
    theirs = reference.compute_residuals(data, kind="schoenfeld")
    assert list(ours.index) == list(theirs.index)
    assert np.allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-9, atol=1e-12)


def test_a_cohort_above_the_threshold_is_fitted_by_the_large_cohort_fitter() -> None:
    # given a cohort just above the threshold
    data = stats.design(analysis_dataset(n=LARGE_COHORT_ROWS + 1, seed=2))
    # when fit_cox fits it
    fitter, _warnings = fit_cox(data, ["strategy"])
    reference = CoxPHFitter().fit(data[["strategy", "time_days", "event"]], "time_days", "event")
    # then it is the large-cohort fitter, with lifelines' estimate
    assert type(fitter).__name__ == "_LargeCohortCoxPHFitter"
    assert fitter.hazard_ratios_["strategy"] == pytest.approx(
        reference.hazard_ratios_["strategy"], rel=1e-10
    )


def _fine_gray_by_matrix(frame: pd.DataFrame, covariates: list[str]) -> np.ndarray:
    """The Fine-Gray estimate from the definition: an explicit (event times x patients)
    weight matrix, Newton-Raphson on the weighted score."""
    x = frame[covariates].to_numpy(dtype=float)
    time = frame["time_days"].to_numpy(dtype=float)
    cause = frame["cause"].to_numpy(dtype=int)
    event_times, deaths = np.unique(time[cause == 1], return_counts=True)
    g = competing._censoring_before(time, cause)
    own = g(time)
    at_risk = time[None, :] >= event_times[:, None]
    competed = (cause[None, :] == 2) & (time[None, :] < event_times[:, None])
    ratio = g(event_times)[:, None] / np.where(own > 0, own, 1.0)[None, :]
    w = np.where(at_risk, 1.0, np.where(competed, ratio, 0.0))
    beta = np.zeros(len(covariates))
    for _ in range(50):
        e = w * np.exp(x @ beta)[None, :]
        s0 = e.sum(axis=1)
        xbar = (e @ x) / s0[:, None]
        score = x[cause == 1].sum(axis=0) - deaths @ xbar
        s2 = np.einsum("ti,ij,ik->tjk", e, x, x) / s0[:, None, None]
        info = np.einsum("t,tjk->jk", deaths, s2 - xbar[:, :, None] * xbar[:, None, :])
        step = np.linalg.solve(info, score)
        beta = beta + step
        if np.abs(step).max() < 1e-10:
            break
    return beta


def test_fine_gray_by_prefix_sums_is_the_estimate_of_the_weight_matrix() -> None:
    # given a cohort with competing events (recurrence, death)
    data = analysis_dataset(n=800, seed=4)
    data = data.assign(
        cause=competing.cause_codes(data["event_type"]), strategy=data["combined"].astype(float)
    )
    # when the Fine-Gray model is fitted
    result = competing.fine_gray(data, ["strategy", "age"])
    # then its hazard ratios are the explicit computation's
    expected = np.exp(_fine_gray_by_matrix(data, ["strategy", "age"]))
    assert [e["hr"] for e in result["hr"]] == pytest.approx(list(expected), rel=1e-9)
