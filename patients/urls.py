from django.urls import path

from . import views

app_name = "patients"

urlpatterns = [
    path("me/", views.patient_home, name="patient_home"),
    path("staff/", views.staff_home, name="staff_home"),
]
