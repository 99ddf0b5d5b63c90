"""Plotly figures of a patient's trajectory, built from ``selectors.patient_trajectory``.

The page embeds the figure dict as data (``json_script``); ``static/clinical/trajectory.js``
draws it with the plotly.js bundle of the installed ``plotly`` package and switches the x axis
between calendar dates and months since the AIMSS diagnosis.

Layout: pain items and interference share the 0-10 axis (top), the high-interference threshold
is a dashed line, interventions are shaded spans coloured by category, interruptions grey spans,
other events and regimen changes vertical lines with hoverable markers along the top, and the
adherence check-ins (days taken of 7) a second axis below. Responses with a 7-day recall are
open diamonds, 24-hour ones filled circles.

The patient's own, simpler chart is drawn on the server as SVG (``svgchart.py``): her pages
ship no plotly.js.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from adherence.models import INTENTIONAL_REASONS, EventKind, InterventionCategory, MissedReason
from assessments.models import RecallPeriod

from .selectors import Trajectory

# Marker symbols (plotly codes): 0 filled circle, 102 open diamond.
SYMBOL_24H = 0
SYMBOL_7D = 102
PAIN_DOMAIN = [0.24, 1.0]  # of the plot height: the 0-10 axis
CHECK_IN_DOMAIN = [0.0, 0.14]  # the days-taken axis
EVENT_ROW = 10.6  # event markers sit just above the 0-10 scale
LEGEND_Y = -0.16  # of the plot height: the legend starts below the date axis and its title
X_PAD_DAYS = 7  # the date axis reaches 1% of the span (a week at least) past the markers

CATEGORY_COLOURS: dict[str, str] = {
    InterventionCategory.ANALGESIC: "#d97706",
    InterventionCategory.PHYSICAL_THERAPY: "#059669",
    InterventionCategory.AI_ADJUSTMENT: "#7c3aed",
    InterventionCategory.COMPLEMENTARY: "#0891b2",
}
EVENT_STYLE: dict[str, tuple[str, str, str]] = {  # kind -> (colour, marker symbol, line dash)
    EventKind.INTERRUPTION: ("#6b7280", "triangle-down", "dot"),
    EventKind.DISCONTINUATION: ("#b91c1c", "x", "solid"),
    EventKind.RECURRENCE: ("#9d174d", "star", "solid"),
    EventKind.DEATH: ("#111827", "square", "solid"),
    "regimen_change": ("#7c3aed", "diamond", "dash"),
}
Figure = dict[str, Any]  # {"data": [...traces], "layout": {...}} in Plotly's figure schema

SERIES = (  # selector field, label, colour, width
    ("worst", "Worst pain", "#f87171", 1),
    ("least", "Least pain", "#93c5fd", 1),
    ("average", "Average pain", "#dc2626", 2.5),
    ("now", "Pain now", "#fbbf24", 1),
    ("interference", "Interference", "#1d4ed8", 3),
)


def _day(value: dt.date) -> str:
    return value.isoformat()


def _span_end(start: dt.date, end: dt.date | None, last: dt.date) -> str:
    """Where a span of whole days ends on the date axis: after its last day (still running:
    after the chart's last day), so a span that began today is a day wide, not a hairline."""
    return _day((end or max(last, start)) + dt.timedelta(days=1))


def _symbols(trajectory: Trajectory) -> list[int]:
    return [
        SYMBOL_7D if p.recall_period == RecallPeriod.DAYS_7 else SYMBOL_24H
        for p in trajectory.series
    ]


def _series_traces(trajectory: Trajectory) -> list[dict[str, Any]]:
    x = [_day(p.date) for p in trajectory.series]
    symbols = _symbols(trajectory)
    traces = []
    for name, label, colour, width in SERIES:
        trace: dict[str, Any] = {
            "type": "scatter",
            "mode": "lines+markers",
            "name": _(label),
            "x": x,
            "y": [getattr(p, name) for p in trajectory.series],
            "line": {"color": colour, "width": width},
            "marker": {"symbol": symbols, "size": 7 if width > 1 else 5, "color": colour},
            "hovertemplate": "%{y}",
            "connectgaps": True,
        }
        if name == "interference":
            trace["ids"] = [str(p.id) for p in trajectory.series]
            # an imported response says so: only its average pain and interference were given
            imported = " " + _("Imported: average pain and interference only.")
            trace["customdata"] = [
                [
                    p.months,
                    "7d" if p.recall_period == RecallPeriod.DAYS_7 else "24h",
                    imported if p.imported else "",
                ]
                for p in trajectory.series
            ]
            trace["hovertemplate"] = (
                _("%(score)s (recall %(recall)s, month %(month)s)")
                % {
                    "score": "%{y}",
                    "recall": "%{customdata[1]}",
                    "month": "%{customdata[0]}",
                }
                + "%{customdata[2]}"
            )
        traces.append(trace)
    if any(s == SYMBOL_7D for s in symbols):
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": _("7-day recall (open diamond)"),
                "x": [None],
                "y": [None],
                "marker": {"symbol": SYMBOL_7D, "size": 8, "color": "#374151"},
                "hoverinfo": "skip",
            }
        )
    return traces


