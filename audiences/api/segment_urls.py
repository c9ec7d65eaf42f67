from django.urls import path

from audiences.api import segment_views

urlpatterns = [
    path("segments", segment_views.SegmentListView.as_view(), name="api_segments"),
    path(
        "segments/count",
        segment_views.SegmentDefinitionCountView.as_view(),
        name="api_segment_definition_count",
    ),
    path(
        "segments/<int:segment_id>", segment_views.SegmentDetailView.as_view(), name="api_segment"
    ),
    path(
        "segments/<int:segment_id>/count",
        segment_views.SegmentCountView.as_view(),
        name="api_segment_count",
    ),
]
