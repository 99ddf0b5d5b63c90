"""Her own chart, drawn on the server as inline SVG: no JavaScript to download or run on a phone.

Her average pain (BPI item 5) and how much pain got in her way (the interference score) over
time, against her baseline and the meaningful-change lines 2 points either side of it. The SVG
names itself (``<title>``, ``<desc>`` read by screen readers) and the page puts the same numbers
in a table beside it. The clinician's richer chart stays on plotly.js (``charts.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.formats import date_format
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from adherence.baseline import baseline_answer

from .selectors import ResponsePoint, Trajectory

# A change of 2 points on the 0-10 BPI scale is one a patient notices: the minimal clinically
# important difference for BPI pain, and the response definition of SWOG S1202 (Henry et al.,
# JCO 2018: "a drop of at least 2 points" in average joint pain).
MEANINGFUL_CHANGE = 2.0  # points, 0-10 scale

# Drawing, in SVG user units (the SVG scales to the width of the page).
WIDTH, HEIGHT = 420, 250
LEFT, RIGHT, TOP, BOTTOM = 30, 8, 10, 34
FONT = 17  # user units: about 12 px on a 360 px phone, 18 px at the chart's widest
MARKERS_UP_TO = 30  # points: beyond this the line alone is drawn (a long weekly history)
PAIN_COLOUR = "#b91c1c"
INTERFERENCE_COLOUR = "#1d4ed8"
BASELINE_COLOUR = "#374151"
SAME_FILL = "#e5e7eb"
MAX_WIDTH_REM = 28  # the chart is not drawn wider than this on a desktop


def baseline_of(trajectory: Trajectory) -> ResponsePoint | None:
    """Her baseline response (the product's rule, :mod:`adherence.baseline`); without one, her
    chart compares with her first response."""
    if not trajectory.series:
        return None
    baseline = baseline_answer(
        trajectory.series,
        diagnosis=trajectory.diagnosis,
        intervention_starts=(i.start for i in trajectory.interventions),
    )
    return baseline or trajectory.series[0]


def change_in_words(latest: float, baseline: float) -> str:
    """Her latest average pain against her baseline, in a sentence: lower or higher by at
    least :data:`MEANINGFUL_CHANGE` points, else about the same."""
    change = round(latest - baseline, 1)
    values = {
        "points": f"{abs(change):.1f}",
        "before": f"{baseline:g}",
        "now": f"{latest:g}",
    }
    if change <= -MEANINGFUL_CHANGE:
        words = _(
            "Your pain is %(points)s points lower than when it started "
            "(%(before)s then, %(now)s now)."
        )
    elif change >= MEANINGFUL_CHANGE:
        words = _(
            "Your pain is %(points)s points higher than when it started "
            "(%(before)s then, %(now)s now)."
        )
    else:
        words = _("Your pain is about the same as when it started (%(before)s then, %(now)s now).")
    return words % values


@dataclass(frozen=True)
class _Scale:
    first: dt.date
    last: dt.date

    def x(self, day: dt.date) -> float:
        span = (self.last - self.first).days
        inner = WIDTH - LEFT - RIGHT
        if span == 0:
            return LEFT + inner / 2
        return round(LEFT + inner * (day - self.first).days / span, 1)

    @staticmethod
    def y(score: float) -> float:
        return round(TOP + (HEIGHT - TOP - BOTTOM) * (10 - score) / 10, 1)


def _line(points: list[tuple[float, float]], colour: str, width: float, dash: str = "") -> str:
    if len(points) == 1:
        return ""
    coordinates = " ".join(f"{x},{y}" for x, y in points)
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<polyline points="{coordinates}" fill="none" stroke="{colour}" '
        f'stroke-width="{width}" stroke-linejoin="round"{dashes}/>'
    )


def _markers(points: list[tuple[float, float]], colour: str, *, always: bool = False) -> str:
    if len(points) > MARKERS_UP_TO and not always:
        return ""
    return "".join(f'<circle cx="{x}" cy="{y}" r="5" fill="{colour}"/>' for x, y in points)


def _text(x: float, y: float, text: str, *, anchor: str = "start", colour: str = "") -> str:
    fill = f' fill="{colour}"' if colour else ""
    return (
        f'<text x="{x}" y="{y}" font-size="{FONT}" text-anchor="{anchor}"{fill}>'
        f"{escape(text)}</text>"
    )


def _grid() -> list[str]:
    parts = []
    for score in range(0, 11, 2):
        y = _Scale.y(score)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" stroke="#e5e7eb"/>')
        parts.append(_text(LEFT - 8, y + FONT / 3, str(score), anchor="end"))
    return parts


def _baseline_parts(baseline: float) -> list[str]:
    """The band of 'about the same' (baseline ± 2 points, within 0-10), its two labelled
    meaningful-change lines and the baseline line (named in the key under the chart: a label
    on it would sit under her lines whenever her pain holds steady)."""
    y = _Scale.y
    low = max(0.0, baseline - MEANINGFUL_CHANGE)
    high = min(10.0, baseline + MEANINGFUL_CHANGE)
    parts = [
        f'<rect class="same-band" x="{LEFT}" y="{y(high)}" width="{WIDTH - LEFT - RIGHT}" '
        f'height="{round(y(low) - y(high), 1)}" fill="{SAME_FILL}" opacity="0.6"/>'
    ]
    for name, score, label in (
        ("meaningful-lower", baseline - MEANINGFUL_CHANGE, _("2 points lower")),
        ("meaningful-higher", baseline + MEANINGFUL_CHANGE, _("2 points higher")),
    ):
        if 0 <= score <= 10:
            parts.append(
                f'<line class="{name}" data-score="{score:g}" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                f'y1="{y(score)}" y2="{y(score)}" stroke="{BASELINE_COLOUR}" stroke-width="1.5" '
                f'stroke-dasharray="6 5"/>'
            )
            below = score < baseline
            parts.append(
                _text(
                    WIDTH - RIGHT - 4,
                    y(score) + (FONT if below else -5),
                    label,
                    anchor="end",
                    colour=BASELINE_COLOUR,
                )
            )
    parts.append(
        f'<line class="baseline" data-score="{baseline:g}" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
        f'y1="{y(baseline)}" y2="{y(baseline)}" stroke="{BASELINE_COLOUR}" stroke-width="2.5"/>'
    )
    return parts


def my_chart_svg(
    series: Sequence[ResponsePoint], *, baseline: ResponsePoint | None, chart_id: str
) -> SafeString:
    """Her chart of ``series`` (oldest first; at least one point) as an inline ``<svg>``."""
    scale = _Scale(series[0].date, series[-1].date)
    pain = [(scale.x(p.date), scale.y(p.average)) for p in series]
    getting_in_way = [
        (scale.x(p.date), scale.y(p.interference)) for p in series if p.interference is not None
    ]
    title = _("Your pain and how much it got in the way of daily life, over time")
    description = _(
        "%(count)s answers from %(first)s to %(last)s. Red line: your average pain; blue dashed "
        "line: how much pain got in the way of daily life; both 0 (none) to 10 (worst). Grey "
        "line: where your pain started; dashed grey lines: 2 points lower and higher than that."
    ) % {
        "count": len(series),
        "first": date_format(series[0].date, "SHORT_DATE_FORMAT"),
        "last": date_format(series[-1].date, "SHORT_DATE_FORMAT"),
    }
    parts = _grid()
    if baseline is not None:
        parts += _baseline_parts(float(baseline.average))
    parts.append(_line(getting_in_way, INTERFERENCE_COLOUR, 2.5, dash="8 5"))
    parts.append(_markers(getting_in_way, INTERFERENCE_COLOUR))
    parts.append(_line(pain, PAIN_COLOUR, 3.5))
    parts.append(_markers(pain, PAIN_COLOUR, always=len(pain) == 1))
    axis_y = HEIGHT - BOTTOM + FONT + 8
    parts.append(_text(LEFT, axis_y, date_format(series[0].date, "SHORT_DATE_FORMAT")))
    if series[-1].date != series[0].date:
        parts.append(
            _text(
                WIDTH - RIGHT,
                axis_y,
                date_format(series[-1].date, "SHORT_DATE_FORMAT"),
                anchor="end",
            )
        )
    head = format_html(
        '<svg id="{id}" class="my-chart" viewBox="0 0 {w} {h}" width="100%" '
        'style="max-width: {max}rem; height: auto; display: block" role="img" '
        'aria-labelledby="{id}-title {id}-desc" font-family="system-ui, sans-serif" '
        'fill="#1f2933"><title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>',
        id=chart_id,
        w=WIDTH,
        h=HEIGHT,
        max=MAX_WIDTH_REM,
        title=title,
        desc=description,
    )
    # Every value above is a number or went through escape(): the markup is safe.
    return mark_safe(head + "".join(parts) + "</svg>")  # noqa: S308  # nosec B308 B703