def _event_traces_and_shapes(
    trajectory: Trajectory, first: dt.date, last: dt.date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    traces: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    by_kind: dict[str, list[Any]] = {}
    middle = first + (last - first) / 2
    for event in trajectory.events:
        by_kind.setdefault(event.kind, []).append(event)
    for kind, events in by_kind.items():
        colour, symbol, dash = EVENT_STYLE[kind]
        texts = []
        for e in events:
            text = f"{e.label}: {_day(e.start)}"
            if kind == EventKind.INTERRUPTION:
                text += " – " + (_day(e.end) if e.end else _("still off"))
                shapes.append(
                    {
                        "type": "rect",
                        "xref": "x",
                        "yref": "paper",
                        "x0": _day(e.start),
                        "x1": _span_end(e.start, e.end, last),
                        "y0": PAIN_DOMAIN[0],
                        "y1": PAIN_DOMAIN[1],
                        "fillcolor": colour,
                        "opacity": 0.22,
                        "line": {"width": 0},
                        "layer": "below",
                    }
                )
            else:
                shapes.append(
                    {
                        "type": "line",
                        "xref": "x",
                        "yref": "paper",
                        "x0": _day(e.start),
                        "x1": _day(e.start),
                        "y0": 0,
                        "y1": 1,
                        "line": {"color": colour, "width": 1.5, "dash": dash},
                    }
                )
                if kind != "regimen_change":
                    annotations.append(
                        {
                            "x": _day(e.start),
                            "xref": "x",
                            # the label reads away from the nearer edge, so it is not cut off
                            "xanchor": "right" if e.start > middle else "left",
                            "y": 1,
                            "yref": "paper",
                            "yanchor": "bottom",
                            "text": e.label,
                            "showarrow": False,
                            "font": {"color": colour, "size": 11},
                        }
                    )
            if e.detail:
                text += f" ({e.detail})"
            texts.append(text)
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": events[0].label if kind != "regimen_change" else _("Regimen change"),
                "x": [_day(e.start) for e in events],
                "y": [EVENT_ROW] * len(events),
                "marker": {"symbol": symbol, "size": 11, "color": colour},
                "hovertext": texts,
                "hovertemplate": "%{hovertext}<extra></extra>",
            }
        )
    return traces, shapes, annotations


def _intervention_shapes_and_trace(
    trajectory: Trajectory, last: dt.date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    shapes = []
    seen: set[str] = set()
    for i in trajectory.interventions:
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": _day(i.start),
                "x1": _span_end(i.start, i.end, last),
                "y0": PAIN_DOMAIN[0],
                "y1": PAIN_DOMAIN[1],
                "fillcolor": CATEGORY_COLOURS.get(i.category, "#9ca3af"),
                "opacity": 0.12,
                "line": {"width": 0},
                "layer": "below",
                "name": i.category_label,
                "legendgroup": i.category,
                "showlegend": i.category not in seen,
            }
        )
        seen.add(i.category)
    traces = []
    if trajectory.interventions:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": _("Intervention starts"),
                "x": [_day(i.start) for i in trajectory.interventions],
                "y": [-0.4] * len(trajectory.interventions),
                "marker": {
                    "symbol": "line-ns-open",
                    "size": 12,
                    "color": [
                        CATEGORY_COLOURS.get(i.category, "#9ca3af")
                        for i in trajectory.interventions
                    ],
                },
                "hovertext": [
                    f"{i.measure_label} ({i.category_label}): {_day(i.start)} – "
                    f"{_day(i.end) if i.end else _('ongoing')}"
                    for i in trajectory.interventions
                ],
                "hovertemplate": "%{hovertext}<extra></extra>",
                "showlegend": False,
            }
        )
    return shapes, traces


