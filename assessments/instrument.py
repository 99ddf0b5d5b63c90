"""Instrument definition files: their checks and their wording in one language.

A definition file (``instruments/bpi_sf.json``; format in the README) carries the items'
numbers, fields, kinds, scale ranges, and per language their labels and anchors. The product's
logic never depends on the wording, only on the fields, so a site can load its licensed text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FORMAT = "aimss-instrument/1"
BUNDLED_BPI_SF = Path(__file__).resolve().parent / "instruments" / "bpi_sf.json"
REQUIRED_LANGUAGES = ("en", "zh-hans")
FALLBACK_LANGUAGE = "en"
RECALL_PERIODS = ("24h", "7d")  # the values of models.RecallPeriod

# field -> (kind, min, max, step) the product's responses are built on (BPI-SF structure).
EXPECTED_ITEMS: dict[str, tuple[str, int | None, int | None, int | None]] = {
    "has_pain_today": ("yes_no", None, None, None),
    "pain_locations": ("body_map", None, None, None),
    "worst_pain": ("scale", 0, 10, 1),
    "least_pain": ("scale", 0, 10, 1),
    "average_pain": ("scale", 0, 10, 1),
    "pain_now": ("scale", 0, 10, 1),
    "treatments": ("text", None, None, None),
    "relief_percent": ("scale", 0, 100, 10),
    "interference": ("scale_group", 0, 10, 1),
}
EXPECTED_INTERFERENCE = (
    "general_activity",
    "mood",
    "walking_ability",
    "normal_work",
    "relations_with_others",
    "sleep",
    "enjoyment_of_life",
)


def read_definition(path: Path | str) -> dict[str, Any]:
    with Path(path).open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def labels_errors(where: str, labels: Any) -> list[str]:
    if not isinstance(labels, dict):
        return [f"{where}: expected an object of language -> text"]
    return [
        f"{where}: no text for language {language!r}"
        for language in REQUIRED_LANGUAGES
        if not str(labels.get(language, "")).strip()
    ]


def definition_errors(data: Any) -> list[str]:
    """Everything wrong with a definition, as plain sentences (empty when it can be loaded)."""
    if not isinstance(data, dict):
        return ["the file must hold one JSON object"]
    errors = []
    if data.get("format") != FORMAT:
        errors.append(f"format must be {FORMAT!r}")
    for key in ("code", "version"):
        if not str(data.get(key, "")).strip():
            errors.append(f"{key} is missing")
    errors += labels_errors("title", data.get("title"))
    for period in RECALL_PERIODS:
        errors += labels_errors(
            f"recall_periods.{period}", data.get("recall_periods", {}).get(period)
        )
    items = {item.get("field"): item for item in data.get("items", []) if isinstance(item, dict)}
    for field, (kind, low, high, step) in EXPECTED_ITEMS.items():
        item = items.get(field)
        if item is None:
            errors.append(f"item {field!r} is missing")
            continue
        if item.get("kind") != kind:
            errors.append(f"item {field!r} must be of kind {kind!r}")
        if low is not None and (item.get("min"), item.get("max"), item.get("step")) != (
            low,
            high,
            step,
        ):
            errors.append(f"item {field!r} must run from {low} to {high} in steps of {step}")
        errors += labels_errors(f"item {field!r} label", item.get("label"))
        if kind in ("scale", "scale_group"):
            anchors = item.get("anchors", {})
            errors += labels_errors(f"item {field!r} anchor min", anchors.get("min"))
            errors += labels_errors(f"item {field!r} anchor max", anchors.get("max"))
    group = items.get("interference", {})
    parts = [part.get("field") for part in group.get("items", []) if isinstance(part, dict)]
    if group and tuple(parts) != EXPECTED_INTERFERENCE:
        errors.append(f"item 9 must list, in order: {', '.join(EXPECTED_INTERFERENCE)}")
    for part in group.get("items", []):
        if isinstance(part, dict):
            errors += labels_errors(f"item 9 {part.get('field')!r} label", part.get("label"))
    return errors


def text(labels: dict[str, str] | None, language: str) -> str:
    """A label in ``language``, falling back to English."""
    labels = labels or {}
    return labels.get(language) or labels.get(FALLBACK_LANGUAGE) or ""


def wording(definition: dict[str, Any], language: str, recall_period: str) -> dict[str, Any]:
    """The items' wording in one language, keyed by field, ready for a template.

    ``label`` reads in ``recall_period``; ``by_recall`` holds each label in every recall period,
    so the form can reword every item at once when she chooses another period.
    """
    periods = definition.get("recall_periods", {})
    recall_in = {period: text(periods.get(period), language) for period in RECALL_PERIODS}
    recall = text(periods.get(recall_period), language)

    def item_text(item: dict[str, Any]) -> dict[str, Any]:
        anchors = item.get("anchors", {})
        label = text(item.get("label"), language)
        return {
            "number": item.get("number", ""),
            "label": label.replace("{recall}", recall),
            "by_recall": {
                period: label.replace("{recall}", words) for period, words in recall_in.items()
            },
            "min_anchor": text(anchors.get("min"), language),
            "max_anchor": text(anchors.get("max"), language),
            "worst_label": text(item.get("worst_label"), language),
            "options": {k: text(v, language) for k, v in item.get("options", {}).items()},
        }

    items: dict[str, Any] = {}
    for item in definition.get("items", []):
        items[item["field"]] = item_text(item)
        for part in item.get("items", []):
            items[part["field"]] = {**item_text(part), "letter": part.get("letter", "")}
    return {
        "title": text(definition.get("title"), language),
        "notice": text(definition.get("notice"), language),
        "recall": recall,
        "recall_in": recall_in,
        "items": items,
    }
