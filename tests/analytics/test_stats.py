"""The statistics against hand computation and an independent implementation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.hazard_regression import PHReg

from analytics import stats


def _cohort() -> pd.DataFrame:
    # monotherapy: events at days 1 and 3; combined: events at days 2 and 4
    return pd.DataFrame(
        {
            "group": ["monotherapy", "monotherapy", "combined", "combined"],
            "time_days": [1, 3, 2, 4],
            "event": [1, 1, 1, 1],
        }
    )


def test_kaplan_meier_matches_the_hand_computed_product_limit() -> None:
    # given a small cohort with one event per day
    data = pd.DataFrame(
        {
            "group": ["monotherapy"] * 4,
            "time_days": [1, 2, 3, 4],
            "event": [1, 0, 1, 1],  # the second is censored on day 2
        }
    )
    # when the curve is estimated
    curve = stats.kaplan_meier(data)["monotherapy"]
    # then S = 3/4 after day 1, unchanged by the censoring, 3/4 * 1/2 after day 3, 0 after 4
    survival = dict(zip(curve["time_days"], curve["survival"], strict=True))
    assert survival[0] == 1.0
    assert survival[1] == pytest.approx(0.75)
    assert survival[2] == pytest.approx(0.75)
    assert survival[3] == pytest.approx(0.375)
    assert survival[4] == pytest.approx(0.0)
    assert curve["at_risk"][0] == {"month": 0, "n": 4}


def test_log_rank_matches_the_hand_computed_statistic() -> None:
    # given two groups of two: (O - E) for monotherapy = 2 - (1/2 + 1/3 + 1/2) = 2/3
    # and V = 1/4 + 2/9 + 1/4 = 13/18, so chi-square = (2/3)^2 / (13/18) = 8/13
    result = stats.logrank(_cohort())
    assert result["statistic"] == pytest.approx(8 / 13, abs=1e-6)
    assert result["p"] == pytest.approx(0.43276, abs=1e-4)


def test_cox_agrees_with_statsmodels_phreg_to_four_decimals() -> None:
    # given a cohort with tied times, an interaction and continuous covariates
    rng = np.random.default_rng(7)
    n = 300
    data = pd.DataFrame(
        {
            "strategy": rng.integers(0, 2, n).astype(float),
            "high_interference": rng.integers(0, 2, n).astype(float),
            "average_pain": rng.integers(2, 10, n).astype(float),
            "age": rng.normal(63, 4, n).round(1),
            "stage_ii_iii": rng.integers(0, 2, n).astype(float),
        }
    )
    data["strategy_x_high_interference"] = data["strategy"] * data["high_interference"]
    hazard = np.exp(0.25 * data["average_pain"] - 0.8 * data["strategy"])
    data["time_days"] = np.ceil(rng.exponential(400 / hazard)).clip(1, 900).astype(int)
    data["event"] = (rng.random(n) < 0.7).astype(int)
    # when both fit the multivariable model (Efron ties)
    model = stats.cox(data, stats.MULTIVARIABLE)
    reference = PHReg(
        data["time_days"].to_numpy(float),
        data[stats.MULTIVARIABLE].to_numpy(float),
        status=data["event"].to_numpy(float),
        ties="efron",
    ).fit()
    ci = np.exp(reference.conf_int())
    # then hazard ratios, confidence limits and p-values agree to 4 decimals
    for i, entry in enumerate(model["hr"]):
        assert entry["term"] == stats.MULTIVARIABLE[i]
        assert entry["hr"] == pytest.approx(np.exp(reference.params[i]), abs=1e-4)
        assert entry["ci_low"] == pytest.approx(ci[i, 0], abs=1e-4)
        assert entry["ci_high"] == pytest.approx(ci[i, 1], abs=1e-4)
        assert entry["p"] == pytest.approx(reference.pvalues[i], abs=1e-4)
    assert model["epv"] == pytest.approx(model["events"] / 6, abs=0.01)
    assert model["epv_warning"] is False


def test_few_events_per_variable_are_flagged() -> None:
    data = pd.DataFrame(
        {"strategy": [0.0, 1.0] * 10, "time_days": range(1, 21), "event": [1, 0] * 10}
    )
    model = stats.cox(data, ["strategy"])
    # 10 events for one term is enough; for 2 terms it is not
    assert model["epv_warning"] is False
    data["age"] = np.linspace(50, 70, 20)
    assert stats.cox(data, ["strategy", "age"])["epv_warning"] is True


def test_table1_uses_fisher_when_an_expected_count_is_under_five() -> None:
    data = pd.DataFrame(
        {
            "group": ["monotherapy"] * 10 + ["combined"] * 10,
            "chemotherapy": [1] * 9 + [0] + [0] * 8 + [1] * 2,
            "age": np.linspace(55, 70, 20),
        }
    )
    rows = {
        r["variable"]: r
        for r in stats.table1(
            data.reindex(
                columns=[
                    *data,
                    "bmi",
                    "months_to_aimss",
                    "average_pain",
                    "interference",
                    "tnm_stage",
                    "radiotherapy",
                    "ai_drug",
                    "surgery",
                ]
            )
        )
    }
    assert rows["chemotherapy"]["test"] == "Fisher exact"
    assert rows["age"]["test"] == "t-test"