def _check_in_trace(trajectory: Trajectory) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": _("AI taken (days of 7)"),
        "x": [_day(c.date) for c in trajectory.check_ins],
        "y": [c.days_taken for c in trajectory.check_ins],
        "ids": [f"c{c.id}" for c in trajectory.check_ins],
        "yaxis": "y2",
        "line": {"color": "#4b5563", "width": 1.5, "shape": "hv"},
        "marker": {
            "size": [
                9 if c.missed_reason in INTENTIONAL_REASONS else 6 for c in trajectory.check_ins
            ],
            "symbol": [
                "diamond" if c.missed_reason in INTENTIONAL_REASONS else "circle"
                for c in trajectory.check_ins
            ],
            "color": "#4b5563",
        },
        # Why she missed doses, in her words' category: a diamond when she chose to.
        "hovertext": [
            str(MissedReason(c.missed_reason).label) if c.missed_reason else ""
            for c in trajectory.check_ins
        ],
        "hovertemplate": _("%(days)s of 7 days") % {"days": "%{y}"}
        + " %{hovertext}<extra></extra>",
    }


def _x_range(first: dt.date, last: dt.date) -> list[str]:
    """The date axis from the first to the last recorded day, a little wider for the markers.

    Set rather than left to plotly.js's autorange, which widens the axis until every event's
    label fits: on a 360 px phone that squeezed ten years of history into a third of the chart.
    """
    pad = max(X_PAD_DAYS, (last - first).days // 100)
    return [_day(first - dt.timedelta(days=pad)), _day(last + dt.timedelta(days=pad + 1))]


def _layout(*, height: int, check_ins: bool, x_range: list[str] | None = None) -> dict[str, Any]:
    # With check-ins below the scores, the shared date axis sits under them, at the bottom.
    xaxis: dict[str, Any] = {
        "type": "date",
        "title": {"text": _("Date")},
        "automargin": True,
        "anchor": "y2" if check_ins else "y",
    }
    if x_range:
        xaxis["range"] = x_range
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 44, "r": 12, "t": 28, "b": 24},
        "font": {"size": 12, "family": "system-ui, sans-serif"},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": LEGEND_Y, "yanchor": "top", "x": 0},
        "xaxis": xaxis,
        "yaxis": {
            "title": {"text": _("Score (0-10)")},
            "range": [-0.8, 11],
            "tickvals": [0, 2, 4, 6, 8, 10],
            "domain": PAIN_DOMAIN if check_ins else [0, 1],
            "zeroline": False,
        },
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
    }
    if check_ins:
        layout["yaxis2"] = {
            "title": {"text": _("Days")},
            "range": [-0.5, 7.5],
            "tickvals": [0, 7],
            "domain": CHECK_IN_DOMAIN,
            "anchor": "x",
        }
    return layout


def trajectory_figure(trajectory: Trajectory) -> Figure:
    """The clinician's figure: scores, threshold, events, interventions and check-ins."""
    last = trajectory.last_date or dt.date.today()  # noqa: DTZ011 (empty chart only)
    first = trajectory.first_date or last
    traces = _series_traces(trajectory)
    event_traces, event_shapes, annotations = _event_traces_and_shapes(trajectory, first, last)
    intervention_shapes, intervention_traces = _intervention_shapes_and_trace(trajectory, last)
    threshold = float(trajectory.thresholds.high_interference_from)
    threshold_shape = {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "yref": "y",
        "y0": threshold,
        "y1": threshold,
        "line": {"color": "#b91c1c", "width": 1.5, "dash": "dash"},
    }
    annotations.append(
        {
            "xref": "paper",
            "x": 0,
            "xanchor": "left",
            "yref": "y",
            "y": threshold,
            "yanchor": "bottom",
            "text": _("High interference (≥ %(threshold)s)") % {"threshold": f"{threshold:g}"},
            "showarrow": False,
            "font": {"color": "#b91c1c", "size": 11},
        }
    )
    layout = _layout(
        height=520, check_ins=bool(trajectory.check_ins), x_range=_x_range(first, last)
    )
    layout["shapes"] = [*intervention_shapes, *event_shapes, threshold_shape]
    layout["annotations"] = annotations
    data = [*traces, *event_traces, *intervention_traces]
    if trajectory.check_ins:
        data.append(_check_in_trace(trajectory))
    return {"data": data, "layout": layout}


def as_graph_object(figure: Figure) -> go.Figure:
    """The figure as a validated ``plotly.graph_objects.Figure`` (raises on any invalid key).

    The tests pass every figure through it, so the dicts the pages embed follow Plotly's schema.
    The pages themselves embed the dict: building and serialising a graph object of a long
    history validates and converts every point again, a large share of the page's time.
    """
    return go.Figure(figure)
