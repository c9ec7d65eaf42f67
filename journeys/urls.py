"""Console URLs of journeys: the list, the builder and its panels, publish,
status moves, the dry run."""

from django.urls import path

from journeys import views

P = "p/<uuid:project_id>/journeys/"
J = P + "<int:journey_id>/"

urlpatterns = [
    path(P, views.journey_list, name="journeys"),
    path(P + "new/", views.journey_new, name="journey_new"),
    path(J, views.journey_builder, name="journey_builder"),
    path(J + "edit/", views.journey_edit, name="journey_edit"),
    path(J + "graph/", views.journey_graph, name="journey_graph"),
    path(J + "counts/", views.journey_counts, name="journey_counts"),
    path(J + "nodes/<slug:key>/", views.journey_node, name="journey_node"),
    path(J + "nodes/<slug:key>/delete/", views.journey_node_delete, name="journey_node_delete"),
    path(J + "nodes/<slug:key>/test-send/", views.journey_test_send, name="journey_test_send"),
    path(J + "insert/", views.journey_insert, name="journey_insert"),
    path(J + "settings/", views.journey_settings, name="journey_settings"),
    path(J + "preview/", views.journey_preview, name="journey_preview"),
    path(J + "publish/", views.journey_publish, name="journey_publish"),
    path(J + "dry-run/", views.journey_dryrun, name="journey_dryrun"),
    path(J + "<str:action>/", views.journey_status, name="journey_status"),
]
