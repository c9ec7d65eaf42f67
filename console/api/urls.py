"""/v1/: the OpenAPI schema, its reference, and each app's project-scoped API."""

from django.urls import include, path

urlpatterns = [
    path("projects/<uuid:project_id>/", include("channels.api.urls")),
]
