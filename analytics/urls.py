from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("analytics/", views.home, name="home"),
    path("analytics/jobs/<int:pk>/", views.job, name="job"),
]
