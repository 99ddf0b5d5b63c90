"""Pages: the clinician's patient list and one patient's trajectory with decision support."""

from __future__ import annotations

import calendar
import datetime as dt
import secrets
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from adherence.enrolment import PATIENT_FIELDS, patient_enrol
from adherence.forms import CheckInForm, apply_service_errors
from adherence.models import AdherenceCheckIn, Drug, MissedReason
from adherence.scale import scale_in_use
from adherence.selectors import care_stop_of, course_start_of, current_drug, pdc_from_check_ins
from adherence.services import check_in_submit
from adherence.views import therapy_forms, therapy_post
from aimss_tracker.inputs import id_param
from assessments.advice import advice_for_check_in
from assessments.scoring import PainBand
from assessments.selectors import draft_of, responses_of
from followup.notify import sms_status_of
from followup.selectors import check_in_due_since
from patients.access import (
    care_staff_required,
    get_patient_or_404,
    patient_of,
    patient_required,
    record_list_access,
)
from patients.clock import local_date, zone_of
from patients.http import AuthenticatedHttpRequest
from patients.invitations import invitation_send
from patients.models import Patient
from patients.selectors import clinics_of

from .charts import trajectory_figure
from .forms import EnrolmentForm
from .guidance import decision_support
from .selectors import (
    BAND_HIGH_INTERFERENCE,
    SORTS,
    STRATEGIES,
    PatientListFilters,
    ResponsePoint,
    Trajectory,
    patient_list_page,
    patient_trajectory,
)
from .svgchart import baseline_of, change_in_words, my_chart_svg

RECENT_RESPONSES = 8  # the table under the chart; the full list is one link away
PATIENT_HOME_HISTORY = 10  # her latest questionnaires on her own page
# The trajectory page's record forms (the therapy page's), in page order. Each is a <details>
# whose form is fetched when it is opened (record_form): rendering all four on every view cost
# more than the chart. Without JavaScript the <details> links to the same form on the therapy page.
RECORD_FORMS = {
    "course": gettext_lazy("Record the AI course"),
    "intervention": gettext_lazy("Record an intervention"),
    "regimen": gettext_lazy("Record a regimen change"),
    "event": gettext_lazy("Record a treatment event"),
}


# A search for a name or record number never enters a URL (where access logs, browser history
# and Referer headers would keep it): the form posts it, the text is kept in her session under
# an opaque id, and the list's URL carries that id with the other filters.
SEARCHES_SESSION_KEY = "patient_searches"
SEARCHES_KEPT = 20  # per session; older ids then show the unsearched list
SEARCH_MAX_CHARS = 100
LIST_FILTERS = ("clinic", "band", "strategy", "sort", "flags")


def _search_saved(request: HttpRequest) -> str:
    """The list's URL for a posted search form: its filters, and its text behind an id."""
    query = {name: request.POST[name] for name in LIST_FILTERS if request.POST.get(name)}
    text = request.POST.get("q", "").strip()[:SEARCH_MAX_CHARS]
    if text:
        saved = dict(request.session.get(SEARCHES_SESSION_KEY, {}))
        search_id = secrets.token_urlsafe(9)
        saved[search_id] = text
        request.session[SEARCHES_SESSION_KEY] = dict(list(saved.items())[-SEARCHES_KEPT:])
        query["search"] = search_id
    return f"{reverse('clinical:patients')}?{urlencode(query)}"


def _filters(request: HttpRequest) -> PatientListFilters:
    get = request.GET
    clinic = get.get("clinic", "")
    band = get.get("band", "")
    strategy = get.get("strategy", "")
    sort = get.get("sort", "")
    search = request.session.get(SEARCHES_SESSION_KEY, {}).get(get.get("search", ""), "")
    return PatientListFilters(
        search=search,
        clinic_id=id_param(clinic, name="clinic"),
        band=band if band in (*PainBand.values, BAND_HIGH_INTERFERENCE) else "",
        open_flags=get.get("flags") == "1",
        strategy=strategy if strategy in STRATEGIES else "",
        sort=sort if sort in SORTS else "name",
    )


