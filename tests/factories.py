"""Factories with explicit, plausible clinical values (the study's Table 1 ranges)."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.hashers import make_password

from adherence.models import (
    AdherenceCheckIn,
    AiCourse,
    Drug,
    EventKind,
    Intervention,
    InterventionCategory,
    Measure,
    RegimenChange,
    RegimenChangeKind,
    TreatmentEvent,
)
from assessments.models import Response
from assessments.services import Answers, response_submit
from patients.models import Clinic, Patient, Role, User
from patients.services import user_set_role

TEST_PASSWORD = "correct-horse-battery"  # noqa: S105


@functools.cache
def _test_password_hash() -> str:
    """One Argon2 hash for every test user: hashing costs ~0.2 s each by design."""
    return make_password(TEST_PASSWORD)


class ClinicFactory(factory.django.DjangoModelFactory[Clinic]):
    class Meta:
        model = Clinic
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Clinic {n}")
    code = factory.Sequence(lambda n: f"c{n}")
    time_zone = "Europe/London"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.LazyFunction(_test_password_hash)
    role = Role.PATIENT

    @factory.post_generation
    def clinics(obj: User, create: bool, extracted: list[Clinic] | None, **kwargs: object) -> None:  # noqa: N805
        if create and extracted:
            obj.clinics.add(*extracted)

    @factory.post_generation
    def sync_role(obj: User, create: bool, extracted: object, **kwargs: object) -> None:  # noqa: N805
        if create:
            user_set_role(user=obj, role=obj.role)


class PatientFactory(factory.django.DjangoModelFactory[Patient]):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    user = factory.SubFactory(UserFactory, role=Role.PATIENT)
    record_number = factory.Sequence(lambda n: f"MRN-{n:05d}")
    given_name = "Margaret"
    family_name = factory.Sequence(lambda n: f"Testpatient{n}")
    birth_date = dt.date(1961, 5, 14)
    height_cm = Decimal("160.0")
    weight_kg = Decimal("62.0")
    tnm_stage = "II"
    surgery = "lumpectomy"
    chemotherapy = True
    radiotherapy = True
    aimss_diagnosis_date = dt.date(2024, 3, 1)
    email = factory.LazyAttribute(lambda p: f"{p.family_name.lower()}@example.org")


class ResponseFactory(factory.Factory[Response]):
    """A submitted BPI-SF, stored through the submission service (so scores are real)."""

    class Meta:
        model = Response

    patient = factory.SubFactory(PatientFactory)
    has_pain_today = True
    pain_locations = factory.LazyFunction(lambda: ["knees_left", "hands_wrists_right"])
    worst_location = "knees_left"
    worst_pain = 7
    least_pain = 3
    average_pain = 5
    pain_now = 4
    treatments = "celecoxib 200 mg"
    relief_percent = 40
    interference = factory.LazyFunction(
        lambda: {
            "general_activity": 6,
            "mood": 5,
            "walking_ability": 7,
            "normal_work": 6,
            "relations_with_others": 3,
            "sleep": 6,
            "enjoyment_of_life": 5,
        }
    )
    recall_period = "24h"

    @classmethod
    def _create(cls, model_class: type[Response], **kwargs: Any) -> Response:
        patient = kwargs.pop("patient")
        response, _created = response_submit(
            patient=patient,
            answers=Answers.from_data(kwargs),
            entered_by=patient.user,
            submission_key=uuid.uuid4(),
        )
        return response


# --- adherence ----------------------------------------------------------------------------------


class AiCourseFactory(factory.django.DjangoModelFactory[AiCourse]):
    class Meta:
        model = AiCourse

    patient = factory.SubFactory(PatientFactory)
    drug = Drug.ANASTROZOLE
    start_date = dt.date(2023, 11, 1)  # four months before the default AIMSS diagnosis
    planned_duration_years = 5


class RegimenChangeFactory(factory.django.DjangoModelFactory[RegimenChange]):
    class Meta:
        model = RegimenChange

    course = factory.SubFactory(AiCourseFactory)
    kind = RegimenChangeKind.DOSE_REDUCTION
    date = dt.date(2024, 4, 1)
    reason = "Joint pain"


class TreatmentEventFactory(factory.django.DjangoModelFactory[TreatmentEvent]):
    class Meta:
        model = TreatmentEvent

    patient = factory.SubFactory(PatientFactory)
    kind = EventKind.RECURRENCE
    start_date = dt.date(2024, 9, 1)


class InterventionFactory(factory.django.DjangoModelFactory[Intervention]):
    class Meta:
        model = Intervention

    patient = factory.SubFactory(PatientFactory)
    category = InterventionCategory.PHYSICAL_THERAPY
    measure = Measure.EXERCISE
    start_date = dt.date(2024, 3, 5)


class CheckInFactory(factory.django.DjangoModelFactory[AdherenceCheckIn]):
    class Meta:
        model = AdherenceCheckIn

    patient = factory.SubFactory(PatientFactory)
    submitted_at = dt.datetime(2024, 4, 1, 10, 0, tzinfo=dt.UTC)
    days_taken_last_7 = 7
    stopped = False
    wants_to_stop = False
