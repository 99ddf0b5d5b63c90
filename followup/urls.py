from django.urls import path

from . import views

app_name = "followup"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("queue/<int:pk>/", views.flag_detail, name="flag"),
    path("q/<str:token>/", views.questionnaire_link, name="questionnaire_link"),
]
