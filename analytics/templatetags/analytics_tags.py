from __future__ import annotations

from typing import Any

from django import template
from django.template.defaultfilters import floatformat
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def pvalue(value: float | None) -> str:
    """A p-value as journals print it: three decimals, or "< 0.001"."""
    if value is None:
        return "—"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


@register.filter
def shown(value: Any, places: Any = None) -> Any:
    """A value of a disclosure-controlled report: "hidden" where it was suppressed (None),
    else the value (to ``places`` decimals when given)."""
    if value is None:
        return _("hidden")
    if places is not None:
        return floatformat(value, places)
    return value
