"""The nurse flag queue and a flag beside the patient's quick view (htmx in place, plain
forms without it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from adherence.selectors import care_stop_of
from aimss_tracker.inputs import id_param
from aimss_tracker.security import LINK_SCOPE_SESSION_KEY, session_mark_login
from patients.access import (
    care_staff_required,
    clinic_ids_of,
    get_owned_or_404,
    record_list_access,
)
from patients.models import User
from patients.selectors import clinics_of

from . import services
from .models import CARE_ACTIONS, Flag, FlagKind, FlagStatus, Priority
from .schedules import LinkInvalid, link_check, link_open
from .selectors import (
    QUEUE_ROW_FIELDS,
    flag_counts,
    flag_queue,
    patient_quick_view,
    time_to_first_action,
)

# A nurse between calls works from the top of the queue: 25 rows are a screen or two.
FLAGS_PER_PAGE = 25


@dataclass(frozen=True)
class QueueRow:
    """What one queue row shows, worked out in Python: a row of Django template nodes with
    lookups, filters and a URL reversal cost the page more than the row's data."""

    pk: int
    priority: int
    url: str
    patient: str
    patient_meta: str
    kind: str
    triggers: str
    opened_iso: str
    opened_ago: str
    status: str
    can_claim: bool
    can_record: bool

    @property
    def high(self) -> bool:
        return self.priority == Priority.HIGH

    @classmethod
    def of(cls, flag: Flag, user: User) -> QueueRow:
        claimed_by = flag.claimed_by
        status = flag.status_label
        if claimed_by is not None:
            status += f" · {claimed_by.get_full_name() or claimed_by.username}"
        return cls(
            pk=flag.pk,
            priority=flag.priority,
            url=reverse("followup:flag", args=[flag.pk]),
            patient=flag.patient.listed_name,
            patient_meta=f"{flag.patient.record_number} · {flag.clinic.code.upper()}",
            kind=flag.kind_label,
            triggers=ngettext("%(counter)s trigger", "%(counter)s triggers", flag.trigger_count)
            % {"counter": flag.trigger_count}
            if flag.trigger_count > 1
            else "",
            opened_iso=timezone.localtime(flag.opened_at).isoformat(),
            opened_ago=timesince(flag.opened_at),
            status=status,
            can_claim=flag.status == FlagStatus.OPEN,
            can_record=flag.status == FlagStatus.CLAIMED and flag.claimed_by_id == user.pk,
        )


# Where a reminder link lands: the patient's questionnaire.
LINK_LANDING = "assessments:new"


@care_staff_required
def queue(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    kind = request.GET.get("kind", "")
    kind = kind if kind in FlagKind.values else ""
    clinic = request.GET.get("clinic", "")
    clinic_id = id_param(clinic, name="clinic")
    mine = request.GET.get("mine") == "1"
    flags = flag_queue(user=user, kind=kind, clinic_id=clinic_id, mine=mine).only(*QUEUE_ROW_FIELDS)
    counts = flag_counts(user=user, clinic_id=clinic_id)
    paginator = Paginator(flags, FLAGS_PER_PAGE)
    if not mine:  # the (cached) counts per kind already say how many there are: no COUNT
        paginator.count = counts[kind] if kind else sum(counts.values())
    page = paginator.get_page(request.GET.get("page"))
    record_list_access(user, patient_ids=[flag.patient_id for flag in page], what="flag queue")
    return render(
        request,
        "followup/queue.html",
        {
            "page": page,
            "rows": [QueueRow.of(flag, user) for flag in page],
            "counts": [(k, FlagKind(k).label, n) for k, n in counts.items()],
            "kinds": FlagKind.choices,
            "kind": kind,
            "clinics": clinics_of(user) if _in_several_clinics(user) else [],
            "clinic_id": clinic,
            "mine": mine,
            "response_times": time_to_first_action(user=user, clinic_id=clinic_id),
            "queue_url": reverse("followup:queue"),
        },
    )


def _in_several_clinics(user: User) -> bool:
    """Whether the queue offers a clinic filter (most nurses work in one clinic)."""
    clinic_ids = clinic_ids_of(user)
    return clinic_ids is None or len(clinic_ids) > 1


@care_staff_required
@require_http_methods(["GET", "POST"])
def flag_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the flag beside the patient's quick view. POST ``op``: claim, act, resolve, reopen."""
    user: User = request.user  # type: ignore[assignment]
    flags = Flag.objects.select_related("patient__clinic", "clinic", "claimed_by")
    flag = get_owned_or_404(flags, user, pk=pk)
    if request.method == "POST":
        op = request.POST.get("op", "")
        note = request.POST.get("note", "")
        try:
            if op == "claim":
                services.flag_claim(flag_id=flag.pk, user=user)
            elif op == "act":
                services.flag_record_action(
                    flag_id=flag.pk, user=user, action=request.POST.get("action", ""), note=note
                )
            elif op == "resolve":
                services.flag_resolve(flag_id=flag.pk, user=user, note=note)
            elif op == "reopen":
                services.flag_reopen(flag_id=flag.pk, user=user, note=note)
            else:
                messages.error(request, _("Unknown operation."))
        except services.FlagConflict as conflict:
            messages.warning(request, str(conflict))
        except ValidationError as invalid:
            messages.error(request, " ".join(invalid.messages))
        flag = flags.get(pk=flag.pk)
        if request.headers.get("HX-Request") == "true":
            return render(request, "followup/_flag_row.html", _row_context(flag, user, request))
        back = request.POST.get("back", "")
        return redirect(
            back if back == reverse("followup:queue") else reverse("followup:flag", args=[flag.pk])
        )
    return render(
        request,
        "followup/flag_detail.html",
        {
            **_row_context(flag, user, request),
            "triggers": flag.triggers.all(),
            "history": flag.actions.select_related("actor"),
            "other_flags": flag_queue(user=user, patient_id=flag.patient_id).exclude(pk=flag.pk),
            "quick": patient_quick_view(flag.patient),
            "care_stop": care_stop_of(flag.patient_id),
        },
    )


def _row_context(flag: Flag, user: User, request: HttpRequest) -> dict[str, Any]:
    return {
        "flag": flag,
        "row": QueueRow.of(flag, user),
        "queue_url": reverse("followup:queue"),
        "actions": [(a.value, a.label) for a in CARE_ACTIONS],
        "mine": flag.claimed_by_id == user.pk,
        "resolved": flag.status == FlagStatus.RESOLVED,
        "row_messages": list(messages.get_messages(request))
        if request.headers.get("HX-Request") == "true"
        else [],
    }


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
