"""The analytics page: the cohort report for researchers, clinicians and administrators.

Only aggregates are shown; the clinics offered are the user's own; a job
belongs to the user who asked for it (404 for anyone else but an administrator).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from patients.access import analytics_required

from .charts import report_charts
from .forms import CohortFilterForm
from .models import JobStatus
from .services import clinics_for, jobs_visible_to, report_job_request

RECENT_JOBS = 10
POLL_SECONDS = 2


@analytics_required
def home(request: HttpRequest) -> HttpResponse:
    clinics = clinics_for(request.user)
    data = request.POST if request.method == "POST" else None
    form = CohortFilterForm(data, clinics=clinics)
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
            "charts": report_charts(report) if report else {},
            "poll_seconds": POLL_SECONDS
            if report_job.status in (JobStatus.PENDING, JobStatus.RUNNING)
            else None,
        },
    )
