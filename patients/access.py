"""The one place that decides which patients a user may see.

Patients see only themselves; nurses and clinicians only patients of their clinics;
administrators everyone; researchers no identified patient at all (they read de-identified
cohort data through the analytics selectors). Everything outside a user's reach is a 404, on
pages and API alike, so that an id outside her reach cannot even be confirmed to exist.

Views use :func:`get_patient_or_404` / :func:`scope_to_user`; page views that are for staff or
for patients only use :func:`care_staff_required` / :func:`patient_required`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.db.models import Model, Prefetch, Q, QuerySet, prefetch_related_objects
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404

from .http import AuthenticatedHttpRequest
from .models import AccessRecord, Patient, Role, User

M = TypeVar("M", bound=Model)
ViewFunc = Callable[..., HttpResponse]

NO_ONE = Q(pk__in=[])


def patient_filter(user: Any, path: str = "") -> Q:
    """A filter selecting what ``user`` may see; ``path`` leads from the model to its Patient.

    ``path=""`` filters Patient itself; ``path="patient"`` filters a model with a ``patient``
    foreign key; ``path="response__patient"`` follows further.
    """
    prefix = f"{path}__" if path else ""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return NO_ONE
    if user.is_admin_role:
        return Q()
    if user.is_care_staff:
        # Her clinics' ids (read once per request) rather than a join through the clinic to
        # her memberships: PostgreSQL then counts and sorts a clinic's patients from the
        # clinic index alone, whatever the number of patients.
        return Q(**{f"{prefix}clinic_id__in": clinic_ids_of(user)})
    if user.is_patient_role:
        return Q(**{f"{prefix}user": user})
    return NO_ONE


def clinic_ids_of(user: Any) -> list[int] | None:
    """The clinics whose identified patients ``user`` may see: None for every clinic
    (administrators), an empty list for no one (patients see themselves only; researchers and
    staff with no clinic no identified data). A membership marked de-identified gives none:
    its clinic is seen only through disclosure-controlled analytics."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    if user.is_admin_role:
        return None
    if user.is_care_staff:
        return list(user.care_clinic_ids)
    return []


def patients_visible_to(user: Any) -> QuerySet[Patient]:
    return Patient.objects.filter(patient_filter(user))


def scope_to_user(queryset: QuerySet[M], user: Any, *, path: str = "patient") -> QuerySet[M]:
    """Restrict a queryset of patient-owned objects to those ``user`` may see."""
    return queryset.filter(patient_filter(user, path))


def record_access(user: Any, *, patient_id: int, obj: Model) -> None:
    """Write the access record of a staff member's view of a patient's data."""
    if getattr(user, "is_authenticated", False) and not user.is_patient_role:
        AccessRecord.objects.create(
            user=user, patient_id=patient_id, what=f"{obj._meta.label_lower} {obj.pk}"
        )


def record_list_access(user: Any, *, patient_ids: Iterable[int], what: str) -> None:
    """Write the access records of a list, filter or export a staff member was shown: one
    record per patient in it, in one INSERT. ``what`` names the list (never a filter's text)."""
    if getattr(user, "is_authenticated", False) and not user.is_patient_role:
        AccessRecord.objects.bulk_create(
            [
                AccessRecord(user=user, patient_id=patient_id, what=what[:120])
                for patient_id in sorted(set(patient_ids))
            ]
        )


def patient_id_of(obj: Model, path: str) -> int:
    """Follow ``path`` (e.g. ``"course__patient"``) from ``obj`` to its patient's id."""
    if not path:
        return int(obj.pk)
    *hops, last = path.split("__")
    for hop in hops:
        obj = getattr(obj, hop)
    return int(getattr(obj, f"{last}_id"))


def get_patient_or_404(user: Any, pk: Any) -> Patient:
    """The patient, if ``user`` may see her (a staff view is recorded); else 404."""
    patient = get_object_or_404(patients_visible_to(user).select_related("clinic"), pk=pk)
    record_access(user, patient_id=patient.pk, obj=patient)
    return patient


def get_owned_or_404(
    queryset: QuerySet[M], user: Any, *, path: str = "patient", **lookup: Any
) -> M:
    """Fetch one patient-owned object, or 404 if it does not exist or is outside her reach.

    A staff view is recorded against the object's patient."""
    obj = get_object_or_404(scope_to_user(queryset, user, path=path), **lookup)
    record_access(user, patient_id=patient_id_of(obj, path), obj=obj)
    return obj


def patient_of(user: Any) -> Patient | None:
    """The patient record (with its clinic) of a patient login, read once per request.

    Prefetched onto the user (Django's own cache of ``user.patient``), so later
    ``user.patient`` reads cost no query.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_patient_role:
        return None
    with_clinic = Prefetch("patient", queryset=Patient.objects.select_related("clinic"))
    prefetch_related_objects([user], with_clinic)
    patient: Patient | None = getattr(user, "patient", None)
    return patient


def is_care_staff_or_admin(user: User) -> bool:
    return user.is_active and (user.is_care_staff or user.is_admin_role)


def _role_required(test: Callable[[User], bool]) -> Callable[[ViewFunc], ViewFunc]:
    def decorator(view: ViewFunc) -> ViewFunc:
        @login_required
        @wraps(view)
        def wrapped(request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not test(request.user):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


care_staff_required = _role_required(is_care_staff_or_admin)
staff_required = _role_required(lambda user: user.is_active and not user.is_patient_role)
patient_required = _role_required(lambda user: user.is_patient_role)
admin_required = _role_required(lambda user: user.is_active and user.is_admin_role)


def can_run_analytics(user: User) -> bool:
    """Cohort analytics: researchers, clinicians and administrators."""
    return user.is_active and (user.is_admin_role or user.role in (Role.RESEARCHER, Role.CLINICIAN))


analytics_required = _role_required(can_run_analytics)
