"""Simplified Chinese everywhere: the catalogue is complete, compiled, and the pages use it.

The catalogue is parsed here (polib is not a dependency); the compiled ``.mo`` is read with the
standard library's ``gettext``, so a ``.po`` edited without ``compilemessages`` fails too.
"""

from __future__ import annotations

import ast
import datetime as dt
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation.template import templatize

from patients.models import Role
from tests.conftest import client_for
from tests.factories import PatientFactory, UserFactory

LOCALE_DIR = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
TEMPLATES = Path(settings.BASE_DIR) / "templates"
# What a patient (or anyone not yet signed in) reads: pages, e-mails, the sign-in flow.
PATIENT_FACING = [
    "base.html",
    "patients/",
    "assessments/",
    "adherence/check_in.html",
    "followup/email/",
    "followup/link_invalid.html",
    "registration/",
]
# What staff read: every other page and e-mail (staff work in either language too).
STAFF_FACING = sorted(
    str(path.relative_to(TEMPLATES))
    for path in TEMPLATES.rglob("*")
    if path.is_file()
    and path.suffix in (".html", ".txt")
    and not str(path.relative_to(TEMPLATES)).startswith(("admin/", "interop/"))
)
# Python packages whose marked strings reach users (messages, labels, validation errors).
APP_PACKAGES = (
    "aimss_tracker",
    "patients",
    "assessments",
    "adherence",
    "followup",
    "clinical",
    "analytics",
    "interop",
)
_GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext"}
_CALL = re.compile(r"\b(n?p?gettext)\(((?:u'(?:[^'\\]|\\.)*'(?:, )?)+)")
_LITERAL = re.compile(r"u'(?:[^'\\]|\\.)*'")


def _po_entries() -> list[tuple[str, list[str], bool]]:
    """(msgid, msgstrs, fuzzy) for every live entry of the catalogue, header excluded."""
    text = (LOCALE_DIR / "django.po").read_text(encoding="utf-8")
    entries = []
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        fields: dict[str, str] = {}
        key = None
        for line in lines:
            match = re.match(r'^(msgid_plural|msgid|msgstr(?:\[\d+\])?|msgctxt) (".*")$', line)
            if match:
                key = match.group(1)
                fields[key] = ast.literal_eval(match.group(2))
            elif line.startswith('"') and key:
                fields[key] += ast.literal_eval(line)
        if fields.get("msgid"):
            msgstrs = [value for name, value in fields.items() if name.startswith("msgstr")]
            entries.append((fields["msgid"], msgstrs, fuzzy))
    return entries


def _template_msgids(relative: str) -> set[str]:
    paths = [TEMPLATES / relative] if relative.endswith((".html", ".txt")) else []
    if not paths:
        paths = sorted(p for p in (TEMPLATES / relative).rglob("*") if p.is_file())
    msgids: set[str] = set()
    for path in paths:
        code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        for function, arguments in _CALL.findall(code):
            literals = [ast.literal_eval(lit[1:]) for lit in _LITERAL.findall(arguments)]
            if function.startswith("np") or function.startswith("p"):
                literals = literals[1:]  # the first argument is the context
            msgids.add(literals[0])
    return msgids


