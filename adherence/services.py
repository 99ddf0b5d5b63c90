"""Writes for AI therapy, treatment events, interventions and adherence check-ins.

Every write locks the patient row (``select_for_update``) inside one transaction, so two
concurrent writes for one patient are checked one after the other, validates the row
(``full_clean``) and the rules across rows, and saves nothing when anything is wrong. Error
messages name the field and the conflicting date.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aimss_tracker.dispatch import (
    CARE_STOPPED,
    EVALUATE_CHECK_IN,
    EVALUATE_TREATMENT_EVENT,
    send_on_commit,
)
from patients.models import Clinic, Patient, User
from patients.rules import rules_of
from patients.services import patient_death_record

from .models import (
    CARE_STOP_KINDS,
    MEASURE_CATEGORY,
    AdherenceCheckIn,
    AiCourse,
    DoseReminder,
    EventKind,
    Intervention,
    RegimenChange,
    TreatmentEvent,
)
from .scale import scale_answer_errors, scale_in_use
from .selectors import last_follow_up, load_patient_data

logger = logging.getLogger(__name__)


class _Errors:
    """Collects messages per field and raises them together."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def _lock_patient(patient: Patient) -> Patient:
    return Patient.objects.select_for_update().select_related("clinic").get(pk=patient.pk)


def _iso(date: dt.date) -> str:
    return date.isoformat()


def _death_date(patient: Patient) -> dt.date | None:
    death = TreatmentEvent.objects.filter(patient=patient, kind=EventKind.DEATH).first()
    return death.start_date if death else None


def _check_date(
    errors: _Errors,
    *,
    patient: Patient,
    field: str,
    label: str,
    value: dt.date | None,
    not_before_diagnosis: bool = False,
    not_before_ai_start: bool = False,
) -> None:
    """Rules every recorded date obeys: not in the future, not after death, and optionally
    not before the AIMSS diagnosis or the AI start."""
    if value is None:
        return
    today = timezone.localdate()
    if value > today:
        errors.add(
            field, _("%(label)s %(date)s is in the future.") % {"label": label, "date": _iso(value)}
        )
    death = _death_date(patient)
    if death is not None and value > death:
        errors.add(
            field,
            _("%(label)s %(date)s is after the death recorded on %(death)s.")
            % {"label": label, "date": _iso(value), "death": _iso(death)},
        )
    diagnosis = patient.aimss_diagnosis_date
    if not_before_diagnosis and diagnosis and value < diagnosis:
        errors.add(
            field,
            _("%(label)s %(date)s is before the AIMSS diagnosis on %(diagnosis)s.")
            % {"label": label, "date": _iso(value), "diagnosis": _iso(diagnosis)},
        )
    course = AiCourse.objects.filter(patient=patient).first()
    if not_before_ai_start and course and value < course.start_date:
        errors.add(
            field,
            _("%(label)s %(date)s is before the AI start on %(start)s.")
            % {"label": label, "date": _iso(value), "start": _iso(course.start_date)},
        )


# --- AI course and regimen changes --------------------------------------------------------------


@transaction.atomic
def ai_course_create(
    *,
    patient: Patient,
    drug: str,
    start_date: dt.date,
    planned_duration_years: int = 5,
    recorded_by: User | None = None,
) -> AiCourse:
    """Record the patient's AI course (one per patient; switches are regimen changes)."""
    patient = _lock_patient(patient)
    errors = _Errors()
    if AiCourse.objects.filter(patient=patient).exists():
        errors.add(
            "__all__",
            _("This patient already has an AI course; record a switch as a regimen change."),
        )
    _check_date(errors, patient=patient, field="start_date", label=_("AI start"), value=start_date)
    diagnosis = patient.aimss_diagnosis_date
    if diagnosis and start_date > diagnosis:
        errors.add(
            "start_date",
            _("The AI start %(date)s is after the AIMSS diagnosis on %(diagnosis)s.")
            % {"date": _iso(start_date), "diagnosis": _iso(diagnosis)},
        )
    errors.raise_if_any()
    course = AiCourse(
        patient=patient,
        drug=drug,
        start_date=start_date,
        planned_duration_years=planned_duration_years,
        recorded_by=recorded_by,
    )
    course.full_clean()
    course.save()
    return course


