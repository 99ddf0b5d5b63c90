"""REST API of the cohort analytics: start a report, follow it, list one's recent reports.

The same rules as the page (:mod:`analytics.views`): its form checks the filter (the user's own
clinics, whole quarters under disclosure control), a user starts at most REPORTS_PER_HOUR
reports an hour (429), and a result is the one the page shows, suppressed where the page's is.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.exceptions import ValidationError as DrfValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.access import can_run_analytics

from .disclosure import REFUSALS
from .eligibility import CRITERIA, OTHER_STOP_SETTINGS
from .forms import CohortFilterForm
from .models import JobStatus, ReportJob
from .services import (
    REPORTS_PER_HOUR,
    clinics_for,
    jobs_visible_to,
    report_job_request,
    report_rate_exceeded,
)
from .views import RECENT_JOBS

MAX_CLINICS = 1000  # more clinics than any installation has: a longer list is not a request


class ReportRequestSerializer(serializers.Serializer[Any]):
    clinics = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=MAX_CLINICS,
        help_text="Clinic ids (none: all your clinics).",
    )
    date_from = serializers.DateField(required=False, allow_null=True)
    date_to = serializers.DateField(required=False, allow_null=True)
    as_of = serializers.DateField(
        required=False, allow_null=True, help_text="Read the records as known on this day."
    )
    other_stop = serializers.ChoiceField(
        choices=list(OTHER_STOP_SETTINGS),
        required=False,
        help_text="AI stopped for another reason: censored at that date, or excluded.",
    )
    criteria = serializers.ListField(
        child=serializers.ChoiceField(choices=list(CRITERIA)),
        required=False,
        max_length=len(CRITERIA),
        help_text="The eligibility criteria applied (absent: all of them).",
    )


class ReportJobSerializer(serializers.ModelSerializer[ReportJob]):
    n_patients = serializers.IntegerField(
        source="n_patients_shown",
        allow_null=True,
        read_only=True,
        help_text="The cohort's size; null where disclosure control hides it.",
    )
    refusal = serializers.SerializerMethodField()
    result = serializers.JSONField(read_only=True)

    class Meta:
        model = ReportJob
        fields = [
            "id",
            "status",
            "progress",
            "filter",
            "n_patients",
            "disclosure_control",
            "refusal",
            "created_at",
            "finished_at",
            "result",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_refusal(self, job: ReportJob) -> str | None:
        if job.status != JobStatus.REFUSED:
            return None
        return str(REFUSALS.get(job.error, ""))


def _analyst(request: Request) -> Any:
    if not can_run_analytics(request.user):  # type: ignore[arg-type]
        raise NotFound
    return request.user


class ReportListView(APIView):
    """``GET``: one's RECENT_JOBS most recent reports (without their results); ``POST``: start a
    report on a filter (201 with the job: done, refused, or computing)."""

    @extend_schema(responses={200: ReportJobSerializer(many=True)})
    def get(self, request: Request) -> Response:
        user = _analyst(request)
        jobs = jobs_visible_to(user).filter(created_by_id=user.pk)[:RECENT_JOBS]
        data = ReportJobSerializer(jobs, many=True).data
        for job in data:
            job.pop("result", None)
        return Response(data)

    @extend_schema(
        request=ReportRequestSerializer,
        responses={201: ReportJobSerializer, 400: OpenApiTypes.OBJECT, 429: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        user = _analyst(request)
        if report_rate_exceeded(user):
            raise Throttled(
                detail=_("At most %(n)d reports may be started in an hour; try again later.")
                % {"n": REPORTS_PER_HOUR}
            )
        payload = ReportRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        given = payload.validated_data
        form = CohortFilterForm(
            {
                "clinics": given.get("clinics") or [],
                "date_from": given.get("date_from") or "",
                "date_to": given.get("date_to") or "",
                "as_of": given.get("as_of") or "",
                "other_stop": given.get("other_stop") or "",
                "skip_criteria": [
                    c for c in CRITERIA if c not in given.get("criteria", list(CRITERIA))
                ],
            },
            clinics=clinics_for(user),
            user=user,
        )
        if not form.is_valid():
            errors = form.errors.get_json_data()
            raise DrfValidationError(
                {
                    ("non_field_errors" if field == "__all__" else field): [
                        e["message"] for e in messages
                    ]
                    for field, messages in errors.items()
                }
            )
        job = report_job_request(user=user, cohort_filter=form.cohort_filter())
        return Response(ReportJobSerializer(job).data, status=status.HTTP_201_CREATED)


class ReportDetailView(APIView):
    """One of one's reports: its status and progress, and its result once done."""

    @extend_schema(responses={200: ReportJobSerializer})
    def get(self, request: Request, pk: int) -> Response:
        user = _analyst(request)
        job = get_object_or_404(jobs_visible_to(user), pk=pk)
        return Response(ReportJobSerializer(job).data)
