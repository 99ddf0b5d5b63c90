"""Accounts: invitations on Django's password-reset machinery, "Forgot your password?" for
every role, and the admin that asks for the role first."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation

from patients.invitations import invitation_send, invitation_tokens
from patients.models import Role, StaffMembership, User
from tests.conftest import TEST_PASSWORD, World, client_for
from tests.factories import UserFactory

NEW_PASSWORD = "another-long-phrase-42"  # noqa: S105


@pytest.fixture(autouse=True)
def _english_afterwards() -> Any:
    """Pages rendered for a Chinese-speaking user leave her language active in this thread."""
    yield
    translation.activate("en")


def _link(message: Any, prefix: str) -> str:
    found = re.search(rf"(https?://[^/\s]+)({prefix}\S+/)", str(message.body))
    assert found is not None, message.body
    return found.group(2)


def _set_password(client: Client, path: str) -> Any:
    form = client.get(path, follow=True)
    return client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else path,
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )


def _invited(**fields: Any) -> User:
    user = UserFactory.create(**fields)
    user.set_unusable_password()
    user.save()
    return user


@override_settings(AIMSS_BASE_URL="https://aimss.example.org")
def test_an_invitation_link_uses_the_base_url_and_works_once(db: None) -> None:
    user = _invited(username="nurse_new", role=Role.NURSE)
    invitation_send(user=user)
    [message] = mail.outbox
    assert "https://aimss.example.org/accounts/invitation/" in str(message.body)
    assert message.from_email == "AIMSS Tracker <noreply@localhost>"
    path = _link(message, "/accounts/invitation/")
    client = Client()
    assert _set_password(client, path).status_code == 302
    assert client.post(reverse("login"), {"username": "nurse_new", "password": NEW_PASSWORD})
    # the same link again: expired or used, and says what to do
    again = Client().get(path, follow=True).content.decode()
    assert "expired or was already used" in again


def test_an_invitation_expires(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    user = _invited(username="late")
    token = invitation_tokens.make_token(user)
    assert invitation_tokens.check_token(user, token)
    later = dt.datetime.now() + dt.timedelta(days=8)  # noqa: DTZ005 (Django's token clock is naive)
    monkeypatch.setattr(invitation_tokens, "_now", lambda: later)
    assert not invitation_tokens.check_token(user, token)


def test_an_invitation_is_not_a_password_reset_token(db: None) -> None:
    from django.contrib.auth.tokens import default_token_generator

    user = _invited(username="mixed")
    assert not default_token_generator.check_token(user, invitation_tokens.make_token(user))


def test_forgot_password_gives_the_same_answer_for_any_address(world: World) -> None:
    client = Client()
    known = client.post(reverse("password_reset"), {"email": world.nurse_a.email})
    unknown = client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("password_reset_done")
    assert [m.to for m in mail.outbox] == [[world.nurse_a.email]]


@pytest.mark.parametrize("who", ["patient", "nurse_a", "clinician_a", "researcher", "admin"])
def test_every_role_can_reset_a_forgotten_password(world: World, who: str) -> None:
    user = world.patient_a.user if who == "patient" else getattr(world, who)
    assert user is not None
    Client().post(reverse("password_reset"), {"email": user.email})
    [message] = mail.outbox
    assert "Set a new password" in message.subject or message.subject
    client = Client()
    assert _set_password(client, _link(message, "/accounts/password/reset/")).status_code == 302
    client.post(reverse("login"), {"username": user.username, "password": NEW_PASSWORD})
    assert client.session.get("_auth_user_id") == str(user.pk)


def test_a_reset_lifts_a_lockout(world: World) -> None:
    # given a nurse locked out after too many wrong passwords
    for _attempt in range(6):
        Client().post(reverse("login"), {"username": "nurse_a", "password": "wrong-one"})
    client = Client()
    client.post(reverse("login"), {"username": "nurse_a", "password": TEST_PASSWORD})
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.filter(username="nurse_a").exists()
    # when she sets a new password through the e-mailed link
    Client().post(reverse("password_reset"), {"email": world.nurse_a.email})
    _set_password(Client(), _link(mail.outbox[-1], "/accounts/password/reset/"))
    # then she can sign in again
    client.post(reverse("login"), {"username": "nurse_a", "password": NEW_PASSWORD})
    assert client.session.get("_auth_user_id") == str(world.nurse_a.pk)


def test_the_login_page_links_to_forgot_password(db: None) -> None:
    body = Client().get(reverse("login")).content.decode()
    assert reverse("password_reset") in body


def test_the_reset_e_mail_is_in_her_language(world: World) -> None:
    user = world.patient_a.user
    assert user is not None
    user.preferred_language = "zh-hans"
    user.save()
    Client().post(reverse("password_reset"), {"email": user.email})
    [message] = mail.outbox
    assert "密码" in message.subject + str(message.body)


def test_the_admin_asks_for_the_role_first_and_invites(world: World) -> None:
    client = client_for(world.admin)
    page = client.get(reverse("admin:patients_user_add")).content.decode()
    assert page.index('name="role"') < page.index('name="username"')
    assert 'name="password1"' not in page
    # no role: refused
    base = {
        "username": "new_nurse",
        "email": "new.nurse@example.org",
        "preferred_language": "en",
        "send_invitation": "on",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-0-clinic": str(world.clinic_a.pk),
    }
    assert client.post(reverse("admin:patients_user_add"), base).status_code == 200
    assert not User.objects.filter(username="new_nurse").exists()
    # a patient with a clinic membership: refused
    refused = client.post(reverse("admin:patients_user_add"), {**base, "role": Role.PATIENT})
    assert "A patient has no clinic membership" in refused.content.decode()
    # a nurse: created, in her clinic, invited
    client.post(reverse("admin:patients_user_add"), {**base, "role": Role.NURSE})
    user = User.objects.get(username="new_nurse")
    assert user.role == Role.NURSE
    assert not user.has_usable_password()
    assert StaffMembership.objects.filter(user=user, clinic=world.clinic_a).exists()
    assert [m.to for m in mail.outbox] == [["new.nurse@example.org"]]


def test_her_login_is_linked_by_a_search_not_an_id_box(world: World) -> None:
    page = client_for(world.admin).get(
        reverse("admin:patients_patient_change", args=[world.patient_a.pk])
    )
    assert "admin-autocomplete" in page.content.decode()


def test_search_by_family_given_given_family_and_record_number(world: World) -> None:
    from patients.models import Patient
    from patients.selectors import patient_search

    alice = world.patient_a
    everyone = Patient.objects.all()
    family = alice.family_name
    assert list(patient_search(everyone, f"{family}, Alice")) == [alice]
    assert list(patient_search(everyone, f"Alice {family}")) == [alice]
    assert list(patient_search(everyone, alice.record_number.lower())) == [alice]
    assert list(patient_search(everyone, f"{family}, Beatrix")) == []
    assert patient_search(everyone, "  ").count() == everyone.count()


def test_a_signed_in_user_changes_language_from_any_page_and_it_is_stored(world: World) -> None:
    client = client_for(world.patient_a.user)
    page = client.get(reverse("clinical:patient_home")).content.decode()
    assert reverse("language_change") in page
    back = client.post(
        reverse("language_change"),
        {"language": "zh-hans", "next": reverse("clinical:patient_home")},
    )
    assert back["Location"] == reverse("clinical:patient_home")
    world.patient_a.refresh_from_db()
    assert world.patient_a.preferred_language == "zh-hans"
    assert 'lang="zh-hans"' in client.get(reverse("clinical:patient_home")).content.decode()
    # staff too, and a foreign "next" goes home instead
    nurse = client_for(world.nurse_a)
    away = nurse.post(reverse("language_change"), {"language": "zh-hans", "next": "https://x.y/"})
    assert away["Location"] == reverse("home")
    world.nurse_a.refresh_from_db()
    assert world.nurse_a.preferred_language == "zh-hans"


def test_the_language_chosen_on_the_login_page_is_kept_after_login(world: World) -> None:
    client = Client()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": reverse("login")})
    client.post(reverse("login"), {"username": "clin_a", "password": TEST_PASSWORD})
    world.clinician_a.refresh_from_db()
    assert world.clinician_a.preferred_language == "zh-hans"
    assert 'lang="zh-hans"' in client.get(reverse("clinical:patients")).content.decode()
