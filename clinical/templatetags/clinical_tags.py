"""The patient's own trajectory on her home page, and small helpers of the clinician's pages."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from patients.models import Patient

from ..charts import patient_figure
from ..selectors import patient_trajectory

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


def _change_in_words(latest: float, previous: float, *, what: str) -> str:
    if latest < previous:
        return _("%(what)s went down from %(before)s to %(now)s since the time before.") % {
            "what": what,
            "before": f"{previous:g}",
            "now": f"{latest:g}",
        }
    if latest > previous:
        return _("%(what)s went up from %(before)s to %(now)s since the time before.") % {
            "what": what,
            "before": f"{previous:g}",
            "now": f"{latest:g}",
        }
    return _("%(what)s stayed at %(now)s.") % {"what": what, "now": f"{latest:g}"}


@register.inclusion_tag("clinical/_my_trajectory.html")
def my_trajectory(patient: Patient) -> dict[str, Any]:
    """Her own scores over time (her record only), with a summary in plain words."""
    trajectory = patient_trajectory(patient, with_flags=False)
    words = []
    latest, previous = trajectory.latest, trajectory.previous
    if latest is not None and previous is not None:
        words.append(
            _change_in_words(latest.average, previous.average, what=_("Your average pain"))
        )
        if latest.interference is not None and previous.interference is not None:
            words.append(
                _change_in_words(
                    latest.interference,
                    previous.interference,
                    what=_("How much pain got in the way of daily life"),
                )
            )
    return {
        "trajectory": trajectory,
        "figure": patient_figure(trajectory) if trajectory.series else None,
        "words": words,
    }