@transaction.atomic
def regimen_change_create(
    *,
    patient: Patient,
    kind: str,
    date: dt.date,
    reason: str,
    new_drug: str = "",
    recorded_by: User | None = None,
) -> RegimenChange:
    """Record a dose reduction, intermittent dosing or switch of agent on the patient's course."""
    patient = _lock_patient(patient)
    errors = _Errors()
    course = AiCourse.objects.filter(patient=patient).first()
    if course is None:
        errors.add("__all__", _("Record the AI course before a regimen change."))
        errors.raise_if_any()
    assert course is not None
    _check_date(
        errors,
        patient=patient,
        field="date",
        label=_("The regimen change"),
        value=date,
        not_before_ai_start=True,
    )
    if kind == "switch_agent" and new_drug:
        switches = RegimenChange.objects.filter(course=course, kind="switch_agent", date__lte=date)
        current = switches.order_by("-date", "-id").values_list("new_drug", flat=True).first()
        if new_drug == (current or course.drug):
            errors.add("new_drug", _("The patient is already on this drug on that date."))
    change = RegimenChange(
        course=course,
        kind=kind,
        date=date,
        new_drug=new_drug,
        reason=reason,
        recorded_by=recorded_by,
    )
    _full_clean(change, errors)
    change.save()
    return change


def _full_clean(instance: Any, errors: _Errors) -> None:
    try:
        instance.full_clean()
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            for message in messages:
                errors.add(field, message)
    errors.raise_if_any()


# --- treatment events ---------------------------------------------------------------------------


@transaction.atomic
def treatment_event_create(
    *,
    patient: Patient,
    kind: str,
    start_date: dt.date,
    end_date: dt.date | None = None,
    reason: str = "",
    explicit_aimss_termination: bool = False,
    note: str = "",
    recorded_by: User | None = None,
) -> TreatmentEvent:
    """Record an interruption, a permanent discontinuation, a recurrence or a death."""
    patient = _lock_patient(patient)
    errors = _Errors()
    label = EventKind(kind).label if kind in EventKind.values else _("The event")
    stops = (EventKind.INTERRUPTION, EventKind.DISCONTINUATION)
    course = AiCourse.objects.filter(patient=patient).first()
    if kind in stops and course is None:
        errors.add("__all__", _("Record the AI course before an interruption or discontinuation."))
    for field, value in (("start_date", start_date), ("end_date", end_date)):
        _check_date(
            errors,
            patient=patient,
            field=field,
            label=str(label),
            value=value,
            not_before_diagnosis=True,
            not_before_ai_start=True,
        )
    existing = list(TreatmentEvent.objects.filter(patient=patient))
    if kind in (EventKind.DEATH, EventKind.DISCONTINUATION):
        for other in existing:
            if other.kind == kind:
                errors.add(
                    "kind",
                    _("%(label)s is already recorded on %(date)s.")
                    % {"label": label, "date": _iso(other.start_date)},
                )
    discontinuation = next((e for e in existing if e.kind == EventKind.DISCONTINUATION), None)
    if kind == EventKind.INTERRUPTION:
        new_end = end_date or dt.date.max
        for other in existing:
            if other.kind != EventKind.INTERRUPTION:
                continue
            other_end = other.end_date or dt.date.max
            if start_date <= other_end and other.start_date <= new_end:
                errors.add(
                    "start_date",
                    _(
                        "This interruption overlaps the interruption from %(start)s to %(end)s; "
                        "change that one instead."
                    )
                    % {
                        "start": _iso(other.start_date),
                        "end": _iso(other.end_date) if other.end_date else _("now (still off)"),
                    },
                )
        if discontinuation and start_date > discontinuation.start_date:
            errors.add(
                "start_date",
                _("The AI was permanently discontinued on %(date)s; no interruption after it.")
                % {"date": _iso(discontinuation.start_date)},
            )
    if kind == EventKind.DISCONTINUATION:
        later = [
            e for e in existing if e.kind == EventKind.INTERRUPTION and e.start_date > start_date
        ]
        if later:
            errors.add(
                "start_date",
                _("An interruption starts after this discontinuation, on %(date)s.")
                % {"date": _iso(later[0].start_date)},
            )
    if kind == EventKind.DEATH:
        last = last_follow_up(load_patient_data([patient])[0])
        if last is not None and last > start_date:
            errors.add(
                "start_date",
                _("Data is recorded after this date of death (the latest on %(date)s).")
                % {"date": _iso(last)},
            )
    event = TreatmentEvent(
        patient=patient,
        kind=kind,
        start_date=start_date,
        end_date=end_date,
        reason=reason,
        explicit_aimss_termination=explicit_aimss_termination,
        note=note,
        recorded_by=recorded_by,
    )
    _full_clean(event, errors)
    event.save()
    if event.kind == EventKind.INTERRUPTION:
        # A clinician-recorded interruption is an adherence lapse.
        send_on_commit(EVALUATE_TREATMENT_EVENT, event.pk)
    if event.kind in CARE_STOP_KINDS:
        care_stop_record(patient=patient, event=event)
    return event


