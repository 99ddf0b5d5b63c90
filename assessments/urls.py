from django.urls import path

from . import views

app_name = "assessments"

urlpatterns = [
    path("assessments/new/", views.response_new, name="new"),
    path("assessments/<int:pk>/", views.response_detail, name="detail"),
    path("assessments/<int:pk>/correct/", views.response_correct_page, name="correct"),
    path("patients/<int:pk>/assessments/", views.patient_responses, name="patient_responses"),
    path("patients/<int:pk>/assessments/new/", views.staff_response_new, name="staff_new"),
]
