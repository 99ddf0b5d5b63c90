from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("analytics/", views.home, name="home"),
    path("analytics/jobs/<int:pk>/", views.job, name="job"),
    path("analytics/jobs/<int:pk>/tables/<slug:name>.csv", views.job_table, name="table"),
    path("analytics/jobs/<int:pk>/figures/<slug:name>.<str:fmt>", views.job_figure, name="figure"),
    path(
        "analytics/jobs/<int:pk>/dataset.<str:fmt>",
        views.job_dataset,
        name="dataset",
    ),
    path(
        "analytics/data-dictionary.csv",
        views.data_dictionary,
        {"fmt": "csv"},
        name="dictionary_csv",
    ),
    path(
        "analytics/data-dictionary.json",
        views.data_dictionary,
        {"fmt": "json"},
        name="dictionary_json",
    ),
]
