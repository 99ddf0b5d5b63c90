"""Login, logout and the home that sends each role to its place."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import TEST_PASSWORD, World, client_for


def test_login_page_is_served_plainly(db: None) -> None:
    response = Client().get(reverse("login"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in body
    assert 'name="password"' in body
    assert "https://" not in body  # no CDN assets


def test_home_requires_login(db: None) -> None:
    response = Client().get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("who", "landing"),
    [
        ("patient_a", "clinical:patient_home"),
        ("nurse_a", "clinical:patients"),
        ("clinician_a", "clinical:patients"),
        ("researcher", "patients:staff_home"),
        ("admin", "clinical:patients"),
    ],
)
def test_login_sends_each_role_home(world: World, who: str, landing: str) -> None:
    user = world.patient_a.user if who == "patient_a" else getattr(world, who)
    assert user is not None
    client = Client()
    response = client.post(
        reverse("login"), {"username": user.username, "password": TEST_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse(landing)
    assert response.status_code == 200


def test_a_wrong_password_says_so_and_logs_nobody_in(world: World) -> None:
    client = Client()
    response = client.post(
        reverse("login"), {"username": world.nurse_a.username, "password": "wrong-password"}
    )
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_patient_home_shows_her_own_clinic(world: World) -> None:
    body = client_for(world.patient_a.user).get(reverse("clinical:patient_home")).content.decode()
    assert "Alice" in body
    assert "Clinic A" in body
    assert "Beatrix" not in body


def test_navigation_follows_the_role(world: World) -> None:
    nurse_page = client_for(world.nurse_a).get(reverse("clinical:patients")).content.decode()
    admin_page = client_for(world.admin).get(reverse("clinical:patients")).content.decode()
    assert reverse("admin:index") not in nurse_page
    assert reverse("admin:index") in admin_page


def test_logout_ends_the_session(world: World) -> None:
    client = client_for(world.nurse_a)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("patients:staff_home")).status_code == 302


def test_staff_patient_search_finds_by_name_and_record(world: World) -> None:
    client = client_for(world.admin)
    by_name = client.post(
        reverse("clinical:patients"), {"q": world.patient_b.family_name}, follow=True
    )
    by_record = client.post(
        reverse("clinical:patients"), {"q": world.patient_a.record_number}, follow=True
    )
    assert world.patient_b.family_name in by_name.content.decode()
    assert world.patient_a.family_name not in by_name.content.decode()
    assert world.patient_a.family_name in by_record.content.decode()