def care_stop_record(*, patient: Patient, event: TreatmentEvent) -> None:
    """Care that stops stops everything: her current interventions end on the event's date
    (or on their start, if they began later), a death deactivates her login (no sign-in, no
    e-mail), and ``followup`` stops her schedule, reminders and the flags that no longer
    apply (after commit, by task name; its hourly sweep catches a lost task)."""
    for intervention in Intervention.objects.filter(patient=patient).exclude(
        end_date__lte=event.start_date
    ):
        intervention.end_date = max(intervention.start_date, event.start_date)
        intervention.save(update_fields=["end_date"])
    if event.kind == EventKind.DEATH:
        patient_death_record(patient_id=patient.pk, died_on=event.start_date)
    send_on_commit(CARE_STOPPED, patient.pk)


@transaction.atomic
def interruption_end(*, event: TreatmentEvent, end_date: dt.date) -> TreatmentEvent:
    """Close an open interruption: ``end_date`` is the last day off the drug."""
    patient = _lock_patient(event.patient)
    event = TreatmentEvent.objects.get(pk=event.pk)
    errors = _Errors()
    if event.kind != EventKind.INTERRUPTION or event.end_date is not None:
        errors.add("end_date", _("Only an open interruption can be ended."))
        errors.raise_if_any()
    _check_date(errors, patient=patient, field="end_date", label=_("The end"), value=end_date)
    others = TreatmentEvent.objects.filter(
        patient=patient, kind=EventKind.INTERRUPTION, start_date__gt=event.start_date
    ).exclude(pk=event.pk)
    following = others.order_by("start_date").first()
    if following and end_date >= following.start_date:
        errors.add(
            "end_date",
            _("The end %(date)s overlaps the next interruption from %(start)s.")
            % {"date": _iso(end_date), "start": _iso(following.start_date)},
        )
    event.end_date = end_date
    _full_clean(event, errors)
    event.save(update_fields=["end_date"])
    return event


# --- interventions ------------------------------------------------------------------------------


@transaction.atomic
def intervention_create(
    *,
    patient: Patient,
    measure: str,
    start_date: dt.date,
    category: str = "",
    end_date: dt.date | None = None,
    note: str = "",
    recorded_by: User | None = None,
) -> Intervention:
    """Record a management intervention; the category follows from the measure (except for
    "other", which needs one). It may start before the AIMSS diagnosis (then it does not count
    toward the strategy at diagnosis; see ``selectors``)."""
    patient = _lock_patient(patient)
    errors = _Errors()
    category = category or (MEASURE_CATEGORY.get(measure) or "")
    if not category:
        errors.add("category", _("Choose the category of an 'other' measure."))
    for field, value in (("start_date", start_date), ("end_date", end_date)):
        _check_date(errors, patient=patient, field=field, label=_("The intervention"), value=value)
    intervention = Intervention(
        patient=patient,
        category=category,
        measure=measure,
        start_date=start_date,
        end_date=end_date,
        note=note,
        recorded_by=recorded_by,
    )
    _full_clean(intervention, errors)
    intervention.save()
    return intervention


