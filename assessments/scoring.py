"""BPI-SF scoring: the only place that turns answers into scores and bands.

Sources:

- Pain severity = mean of items 3-6 (worst, least, average, now); each item also stands on its
  own (the study reports item 5, average pain). Cleeland, *The Brief Pain Inventory User Guide*
  (2009). The guide documents no minimum-item rule for severity; items 3-6 are required here.
- Pain interference = mean of the answered items of 9 (A-G) when at least 4 of the 7 are
  answered, otherwise no score. BPI User Guide.
- Pain bands on 0-10: 0 none, 1-4 mild, 5-6 moderate, 7-10 severe. Serlin et al., *Pain* 1995.
  Mean scores between two integers stay in the lower band until they reach the next cut-point
  (4.75 is mild), so integer scores reproduce Serlin's bands exactly.
- High interference: score >= 7. Serlin 1995; Shi et al. 2017; Liang et al. (the study).

Scores are computed exactly (fractions) and stored rounded to two decimals; the bands and the
high-interference decision use the exact value, so 6.99 is never "high" by rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db import models
from django.utils.translation import gettext_lazy as _

# The cut-points are a clinic's rules (defaults: the published ones above).
from patients.rules import DEFAULT_RULES, ClinicRules

SCALE_MIN, SCALE_MAX = 0, 10  # items 3-6 and 9A-G
INTERFERENCE_ITEMS = 7  # item 9 A-G
MIN_INTERFERENCE_ANSWERS = 4  # of 7; BPI User Guide
SCORE_PLACES = Decimal("0.01")  # stored scores: two decimals
SHOWN_PLACES = Decimal("0.1")  # shown scores: one decimal


class PainBand(models.TextChoices):
    NONE = "none", _("No pain")
    MILD = "mild", _("Mild pain")
    MODERATE = "moderate", _("Moderate pain")
    SEVERE = "severe", _("Severe pain")


@dataclass(frozen=True)
class Scores:
    pain_severity: Decimal
    interference: Decimal | None
    interference_answered: int
    pain_band: PainBand
    interference_high: bool


def pain_severity(worst: int, least: int, average: int, now: int) -> Fraction:
    """Mean of items 3-6."""
    return Fraction(worst + least + average + now, 4)


def interference(items: Sequence[int | None]) -> Fraction | None:
    """Mean of the answered items of 9 A-G, or ``None`` when fewer than 4 are answered."""
    answered = [value for value in items if value is not None]
    if len(answered) < MIN_INTERFERENCE_ANSWERS:
        return None
    return Fraction(sum(answered), len(answered))


def pain_band(
    severity: Fraction | Decimal | int, thresholds: ClinicRules = DEFAULT_RULES
) -> PainBand:
    """The band of a 0-10 pain score (Serlin 1995 cut-points unless the clinic set others)."""
    value = Fraction(severity)
    if value <= 0:
        return PainBand.NONE
    if value < thresholds.pain_moderate_from:
        return PainBand.MILD
    if value < thresholds.pain_severe_from:
        return PainBand.MODERATE
    return PainBand.SEVERE


def in_pain_band(band: str, score: str, clinic: str = "clinic") -> models.Q:
    """The same bands for a queryset: rows whose ``score`` field lies in ``band`` of the cut-points
    of the clinic reached by the ``clinic`` path ("" when the rows are clinics)."""
    prefix = f"{clinic}__" if clinic else ""
    moderate = models.F(f"{prefix}pain_moderate_from")
    severe = models.F(f"{prefix}pain_severe_from")
    bands: dict[str, models.Q] = {
        PainBand.NONE: models.Q(**{f"{score}__lte": 0}),
        PainBand.MILD: models.Q(**{f"{score}__gt": 0, f"{score}__lt": moderate}),
        PainBand.MODERATE: models.Q(**{f"{score}__gte": moderate, f"{score}__lt": severe}),
        PainBand.SEVERE: models.Q(**{f"{score}__gte": severe}),
    }
    return bands.get(band, models.Q(pk__in=[]))


def is_high_interference(
    score: Fraction | Decimal | None, thresholds: ClinicRules = DEFAULT_RULES
) -> bool:
    return score is not None and Fraction(score) >= Fraction(thresholds.high_interference_from)


def score_shown(value: Decimal | float | None) -> Decimal | None:
    """A pain severity or interference score as every page, chart and the trajectory API show
    it: one decimal, halves rounded up. A mean of 4 to 7 whole answers never lies within 0.05
    below a whole number, so a shown 7.0 is always at least 7 (and "high")."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(SHOWN_PLACES, rounding=ROUND_HALF_UP)


def to_decimal(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        SCORE_PLACES, rounding=ROUND_HALF_UP
    )


def score(
    *,
    worst: int,
    least: int,
    average: int,
    now: int,
    interference_items: Sequence[int | None],
    thresholds: ClinicRules = DEFAULT_RULES,
) -> Scores:
    """All scores of one response."""
    if len(interference_items) != INTERFERENCE_ITEMS:
        raise ValueError(f"item 9 has {INTERFERENCE_ITEMS} parts, got {len(interference_items)}")
    severity = pain_severity(worst, least, average, now)
    interference_value = interference(interference_items)
    return Scores(
        pain_severity=to_decimal(severity),
        interference=None if interference_value is None else to_decimal(interference_value),
        interference_answered=sum(value is not None for value in interference_items),
        pain_band=pain_band(severity, thresholds),
        interference_high=is_high_interference(interference_value, thresholds),
    )
