"""A synthetic analysis dataset (the columns of :mod:`analytics.cohort`) for the report's
pure functions: no database, a second or two per report."""

from __future__ import annotations

import numpy as np
import pandas as pd


def analysis_dataset(n: int = 240, seed: int = 1, clinics: int = 1) -> pd.DataFrame:
    """Patients with the study's covariates and exponential event times (combined management
    and less pain: fewer events), censored uniformly; ``clinics`` clinics in turn."""
    rng = np.random.default_rng(seed)
    combined = (rng.random(n) < 0.35).astype(int)
    pain = np.clip(rng.normal(5.7, 1.4, n), 0, 10).round()
    interference = np.clip(rng.normal(6.3, 1.4, n), 0, 10).round(2)
    age = rng.normal(63, 4, n).round(1)
    stage = rng.choice(["0-I", "II", "III"], n, p=[0.5, 0.4, 0.1])
    eta = -0.6 * combined + 0.3 * (pain - 5.7) + 0.05 * (age - 63)
    event_time = rng.exponential(1400 / np.exp(eta))
    censor = rng.uniform(548, 1100, n)
    event = (event_time <= censor).astype(int)
    frame = pd.DataFrame(
        {
            "patient_id": np.arange(1, n + 1),
            "clinic_id": np.arange(n) % clinics + 1,
            "age": age,
            "bmi": rng.normal(24, 2.6, n).round(2),
            "tnm_stage": stage,
            "stage_ii_iii": (stage != "0-I").astype(int),
            "surgery": rng.choice(["lumpectomy", "mastectomy"], n),
            "chemotherapy": rng.integers(0, 2, n),
            "radiotherapy": rng.integers(0, 2, n),
            "ai_drug": rng.choice(["anastrozole", "exemestane", "letrozole"], n, p=[0.8, 0.1, 0.1]),
            "months_to_aimss": rng.normal(4, 1.5, n).clip(0.5),
            "strategy": np.where(combined == 1, "combined", "monotherapy"),
            "combined": combined,
            "average_pain": pain,
            "interference": interference,
            "high_interference": (interference >= 7).astype(int),
            "time_days": np.ceil(np.minimum(event_time, censor)).astype(int),
            "event": event,
            "event_type": np.where(
                event == 1,
                rng.choice(["aimss_discontinuation", "recurrence", "death"], n, p=[0.7, 0.2, 0.1]),
                "none",
            ),
            "censoring": np.where(event == 1, "none", "last_follow_up"),
            "open_stop_days": np.nan,
            "strategy_window_days": 14,
        }
    )
    for month in (1, 2, 3):
        drop = 0.8 * month * (1 + combined * 0.3)
        frame[f"average_pain_m{month}"] = (pain - drop + rng.normal(0, 0.8, n)).clip(0, 10)
        frame[f"interference_m{month}"] = (interference - drop + rng.normal(0, 0.8, n)).clip(0, 10)
    return frame
