"""Scores in words a patient understands, and helpers of the questionnaire form."""

from __future__ import annotations

from decimal import Decimal
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
    (the band of the pain severity score, named as such beside the single items). An imported
    response has no severity score: it says what was imported instead."""
    if response.is_imported:
        return imported_in_words(response)
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
    if response.is_imported:
        return imported_interference_in_words(response)
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
def imported_in_words(response: Response) -> str:
    """What a response imported by ``import_cohort`` holds, exactly as the file gave it (two
    decimals), and that nothing else was given, e.g. "Imported: average pain 6 of 10 (moderate
    pain); interference 4.50 of 10; other items not given.\""""
    return _(
        "Imported: average pain %(average)s of 10 (%(band)s); interference %(interference)s; "
        "other items not given."
    ) % {
        "average": response.average_pain,
        "band": PainBand(response.pain_band).label,
        "interference": _imported_score(response.interference_score),
    }


def _imported_score(value: Decimal | None) -> str:
    if value is None:
        return str(_("not given"))
    return _("%(score)s of 10") % {"score": localize(value)}


@register.filter
def imported_interference_in_words(response: Response) -> str:
    """The imported interference score as given (two decimals), and whether it is high."""
    text = _("Interference as imported: %(score)s.") % {
        "score": _imported_score(response.interference_score)
    }
    if response.interference_high:
        text += " " + _("High interference.")
    return text


@register.filter
def item_of_10(value: int | None) -> str:
    """A 0-10 item as the detail page shows it; "not given" for an item an import lacked."""
    if value is None:
        return str(_("not given"))
    return _("%(value)s / 10") % {"value": value}


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
