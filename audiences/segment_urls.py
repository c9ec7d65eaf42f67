from django.urls import path

from audiences import segment_views

urlpatterns = [
    path("p/<uuid:project_id>/segments/", segment_views.segment_list, name="segments"),
    path("p/<uuid:project_id>/segments/new/", segment_views.segment_new, name="segment_new"),
    path("p/<uuid:project_id>/segments/count/", segment_views.segment_count, name="segment_count"),
    path(
        "p/<uuid:project_id>/segments/<int:segment_id>/",
        segment_views.segment_detail,
        name="segment_detail",
    ),
    path(
        "p/<uuid:project_id>/segments/<int:segment_id>/count/",
        segment_views.segment_saved_count,
        name="segment_saved_count",
    ),
    path(
        "p/<uuid:project_id>/segments/<int:segment_id>/delete/",
        segment_views.segment_delete,
        name="segment_delete",
    ),
]
