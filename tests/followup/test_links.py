"""The reminder's link (docs/security.md #25): spent at its first opening, it opens a short session
for that one questionnaire and its thank-you page, nothing else; a later opening explains
itself; someone else signed in on the browser is asked about first; the token is never logged.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from pghistory.models import Context

from aimss_tracker.logs import RedactLinkTokens
from aimss_tracker.security import LINK_SCOPE_SESSION_KEY
from assessments.models import Response
from followup.models import QuestionnaireLink
from patients.models import Patient
from tests.assessments.test_pages import form_data
from tests.conftest import World, client_for, reminder_link
from tests.factories import ResponseFactory

ROOT = Path(settings.BASE_DIR)


def _link_for(patient: Patient) -> str:
    """Send her due reminder and return the link's path from the e-mail."""
    today = timezone.localdate()
    Patient.objects.filter(pk=patient.pk).update(
        aimss_diagnosis_date=today - dt.timedelta(days=1),
        quiet_hours_start=dt.time(0, 0),
        quiet_hours_end=dt.time(0, 0),
    )
    patient.refresh_from_db()
    return reminder_link(patient)


def _token_of(link: str) -> str:
    return link.removeprefix("/q/").rstrip("/")


# --- single use, and where the first opening lands ----------------------------------------


def test_the_first_opening_signs_her_in_for_the_questionnaire_at_an_address_without_the_token(
    world: World,
) -> None:
    link = _link_for(world.patient_a)
    client = Client()
    response = client.get(link)
    # then she is sent on to an address that holds no secret
    assert response.status_code == 302
    assert response["Location"] == reverse("assessments:new")
    assert _token_of(link) not in response["Location"]
    # nor does the browser send the link's address on as a Referer (its origin only)
    assert response["Referrer-Policy"] == "strict-origin"
    assert client.get(response["Location"]).status_code == 200
    # in a short session of her own, marked as the link's
    assert client.session["_auth_user_id"] == str(world.patient_a.user_id)
    assert LINK_SCOPE_SESSION_KEY in client.session
    assert client.session.get_expiry_age() <= settings.AIMSS_LINK_SESSION_SECONDS
    # and the link is spent already, before any answer
    assert QuestionnaireLink.objects.get().used_at is not None


@pytest.mark.parametrize("where", ["another browser", "the same browser"])
def test_a_second_opening_explains_itself_and_offers_the_login_page(
    world: World, where: str
) -> None:
    link = _link_for(world.patient_a)
    first = Client()
    first.get(link)
    # when the link is opened again (a forwarded e-mail, a copied address, the history)
    second = Client() if where == "another browser" else first
    response = second.get(link)
    # then it says what happened and offers the login page
    assert response.status_code == 410
    assert response["Referrer-Policy"] == "strict-origin"
    body = response.content.decode()
    assert "already opened" in body
    assert reverse("login") in body
    if where == "another browser":
        assert "_auth_user_id" not in second.session


def test_after_she_answers_the_link_says_her_answers_were_received(world: World) -> None:
    link = _link_for(world.patient_a)
    client = Client()
    client.get(link)
    submitted = client.post(reverse("assessments:new"), form_data())
    assert submitted.status_code == 302
    assert Response.objects.filter(patient=world.patient_a).count() == 1
    again = Client().get(link)
    assert again.status_code == 410
    assert "already used" in again.content.decode()


@pytest.mark.parametrize("days", [15, 30])
def test_an_expired_link_explains_itself(world: World, days: int) -> None:
    link = _link_for(world.patient_a)
    QuestionnaireLink.objects.update(expires_at=timezone.now() - dt.timedelta(days=days - 14))
    response = Client().get(link)
    assert response.status_code == 410
    assert "expired" in response.content.decode()


# --- what the link's session reaches ------------------------------------------------------


