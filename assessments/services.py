"""Writes: loading instruments, submitting and correcting responses, saving drafts.

The web request only records state: one transaction stores the response with its scores, and
after commit a Celery task is given the response id to evaluate flags. A broker outage never
fails a submission (the flags issue's sweep catches responses whose task was lost).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.utils import timezone

from aimss_tracker.dispatch import EVALUATE_RESPONSE, send_on_commit
from patients.models import Patient, User
from patients.rules import rules_of

from . import scoring
from .instrument import definition_errors
from .models import (
    INTERFERENCE_FIELDS,
    EntryMode,
    Instrument,
    RecallPeriod,
    Response,
    ResponseDraft,
)
from .selectors import instrument_current, instrument_forget
from .summaries import score_summaries_refresh, score_summary_record

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answers:
    """The answers of one BPI-SF, as the API names them (interference keyed by item 9's parts)."""

    has_pain_today: bool
    worst_pain: int
    least_pain: int
    average_pain: int
    pain_now: int
    recall_period: str = RecallPeriod.HOURS_24
    pain_locations: list[str] = field(default_factory=list)
    worst_location: str = ""
    treatments: str = ""
    relief_percent: int | None = None
    interference: dict[str, int | None] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Answers:
        """From validated form or serializer data (``interference`` nested or flat)."""
        nested = data.get("interference") or {}
        return cls(
            recall_period=data.get("recall_period") or RecallPeriod.HOURS_24,
            has_pain_today=bool(data["has_pain_today"]),
            pain_locations=list(dict.fromkeys(data.get("pain_locations") or [])),
            worst_location=data.get("worst_location") or "",
            worst_pain=data["worst_pain"],
            least_pain=data["least_pain"],
            average_pain=data["average_pain"],
            pain_now=data["pain_now"],
            treatments=(data.get("treatments") or "").strip(),
            relief_percent=data.get("relief_percent"),
            interference={
                name: nested.get(name, data.get(name)) for name, _field in INTERFERENCE_FIELDS
            },
        )

    @classmethod
    def from_response(cls, response: Response) -> Answers:
        # Items 1, 3, 4 and 6 are None only on an imported response (``EntryMode.IMPORTED``);
        # its correction form starts with them empty and asks for them.
        return cls(
            recall_period=response.recall_period,
            has_pain_today=cast(bool, response.has_pain_today),
            pain_locations=list(response.pain_locations),
            worst_location=response.worst_location,
            worst_pain=cast(int, response.worst_pain),
            least_pain=cast(int, response.least_pain),
            average_pain=response.average_pain,
            pain_now=cast(int, response.pain_now),
            treatments=response.treatments,
            relief_percent=response.relief_percent,
            interference=response.interference_answers,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _build(
    *,
    patient: Patient,
    answers: Answers,
    instrument: Instrument,
    entered_by: User,
    **fields: Any,
) -> Response:
    """A validated, scored, unsaved response."""
    scores = scoring.score(
        worst=answers.worst_pain,
        least=answers.least_pain,
        average=answers.average_pain,
        now=answers.pain_now,
        interference_items=[answers.interference.get(name) for name, _f in INTERFERENCE_FIELDS],
        thresholds=rules_of(patient.clinic),
    )
    response = Response(
        patient=patient,
        instrument=instrument,
        entered_by=entered_by,
        recall_period=answers.recall_period,
        has_pain_today=answers.has_pain_today,
        pain_locations=answers.pain_locations,
        worst_location=answers.worst_location,
        worst_pain=answers.worst_pain,
        least_pain=answers.least_pain,
        average_pain=answers.average_pain,
        pain_now=answers.pain_now,
        treatments=answers.treatments,
        relief_percent=answers.relief_percent,
        pain_severity_score=scores.pain_severity,
        interference_score=scores.interference,
        pain_band=scores.pain_band,
        interference_high=scores.interference_high,
        **{
            model_field: answers.interference.get(name) for name, model_field in INTERFERENCE_FIELDS
        },
        **fields,
    )
    # Field validators and item-2 rules give one message per field. Foreign keys, uniqueness
    # and check constraints are left to PostgreSQL (each would cost a query per submission):
    # the constraints mirror the validators, and a duplicate key is caught below.
    response.full_clean(
        exclude=["patient", "instrument", "entered_by", "supersedes"],
        validate_unique=False,
        validate_constraints=False,
    )
    return response


# A patient sending the very same answers again this soon is a resubmission, not a new report.
RESUBMIT_WINDOW = dt.timedelta(hours=2)


def _recent_identical(patient: Patient, answers: Answers) -> Response | None:
    latest = (
        Response.objects.current()
        .filter(
            patient=patient,
            entry_mode=EntryMode.SELF,
            submitted_at__gte=timezone.now() - RESUBMIT_WINDOW,
        )
        .order_by("-submitted_at", "-pk")
        .first()
    )
    if latest is not None and Answers.from_response(latest) == answers:
        return latest
    return None


def response_submit(
    *,
    patient: Patient,
    answers: Answers,
    entered_by: User,
    submission_key: uuid.UUID,
    entry_mode: str = EntryMode.SELF,
    language: str = "en",
    instrument: Instrument | None = None,
    from_her_form: bool = False,
) -> tuple[Response, bool]:
    """Store one submitted BPI-SF with its scores; ``(response, created)``.

    ``submission_key`` (the form's one-time token or the API's ``Idempotency-Key``) makes the
    submission idempotent per patient: a repeat returns the first response, not a second one.
    The patient's draft is discarded. Flag evaluation is queued after commit, with the id only.

    From her own form (``from_her_form``), the same answers sent again within
    :data:`RESUBMIT_WINDOW` are that first response too: going Back after sending reloads the
    form with a new key (health pages are never cached), and a second identical response would
    also corrupt her trend.
    """
    if from_her_form:
        same = _recent_identical(patient, answers)
        if same is not None:
            return same, False
    response = _build(
        patient=patient,
        answers=answers,
        instrument=instrument or instrument_current(),
        entered_by=entered_by,
        submission_key=submission_key,
        entry_mode=EntryMode(entry_mode),
        language=language,
        submitted_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            response.save(force_insert=True)
            score_summary_record(response=response)
            if entry_mode == EntryMode.SELF:
                ResponseDraft.objects.filter(patient=patient).delete()
            send_on_commit(EVALUATE_RESPONSE, response.pk)
    except IntegrityError:
        first = Response.objects.filter(patient=patient, submission_key=submission_key).first()
        if first is None:
            raise
        return first, False
    logger.info(
        "assessment.submitted response_id=%s patient_id=%s mode=%s",
        response.pk,
        patient.pk,
        entry_mode,
    )
    return response, True


class ResponseAlreadyCorrected(Exception):
    """The version was corrected meanwhile (by someone else): only the latest is corrected."""


@transaction.atomic
def response_correct(
    *, response: Response, answers: Answers, corrected_by: User, reason: str
) -> Response:
    """Record a staff correction: a new version that supersedes ``response``, with a reason.

    The corrected version keeps the original's time point, instrument and language; the old
    version stays stored and visible. Only the current version can be corrected (the database
    allows one successor per version): a version corrected meanwhile raises
    :class:`ResponseAlreadyCorrected`, decided under the version's row lock.
    """
    current = (
        Response.objects.select_for_update().select_related("patient__clinic").get(pk=response.pk)
    )
    if Response.objects.filter(supersedes=current).exists():
        raise ResponseAlreadyCorrected
    correction = _build(
        patient=current.patient,
        answers=answers,
        instrument=current.instrument,
        entered_by=corrected_by,
        submission_key=uuid.uuid4(),
        entry_mode=current.entry_mode,
        language=current.language,
        submitted_at=current.submitted_at,
        supersedes=current,
        correction_reason=reason.strip(),
    )
    correction.save(force_insert=True)
    score_summaries_refresh(patient_ids=[current.patient_id])
    send_on_commit(EVALUATE_RESPONSE, correction.pk)
    logger.info(
        "assessment.corrected response_id=%s supersedes=%s by_user=%s",
        correction.pk,
        current.pk,
        corrected_by.pk,
    )
    return correction


def draft_save(
    *, patient: Patient, submission_key: uuid.UUID, answers: dict[str, Any]
) -> ResponseDraft:
    """Keep a patient's unfinished answers (one draft per patient; not a response)."""
    draft, _created = ResponseDraft.objects.update_or_create(
        patient=patient, defaults={"submission_key": submission_key, "answers": answers}
    )
    return draft


@transaction.atomic
def instrument_load(*, definition: dict[str, Any]) -> tuple[Instrument, bool]:
    """Load an instrument definition; ``(instrument, created)``.

    Loading the same version with the same content again does nothing; a changed definition
    needs a new version, so that stored responses keep meaning what they meant.
    """
    errors = definition_errors(definition)
    if errors:
        raise ValueError("; ".join(errors))
    existing = Instrument.objects.filter(
        code=definition["code"], version=definition["version"]
    ).first()
    if existing is not None:
        if existing.definition != definition:
            raise ValueError(
                f"version {definition['version']!r} is already loaded with other content; "
                "give the changed file a new version"
            )
        return existing, False
    instrument = Instrument(
        code=definition["code"], version=definition["version"], definition=definition
    )
    instrument.full_clean()
    instrument.save()
    # Forgotten now, and again once committed: a request in between may have kept the old one.
    instrument_forget(code=instrument.code)
    transaction.on_commit(lambda: instrument_forget(code=instrument.code))
    return instrument, True
