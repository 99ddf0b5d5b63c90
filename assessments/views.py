"""Pages: the patient's questionnaire and result, and the staff's telephone entry, list and
correction. Thin: parse, authorize (patients.access), call one service or selector, render."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _

from aimss_tracker.security import link_scope_answered, link_scoped
from patients.access import (
    care_staff_required,
    get_owned_or_404,
    get_patient_or_404,
    patient_of,
    patient_required,
)
from patients.http import AuthenticatedHttpRequest
from patients.models import Patient

from .advice import advice_for_response
from .forms import CorrectionForm, ResponseForm, initial_from_answers
from .instrument import wording
from .models import (
    BACK_VIEW_REGIONS,
    INTERFERENCE_FIELDS,
    BodyRegion,
    EntryMode,
    RecallPeriod,
    Response,
)
from .selectors import draft_of, instrument_current, responses_of, versions_of
from .services import (
    Answers,
    ResponseAlreadyCorrected,
    draft_save,
    response_correct,
    response_submit,
)

HISTORY_ON_RESULT_PAGE = 12


def _form_context(form: ResponseForm, **extra: Any) -> dict[str, Any]:
    """What the questionnaire template needs: the form and the instrument's wording."""
    instrument = instrument_current()
    recall = str(form["recall_period"].value() or RecallPeriod.HOURS_24)
    language = translation.get_language() or "en"
    return {
        "form": form,
        "instrument": instrument,
        "wording": wording(instrument.definition, language, recall),
        "body_views": [
            ("front", [c for c in BodyRegion if c not in BACK_VIEW_REGIONS]),
            ("back", [c for c in BodyRegion if c in BACK_VIEW_REGIONS]),
        ],
        "scale_fields": ["worst_pain", "least_pain", "average_pain", "pain_now"],
        "interference_fields": [name for name, _field in INTERFERENCE_FIELDS],
        **extra,
    }


@patient_required
def response_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The patient's questionnaire: save a draft, or submit (once, whatever she clicks)."""
    patient = patient_of(request.user)
    if patient is None:
        raise Http404
    if request.method == "POST":
        form = ResponseForm(request.POST)
        if "save_draft" in request.POST:
            draft_save(
                patient=patient,
                submission_key=form.submission_key_or_new(),
                answers=form.draft_answers(),
            )
            messages.success(request, _("Your answers are saved. You can finish later."))
            # a reminder link's session has no home page to go back to
            return redirect("assessments:new" if link_scoped(request) else "clinical:patient_home")
        if form.is_valid():
            response, created = response_submit(
                patient=patient,
                answers=form.answers(),
                entered_by=request.user,
                submission_key=form.cleaned_data["submission_key"],
                language=translation.get_language() or "en",
                from_her_form=True,
            )
            link_scope_answered(request, response_id=response.pk)
            if not created:
                messages.info(
                    request,
                    _("We had already received these answers. Nothing new was saved."),
                )
            return redirect("assessments:detail", pk=response.pk)
    else:
        draft = draft_of(patient)
        initial: dict[str, Any] = dict(draft.answers) if draft else {}
        initial["submission_key"] = draft.submission_key if draft else uuid.uuid4()
        form = ResponseForm(initial=initial)
    return render(
        request,
        "assessments/response_form.html",
        _form_context(form, patient=patient, action_url=request.path),
    )


@login_required
def response_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """One response in plain words, with the patient's history (patient or her care team)."""
    response = get_owned_or_404(
        Response.objects.select_related("patient__clinic", "instrument", "entered_by"),
        request.user,
        pk=pk,
    )
    user = request.user
    language = translation.get_language() or "en"
    if link_scoped(request):
        # Opened from a reminder link: a confirmation only, no name and no history, since a
        # forwarded e-mail must not expose her record; her history needs her password. Her
        # advice follows from these answers alone (worsening would tell of earlier ones).
        advice = advice_for_response(response, language=language, with_worsening=False)
        return render(
            request,
            "assessments/link_confirmation.html",
            {"response": response, "advice": advice},
        )
    history = responses_of(patient=response.patient)[:HISTORY_ON_RESULT_PAGE]
    return render(
        request,
        "assessments/response_detail.html",
        {
            "response": response,
            "patient": response.patient,
            "history": history,
            "versions": versions_of(response) if not user.is_patient_role else [],
            "is_current": not Response.objects.filter(supersedes=response).exists(),
            # What she can do now, in her language (hers only: the care team has the chart).
            "advice": advice_for_response(response, language=language)
            if user.is_patient_role
            else None,
        },
    )


def _staff_form_page(
    request: HttpRequest,
    patient: Patient,
    form: ResponseForm,
    *,
    title: str,
    correcting: Response | None = None,
) -> HttpResponse:
    return render(
        request,
        "assessments/staff_form.html",
        _form_context(
            form, patient=patient, title=title, correcting=correcting, action_url=request.path
        ),
    )


@care_staff_required
def staff_response_new(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A nurse enters a response on the patient's behalf (telephone); marked as such."""
    patient = get_patient_or_404(request.user, pk)
    form = ResponseForm(
        request.POST if request.method == "POST" else None, initial={"submission_key": uuid.uuid4()}
    )
    if request.method == "POST" and form.is_valid():
        response, _created = response_submit(
            patient=patient,
            answers=form.answers(),
            entered_by=request.user,
            submission_key=form.cleaned_data["submission_key"],
            entry_mode=EntryMode.TELEPHONE,
            language=translation.get_language() or "en",
        )
        messages.success(request, _("The telephone questionnaire is saved."))
        return redirect("assessments:detail", pk=response.pk)
    return _staff_form_page(
        request, patient, form, title=_("Questionnaire by telephone for %s") % patient.full_name
    )


@care_staff_required
def patient_responses(request: HttpRequest, pk: int) -> HttpResponse:
    """All of a patient's responses, corrections and superseded versions included."""
    patient = get_patient_or_404(request.user, pk)
    responses = responses_of(patient=patient, current_only=False).select_related("entered_by")
    superseded = set(
        Response.objects.filter(patient=patient, supersedes__isnull=False).values_list(
            "supersedes_id", flat=True
        )
    )
    return render(
        request,
        "assessments/patient_responses.html",
        {"patient": patient, "responses": responses, "superseded": superseded},
    )


@care_staff_required
def response_correct_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Correct a response: a new version with a reason; the old one stays visible."""
    response = get_owned_or_404(
        Response.objects.select_related("patient__clinic"), request.user, pk=pk
    )
    already = _("This version has been corrected already; correct the latest.")
    # (A correction posted for it is refused by the service, under the version's lock.)
    if request.method != "POST" and Response.objects.filter(supersedes=response).exists():
        messages.info(request, already)
        return redirect("assessments:patient_responses", pk=response.patient_id)
    initial = {
        **initial_from_answers(Answers.from_response(response)),
        "submission_key": response.submission_key,
    }
    form = CorrectionForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            correction = response_correct(
                response=response,
                answers=form.answers(),
                corrected_by=request.user,
                reason=form.cleaned_data["correction_reason"],
            )
        except (ResponseAlreadyCorrected, IntegrityError):  # someone else corrected it meanwhile
            messages.warning(request, already)
            return redirect("assessments:patient_responses", pk=response.patient_id)
        messages.success(request, _("The correction is saved as a new version."))
        return redirect("assessments:detail", pk=correction.pk)
    return _staff_form_page(
        request,
        response.patient,
        form,
        title=_("Correct the questionnaire of %s") % response.patient.full_name,
        correcting=response,
    )
