"""Decision support beside the trajectory: suggestions with their source and limits, never orders.

Two sources:

- Liang et al., *Int J Women's Health* (the study): at AIMSS diagnosis, BPI interference >= 7
  suggests an upfront multimodal combination (>= 2 categories); below 7, a stepwise approach
  (one measure first, escalate if symptoms persist). The authors call it practice-informing,
  not practice-changing: retrospective, single-centre, non-random allocation.
- The guideline summary: management by severity (mild / moderate / severe), graded by the
  impact on daily life. We match it to the BPI severity band of the latest response (Serlin
  1995 cut-points, the clinic's own), which is an approximation said as such on the page.

Beside them, the trials whose entry criteria she meets today, each with its effect, time point
and limits, and how she did at each trial's time point (``clinical.trials``).

Whether interference is high is the decision stored on the response when it was scored
(``assessments.scoring``, with the clinic's ``high_interference_from`` from ``patients.rules``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from assessments.scoring import PainBand

from .selectors import ResponsePoint, Trajectory
from .trials import TrialPanel, trial_panel

STUDY_SOURCE = _(
    "Liang et al., Int J Women's Health: management strategies for AIMSS and treatment "
    "persistence (single-centre retrospective cohort, n = 253)."
)
STUDY_LIMITS = _(
    "Retrospective, single-centre, non-random allocation; practice-informing, not "
    "practice-changing. A suggestion, not an order."
)
GUIDELINE_SOURCE = _("Guideline summary on AIMSS: management by severity.")
GUIDELINE_LIMITS = _(
    "Graded by impact on daily life, matched here to the BPI pain band; most trials are short "
    "beside 5-10 years of AI therapy, so individualise."
)

HIGH = "high"
LOW = "low"

# The guideline's options by severity (the guideline summary, "management by severity").
GUIDELINE_OPTIONS: dict[str, tuple[Promise, Promise]] = {
    "mild": (
        _("Mild (little impact on daily life)"),
        _("Exercise for joint mobility; topical anti-inflammatories."),
    ),
    "moderate": (
        _("Moderate (noticeable impact)"),
        _(
            "Vitamin D supplementation (e.g. 50,000 IU weekly for 8-16 weeks by baseline "
            "level, then monthly); adequate analgesia."
        ),
    ),
    "severe": (
        _("Severe (significant limitation)"),
        _(
            "Duloxetine; short-term prednisolone for flares; consider switching to another AI "
            "or endocrine therapy if symptoms persist; multidisciplinary care with pain "
            "specialists when adherence is threatened."
        ),
    ),
}
BAND_TO_SEVERITY = {
    PainBand.MILD: "mild",
    PainBand.MODERATE: "moderate",
    PainBand.SEVERE: "severe",
}


@dataclass(frozen=True)
class GuidelineOption:
    severity: str
    title: Promise
    options: Promise
    current: bool


@dataclass(frozen=True)
class DecisionSupport:
    stratum: str | None  # "high" or "low" interference; None without an interference score
    threshold: float
    suggestion: str | None
    study_source: Promise
    study_limits: Promise
    guideline: list[GuidelineOption]
    guideline_source: Promise
    guideline_limits: Promise
    # The trials whose entry criteria she meets today, and her response checks (clinical.trials).
    trials: TrialPanel | None = None


def stratum_of(point: ResponsePoint | None) -> str | None:
    """The study's stratum of a response: its stored high-interference decision (made once,
    when it was scored with her clinic's rules); none without an interference score."""
    if point is None or point.interference is None:
        return None
    return HIGH if point.interference_high else LOW


def decision_support(trajectory: Trajectory) -> DecisionSupport:
    """The study's stratified suggestion and the guideline's options for the latest response."""
    latest = trajectory.latest
    stratum = stratum_of(latest)
    threshold = float(trajectory.thresholds.high_interference_from)
    if trajectory.off_ai:
        # The study's pathway is for managing AIMSS while she stays on the aromatase inhibitor.
        stratum = None
        suggestion: str | None = gettext(
            "She is off AI: the study's pathway for managing AIMSS while on an aromatase "
            "inhibitor no longer applies."
        )
    elif stratum == HIGH:
        suggestion = gettext(
            "Interference at or above %(threshold)s: consider an upfront multimodal "
            "combination of at least two categories (analgesic, physical therapy, AI regimen "
            "adjustment, complementary)."
        ) % {"threshold": f"{threshold:g}"}
    elif stratum == LOW:
        suggestion = gettext(
            "Interference below %(threshold)s: consider a stepwise approach, one measure first "
            "(e.g. targeted physical therapy or an oral NSAID), escalating if symptoms persist."
        ) % {"threshold": f"{threshold:g}"}
    else:
        suggestion = None
    current = BAND_TO_SEVERITY.get(PainBand(latest.band)) if latest else None
    return DecisionSupport(
        stratum=stratum,
        threshold=threshold,
        suggestion=suggestion,
        study_source=STUDY_SOURCE,
        study_limits=STUDY_LIMITS,
        guideline=[
            GuidelineOption(severity, title, options, severity == current)
            for severity, (title, options) in GUIDELINE_OPTIONS.items()
        ],
        guideline_source=GUIDELINE_SOURCE,
        guideline_limits=GUIDELINE_LIMITS,
        trials=trial_panel(trajectory),
    )
