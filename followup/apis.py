"""REST API of the flag queue: ``GET /api/v1/flags/`` (``?group=patient``: one entry per
patient, most urgent first, as the queue page) and the actions on one flag."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from aimss_tracker.inputs import id_param
from patients.access import record_list_access
from patients.apis import RecordsAccess
from patients.permissions import IsCareStaff

from . import services
from .models import CARE_ACTIONS, Flag, FlagKind, FlagStatus, urgency_of
from .selectors import (
    ANY_STATUS,
    QueueFilters,
    flag_queue,
    patient_queue,
    triage_flags,
)


class FlagSerializer(serializers.ModelSerializer[Flag]):
    patient: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    claimed_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Flag
        fields = [
            "id",
            "patient",
            "kind",
            "status",
            "priority",
            "opened_at",
            "last_triggered_at",
            "trigger_count",
            "claimed_by",
            "claimed_at",
            "first_action_at",
            "escalated_at",
            "resolved_at",
            "snoozed_until",
            "snooze_reason",
            "intentional",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "intentional": {
                "help_text": "An adherence lapse she chose (side effects, or decided to stop "
                "or take less), ordered before unintentional lapses."
            }
        }


class PatientFlagsSerializer(serializers.Serializer[dict[str, Any]]):
    """One patient's open flags, most urgent first (``?group=patient``)."""

    patient = serializers.IntegerField()
    urgency = serializers.IntegerField(
        help_text="Her most urgent flag's level: 0 high interference or worsening, "
        "1 intentional adherence lapse, 2 adherence lapse, 3 overdue."
    )
    flags = FlagSerializer(many=True)


class NoteSerializer(serializers.Serializer[dict[str, Any]]):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ActionSerializer(NoteSerializer):
    action = serializers.ChoiceField(choices=[(a.value, a.label) for a in CARE_ACTIONS])


class SnoozeSerializer(serializers.Serializer[dict[str, Any]]):
    until = serializers.DateField(help_text="A date after today, at most 90 days away.")
    reason = serializers.CharField(max_length=services.SNOOZE_REASON_MAX_CHARS)


class ReassignSerializer(serializers.Serializer[dict[str, Any]]):
    to = serializers.IntegerField(
        min_value=1, help_text="The id of a nurse or clinician of the flag's clinic."
    )


GROUPS = ["patient"]
_LIST_PARAMETERS = [
    OpenApiParameter("status", enum=FlagStatus.values, description="Default: unresolved."),
    OpenApiParameter("kind", enum=FlagKind.values),
    OpenApiParameter("patient", int),
    OpenApiParameter(
        "group",
        enum=GROUPS,
        description="``patient``: one entry per patient with her open flags, most urgent "
        "first (``status`` is then ignored).",
    ),
]
_ACTION_ERRORS = {
    400: OpenApiResponse(description="Invalid input, with a message per field."),
    409: OpenApiResponse(description="Someone else holds the flag, or it was resolved."),
}


class FlagViewSet(
    RecordsAccess, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Flag]
):
    """Flags of the caller's clinics. Filters: ``status``, ``kind``, ``patient``.

    Without ``status`` the list holds the unresolved flags (the queue), priority then age.
    Claiming a flag someone else holds answers 409 with who has it.
    """

    serializer_class = FlagSerializer
    permission_classes = [IsCareStaff]

    def get_queryset(self) -> QuerySet[Flag]:
        params = self.request.query_params
        status_filter = params.get("status", "")
        kind = params.get("kind", "")
        if self.action != "list":
            return flag_queue(user=self.request.user, status=ANY_STATUS)  # type: ignore[arg-type]
        return flag_queue(
            user=self.request.user,  # type: ignore[arg-type]
            status=status_filter if status_filter in FlagStatus.values else "",
            kind=kind if kind in FlagKind.values else "",
            patient_id=id_param(params.get("patient"), name="patient"),
        )

    @extend_schema(
        parameters=_LIST_PARAMETERS,
        responses=PolymorphicProxySerializer(
            component_name="FlagOrPatientFlags",
            serializers=[FlagSerializer, PatientFlagsSerializer],
            resource_type_field_name=None,
            many=True,
        ),
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if request.query_params.get("group", "") == "patient":
            return self._list_by_patient(request)
        if request.query_params.get("group"):
            raise exceptions.ValidationError({"group": ["The only grouping is 'patient'."]})
        return super().list(request, *args, **kwargs)

    def _list_by_patient(self, request: Request) -> Response:
        kind = request.query_params.get("kind", "")
        user: Any = request.user
        filters = QueueFilters(kind=kind if kind in FlagKind.values else "")
        assert self.paginator is not None  # the project's default pagination
        patient_ids: list[int] = list(
            self.paginator.paginate_queryset(
                patient_queue(user=user, filters=filters),  # type: ignore[arg-type]
                request,
                view=self,
            )
            or []
        )
        record_list_access(user, patient_ids=patient_ids, what=f"list {request.path}")
        flags: dict[int, list[Flag]] = {}
        for flag in (
            triage_flags(user=user, filters=filters, now=timezone.now())
            .filter(patient_id__in=patient_ids)
            .order_by("-last_triggered_at", "id")
        ):
            flags.setdefault(flag.patient_id, []).append(flag)
        data = []
        for patient_id in patient_ids:
            hers = sorted(
                flags.get(patient_id, []), key=lambda f: urgency_of(f.kind, f.intentional)
            )
            if hers:
                data.append(
                    {
                        "patient": patient_id,
                        "urgency": urgency_of(hers[0].kind, hers[0].intentional),
                        "flags": FlagSerializer(hers, many=True).data,
                    }
                )
        return self.get_paginated_response(data)

    def _act(self, request: Request, operation: Any, serializer_class: Any) -> Response:
        flag = self.get_object()
        payload = serializer_class(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            operation(flag_id=flag.pk, user=request.user, **payload.validated_data)
        except services.FlagConflict as conflict:
            return Response({"detail": str(conflict)}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as invalid:
            raise exceptions.ValidationError(
                invalid.message_dict if hasattr(invalid, "error_dict") else invalid.messages
            ) from invalid
        flag.refresh_from_db()
        return Response(FlagSerializer(flag).data)

    @extend_schema(request=SnoozeSerializer, responses={200: FlagSerializer, **_ACTION_ERRORS})
    @action(detail=True, methods=["post"])
    def snooze(self, request: Request, pk: str | None = None) -> Response:
        """Out of the queue (and of ``?status=open``) until ``until``; back by itself on that
        date, or at once if the flag is raised again."""
        return self._act(request, services.flag_snooze, SnoozeSerializer)

    @extend_schema(request=ReassignSerializer, responses={200: FlagSerializer, **_ACTION_ERRORS})
    @action(detail=True, methods=["post"])
    def reassign(self, request: Request, pk: str | None = None) -> Response:
        """Hand the flag to a nurse or clinician of its clinic (it becomes claimed by her)."""
        return self._act(request, services.flag_reassign, ReassignSerializer)

    @action(detail=True, methods=["post"])
    def claim(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            request,
            lambda flag_id, user: services.flag_claim(flag_id=flag_id, user=user),
            serializers.Serializer,
        )

    @action(detail=True, methods=["post"], url_path="actions")
    def record_action(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, services.flag_record_action, ActionSerializer)

    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, services.flag_resolve, NoteSerializer)

    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, services.flag_reopen, NoteSerializer)
