"""REST API for users and the Track call, under /v1/projects/<project_id>/."""

from django.urls import path

from audiences.api import views

urlpatterns = [
    path("track", views.TrackView.as_view(), name="api_track"),
    # path: a userId may contain a slash (sent as %2F).
    path("users/<path:user_id>", views.UserDetailView.as_view(), name="api_user"),
]
