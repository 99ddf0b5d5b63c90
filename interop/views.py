"""The API documentation pages (Swagger UI and ReDoc from local files), for staff only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from csp.decorators import csp_update

from patients.access import staff_required


def docs_page(view: Callable[..., Any], *, redoc: bool = False) -> Callable[..., Any]:
    """Signed-in staff only (anonymous: the login page; patients: 404), after their second
    factor (the middleware). ReDoc styles itself with ``<style>`` elements and runs a worker
    from a ``blob:``; its page alone allows those (no inline script anywhere)."""
    if redoc:
        view = csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]})(view)
    return staff_required(view)
