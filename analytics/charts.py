"""Plotly figures of the cohort report (drawn in the browser by static/js/analytics.js)."""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go

from .cohort import DAYS_PER_MONTH

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


def km_figure(curves: dict[str, Any], title: str) -> go.Figure:
    figure = go.Figure(layout=_layout(title, "Interruption-free survival", [0, 1.02]))
    for group, curve in curves.items():
        if not curve or not curve["time_days"]:  # none, or hidden by disclosure control
            continue
        size = f" (n = {curve['n']})" if curve["n"] is not None else ""
        figure.add_trace(
            go.Scatter(
                x=_months(curve["time_days"]),
                y=curve["survival"],
                mode="lines",
                line={"shape": "hv", "color": COLOURS[group]},
                name=f"{LABELS[group]}{size}",
            )
        )
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
