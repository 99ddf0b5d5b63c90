"""Small helpers of the trajectory pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def trend(value: float | None) -> str:
    """A signed change with an arrow: "▲ +2" (worse), "▼ -1.5" (better), "= 0"."""
    if value is None:
        return "—"
    if value > 0:
        return f"▲ +{value:g}"
    if value < 0:
        return f"▼ {value:g}"
    return "= 0"
