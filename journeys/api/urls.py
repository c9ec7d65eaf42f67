"""Journeys under /v1/projects/<project_id>/."""

from django.urls import path

from journeys.api import views

J = "journeys/<int:journey_id>"

urlpatterns = [
    path("journeys", views.JourneyListView.as_view(), name="api_journeys"),
    path(J, views.JourneyDetailView.as_view(), name="api_journey"),
    path(f"{J}/versions", views.JourneyVersionListView.as_view(), name="api_journey_versions"),
    path(
        f"{J}/versions/<int:number>",
        views.JourneyVersionView.as_view(),
        name="api_journey_version",
    ),
    path(f"{J}/draft", views.JourneyDraftView.as_view(), name="api_journey_draft"),
    path(
        f"{J}/draft/validate",
        views.JourneyValidateView.as_view(),
        name="api_journey_validate",
    ),
    path(f"{J}/publish", views.JourneyPublishView.as_view(), name="api_journey_publish"),
    path(f"{J}/activate", views.JourneyActivateView.as_view(), name="api_journey_activate"),
    path(f"{J}/pause", views.JourneyPauseView.as_view(), name="api_journey_pause"),
    path(f"{J}/resume", views.JourneyResumeView.as_view(), name="api_journey_resume"),
    path(f"{J}/stop", views.JourneyStopView.as_view(), name="api_journey_stop"),
    path(
        f"{J}/statistics",
        views.JourneyStatisticsView.as_view(),
        name="api_journey_statistics",
    ),
    path(f"{J}/dry-run", views.JourneyDryRunView.as_view(), name="api_journey_dry_run"),
    path("journey-runs", views.JourneyRunListView.as_view(), name="api_journey_runs"),
]
