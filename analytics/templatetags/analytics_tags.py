from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def pvalue(value: float | None) -> str:
    """A p-value as journals print it: three decimals, or "< 0.001"."""
    if value is None:
        return "—"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
