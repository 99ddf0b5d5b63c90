"""Proportional hazards checked for every Cox model a report shows; one home for Cox fits,
whose warnings are recorded, never silenced; clinic strata; the landmark analysis."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.statistics import proportional_hazard_test

from analytics import stats
from analytics.coxfit import fit_cox, schoenfeld
from analytics.report import report_from_data
from tests.analytics.synthetic import analysis_dataset


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return report_from_data(analysis_dataset(n=240, seed=3, clinics=2))


def _models(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    evidence = report["evidence"]
    return {
        "multivariable": report["cox_multivariable"],
        "stratified high": report["stratified"]["high"],
        "stratified low": report["stratified"]["low"],
        "landmark univariate": report["landmark"]["univariate"],
        "landmark multivariable": report["landmark"]["multivariable"],
        "interaction model": evidence["interaction_model"],
        "IPTW": evidence["iptw"],
        "cause-specific": {"ph_check": report["competing_risks"]["cause_specific_ph_check"]},
    }


def test_every_cox_model_shown_carries_its_schoenfeld_test_global_and_per_term(
    report: dict[str, Any],
) -> None:
    for name, model in _models(report).items():
        check = model["ph_check"]
        assert "error" not in check, name
        assert 0 <= check["global"]["p"] <= 1, name
        assert check["terms"], name
        assert all(0 <= t["p"] <= 1 for t in check["terms"]), name
        assert "flag" in check, name
    # and every univariate entry has its own test
    assert all(e["ph_p"] is not None for e in report["cox_univariate"] if e.get("hr"))


def test_the_global_test_of_a_one_term_model_is_lifelines_per_term_test() -> None:
    # given a one-term model (its global test is its only term's)
    frame = analysis_dataset(n=200, seed=4)
    fitter, _warnings = fit_cox(frame, ["average_pain"])
    # when both are computed
    ours = schoenfeld(fitter, frame)
    reference = proportional_hazard_test(
        CoxPHFitter().fit(frame[["average_pain", "time_days", "event"]], "time_days", "event"),
        frame[["average_pain", "time_days", "event"]],
        time_transform="rank",
    )
    # then the global statistic is lifelines' per-term statistic
    assert ours["global"]["chi2"] == pytest.approx(float(reference.test_statistic[0]), rel=1e-6)
    assert ours["terms"][0]["p"] == pytest.approx(float(reference.p_value[0]), rel=1e-6)


def test_non_proportional_hazards_are_flagged_in_plain_words() -> None:
    # given a strategy whose effect reverses over follow-up (early harm, late benefit)
    rng = np.random.default_rng(5)
    n = 600
    strategy = rng.integers(0, 2, n)
    early = rng.exponential(np.where(strategy == 1, 100, 600))
    late = 200 + rng.exponential(np.where(strategy == 1, 3000, 300))
    time = np.where(early < 200, early, late)
    frame = pd.DataFrame(
        {"strategy": strategy, "time_days": np.minimum(time, 1000), "event": (time < 1000) * 1}
    )
    fitter, _warnings = fit_cox(frame, ["strategy"])
    check = schoenfeld(fitter, frame, {"strategy": "combined vs monotherapy"})
    assert check["global"]["p"] < 0.05
    assert check["violations"] == ["combined vs monotherapy"]
    assert "may change over follow-up" in check["flag"]


def test_the_fitting_librarys_warnings_are_recorded_not_silenced() -> None:
    # given a term that separates the events completely (no event among combined)
    frame = analysis_dataset(n=120, seed=6)
    frame.loc[frame["combined"] == 1, "event"] = 0
    frame = stats.design(frame)
    # when the model is fitted
    model = stats.cox(frame, ["strategy"])
    # then lifelines' convergence warning is in the result
    assert model["warnings"], model


def test_every_cox_model_is_stratified_by_clinic_when_the_report_spans_several(
    report: dict[str, Any],
) -> None:
    assert report["clinic_strata"] is True
    assert report["cox_multivariable"]["strata"] == ["clinic_id"]
    assert report["stratified"]["high"]["strata"] == ["clinic_id"]
    assert report["landmark"]["multivariable"]["strata"] == ["clinic_id"]
    assert "stratified by clinic_id" in report["evidence"]["interaction_model"]["method"]
    # and one clinic: no strata
    single = report_from_data(analysis_dataset(n=200, seed=3, clinics=1))
    assert single["clinic_strata"] is False
    assert single["cox_multivariable"]["strata"] == []


def test_the_landmark_analysis_restarts_follow_up_at_the_end_of_the_strategy_window(
    report: dict[str, Any],
) -> None:
    landmark = report["landmark"]
    assert landmark["landmark_days"] == [14]
    removed = landmark["removed"]["events_before"] + landmark["removed"]["censored_before"]
    assert landmark["univariate"]["n"] == report["n_patients"] - removed
    assert landmark["univariate"]["hr"][0]["term"] == "strategy"
