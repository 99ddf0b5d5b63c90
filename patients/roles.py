"""Roles as Django groups with model permissions, kept in step with ``User.role``.

``User.role`` is the single source of truth for what a user may do in the product's own
pages; the group of the same name carries the model permissions that Django's admin and
``has_perm`` read. :func:`sync_role_groups` runs after every migrate.
"""

from typing import Any

from django.contrib.auth.models import Group, Permission

from .models import Role

# (app_label, codename) pairs per role; later apps add their models here.
ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    Role.PATIENT: [],
    Role.NURSE: [
        ("patients", "view_patient"),
        ("patients", "view_clinic"),
        ("assessments", "view_response"),
    ],
    Role.CLINICIAN: [
        ("patients", "view_patient"),
        ("assessments", "view_response"),
        ("patients", "change_patient"),
        ("patients", "view_clinic"),
    ],
    Role.RESEARCHER: [("patients", "view_clinic")],
    Role.ADMIN: [
        (app, f"{action}_{model}")
        for app, model in (
            ("patients", "patient"),
            ("patients", "clinic"),
            ("patients", "user"),
            ("patients", "staffmembership"),
            # adherence's models, named as strings: patients imports nothing from higher apps
            ("adherence", "aicourse"),
            ("adherence", "regimenchange"),
            ("adherence", "treatmentevent"),
            ("adherence", "intervention"),
            ("adherence", "adherencecheckin"),
        )
        for action in ("view", "add", "change", "delete")
    ]
    + [("assessments", "view_response"), ("assessments", "view_instrument")],
}


def sync_role_groups(**_: Any) -> None:
    """Create one group per role and give it exactly its permissions (idempotent)."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = [
            p
            for p in Permission.objects.filter(
                content_type__app_label__in={a for a, _ in perms}
            ).select_related("content_type")
            if (p.content_type.app_label, p.codename) in set(perms)
        ]
        group.permissions.set(wanted)
