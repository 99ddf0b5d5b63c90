"""Pages: the home that sends each role to its place, the patient home, the staff home and
the staff view of one patient."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .access import care_staff_required, get_patient_or_404, patient_required, staff_required
from .models import User
from .selectors import clinics_of, cohort_summary, patient_list

PATIENTS_PER_PAGE = 25


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if user.is_patient_role:
        return redirect("patients:patient_home")
    return redirect("patients:staff_home")


@patient_required
def patient_home(request: HttpRequest) -> HttpResponse:
    patient = getattr(request.user, "patient", None)
    return render(request, "patients/patient_home.html", {"patient": patient})


@staff_required
def staff_home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    context: dict[str, object] = {"clinics": clinics_of(user)}
    if user.is_care_staff or user.is_admin_role:
        search = request.GET.get("q", "").strip()
        clinic_id = request.GET.get("clinic", "")
        patients = patient_list(
            user=user, search=search, clinic_id=int(clinic_id) if clinic_id.isdigit() else None
        )
        context["page"] = Paginator(patients, PATIENTS_PER_PAGE).get_page(request.GET.get("page"))
        context["search"] = search
        context["clinic_id"] = clinic_id
    else:
        context["summary"] = cohort_summary(user=user)
    return render(request, "patients/staff_home.html", context)


@care_staff_required
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_or_404(request.user, pk)
    return render(request, "patients/patient_detail.html", {"patient": patient})
