"""API tokens: password (and staff second factor) for a token, lockout, revocation."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from interop.models import ApiToken
from interop.tokens import api_token_issue
from patients.models import User
from tests.conftest import TEST_PASSWORD, World, client_for

TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


def _patient_user(world: World) -> User:
    user = world.patient_a.user
    assert user is not None
    return user


def _ask_token(username: str, password: str = TEST_PASSWORD, **extra: str) -> Any:
    return Client().post(
        TOKEN_URL, {"username": username, "password": password, **extra}, "application/json"
    )


def _authenticator(user: object) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_a_patient_trades_her_password_for_a_token_that_reaches_her_records(world: World) -> None:
    # when she asks for a token
    answer = _ask_token(_patient_user(world).username)
    # then the key works as Authorization: Token, and only its hash is stored
    assert answer.status_code == 201
    key = answer.json()["token"]
    assert not ApiToken.objects.filter(key_hash=key).exists()
    me = Client(headers={"Authorization": f"Token {key}"}).get(reverse("api:patient-list"))
    assert me.status_code == 200
    assert [row["id"] for row in me.json()["results"]] == [world.patient_a.pk]


def test_a_wrong_password_gets_no_token(world: World) -> None:
    assert _ask_token(world.nurse_a.username, "not-the-password").status_code == 400
    assert not ApiToken.objects.exists()


def test_repeated_failures_lock_the_token_endpoint_too(world: World) -> None:
    # given five failures (django-axes counts them on this path as on the login page)
    for _ in range(5):
        _ask_token(world.admin.username, "not-the-password")
    cache.clear()  # the endpoint's own throttle is not what is tested here
    # when the right password comes next, then the account is locked
    assert _ask_token(world.admin.username).status_code == 429
    assert not ApiToken.objects.exists()


@override_settings(AIMSS_STAFF_MFA=True)
def test_staff_need_a_second_factor_in_the_same_request(world: World) -> None:
    # given a nurse with an authenticator
    device = _authenticator(world.nurse_a)
    # when she sends only her password, or a wrong code, then she is refused with a reason
    refused = _ask_token(world.nurse_a.username)
    assert refused.status_code == 403
    assert "second factor" in refused.json()["detail"]
    # when she sends the current code, then her token reaches her clinic's patients
    answer = _ask_token(world.nurse_a.username, otp=_code(device))
    assert answer.status_code == 201
    client = Client(headers={"Authorization": f"Token {answer.json()['token']}"})
    patients = client.get(reverse("api:patient-list")).json()["results"]
    assert [row["id"] for row in patients] == [world.patient_a.pk]
    # and a wrong code gets nothing
    assert _ask_token(world.nurse_a.username, otp="000000").status_code == 403


@override_settings(AIMSS_STAFF_MFA=True)
def test_staff_without_an_authenticator_are_told_to_set_one_up(world: World) -> None:
    answer = _ask_token(world.nurse_a.username, otp="123456")
    assert answer.status_code == 403
    assert "/accounts/mfa/setup/" in answer.json()["detail"]


@override_settings(AIMSS_STAFF_MFA=True)
def test_a_staff_token_issued_without_a_second_factor_is_refused(world: World) -> None:
    # given a token issued while the second factor was off
    _token, key = api_token_issue(user=world.nurse_a, second_factor=False)
    # when it is used now that it is on (the middleware leaves token requests to DRF)
    answer = Client(headers={"Authorization": f"Token {key}"}).get(reverse("api:patient-list"))
    # then it is refused, with no fallback to anything else
    assert answer.status_code == 401
    assert world.patient_a.family_name not in answer.content.decode()


@override_settings(AIMSS_STAFF_MFA=True)
def test_a_bad_token_does_not_fall_back_to_an_unverified_session(world: World) -> None:
    # given a nurse signed in by password only (no second factor) who sends a made-up token
    client = client_for(world.nurse_a)
    answer = client.get(reverse("api:patient-list"), headers={"Authorization": "Token made-up"})
    # then she gets nothing
    assert answer.status_code == 401


def test_delete_revokes_the_token_in_use(world: World) -> None:
    _token, key = api_token_issue(user=_patient_user(world), second_factor=False)
    _other, other_key = api_token_issue(user=_patient_user(world), second_factor=False)
    client = Client(headers={"Authorization": f"Token {key}"})
    assert client.delete(TOKEN_URL).status_code == 204
    assert client.get(reverse("api:patient-list")).status_code == 401
    other = Client(headers={"Authorization": f"Token {other_key}"})
    assert other.get(reverse("api:patient-list")).status_code == 200


def test_the_token_endpoint_is_throttled(world: World) -> None:
    # given ten requests in a minute (empty ones: django-axes is not what is tested here)
    answers = [Client().post(TOKEN_URL, {}, "application/json").status_code for _ in range(11)]
    # then the eleventh is throttled
    assert answers[:10] == [400] * 10
    assert answers[10] == 429


@pytest.mark.parametrize("page", ["api:docs", "api:redoc"])
def test_api_docs_are_for_signed_in_staff_from_local_files(world: World, page: str) -> None:
    url = reverse(page)
    # staff see the page, its assets served locally
    body = client_for(world.nurse_a).get(url)
    assert body.status_code == 200
    assert "/static/drf_spectacular_sidecar/" in body.content.decode()
    assert "https://" not in body.content.decode()
    assert "<style" not in body.content.decode()
    # patients get 404, anonymous users the login page
    assert client_for(world.patient_a.user).get(url).status_code == 404
    anonymous = client_for(None).get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))


def test_swagger_ui_runs_without_inline_script(world: World) -> None:
    client = client_for(world.nurse_a)
    page = client.get(reverse("api:docs")).content.decode()
    assert "<script>" not in page
    script = client.get(reverse("api:docs") + "?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()
    csp = client.get(reverse("api:docs"))["Content-Security-Policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "unsafe" not in script_src
