from django.urls import path

from . import views

app_name = "patients"

urlpatterns = [
    path("staff/", views.staff_home, name="staff_home"),
    path("clinics/<int:clinic_id>/settings/", views.clinic_settings, name="clinic_settings"),
]
