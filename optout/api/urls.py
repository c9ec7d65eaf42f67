"""The opt-out list API, under /v1/projects/<project_id>/."""

from django.urls import path

from optout.api import views

urlpatterns = [
    path("sms/unsubscribe", views.UnsubscribeView.as_view(), name="api_sms_unsubscribe"),
    path("sms/subscribe", views.SubscribeView.as_view(), name="api_sms_subscribe"),
    path("sms/unsubscribes", views.UnsubscribeListView.as_view(), name="api_sms_unsubscribes"),
]
