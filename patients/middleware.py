"""A logged-in user's pages speak her language."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from .access import patient_of


class UserLanguageMiddleware:
    """Activate the user's preferred language (a patient's from her record).

    Runs after ``LocaleMiddleware`` and ``AuthenticationMiddleware``: anonymous visitors keep
    the browser's language, logged-in users get the one stored with them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            patient = patient_of(user)
            language = patient.preferred_language if patient else user.preferred_language
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