def test_the_session_answers_the_questionnaire_and_sees_only_its_thank_you_page(
    world: World,
) -> None:
    # given an earlier answer of hers
    earlier = ResponseFactory.create(patient=world.patient_a)
    link = _link_for(world.patient_a)
    client = Client()
    client.get(link)
    # when she answers through the link
    submitted = client.post(reverse("assessments:new"), form_data())
    assert submitted.status_code == 302
    thanks = client.get(submitted["Location"])
    # then she sees what she told us, without her history
    assert thanks.status_code == 200
    body = thanks.content.decode()
    assert "Thank you" in body
    assert "My history" not in body
    assert reverse("assessments:detail", args=[earlier.pk]) not in body
    # the questionnaire is done: opening it again shows the thank-you page
    assert client.get(reverse("assessments:new"))["Location"] == submitted["Location"]
    # and her earlier answer needs her password (the link's session ends there)
    past = client.get(reverse("assessments:detail", args=[earlier.pk]))
    assert past.status_code == 302
    assert past["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session


def test_saving_a_draft_keeps_her_on_the_questionnaire(world: World) -> None:
    client = Client()
    client.get(_link_for(world.patient_a))
    saved = client.post(reverse("assessments:new"), {**form_data(), "save_draft": "1"})
    assert saved["Location"] == reverse("assessments:new")
    assert client.get(saved["Location"]).status_code == 200


def _routes(
    resolver: URLResolver, namespace: str = "", params: frozenset[str] = frozenset()
) -> Iterator[tuple[str, frozenset[str]]]:
    for entry in resolver.url_patterns:
        own = frozenset(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _routes(entry, inner, params | own)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", params | own


def _url(name: str, params: frozenset[str]) -> str:
    """The route with made-up arguments (a number where a number fits, else a word)."""
    for value in (1, "x", "patients"):  # "patients": an admin app label
        try:
            return reverse(name, kwargs={p: value for p in params})
        except Exception:  # noqa: S112, BLE001 - try the next kind of value
            continue
    raise AssertionError(f"cannot build {name} with {sorted(params)}")


# Where the link's session may go; every other route of the site ends it.
# (her language can be changed from the questionnaire, as from every page)
REACHABLE = {
    "assessments:new",
    "followup:questionnaire_link",
    "logout",
    "login",
    "set_language",
    "language_change",
}


def test_every_other_route_of_the_site_ends_the_links_session(world: World) -> None:
    user = world.patient_a.user
    assert user is not None
    routes = sorted({(name, params) for name, params in _routes(get_resolver())})
    checked = []
    for name, params in routes:
        if name in REACHABLE:
            continue
        url = _url(name, params)
        # given a session opened by a reminder link
        client = client_for(user)
        session = client.session
        session[LINK_SCOPE_SESSION_KEY] = 1
        session.save()
        # when it asks for this route
        response = client.get(url)
        # then it is sent to the login page (the API: a 401), signed out
        if url.startswith("/api/"):
            assert response.status_code == 401, (name, url, response.status_code)
        else:
            assert response.status_code == 302, (name, url, response.status_code)
            assert response["Location"].startswith(reverse("login")), (name, url)
        assert "_auth_user_id" not in client.session, (name, url)
        checked.append(name)
    # the walk covered the site: the patient's home, staff pages, the API and the admin
    for expected in (
        "clinical:patient_home",
        "clinical:check_in",
        "api:patient-list",
        "admin:index",
    ):
        assert expected in checked


# --- someone else signed in ----------------------------------------------------------------


def test_with_someone_else_signed_in_the_link_asks_before_replacing_them(world: World) -> None:
    link = _link_for(world.patient_a)
    client = client_for(world.nurse_a)
    # when the link is opened in the nurse's browser
    asked = client.get(link)
    # then a page asks first; the nurse is still signed in and the link is not spent
    assert asked.status_code == 200
    body = asked.content.decode()
    assert "Someone else is signed in" in body
    assert asked["Referrer-Policy"] == "strict-origin"
    assert world.nurse_a.username in body
    assert world.patient_a.family_name not in body
    assert client.session["_auth_user_id"] == str(world.nurse_a.pk)
    assert QuestionnaireLink.objects.get().used_at is None
    assert client.get(reverse("clinical:patients")).status_code == 200
    # when she confirms, the nurse is signed out and the patient's questionnaire opens
    confirmed = client.post(link)
    assert confirmed["Location"] == reverse("assessments:new")
    assert client.session["_auth_user_id"] == str(world.patient_a.user_id)
    assert LINK_SCOPE_SESSION_KEY in client.session
    client.post(reverse("assessments:new"), form_data())
    assert Response.objects.filter(patient=world.patient_a).count() == 1


def test_a_link_never_answers_for_the_patient_signed_in(world: World) -> None:
    link = _link_for(world.patient_a)
    client = client_for(world.patient_b.user)
    assert client.get(link).status_code == 200  # asked first
    client.post(link)
    client.post(reverse("assessments:new"), form_data())
    assert Response.objects.filter(patient=world.patient_b).count() == 0
    assert Response.objects.filter(patient=world.patient_a).count() == 1


def test_her_own_full_session_stays_full(world: World) -> None:
    link = _link_for(world.patient_a)
    client = client_for(world.patient_a.user)
    assert client.get(link)["Location"] == reverse("assessments:new")
    assert LINK_SCOPE_SESSION_KEY not in client.session
    assert client.get(reverse("clinical:patient_home")).status_code == 200


# --- the token is never logged ---------------------------------------------------------------


def _console_handler() -> logging.Handler:
    [handler] = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactLinkTokens) for f in h.filters)
    ]
    return handler


