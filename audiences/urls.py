"""Console URLs for customers, shown as "Users" in the console."""

from django.urls import path

from audiences import views

urlpatterns = [
    path("p/<uuid:project_id>/users/", views.customer_list, name="customers"),
    # path: a userId may contain a slash.
    path("p/<uuid:project_id>/users/<path:user_id>/", views.customer_detail, name="customer"),
]
