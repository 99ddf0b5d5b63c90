"""The trajectory selector, its figure, the page and the API."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from adherence.models import EventKind, InterventionCategory, Measure, StopReason
from clinical.charts import as_graph_object, trajectory_figure
from clinical.guidance import decision_support
from clinical.selectors import patient_trajectory
from tests.conftest import World, client_for
from tests.factories import (
    AiCourseFactory,
    CheckInFactory,
    InterventionFactory,
    RegimenChangeFactory,
    ResponseFactory,
    TreatmentEventFactory,
)


def _history(world: World, patient_attr: str = "patient_a") -> dict[str, list[int]]:
    """Two responses (one with 7-day recall), an interruption, a recurrence, a regimen change,
    an intervention and a check-in for one patient."""
    patient = getattr(world, patient_attr)
    responses = [
        ResponseFactory.create(patient=patient, average_pain=6),
        ResponseFactory.create(patient=patient, average_pain=3, recall_period="7d"),
    ]
    course = AiCourseFactory.create(patient=patient)
    events = [
        TreatmentEventFactory.create(
            patient=patient,
            kind=EventKind.INTERRUPTION,
            start_date=dt.date(2024, 5, 1),
            end_date=dt.date(2024, 5, 20),
            reason=StopReason.AIMSS,
        ),
        TreatmentEventFactory.create(patient=patient, kind=EventKind.RECURRENCE),
    ]
    change = RegimenChangeFactory.create(course=course)
    intervention = InterventionFactory.create(
        patient=patient, category=InterventionCategory.ANALGESIC, measure=Measure.CELECOXIB
    )
    check_in = CheckInFactory.create(patient=patient, days_taken_last_7=4)
    return {
        "responses": [r.pk for r in responses],
        "events": [e.pk for e in events],
        "changes": [change.pk],
        "interventions": [intervention.pk],
        "check_ins": [check_in.pk],
    }


def _figure_of(body: str, element_id: str = "trajectory-data") -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', body)
    assert match, "no figure data on the page"
    return json.loads(match[1])


def test_the_selector_returns_her_whole_history_in_a_fixed_number_of_queries(
    world: World,
) -> None:
    # given a patient with responses, events, a regimen change, an intervention and a check-in
    ids = _history(world)
    # when her trajectory is read
    with CaptureQueriesContext(connection) as queries:
        trajectory = patient_trajectory(world.patient_a)
    # then everything is there, oldest first, in six queries
    assert [p.id for p in trajectory.series] == ids["responses"]
    assert [p.average for p in trajectory.series] == [6, 3]
    assert [p.recall_period for p in trajectory.series] == ["24h", "7d"]
    assert {e.id for e in trajectory.events if e.kind != "regimen_change"} == set(ids["events"])
    assert [e.id for e in trajectory.events if e.kind == "regimen_change"] == ids["changes"]
    assert [i.id for i in trajectory.interventions] == ids["interventions"]
    assert [(c.id, c.days_taken) for c in trajectory.check_ins] == [(ids["check_ins"][0], 4)]
    assert trajectory.average_trend == -3
    assert len(queries) == 6


def test_the_figure_data_equals_the_selector_and_is_valid_plotly(world: World) -> None:
    # given her trajectory
    _history(world)
    trajectory = patient_trajectory(world.patient_a)
    # when the figure is built
    figure = trajectory_figure(trajectory)
    # then Plotly accepts it, and its series are the selector's values
    as_graph_object(figure)
    traces = {t["name"]: t for t in figure["data"]}
    assert traces["Average pain"]["y"] == [p.average for p in trajectory.series]
    assert traces["Worst pain"]["y"] == [p.worst for p in trajectory.series]
    assert traces["Least pain"]["y"] == [p.least for p in trajectory.series]
    assert traces["Pain now"]["y"] == [p.now for p in trajectory.series]
    assert traces["Interference"]["y"] == [p.interference for p in trajectory.series]
    assert traces["Interference"]["ids"] == [str(p.id) for p in trajectory.series]
    assert traces["Average pain"]["x"] == [p.date.isoformat() for p in trajectory.series]
    # 24-hour and 7-day recall are drawn differently
    assert (
        traces["Average pain"]["marker"]["symbol"][0]
        != traces["Average pain"]["marker"]["symbol"][1]
    )
    # the threshold line sits at the clinic's threshold
    lines = [s for s in figure["layout"]["shapes"] if s.get("xref") == "paper"]
    assert lines[0]["y0"] == float(world.patient_a.clinic.high_interference_from)
    assert traces["AI taken (days of 7)"]["y"] == [4]


def test_the_date_axis_spans_her_history_under_the_check_ins_and_labels_read_inwards(
    world: World,
) -> None:
    # given her history (an intervention in March 2024 is its first day, today's response its
    # last), and a discontinuation near its end besides the recurrence of September 2024
    _history(world)
    TreatmentEventFactory.create(
        patient=world.patient_a,
        kind=EventKind.DISCONTINUATION,
        start_date=timezone.localdate() - dt.timedelta(days=10),
        reason=StopReason.AIMSS,
    )
    trajectory = patient_trajectory(world.patient_a)
    # when the figure is built
    figure = trajectory_figure(trajectory)
    as_graph_object(figure)
    xaxis = figure["layout"]["xaxis"]
    # then the date axis reaches from her first to her last day with at most a month to spare
    # (plotly.js's autorange would widen it until every event label fits)
    start, end = (dt.date.fromisoformat(day) for day in xaxis["range"])
    assert trajectory.first_date == dt.date(2024, 3, 5)
    assert trajectory.last_date is not None
    assert dt.timedelta(0) < trajectory.first_date - start <= dt.timedelta(days=31)
    assert dt.timedelta(0) < end - trajectory.last_date <= dt.timedelta(days=31)
    # it sits under the check-ins, so its title does not run into them
    assert xaxis["anchor"] == "y2"
    # and each event's label reads away from the nearer edge of the chart
    anchors = {note["text"]: note["xanchor"] for note in figure["layout"]["annotations"]}
    assert anchors["Recurrence or metastasis (confirmed)"] == "left"
    assert anchors["Permanent discontinuation"] == "right"


def test_the_page_shows_every_response_and_event_of_hers_and_none_of_another(
    world: World,
) -> None:
    # given two patients of the same clinic with histories
    world.patient_b.clinic = world.clinic_a
    world.patient_b.save()
    mine = _history(world)
    other = _history(world, "patient_b")
    # when her clinician opens her trajectory page
    response = client_for(world.clinician_a).get(
        reverse("clinical:patient", args=[world.patient_a.pk])
    )
    assert response.status_code == 200
    body = response.content.decode()
    figure = _figure_of(body)
    # then the figure holds each of her responses and events and none of the other's
    traces = {t["name"]: t for t in figure["data"]}
    assert traces["Interference"]["ids"] == [str(pk) for pk in mine["responses"]]
    assert not set(map(str, other["responses"])) & set(traces["Interference"]["ids"])
    trajectory = patient_trajectory(world.patient_a)
    assert figure == json.loads(json.dumps(trajectory_figure(trajectory), default=str))
    event_dates = {x for t in figure["data"] if t.get("y") and t["y"][0] == 10.6 for x in t["x"]}
    assert event_dates == {e.start.isoformat() for e in trajectory.events}
    assert world.patient_b.family_name not in body
    # and the side panel carries the study's suggestion with its source and limits
    assert "Liang et al." in body
    assert "practice-informing, not practice-changing" in body
    # and plotly.js is a static file, never inlined
    assert "plotly/plotly.min.js" in body
    assert "Plotly.newPlot" not in body


@pytest.mark.parametrize(("interference", "words"), [(8, "upfront multimodal"), (3, "stepwise")])
def test_the_suggestion_follows_the_interference_stratum(
    world: World, interference: int, words: str
) -> None:
    # given a latest response with all seven interference items at one value
    ResponseFactory.create(
        patient=world.patient_a,
        interference=dict.fromkeys(
            [
                "general_activity",
                "mood",
                "walking_ability",
                "normal_work",
                "relations_with_others",
                "sleep",
                "enjoyment_of_life",
            ],
            interference,
        ),
    )
    # when the clinician opens the page
    body = (
        client_for(world.clinician_a)
        .get(reverse("clinical:patient", args=[world.patient_a.pk]))
        .content.decode()
    )
    # then the study's suggestion for that stratum is shown
    assert words in body


def test_the_stratum_is_the_decision_stored_on_the_latest_response(world: World) -> None:
    # given a latest response of interference 6, scored high under the clinic's threshold of 6
    world.clinic_a.high_interference_from = 6
    world.clinic_a.save()
    world.patient_a.refresh_from_db()
    ResponseFactory.create(
        patient=world.patient_a,
        interference=dict.fromkeys(["mood", "sleep", "normal_work", "walking_ability"], 6),
    )
    # when the clinic later returns to the study's 7 and the clinician opens her page
    world.clinic_a.high_interference_from = 7
    world.clinic_a.save()
    trajectory = patient_trajectory(world.patient_a)
    # then the suggestion follows the decision made when she answered
    assert trajectory.latest is not None
    assert trajectory.latest.interference_high is True
    assert decision_support(trajectory).stratum == "high"


def test_recording_an_intervention_on_the_page_updates_the_chart(world: World) -> None:
    # given the trajectory page
    url = reverse("clinical:patient", args=[world.patient_a.pk])
    client = client_for(world.clinician_a)
    # when the clinician records an intervention through the page's form
    response = client.post(
        url,
        {
            "form": "intervention",
            "intervention-measure": "physiotherapy",
            "intervention-category": "",
            "intervention-start_date": "2024-03-10",
        },
    )
    # then she is sent back to the page, whose figure now shows it
    assert response.status_code == 302
    assert response["Location"] == url
    figure = _figure_of(client.get(url).content.decode())
    rects = [s for s in figure["layout"]["shapes"] if s.get("legendgroup") == "physical_therapy"]
    assert rects
    assert rects[0]["x0"] == "2024-03-10"


def test_the_record_forms_are_fetched_when_opened_with_the_therapy_page_as_fallback(
    world: World,
) -> None:
    # given the trajectory page of a patient without an AI course
    client = client_for(world.clinician_a)
    page = reverse("clinical:patient", args=[world.patient_a.pk])
    body = client.get(page).content.decode()
    # then no form is rendered with it: each record is a <details> fetched when it is opened,
    # linking to the same form on the therapy page for a browser without JavaScript
    assert 'name="form"' not in body
    therapy = reverse("adherence:therapy", args=[world.patient_a.pk])
    for name in ("course", "intervention", "regimen", "event"):
        url = reverse("clinical:record_form", args=[world.patient_a.pk, name])
        assert f'hx-get="{url}"' in body
        assert f'href="{therapy}#record-{name}"' in body
    # when the intervention form is opened
    fragment = client.get(
        reverse("clinical:record_form", args=[world.patient_a.pk, "intervention"])
    )
    # then it is the therapy page's form, posting to the trajectory page
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert f'action="{page}"' in html
    assert 'name="form" value="intervention"' in html
    assert 'name="intervention-measure"' in html
    assert "csrfmiddlewaretoken" in html


def test_an_unknown_record_form_is_404(world: World) -> None:
    url = reverse("clinical:record_form", args=[world.patient_a.pk, "flag"])
    assert client_for(world.clinician_a).get(url).status_code == 404


def test_the_course_form_is_offered_only_while_she_has_no_course(world: World) -> None:
    # given a patient with an AI course
    AiCourseFactory.create(patient=world.patient_a)
    # when her clinician opens her page
    body = (
        client_for(world.clinician_a)
        .get(reverse("clinical:patient", args=[world.patient_a.pk]))
        .content.decode()
    )
    # then the course form is not offered, the others are
    assert 'id="record-course"' not in body
    assert 'id="record-intervention"' in body


def test_an_invalid_record_is_refused_with_its_message_and_nothing_saved(world: World) -> None:
    url = reverse("clinical:patient", args=[world.patient_a.pk])
    response = client_for(world.clinician_a).post(
        url,
        {
            "form": "event",
            "event-kind": "interruption",
            "event-start_date": "2024-05-10",
            "event-end_date": "2024-05-01",
            "event-reason": "aimss",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was saved" in body
    # the refused form is on the page, open, with what she typed
    assert '<details class="record-form" id="record-event" open>' in body
    assert 'value="2024-05-10"' in body
    assert not patient_trajectory(world.patient_a).events


def test_the_api_returns_the_series_and_events(world: World) -> None:
    # given her history
    ids = _history(world)
    # when her nurse asks the API
    payload = (
        client_for(world.nurse_a)
        .get(reverse("api:patient-trajectory", args=[world.patient_a.pk]))
        .json()
    )
    # then the series, events, interventions and check-ins are hers
    assert payload["patient"] == world.patient_a.pk
    assert payload["threshold"] == 7.0
    assert [p["id"] for p in payload["series"]] == ids["responses"]
    assert payload["series"][1]["recall_period"] == "7d"
    assert {e["id"] for e in payload["events"] if e["kind"] != "regimen_change"} == set(
        ids["events"]
    )
    assert [i["id"] for i in payload["interventions"]] == ids["interventions"]
    assert [c["days_taken"] for c in payload["check_ins"]] == [4]


def test_the_api_and_the_chart_show_scores_with_one_decimal_and_whole_months(world: World) -> None:
    # given a response whose interference is 38/7 (stored 5.43) and severity 4.75
    ResponseFactory.create(patient=world.patient_a)
    # when her nurse reads the API and the page's figure
    payload = (
        client_for(world.nurse_a)
        .get(reverse("api:patient-trajectory", args=[world.patient_a.pk]))
        .json()
    )
    figure = _figure_of(
        client_for(world.clinician_a)
        .get(reverse("clinical:patient", args=[world.patient_a.pk]))
        .content.decode()
    )
    # then both show 5.4 and 4.8 (one decimal, halves up) and whole months since diagnosis
    point = payload["series"][0]
    assert (point["interference"], point["severity"]) == (5.4, 4.8)
    diagnosis = world.patient_a.aimss_diagnosis_date
    assert diagnosis is not None
    assert point["months"] == (timezone.localdate() - diagnosis).days // 30.4375
    assert isinstance(point["months"], int)
    interference = next(t for t in figure["data"] if t.get("ids") == [str(point["id"])])
    assert interference["y"] == [5.4]
    assert interference["customdata"][0][0] == point["months"]


def test_an_intervention_recorded_today_shows_on_the_chart_at_once(world: World) -> None:
    # given a patient whose last response is months old
    ResponseFactory.create(patient=world.patient_a)
    url = reverse("clinical:patient", args=[world.patient_a.pk])
    client = client_for(world.clinician_a)
    today = timezone.localdate()
    # when the clinician records an exercise programme starting today
    client.post(
        url,
        {
            "form": "intervention",
            "intervention-measure": "exercise",
            "intervention-category": "",
            "intervention-start_date": today.isoformat(),
        },
    )
    # then the page's figure shows its span from today, inside the date axis
    figure = _figure_of(client.get(url).content.decode())
    spans = [s for s in figure["layout"]["shapes"] if s.get("x0") == today.isoformat()]
    assert spans
    assert figure["layout"]["xaxis"]["range"][1] > today.isoformat()


def test_a_discontinuation_ends_every_running_intervention_on_the_chart(world: World) -> None:
    # given an intervention still running, and one that ended before
    running = InterventionFactory.create(patient=world.patient_a, start_date=dt.date(2024, 3, 5))
    ended = InterventionFactory.create(
        patient=world.patient_a, start_date=dt.date(2024, 3, 5), end_date=dt.date(2024, 4, 1)
    )
    # when she stops her AI for good
    stop = dt.date(2024, 6, 10)
    TreatmentEventFactory.create(
        patient=world.patient_a,
        kind=EventKind.DISCONTINUATION,
        start_date=stop,
        reason=StopReason.AIMSS,
    )
    # then the running one ends on that day on the chart and in the API; the other is as it was
    trajectory = patient_trajectory(world.patient_a)
    ends = {i.id: i.end for i in trajectory.interventions}
    assert ends == {running.pk: stop, ended.pk: dt.date(2024, 4, 1)}
    assert trajectory.current_interventions(timezone.localdate()) == []
    payload = (
        client_for(world.nurse_a)
        .get(reverse("api:patient-trajectory", args=[world.patient_a.pk]))
        .json()
    )
    assert {i["id"]: i["end"] for i in payload["interventions"]}[running.pk] == "2024-06-10"


def test_the_trajectory_names_the_band_in_the_staff_members_language(world: World) -> None:
    # given a latest response of moderate pain, and a clinician who reads Chinese
    ResponseFactory.create(patient=world.patient_a, average_pain=5, worst_pain=6)
    world.clinician_a.preferred_language = "zh-hans"
    world.clinician_a.save()
    # when she opens the patient's page
    url = reverse("clinical:patient", args=[world.patient_a.pk])
    with translation.override("en"):  # her page leaves Chinese active in this thread: not after
        body = client_for(world.clinician_a).get(url).content.decode()
    # then the band is its translated name, not the code
    band = patient_trajectory(world.patient_a).latest
    assert band is not None
    assert f'band-{band.band}">' in body
    assert f'band-{band.band}">{band.band.capitalize()}<' not in body
    assert "疼痛" in body.split(f'band-{band.band}">')[1][:20]
