"""Sessions and API tokens end when she says so: sign-out ends them everywhere, a new password
voids her tokens and her other sessions, the session key changes at the second factor, and a
wrong old password counts as a failed login (RELIABILITY 26)."""

from __future__ import annotations

from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from patients.mfa import totp_device_confirm, totp_device_pending
from tests.conftest import TEST_PASSWORD, World
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
    assert totp_device_confirm(device=device, token=_current_code(device)) is not None
    client = Client()
    _login(client, world.nurse_a.username)
    before = client.session.session_key
    # when she gives her code
    device = TOTPDevice.objects.get(user=world.nurse_a, confirmed=True)
    response = client.post(reverse("mfa_verify"), {"token": _current_code(device)})
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