def test_django_and_runserver_logs_never_hold_the_token(world: World) -> None:
    link = _link_for(world.patient_a)
    token = _token_of(link)
    handler = _console_handler()
    assert isinstance(handler, logging.StreamHandler)
    captured = io.StringIO()
    previous = handler.setStream(captured)
    try:
        client = Client()
        client.get(link)  # the exchange
        client.post(reverse("assessments:new"), form_data())
        Client().get(link)  # a 410, which django.request logs with the path
        # runserver's request line goes through the same handler
        logging.getLogger("django.server").info('"%s" %s %s', f"GET {link} HTTP/1.1", "302", "0")
    finally:
        handler.setStream(previous)
    logged = captured.getvalue()
    assert "Gone: /q/[token]/" in logged
    assert '"GET /q/[token]/ HTTP/1.1" 302' in logged
    assert token not in logged
    assert token.split(":")[0] not in logged
    # nor the audit trail's record of the request
    assert not Context.objects.filter(metadata__url__contains=token[:20]).exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.django_db(transaction=True)
def test_gunicorns_access_and_error_logs_never_hold_the_token(tmp_path: Path) -> None:
    # given gunicorn started as in production, from the repository's root (gunicorn.conf.py),
    # with its access log on in its default format
    port = _free_port()
    access_log = tmp_path / "access.log"
    db = connection.settings_dict
    env: dict[str, Any] = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DJANGO_DEBUG": "true",
    }
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "aimss_tracker.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", "1", "--access-logfile", str(access_log),
         "--preload", "--timeout", "120"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    token = "SecretLinkToken123:1vXyZ:abcdefSIGNATURE"
    try:
        status = 0
        deadline = time.monotonic() + 180  # a loaded machine takes a while to start it
        while time.monotonic() < deadline and server.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/q/{token}/", timeout=60)  # noqa: S310
            except urllib.error.HTTPError as answer:
                status = answer.code
                break
            except OSError:
                time.sleep(0.2)
        # when a link is opened (here a forged one: 410, which Django logs as well)
        assert status == 410
        time.sleep(0.5)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    logged = access_log.read_text()
    # then the access log has the request without the token, and so has Django's log
    assert "/q/[token]" in logged
    assert '" 410 ' in logged
    assert "Gone: /q/[token]/" in output
    assert "SecretLinkToken123" not in logged + output


@override_settings(AIMSS_STAFF_MFA=True)
def test_a_nurse_before_her_second_factor_is_asked_too(world: World) -> None:
    # given a nurse signed in with her password, her second factor not given yet
    link = _link_for(world.patient_a)
    client = client_for(world.nurse_a)
    # when the patient's link is opened there, the same question comes (no health data on it)
    asked = client.get(link)
    assert asked.status_code == 200
    assert "Someone else is signed in" in asked.content.decode()
    assert client.post(link)["Location"] == reverse("assessments:new")
