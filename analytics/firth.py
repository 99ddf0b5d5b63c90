"""Firth-penalised Cox regression, for sparse data where the ordinary estimate runs away.

When one strategy x stratum cell has few or no events, the Cox partial likelihood is monotone:
the ordinary estimate of a hazard ratio drifts towards 0 or infinity and its Wald interval is
meaningless. Heinze and Schemper (Biometrics 2001; 57:114-119) add Firth's penalty, half the
log-determinant of the Fisher information (Jeffreys' prior), to the partial log-likelihood:

    l*(beta) = l(beta) + 1/2 log |I(beta)|

which always has a finite maximum. Confidence intervals and p-values come from the profile of
the penalised likelihood (a penalised likelihood-ratio test), not from Wald's approximation,
which is what Heinze and Schemper recommend and what R's ``coxphf`` reports.

Ties are handled with Breslow's approximation (as ``coxphf`` does). The partial likelihood is
computed here directly so that the penalty and its profile can be evaluated; the unpenalised
part agrees with lifelines' partial likelihood on data without ties (tested).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sps

CHI2_95 = float(sps.chi2.ppf(0.95, 1))
Z_95 = float(sps.norm.ppf(0.975))  # the 95 % profile-likelihood cut-off, 1 degree of freedom
SEARCH_LIMIT = 20.0  # |log HR| beyond which an interval side is reported as unbounded
PROFILE_TOLERANCE = 1e-3  # log-HR precision of a profile interval's limits


@dataclass(frozen=True)
class FirthTerm:
    term: str
    coef: float
    hr: float
    ci_low: float | None  # None: the profile does not cross the cut-off within the search limit
    ci_high: float | None
    p: float


class _PartialLikelihood:
    """Breslow partial log-likelihood and information of one data set."""

    def __init__(self, x: np.ndarray, time: np.ndarray, event: np.ndarray) -> None:
        order = np.argsort(time, kind="stable")
        self.x = x[order]
        self.time = time[order]
        self.event = event[order].astype(bool)
        # each event's risk set starts at the first row with its time (ties share a risk set)
        self.first = np.searchsorted(self.time, self.time[self.event], side="left")

    def value(self, beta: np.ndarray, penalised: bool) -> float:
        eta = self.x @ beta
        shift = eta.max()
        w = np.exp(eta - shift)
        s0 = np.cumsum(w[::-1])[::-1]
        loglik = float(eta[self.event].sum() - (np.log(s0[self.first]) + shift).sum())
        if not penalised:
            return loglik
        sign, logdet = np.linalg.slogdet(self.information(w, s0))
        return loglik + 0.5 * logdet if sign > 0 else -np.inf

    def information_at(self, beta: np.ndarray) -> np.ndarray:
        eta = self.x @ beta
        w = np.exp(eta - eta.max())
        return self.information(w, np.cumsum(w[::-1])[::-1])

    def information(self, w: np.ndarray, s0: np.ndarray) -> np.ndarray:
        wx = w[:, None] * self.x
        s1 = np.cumsum(wx[::-1], axis=0)[::-1]
        s2 = np.cumsum((wx[:, :, None] * self.x[:, None, :])[::-1], axis=0)[::-1]
        s0e, s1e, s2e = s0[self.first], s1[self.first], s2[self.first]
        mean = s1e / s0e[:, None]
        return np.asarray((s2e / s0e[:, None, None]).sum(axis=0) - mean.T @ mean)


def _maximise(
    likelihood: _PartialLikelihood, start: np.ndarray, fixed: dict[int, float]
) -> tuple[np.ndarray, float]:
    """The penalised maximum with the coefficients in ``fixed`` held at their values."""
    free = [i for i in range(len(start)) if i not in fixed]

    def full(values: np.ndarray) -> np.ndarray:
        beta = start.copy()
        beta[free] = values
        for i, value in fixed.items():
            beta[i] = value
        return beta

    if not free:
        beta = full(np.array([]))
        return beta, likelihood.value(beta, penalised=True)
    result = optimize.minimize(
        lambda v: -likelihood.value(full(v), penalised=True),
        start[free],
        method="BFGS",
    )
    beta = full(result.x)
    return beta, -float(result.fun)


def firth_cox(
    frame: pd.DataFrame,
    terms: Sequence[str],
    *,
    profile: Sequence[str] | None = None,
    intervals: str = "profile",
) -> list[FirthTerm]:
    """Firth-penalised Cox estimates for the terms in ``profile`` (default: all ``terms``) of
    the model on ``terms`` (``time_days`` and ``event`` columns), with penalised
    likelihood-ratio p-values and 95 % intervals: from the profile of the penalised likelihood
    (``intervals="profile"``, a few dozen refits a term), or Wald intervals from the information
    at the penalised estimate (``"wald"``, no refit; what a report computed in the request
    uses)."""
    x = frame[list(terms)].to_numpy(dtype=float)
    likelihood = _PartialLikelihood(
        x, frame["time_days"].to_numpy(dtype=float), frame["event"].to_numpy(dtype=int)
    )
    beta, top = _maximise(likelihood, np.zeros(len(terms)), {})
    se = np.sqrt(np.diag(np.linalg.inv(likelihood.information_at(beta))))

    def deficit(index: int, value: float) -> float:
        _, restricted = _maximise(likelihood, beta, {index: value})
        return 2.0 * (top - restricted)

    entries = []
    for index, term in enumerate(terms):
        if profile is not None and term not in profile:
            continue
        estimate = float(beta[index])
        p = float(sps.chi2.sf(max(deficit(index, 0.0), 0.0), 1))
        if intervals == "wald":
            low: float | None = estimate - Z_95 * float(se[index])
            high: float | None = estimate + Z_95 * float(se[index])
        else:

            def crossing(value: float, i: int = index) -> float:
                return deficit(i, value) - CHI2_95

            low = _profile_limit(crossing, estimate, -1.0)
            high = _profile_limit(crossing, estimate, 1.0)
        entries.append(
            FirthTerm(
                term=term,
                coef=estimate,
                hr=float(np.exp(estimate)),
                ci_low=None if low is None else float(np.exp(low)),
                ci_high=None if high is None else float(np.exp(high)),
                p=p,
            )
        )
    return entries


def _profile_limit(
    crossing: Callable[[float], float], estimate: float, direction: float
) -> float | None:
    """Where the profile deficit crosses the cut-off on one side of the estimate."""
    step = 0.5
    inner = estimate
    while abs(inner - estimate) < SEARCH_LIMIT:
        outer = inner + direction * step
        if crossing(outer) > 0:
            # a thousandth on the log scale is far finer than an interval is reported
            low, high = min(inner, outer), max(inner, outer)
            return float(optimize.brentq(crossing, low, high, xtol=PROFILE_TOLERANCE))
        inner, step = outer, step * 2
    return None
