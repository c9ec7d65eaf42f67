from django.urls import path

from audiences import file_views as views

urlpatterns = [
    path("p/<uuid:project_id>/audience-files/", views.audience_files_page, name="audience_files"),
    path(
        "p/<uuid:project_id>/audience-files/upload/",
        views.upload_audience_file,
        name="upload_audience_file",
    ),
    path(
        "p/<uuid:project_id>/audience-files/sample/",
        views.audience_file_sample,
        name="audience_file_sample",
    ),
    path(
        "p/<uuid:project_id>/audience-files/<uuid:file_id>/",
        views.audience_file_page,
        name="audience_file",
    ),
    path(
        "p/<uuid:project_id>/audience-files/<uuid:file_id>/status/",
        views.audience_file_status,
        name="audience_file_status",
    ),
    path(
        "p/<uuid:project_id>/audience-files/<uuid:file_id>/errors.csv",
        views.audience_file_errors,
        name="audience_file_errors",
    ),
    path(
        "p/<uuid:project_id>/audience-files/<uuid:file_id>/corrected.csv",
        views.audience_file_corrected,
        name="audience_file_corrected",
    ),
    path(
        "p/<uuid:project_id>/audience-files/<uuid:file_id>/delete/",
        views.audience_file_delete,
        name="audience_file_delete",
    ),
]
