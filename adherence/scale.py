"""The clinic's licensed adherence scale, MARS-5 (Horne, Medication Adherence Report Scale).

Loaded as instrument data like the BPI-SF (``assessments.Instrument`` rows, code ``mars-5``):
the repository ships the structure only (``instruments/mars_5.json``: 5 items scored 1-5,
total 5-25, higher is more adherent); the wording is copyrighted, so a clinic holding the
licence loads it (``manage.py load_adherence_scale FILE``, ``licensed_wording: true``, every
item's label and its five answer labels in both languages). The check-in asks it only when the
clinic's rules say so and a licensed version is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from assessments.instrument import (
    FORMAT,
    labels_errors,
    read_definition,
    text,
)
from assessments.models import Instrument
from patients.models import Clinic
from patients.rules import rules_of

from .models import MARS5_ITEM_MAX, MARS5_ITEM_MIN, MARS5_ITEMS

MARS5 = "mars-5"
BUNDLED_MARS5 = Path(__file__).resolve().parent / "instruments" / "mars_5.json"
MARS5_FIELDS = tuple(f"item_{n}" for n in range(1, MARS5_ITEMS + 1))
MARS5_ANSWERS = tuple(str(n) for n in range(MARS5_ITEM_MIN, MARS5_ITEM_MAX + 1))


def scale_definition_errors(data: Any) -> list[str]:
    """Everything wrong with a MARS-5 definition, one sentence each (empty when loadable).

    The structure file passes with ``licensed_wording: false``; a licensed file must also carry
    each item's five answer labels (1-5) in every required language."""
    if not isinstance(data, dict):
        return ["the file must hold one JSON object"]
    errors = []
    if data.get("format") != FORMAT:
        errors.append(f"format must be {FORMAT!r}")
    if data.get("code") != MARS5:
        errors.append(f"code must be {MARS5!r}")
    if not str(data.get("version", "")).strip():
        errors.append("version is missing")
    if not isinstance(data.get("licensed_wording"), bool):
        errors.append("licensed_wording must be true or false")
    errors += labels_errors("title", data.get("title"))
    items = data.get("items")
    if not isinstance(items, list):
        return [*errors, "items must be a list"]
    fields = [item.get("field") if isinstance(item, dict) else None for item in items]
    if tuple(fields) != MARS5_FIELDS:
        errors.append(f"items must be, in order: {', '.join(MARS5_FIELDS)}")
    licensed = data.get("licensed_wording") is True
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            errors.append(f"item {number}: expected an object")
            continue
        where = f"item {item.get('field', number)!r}"
        if item.get("kind") != "scale":
            errors.append(f"{where} must be of kind 'scale'")
        if (item.get("min"), item.get("max"), item.get("step")) != (
            MARS5_ITEM_MIN,
            MARS5_ITEM_MAX,
            1,
        ):
            errors.append(
                f"{where} must run from {MARS5_ITEM_MIN} to {MARS5_ITEM_MAX} in steps of 1"
            )
        errors += labels_errors(f"{where} label", item.get("label"))
        if licensed:
            options = item.get("options")
            if not isinstance(options, dict) or set(options) != set(MARS5_ANSWERS):
                errors.append(f"{where} options must label each answer 1 to 5")
            else:
                for answer in MARS5_ANSWERS:
                    errors += labels_errors(f"{where} option {answer}", options[answer])
    return errors


@transaction.atomic
def scale_load(*, definition: dict[str, Any]) -> tuple[Instrument, bool]:
    """Load a MARS-5 definition; ``(instrument, created)``. Refuses a malformed file with
    every error, and a changed file under a version already loaded."""
    errors = scale_definition_errors(definition)
    if errors:
        raise ValueError("; ".join(errors))
    existing = Instrument.objects.filter(code=MARS5, version=definition["version"]).first()
    if existing is not None:
        if existing.definition != definition:
            raise ValueError(
                f"version {definition['version']!r} is already loaded with other content; "
                "give the changed file a new version"
            )
        return existing, False
    instrument = Instrument(code=MARS5, version=definition["version"], definition=definition)
    instrument.full_clean()
    instrument.save()
    return instrument, True


def bundled_structure() -> dict[str, Any]:
    return read_definition(BUNDLED_MARS5)


def scale_in_use(clinic: Clinic | None) -> Instrument | None:
    """The licensed MARS-5 version her clinic's check-in asks, or None (the clinic does not
    ask it, or no licensed wording is loaded)."""
    if not rules_of(clinic).ask_adherence_scale:
        return None
    return (
        Instrument.objects.filter(code=MARS5, definition__licensed_wording=True)
        .order_by("-loaded_at", "-id")
        .first()
    )


def scale_answer_errors(answers: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for each missing or out-of-range MARS-5 answer."""
    errors = []
    unknown = set(answers) - set(MARS5_FIELDS)
    if unknown:
        errors.append(
            (
                "scale_answers",
                _("Unknown items %(items)s: the scale has items %(known)s.")
                % {"items": ", ".join(sorted(unknown)), "known": ", ".join(MARS5_FIELDS)},
            )
        )
    for field in MARS5_FIELDS:
        value = answers.get(field)
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not (MARS5_ITEM_MIN <= value <= MARS5_ITEM_MAX)
        ):
            errors.append(
                (
                    "scale_answers",
                    _("%(item)s: choose an answer from %(low)s to %(high)s.")
                    % {"item": field, "low": MARS5_ITEM_MIN, "high": MARS5_ITEM_MAX},
                )
            )
    return errors


def scale_questions(instrument: Instrument, language: str) -> list[dict[str, Any]]:
    """Each item's label and its answers' labels in ``language``, for the check-in form."""
    questions = []
    for item in instrument.definition.get("items", []):
        options = item.get("options", {})
        questions.append(
            {
                "field": item["field"],
                "label": text(item.get("label"), language),
                "choices": [(int(a), text(options.get(a), language) or a) for a in MARS5_ANSWERS],
            }
        )
    return questions
