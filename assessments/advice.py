"""Self-management advice as data: the file format, its checks, loading a version, and choosing
what a patient reads after a questionnaire or a check-in.

An advice file (``advice_sets/self_management.json``; format in docs/advice.md) lists items,
each for one situation (her pain band, high interference, worsening, a check-in lapse), with its
text in every language, its source and its limits. ``manage.py load_advice FILE`` checks a file
and names every fault with its line and place ("line 12: items[3].text.zh-Hans: missing"), then
loads it whole or not at all as a new version, which becomes current; older versions are kept.
Which advice she sees is decided here from her stored scores and her clinic's rules; the words
are the file's, so a clinic reviews and replaces them without a release.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from patients.models import Clinic
from patients.rules import rules_of

from .models import (
    ADVICE_SOURCE_MAX_CHARS,
    ADVICE_VERSION_MAX_CHARS,
    AdviceItem,
    AdviceSet,
    AdviceSituation,
    Response,
)

FORMAT = "aimss-advice/1"
BUNDLED_ADVICE = Path(__file__).resolve().parent / "advice_sets" / "self_management.json"
# Django's language code -> the tag a file writes (BCP 47; read case-insensitively).
LANGUAGES = {"en": "en", "zh-hans": "zh-Hans"}
FALLBACK_LANGUAGE = "en"
TEXT_MAX_CHARS = 600  # per language: advice in plain words is short
TOP_FIELDS = ("format", "version", "notes", "items")
ITEM_FIELDS = ("situation", "text", "source", "limits")
# Every file must say something for each of these; "none" (no pain) is optional.
REQUIRED_SITUATIONS = (
    AdviceSituation.MILD,
    AdviceSituation.MODERATE,
    AdviceSituation.SEVERE,
    AdviceSituation.HIGH_INTERFERENCE,
    AdviceSituation.WORSENING,
    AdviceSituation.CHECK_IN_LAPSE,
)
# The order her advice is read in: her band first, then what her answers showed.
SITUATION_ORDER = tuple(AdviceSituation)
HEADINGS = {
    AdviceSituation.NONE: _("Keeping well"),
    AdviceSituation.MILD: _("For mild pain"),
    AdviceSituation.MODERATE: _("For moderate pain"),
    AdviceSituation.SEVERE: _("For severe pain"),
    AdviceSituation.HIGH_INTERFERENCE: _("When pain gets in the way of daily life"),
    AdviceSituation.WORSENING: _("When pain is higher than last time"),
    AdviceSituation.CHECK_IN_LAPSE: _("When doses are missed"),
}


class AdviceFileError(ValueError):
    """A file that cannot be loaded; ``errors`` holds one sentence per fault."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


# --- reading, with the line of every object ----------------------------------------------------


class _Located(dict[str, Any]):
    """A JSON object that knows its line, the line of each of its keys' values, and the keys it
    gave twice."""

    line = 0
    lines: dict[str, int] = {}  # noqa: RUF012 (each instance gets its own)
    repeated: tuple[str, ...] = ()

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


def _parse_object(s_and_end: tuple[str, int], strict: bool, scan_once: Any, *rest: Any) -> Any:
    text, end = s_and_end
    starts: list[int] = []

    def scan_value(string: str, index: int) -> Any:
        starts.append(index)  # only this object's own values come through here
        return scan_once(string, index)

    # rest: object_hook, object_pairs_hook, memo; the pairs are kept to see repeated keys.
    pairs, new_end = json.decoder.JSONObject(  # type: ignore[attr-defined]
        s_and_end, strict, scan_value, None, list, *rest[2:]
    )
    located = _Located(pairs)
    located.line = text.count("\n", 0, end) + 1
    located.lines = {
        key: text.count("\n", 0, start) + 1
        for (key, _value), start in zip(pairs, starts, strict=True)
    }
    keys = [key for key, _value in pairs]
    located.repeated = tuple(sorted({key for key in keys if keys.count(key) > 1}))
    return located, new_end


