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
        # As ModelBackend: ``get`` by primary key (``first()`` would sort by the default ordering).
        try:
            user = User._default_manager.select_related("patient__clinic").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
