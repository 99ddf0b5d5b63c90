"""The reviewer's analyses against identities, independent implementations and published
worked examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.statistics import logrank_test
from statsmodels.duration.hazard_regression import PHReg

from analytics.competing import fine_gray, gray_test
from analytics.firth import _PartialLikelihood, firth_cox
from analytics.interaction import events_per_cell, interaction_model, linear_combination
from analytics.mixed import ancova_month3, mixed_model
from analytics.weighting import e_value, weighted_analysis

TERMS = ["strategy", "high_interference", "strategy_x_high_interference", "average_pain"]


def _survival(n: int, seed: int, log_hr: dict[str, float]) -> pd.DataFrame:
    """Untied exponential event times with a uniform censoring, covariates as the study's."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "strategy": rng.integers(0, 2, n).astype(float),
            "high_interference": rng.integers(0, 2, n).astype(float),
            "average_pain": rng.normal(5.7, 1.4, n),
        }
    )
    frame["strategy_x_high_interference"] = frame["strategy"] * frame["high_interference"]
    eta = sum(frame[term] * value for term, value in log_hr.items())
    event_time = rng.exponential(900 / np.exp(eta))
    censor = rng.uniform(300, 1200, n)
    frame["time_days"] = np.minimum(event_time, censor)
    frame["event"] = (event_time <= censor).astype(int)
    return frame


def test_the_partial_likelihood_agrees_with_lifelines_on_untied_data() -> None:
    # given a cohort without tied times, where Breslow's and Efron's likelihoods coincide
    frame = _survival(200, 1, {"strategy": -0.5, "average_pain": 0.3})
    fitted = CoxPHFitter().fit(
        frame[["strategy", "average_pain", "time_days", "event"]], "time_days", "event"
    )
    likelihood = _PartialLikelihood(
        frame[["strategy", "average_pain"]].to_numpy(),
        frame["time_days"].to_numpy(),
        frame["event"].to_numpy(),
    )
    # then the log partial likelihood at lifelines' estimate is lifelines' own
    assert likelihood.value(fitted.params_.to_numpy(), penalised=False) == pytest.approx(
        fitted.log_likelihood_, rel=1e-9
    )


def test_firth_stays_finite_under_separation_where_the_ordinary_estimate_runs_away() -> None:
    # given no events at all among combined management: a monotone likelihood
    frame = _survival(240, 2, {"strategy": -0.5})
    frame.loc[frame["strategy"] == 1, "event"] = 0
    # when fitted both ways
    ordinary = CoxPHFitter().fit(frame[["strategy", "time_days", "event"]], "time_days", "event")
    [firth] = firth_cox(frame, ["strategy"])
    # then the ordinary coefficient drifts far out while Firth's is finite and below 1 as an HR,
    # with an interval that excludes 1
    assert ordinary.params_["strategy"] < -8
    assert -8 < firth.coef < -1
    assert firth.ci_high is not None
    assert firth.ci_high < 1
    assert firth.p < 0.05


def test_firth_is_close_to_the_ordinary_estimate_when_data_are_plentiful() -> None:
    frame = _survival(400, 3, {"strategy": -0.6})
    ordinary = CoxPHFitter().fit(frame[["strategy", "time_days", "event"]], "time_days", "event")
    [firth] = firth_cox(frame, ["strategy"])
    # the penalty shrinks a little towards 0 and no more
    assert firth.coef == pytest.approx(ordinary.params_["strategy"], abs=0.02)
    low, high = ordinary.confidence_intervals_.loc["strategy"]
    assert firth.ci_low is not None
    assert firth.ci_high is not None
    assert np.log(firth.ci_low) == pytest.approx(low, abs=0.05)
    assert np.log(firth.ci_high) == pytest.approx(high, abs=0.05)


def test_stratum_hrs_from_the_interaction_model_equal_a_reparameterised_fit() -> None:
    # given the study's interaction model
    frame = _survival(
        600, 4, {"strategy": -0.3, "high_interference": 0.2, "strategy_x_high_interference": -1.2}
    )
    result = interaction_model(frame, TERMS)
    # when the same model is fitted with one strategy term per stratum
    split = frame.assign(
        in_low=frame["strategy"] * (1 - frame["high_interference"]),
        in_high=frame["strategy"] * frame["high_interference"],
    )
    refit = CoxPHFitter().fit(
        split[["in_low", "in_high", "high_interference", "average_pain", "time_days", "event"]],
        "time_days",
        "event",
    )
    # then the linear combinations are that fit's HRs and intervals
    for name, term in (("low", "in_low"), ("high", "in_high")):
        row = refit.summary.loc[term]
        assert result["strata"][name]["hr"] == pytest.approx(row["exp(coef)"], rel=1e-5)
        assert result["strata"][name]["ci_low"] == pytest.approx(
            row["exp(coef) lower 95%"], rel=1e-4
        )
    # and the likelihood-ratio test stands beside the Wald test, terms in words
    assert result["interaction"]["likelihood_ratio"]["df"] == 1
    assert 0 <= result["interaction"]["likelihood_ratio"]["p"] <= 1
    assert result["strata"]["high"]["label"] == "combined vs monotherapy, high interference (>= 7)"
    assert result["sparse"] is False


