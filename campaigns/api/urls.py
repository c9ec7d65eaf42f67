"""The Send API, messages and campaigns, under /v1/projects/<project_id>/."""

from django.urls import path

from campaigns.api import views

urlpatterns = [
    path("sms", views.SendSmsView.as_view(), name="api_send_sms"),
    path("messages/<int:message_id>", views.MessageDetailView.as_view(), name="api_message"),
    path("campaigns", views.CampaignListView.as_view(), name="api_campaigns"),
    path("campaigns/<int:campaign_id>", views.CampaignDetailView.as_view(), name="api_campaign"),
    path(
        "campaigns/<int:campaign_id>/schedule",
        views.CampaignScheduleView.as_view(),
        name="api_campaign_schedule",
    ),
    path(
        "campaigns/<int:campaign_id>/send",
        views.CampaignSendView.as_view(),
        name="api_campaign_send",
    ),
    path(
        "campaigns/<int:campaign_id>/pause",
        views.CampaignPauseView.as_view(),
        name="api_campaign_pause",
    ),
    path(
        "campaigns/<int:campaign_id>/resume",
        views.CampaignResumeView.as_view(),
        name="api_campaign_resume",
    ),
    path(
        "campaigns/<int:campaign_id>/cancel",
        views.CampaignCancelView.as_view(),
        name="api_campaign_cancel",
    ),
]
