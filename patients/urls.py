from django.urls import path

from . import views

app_name = "patients"

urlpatterns = [
    path("staff/", views.staff_home, name="staff_home"),
]
