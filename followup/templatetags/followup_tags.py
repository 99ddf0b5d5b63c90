"""Her home's "what is due" card (the view that renders her home moves up to an app that
reads everything; until then the card is a tag of the app that owns schedules)."""

from __future__ import annotations

from typing import Any

from django import template

from patients.models import Patient

from ..selectors import whats_due as whats_due_of

register = template.Library()


@register.inclusion_tag("followup/_whats_due.html")
def whats_due(patient: Patient) -> dict[str, Any]:
    return {"due": whats_due_of(patient)}
