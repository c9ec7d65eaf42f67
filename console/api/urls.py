"""/v1/: the OpenAPI schema, its reference, and each app's project-scoped API."""

from django.urls import include, path, re_path

from console.api import errors, schema

urlpatterns = [
    path("schema", schema.SchemaView.as_view(), name="api-schema"),
    path("docs", schema.docs, name="api-docs"),
    path("projects/<uuid:project_id>", include("projects.api.urls")),
    path("projects/<uuid:project_id>/", include("channels.api.urls")),
    path("projects/<uuid:project_id>/", include("audiences.api.urls")),
    path("projects/<uuid:project_id>/", include("audiences.api.segment_urls")),
    path("projects/<uuid:project_id>/", include("audiences.api.file_urls")),
    path("projects/<uuid:project_id>/", include("optout.api.urls")),
    path("projects/<uuid:project_id>/", include("webhooks.api.urls")),
    path("projects/<uuid:project_id>/", include("campaigns.api.urls")),
    path("projects/<uuid:project_id>/", include("journeys.api.urls")),
    path("projects/<uuid:project_id>/", include("stats.api_urls")),
    path("projects/<uuid:project_id>/", include("consent.api_urls")),
    # Last: anything else under /v1/ is a JSON 404, never an HTML page.
    re_path(r"^(?P<path>.*)$", errors.not_found),
]
