"""Plotly figures of the cohort report (drawn in the browser by static/js/analytics.js)."""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go

from patients.clock import DAYS_PER_MONTH

COLOURS = {"monotherapy": "#1f77b4", "combined": "#d62728"}
LABELS = {"monotherapy": "Monotherapy", "combined": "Combined"}


def _months(days: list[int]) -> list[float]:
    return [round(d / DAYS_PER_MONTH, 2) for d in days]


def _layout(title: str, y_title: str, y_range: list[float] | None = None) -> dict[str, Any]:
    return {
        "title": {"text": title},
        "xaxis": {"title": {"text": "Months from AIMSS diagnosis"}},
        "yaxis": {"title": {"text": y_title}, **({"range": y_range} if y_range else {})},
        "legend": {"orientation": "h"},
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
    }


AT_RISK_MONTHS = (0, 6, 12, 18, 24, 30, 36)


def _step_at(days: list[int], values: list[float], day: float) -> float:
    """The value of a step curve (starting at 1) on ``day``."""
    value = 1.0
    for step, v in zip(days, values, strict=False):
        if step > day:
            break
        value = v
    return value


def km_figure(curves: dict[str, Any], title: str) -> go.Figure:
    """Kaplan-Meier steps with their 95 % confidence band, censoring marks, and the numbers
    at risk as rows of text under the x axis, each number under its month."""
    layout = _layout(title, "Interruption-free survival", [0, 1.02])
    layout["xaxis"] |= {"range": [0, max(AT_RISK_MONTHS)], "tickvals": list(AT_RISK_MONTHS)}
    shown = [(g, c) for g, c in curves.items() if c and c["time_days"]]
    layout["margin"] = {"l": 60, "r": 20, "t": 50, "b": 70 + 22 * len(shown)}
    figure = go.Figure(layout=layout)
    annotations = []
    for row, (group, curve) in enumerate(shown):
        size = f" (n = {curve['n']})" if curve["n"] is not None else ""
        months = [0.0, *_months(curve["time_days"])]
        colour = COLOURS[group]
        if curve.get("ci_low"):
            for bound, fill in (("ci_high", None), ("ci_low", "tonexty")):
                figure.add_trace(
                    go.Scatter(
                        x=months,
                        y=[1.0, *curve[bound]],
                        mode="lines",
                        line={"shape": "hv", "width": 0, "color": colour},
                        fill=fill,
                        opacity=0.2,
                        hoverinfo="skip",
                        showlegend=False,
                    )
                )
        figure.add_trace(
            go.Scatter(
                x=months,
                y=[1.0, *curve["survival"]],
                mode="lines",
                line={"shape": "hv", "color": colour},
                name=f"{LABELS[group]}{size}",
            )
        )
        censored = curve.get("censored_days") or []
        if censored:
            figure.add_trace(
                go.Scatter(
                    x=_months(censored),
                    y=[_step_at(curve["time_days"], curve["survival"], d) for d in censored],
                    mode="markers",
                    marker={"symbol": "line-ns-open", "size": 8, "color": colour},
                    name=f"{LABELS[group]}: censored",
                    showlegend=False,
                )
            )
        y = -0.22 - 0.09 * row
        annotations.append(
            {
                "x": 0,
                "y": y,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "right",
                "text": LABELS[group],
                "showarrow": False,
                "font": {"size": 10},
            }
        )
        for point in curve.get("at_risk") or []:
            annotations.append(
                {
                    "x": point["month"],
                    "y": y,
                    "xref": "x",
                    "yref": "paper",
                    "text": "–" if point["n"] is None else str(point["n"]),
                    "showarrow": False,
                    "font": {"size": 10},
                }
            )
    figure.update_layout(annotations=annotations)
    return figure


def cif_figure(competing: dict[str, Any]) -> go.Figure:
    figure = go.Figure(
        layout=_layout("Cumulative incidence of AIMSS discontinuation", "Cumulative incidence")
    )
    for group, curve in competing["groups"].items():
        if not curve or not curve["time_days"]:
            continue
        figure.add_trace(
            go.Scatter(
                x=_months(curve["time_days"]),
                y=curve["cif"],
                mode="lines",
                line={"shape": "hv", "color": COLOURS[group]},
                name=LABELS[group],
            )
        )
    return figure


def trajectory_figure(trajectory: dict[str, Any], outcome: str, title: str) -> go.Figure:
    figure = go.Figure(layout=_layout(title, "0-10", [0, 10]))
    figure.update_layout(xaxis={"title": {"text": "Month"}, "dtick": 1})
    for group, points in trajectory[outcome]["groups"].items():
        figure.add_trace(
            go.Scatter(
                x=[p["month"] for p in points],
                y=[p["mean"] for p in points],
                error_y={"type": "data", "array": [p["sd"] for p in points]},
                mode="lines+markers",
                line={"color": COLOURS[group]},
                name=LABELS[group],
            )
        )
    return figure


def report_charts(report: dict[str, Any]) -> dict[str, Any]:
    """Figure JSON by chart name, for ``json_script``."""
    if not report.get("km"):
        return {}
    figures = {
        "km-overall": km_figure(report["km"]["overall"], "Interruption-free survival"),
        "km-high": km_figure(report["km"]["high"], "High interference (>= 7)"),
        "km-low": km_figure(report["km"]["low"], "Low interference (< 7)"),
        "cif": cif_figure(report["competing_risks"]),
        "trajectory-pain": trajectory_figure(report["trajectory"], "average_pain", "Average pain"),
        "trajectory-interference": trajectory_figure(
            report["trajectory"], "interference", "Pain interference"
        ),
    }
    return {name: json.loads(figure.to_json()) for name, figure in figures.items()}
