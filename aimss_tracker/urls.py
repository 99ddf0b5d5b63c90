from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from adherence import apis as adherence_apis
from analytics import apis as analytics_apis
from assessments import apis as assessment_apis
from clinical import apis as clinical_apis
from followup import apis as followup_apis
from interop.urls import api_urlpatterns as interop_api_patterns
from patients import views as patient_views
from patients.permissions import IsStaff

router = SimpleRouter()
router.register("patients", clinical_apis.PatientViewSet, basename="patient")
router.register("flags", followup_apis.FlagViewSet, basename="flag")
router.register("assessments", assessment_apis.ResponseViewSet, basename="assessment")
router.register("ai-courses", adherence_apis.AiCourseViewSet, basename="ai-course")
router.register("regimen-changes", adherence_apis.RegimenChangeViewSet, basename="regimen-change")
router.register(
    "treatment-events", adherence_apis.TreatmentEventViewSet, basename="treatment-event"
)
router.register("interventions", adherence_apis.InterventionViewSet, basename="intervention")
router.register("check-ins", adherence_apis.CheckInViewSet, basename="check-in")

api_patterns = [
    # The schema maps every route: signed-in staff only, as the documentation pages.
    path("schema/", SpectacularAPIView.as_view(permission_classes=[IsStaff]), name="schema"),
    path(
        "patients/<int:pk>/survival/",
        adherence_apis.SurvivalView.as_view(),
        name="patient-survival",
    ),
    path(
        "patients/<int:pk>/trajectory/",
        clinical_apis.TrajectoryView.as_view(),
        name="patient-trajectory",
    ),
    path(
        "patients/<int:pk>/assessments/",
        assessment_apis.TelephoneEntryView.as_view(),
        name="patient-telephone-assessment",
    ),
    path("analytics/reports/", analytics_apis.ReportListView.as_view(), name="analytics-reports"),
    path(
        "analytics/reports/<int:pk>/",
        analytics_apis.ReportDetailView.as_view(),
        name="analytics-report",
    ),
    path(
        "analytics/reports/<int:pk>/tables/<slug:name>/",
        analytics_apis.ReportTableView.as_view(),
        name="analytics-report-table",
    ),
    path(
        "analytics/reports/<int:pk>/figures/<slug:name>.<str:fmt>",
        analytics_apis.ReportFigureView.as_view(),
        name="analytics-report-figure",
    ),
    path(
        "analytics/reports/<int:pk>/dataset.<str:fmt>",
        analytics_apis.ReportDatasetView.as_view(),
        name="analytics-report-dataset",
    ),
    path(
        "analytics/data-dictionary/",
        analytics_apis.DataDictionaryView.as_view(),
        name="analytics-data-dictionary",
    ),
    *interop_api_patterns,
    *router.urls,
]

account_patterns = [
    path("accounts/login/", patient_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", patient_views.LogoutView.as_view(), name="logout"),
    path("accounts/mfa/", patient_views.mfa_verify, name="mfa_verify"),
    path("accounts/language/", patient_views.language_change, name="language_change"),
    path("accounts/profile/", patient_views.profile, name="profile"),
    path("accounts/mfa/setup/", patient_views.mfa_setup, name="mfa_setup"),
    path("accounts/password/", patient_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "accounts/password/reset/", patient_views.PasswordResetView.as_view(), name="password_reset"
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        patient_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "accounts/invitation/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/invitation_complete.html"
        ),
        name="invitation_complete",
    ),
    path(
        "accounts/invitation/<uidb64>/<token>/",
        patient_views.InvitationConfirmView.as_view(),
        name="invitation_confirm",
    ),
]

urlpatterns = [
    path("", patient_views.home, name="home"),
    *account_patterns,
    path("", include("patients.urls")),
    path("", include("followup.urls")),
    path("", include("assessments.urls")),
    path("", include("adherence.urls")),
    path("", include("clinical.urls")),
    path("", include("analytics.urls")),
    path("api/v1/", include((api_patterns, "api"))),
    # set_language: the switch on pages for visitors not signed in (users keep their preference)
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

if settings.AIMSS_BENCH:
    urlpatterns.append(path("bench/", include("bench.urls")))

admin.site.site_header = "AIMSS Tracker administration"
admin.site.site_title = "AIMSS Tracker"
