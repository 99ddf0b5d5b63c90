from django.urls import path

from . import sms_views, views

app_name = "followup"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("queue/<int:pk>/", views.flag_detail, name="flag"),
    path("queue/<int:pk>/do/", views.queue_flag, name="queue_flag"),
    path("queue/<int:pk>/actions/", views.flag_actions, name="flag_actions"),
    path("queue/patient/<int:pk>/", views.queue_patient, name="queue_patient"),
    path("queue/burden/", views.burden, name="burden"),
    path("queue/burden.csv", views.burden_csv, name="burden_csv"),
    path("q/<str:token>/", views.questionnaire_link, name="questionnaire_link"),
    path("sms/inbound/", sms_views.sms_inbound, name="sms_inbound"),
    path("sms/stop/<str:token>/", sms_views.sms_stop, name="sms_stop"),
]
