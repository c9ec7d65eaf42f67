"""REST API for audience files, under /v1/projects/<project_id>/."""

from django.urls import path

from audiences.api import file_views as views

urlpatterns = [
    path("audience-files", views.AudienceFileListView.as_view(), name="api_audience_files"),
    path(
        "audience-files/sample",
        views.AudienceFileSampleView.as_view(),
        name="api_audience_file_sample",
    ),
    path(
        "audience-files/<uuid:file_id>",
        views.AudienceFileDetailView.as_view(),
        name="api_audience_file",
    ),
    path(
        "audience-files/<uuid:file_id>/errors.csv",
        views.AudienceFileErrorReportView.as_view(),
        name="api_audience_file_errors",
    ),
    path(
        "audience-files/<uuid:file_id>/corrected.csv",
        views.AudienceFileCorrectedView.as_view(),
        name="api_audience_file_corrected",
    ),
]