def _compiled_msgids() -> set[str]:
    with (LOCALE_DIR / "django.mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)
    return {
        (key[0] if isinstance(key, tuple) else key)
        for key, value in catalog._catalog.items()  # type: ignore[attr-defined]
        if value
    }


def _python_msgids(package: str) -> dict[str, str]:
    """msgid -> where, for every literal string passed to a gettext function in ``package``."""
    found: dict[str, str] = {}
    root = Path(settings.BASE_DIR) / package
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in _GETTEXT_NAMES:
                continue
            first = node.args[1] if name.startswith("p") and len(node.args) > 1 else node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value:
                found[first.value] = f"{path.relative_to(settings.BASE_DIR)}:{node.lineno}"
    return found


@pytest.mark.parametrize("relative", STAFF_FACING)
def test_staff_templates_have_compiled_translations(relative: str) -> None:
    # given the compiled catalogue, when the strings a staff template asks for are collected
    msgids = _template_msgids(relative)
    # then each has a translation (a template with no words to translate passes)
    assert sorted(msgids - _compiled_msgids()) == []


@pytest.mark.parametrize("package", APP_PACKAGES)
def test_marked_python_strings_have_compiled_translations(package: str) -> None:
    # given the compiled catalogue, when the strings the code marks for translation are collected
    msgids = _python_msgids(package)
    # then each has a translation
    missing = {msgid: where for msgid, where in msgids.items() if msgid not in _compiled_msgids()}
    assert missing == {}


def test_every_catalogue_entry_is_translated_and_none_is_fuzzy() -> None:
    # given the Simplified Chinese catalogue
    entries = _po_entries()

    # when its entries are checked
    untranslated = [msgid for msgid, msgstrs, _ in entries if not all(msgstrs)]
    fuzzy = [msgid for msgid, _, is_fuzzy in entries if is_fuzzy]

    # then every one has a reviewed translation
    assert len(entries) > 500
    assert untranslated == []
    assert fuzzy == []


def test_translations_keep_their_placeholders() -> None:
    placeholder = re.compile(r"%\(\w+\)[sd]")
    for msgid, msgstrs, _ in _po_entries():
        for msgstr in msgstrs:
            assert sorted(placeholder.findall(msgstr)) == sorted(placeholder.findall(msgid)), msgid


@pytest.mark.parametrize("relative", PATIENT_FACING)
def test_patient_facing_templates_have_compiled_translations(relative: str) -> None:
    # given the compiled catalogue that Django loads
    with (LOCALE_DIR / "django.mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)
    translated = {
        (key[0] if isinstance(key, tuple) else key)
        for key, value in catalog._catalog.items()  # type: ignore[attr-defined]
        if value
    }

    # when the strings the templates ask for are collected
    msgids = _template_msgids(relative)

    # then each has a translation in the compiled file
    assert msgids, relative
    assert sorted(msgids - translated) == []


@pytest.mark.django_db
def test_a_chinese_speaking_patient_reads_her_pages_in_chinese() -> None:
    # given a patient whose preferred language is Simplified Chinese
    patient = PatientFactory.create(preferred_language="zh-hans")
    client = client_for(patient.user)

    # when she opens the check-in and the questionnaire
    check_in = client.get("/me/check-in/").content.decode()
    questionnaire = client.get("/assessments/new/").content.decode()

    # then both are in Chinese, and the page says so
    assert '<html lang="zh-hans">' in check_in
    assert "芳香化酶抑制剂" in check_in
    assert '<html lang="zh-hans">' in questionnaire
    assert "疼痛" in questionnaire
    assert "Skip to content" not in questionnaire


def test_dates_and_numbers_are_localized_for_chinese() -> None:
    # given a date and a decimal score
    from django.template import Context, Template

    template = Template('{% load l10n %}{{ day|date:"DATE_FORMAT" }} {{ score|localize }}')
    context = Context({"day": dt.date(2026, 3, 9), "score": 6.5})

    # when rendered in each language
    with translation.override("zh-hans"):
        chinese = template.render(context)
    with translation.override("en"):
        english = template.render(context)

    # then each follows its own conventions
    assert chinese == "2026年3月9日 6.5"
    assert english == "March 9, 2026 6.5"


@pytest.mark.django_db
def test_the_login_page_offers_a_language_switch_that_keeps_the_choice() -> None:
    # given someone not signed in
    from django.test import Client

    client = Client()

    # when she picks Simplified Chinese on the login page
    page = client.get("/accounts/login/").content.decode()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})

    # then the login page is in Chinese from then on
    assert 'action="/i18n/setlang/"' in page
    assert '<html lang="zh-hans">' in client.get("/accounts/login/").content.decode()


@pytest.mark.django_db
def test_a_staff_members_preference_wins_over_the_browser() -> None:
    # given a nurse who prefers Simplified Chinese, with an English browser
    nurse = UserFactory.create(role=Role.NURSE, preferred_language="zh-hans")
    client = client_for(nurse)

    # when she opens the queue
    page = client.get("/queue/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # then it is in Chinese
    assert "警示" in page
