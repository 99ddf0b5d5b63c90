"""Routes of the interoperability app, included in the API's namespace (``api:``)."""

from django.urls import path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

from . import apis, views

api_urlpatterns = [
    path("auth/token/", apis.ApiTokenView.as_view(), name="auth-token"),
    path("fhir/Questionnaire/bpi-sf/", apis.QuestionnaireView.as_view(), name="fhir-questionnaire"),
    path(
        "fhir/QuestionnaireResponse/",
        apis.QuestionnaireResponseImportView.as_view(),
        name="fhir-questionnaire-response-import",
    ),
    path("patients/<int:pk>/fhir/", apis.PatientFhirView.as_view(), name="patient-fhir"),
    *[
        path(f"exports/{name}.csv", apis.ExportView.as_view(export=name), name=f"export-{name}")
        for name in ("responses", "events", "interventions", "flags")
    ],
    path(
        "docs/",
        views.docs_page(
            SpectacularSwaggerSplitView.as_view(
                url_name="api:schema", template_name="interop/swagger_ui.html"
            )
        ),
        name="docs",
    ),
    path(
        "redoc/",
        views.docs_page(
            SpectacularRedocView.as_view(url_name="api:schema", template_name="interop/redoc.html"),
            redoc=True,
        ),
        name="redoc",
    ),
]
