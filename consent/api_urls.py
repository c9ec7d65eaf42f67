"""The consent API, under /v1/projects/<project_id>/."""

from django.urls import path

from consent import api

urlpatterns = [
    path("consent/notices", api.ConsentNoticesView.as_view(), name="api_consent_notices"),
]
