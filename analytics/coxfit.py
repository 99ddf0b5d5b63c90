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

Above :data:`LARGE_COHORT_ROWS` rows the same lifelines model is fitted with two of its per-row
Python loops replaced by array arithmetic (:class:`_LargeCohortCoxPHFitter`): the Schoenfeld
residuals (a loop growing its result one row at a time, quadratic in the cohort) and the score
residuals of the robust variance (a prefix sum recomputed for every row, also quadratic), and
Efron's likelihood summed per distinct time (lifelines' ``batch_mode``). Over 100,000
patients the loops took minutes; the arithmetic is the same sums in another order, so the
estimates agree with lifelines' own to rounding (``tests/analytics/test_large_cohort.py``).
Smaller cohorts, and so the demo's pinned figures, go through lifelines unchanged.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
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
# Rows above which a Cox model is fitted by _LargeCohortCoxPHFitter (lifelines' loops take
# seconds a model from here on, minutes at 100,000).
LARGE_COHORT_ROWS = 5000


def _messages(caught: Sequence[warnings.WarningMessage]) -> list[str]:
    return sorted({str(w.message).strip().split("\n")[0] for w in caught})


def fit_cox(frame: pd.DataFrame, terms: Sequence[str], **options: Any) -> tuple[Any, list[str]]:
    """A lifelines Cox fit and the warnings it raised (kept for the report, not silenced).
    ``options`` go to ``CoxPHFitter.fit`` (``strata``, ``weights_col``, ``robust``)."""
    from lifelines import CoxPHFitter

    extra = [options.get("weights_col"), *(options.get("strata") or [])]
    columns = list(dict.fromkeys([*terms, "time_days", "event", *[c for c in extra if c]]))
    large = len(frame) > LARGE_COHORT_ROWS
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitter = (large_cohort_fitter() if large else CoxPHFitter()).fit(
            frame[columns],
            duration_col="time_days",
            event_col="event",
            **options,
        )
    return fitter, _messages(caught)


def _tie_groups(times: np.ndarray) -> np.ndarray:
    """The first row of each run of equal ``times`` (sorted), and ``len(times)`` at the end."""
    starts = np.flatnonzero(np.r_[True, times[1:] != times[:-1]])
    return np.append(starts, len(times))


def schoenfeld_within_stratum(
    x: np.ndarray, times: np.ndarray, events: np.ndarray, weights: np.ndarray, beta: np.ndarray
) -> np.ndarray:
    """Unscaled Schoenfeld residuals with Efron ties, rows sorted by time (then event), as
    lifelines computes them row by row: at a time with d events and risk-set sums S0, S1 (tie
    sums T0, T1), each event's x minus sum_l (S1 - l T1 / d) / (d (S0 - l T0 / d)), l < d;
    rows without an event get 0."""
    n, p = x.shape
    out = np.zeros((n, p))
    if not events.any():
        return out
    scores = weights * np.exp(x @ beta)
    phi_x = scores[:, None] * x
    risk = np.cumsum(scores[::-1])[::-1]
    risk_x = np.cumsum(phi_x[::-1], axis=0)[::-1]
    bounds = _tie_groups(times)
    starts = bounds[:-1]
    deaths = np.add.reduceat(events.astype(float), starts)
    tie = np.add.reduceat(scores * events, starts)
    tie_x = np.add.reduceat(phi_x * events[:, None], starts, axis=0)
    s0, s1 = risk[starts], risk_x[starts]
    mean = np.zeros((len(starts), p))
    safe = np.where(deaths > 0, deaths, 1.0)
    for ell in range(int(deaths.max())):
        here = deaths > ell
        share = (ell / safe)[:, None]
        term = (s1 - share * tie_x) / ((s0 - share[:, 0] * tie) * safe)[:, None]
        mean[here] += term[here]
    group = np.repeat(np.arange(len(starts)), np.diff(bounds))
    out[events] = x[events] - mean[group[events]]
    return out


