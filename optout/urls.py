"""Console URLs of the opt-out list."""

from django.urls import path

from optout import views

urlpatterns = [
    path("p/<uuid:project_id>/optouts/", views.optout_list, name="optouts"),
    path("p/<uuid:project_id>/optouts/add/", views.add_optouts, name="optouts_add"),
    path("p/<uuid:project_id>/optouts/remove/", views.remove_optouts, name="optouts_remove"),
    path("p/<uuid:project_id>/optouts/history/", views.optout_history, name="optout_history"),
    path(
        "p/<uuid:project_id>/optouts/export.<str:fmt>",
        views.export_optouts,
        name="optouts_export",
    ),
    path("p/<uuid:project_id>/optouts/import/", views.import_optouts, name="optouts_import"),
    path(
        "p/<uuid:project_id>/optouts/import/<uuid:import_id>/",
        views.optout_import,
        name="optout_import",
    ),
    path(
        "p/<uuid:project_id>/optouts/import/<uuid:import_id>/status/",
        views.optout_import_status,
        name="optout_import_status",
    ),
    path("p/<uuid:project_id>/optouts/policy/", views.set_policy, name="optout_policy"),
]
