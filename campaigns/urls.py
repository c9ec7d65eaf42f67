"""Console URLs of campaigns: list, compose steps, the campaign page, and the
Channels page's test SMS (sent through `campaigns.test_sends`)."""

from django.urls import path

from campaigns import views

P = "p/<uuid:project_id>/campaigns/"
C = P + "<int:campaign_id>/"

urlpatterns = [
    path(P, views.campaign_list, name="campaigns"),
    path(P + "new/", views.campaign_new, name="campaign_new"),
    path(C, views.campaign_detail, name="campaign_detail"),
    path(C + "progress/", views.campaign_progress_partial, name="campaign_progress"),
    path(C + "pause/", views.pause, name="campaign_pause"),
    path(C + "resume/", views.resume, name="campaign_resume"),
    path(C + "cancel/", views.cancel, name="campaign_cancel"),
    path(C + "delete/", views.campaign_delete, name="campaign_delete"),
    path(C + "archive/", views.campaign_archive, name="campaign_archive"),
    path(C + "unarchive/", views.campaign_unarchive, name="campaign_unarchive"),
    path(C + "duplicate/", views.campaign_duplicate, name="campaign_duplicate"),
    path(C + "compose/", views.campaign_compose, name="campaign_compose"),
    path(C + "compose/audience/", views.save_audience, name="campaign_save_audience"),
    path(C + "compose/audience/count/", views.audience_count, name="campaign_audience_count"),
    path(C + "compose/content/", views.save_content, name="campaign_save_content"),
    path(C + "compose/preview/", views.preview, name="campaign_preview"),
    path(C + "compose/test-send/", views.test_send, name="campaign_test_send"),
    path(
        C + "compose/test-send/<int:message_id>/",
        views.test_send_status,
        name="campaign_test_send_status",
    ),
    path(C + "compose/test-numbers/", views.add_test_number, name="campaign_add_test_number"),
    path(
        C + "compose/test-numbers/<int:number_id>/remove/",
        views.remove_test_number,
        name="campaign_remove_test_number",
    ),
    path(C + "compose/review/", views.review, name="campaign_review"),
    path(C + "compose/readiness/", views.readiness, name="campaign_readiness"),
    path(C + "compose/unschedule/", views.unschedule, name="campaign_unschedule"),
    # Not under users/<path:user_id>/, which would take "…/messages/" as part of the id.
    path(
        "p/<uuid:project_id>/user-messages/<path:user_id>/",
        views.customer_messages,
        name="customer_messages",
    ),
    path("p/<uuid:project_id>/channels/test-sms/", views.send_test_sms, name="send_test_sms"),
    path(
        "p/<uuid:project_id>/channels/test-sms/<int:message_id>/",
        views.test_sms_status,
        name="test_sms_status",
    ),
]