def efron_within_stratum(
    x: np.ndarray, times: np.ndarray, events: np.ndarray, weights: np.ndarray, beta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """The Hessian, gradient and log partial likelihood with Efron ties (rows sorted by time,
    then event), as lifelines' ``_get_efron_values_batch`` sums them one distinct time after
    another, here all at once: per time with d events, risk-set sums R0, R1, R2 and tie sums
    T0, T1, T2, the l-th of its d terms (l < d) has 1 / (R0 - l/d T0) and (R1 - l/d T1)."""
    n, p = x.shape
    scores = weights * np.exp(x @ beta)
    phi_x = scores[:, None] * x
    phi_xx = phi_x[:, :, None] * x[:, None, :]
    bounds = _tie_groups(times)
    starts = bounds[:-1]
    deaths = np.add.reduceat(events.astype(float), starts)
    has = deaths > 0
    if not has.any():
        return np.zeros((p, p)), np.zeros(p), 0.0
    starts, deaths = starts[has], deaths[has]
    r0 = np.cumsum(scores[::-1])[::-1][starts]
    r1 = np.cumsum(phi_x[::-1], axis=0)[::-1][starts]
    r2 = np.cumsum(phi_xx[::-1], axis=0)[::-1][starts]
    dead = events.astype(float)
    # tie sums: only this time's events (the run from ``start`` to the next distinct time)
    all_starts = bounds[:-1]
    t0 = np.add.reduceat(scores * dead, all_starts)[has]
    t1 = np.add.reduceat(phi_x * dead[:, None], all_starts, axis=0)[has]
    t2 = np.add.reduceat(phi_xx * dead[:, None, None], all_starts, axis=0)[has]
    x_death = np.add.reduceat(x * (weights * dead)[:, None], all_starts, axis=0)[has]
    weight_count = np.add.reduceat(weights * dead, all_starts)[has]
    average = weight_count / deaths
    # one row per (time, l)
    group = np.repeat(np.arange(len(starts)), deaths.astype(int))
    ell = np.arange(len(group)) - np.repeat(np.cumsum(deaths) - deaths, deaths.astype(int))
    share = ell / deaths[group]
    denom = 1.0 / (r0[group] - share * t0[group])
    summand = (r1[group] - share[:, None] * t1[group]) * denom[:, None]
    w = average[group]
    denom_sum = np.bincount(group, weights=denom, minlength=len(starts))
    share_denom_sum = np.bincount(group, weights=share * denom, minlength=len(starts))
    a1 = r2 * denom_sum[:, None, None] - t2 * share_denom_sum[:, None, None]
    hessian = (summand * w[:, None]).T @ summand - np.einsum("g,gjk->jk", average, a1)
    gradient = x_death.sum(axis=0) - (w[:, None] * summand).sum(axis=0)
    log_lik = float((x_death @ beta).sum() + (w * np.log(denom)).sum())
    return hessian, gradient, log_lik


def score_within_stratum(
    x: np.ndarray, events: np.ndarray, weights: np.ndarray, beta: np.ndarray
) -> np.ndarray:
    """Score residuals (Lin & Wei 1989) of rows sorted by time, as lifelines computes them
    (risk sets row by row, ties not pooled): for row i,
    w_i [E_i (x_i - S1_i / S0_i) - phi_i sum_{j <= i} E_j w_j / S0_j (x_i - S1_j / S0_j)],
    the sum over j taken as two prefix sums."""
    phi = np.exp(x @ beta)
    weighted = weights * phi
    s0 = np.cumsum(weighted[::-1])[::-1]
    s1 = np.cumsum((x * weighted[:, None])[::-1], axis=0)[::-1]
    mean = s1 / s0[:, None]
    rate = events * weights / s0
    prefix = np.cumsum(rate)
    prefix_mean = np.cumsum(rate[:, None] * mean, axis=0)
    score = -phi[:, None] * (x * prefix[:, None] - prefix_mean)
    score += events[:, None] * (x - mean)
    return np.asarray(score * weights[:, None])


def large_cohort_fitter() -> Any:
    """A lifelines ``CoxPHFitter`` whose residual computations are array arithmetic."""
    from lifelines import CoxPHFitter
    from lifelines.fitters.coxph_fitter import SemiParametricPHFitter

    class _Model(SemiParametricPHFitter):  # type: ignore[misc]
        def _compute_schoenfeld_within_strata(
            self, X: Any, T: Any, E: Any, weights: Any, entries: Any
        ) -> np.ndarray:
            return schoenfeld_within_stratum(
                X.to_numpy(dtype=float),
                T.to_numpy(dtype=float),
                E.to_numpy(dtype=bool),
                weights.to_numpy(dtype=float),
                self.params_.to_numpy(dtype=float),
            )

        def _compute_score_within_strata(
            self, X: Any, _T: Any, E: Any, weights: Any, entries: Any
        ) -> np.ndarray:
            # X is normalised here, so the coefficients are too (as lifelines does)
            beta = self.params_.to_numpy(dtype=float) * np.asarray(self._norm_std, dtype=float)
            return score_within_stratum(
                X.to_numpy(dtype=float),
                E.to_numpy(dtype=float),
                weights.to_numpy(dtype=float),
                beta,
            )

        def _choose_gradient_calculator(self, T: Any, X: Any, entries: Any) -> Any:
            if entries is not None:
                return super()._choose_gradient_calculator(T, X, entries)

            def gradients(
                X: Any, T: Any, E: Any, weights: Any, entries: Any, beta: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, float]:
                return efron_within_stratum(
                    X.to_numpy(dtype=float),
                    T.to_numpy(dtype=float),
                    E.to_numpy(dtype=bool),
                    weights.to_numpy(dtype=float),
                    beta,
                )

            return gradients

        def _partition_by_strata(
            self, X: Any, T: Any, E: Any, entries: Any, weights: Any
        ) -> Iterator[Any]:
            # every Newton step partitions the same frames again; lifelines looks each stratum
            # up by label (seconds at 100,000 rows), so the parts are cut once per frame
            # (the frames themselves are the key, held so that their identity stays theirs)
            frames = (X, T, E, entries, weights)
            cached = self.__dict__.get("_strata_parts")
            if cached is None or any(a is not b for a, b in zip(cached[0], frames, strict=True)):
                cached = (frames, list(super()._partition_by_strata(X, T, E, entries, weights)))
                self.__dict__["_strata_parts"] = cached
            yield from cached[1]

    class _LargeCohortCoxPHFitter(CoxPHFitter):  # type: ignore[misc]
        def _fit_model_breslow(self, *args: Any, **kwargs: Any) -> Any:
            model = _Model(
                penalizer=self.penalizer,
                l1_ratio=self.l1_ratio,
                strata=self.strata,
                alpha=self.alpha,
                label=self._label,
            )
            model.fit(*args, **kwargs)
            return model

    return _LargeCohortCoxPHFitter()


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
