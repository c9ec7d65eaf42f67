"""REST API for sender numbers, under /v1/projects/<project_id>/."""

from django.urls import path

from channels.api import views

urlpatterns = [
    path("sender-numbers", views.SenderNumberListView.as_view(), name="api_sender_numbers"),
    path(
        "sender-numbers/<int:sender_id>",
        views.SenderNumberDetailView.as_view(),
        name="api_sender_number",
    ),
]
