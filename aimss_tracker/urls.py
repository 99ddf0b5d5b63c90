from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from assessments import apis as assessment_apis
from patients import apis as patient_apis
from patients import views as patient_views

router = SimpleRouter()
router.register("patients", patient_apis.PatientViewSet, basename="patient")
router.register("assessments", assessment_apis.ResponseViewSet, basename="assessment")

api_patterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
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
    path("", include("assessments.urls")),
    path("api/v1/", include((api_patterns, "api"))),
    path("admin/", admin.site.urls),
]

if settings.AIMSS_BENCH:
    urlpatterns.append(path("bench/", include("bench.urls")))

admin.site.site_header = "AIMSS Tracker administration"
admin.site.site_title = "AIMSS Tracker"
