"""Console URLs of consent: the consent page and the history export."""

from django.urls import path

from consent import views

urlpatterns = [
    path("p/<uuid:project_id>/consent/", views.consent_page, name="consent"),
    path(
        "p/<uuid:project_id>/consent/history.csv", views.export_history, name="consent_history_csv"
    ),
    path(
        "p/<uuid:project_id>/consent/users/<path:user_id>/",
        views.change_consents,
        name="consent_change",
    ),
]