def test_a_cell_with_fewer_than_five_events_switches_to_firth_and_says_so() -> None:
    # given only three events among combined, high-interference patients
    frame = _survival(400, 5, {"strategy": -0.3})
    cell = (frame["strategy"] == 1) & (frame["high_interference"] == 1)
    frame.loc[cell & (frame["event"] == 1), "event"] = [1, 1, 1] + [0] * int(
        (cell & (frame["event"] == 1)).sum() - 3
    )
    # when the interaction model is asked for
    result = interaction_model(frame, TERMS)
    # then the sparse cell is named and the strata estimates are Firth's, marked as such
    cells = {(c["strategy"], c["stratum"]): c for c in events_per_cell(frame)}
    assert cells[("combined", "high interference (>= 7)")]["events"] == 3
    assert result["sparse"] is True
    assert "Firth" in result["method"]
    assert "combined, high interference (>= 7) (3)" in result["sparse_note"]
    assert result["strata"]["high"]["firth"] is True
    assert 0 < result["strata"]["high"]["hr"] < 50


def test_e_values_match_vanderweele_and_dings_worked_example() -> None:
    # VanderWeele & Ding (Ann Intern Med 2017): RR 3.9 (95 % CI 1.8 to 8.7) gives an E-value
    # of 7.26 for the estimate and 3.00 for the lower limit (rare outcome, RR read directly)
    result = e_value(3.9, 1.8, 8.7, event_share=0.01)
    assert result["e_value"] == pytest.approx(7.26, abs=0.01)
    assert result["e_value_ci"] == pytest.approx(3.0, abs=0.01)
    # a protective estimate is inverted; an interval across 1 needs no confounding at all
    assert e_value(1 / 3.9, 1 / 8.7, 1 / 1.8, event_share=0.01)["e_value"] == pytest.approx(
        7.26, abs=0.01
    )
    assert e_value(0.8, 0.5, 1.3, event_share=0.01)["e_value_ci"] == 1.0


def test_weighting_removes_confounding_by_indication() -> None:
    # given sicker patients (higher pain) more often given combined management, and a
    # strategy with no effect of its own while pain raises the hazard
    rng = np.random.default_rng(6)
    n = 1500
    frame = pd.DataFrame(
        {
            "age": rng.normal(63, 4, n),
            "bmi": rng.normal(24, 2.6, n),
            "stage_ii_iii": rng.integers(0, 2, n).astype(float),
            "chemotherapy": rng.integers(0, 2, n).astype(float),
            "radiotherapy": rng.integers(0, 2, n).astype(float),
            "mastectomy": rng.integers(0, 2, n).astype(float),
            "exemestane": 0.0,
            "letrozole": 0.0,
            "months_to_aimss": rng.normal(4, 1.5, n),
            "average_pain": rng.normal(5.7, 1.4, n),
        }
    )
    frame["interference"] = frame["average_pain"] + rng.normal(0.4, 0.8, n)
    chance = 1 / (1 + np.exp(-(frame["average_pain"] - 5.7) * 0.7))
    frame["strategy"] = (rng.uniform(size=n) < chance).astype(float)
    event_time = rng.exponential(900 / np.exp(0.6 * (frame["average_pain"] - 5.7)))
    censor = rng.uniform(300, 1200, n)
    frame["time_days"] = np.minimum(event_time, censor)
    frame["event"] = (event_time <= censor).astype(int)
    naive = CoxPHFitter().fit(frame[["strategy", "time_days", "event"]], "time_days", "event")
    # when weighted
    result = weighted_analysis(frame)
    # then the naive HR shows harm that is not there, the weighted one is near 1, and pain is
    # balanced after weighting
    assert naive.hazard_ratios_["strategy"] > 1.4
    assert 0.8 < result["hr"]["hr"] < 1.25
    pain = next(row for row in result["balance"] if row["variable"] == "average_pain")
    assert abs(pain["smd_before"]) > 0.5
    assert abs(pain["smd_after"]) < 0.1
    assert result["hr"]["e_value"] >= 1