@care_staff_required
def patients(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        return redirect(_search_saved(request))
    filters = _filters(request)
    page, rows = patient_list_page(
        user=request.user,
        filters=filters,
        page_number=request.GET.get("page"),
    )
    record_list_access(
        request.user, patient_ids=[row.patient_id for row in rows], what="list of patients"
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "rows": rows,
        "filters": filters,
        "clinics": list(clinics_of(request.user)),
        "bands": [*PainBand.choices, (BAND_HIGH_INTERFERENCE, gettext_lazy("High interference"))],
        "strategies": STRATEGIES,
        "sorts": list(SORTS),
        "query": query.urlencode(),
    }
    return render(request, "clinical/patients.html", context)


@care_staff_required
def patient(request: HttpRequest, pk: int) -> HttpResponse:
    """The trajectory page; its record forms post here and come back to the updated chart."""
    patient = get_patient_or_404(request.user, pk)
    bound: dict[str, forms.BaseForm] = {}
    if request.method == "POST":
        bound = therapy_post(request, patient)
        if not bound:
            return redirect("clinical:patient", pk=patient.pk)
    trajectory = patient_trajectory(patient)
    course_start = course_start_of(patient)
    # her PDC from the check-ins the chart has read, newest first
    adherence_pdc = pdc_from_check_ins(
        ((c.date, c.days_taken) for c in reversed(trajectory.check_ins)),
        today=local_date(timezone.now(), patient),
        course_start=course_start,
    )
    context = {
        "patient": patient,
        "trajectory": trajectory,
        "figure": trajectory_figure(trajectory),
        "support": decision_support(trajectory),
        "current_interventions": trajectory.current_interventions(timezone.localdate()),
        # the event that stopped her AI care, read only when the chart found one
        "care_stop": care_stop_of(patient.pk) if trajectory.off_ai else None,
        "sms_status": sms_status_of(patient),
        "adherence_pdc": adherence_pdc,
        "recent": list(reversed(trajectory.series[-RECENT_RESPONSES:])),
        # (name, title, the bound form with its errors or None: fetched when opened)
        "records": [
            (name, title, bound.get(name))
            for name, title in RECORD_FORMS.items()
            if name != "course" or course_start is None
        ],
    }
    return render(request, "clinical/patient.html", context, status=400 if bound else 200)


@care_staff_required
def record_form(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """One empty record form of the trajectory page (htmx fetches it when it is opened); it
    posts to the trajectory page, which records it and comes back to the updated chart."""
    patient = get_patient_or_404(request.user, pk)
    if name not in RECORD_FORMS:
        raise Http404
    context = {
        "name": name,
        "form": therapy_forms({})[name],
        "action": reverse("clinical:patient", args=[patient.pk]),
    }
    return render(request, "adherence/_record_form_body.html", context)


@care_staff_required
def enrol(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Enrol a patient in one of the staff member's clinics; her invitation goes out."""
    user = request.user
    form = EnrolmentForm(request.POST or None, clinics=clinics_of(user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            patient = patient_enrol(
                clinic=data["clinic"],
                ai_drug=data["ai_drug"],
                ai_start_date=data["ai_start_date"],
                enrolled_by=user,
                **{name: data[name] for name in PATIENT_FIELDS},
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                _("%(name)s is enrolled. Her invitation is on its way to %(email)s.")
                % {"name": patient.full_name, "email": patient.email},
            )
            return redirect("clinical:patient", pk=patient.pk)
    status = 400 if form.is_bound else 200
    return render(request, "clinical/enrol.html", {"form": form}, status=status)


@require_POST
@care_staff_required
def invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    """Send her invitation again (a new link; the old one still works until it expires)."""
    patient = get_patient_or_404(request.user, pk)
    if patient.user is None:
        messages.error(request, _("She has no login to invite."))
    else:
        try:
            invitation_send(user=patient.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The invitation was sent again."))
    return redirect("clinical:patient", pk=patient.pk)


@patient_required
def check_in(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Her adherence check-in: how she takes her AI, and why doses were missed.

    It lives here, beside her home, because it is due with her reassessment slots
    (``followup``), which a page in ``adherence`` cannot read."""
    patient = getattr(request.user, "patient", None)
    if patient is None:
        raise Http404
    drug = current_drug(patient)
    form = CheckInForm(
        request.POST or None,
        drug=drug,
        scale=scale_in_use(patient.clinic),
        language=get_language(),
    )
    if request.method == "POST" and form.is_valid():
        try:
            done, _created = check_in_submit(
                patient=patient,
                entered_by=request.user,
                **form.service_arguments(),
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Thank you. Your answers were sent to your care team."))
            if done.missed_reason == MissedReason.FORGOT:
                # Forgetting is helped by habits and a reminder: her tips and the offer.
                return redirect("adherence:dose_reminder")
            # any other lapse has advice to read before her page; otherwise her page, as ever
            if done.lapse:
                return redirect("clinical:check_in_done")
            return redirect("clinical:patient_home")
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "due_since": check_in_due_since(patient),
        "drug": Drug(drug).label.lower() if drug else "",
    }
    return render(request, "adherence/check_in.html", context, status=status)


@patient_required
def check_in_done(request: AuthenticatedHttpRequest) -> HttpResponse:
    """After her check-in: the advice for a lapse when her latest check-in showed one. The URL
    names no check-in, so there is no one else's to ask for."""
    patient = getattr(request.user, "patient", None)
    if patient is None:
        raise Http404
    check_in = AdherenceCheckIn.objects.filter(patient=patient).order_by("-submitted_at").first()
    if check_in is None:
        raise Http404
    language = translation.get_language() or "en"
    context = {
        "patient": patient,
        "advice": advice_for_check_in(lapse=check_in.lapse, language=language),
    }
    return render(request, "clinical/check_in_done.html", context)


@patient_required
def patient_home(request: HttpRequest) -> HttpResponse:
    """The patient's own page: her next questionnaire, her chart in plain words, her history.

    It lives here, in the highest app it reads, so that no lower app renders this one's parts.
    Her chart is inline SVG drawn here: her pages ship no charting library to her phone.
    """
    patient = getattr(request.user, "patient", None)
    context: dict[str, object] = {"patient": patient}
    if patient is not None:
        trajectory = patient_trajectory(patient, with_flags=False)
        context |= {
            "draft": draft_of(patient),
            "responses": list(responses_of(patient=patient)[:PATIENT_HOME_HISTORY]),
            "trajectory": trajectory,
            **_my_chart(trajectory, _last_months(trajectory.series), chart_id="my-trajectory"),
            "chart_months": HOME_CHART_MONTHS,
        }
    return render(request, "clinical/patient_home.html", context)


HOME_CHART_MONTHS = 12  # her home's chart: a readable year on a phone, however long her history


def _last_months(series: list[ResponsePoint]) -> list[ResponsePoint]:
    """Her answers of the :data:`HOME_CHART_MONTHS` months up to her latest one (oldest first)."""
    if not series:
        return []
    since = _months_before(series[-1].date, HOME_CHART_MONTHS)
    return [p for p in series if p.date >= since]


def _my_chart(
    trajectory: Trajectory, series: list[ResponsePoint], *, chart_id: str
) -> dict[str, object]:
    """Her chart of ``series``, its numbers and its sentences (nothing when ``series`` is empty)."""
    if not series:
        return {"chart": None, "chart_points": [], "words": []}
    baseline = baseline_of(trajectory)
    words = _trajectory_in_words(trajectory)
    latest = trajectory.latest
    if baseline is not None and latest is not None and latest.id != baseline.id:
        words.insert(0, change_in_words(float(latest.average), float(baseline.average)))
    return {
        "chart": my_chart_svg(series, baseline=baseline, chart_id=chart_id),
        "chart_points": series,
        "baseline": baseline,
        "words": words,
    }


SUMMARY_MONTHS = 3  # her printable summary: the last three months, for her next visit
SUMMARY_QUESTION_LINES = 6  # blank lines for the questions she brings


def _months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (the month's last day if it is shorter)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _summary(request: HttpRequest, patient: Patient) -> HttpResponse:
    """Her one-page summary of the last :data:`SUMMARY_MONTHS` months, to print for her visit."""
    today = timezone.localdate(timezone=zone_of(patient))
    since = _months_before(today, SUMMARY_MONTHS)
    trajectory = patient_trajectory(patient, with_flags=False)
    recent = [p for p in trajectory.series if since <= p.date <= today]
    check_ins = [c for c in trajectory.check_ins if since <= c.date <= today]
    context = {
        "patient": patient,
        "today": today,
        "since": since,
        "latest": trajectory.latest,
        "check_ins": check_ins,
        "days_taken": sum(c.days_taken for c in check_ins),
        "days_asked": 7 * len(check_ins),
        "interventions": [
            i for i in trajectory.interventions if i.start <= today and (i.end or today) >= since
        ],
        "question_lines": range(SUMMARY_QUESTION_LINES),
        **_my_chart(trajectory, recent, chart_id="summary-chart"),
    }
    return render(request, "clinical/summary.html", context)


@patient_required
def my_summary(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Her printable summary (her own only: the URL names no patient)."""
    patient = patient_of(request.user)
    if patient is None:
        raise Http404
    return _summary(request, patient)


@care_staff_required
def patient_summary(request: HttpRequest, pk: int) -> HttpResponse:
    """The same summary for her clinic's staff (a view recorded as any other of her record)."""
    return _summary(request, get_patient_or_404(request.user, pk))


def _trajectory_in_words(trajectory: Trajectory) -> list[str]:
    """Her latest scores beside the ones before, in sentences she reads under her chart."""
    latest, previous = trajectory.latest, trajectory.previous
    if latest is None or previous is None:
        return []
    words = [_change_in_words(latest.average, previous.average, what=_("Your average pain"))]
    if latest.interference is not None and previous.interference is not None:
        words.append(
            _change_in_words(
                latest.interference,
                previous.interference,
                what=_("How much pain got in the way of daily life"),
            )
        )
    return words


def _change_in_words(latest: float, previous: float, *, what: str) -> str:
    if latest < previous:
        return _("%(what)s went down from %(before)s to %(now)s since the time before.") % {
            "what": what,
            "before": f"{previous:g}",
            "now": f"{latest:g}",
        }
    if latest > previous:
        return _("%(what)s went up from %(before)s to %(now)s since the time before.") % {
            "what": what,
            "before": f"{previous:g}",
            "now": f"{latest:g}",
        }
    return _("%(what)s stayed at %(now)s.") % {"what": what, "now": f"{latest:g}"}
