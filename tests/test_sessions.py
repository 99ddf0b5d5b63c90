"""Sessions and API tokens end when she says so: sign-out ends them everywhere, a new password
voids her tokens and her other sessions, the session key changes at the second factor, and a
wrong old password counts as a failed login (docs/security.md #26)."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import time

from axes.models import AccessAttempt
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from patients.mfa import second_factor_match, totp_device_confirm, totp_device_pending
from patients.models import RecoveryCode, RecoveryDevice, User
from tests.conftest import TEST_PASSWORD, World, client_for
from tests.test_security import _current_code

TOKEN_URL = reverse("api:auth-token")
NEW_PASSWORD = "a new long passphrase"  # noqa: S105


def _login(client: Client, username: str, password: str = TEST_PASSWORD) -> None:
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 302, "signed in"


def _token(username: str, password: str = TEST_PASSWORD) -> str:
    response = Client().post(
        TOKEN_URL, {"username": username, "password": password}, "application/json"
    )
    assert response.status_code == 201
    key: str = response.json()["token"]
    return key


def _api(key: str) -> int:
    return (
        Client(headers={"Authorization": f"Token {key}"})
        .get(reverse("api:patient-list"))
        .status_code
    )


def test_logout_ends_every_session_of_hers_and_voids_her_api_tokens(world: World) -> None:
    # given the nurse signed in on a laptop and a phone, with an API token, and a colleague
    laptop, phone, colleague = Client(), Client(), Client()
    _login(laptop, world.nurse_a.username)
    _login(phone, world.nurse_a.username)
    _login(colleague, world.clinician_a.username)
    key = _token(world.nurse_a.username)
    assert phone.get(reverse("clinical:patients")).status_code == 200
    assert _api(key) == 200
    # when she signs out on the laptop
    assert laptop.post(reverse("logout")).status_code == 302
    # then the phone is signed out as well, and her token no longer opens the API
    on_phone = phone.get(reverse("clinical:patients"))
    assert on_phone.status_code == 302
    assert on_phone["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in phone.session
    assert _api(key) == 401
    # while her colleague's session is untouched
    assert colleague.get(reverse("clinical:patients")).status_code == 200
    # and signing in again works, with a new token
    _login(phone, world.nurse_a.username)
    assert phone.get(reverse("clinical:patients")).status_code == 200
    assert _api(_token(world.nurse_a.username)) == 200


def test_a_password_change_voids_her_tokens_and_other_sessions_but_not_this_one(
    world: World,
) -> None:
    # given the nurse signed in on two devices and holding an API token
    here, elsewhere = Client(), Client()
    _login(here, world.nurse_a.username)
    _login(elsewhere, world.nurse_a.username)
    key = _token(world.nurse_a.username)
    # when she changes her password here
    response = here.post(
        reverse("password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    # then this session goes on, the other device is signed out, the token is refused
    assert here.get(reverse("clinical:patients")).status_code == 200
    assert elsewhere.get(reverse("clinical:patients")).status_code == 302
    assert _api(key) == 401
    assert _api(_token(world.nurse_a.username, NEW_PASSWORD)) == 200


def test_a_password_set_by_an_administrator_voids_her_tokens_too(world: World) -> None:
    key = _token(world.nurse_a.username)
    world.nurse_a.set_password(NEW_PASSWORD)
    world.nurse_a.save()
    assert _api(key) == 401


@override_settings(AIMSS_STAFF_MFA=True)
def test_the_session_key_changes_when_the_second_factor_is_passed(world: World) -> None:
    # given a nurse with an authenticator, signed in with her password only
    device = totp_device_pending(user=world.nurse_a)
    codes = totp_device_confirm(device=device, token=_current_code(device))
    assert codes is not None
    client = Client()
    _login(client, world.nurse_a.username)
    before = client.session.session_key
    # when she passes her second factor (a recovery code: the authenticator's current code
    # was just used, and a code works once)
    response = client.post(reverse("mfa_verify"), {"token": codes[0]})
    assert response.status_code == 302
    # then she has a new session key, and the old one is gone from the store
    after = client.session.session_key
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.get(reverse("clinical:patients")).status_code == 200
    # a copy of the old cookie opens nothing
    stolen = Client()
    stolen.cookies["sessionid"] = str(before)
    assert stolen.get(reverse("clinical:patients")).status_code == 302


def test_the_session_key_changes_when_an_authenticator_is_set_up(world: World) -> None:
    client = Client()
    _login(client, world.nurse_a.username)
    client.get(reverse("mfa_setup"))
    before = client.session.session_key
    device = TOTPDevice.objects.get(user=world.nurse_a)
    response = client.post(reverse("mfa_setup"), {"token": _current_code(device)})
    assert response.status_code == 200
    assert client.session.session_key != before


def _change(client: Client, old: str) -> object:
    return client.post(
        reverse("password_change"),
        {"old_password": old, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )


def test_wrong_old_passwords_count_as_failed_logins_and_lock_the_same_way(world: World) -> None:
    # given the nurse's session in someone else's hands
    client = Client()
    _login(client, world.nurse_a.username)
    # when four old passwords are wrong, each is refused on the form and counted
    for attempt in range(1, 5):
        response = client.post(
            reverse("password_change"),
            {"old_password": f"guess {attempt}", "new_password1": NEW_PASSWORD,
             "new_password2": NEW_PASSWORD},
        )  # fmt: skip
        assert response.status_code == 200
        assert "old password was entered incorrectly" in response.content.decode()
        attempt_row = AccessAttempt.objects.get(username=world.nurse_a.username)
        assert attempt_row.failures_since_start == attempt
    # the fifth locks the account as the login page does, and ends this session
    locked = client.post(
        reverse("password_change"),
        {"old_password": "guess 5", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # even the right old password then changes nothing, and the login page is locked too
    world.nurse_a.refresh_from_db()
    assert world.nurse_a.check_password(TEST_PASSWORD)
    again = Client()
    refused = again.post(
        reverse("login"), {"username": world.nurse_a.username, "password": TEST_PASSWORD}
    )
    assert refused.status_code == 429
    assert "_auth_user_id" not in again.session


def test_the_right_old_password_changes_it(world: World) -> None:
    client = Client()
    _login(client, world.nurse_a.username)
    assert _change(client, "a wrong one").status_code == 200  # type: ignore[attr-defined]
    response = _change(client, TEST_PASSWORD)
    assert response.status_code == 302  # type: ignore[attr-defined]
    world.nurse_a.refresh_from_db()
    assert world.nurse_a.check_password(NEW_PASSWORD)


# --- recovery codes ---------------------------------------------------------------------------


def test_recovery_codes_are_stored_hashed_and_shown_once(world: World) -> None:
    # given a nurse setting up her authenticator
    client = Client()
    _login(client, world.nurse_a.username)
    client.get(reverse("mfa_setup"))
    device = TOTPDevice.objects.get(user=world.nurse_a)
    shown = client.post(reverse("mfa_setup"), {"token": _current_code(device)})
    codes = re.findall(r"<code>(\w+)</code>", shown.content.decode())
    assert len(codes) == 10
    assert "no-store" in shown["Cache-Control"]
    # then the database holds Argon2 hashes of them, nothing readable
    stored = list(RecoveryCode.objects.filter(device__user=world.nurse_a))
    assert len(stored) == 10
    assert all(code.code_hash.startswith("argon2$") for code in stored)
    stored_text = " ".join(code.code_hash for code in stored)
    assert not any(code in stored_text for code in codes)
    assert not StaticToken.objects.exists()
    # and no page shows them again
    again = client.get(reverse("mfa_setup")).content.decode()
    assert not any(code in again for code in codes)
    # each works once
    device_codes = RecoveryDevice.objects.get(user=world.nurse_a)
    assert second_factor_match(user=world.nurse_a, token=codes[3]) == device_codes
    time.sleep(1.1)  # any earlier refusal's throttle
    assert second_factor_match(user=world.nurse_a, token=codes[3]) is None
    assert RecoveryCode.objects.filter(device=device_codes).count() == 9


def test_plain_recovery_codes_from_before_are_hashed_by_the_migration(world: World) -> None:
    # given codes stored in plain by django-otp's static device
    static = StaticDevice.objects.create(user=world.nurse_a, name="recovery codes")
    StaticToken.objects.create(device=static, token="plaincode1234567")  # noqa: S106
    # when the migration's step runs
    migration = importlib.import_module("patients.migrations.0007_p2_recovery_codes")
    migration.hash_plain_recovery_codes(django_apps, None)
    # then the plain copy is gone and the code still works, once
    assert not StaticToken.objects.exists()
    assert not StaticDevice.objects.filter(pk=static.pk).exists()
    assert second_factor_match(user=world.nurse_a, token="plaincode1234567") is not None


# --- the client's address: throttles and lockouts -----------------------------------------


def test_with_no_trusted_proxy_a_forged_forwarded_for_header_changes_nothing(
    world: World,
) -> None:
    # given the default (no trusted proxy), a client that claims a new address each time
    answers = [
        Client(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
        .post(TOKEN_URL, {}, "application/json")
        .status_code
        for n in range(11)
    ]
    # then it is still one client: the eleventh request in the minute is throttled
    assert answers[10] == 429
    # and the lockout counts its failures under its real address
    for n in range(5):
        Client(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").post(
            reverse("login"), {"username": world.nurse_a.username, "password": "wrong"}
        )
    [attempt] = AccessAttempt.objects.filter(username=world.nurse_a.username)
    assert attempt.ip_address == "10.0.0.5"
    assert attempt.failures_since_start == 5


def test_behind_a_trusted_proxy_each_client_is_counted_on_its_own(world: World) -> None:
    rest = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    with override_settings(AIMSS_NUM_PROXIES=1, REST_FRAMEWORK=rest):
        # given one proxy in front (every request comes from its address), two clients
        def from_client(address: str) -> Client:
            return Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"6.6.6.6, {address}")

        # when the first spends the token endpoint's limit and locks the nurse's account
        spent = [
            from_client("192.0.2.1").post(TOKEN_URL, {}, "application/json").status_code
            for _ in range(11)
        ]
        assert spent[10] == 429
        for _ in range(5):
            from_client("192.0.2.1").post(
                reverse("login"), {"username": world.nurse_a.username, "password": "wrong"}
            )
        # then the second, behind the same proxy, is neither throttled nor locked out
        other = from_client("192.0.2.2")
        assert other.post(TOKEN_URL, {}, "application/json").status_code == 400
        signed_in = other.post(
            reverse("login"), {"username": world.nurse_a.username, "password": TEST_PASSWORD}
        )
        assert signed_in.status_code == 302
        # while the first is locked (the address its proxy saw, not what it wrote before it)
        locked = from_client("192.0.2.1").post(
            reverse("login"), {"username": world.nurse_a.username, "password": TEST_PASSWORD}
        )
        assert locked.status_code == 429


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CACHE_"))}
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "p" * 60,
    "DJANGO_ALLOWED_HOSTS": "aimss.example.org",
}


def test_throttle_counters_live_in_redis_when_cache_url_names_it() -> None:
    code = "from django.core.cache import caches; print(type(caches['default']).__name__)"
    shared = _manage("shell", "-c", code, CACHE_URL="redis://127.0.0.1:6379/2")
    assert shared.stdout.strip().splitlines()[-1] == "RedisCache"
    assert _manage("shell", "-c", code).stdout.strip().splitlines()[-1] == "LocMemCache"
    # production without a shared cache fails the deployment check
    check = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert check.returncode != 0
    assert "aimss.W002" in check.stderr + check.stdout


# --- the API schema ---------------------------------------------------------------------------


def test_the_api_schema_is_for_signed_in_staff_only(world: World) -> None:
    url = reverse("api:schema")
    assert Client().get(url).status_code in {401, 403}
    assert client_for(world.patient_a.user).get(url).status_code == 404
    staff = client_for(world.nurse_a).get(url)
    assert staff.status_code == 200
    assert b"openapi" in staff.content


def test_a_password_hash_upgraded_at_login_keeps_her_signed_in(world: World) -> None:
    # given a password stored with an older hasher (PBKDF2), which Django re-hashes at login
    User.objects.filter(pk=world.nurse_a.pk).update(
        password=make_password(TEST_PASSWORD, hasher="pbkdf2_sha256")
    )
    key = _token(world.nurse_a.username)
    client = Client()
    _login(client, world.nurse_a.username)
    world.nurse_a.refresh_from_db()
    assert world.nurse_a.password.startswith("argon2")
    # then the upgrade was not a new password: she stays signed in, her token still works
    assert client.get(reverse("clinical:patients")).status_code == 200
    assert _api(key) == 200
