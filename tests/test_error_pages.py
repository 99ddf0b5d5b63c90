"""Friendly, translated 403, 404 and 500 pages with a way home; never Django's debug page."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import translation
from django.views import defaults

from tests.conftest import World, client_for

ROOT = Path(__file__).resolve().parent.parent


@override_settings(DEBUG=False)
@pytest.mark.parametrize("who", ["patient", "nurse_a", "researcher", "admin"])
def test_a_missing_page_is_friendly_for_every_role(world: World, who: str) -> None:
    user = world.patient_a.user if who == "patient" else getattr(world, who)
    response = client_for(user).get("/no-such-page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in body
    assert f'href="{reverse("home")}"' in body
    assert "Traceback" not in body
    assert "URLconf" not in body


@override_settings(DEBUG=False)
def test_the_404_page_speaks_her_language(world: World) -> None:
    world.patient_a.preferred_language = "zh-hans"  # a patient's language is on her record
    world.patient_a.save()
    body = client_for(world.patient_a.user).get("/no-such-page/").content.decode()
    assert "页面不存在" in body


def test_the_403_and_500_pages_offer_a_way_home(db: None) -> None:
    request = RequestFactory().get("/")
    with translation.override("en"):
        forbidden = defaults.permission_denied(request, PermissionDenied()).content.decode()
    assert "Not allowed" in forbidden
    assert reverse("home") in forbidden
    with translation.override("zh-hans"):
        broken = defaults.server_error(request).content.decode()
    assert "出了点问题" in broken
    assert reverse("home") in broken


def test_make_run_sets_the_base_url_and_turns_debug_off() -> None:
    script = (ROOT / "scripts" / "run.sh").read_text()
    assert "AIMSS_BASE_URL=${AIMSS_BASE_URL:-http://$HOST:$PORT}" in script
    assert "DJANGO_DEBUG=${DJANGO_DEBUG:-false}" in script
