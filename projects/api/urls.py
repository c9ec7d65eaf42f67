from django.urls import path

from projects.api.views import ProjectDetailView

urlpatterns = [
    path("", ProjectDetailView.as_view(), name="api-project-detail"),
]
