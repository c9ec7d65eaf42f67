from django.urls import path

from channels import views

urlpatterns = [
    path("p/<uuid:project_id>/channels/", views.channels_page, name="channels"),
]
