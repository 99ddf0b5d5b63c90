from django.urls import path

from . import views

app_name = "adherence"

urlpatterns = [
    path("patients/<int:pk>/therapy/", views.therapy, name="therapy"),
]
