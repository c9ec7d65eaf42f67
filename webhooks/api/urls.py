"""REST API of the opt-out webhook, under /v1/projects/<project_id>/."""

from django.urls import path

from webhooks.api import views

urlpatterns = [
    path("sms/webhook", views.SmsWebhookView.as_view(), name="api_sms_webhook"),
]
