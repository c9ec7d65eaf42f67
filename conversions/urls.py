from django.urls import path

from conversions import views

urlpatterns = [
    path("l/<str:code>", views.follow_link, name="follow_link"),
    path(
        "p/<uuid:project_id>/campaigns/<int:campaign_id>/compose/goals/",
        views.save_campaign_goals,
        name="campaign_save_goals",
    ),
]
