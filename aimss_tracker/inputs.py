"""Hostile input gets a clear 4xx, never a 500 (docs/security.md #28).

- Ids in query strings are ASCII digits only: Python's ``int()`` and ``str.isdigit()`` take
  any Unicode digit ("²" crashes ``int``; "٣" is read as 3), and ids beyond a bigint crash the
  database.
- JSON bodies nested deeper than ``JSON_MAX_DEPTH`` are refused (Python's parser would raise
  RecursionError, a 500, at about a thousand levels).
- Every error under ``/api/`` is JSON in DRF's shape, ``{"detail": ...}``: the resolver's 404,
  405, an oversized body (413) and Django's own 400s included.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

ASCII_ID = re.compile(r"[0-9]{1,18}")  # a bigint has 19 digits; 18 always fit
ID_PATH = "[0-9]{1,18}"  # the same, for URL patterns (DRF routers' lookup_value_regex)
JSON_MAX_DEPTH = 32  # no payload of the API nests deeper than 4
TOO_DEEP = gettext_lazy("JSON parse error - nested deeper than %(levels)s levels.")
BAD_TEXT = gettext_lazy("JSON parse error - text holds a NUL character or an unpaired surrogate.")


def id_param(value: str | None, *, name: str) -> int | None:
    """An optional id from a query string: None when absent, else ASCII digits or a 400."""
    if not value:
        return None
    if ASCII_ID.fullmatch(value):
        return int(value)
    raise BadRequest(
        _("%(name)s must be a whole number written with the digits 0-9.") % {"name": name}
    )


def _bad_text(value: Any) -> bool:
    """Whether any string in ``value`` (keys too) holds a NUL or a lone surrogate: neither can
    be stored in PostgreSQL text, and neither means anything in an answer."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and (
            "\x00" in item or any("\ud800" <= char <= "\udfff" for char in item)
        ):
            return True
    return False


def _depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (iteratively: no recursion to exhaust)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing documents nested deeper than ``JSON_MAX_DEPTH``."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as too_deep:
            raise exceptions.ParseError(TOO_DEEP % {"levels": JSON_MAX_DEPTH}) from too_deep
        if _depth(data) > JSON_MAX_DEPTH:
            raise exceptions.ParseError(TOO_DEEP % {"levels": JSON_MAX_DEPTH})
        if _bad_text(data):
            raise exceptions.ParseError(BAD_TEXT)
        return data


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus Django's request errors as JSON: an oversized body is a 413, a bad
    request (a bad id in a query string, a suspicious header) a 400."""
    from rest_framework.views import exception_handler  # DRF's views read the parser setting

    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": _("The request body is too large.")},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, BadRequest | SuspiciousOperation):
        exc = exceptions.ParseError(str(exc) or "Bad request.")
    return exception_handler(exc, context)


API_PREFIX = "/api/"


class ApiErrorsAsJsonMiddleware:
    """Errors answered under ``/api/`` outside DRF's views (no such route, a method the route
    lacks, Django's own 400/403/413 pages) become ``{"detail": ...}`` with the same status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith(API_PREFIX)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
            and not getattr(response, "streaming", False)
        ):
            as_json = JsonResponse(
                {"detail": response.reason_phrase or "Error."}, status=response.status_code
            )
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    as_json[header] = response[header]
            return as_json
        return response