# --- adherence check-ins ------------------------------------------------------------------------


def is_adherence_lapse(check_in: AdherenceCheckIn, clinic: Clinic) -> bool:
    """A lapse: the AI taken on fewer than the clinic's ``adherence_min_days`` (5) of the
    last 7 days, or she stopped, or she wants to stop. (A clinician-recorded interruption is
    the other trigger; it is a ``TreatmentEvent`` the flag rules read directly.)"""
    return (
        check_in.days_taken_last_7 < rules_of(clinic).adherence_min_days
        or check_in.stopped
        or check_in.wants_to_stop
        # She chose to miss doses (side effects, decided to stop or take less): a nurse should
        # hear of it whatever the number of days.
        or check_in.intentional
    )


@transaction.atomic
def check_in_submit(
    *,
    patient: Patient,
    days_taken_last_7: int,
    stopped: bool,
    wants_to_stop: bool,
    reason: str = "",
    side_effects: str = "",
    missed_reason: str = "",
    missed_reason_other: str = "",
    scale_answers: dict[str, int] | None = None,
    entered_by: User | None = None,
    submission_token: uuid.UUID | None = None,
    submitted_at: dt.datetime | None = None,
) -> tuple[AdherenceCheckIn, bool]:
    """Store an adherence check-in once per ``submission_token`` and decide its lapse.

    Returns ``(check_in, created)``: a repeated token (double submit) returns the first
    check-in. After commit, the adherence task is dispatched with the check-in id only; a broker
    outage is logged and never fails the submission (a sweep picks it up).
    """
    patient = _lock_patient(patient)
    if submission_token is not None:
        previous = AdherenceCheckIn.objects.filter(submission_token=submission_token).first()
        if previous is not None:
            if previous.patient_id != patient.pk:
                raise ValidationError({"submission_token": _("This form was already used.")})
            return previous, False
    submitted_at = submitted_at or timezone.now()
    errors = _Errors()
    _check_date(
        errors,
        patient=patient,
        field="submitted_at",
        label=_("The check-in"),
        value=timezone.localdate(submitted_at),
    )
    check_in = AdherenceCheckIn(
        patient=patient,
        submitted_at=submitted_at,
        days_taken_last_7=days_taken_last_7,
        stopped=stopped,
        wants_to_stop=wants_to_stop,
        reason=reason,
        side_effects=side_effects,
        missed_reason=missed_reason,
        missed_reason_other=missed_reason_other,
        entered_by=entered_by,
        submission_token=submission_token or uuid.uuid4(),
    )
    if scale_answers:
        instrument = scale_in_use(patient.clinic)
        if instrument is None:
            errors.add("scale_answers", _("Her clinic does not ask the adherence scale."))
        else:
            for field, message in scale_answer_errors(scale_answers):
                errors.add(field, message)
            check_in.scale = instrument
            check_in.scale_answers = {str(k): int(v) for k, v in scale_answers.items()}
            check_in.scale_total = sum(check_in.scale_answers.values())
    _full_clean(check_in, errors)
    check_in.lapse = is_adherence_lapse(check_in, patient.clinic)
    check_in.save()
    send_on_commit(EVALUATE_CHECK_IN, check_in.pk)
    return check_in, True


def dose_reminder_set(*, patient: Patient, enabled: bool, time: dt.time) -> DoseReminder:
    """Turn her daily dose reminder on or off, at her local ``time``."""
    with transaction.atomic():
        patient = _lock_patient(patient)
        reminder, _created = DoseReminder.objects.get_or_create(patient=patient)
        reminder.enabled = enabled
        reminder.time = time
        reminder.full_clean()
        reminder.save()
    return reminder
