"""The study's population, criterion by criterion, and the CONSORT-style flow of a report.

Liang et al. included women with AIMSS who received at least one documented management
intervention and had at least 18 months of follow-up from the AIMSS diagnosis, and excluded
stage IV disease, recurrence before the symptoms, pre-existing rheumatic disease, long-term
steroids or immunosuppressants, and AI stopped for other reasons. Each criterion is a recorded
patient attribute (:class:`patients.models.Patient`) or derived from her records, and each can
be switched off per report (``CohortFilter.criteria``). The order below is the order of the
flow: a patient is counted against the first criterion that removes her.

- ``stage_iv``, ``rheumatic_disease``, ``long_term_immunosuppression``: the patient's fields.
- ``recurrence_before_aimss``: a confirmed recurrence dated before the AIMSS diagnosis.
- ``no_intervention``: no management intervention recorded up to the as-of date.
- ``short_follow_up``: the AIMSS diagnosis less than 18 months (548 days) before the as-of
  date. This is *potential* follow-up (time the study could have followed her): a patient whose
  event came earlier stays in, since leaving her out would select on the outcome.

Stopping the AI for another reason (or switching to a non-AI endocrine therapy) censors her at
that date by default (``other_stop="censor"``); ``other_stop="exclude"`` removes her instead,
as the study did. After the criteria, the analysis itself needs an initial strategy (an
intervention in the clinic's strategy window) and a baseline BPI-SF
(:data:`adherence.baseline.BASELINE_RULE`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from django.utils.translation import gettext_noop as N_

from patients.clock import DAYS_PER_MONTH

MIN_FOLLOW_UP_DAYS = round(18 * DAYS_PER_MONTH)  # 18 months (the study's inclusion criterion)

CRITERIA: dict[str, str] = {
    "stage_iv": N_("Stage IV disease"),
    "recurrence_before_aimss": N_("Recurrence or metastasis before the AIMSS diagnosis"),
    "rheumatic_disease": N_("Pre-existing rheumatic disease"),
    "long_term_immunosuppression": N_("Long-term steroids or immunosuppressants"),
    "no_intervention": N_("No documented management intervention"),
    "short_follow_up": N_("Less than 18 months from the AIMSS diagnosis to the as-of date"),
}
OTHER_STOP_CENSOR = "censor"
OTHER_STOP_EXCLUDE = "exclude"
OTHER_STOP_SETTINGS = (OTHER_STOP_CENSOR, OTHER_STOP_EXCLUDE)
OTHER_STOP_LABEL = N_("AI stopped for another reason or switched to a non-AI endocrine therapy")
OTHER_STOP_CENSORINGS = ("other_discontinuation", "switch_non_ai")
ANALYSIS_NEEDS: dict[str, str] = {
    "no_strategy": N_("No intervention started in the strategy window after the diagnosis"),
    "no_baseline": N_("No baseline BPI-SF (see the baseline rule)"),
}


def flow(
    frame: pd.DataFrame, *, criteria: tuple[str, ...], other_stop: str
) -> tuple[list[dict[str, Any]], pd.Series]:
    """The CONSORT-style flow over ``frame`` (one row per patient, a boolean column per
    criterion and ``other_stop``, ``no_strategy``, ``no_baseline``): each step's patients
    removed and left, in order, and the mask of the patients analysed."""
    remaining = pd.Series(True, index=frame.index)
    steps: list[dict[str, Any]] = [
        {
            "step": "assessed",
            "label": N_("Patients with an AIMSS diagnosis in the filter"),
            "removed": None,
            "remaining": len(frame),
        }
    ]
    checks = [(name, CRITERIA[name]) for name in CRITERIA if name in criteria]
    if other_stop == OTHER_STOP_EXCLUDE:
        checks.append(("other_stop", OTHER_STOP_LABEL))
    checks += list(ANALYSIS_NEEDS.items())
    for name, label in checks:
        removed = remaining & frame[name].astype(bool)
        remaining = remaining & ~removed
        steps.append(
            {
                "step": name,
                "label": label,
                "removed": int(removed.sum()),
                "remaining": int(remaining.sum()),
            }
        )
    steps.append(
        {
            "step": "analysed",
            "label": N_("Patients analysed"),
            "removed": None,
            "remaining": int(remaining.sum()),
        }
    )
    return steps, remaining
