"""The nurse flag queue and a flag beside the patient's quick view (htmx in place, plain
forms without it)."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from adherence.selectors import care_stop_of
from aimss_tracker.inputs import id_param
from aimss_tracker.security import LINK_SCOPE_SESSION_KEY, session_mark_login
from patients.access import (
    care_staff_required,
    clinic_ids_of,
    get_owned_or_404,
    get_patient_or_404,
    record_list_access,
)
from patients.models import Clinic, Role, User
from patients.rules import rules_of
from patients.selectors import clinics_of

from . import services
from .burden import (
    BURDEN_WEEKS,
    CSV_COLUMNS,
    PRO_TECT_ALERT_PCT,
    alert_burden,
    burden_csv_rows,
    rules_beside_burden,
)
from .forms import FlagRulesForm
from .models import CARE_ACTIONS, Flag, FlagKind, FlagStatus
from .schedules import LinkInvalid, link_check, link_open
from .selectors import (
    QUEUE_SORTS,
    SORT_URGENCY,
    QueueFilters,
    colleagues_of,
    flag_queue,
    patient_queue,
    patient_quick_view,
    queue_rows,
    queue_summary,
    time_to_first_action,
)

# A nurse between calls works from the top of the queue: ten patients, with all their open flags,
# are a screen or two (about as many flags as the 25 rows of the one-row-per-flag queue held).
PATIENTS_PER_PAGE = 10
# The queue's own query parameters: an action's redirect keeps these, and only these.
QUEUE_PARAMS = ("kind", "clinic", "mine", "snoozed", "over", "sort", "page")

# Where a reminder link lands: the patient's questionnaire.
LINK_LANDING = "assessments:new"


def _queue_filters(get: QueryDict) -> QueueFilters:
    kind = get.get("kind", "")
    sort = get.get("sort", "")
    return QueueFilters(
        kind=kind if kind in FlagKind.values else "",
        clinic_id=id_param(get.get("clinic", ""), name="clinic"),
        mine=get.get("mine") == "1",
        snoozed=get.get("snoozed") == "1",
        over_target=get.get("over") == "1",
        sort=sort if sort in QUEUE_SORTS else SORT_URGENCY,
    )


def _queue_query(raw: str) -> QueryDict:
    """The queue's query string an action came from, kept to the queue's own parameters."""
    posted = QueryDict(raw)
    kept = QueryDict(mutable=True)
    for name in QUEUE_PARAMS:
        if posted.get(name):
            kept[name] = posted[name][:40]
    return kept


class WalkPaginator(Paginator):  # type: ignore[type-arg]
    """A page of the queue is read to its end whatever the count says: the count is kept in
    the cache for seconds (selectors.queue_summary), and a patient whose flag was raised since
    must not fall off the last page."""

    def page(self, number: Any) -> Page:  # type: ignore[type-arg]
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        return Page(self.object_list[bottom : bottom + self.per_page], number, self)


@care_staff_required
def queue(request: HttpRequest) -> HttpResponse:
    """One card per patient with her open flags, most urgent first (selectors.patient_queue).
    A card carries each flag's primary actions (claim, resolve) and her "resolve all overdue";
    a flag's other actions are fetched into it when opened (``flag_actions``), or, without
    JavaScript, are on the flag's own page."""
    user: User = request.user  # type: ignore[assignment]
    filters = _queue_filters(request.GET)
    # A PatientWalk pages by slices, which is all the Paginator asks (the stubs ask for more).
    walk: Any = patient_queue(user=user, filters=filters)
    paginator = WalkPaginator(walk, PATIENTS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    patient_ids = list(page)
    rows = queue_rows(user=user, patient_ids=patient_ids, filters=filters)
    record_list_access(user, patient_ids=patient_ids, what="flag queue")
    counts = queue_summary(user=user, filters=filters).counts
    qs = request.GET.urlencode()
    return render(
        request,
        "followup/queue.html",
        {
            "page": page,
            "rows": rows,
            "counts": [(k, FlagKind(k).label, n) for k, n in counts.items()],
            "flags_total": counts[filters.kind] if filters.kind else sum(counts.values()),
            "kinds": FlagKind.choices,
            "filters": filters,
            "kind": filters.kind,
            "clinics": clinics_of(user) if _in_several_clinics(user) else [],
            "clinic_id": str(filters.clinic_id or ""),
            "mine": filters.mine,
            "qs": qs,
            "actions_qs": _actions_qs(qs),
            "response_times": time_to_first_action(user=user, clinic_id=filters.clinic_id),
        },
    )


def _actions_qs(qs: str) -> str:
    """The query string of a flag's "more actions" link: the queue's own, for its forms."""
    return "?" + urlencode({"qs": qs}) if qs else ""


def _action_forms_context(flag: Flag, user: User) -> dict[str, Any]:
    """What a flag's forms need: may she act on it, the clinic's note templates and
    colleagues, the care actions and the snooze's date range."""
    today = timezone.localdate()
    mine = flag.claimed_by_id == user.pk
    return {
        "flag": flag,
        "can_act": flag.status == FlagStatus.OPEN or (flag.status == FlagStatus.CLAIMED and mine),
        "note_templates": list(rules_of(flag.clinic).note_templates or []),
        "colleagues": colleagues_of(flag.clinic_id) if flag.status != FlagStatus.RESOLVED else [],
        "actions": [(a.value, a.label) for a in CARE_ACTIONS],
        "snooze_min": (today + dt.timedelta(days=1)).isoformat(),
        "snooze_max": (today + dt.timedelta(days=services.SNOOZE_MAX_DAYS)).isoformat(),
    }


@care_staff_required
@require_GET
def flag_actions(request: HttpRequest, pk: int) -> HttpResponse:
    """A flag's secondary actions (record an action with a note, snooze with a reason,
    reassign, resolve with a note) as forms that htmx puts in her card when the nurse opens
    them. Only htmx asks for it: without JavaScript the card's link is the flag's own page,
    which has the same forms."""
    user: User = request.user  # type: ignore[assignment]
    flag = get_owned_or_404(Flag.objects.select_related("clinic"), user, pk=pk)
    return render(
        request,
        "followup/_flag_actions.html",
        {
            **_action_forms_context(flag, user),
            "do_url": reverse("followup:queue_flag", args=[flag.pk]),
            "qs": _queue_query(request.GET.get("qs", "")).urlencode(),
        },
    )


def _in_several_clinics(user: User) -> bool:
    """Whether the queue offers a clinic filter (most nurses work in one clinic)."""
    clinic_ids = clinic_ids_of(user)
    return clinic_ids is None or len(clinic_ids) > 1


class SnoozeForm(forms.Form):
    until = forms.DateField()
    reason = forms.CharField(max_length=services.SNOOZE_REASON_MAX_CHARS)


def _flag_operation(request: HttpRequest, flag: Flag, user: User) -> str:
    """Run the posted operation on the flag; returns its confirmation."""
    op = request.POST.get("op", "")
    note = request.POST.get("note", "")
    if op == "claim":
        services.flag_claim(flag_id=flag.pk, user=user)
        return _("You claimed the flag.")
    if op == "act":
        action = request.POST.get("action", "")
        services.flag_record_action(flag_id=flag.pk, user=user, action=action, note=note)
        return _("Action recorded.")
    if op == "resolve":
        services.flag_resolve(flag_id=flag.pk, user=user, note=note)
        return _("Flag resolved.")
    if op == "snooze":
        form = SnoozeForm(request.POST)
        if not form.is_valid():
            raise ValidationError([str(e) for errors in form.errors.values() for e in errors])
        until = form.cleaned_data["until"]
        services.flag_snooze(
            flag_id=flag.pk, user=user, until=until, reason=form.cleaned_data["reason"]
        )
        return _("Snoozed until %(date)s.") % {"date": until.isoformat()}
    if op == "reassign":
        to = id_param(request.POST.get("to", ""), name="to")
        if to is None:
            raise ValidationError(_("Choose a colleague."))
        reassigned = services.flag_reassign(flag_id=flag.pk, user=user, to=to)
        who = reassigned.claimed_by
        return _("Reassigned to %(who)s.") % {"who": who.get_full_name() or who.username}  # type: ignore[union-attr]
    raise ValidationError(_("Unknown operation."))


def _after_action(
    request: HttpRequest, user: User, patient_id: int, done: str, failed: str
) -> HttpResponse:
    """With htmx, the patient's card again with the confirmation in it; without, back to the
    queue as it was (its filters and page), the confirmation among the page's messages."""
    query = _queue_query(request.POST.get("qs", ""))
    if request.headers.get("HX-Request") == "true":
        filters = _queue_filters(query)
        rows = queue_rows(user=user, patient_ids=[patient_id], filters=filters)
        return render(
            request,
            "followup/_patient_card.html",
            {
                "row": rows[0] if rows else None,
                "patient_id": patient_id,
                "done": done,
                "failed": failed,
                "qs": query.urlencode(),
                "actions_qs": _actions_qs(query.urlencode()),
            },
        )
    if done:
        messages.success(request, done)
    if failed:
        messages.error(request, failed)
    url = reverse("followup:queue")
    return redirect(f"{url}?{query.urlencode()}" if query else url)


@care_staff_required
@require_POST
def queue_flag(request: HttpRequest, pk: int) -> HttpResponse:
    """An action on one flag from the queue (claim, act, resolve, snooze, reassign)."""
    user: User = request.user  # type: ignore[assignment]
    flag = get_owned_or_404(Flag.objects.all(), user, pk=pk)
    done = failed = ""
    try:
        done = _flag_operation(request, flag, user)
    except services.FlagConflict as conflict:
        failed = str(conflict)
    except ValidationError as invalid:
        failed = " ".join(invalid.messages)
    return _after_action(request, user, flag.patient_id, done, failed)


@care_staff_required
@require_POST
def queue_patient(request: HttpRequest, pk: int) -> HttpResponse:
    """Resolve all of the patient's overdue flags at once (those open or claimed by her)."""
    user: User = request.user  # type: ignore[assignment]
    patient = get_patient_or_404(user, pk)
    n = services.flags_resolve_overdue(
        patient_id=patient.pk, user=user, note=request.POST.get("note", "")
    )
    done = ngettext(
        "%(counter)s overdue flag resolved.", "%(counter)s overdue flags resolved.", n
    ) % {"counter": n}
    return _after_action(request, user, patient.pk, done, "")


@care_staff_required
@require_http_methods(["GET", "POST"])
def flag_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the flag beside the patient's quick view, with every action as a plain form.
    POST ``op``: claim, act, resolve, snooze, reassign (``_flag_operation``) or reopen; the
    page comes back with the confirmation, or what was wrong, among its messages."""
    user: User = request.user  # type: ignore[assignment]
    flags = Flag.objects.select_related("patient__clinic", "clinic", "claimed_by")
    flag = get_owned_or_404(flags, user, pk=pk)
    if request.method == "POST":
        try:
            if request.POST.get("op") == "reopen":
                services.flag_reopen(flag_id=flag.pk, user=user, note=request.POST.get("note", ""))
                messages.success(request, _("Flag reopened."))
            else:
                messages.success(request, _flag_operation(request, flag, user))
        except services.FlagConflict as conflict:
            messages.warning(request, str(conflict))
        except ValidationError as invalid:
            messages.error(request, " ".join(invalid.messages))
        return redirect(reverse("followup:flag", args=[flag.pk]))
    return render(
        request,
        "followup/flag_detail.html",
        {
            **_action_forms_context(flag, user),
            "mine": flag.claimed_by_id == user.pk,
            "resolved": flag.status == FlagStatus.RESOLVED,
            "triggers": flag.triggers.all(),
            "history": flag.actions.select_related("actor"),
            "other_flags": flag_queue(user=user, patient_id=flag.patient_id).exclude(pk=flag.pk),
            "quick": patient_quick_view(flag.patient),
            "care_stop": care_stop_of(flag.patient_id),
        },
    )


def _origin_only_referrer(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Every answer at the link's address says ``Referrer-Policy: strict-origin``: the page's
    own files, the confirming form and the redirect after it would otherwise carry the address,
    token and all, in their Referer header (Chromium does, for the redirect after a POST). The
    origin alone is still sent, which the confirming form's CSRF check needs (``no-referrer``
    makes Chromium send ``Origin: null``, which Django refuses)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "strict-origin"
        return response

    return wrapped


@_origin_only_referrer
@require_http_methods(["GET", "POST"])
def questionnaire_link(request: HttpRequest, token: str) -> HttpResponse:
    """The reminder's link, spent at its first opening: it opens a short session for that
    patient's questionnaire only, then sends her to an address without the token (so the
    address bar, the history and the logs of every later request hold no secret). An expired,
    opened or forged link explains itself and offers the login page. If someone else is signed
    in on this browser, a page asks before signing them out (nothing is spent until then)."""
    try:
        link = link_check(token)
    except LinkInvalid as invalid:
        return render(request, "followup/link_invalid.html", {"reason": invalid.reason}, status=410)
    patient_user = link.slot.patient.user
    if patient_user is None or not patient_user.is_active:
        return render(request, "followup/link_invalid.html", {"reason": "invalid"}, status=410)
    someone_else = request.user.is_authenticated and request.user.pk != patient_user.pk
    if someone_else and request.method != "POST":
        return render(request, "followup/link_confirm.html", {"signed_in": request.user})
    if not link_open(link=link):
        return render(request, "followup/link_invalid.html", {"reason": "opened"}, status=410)
    if someone_else:
        logout(request)
    if not request.user.is_authenticated:
        login(request, patient_user, backend="patients.backends.UserBackend")
        session_mark_login(request)
        request.session[LINK_SCOPE_SESSION_KEY] = link.pk
        request.session.set_expiry(settings.AIMSS_LINK_SESSION_SECONDS)
    return redirect(LINK_LANDING)


def _may_see_burden(user: User) -> bool:
    """Nurses' leads and administrators: there is no lead role, so administrators and
    clinicians, who decide the clinic's rules with the nurses."""
    return user.is_admin_role or user.role == Role.CLINICIAN


