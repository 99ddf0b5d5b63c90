"""Scores in words a patient understands, and helpers of the questionnaire form."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.formats import localize
from django.utils.html import format_html
from django.utils.translation import gettext as _

from ..models import Response
from ..scoring import PainBand, score_shown

register = template.Library()


def _score(value: Any) -> str:
    return str(score_shown(value))


@register.filter
def pain_in_words(response: Response) -> str:
    """E.g. "Your overall pain was moderate (5.3 of 10, the mean of your four pain ratings)."
    (the band of the pain severity score, named as such beside the single items)."""
    words = {
        PainBand.NONE: _("You reported no pain"),
        PainBand.MILD: _("Your overall pain was mild"),
        PainBand.MODERATE: _("Your overall pain was moderate"),
        PainBand.SEVERE: _("Your overall pain was severe"),
    }[PainBand(response.pain_band)]
    return _("%(words)s (%(score)s of 10, the mean of your four pain ratings).") % {
        "words": words,
        "score": _score(response.pain_severity_score),
    }


@register.filter
def interference_in_words(response: Response) -> str:
    """E.g. "Your pain interfered a lot with daily life (7.4 of 10).\""""
    score = response.interference_score
    if score is None:
        return _(
            "We could not work out how much pain got in the way of daily life: fewer than 4 "
            "of the 7 questions about it were answered."
        )
    if response.interference_high:
        words = _("Your pain interfered a lot with daily life")
    elif score > 0:
        words = _("Your pain interfered somewhat with daily life")
    else:
        words = _("Your pain did not interfere with daily life")
    return _("%(words)s (%(score)s of 10).") % {"words": words, "score": _score(score)}


@register.filter
def bound_field(form: Any, name: str) -> Any:
    """``form[name]`` for a name held in a variable."""
    return form[name]


@register.filter
def lookup(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, {})


@register.filter
def as_strings(value: Any) -> list[str]:
    """A field's value as a list of strings (checkbox and radio checked state)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


@register.simple_tag
def recall_text(item: dict[str, Any]) -> str:
    """An item's label, carrying its wording in each recall period for the form's script."""
    by_recall = item.get("by_recall", {})
    return format_html(
        '<span class="recall-text" data-recall-24h="{}" data-recall-7d="{}">{}</span>',
        by_recall.get("24h", item.get("label", "")),
        by_recall.get("7d", item.get("label", "")),
        item.get("label", ""),
    )


@register.filter
def score(value: Any) -> str:
    """A pain severity or interference score as every page shows it: one decimal."""
    shown = score_shown(value)
    return "—" if shown is None else localize(shown)
