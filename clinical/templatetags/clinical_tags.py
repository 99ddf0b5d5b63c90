"""The patient's own trajectory on her home page, and small helpers of the clinician's pages."""

from __future__ import annotations

from typing import Any

from django import template
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
