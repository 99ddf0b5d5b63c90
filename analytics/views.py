"""The analytics page: the cohort report for researchers, clinicians and administrators.

Only aggregates are shown, under disclosure control for a user without access to the
clinics' identified data (:mod:`analytics.disclosure`); the clinics offered are the user's own
(none granted: nothing to analyse); a job belongs to the user who asked for it (404 for anyone
else but an administrator); a user starts at most REPORTS_PER_HOUR reports an hour (429).
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from patients.access import analytics_required

from .charts import report_charts
from .disclosure import REFUSALS, ReportRefused
from .downloads import (
    FIGURE_TYPES,
    FIGURES,
    dataset_csv,
    dataset_json,
    dictionary_csv,
    dictionary_json,
    figure,
    report_tables,
)
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

RECENT_JOBS = 10
POLL_SECONDS = 2


@analytics_required
def home(request: HttpRequest) -> HttpResponse:
    clinics = clinics_for(request.user)
    data = request.POST if request.method == "POST" else None
    form = CohortFilterForm(data, clinics=clinics, user=request.user)
    if request.method == "POST" and report_rate_exceeded(request.user):
        context = {"per_hour": REPORTS_PER_HOUR}
        return render(request, "analytics/too_many.html", context, status=429)
    if request.method == "POST" and form.is_valid():
        job = report_job_request(user=request.user, cohort_filter=form.cohort_filter())
        return redirect("analytics:job", pk=job.pk)
    jobs = jobs_visible_to(request.user).filter(created_by_id=request.user.pk)[:RECENT_JOBS]
    return render(request, "analytics/home.html", {"form": form, "jobs": jobs})


@analytics_required
def job(request: HttpRequest, pk: int) -> HttpResponse:
    report_job = get_object_or_404(jobs_visible_to(request.user), pk=pk)
    clinic_ids = report_job.filter.get("clinic_ids") or []
    clinic_names = list(
        clinics_for(report_job.created_by).filter(pk__in=clinic_ids).values_list("name", flat=True)
    )
    report = report_job.result if report_job.status == JobStatus.DONE else None
    return render(
        request,
        "analytics/job.html",
        {
            "job": report_job,
            "clinic_names": clinic_names,
            "report": report,
            "refusal": REFUSALS.get(report_job.error)
            if report_job.status == JobStatus.REFUSED
            else None,
            "charts": report_charts(report) if report else {},
            "table_names": list(report_tables(report)) if report else [],
            "figure_names": FIGURES,
            "poll_seconds": POLL_SECONDS
            if report_job.status in (JobStatus.PENDING, JobStatus.RUNNING)
            else None,
        },
    )


def _done_job(request: HttpRequest, pk: int) -> ReportJob:
    report_job = get_object_or_404(jobs_visible_to(request.user), pk=pk)
    if report_job.status != JobStatus.DONE or not report_job.result:
        raise Http404
    return report_job


def _attachment(body: str | bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@analytics_required
def job_table(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """One table of a done report as CSV (suppressed as the report is)."""
    tables = report_tables(_done_job(request, pk).result or {})
    if name not in tables:
        raise Http404
    return _attachment(tables[name], "text/csv; charset=utf-8", f"report-{pk}-{name}.csv")


@analytics_required
def job_figure(request: HttpRequest, pk: int, name: str, fmt: str) -> HttpResponse:
    """A Kaplan-Meier figure of a done report as SVG or PNG."""
    if name not in FIGURES or fmt not in FIGURE_TYPES:
        raise Http404
    body = figure(_done_job(request, pk).result or {}, name, fmt)
    return _attachment(body, FIGURE_TYPES[fmt], f"report-{pk}-{name}.{fmt}")


@analytics_required
def job_dataset(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The de-identified analysis dataset of a done report's cohort (CSV or JSON)."""
    if fmt not in ("csv", "json"):
        raise Http404
    report_job = _done_job(request, pk)
    try:
        frame = report_dataset(job=report_job, user=request.user)
    except ReportRefused as refused:
        return HttpResponse(str(refused), status=403, content_type="text/plain; charset=utf-8")
    if fmt == "json":
        return _attachment(dataset_json(frame), "application/json", f"dataset-{pk}.json")
    return _attachment(dataset_csv(frame), "text/csv; charset=utf-8", f"dataset-{pk}.csv")


@analytics_required
def data_dictionary(request: HttpRequest, fmt: str) -> HttpResponse:
    """The analysis dataset's data dictionary (CSV or JSON)."""
    if fmt not in ("csv", "json"):
        raise Http404
    if fmt == "json":
        return _attachment(dictionary_json(), "application/json", "data-dictionary.json")
    return _attachment(dictionary_csv(), "text/csv; charset=utf-8", "data-dictionary.csv")
