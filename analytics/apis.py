"""REST API of the cohort analytics: start a report, follow it, list one's recent reports.

The same rules as the page (:mod:`analytics.views`): its form checks the filter (the user's own
clinics, whole quarters under disclosure control), a user starts at most REPORTS_PER_HOUR
reports an hour (429), and a result is the one the page shows, suppressed where the page's is.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, Throttled
from rest_framework.exceptions import ValidationError as DrfValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.access import can_run_analytics

from .disclosure import REFUSALS, ReportRefused
from .downloads import (
    FIGURE_TYPES,
    FIGURES,
    dataset_csv,
    dataset_json,
    dictionary_json,
    figure,
    report_tables,
)
from .eligibility import CRITERIA, OTHER_STOP_SETTINGS
from .forms import CohortFilterForm
from .models import JobStatus, ReportJob
from .services import (
    REPORTS_PER_HOUR,
    clinics_for,
    jobs_visible_to,
    report_dataset,
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


def _done(request: Request, pk: int) -> ReportJob:
    user = _analyst(request)
    job = get_object_or_404(jobs_visible_to(user), pk=pk)
    if job.status != JobStatus.DONE or not job.result:
        raise NotFound
    return job


def _file(body: str | bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class ReportTableView(APIView):
    """One table of a done report as CSV, suppressed as the report is. Names: flow, table1,
    cox_univariate, cox_multivariable, stratified_high, stratified_low, landmark, schoenfeld,
    interaction_strata, events_per_cell, table1b, km_overall, km_high, km_low, cif."""

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR, 404: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int, name: str) -> HttpResponse:
        tables = report_tables(_done(request, pk).result or {})
        if name not in tables:
            raise NotFound
        return _file(tables[name], "text/csv; charset=utf-8", f"report-{pk}-{name}.csv")


class ReportFigureView(APIView):
    """A Kaplan-Meier figure of a done report (km_overall, km_high, km_low) as SVG or PNG:
    steps with their 95 % band, censoring marks, numbers at risk under the x axis."""

    @extend_schema(
        responses={
            (200, "image/svg+xml"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
            404: OpenApiTypes.OBJECT,
        }
    )
    def get(self, request: Request, pk: int, name: str, fmt: str) -> HttpResponse:
        if name not in FIGURES or fmt not in FIGURE_TYPES:
            raise NotFound
        body = figure(_done(request, pk).result or {}, name, fmt)
        return _file(body, FIGURE_TYPES[fmt], f"report-{pk}-{name}.{fmt}")


class ReportDatasetView(APIView):
    """The de-identified analysis dataset of a done report's cohort (one row per patient,
    days from diagnosis, per-download pseudonyms), as CSV or JSON; 403 where disclosure
    control refuses the cohort."""

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/json"): OpenApiTypes.OBJECT,
            403: OpenApiTypes.OBJECT,
            404: OpenApiTypes.OBJECT,
        }
    )
    def get(self, request: Request, pk: int, fmt: str) -> HttpResponse:
        if fmt not in ("csv", "json"):
            raise NotFound
        job = _done(request, pk)
        try:
            frame = report_dataset(job=job, user=request.user)
        except ReportRefused as refused:
            raise PermissionDenied(str(refused)) from None
        if fmt == "json":
            return _file(dataset_json(frame), "application/json", f"dataset-{pk}.json")
        return _file(dataset_csv(frame), "text/csv; charset=utf-8", f"dataset-{pk}.csv")


class DataDictionaryView(APIView):
    """The analysis dataset's data dictionary (JSON)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        _analyst(request)
        return Response(json.loads(dictionary_json()))
