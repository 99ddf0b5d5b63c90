"""The closed-form random-intercept REML fit used on large cohorts agrees with statsmodels'
MixedLM, which fits the smaller ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from analytics import mixed


def _trajectories(n: int, seed: int, slope_gap: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    combined = rng.integers(0, 2, n)
    level = rng.normal(6, 1, n)
    frame = pd.DataFrame(
        {
            "patient_id": np.arange(n),
            "strategy": np.where(combined == 1, "combined", "monotherapy"),
            "average_pain": level + rng.normal(0, 0.5, n),
        }
    )
    for month in (1, 2, 3):
        value = level - month * (0.7 + slope_gap * combined) + rng.normal(0, 0.5, n)
        value[rng.uniform(size=n) < 0.2] = np.nan  # a fifth miss each visit
        frame[f"average_pain_m{month}"] = value
    return frame


@pytest.mark.parametrize(("seed", "gap"), [(1, 0.0), (2, 0.2)])
def test_the_closed_form_reml_fit_agrees_with_mixedlm(seed: int, gap: float) -> None:
    data = mixed._long(_trajectories(300, seed, gap), "average_pain")
    # the closed form
    x, _names = mixed._design(data)
    beta, cov, sigma2, tau2 = mixed.random_intercept_reml(
        data["value"].to_numpy(), x, data["patient_id"].to_numpy()
    )
    # statsmodels, with the same coding (combined = 1)
    data = data.assign(combined=(data["strategy"] == "combined").astype(float))
    reference = smf.mixedlm("value ~ C(month) * combined", data, groups=data["patient_id"]).fit(
        reml=True
    )
    assert beta == pytest.approx(reference.fe_params.to_numpy(), abs=1e-4)
    assert np.sqrt(np.diag(cov)) == pytest.approx(reference.bse_fe.to_numpy(), rel=1e-3)
    assert sigma2 == pytest.approx(reference.scale, rel=1e-3)
    assert tau2 == pytest.approx(float(reference.cov_re.iloc[0, 0]), rel=1e-3)
    # and the time x group test of both paths agrees
    closed, df, _ = mixed._time_by_group_closed_form(data)
    library, df_library, _ = mixed._time_by_group_mixedlm(data)
    assert df == df_library == 3
    assert closed == pytest.approx(library, rel=1e-3)


def test_a_large_cohort_uses_the_closed_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mixed, "MIXEDLM_MAX_PATIENTS", 100)
    result = mixed.mixed_model(_trajectories(300, 3, 0.4), "average_pain")
    assert "closed-form" in result["method"]
    assert result["time_x_group"]["p"] < 0.001


def test_a_cohort_with_baseline_and_month_3_only_is_fitted_on_those_visits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an imported cohort: baseline and month 3, nothing in between
    frame = _trajectories(300, 4, 0.4)
    frame["average_pain_m1"] = frame["average_pain_m2"] = np.nan
    monkeypatch.setattr(mixed, "MIXEDLM_MAX_PATIENTS", 100)
    closed = mixed.mixed_model(frame, "average_pain")["time_x_group"]
    monkeypatch.setattr(mixed, "MIXEDLM_MAX_PATIENTS", 1000)
    library = mixed.mixed_model(frame, "average_pain")["time_x_group"]
    # then the time x group test has one degree of freedom in both paths, and they agree
    assert closed["df"] == library["df"] == 1
    assert closed["chi2"] == pytest.approx(library["chi2"], rel=1e-3)
