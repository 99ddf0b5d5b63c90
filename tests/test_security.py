"""Authentication and session promises: passwords, lockout, second factor, sessions, headers."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from aimss_tracker.security import SESSION_LAST_SEEN, SESSION_STARTED
from tests.conftest import TEST_PASSWORD, World, client_for

ROOT = Path(__file__).resolve().parent.parent


def _login(client: Client, username: str, password: str = TEST_PASSWORD) -> object:
    return client.post(reverse("login"), {"username": username, "password": password})


# --- 5. passwords --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("password", False),  # common
        ("Abc12!x", False),  # 7 characters
        ("plain lowercase words only", True),  # no composition rules
        ("x" * 30 + "y" * 34, True),  # 64 characters allowed
        ("z" * 129, False),  # beyond the hashing bound
    ],
)
def test_password_rules_follow_asvs(password: str, ok: bool) -> None:
    if ok:
        validate_password(password)
    else:
        with pytest.raises(ValidationError):
            validate_password(password)


def test_passwords_are_hashed_with_argon2(world: World) -> None:
    assert world.nurse_a.password.startswith("argon2")


# --- 6. lockout ----------------------------------------------------------------------------


@pytest.mark.parametrize("login_url", ["login", "admin:login"])
def test_repeated_failures_lock_the_account_on_every_login_path(
    world: World, login_url: str
) -> None:
    client = Client()
    url = reverse(login_url)
    username = world.admin.username
    # given five failed attempts
    for _ in range(5):
        client.post(url, {"username": username, "password": "not-the-password"})
    # when the right password comes next
    response = client.post(url, {"username": username, "password": TEST_PASSWORD})
    # then the account is locked, the attempt is logged, and nobody is signed in
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.filter(username=username, failures_since_start__gte=5).exists()


# --- 7. second factor ----------------------------------------------------------------------


def _current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@override_settings(AIMSS_STAFF_MFA=True)
def test_staff_set_up_and_use_a_second_factor_before_any_health_data(world: World) -> None:
    client = Client()
    _login(client, world.nurse_a.username)
    # when she asks for patients with a password alone, she is sent to the second factor
    response = client.get(reverse("clinical:patients"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_verify"))
    # and, having no authenticator yet, to its set-up with a locally drawn QR code
    setup = client.get(reverse("mfa_verify"), follow=True)
    assert setup.redirect_chain[-1][0].startswith(reverse("mfa_setup"))
    assert "<svg" in setup.content.decode()
    assert world.patient_a.family_name not in setup.content.decode()
    # when she confirms it with a code from the app
    device = TOTPDevice.objects.get(user=world.nurse_a)
    confirmed = client.post(reverse("mfa_setup"), {"token": _current_code(device)})
    codes = re.findall(r"<code>(\w+)</code>", confirmed.content.decode())
    # then she gets one-use recovery codes and reaches the patients
    assert len(codes) == 10
    assert client.get(reverse("clinical:patients")).status_code == 200

    # given a new login on another device, a recovery code works once
    other = Client()
    _login(other, world.nurse_a.username)
    assert other.post(reverse("mfa_verify"), {"token": "000000"}).status_code == 200  # wrong
    assert other.get(reverse("clinical:patients")).status_code == 302
    # a wrong code throttles the devices (1 s, doubling): guessing is slowed down
    other.post(reverse("mfa_verify"), {"token": codes[0]})
    assert other.get(reverse("clinical:patients")).status_code == 302
    time.sleep(1.1)
    other.post(reverse("mfa_verify"), {"token": codes[0]})
    assert other.get(reverse("clinical:patients")).status_code == 200
    third = Client()
    _login(third, world.nurse_a.username)
    time.sleep(1.1)  # the throttle of the refused code above
    third.post(reverse("mfa_verify"), {"token": codes[0]})
    assert third.get(reverse("clinical:patients")).status_code == 302


@override_settings(AIMSS_STAFF_MFA=True)
def test_the_api_refuses_staff_without_a_second_factor(world: World) -> None:
    response = client_for(world.nurse_a).get(reverse("api:patient-list"))
    assert response.status_code == 403
    assert "second factor" in response.json()["detail"]


@override_settings(AIMSS_STAFF_MFA=True)
def test_patients_need_no_second_factor(world: World) -> None:
    response = client_for(world.patient_a.user).get(reverse("clinical:patient_home"))
    assert response.status_code == 200


# --- 8. sessions ---------------------------------------------------------------------------


def test_login_issues_a_new_session_key(world: World) -> None:
    client = Client()
    client.get(reverse("login"))
    client.session.save()
    before = client.session.session_key
    _login(client, world.nurse_a.username)
    assert client.session.session_key != before
    assert client.session.get("_auth_user_id") == str(world.nurse_a.pk)


def _age_session(client: Client, *, idle: int = 0, since_login: int = 0) -> None:
    session = client.session
    now = int(time.time())
    session[SESSION_LAST_SEEN] = now - idle
    session[SESSION_STARTED] = now - max(idle, since_login)
    session.save()


def test_staff_are_signed_out_after_15_idle_minutes(world: World) -> None:
    client = Client()
    _login(client, world.nurse_a.username)
    _age_session(client, idle=14 * 60)
    assert client.get(reverse("clinical:patients")).status_code == 200
    _age_session(client, idle=15 * 60 + 5)
    response = client.get(reverse("clinical:patients"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session


def test_patients_have_a_longer_idle_limit_and_everyone_an_absolute_one(world: World) -> None:
    client = Client()
    _login(client, world.patient_a.user.username)  # type: ignore[union-attr]
    _age_session(client, idle=20 * 60)
    assert client.get(reverse("clinical:patient_home")).status_code == 200
    _age_session(client, idle=60, since_login=13 * 3600)
    assert client.get(reverse("clinical:patient_home")).status_code == 302


def test_a_password_change_ends_the_other_sessions(world: World) -> None:
    # given the nurse signed in on two devices
    first, second = Client(), Client()
    _login(first, world.nurse_a.username)
    _login(second, world.nurse_a.username)
    # when she changes her password on the first
    response = first.post(
        reverse("password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "a new long passphrase",
            "new_password2": "a new long passphrase",
        },
    )
    assert response.status_code == 302
    # then the first stays signed in and the second is signed out
    assert first.get(reverse("clinical:patients")).status_code == 200
    assert second.get(reverse("clinical:patients")).status_code == 302


# --- 9. headers ----------------------------------------------------------------------------


def test_pages_carry_the_security_headers(world: World) -> None:
    response = client_for(world.nurse_a).get(reverse("clinical:patient", args=[world.patient_a.pk]))
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "unsafe" not in script_src
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "no-store" in response["Cache-Control"]


def test_templates_have_no_inline_script_or_style() -> None:
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert not re.search(r"\son[a-z]+\s*=", text), template
        assert " style=" not in text, template


def test_forms_and_session_api_writes_need_the_csrf_token(world: World) -> None:
    # given a signed-in patient whose browser does not send the CSRF token
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.patient_a.user)  # type: ignore[arg-type]
    # then a form post and a session-authenticated API write are both refused
    form = client.post(reverse("clinical:check_in"), {"days_taken_last_7": "7"})
    api = client.post(reverse("api:check-in-list"), {}, content_type="application/json")
    assert form.status_code == 403
    assert api.status_code == 403
    from adherence.models import AdherenceCheckIn

    assert not AdherenceCheckIn.objects.exists()
