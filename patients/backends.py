"""The authentication backend: Django's, loading a patient's record with her login."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from .models import User


class UserBackend(ModelBackend):
    """``ModelBackend`` whose per-request user lookup brings the patient record and its clinic.

    Nearly every request of a patient needs her record (her language, her reach): reading it
    in the same query as the user saves one query per request. Staff users have no patient
    row (a LEFT JOIN), which Django remembers, so ``patient_of`` asks nothing more either.
    """

    def get_user(self, user_id: Any) -> User | None:
        user = User.objects.select_related("patient__clinic").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
