"""Reads of instruments, responses and drafts shared by pages, API and tasks."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet

from patients.access import scope_to_user
from patients.models import Patient

from .instrument import BUNDLED_BPI_SF, read_definition
from .models import BPI_SF, Instrument, Response, ResponseDraft

# The current instrument is kept in Django's cache for this long, so that a submission asks the
# database one query less. Loading a new version (``manage.py load_instrument``) forgets it at
# once in a shared cache, and within this time in a per-process one.
CURRENT_INSTRUMENT_TTL = 60  # seconds


def _cache_key(code: str) -> str:
    return f"instrument-current:{code}"


def instrument_current(*, code: str = BPI_SF) -> Instrument:
    """The most recently loaded version of an instrument (kept for CURRENT_INSTRUMENT_TTL).

    A migration loads the bundled BPI-SF; should the table have been emptied since (a flushed
    test database), the bundled definition is loaded again rather than failing submissions.
    """
    kept: Instrument | None = cache.get(_cache_key(code))
    if kept is not None:
        return kept
    instrument = Instrument.objects.filter(code=code).order_by("-loaded_at", "-id").first()
    if instrument is None and code == BPI_SF:
        definition = read_definition(BUNDLED_BPI_SF)
        instrument, _created = Instrument.objects.get_or_create(
            code=code, version=definition["version"], defaults={"definition": definition}
        )
    if instrument is None:
        raise Instrument.DoesNotExist(f"no {code} instrument loaded; run load_instrument")
    cache.set(_cache_key(code), instrument, CURRENT_INSTRUMENT_TTL)
    return instrument


def instrument_forget(*, code: str = BPI_SF) -> None:
    """Forget the kept current instrument (after loading a new version)."""
    cache.delete(_cache_key(code))


def responses_visible_to(user: Any, *, current_only: bool = True) -> QuerySet[Response]:
    """Responses within ``user``'s reach; by default only the current version of each."""
    responses = Response.objects.current() if current_only else Response.objects.all()
    return scope_to_user(responses, user).select_related("instrument")


def responses_of(*, patient: Patient, current_only: bool = True) -> QuerySet[Response]:
    """One patient's responses, newest first (charts: filter by ``recall_period`` too)."""
    responses = Response.objects.filter(patient=patient).select_related("instrument")
    if current_only:
        responses = responses.current()
    return responses


def versions_of(response: Response) -> list[Response]:
    """The whole correction chain of ``response``, oldest first (the audit view)."""
    chain = [response]
    while chain[0].supersedes_id is not None:
        older = chain[0].supersedes
        assert older is not None
        chain.insert(0, older)
    newer = Response.objects.filter(supersedes=chain[-1]).first()
    while newer is not None:
        chain.append(newer)
        newer = Response.objects.filter(supersedes=newer).first()
    return chain


def draft_of(patient: Patient) -> ResponseDraft | None:
    return ResponseDraft.objects.filter(patient=patient).first()
