"""``manage.py seed_demo``: two clinics, demo logins of every role and a calibrated cohort.

It seeds each app's demo data in layer order (patients, questionnaires, therapy, follow-up) and
erases it in the reverse order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pgtrigger
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import ProgrammingError, transaction

from demo.adherence import erase_adherence, seed_adherence, trim_responses_after_stop
from demo.assessments import erase_responses, seed_responses
from demo.followup import erase_followup, seed_followup
from demo.patients import CLINICS, DemoProfile, demo_profiles
from patients.models import (
    AccessRecord,
    Clinic,
    ContactChannels,
    Patient,
    Role,
    StaffMembership,
    User,
)
from patients.roles import sync_role_groups
from patients.services import contact_preferences_update, user_create

DEFAULT_PASSWORD = "aimss-demo-2026"  # noqa: S105 # nosec B105

# username, role, clinic codes
STAFF = [
    ("nurse", Role.NURSE, ["rbc"]),
    ("clinician", Role.CLINICIAN, ["rbc"]),
    ("nurse2", Role.NURSE, ["hcc"]),
    ("clinician2", Role.CLINICIAN, ["hcc"]),
    ("researcher", Role.RESEARCHER, ["rbc", "hcc"]),
    ("admin", Role.ADMIN, []),
]
# The first clinic's nurse hears of high-priority flags by text message too.
STAFF_TEXTED = {"nurse": "+447400124000"}


class Command(BaseCommand):
    help = (
        "Create the demo: two clinics, logins patient1..N, nurse, clinician, nurse2, clinician2, "
        "researcher and admin, and a synthetic cohort calibrated to the study (Liang et al.; "
        "deterministic per seed). Does nothing if the demo is already there, unless --reset."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--patients", type=int, default=253, help="cohort size (default 253, as the study)"
        )
        parser.add_argument(
            "--password", default=DEFAULT_PASSWORD, help="password of every demo login"
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="erase ALL clinics, patients and users first (demo databases only)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        n_patients: int = options["patients"]
        if n_patients < 1:
            raise CommandError("--patients must be at least 1.")
        if options["reset"]:
            self._erase()
        elif User.objects.filter(username="nurse").exists():
            self.stdout.write("The demo is already seeded; nothing to do (use --reset to redo).")
            return
        with transaction.atomic():
            counts = seed_demo(
                n_patients=n_patients, seed=options["seed"], password=options["password"]
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {counts['clinics']} clinics, {counts['patients']} patients and "
                f"{counts['staff']} staff logins (seed {options['seed']})."
            )
        )
        for line in counts.get("apps", []):
            self.stdout.write(f"  {line}")

    def _erase(self) -> None:
        with transaction.atomic():
            # What hangs on patients goes first, highest layer first.
            erase_followup()
            erase_adherence()
            erase_responses()
            # Access records are append-only; a demo reset is the one place they go, with the
            # patients they point at.
            # Only the owner of the tables may (DATABASE_MIGRATE_URL): the application's role
            # cannot delete them.
            try:
                with (
                    transaction.atomic(),
                    pgtrigger.ignore("patients.AccessRecord:access_record_append_only"),
                ):
                    AccessRecord.objects.all().delete()
            except ProgrammingError as refused:
                raise CommandError(
                    "A reset erases the access records, which only the owner of the tables may "
                    "do: run it with DATABASE_URL set to the owner's role (DATABASE_MIGRATE_URL)."
                ) from refused
            Patient.objects.all().delete()
            StaffMembership.objects.all().delete()
            User.objects.all().delete()
            Clinic.objects.all().delete()


def seed_demo(*, n_patients: int, seed: int, password: str) -> dict[str, Any]:
    """Write the demo cohort; one Argon2 hash serves every demo login.

    Questionnaires, therapy and follow-up are seeded after the patients, in that order: each
    builds on the one before (follow-up evaluates the seeded answers and check-ins).
    """
    sync_role_groups()
    password_hash = make_password(password)
    clinics = {c["code"]: Clinic.objects.create(**c) for c in CLINICS}
    for username, role, codes in STAFF:
        user = user_create(
            username=username,
            role=role,
            password_hash=password_hash,
            clinics=[clinics[c] for c in codes],
            email=f"{username}@example.org",
            is_superuser=role == Role.ADMIN,
        )
        if username in STAFF_TEXTED:
            contact_preferences_update(
                user=user, channels=ContactChannels.BOTH, phone=STAFF_TEXTED[username]
            )

    profiles = demo_profiles(n_patients, seed)
    users = User.objects.bulk_create(
        [
            User(
                username=f"patient{p.index}",
                password=password_hash,
                role=Role.PATIENT,
                first_name=p.given_name,
                last_name=p.family_name,
                email=f"patient{p.index}@example.org",
                preferred_language=p.language,
            )
            for p in profiles
        ]
    )
    patient_group = Group.objects.get(name=Role.PATIENT)
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=u.pk, group_id=patient_group.pk) for u in users]
    )
    patients = []
    for profile, user in zip(profiles, users, strict=True):
        clinic = clinics[profile.clinic_code]
        patient = Patient(
            clinic=clinic,
            user=user,
            record_number=profile.record_number,
            given_name=profile.given_name,
            family_name=profile.family_name,
            birth_date=profile.birth_date,
            height_cm=profile.height_cm,
            weight_kg=profile.weight_kg,
            tnm_stage=profile.tnm_stage,
            surgery=profile.surgery,
            chemotherapy=profile.chemotherapy,
            radiotherapy=profile.radiotherapy,
            aimss_diagnosis_date=profile.aimss_diagnosis_date,
            email=user.email,
            phone=profile.phone,
            reminder_channels=profile.reminder_channels,
            preferred_language=profile.language,
            time_zone=clinic.time_zone,
        )
        # Field and model validation without per-row queries; constraints hold in the database.
        patient.clean_fields(exclude=["clinic", "user"])
        patient.clean()
        patients.append(patient)
    Patient.objects.bulk_create(patients, batch_size=1000)
    app_lines = [
        f"{seed_responses(profiles=profiles, patients=patients, seed=seed)} BPI-SF responses",
        _seed_therapy(profiles=profiles, patients=patients, seed=seed),
        seed_followup(),
    ]
    return {
        "clinics": len(clinics),
        "patients": len(patients),
        "staff": len(STAFF),
        "apps": app_lines,
    }


def _seed_therapy(
    *, profiles: Sequence[DemoProfile], patients: Sequence[Patient], seed: int
) -> str:
    counts = seed_adherence(profiles, patients, seed)
    trimmed = trim_responses_after_stop()
    return (
        f"{counts['courses']} AI courses, {counts['interventions']} interventions, "
        f"{counts['events']} composite events, {counts['check_ins']} check-ins "
        f"({trimmed} questionnaires after a death or discontinuation removed)"
    )