def _competing(n: int, seed: int, effect: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    interest = rng.exponential(700 / np.exp(effect * group))
    competing = rng.exponential(1400, n)
    censor = rng.uniform(300, 1500, n)
    time = np.minimum.reduce([interest, competing, censor])
    cause = np.select([time == interest, time == competing], [1, 2], 0)
    return pd.DataFrame({"time_days": time, "cause": cause, "strategy": group.astype(float)})


def test_without_competing_events_fine_gray_is_the_cox_model() -> None:
    # given no competing events, the subdistribution hazard is the cause-specific hazard
    frame = _competing(300, 7, 0.5)
    frame["cause"] = frame["cause"].replace(2, 0)
    result = fine_gray(frame, ["strategy"])
    # then Fine-Gray equals Cox (Breslow ties, as statsmodels fits them) to five decimals
    reference = PHReg(
        frame["time_days"], frame[["strategy"]], status=(frame["cause"] == 1), ties="breslow"
    ).fit()
    assert np.log(result["hr"][0]["hr"]) == pytest.approx(reference.params[0], abs=1e-5)
    assert result["converged"] is True


def test_without_competing_events_grays_test_is_close_to_the_log_rank_test() -> None:
    frame = _competing(400, 8, 0.5)
    frame["cause"] = frame["cause"].replace(2, 0)
    gray = gray_test(frame["time_days"].to_numpy(), frame["cause"].to_numpy(), frame["strategy"])
    mono, combined = frame[frame["strategy"] == 0], frame[frame["strategy"] == 1]
    log_rank = logrank_test(
        mono["time_days"], combined["time_days"], mono["cause"] == 1, combined["cause"] == 1
    )
    # Gray's variance estimator differs from the hypergeometric one only slightly
    assert gray["chi2"] == pytest.approx(log_rank.test_statistic, rel=0.05)


def test_grays_test_and_fine_gray_agree_on_a_real_difference_and_on_none() -> None:
    different = _competing(500, 9, 0.7)
    same = _competing(500, 10, 0.0)
    assert (
        gray_test(
            different["time_days"].to_numpy(), different["cause"].to_numpy(), different["strategy"]
        )["p"]
        < 0.01
    )
    assert fine_gray(different, ["strategy"])["hr"][0]["ci_low"] > 1
    assert (
        gray_test(same["time_days"].to_numpy(), same["cause"].to_numpy(), same["strategy"])["p"]
        > 0.05
    )
    fg = fine_gray(same, ["strategy"])["hr"][0]
    assert fg["ci_low"] < 1 < fg["ci_high"]


def _trajectories(n: int, seed: int, slope_gap: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    combined = rng.integers(0, 2, n)
    level = rng.normal(6, 1, n)
    frame = pd.DataFrame(
        {
            "patient_id": np.arange(n),
            "strategy": combined.astype(float),
            "average_pain": level + rng.normal(0, 0.5, n),
        }
    )
    for month in (1, 2, 3):
        value = level - month * (0.7 + slope_gap * combined) + rng.normal(0, 0.5, n)
        value[rng.uniform(size=n) < 0.2] = np.nan  # a fifth miss each visit
        frame[f"average_pain_m{month}"] = value
    return frame


def test_the_mixed_model_finds_a_time_by_group_interaction_and_keeps_incomplete_patients() -> None:
    with_gap = mixed_model(_trajectories(200, 11, 0.4), "average_pain")
    without = mixed_model(_trajectories(200, 12, 0.0), "average_pain")
    assert with_gap["time_x_group"]["p"] < 0.001
    assert with_gap["time_x_group"]["df"] == 3
    assert without["time_x_group"]["p"] > 0.01
    # patients with a missed visit still count
    assert with_gap["n_patients"] == 200
    assert with_gap["n_responses"] < 800


def test_ancova_recovers_the_baseline_adjusted_month_3_difference() -> None:
    # given month 3 = baseline - 2 - 1.2 x combined, exactly
    frame = _trajectories(50, 13, 0.0)
    frame["average_pain_m3"] = frame["average_pain"] - 2 - 1.2 * frame["strategy"]
    result = ancova_month3(frame, "average_pain")
    assert result["difference"] == pytest.approx(-1.2, abs=1e-9)


def test_linear_combination_of_one_term_is_that_terms_hr() -> None:
    frame = _survival(300, 14, {"strategy": -0.4})
    fitted = CoxPHFitter().fit(frame[["strategy", "time_days", "event"]], "time_days", "event")
    combo = linear_combination(fitted, {"strategy": 1.0})
    assert combo["hr"] == pytest.approx(fitted.hazard_ratios_["strategy"])
    assert combo["p"] == pytest.approx(fitted.summary.loc["strategy", "p"], rel=1e-6)
