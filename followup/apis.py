"""REST API of the flag queue: ``GET /api/v1/flags/`` and the actions on one flag."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from aimss_tracker.inputs import id_param
from patients.apis import RecordsAccess
from patients.permissions import IsCareStaff

from . import services
from .models import CARE_ACTIONS, Flag, FlagKind, FlagStatus
from .selectors import ANY_STATUS, flag_queue


class FlagSerializer(serializers.ModelSerializer):
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
        ]
        read_only_fields = fields


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ActionSerializer(NoteSerializer):
    action = serializers.ChoiceField(choices=[(a.value, a.label) for a in CARE_ACTIONS])


class FlagViewSet(
    RecordsAccess, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
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

    def _act(self, request: Request, operation: Any, serializer_class: Any) -> Response:
        flag = self.get_object()
        payload = serializer_class(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            operation(flag_id=flag.pk, user=request.user, **payload.validated_data)
        except services.FlagConflict as conflict:
            return Response({"detail": str(conflict)}, status=status.HTTP_409_CONFLICT)
        flag.refresh_from_db()
        return Response(FlagSerializer(flag).data)

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
