"""Her own chart (inline SVG), its words against her baseline, her printable summary, and the
JavaScript her pages ship."""

from __future__ import annotations

import datetime as dt
import gzip
import re
import uuid

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone, translation

from assessments.models import Response
from clinical.selectors import patient_trajectory
from clinical.svgchart import baseline_of, change_in_words, my_chart_svg
from patients.models import Patient
from tests.conftest import World, client_for
from tests.factories import CheckInFactory, InterventionFactory, ResponseFactory

JS_BUDGET_GZIP_BYTES = 400_000  # every patient page, all its scripts together
SCRIPT_SRC = re.compile(r'<script[^>]*\ssrc="([^"]+)"')


def _answered(patient: Patient, day: dt.date, *, average: int, recall: str = "24h") -> Response:
    """A response of hers submitted at noon UTC on ``day`` (stored as an import stores one:
    a submitted response is immutable, so the one submitted now is replaced by its copy)."""
    submitted = ResponseFactory.create(patient=patient, average_pain=average, recall_period=recall)
    response = Response.objects.get(pk=submitted.pk)
    response.pk = None
    response.submission_key = uuid.uuid4()
    response.submitted_at = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    response.save(force_insert=True)
    submitted.delete()
    return response


def test_her_baseline_is_her_answer_nearest_the_diagnosis_else_her_first(world: World) -> None:
    # given answers 20 days before her diagnosis (1 March 2024), 5 days before and 5 days after
    patient = world.patient_a
    first = _answered(patient, dt.date(2024, 2, 10), average=8)
    before = _answered(patient, dt.date(2024, 2, 25), average=6)
    _answered(patient, dt.date(2024, 3, 6), average=5)
    # when her baseline is chosen, then it is the nearest within -14/+7 days (ties: the earlier)
    baseline = baseline_of(patient_trajectory(patient, with_flags=False))
    assert baseline is not None
    assert baseline.id == before.pk
    # and without an answer in that window (or a 7-day recall only) it is her first answer
    Response.objects.exclude(pk=first.pk).delete()
    _answered(patient, dt.date(2024, 3, 2), average=5, recall="7d")
    baseline = baseline_of(patient_trajectory(patient, with_flags=False))
    assert baseline is not None
    assert baseline.id == first.pk


def test_her_chart_draws_her_baseline_and_the_two_point_lines(world: World) -> None:
    # given a baseline average pain of 6 and a later 3
    patient = world.patient_a
    _answered(patient, dt.date(2024, 3, 1), average=6)
    _answered(patient, dt.date(2024, 5, 1), average=3)
    trajectory = patient_trajectory(patient, with_flags=False)
    # when her chart is drawn
    svg = str(my_chart_svg(trajectory.series, baseline=baseline_of(trajectory), chart_id="c"))
    # then it names itself for screen readers and draws the baseline at 6, the lines at 4 and 8
    assert svg.startswith('<svg id="c"')
    assert 'role="img"' in svg
    assert '<title id="c-title">' in svg
    assert '<desc id="c-desc">2 answers' in svg
    assert 'class="baseline" data-score="6"' in svg
    assert 'class="meaningful-lower" data-score="4"' in svg
    assert 'class="meaningful-higher" data-score="8"' in svg
    assert "<script" not in svg


def test_a_meaningful_change_line_off_the_scale_is_not_drawn(world: World) -> None:
    # given a baseline of 1 (2 points lower would be below 0)
    _answered(world.patient_a, dt.date(2024, 3, 1), average=1)
    trajectory = patient_trajectory(world.patient_a, with_flags=False)
    svg = str(my_chart_svg(trajectory.series, baseline=baseline_of(trajectory), chart_id="c"))
    # then only the higher line is drawn
    assert "meaningful-lower" not in svg
    assert 'class="meaningful-higher" data-score="3"' in svg


@pytest.mark.parametrize(
    ("latest", "baseline", "words"),
    [
        (4.0, 6.0, "Your pain is 2.0 points lower than when it started (6 then, 4 now)."),
        (4.1, 6.0, "Your pain is about the same as when it started (6 then, 4.1 now)."),
        (8.0, 6.0, "Your pain is 2.0 points higher than when it started (6 then, 8 now)."),
        (7.9, 6.0, "Your pain is about the same as when it started (6 then, 7.9 now)."),
        (6.0, 6.0, "Your pain is about the same as when it started (6 then, 6 now)."),
        (0.0, 9.0, "Your pain is 9.0 points lower than when it started (9 then, 0 now)."),
    ],
)
def test_her_pain_is_lower_higher_or_about_the_same_at_two_points(
    latest: float, baseline: float, words: str
) -> None:
    # when her latest pain is put against her baseline, then 2.0 points is the boundary
    with translation.override("en"):
        assert change_in_words(latest, baseline) == words


def test_the_sentence_reads_in_chinese() -> None:
    with translation.override("zh-hans"):
        assert change_in_words(4.0, 6.0) == "您的疼痛比开始时低 2.0 分（当时 6 分，现在 4 分）。"
        assert change_in_words(6.0, 6.0).startswith("您的疼痛与开始时差不多")


