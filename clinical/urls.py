from django.urls import path

from . import views

app_name = "clinical"

urlpatterns = [
    path("me/", views.patient_home, name="patient_home"),
    path("me/check-in/", views.check_in, name="check_in"),
    path("me/check-in/done/", views.check_in_done, name="check_in_done"),
    path("me/summary/", views.my_summary, name="my_summary"),
    path("patients/", views.patients, name="patients"),
    path("patients/enrol/", views.enrol, name="enrol"),
    path("patients/<int:pk>/", views.patient, name="patient"),
    path("patients/<int:pk>/summary/", views.patient_summary, name="patient_summary"),
    path("patients/<int:pk>/invitation/", views.invitation_resend, name="invitation_resend"),
    path("patients/<int:pk>/record/<slug:name>/", views.record_form, name="record_form"),
]
