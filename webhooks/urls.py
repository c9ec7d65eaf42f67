"""The SMS channel settings page: webhook endpoint, signing secret, test
event and the delivery log."""

from django.urls import path

from webhooks import views

urlpatterns = [
    path("p/<uuid:project_id>/settings/sms/", views.sms_settings, name="sms_settings"),
    path(
        "p/<uuid:project_id>/settings/sms/webhook/rotate/",
        views.rotate_secret,
        name="webhook_rotate_secret",
    ),
    path(
        "p/<uuid:project_id>/settings/sms/webhook/test/",
        views.send_test_event,
        name="webhook_send_test_event",
    ),
    path(
        "p/<uuid:project_id>/settings/sms/webhook/log/",
        views.delivery_log,
        name="webhook_delivery_log",
    ),
]
