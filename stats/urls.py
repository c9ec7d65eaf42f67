"""Console URLs for statistics."""

from django.urls import path

from stats import views

urlpatterns = [
    path("p/<uuid:project_id>/stats/", views.project_stats, name="project_stats"),
    path(
        "p/<uuid:project_id>/campaigns/<int:campaign_id>/stats",
        views.campaign_stats,
        name="campaign_stats",
    ),
    path(
        "p/<uuid:project_id>/campaigns/<int:campaign_id>/stats.csv",
        views.campaign_stats_csv,
        name="campaign_stats_csv",
    ),
]
