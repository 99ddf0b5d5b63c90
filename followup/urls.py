from django.urls import path

from . import sms_views, views

app_name = "followup"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("queue/<int:pk>/", views.flag_detail, name="flag"),
    path("q/<str:token>/", views.questionnaire_link, name="questionnaire_link"),
    path("sms/inbound/", sms_views.sms_inbound, name="sms_inbound"),
    path("sms/stop/<str:token>/", sms_views.sms_stop, name="sms_stop"),
]
