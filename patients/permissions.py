"""DRF permissions built on :mod:`patients.access`."""

from typing import Any

from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .access import is_care_staff_or_admin


class IsCareStaff(BasePermission):
    """Nurses, clinicians and administrators. Anyone else signed in gets 404, as on pages:
    a staff route does not exist for a patient or a researcher."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if not is_care_staff_or_admin(request.user):
            raise NotFound
        return True


class PatientOrCareStaff(BasePermission):
    """A patient (for her own records) or care staff; anyone else signed in gets 404."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        user: Any = request.user
        if not (user.is_patient_role or is_care_staff_or_admin(user)):
            raise NotFound
        return True


class IsStaff(BasePermission):
    """Any signed-in user who is not a patient (the API documentation and its schema)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        user: Any = request.user
        if user.is_patient_role:
            raise NotFound
        return True
