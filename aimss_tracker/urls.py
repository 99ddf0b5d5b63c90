from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from adherence import apis as adherence_apis
from patients import apis as patient_apis
from patients import views as patient_views

router = SimpleRouter()
router.register("patients", patient_apis.PatientViewSet, basename="patient")
router.register("ai-courses", adherence_apis.AiCourseViewSet, basename="ai-course")
router.register("regimen-changes", adherence_apis.RegimenChangeViewSet, basename="regimen-change")
router.register(
    "treatment-events", adherence_apis.TreatmentEventViewSet, basename="treatment-event"
)
router.register("interventions", adherence_apis.InterventionViewSet, basename="intervention")
router.register("check-ins", adherence_apis.CheckInViewSet, basename="check-in")

api_patterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "patients/<int:pk>/survival/",
        adherence_apis.SurvivalView.as_view(),
        name="patient-survival",
    ),
    *router.urls,
]

urlpatterns = [
    path("", patient_views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("patients.urls")),
    path("", include("adherence.urls")),
    path("api/v1/", include((api_patterns, "api"))),
    path("admin/", admin.site.urls),
]

if settings.AIMSS_BENCH:
    urlpatterns.append(path("bench/", include("bench.urls")))

admin.site.site_header = "AIMSS Tracker administration"
admin.site.site_title = "AIMSS Tracker"
