from django.urls import path

from . import views

app_name = "adherence"

urlpatterns = [
    path("patients/<int:pk>/therapy/", views.therapy, name="therapy"),
    path("me/dose-reminder/", views.dose_reminder, name="dose_reminder"),
]
