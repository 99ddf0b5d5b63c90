"""The page's numbers as a reviewer reads them: p-values as "< 0.001" or three decimals, and
percentages rounded once so that a row's levels add up to 100.0."""

from __future__ import annotations

from typing import Any

import pytest

from analytics import stats
from analytics.report import report_from_data
from analytics.templatetags.analytics_tags import pvalue
from tests.analytics.synthetic import analysis_dataset


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.0004, "< 0.001"), (0.001, "0.001"), (0.0456, "0.046"), (0.5, "0.500"), (None, "—")],
)
def test_p_values_read_less_than_0_001_or_three_decimals(value: float | None, shown: str) -> None:
    assert pvalue(value) == shown


@pytest.mark.parametrize(
    "counts", [[1, 1, 1], [2, 2, 2, 1], [161, 9, 12], [0, 7, 0], [100, 68, 14]]
)
def test_percentages_are_rounded_once_and_add_up_to_100(counts: list[int]) -> None:
    shares = stats.percentages(counts)
    assert sum(round(s * 10) for s in shares if s is not None) == 1000
    # each within a tenth of its exact value
    for count, share in zip(counts, shares, strict=True):
        assert share is not None
        assert abs(share - 100 * count / sum(counts)) < 0.1


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return report_from_data(analysis_dataset(n=160, seed=7))


def test_every_table1_row_adds_up_to_100_per_group(report: dict[str, Any]) -> None:
    for row in report["table1"]:
        if row["kind"] != "categorical":
            continue
        for group in stats.GROUPS:
            shares = [level["groups"][group]["percent"] for level in row["levels"]]
            assert round(sum(shares), 1) == 100.0, (row["variable"], group, shares)


def test_hazard_ratio_terms_are_in_words_with_their_reference(report: dict[str, Any]) -> None:
    labels = {e["term"]: e["label"] for e in report["cox_multivariable"]["hr"]}
    assert labels["strategy"] == "combined vs monotherapy"
    assert labels["stage_ii_iii"] == "TNM II/III vs 0/I"
