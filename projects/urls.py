from django.urls import path

from projects import views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("switch/", views.switch_project, name="switch_project"),
    path("p/<uuid:project_id>/members/", views.members, name="members"),
    path("p/<uuid:project_id>/tokens/", views.api_tokens, name="api_tokens"),
    path("p/<uuid:project_id>/audit/", views.audit_log, name="audit_log"),
]
