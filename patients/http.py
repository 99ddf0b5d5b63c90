"""Typed requests of a signed-in user (the shape of healthchecks' ``hc/accounts/http.py``).

A view behind ``login_required`` or one of the role decorators of ``patients.access`` takes an
:class:`AuthenticatedHttpRequest`, whose ``user`` is a :class:`~patients.models.User`; an API
view behind an authentication class reads its user with :func:`user_of`.
"""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.request import Request

from .models import User


class AuthenticatedHttpRequest(HttpRequest):
    """A page request after the login check: ``user`` is a :class:`User`, never anonymous."""

    user: User


def user_of(request: Request) -> User:
    """The signed-in user of an API request its permission classes let through."""
    user = request.user
    if not isinstance(user, User):  # the permission classes refuse anonymous requests first
        raise TypeError("an API view that needs a user was reached without one")
    return user
