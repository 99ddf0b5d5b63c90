"""Pages: the staff therapy page of one patient (her check-in page is in ``clinical``, beside
her home: when it is due comes from her reassessment slots)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients.access import care_staff_required, get_patient_or_404, patient_required
from patients.models import Patient
from patients.rules import rules_of

from . import services
from .forms import (
    AiCourseForm,
    DoseReminderForm,
    InterruptionEndForm,
    InterventionForm,
    RegimenChangeForm,
    TreatmentEventForm,
    apply_service_errors,
)
from .models import DoseReminder, EventKind, TreatmentEvent
from .selectors import therapy_overview


def _end_interruption(*, patient: Patient, event: int, end_date: Any, **unused: Any) -> Any:
    target = TreatmentEvent.objects.filter(
        patient=patient, pk=event, kind=EventKind.INTERRUPTION
    ).first()
    if target is None:
        raise ValidationError(_("This interruption does not exist."))
    return services.interruption_end(event=target, end_date=end_date)


# form name -> (form class, service, success message)
THERAPY_FORMS: dict[str, tuple[type[forms.BaseForm], Callable[..., Any], Any]] = {
    "course": (AiCourseForm, services.ai_course_create, gettext_lazy("AI course recorded.")),
    "regimen": (
        RegimenChangeForm,
        services.regimen_change_create,
        gettext_lazy("Regimen change recorded."),
    ),
    "event": (
        TreatmentEventForm,
        services.treatment_event_create,
        gettext_lazy("Treatment event recorded."),
    ),
    "intervention": (
        InterventionForm,
        services.intervention_create,
        gettext_lazy("Intervention recorded."),
    ),
    "end_interruption": (
        InterruptionEndForm,
        _end_interruption,
        gettext_lazy("Interruption ended."),
    ),
}


def therapy_post(request: HttpRequest, patient: Patient) -> dict[str, forms.BaseForm]:
    """Record what one of the therapy forms posted, through its service.

    Returns ``{}`` when it was saved (a success message is queued), else the bound form with
    its errors under its name. The therapy page and the clinician's trajectory page both call
    this, so the same forms and services serve both.
    """
    name = request.POST.get("form", "")
    if name not in THERAPY_FORMS:
        raise Http404
    form_class, service, done = THERAPY_FORMS[name]
    form = form_class(request.POST, prefix=name)
    if form.is_valid():
        arguments = dict(form.cleaned_data)
        if name != "end_interruption":
            arguments["recorded_by"] = request.user
        try:
            service(patient=patient, **arguments)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, done)
            return {}
    return {name: form}


def therapy_forms(bound: dict[str, forms.BaseForm]) -> dict[str, forms.BaseForm]:
    """The record forms of the therapy page: bound ones with their errors, else empty ones."""
    return {
        name: bound.get(name) or form_class(prefix=name)
        for name, (form_class, _service, _done) in THERAPY_FORMS.items()
        if name != "end_interruption"
    }


@care_staff_required
def therapy(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_or_404(request.user, pk)
    bound: dict[str, forms.BaseForm] = {}
    if request.method == "POST":
        bound = therapy_post(request, patient)
        if not bound:
            return redirect("adherence:therapy", pk=patient.pk)
    context = {
        "patient": patient,
        "overview": therapy_overview(patient),
        "rules": rules_of(patient.clinic),
        "forms": therapy_forms(bound),
        "end_form": bound.get("end_interruption"),
    }
    return render(request, "adherence/therapy.html", context, status=400 if bound else 200)


# Practical habits against forgetting, shown after she says she forgot (the product's advice:
# generic text reminders alone did not improve adherence, so habits come first).
FORGETTING_TIPS = (
    gettext_lazy(
        "Take your tablet at the same time every day, with something you already do "
        "daily, such as brushing your teeth or breakfast."
    ),
    gettext_lazy("Keep the box where you will see it at that time (not hidden in a drawer)."),
    gettext_lazy("Use a weekly pill box: you can see at a glance whether today's dose is taken."),
    gettext_lazy(
        "If you miss a dose, take the next one at the usual time; do not take two at once."
    ),
    gettext_lazy("Ask for your next prescription a week before the box runs out."),
)


@patient_required
def dose_reminder(request: HttpRequest) -> HttpResponse:
    """Tips against forgetting, and her daily reminder to turn on or off."""
    patient = getattr(request.user, "patient", None)
    if patient is None:
        raise Http404
    reminder = DoseReminder.objects.filter(patient=patient).first()
    initial = (
        {"enabled": reminder.enabled, "time": reminder.time}
        if reminder
        else {"enabled": False, "time": DoseReminder._meta.get_field("time").get_default()}
    )
    form = DoseReminderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.dose_reminder_set(
            patient=patient, enabled=form.cleaned_data["enabled"], time=form.cleaned_data["time"]
        )
        if form.cleaned_data["enabled"]:
            messages.success(
                request,
                _("Your daily reminder is on, at %(time)s your time.")
                % {"time": form.cleaned_data["time"].strftime("%H:%M")},
            )
        else:
            messages.success(request, _("Your daily reminder is off."))
        return redirect("adherence:dose_reminder")
    context = {"form": form, "tips": FORGETTING_TIPS, "reminder": reminder, "patient": patient}
    status = 400 if request.method == "POST" else 200
    return render(request, "adherence/dose_reminder.html", context, status=status)
