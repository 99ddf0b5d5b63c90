"""Pages: the clinician's patient list and one patient's trajectory with decision support."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from adherence.models import AiCourse
from adherence.views import therapy_forms, therapy_post
from assessments.scoring import PainBand
from patients.access import care_staff_required, get_patient_or_404
from patients.selectors import clinics_of

from .charts import trajectory_figure
from .guidance import decision_support
from .selectors import (
    BAND_HIGH_INTERFERENCE,
    SORTS,
    STRATEGIES,
    PatientListFilters,
    patient_list_page,
    patient_trajectory,
)

RECENT_RESPONSES = 8  # the table under the chart; the full list is one link away


def _filters(request: HttpRequest) -> PatientListFilters:
    get = request.GET
    clinic = get.get("clinic", "")
    band = get.get("band", "")
    strategy = get.get("strategy", "")
    sort = get.get("sort", "")
    return PatientListFilters(
        search=get.get("q", "").strip()[:100],
        clinic_id=int(clinic) if clinic.isdigit() else None,
        band=band if band in (*PainBand.values, BAND_HIGH_INTERFERENCE) else "",
        open_flags=get.get("flags") == "1",
        strategy=strategy if strategy in STRATEGIES else "",
        sort=sort if sort in SORTS else "name",
    )


@care_staff_required
def patients(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    page, rows = patient_list_page(
        user=request.user,  # type: ignore[arg-type]
        filters=filters,
        page_number=request.GET.get("page"),
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "rows": rows,
        "filters": filters,
        "clinics": list(clinics_of(request.user)),  # type: ignore[arg-type]
        "bands": [*PainBand.choices, (BAND_HIGH_INTERFERENCE, "High interference")],
        "strategies": STRATEGIES,
        "sorts": list(SORTS),
        "query": query.urlencode(),
    }
    return render(request, "clinical/patients.html", context)


@care_staff_required
def patient(request: HttpRequest, pk: int) -> HttpResponse:
    """The trajectory page; its record forms post here and come back to the updated chart."""
    patient = get_patient_or_404(request.user, pk)
    bound: dict[str, forms.BaseForm] = {}
    if request.method == "POST":
        bound = therapy_post(request, patient)
        if not bound:
            return redirect("clinical:patient", pk=patient.pk)
    trajectory = patient_trajectory(patient)
    context = {
        "patient": patient,
        "trajectory": trajectory,
        "figure": trajectory_figure(trajectory),
        "support": decision_support(trajectory),
        "current_interventions": trajectory.current_interventions(timezone.localdate()),
        "recent": list(reversed(trajectory.series[-RECENT_RESPONSES:])),
        "has_course": AiCourse.objects.filter(patient=patient).exists(),
        "forms": therapy_forms(bound),
    }
    return render(request, "clinical/patient.html", context, status=400 if bound else 200)
