"""The statistics API, under /v1/projects/<project_id>/."""

from django.urls import path

from stats import api

urlpatterns = [
    path(
        "campaigns/<int:campaign_id>/stats",
        api.CampaignStatsView.as_view(),
        name="api_campaign_stats",
    ),
    path(
        "campaigns/<int:campaign_id>/stats.csv",
        api.CampaignStatsCsvView.as_view(),
        name="api_campaign_stats_csv",
    ),
]
