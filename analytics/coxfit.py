"""The one home of every Cox fit in a report, and of its proportional-hazards check.

- :func:`fit_cox`: lifelines ``CoxPHFitter`` (Efron ties, no penalty) on the named terms, with
  the warnings the library raised *recorded* (convergence, low variance, separation) so that
  the report shows them; they are never silenced.
- :func:`schoenfeld`: the Schoenfeld-residual test of proportional hazards (Grambsch &
  Therneau 1994) on rank-transformed time: per term from lifelines'
  ``proportional_hazard_test``, and the global test, which lifelines does not give, from the
  same residuals: ``T = d * (g'R) V (g'R)^T / sum(g^2)`` on ``p`` degrees of freedom, where
  ``g`` is the centred time transform at the ``d`` events, ``R`` the unscaled Schoenfeld
  residuals and ``V`` the model's covariance (its diagonal gives lifelines' per-term test, which
  ``tests/analytics/test_schoenfeld.py`` checks). A term or the global test with p < 0.05 is
  flagged in plain words.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

PH_ALPHA = 0.05  # the conventional level at which the proportional-hazards test is flagged
# Terms in words, with their reference category.
TERM_LABELS = {
    "strategy": "combined vs monotherapy",
    "high_interference": "high (>= 7) vs low interference",
    "strategy_x_high_interference": "interaction: combined x high interference (ratio of HRs)",
    "average_pain": "average pain, per point",
    "interference": "interference score, per point",
    "age": "age, per year",
    "bmi": "BMI, per kg/m²",
    "stage_ii_iii": "TNM II/III vs 0/I",
    "chemotherapy": "chemotherapy vs none",
    "radiotherapy": "radiotherapy vs none",
    "mastectomy": "mastectomy vs lumpectomy",
    "exemestane": "exemestane vs anastrozole",
    "letrozole": "letrozole vs anastrozole",
    "months_to_aimss": "months from AI start to AIMSS, per month",
}
PH_TEST = "Schoenfeld residuals (Grambsch & Therneau), rank-transformed time"


def _messages(caught: Sequence[warnings.WarningMessage]) -> list[str]:
    return sorted({str(w.message).strip().split("\n")[0] for w in caught})


def fit_cox(frame: pd.DataFrame, terms: Sequence[str], **options: Any) -> tuple[Any, list[str]]:
    """A lifelines Cox fit and the warnings it raised (kept for the report, not silenced).
    ``options`` go to ``CoxPHFitter.fit`` (``strata``, ``weights_col``, ``robust``)."""
    from lifelines import CoxPHFitter

    extra = [options.get("weights_col"), *(options.get("strata") or [])]
    columns = list(dict.fromkeys([*terms, "time_days", "event", *[c for c in extra if c]]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitter = CoxPHFitter().fit(
            frame[columns], duration_col="time_days", event_col="event", **options
        )
    return fitter, _messages(caught)


def _global_test(fitter: Any, data: pd.DataFrame, residuals: pd.DataFrame) -> dict[str, Any]:
    """The global Grambsch-Therneau test on rank time (see the module's docstring), from the
    unscaled Schoenfeld ``residuals``."""
    names = list(fitter.params_.index)
    r = residuals[names].to_numpy(dtype=float)
    times = data.loc[residuals.index, "time_days"].to_numpy(dtype=float)
    # lifelines' rank time: the events counted in time order (ties in the fitter's order, in
    # which it returns the residuals)
    order = np.argsort(times, kind="stable")
    r = r[order]
    g = np.arange(1.0, len(times) + 1)
    g = g - g.mean()
    d = len(g)
    score = g @ r
    variance = fitter.variance_matrix_.loc[names, names].to_numpy()
    statistic = float(d * score @ variance @ score / (g @ g))
    return {"chi2": statistic, "df": len(names), "p": float(sps.chi2.sf(statistic, len(names)))}


def schoenfeld(
    fitter: Any, frame: pd.DataFrame, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """The proportional-hazards check of a fitted model, global and per term."""
    from lifelines.statistics import proportional_hazard_test

    labels = labels or {}
    columns = [c for c in frame.columns if c in {*fitter.params_.index, "time_days", "event"}]
    strata = [fitter.strata] if isinstance(fitter.strata, str) else list(fitter.strata or [])
    columns += [c for c in strata if c not in columns]
    if fitter.weights_col:
        columns.append(fitter.weights_col)
    data = frame[columns]
    out: dict[str, Any] = {"test": PH_TEST}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # the residuals once: lifelines' scaled ones are d * (unscaled) V
            residuals = fitter.compute_residuals(data, kind="schoenfeld")
            names = list(fitter.params_.index)
            scaled = fitter.event_observed.sum() * residuals[names].dot(
                fitter.variance_matrix_.loc[names, names]
            )
            scaled.columns = names
            result = proportional_hazard_test(
                fitter, data, time_transform="rank", precomputed_residuals=scaled
            )
            out["global"] = _global_test(fitter, data, residuals)
    except (ValueError, np.linalg.LinAlgError, KeyError, ZeroDivisionError) as error:
        return out | {"error": f"not computable ({type(error).__name__})"}
    out["warnings"] = _messages(caught)
    out["terms"] = [
        {
            "term": name,
            "label": labels.get(name, name),
            "chi2": float(row["test_statistic"]),
            "p": float(row["p"]),
        }
        for name, row in (
            (str(t if isinstance(t, str) else t[0]), r) for t, r in result.summary.iterrows()
        )
    ]
    violated = [t["label"] for t in out["terms"] if t["p"] < PH_ALPHA]
    out["violations"] = violated
    global_p = out["global"]["p"]
    if violated or global_p < PH_ALPHA:
        out["flag"] = (
            "The hazard ratio may change over follow-up (proportional hazards doubtful, "
            "p < 0.05)"
            + (f" for {', '.join(violated)}" if violated else " for the model as a whole")
            + ": read it as an average over time, and see the landmark analysis."
        )
    else:
        out["flag"] = None
    return out
