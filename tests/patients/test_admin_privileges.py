"""An administrator who is not a superuser cannot become more than an administrator
(docs/security.md #27): no superuser, staff, group or permission grants, on anyone (herself
included), no second-factor secrets or recovery codes, no periodic tasks. A superuser can. Every
case goes through the admin's own forms, as a browser would post them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from patients.models import Role, User
from tests.conftest import World, client_for
from tests.factories import UserFactory


@pytest.fixture
def admin_role(world: World) -> User:
    """An administrator who is not a superuser (the admin role's own group permissions)."""
    return UserFactory.create(username="admin_role", role=Role.ADMIN)


def _form_data(response: Any) -> dict[str, Any]:
    """What the admin's change form would post as it stands (its editable fields and inlines)."""
    data: dict[str, Any] = {}

    def put(form: Any, name: str) -> None:
        value = form[name].value()
        key = form.add_prefix(name)
        if value is None:
            return
        if isinstance(value, bool):
            if value:
                data[key] = "on"
        elif isinstance(value, dt.datetime):
            data[f"{key}_0"] = value.date().isoformat()
            data[f"{key}_1"] = value.time().strftime("%H:%M:%S")
        elif isinstance(value, list | tuple):
            data[key] = [str(getattr(v, "pk", v)) for v in value]
        else:
            data[key] = str(getattr(value, "pk", value))

    form = response.context["adminform"].form
    for name in form.fields:
        put(form, name)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            data[f"{formset.prefix}-{name}"] = formset.management_form[name].value()
        for sub in formset.forms:
            for name in sub.fields:
                put(sub, name)
    return data


def _user_change(client: Client, user: User, **changes: Any) -> Any:
    url = reverse("admin:patients_user_change", args=[user.pk])
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, {**_form_data(page), **changes})


def _grants() -> dict[str, Any]:
    """A POST that tries to make its user a superuser with every permission and group."""
    return {
        "is_superuser": "on",
        "is_staff": "on",
        "groups": [str(g.pk) for g in Group.objects.all()],
        "user_permissions": [
            str(p.pk)
            for p in Permission.objects.filter(
                content_type__app_label__in=["otp_totp", "otp_static", "django_celery_beat"]
            )
        ],
    }


@pytest.mark.parametrize("whom", ["herself", "a nurse"])
def test_an_admin_who_is_not_a_superuser_cannot_grant_privileges(
    world: World, admin_role: User, whom: str
) -> None:
    target = admin_role if whom == "herself" else world.nurse_a
    before_groups = set(target.groups.values_list("name", flat=True))
    client = client_for(admin_role)
    # the form shows the privileges without letting her change them
    page = client.get(reverse("admin:patients_user_change", args=[target.pk])).content.decode()
    for field in ("is_superuser", "is_staff", "groups", "user_permissions"):
        assert f'name="{field}"' not in page
    # when she posts them anyway, with a change she may make
    response = _user_change(client, target, **_grants(), first_name="Renamed")
    assert response.status_code == 302
    # then the allowed change is saved and no privilege is
    target.refresh_from_db()
    assert target.first_name == "Renamed"
    assert not target.is_superuser
    assert target.is_staff == (target.role == Role.ADMIN)
    assert target.user_permissions.count() == 0
    assert set(target.groups.values_list("name", flat=True)) == before_groups


def test_a_superuser_can_grant_privileges(world: World) -> None:
    client = client_for(world.admin)  # a superuser
    response = _user_change(client, world.nurse_a, **_grants())
    assert response.status_code == 302
    world.nurse_a.refresh_from_db()
    assert world.nurse_a.is_superuser
    assert world.nurse_a.user_permissions.filter(content_type__app_label="otp_totp").exists()


def test_an_admin_cannot_change_a_superusers_account_or_password(
    world: World, admin_role: User
) -> None:
    client = client_for(admin_role)
    superuser = world.admin
    change = reverse("admin:patients_user_change", args=[superuser.pk])
    password = reverse("admin:auth_user_password_change", args=[superuser.pk])
    # she may look at the account, read only
    assert client.get(change).status_code == 200
    # but not change it, set its password or delete it
    refused = client.post(change, {"username": superuser.username, "first_name": "x"})
    assert refused.status_code == 403
    new = {"password1": "a new long passphrase", "password2": "a new long passphrase"}
    assert client.post(password, new).status_code == 403
    delete = reverse("admin:patients_user_delete", args=[superuser.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    superuser.refresh_from_db()
    assert superuser.check_password("a new long passphrase") is False
    assert User.objects.filter(pk=superuser.pk).exists()


def _second_factor(user: User) -> tuple[TOTPDevice, StaticDevice]:
    totp = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    static = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
    return totp, static


def test_an_admin_cannot_read_second_factor_secrets_even_with_the_permission(
    world: World, admin_role: User
) -> None:
    totp, static = _second_factor(world.nurse_a)
    # even granted the permissions directly (by a superuser, or a past mistake)
    admin_role.user_permissions.add(
        *Permission.objects.filter(content_type__app_label__in=["otp_totp", "otp_static"])
    )
    client = client_for(admin_role)
    for url in (
        reverse("admin:otp_totp_totpdevice_changelist"),
        reverse("admin:otp_totp_totpdevice_change", args=[totp.pk]),
        reverse("admin:otp_static_staticdevice_change", args=[static.pk]),
        reverse("admin:otp_totp_totpdevice_add"),
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert totp.key not in response.content.decode()
    # nor does the admin index list them
    index = client.get(reverse("admin:index")).content.decode()
    assert "otp_totp" not in index
    assert "django_celery_beat" not in index
    # a superuser can
    superuser = client_for(world.admin)
    assert (
        superuser.get(reverse("admin:otp_totp_totpdevice_change", args=[totp.pk])).status_code
        == 200
    )


def test_an_admin_cannot_edit_periodic_tasks_and_a_superuser_can(
    world: World, admin_role: User
) -> None:
    every = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.create(
        name="reminders-sweep", task="followup.tasks.reminders_sweep_task", interval=every
    )
    admin_role.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="django_celery_beat")
    )
    change = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
    client = client_for(admin_role)
    assert client.get(change).status_code == 403
    assert client.post(change, {"name": "reminders-sweep", "enabled": ""}).status_code == 403
    changelist = reverse("admin:django_celery_beat_periodictask_changelist")
    disable = {"action": "disable_tasks", "_selected_action": [task.pk]}
    assert client.post(changelist, disable).status_code == 403
    task.refresh_from_db()
    assert task.enabled
    # a superuser can disable it through its action
    response = client_for(world.admin).post(changelist, disable)
    assert response.status_code == 302
    task.refresh_from_db()
    assert not task.enabled


def test_an_admin_cannot_give_a_group_more_permissions(world: World, admin_role: User) -> None:
    group = Group.objects.get(name=Role.ADMIN)
    client = client_for(admin_role)
    change = reverse("admin:auth_group_change", args=[group.pk])
    perms = [str(p.pk) for p in Permission.objects.all()[:5]]
    assert client.post(change, {"name": group.name, "permissions": perms}).status_code == 403
