from django.urls import path

from channels import views

urlpatterns = [
    path("p/<uuid:project_id>/channels/", views.channels_page, name="channels"),
    path(
        "p/<uuid:project_id>/channels/sender-numbers/new/",
        views.register_sender_number,
        name="register_sender_number",
    ),
    path(
        "p/<uuid:project_id>/channels/sender-numbers/<int:sender_id>/default/",
        views.set_default_sender,
        name="set_default_sender",
    ),
    path(
        "p/<uuid:project_id>/channels/sender-numbers/<int:sender_id>/documents/<int:document_id>/",
        views.sender_document,
        name="sender_document",
    ),
]
