"""Small helpers of the trajectory pages."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

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


@register.filter
def figure_json(figure: dict[str, Any], element_id: str) -> SafeString:
    """``json_script`` for a figure, compact: the same escaping done with three replaces,
    which cost a tenth of ``json_script``'s ``str.translate`` on a 90 KB figure."""
    text = json.dumps(figure, cls=DjangoJSONEncoder, separators=(",", ":"))
    text = text.replace("&", "\\u0026").replace("<", "\\u003C").replace(">", "\\u003E")
    # With <, > and & escaped the JSON cannot end the <script> element: safe as it is.
    data = mark_safe(text)  # noqa: S308  # nosec B308 B703
    return format_html('<script id="{}" type="application/json">{}</script>', element_id, data)
