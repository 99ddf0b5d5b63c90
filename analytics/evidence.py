"""The analyses a reviewer asks for beyond the study's own: the interaction read per stratum,
sparse data handled, confounding by indication weighted away, competing risks read both ways,
and trajectories modelled on every response. One entry point, :func:`evidence`, gives the
report's ``evidence`` section from the design frame of :func:`analytics.stats.design`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from . import stats
from .competing import cause_codes, fine_gray, gray_test
from .interaction import interaction_model
from .mixed import ancova_month3, mixed_model
from .weighting import weighted_analysis


def _competing(frame: pd.DataFrame) -> dict[str, Any]:
    cause = cause_codes(frame["event_type"])
    data = frame.assign(cause=cause)
    if not (cause == 1).any() or data["strategy"].nunique() < 2:
        return {"error": "no AIMSS discontinuation in both groups"}
    gray = gray_test(
        data["time_days"].to_numpy(dtype=float), cause.to_numpy(), data["strategy"].to_numpy()
    )
    return {
        "gray": gray,
        "fine_gray": fine_gray(data, ["strategy"])
        | {
            "reading": "subdistribution HR: how combined management changes the cumulative "
            "incidence of stopping for AIMSS, counting patients removed by recurrence or death"
        },
        "cause_specific_reading": "cause-specific HR: how combined management changes the rate "
        "of stopping for AIMSS among patients still on the AI and free of recurrence",
    }


def evidence(frame: pd.DataFrame, strata: list[str] | None = None) -> dict[str, Any]:
    """The reviewer's analyses on the design frame (one row per patient), every Cox model
    stratified by ``strata`` (the clinic, when the report spans several)."""
    result: dict[str, Any] = {
        "clinic_strata": bool(strata),
        "interaction_model": interaction_model(frame, stats.MULTIVARIABLE, strata=strata),
        "iptw": weighted_analysis(frame, strata),
        "competing_risks": _competing(frame),
        "trajectory_models": {
            outcome: {
                "mixed_model": mixed_model(frame, outcome),
                "ancova_month3": ancova_month3(frame, outcome),
            }
            for outcome in stats.TRAJECTORY_OUTCOMES
        },
    }
    return result
