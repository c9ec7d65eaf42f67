from django.urls import path

from conversions import views

urlpatterns = [
    path("l/<str:code>", views.follow_link, name="follow_link"),
]
