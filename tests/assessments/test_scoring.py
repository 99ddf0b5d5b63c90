"""BPI-SF scoring over every answer pattern (hypothesis) and at the published edges."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from django.db.models import DecimalField, Value
from hypothesis import given
from hypothesis import strategies as st

from assessments import scoring
from assessments.scoring import PainBand
from patients.models import Clinic
from patients.rules import ClinicRules
from tests.factories import ClinicFactory

item = st.integers(min_value=0, max_value=10)
maybe_item = st.one_of(st.none(), item)
interference_items = st.lists(maybe_item, min_size=7, max_size=7)


@given(worst=item, least=item, average=item, now=item, parts=interference_items)
def test_scores_follow_the_bpi_user_guide_for_every_answer_pattern(
    worst: int, least: int, average: int, now: int, parts: list[int | None]
) -> None:
    # when any pattern of answers is scored
    scores = scoring.score(
        worst=worst, least=least, average=average, now=now, interference_items=parts
    )
    # then severity is the mean of items 3-6, to two decimals
    assert scores.pain_severity == Decimal(worst + least + average + now) / 4
    # and interference is the mean of the answered items of 9 if at least 4 of 7 are answered
    answered = [p for p in parts if p is not None]
    assert scores.interference_answered == len(answered)
    if len(answered) >= 4:
        assert scores.interference is not None
        exact = Fraction(sum(answered), len(answered))
        assert abs(Fraction(scores.interference) - exact) <= Fraction(1, 200)
        assert scores.interference_high == (exact >= 7)
    else:
        assert scores.interference is None
        assert scores.interference_high is False
    # and every score stays on the 0-10 scale
    assert 0 <= scores.pain_severity <= 10
    assert scores.interference is None or 0 <= scores.interference <= 10


@given(value=st.fractions(min_value=0, max_value=10))
def test_pain_bands_are_ordered_and_cover_the_scale(value: Fraction) -> None:
    band = scoring.pain_band(value)
    order = [PainBand.NONE, PainBand.MILD, PainBand.MODERATE, PainBand.SEVERE]
    # then a higher score is never in a lower band than a lower score
    assert order.index(scoring.pain_band(min(value + Fraction(1, 4), Fraction(10)))) >= order.index(
        band
    )


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0, PainBand.NONE),
        (1, PainBand.MILD),
        (4, PainBand.MILD),
        (Decimal("4.75"), PainBand.MILD),
        (5, PainBand.MODERATE),
        (6, PainBand.MODERATE),
        (7, PainBand.SEVERE),
        (10, PainBand.SEVERE),
    ],
)
def test_pain_bands_at_serlins_cut_points(score: int | Decimal, band: PainBand) -> None:
    assert scoring.pain_band(score) == band


def test_interference_of_6_9_is_not_high_and_7_0_is() -> None:
    assert scoring.is_high_interference(Decimal("6.9")) is False
    assert scoring.is_high_interference(Decimal("7.0")) is True
    # 48/7 = 6.857... and 49/7 = 7 from real answers
    low = scoring.score(worst=5, least=5, average=5, now=5, interference_items=[7] * 6 + [6])
    high = scoring.score(worst=5, least=5, average=5, now=5, interference_items=[7] * 7)
    assert (low.interference, low.interference_high) == (Decimal("6.86"), False)
    assert (high.interference, high.interference_high) == (Decimal("7.00"), True)


def test_four_of_seven_interference_answers_are_enough_and_three_are_not() -> None:
    four = [8, 8, 8, 8, None, None, None]
    three = [8, 8, 8, None, None, None, None]
    assert scoring.interference(four) == 8
    assert scoring.interference(three) is None


def test_a_clinic_can_move_the_cut_points() -> None:
    strict = ClinicRules(
        pain_moderate_from=4, pain_severe_from=6, high_interference_from=Decimal(5)
    )
    assert scoring.pain_band(4, strict) == PainBand.MODERATE
    assert scoring.pain_band(6, strict) == PainBand.SEVERE
    assert scoring.is_high_interference(Decimal(5), strict) is True


def test_item_9_must_have_seven_parts() -> None:
    with pytest.raises(ValueError, match="7 parts"):
        scoring.score(worst=1, least=1, average=1, now=1, interference_items=[1, 2, 3])


@pytest.mark.django_db
def test_the_queryset_form_of_the_bands_agrees_with_pain_band() -> None:
    # given a clinic with cut-points of its own
    clinic = ClinicFactory.create(pain_moderate_from=4, pain_severe_from=8)
    rules = ClinicRules(pain_moderate_from=4, pain_severe_from=8)
    for score in [Decimal(x) / 4 for x in range(0, 41)]:
        # when a score is put in each band by SQL
        in_sql = [
            band
            for band in PainBand
            if Clinic.objects.filter(pk=clinic.pk)
            .annotate(score=Value(score, output_field=DecimalField()))
            .filter(scoring.in_pain_band(band, "score", clinic=""))
            .exists()
        ]
        # then it is the one band pain_band gives it
        assert in_sql == [scoring.pain_band(score, rules)], score