def parse_advice(text: str) -> Any:
    """The file's JSON, every object a ``_Located``; a syntax error names its line."""
    decoder = json.JSONDecoder()
    decoder.parse_object = _parse_object  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as error:
        raise AdviceFileError(
            [f"line {error.lineno}, column {error.colno}: not valid JSON ({error.msg})"]
        ) from error


def read_advice(path: Path | str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise AdviceFileError([f"cannot read the file ({error})"]) from error
    return parse_advice(text)


# --- checking ----------------------------------------------------------------------------------


def _at(node: Any, place: str, message: str, *, key: str | None = None) -> str:
    """A fault at ``place``, with the line of ``node`` (of its ``key``'s value when given)."""
    if isinstance(node, _Located):
        line = node.line_of(key) if key is not None else node.line
    else:
        line = 0
    return f"line {line}: {place}: {message}" if line else f"{place}: {message}"


def _unknown_and_repeated(node: dict[str, Any], place: str, known: Sequence[str]) -> Iterable[str]:
    for key in getattr(node, "repeated", ()):
        yield _at(node, f"{place}.{key}" if place else key, "given twice", key=key)
    for key in node:
        if key not in known:
            where = f"{place}.{key}" if place else key
            yield _at(node, where, f"unknown field (expected {', '.join(known)})", key=key)


def _text_errors(parent: Any, place: str, key: str, value: Any, *, max_chars: int) -> Iterable[str]:
    """A short text (``parent[key]``): present, a string, not blank, not too long."""
    if value is None:
        yield _at(parent, place, "missing", key=key)
    elif not isinstance(value, str):
        yield _at(parent, place, "must be text", key=key)
    elif not value.strip():
        yield _at(parent, place, "empty", key=key)
    elif len(value) > max_chars:
        yield _at(parent, place, f"longer than {max_chars} characters ({len(value)})", key=key)


def _languages_errors(parent: Any, place: str, key: str) -> Iterable[str]:
    """``parent[key]``: an object of language tag -> text, with every language the product
    speaks."""
    value = parent.get(key)
    if value is None:
        yield _at(parent, place, "missing", key=key)
        return
    if not isinstance(value, dict):
        expected = ", ".join(LANGUAGES.values())
        yield _at(parent, place, f"must be an object of {expected} -> text", key=key)
        return
    seen: dict[str, str] = {}
    for tag in value:
        code = str(tag).lower()
        if code not in LANGUAGES:
            expected = ", ".join(LANGUAGES.values())
            yield _at(value, f"{place}.{tag}", f"unknown language (expected {expected})", key=tag)
        elif code in seen:
            yield _at(value, f"{place}.{tag}", f"the same language as {seen[code]!r}", key=tag)
        else:
            seen[code] = tag
    for tag in getattr(value, "repeated", ()):
        yield _at(value, f"{place}.{tag}", "given twice", key=tag)
    for code, tag in LANGUAGES.items():
        given = seen.get(code, tag)
        yield from _text_errors(
            value, f"{place}.{tag}", given, value.get(given), max_chars=TEXT_MAX_CHARS
        )


def _item_errors(index: int, item: Any) -> Iterable[str]:
    place = f"items[{index}]"
    if not isinstance(item, dict):
        yield f"{place}: must be an object"
        return
    yield from _unknown_and_repeated(item, place, ITEM_FIELDS)
    situation = item.get("situation")
    if situation is None:
        yield _at(item, f"{place}.situation", "missing")
    elif situation not in AdviceSituation.values:
        yield _at(
            item,
            f"{place}.situation",
            f"{situation!r} is not one of {', '.join(AdviceSituation.values)}",
            key="situation",
        )
    yield from _languages_errors(item, f"{place}.text", "text")
    yield from _text_errors(
        item, f"{place}.source", "source", item.get("source"), max_chars=ADVICE_SOURCE_MAX_CHARS
    )
    yield from _languages_errors(item, f"{place}.limits", "limits")


def advice_errors(data: Any) -> list[str]:
    """Everything wrong with an advice file, one sentence per fault naming its line and place
    (empty when it can be loaded)."""
    if not isinstance(data, dict):
        return ["the file must hold one JSON object"]
    errors = list(_unknown_and_repeated(data, "", TOP_FIELDS))
    if data.get("format") != FORMAT:
        found = data.get("format")
        message = "missing" if found is None else f"must be {FORMAT!r}"
        errors.append(_at(data, "format", message, key="format"))
    errors += _text_errors(
        data, "version", "version", data.get("version"), max_chars=ADVICE_VERSION_MAX_CHARS
    )
    if "notes" in data and not isinstance(data["notes"], str):
        errors.append(_at(data, "notes", "must be text", key="notes"))
    items = data.get("items")
    if items is None:
        errors.append(_at(data, "items", "missing"))
        return errors
    if not isinstance(items, list):
        errors.append(_at(data, "items", "must be a list", key="items"))
        return errors
    for index, item in enumerate(items):
        errors += _item_errors(index, item)
    covered = {
        item.get("situation")
        for item in items
        if isinstance(item, dict) and isinstance(item.get("situation"), str)
    }
    errors += [
        _at(data, "items", f"no item for situation {situation.value!r}", key="items")
        for situation in REQUIRED_SITUATIONS
        if situation.value not in covered
    ]
    return errors


def _by_language(value: dict[str, str]) -> dict[str, str]:
    """Keyed by Django's language codes (the file's tags are read case-insensitively)."""
    return {str(key).lower(): text.strip() for key, text in value.items()}


def normalised(data: dict[str, Any]) -> dict[str, Any]:
    """A checked file as stored: plain dicts, languages keyed as Django names them."""
    return {
        "format": FORMAT,
        "version": data["version"].strip(),
        "notes": data.get("notes", "").strip(),
        "items": [
            {
                "situation": item["situation"],
                "text": _by_language(item["text"]),
                "source": item["source"].strip(),
                "limits": _by_language(item["limits"]),
            }
            for item in data["items"]
        ],
    }


# --- loading (the service) ---------------------------------------------------------------------


@transaction.atomic
def advice_set_load(*, data: Any) -> tuple[AdviceSet, bool]:
    """Load a checked advice file as a new version, which becomes current; ``(set, created)``.

    All or nothing: a faulty file raises :class:`AdviceFileError` and stores nothing. The same
    version with the same content again does nothing; changed content needs a new version, so
    that what was shown under a version stays known.
    """
    errors = advice_errors(data)
    if errors:
        raise AdviceFileError(errors)
    content = normalised(data)
    existing = AdviceSet.objects.filter(version=content["version"]).first()
    if existing is not None:
        if existing.content != content:
            raise AdviceFileError(
                [
                    f"version: {content['version']!r} is already loaded with other content; "
                    "give the changed file a new version"
                ]
            )
        return existing, False
    advice_set = AdviceSet(version=content["version"], notes=content["notes"], content=content)
    advice_set.full_clean()
    advice_set.save()
    items = []
    for position, item in enumerate(content["items"]):
        row = AdviceItem(advice_set=advice_set, position=position, **item)
        row.full_clean(exclude=["advice_set"])
        items.append(row)
    AdviceItem.objects.bulk_create(items)
    return advice_set, True


# --- choosing what she reads (selectors) -------------------------------------------------------


@dataclass(frozen=True)
class AdviceShown:
    text: str
    source: str
    limits: str


@dataclass(frozen=True)
class AdviceSection:
    situation: str
    heading: str
    items: tuple[AdviceShown, ...]


@dataclass(frozen=True)
class Advice:
    """What she reads, in her language; ``call_first``: her clinic's phone number leads."""

    sections: tuple[AdviceSection, ...]
    call_first: bool
    version: str

    def __bool__(self) -> bool:
        return bool(self.sections)


def advice_current() -> AdviceSet | None:
    """The most recently loaded advice. A migration loads the bundled file; should the table
    have been emptied since (a flushed test database), the bundled file is loaded again."""
    current = AdviceSet.objects.order_by("-loaded_at", "-id").first()
    if current is None:
        try:
            current, _created = advice_set_load(data=read_advice(BUNDLED_ADVICE))
        except IntegrityError:  # another request loaded it at the same moment
            current = AdviceSet.objects.order_by("-loaded_at", "-id").first()
    return current


def _in(words: dict[str, str], language: str) -> str:
    code = (language or FALLBACK_LANGUAGE).lower()
    return words.get(code) or words.get(FALLBACK_LANGUAGE) or ""


def advice_for(*, situations: Iterable[str], language: str, call_first: bool = False) -> Advice:
    """The current advice for ``situations``, in ``language`` (English where a text lacks it)."""
    wanted = set(situations)
    current = advice_current()
    if current is None or not wanted:
        return Advice(sections=(), call_first=call_first, version="")
    by_situation: dict[str, list[AdviceShown]] = {}
    for item in current.items.filter(situation__in=wanted).order_by("position"):
        by_situation.setdefault(item.situation, []).append(
            AdviceShown(
                text=_in(item.text, language),
                source=item.source,
                limits=_in(item.limits, language),
            )
        )
    sections = tuple(
        AdviceSection(
            situation=situation.value,
            heading=str(HEADINGS[situation]),
            items=tuple(by_situation[situation.value]),
        )
        for situation in SITUATION_ORDER
        if situation.value in by_situation
    )
    return Advice(sections=sections, call_first=call_first, version=current.version)


def previous_response(response: Response) -> Response | None:
    """Her previous current response with the same recall period (the one a rise is read
    against, as the worsening flag reads it)."""
    return (
        Response.objects.current()
        .filter(
            patient_id=response.patient_id,
            recall_period=response.recall_period,
            submitted_at__lt=response.submitted_at,
        )
        .exclude(pk=response.pk)
        .order_by("-submitted_at", "-pk")
        .first()
    )


def pain_rose(response: Response, previous: Response | None, clinic: Clinic | None) -> bool:
    """Her worst (item 3) or average (item 5) pain rose by at least the clinic's worsening
    points (2 by default: IMMPACT, Dworkin et al. 2008) since ``previous``."""
    if previous is None:
        return False
    points = rules_of(clinic).worsening_points
    rises = (
        Decimal(response.worst_pain - previous.worst_pain),
        Decimal(response.average_pain - previous.average_pain),
    )
    return max(rises) >= points


def response_situations(response: Response, *, with_worsening: bool = True) -> list[str]:
    """Her band (stored at submission with her clinic's cut-points), high interference (stored
    likewise) and, when asked, worsening since her previous answer."""
    situations = [response.pain_band]
    if response.interference_high:
        situations.append(AdviceSituation.HIGH_INTERFERENCE)
    if with_worsening and pain_rose(response, previous_response(response), response.patient.clinic):
        situations.append(AdviceSituation.WORSENING)
    return situations


def advice_for_response(
    response: Response, *, language: str, with_worsening: bool = True
) -> Advice:
    """Her advice after a questionnaire; her clinic's phone comes first when interference is
    high or her pain severe (``Response.calls_for_the_clinic``)."""
    return advice_for(
        situations=response_situations(response, with_worsening=with_worsening),
        language=language,
        call_first=response.calls_for_the_clinic,
    )


def advice_for_check_in(*, lapse: bool, language: str) -> Advice:
    """Her advice after an adherence check-in: the lapse advice when the check-in showed one
    (decided and stored by the adherence app with her clinic's minimum days)."""
    return advice_for(
        situations=[AdviceSituation.CHECK_IN_LAPSE] if lapse else [], language=language
    )