def _rules_form(clinic: Clinic, data: QueryDict | None = None) -> FlagRulesForm:
    rules = rules_of(clinic)
    initial = {
        "high_interference_from": rules.high_interference_from,
        "adherence_min_days": rules.adherence_min_days,
        "worsening_points": rules.worsening_points,
        "overdue_days": rules.overdue_days,
        "target_hours": rules.target_hours,
        "note_templates": "\n".join(rules.note_templates),
    }
    return FlagRulesForm(data, initial=initial, prefix=f"clinic-{clinic.pk}")


@care_staff_required
@require_http_methods(["GET", "POST"])
def burden(request: HttpRequest) -> HttpResponse:
    """Alert burden per clinic and ISO week beside PRO-TECT's 34 %, each rule's threshold
    beside its burden; an administrator changes the thresholds here (POST ``clinic``)."""
    user: User = request.user  # type: ignore[assignment]
    if not _may_see_burden(user):
        raise Http404
    posted_clinic = None
    bound = None
    if request.method == "POST":
        if not user.is_admin_role:
            raise Http404
        posted_clinic = id_param(request.POST.get("clinic", ""), name="clinic")
        clinic = get_object_or_404(Clinic, pk=posted_clinic)
        bound = _rules_form(clinic, request.POST)
        if bound.is_valid():
            try:
                services.flag_rules_update(clinic_id=clinic.pk, user=user, **bound.cleaned_data)
            except ValidationError as invalid:
                bound.add_error(None, invalid)
            else:
                messages.success(
                    request, _("Flag rules of %(clinic)s saved.") % {"clinic": clinic.name}
                )
                return redirect(reverse("followup:burden"))
    clinics = alert_burden(user=user)
    sections = [
        (
            b,
            (bound if b.clinic.pk == posted_clinic else _rules_form(b.clinic))
            if user.is_admin_role
            else None,
            rules_beside_burden(b),
        )
        for b in clinics
    ]
    return render(
        request,
        "followup/burden.html",
        {
            "sections": sections,
            "kinds": FlagKind.choices,
            "pro_tect": PRO_TECT_ALERT_PCT,
            "weeks": BURDEN_WEEKS,
        },
        status=400 if bound is not None and bound.errors else 200,
    )


@care_staff_required
def burden_csv(request: HttpRequest) -> HttpResponse:
    """The burden table as CSV, one row per clinic and ISO week (columns: docs/api.md)."""
    user: User = request.user  # type: ignore[assignment]
    if not _may_see_burden(user):
        raise Http404
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="alert-burden.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(burden_csv_rows(alert_burden(user=user)))
    return response