def test_her_home_draws_her_chart_as_svg_with_her_words_and_no_plotly(world: World) -> None:
    # given an answer more than 12 months before her latest, her baseline of 6 (at her diagnosis)
    # and a later 3, and another patient's answer
    _answered(world.patient_a, dt.date(2023, 4, 1), average=9)
    _answered(world.patient_a, dt.date(2024, 3, 1), average=6)
    _answered(world.patient_a, dt.date(2024, 5, 1), average=3)
    ResponseFactory.create(patient=world.patient_b, average_pain=9)
    # when she opens her home page
    with translation.override("en"):
        body = client_for(world.patient_a.user).get(reverse("clinical:patient_home")).content
    page = body.decode()
    # then her chart is inline SVG of her two answers of the last 12 months, with her words
    # against her baseline and a table of the same numbers
    assert page.count('<svg id="my-trajectory"') == 1
    assert "plotly" not in page
    assert "<script" not in page
    assert "Your pain is 3.0 points lower than when it started (6 then, 3 now)." in page
    assert "went down from 6 to 3" in page
    numbers = page.split('class="my-numbers"')[1].split("</table>")[0]
    assert numbers.count("<tr>") == 3  # the header and her two answers
    assert '<desc id="my-trajectory-desc">2 answers' in page
    assert "interference" not in page.lower().split("my pain over time")[1].split("</section>")[0]
    assert reverse("clinical:my_summary") in page


def _patient_pages(world: World) -> list[str]:
    response = ResponseFactory.create(patient=world.patient_a)
    return [
        reverse("clinical:patient_home"),
        reverse("clinical:my_summary"),
        reverse("clinical:check_in"),
        reverse("assessments:new"),
        reverse("assessments:detail", args=[response.pk]),
        reverse("profile"),
        reverse("password_change"),
    ]


def test_every_patient_page_ships_less_than_400_kb_of_gzip_javascript(world: World) -> None:
    # given each page a patient opens
    client = client_for(world.patient_a.user)
    for path in _patient_pages(world):
        page = client.get(path)
        assert page.status_code == 200, path
        # when its scripts' static files are gzipped
        total = 0
        for src in SCRIPT_SRC.findall(page.content.decode()):
            assert src.startswith(settings.STATIC_URL), (path, src)
            found = finders.find(src.removeprefix(settings.STATIC_URL))
            assert isinstance(found, str), (path, src)
            with open(found, "rb") as script:
                total += len(gzip.compress(script.read(), compresslevel=9))
        # then together they are under the budget, and none is plotly.js
        assert total < JS_BUDGET_GZIP_BYTES, (path, total)
        assert "plotly" not in page.content.decode(), path


def test_her_summary_shows_her_last_three_months_only(world: World) -> None:
    # given answers of hers 4 months and 2 months ago and yesterday, a check-in a month ago and
    # one 5 months ago, an intervention started 2 weeks ago and one that ended a year ago
    patient = world.patient_a
    today = timezone.localdate()
    old = _answered(patient, today - dt.timedelta(days=122), average=8)
    _answered(patient, today - dt.timedelta(days=61), average=6)
    _answered(patient, today - dt.timedelta(days=1), average=4)
    month_ago = timezone.now() - dt.timedelta(days=30)
    CheckInFactory.create(patient=patient, submitted_at=month_ago, days_taken_last_7=5)
    CheckInFactory.create(
        patient=patient, submitted_at=month_ago - dt.timedelta(days=120), days_taken_last_7=1
    )
    InterventionFactory.create(patient=patient, start_date=today - dt.timedelta(days=14))
    InterventionFactory.create(
        patient=patient,
        start_date=today - dt.timedelta(days=500),
        end_date=today - dt.timedelta(days=365),
    )
    # when she opens her summary
    with translation.override("en"):
        page = client_for(patient.user).get(reverse("clinical:my_summary")).content.decode()
    # then its table and chart hold the two answers of the last three months, not the older one
    numbers = page.split('class="my-numbers"')[1].split("</table>")[0]
    assert numbers.count("<tr>") == 3
    assert '<desc id="summary-chart-desc">2 answers' in page
    old_day = old.submitted_at.date()
    assert f"<td>{old_day:%m/%d/%Y}" not in numbers
    # her latest band, her check-in of the last three months only, the running intervention
    assert "Mild pain." in page.split("latest-heading")[2].split("</section>")[0]
    assert "In 1 check-in I took it on 5 of 7 days." in page
    assert page.count("ongoing") == 1
    # her questions box, and the print stylesheet
    assert page.count('class="question-line"') == 6
    assert "clinical/my-chart" in page


def test_her_summary_is_hers_and_her_clinics_only(world: World) -> None:
    # given an answer of each patient (of different clinics)
    _answered(world.patient_a, timezone.localdate(), average=7)
    _answered(world.patient_b, timezone.localdate(), average=2)
    staff_url = reverse("clinical:patient_summary", args=[world.patient_a.pk])
    # when another patient asks for hers by her record: 404
    assert client_for(world.patient_b.user).get(staff_url).status_code == 404
    # her own summary shows her, never the other patient
    mine = client_for(world.patient_b.user).get(reverse("clinical:my_summary")).content.decode()
    assert world.patient_b.full_name in mine
    assert world.patient_a.full_name not in mine
    # her clinic's nurse sees it; the other clinic's nurse does not
    assert client_for(world.nurse_a).get(staff_url).status_code == 200
    assert client_for(world.nurse_b).get(staff_url).status_code == 404
    # staff have no summary of their own
    assert client_for(world.nurse_a).get(reverse("clinical:my_summary")).status_code == 404
