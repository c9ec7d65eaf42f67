"""Console URLs for logging in, members, invitations, API tokens and the audit log."""

from django.urls import path

from projects import views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("switch/", views.switch_project, name="switch_project"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("p/<uuid:project_id>/members/", views.members, name="members"),
    path("p/<uuid:project_id>/members/invite/", views.invite_member, name="invite_member"),
    path(
        "p/<uuid:project_id>/members/<int:membership_id>/role/",
        views.change_member_role,
        name="change_member_role",
    ),
    path(
        "p/<uuid:project_id>/members/<int:membership_id>/remove/",
        views.remove_member,
        name="remove_member",
    ),
    path(
        "p/<uuid:project_id>/invitations/<int:invitation_id>/revoke/",
        views.revoke_invitation,
        name="revoke_invitation",
    ),
    path("p/<uuid:project_id>/profile/", views.my_profile, name="my_profile"),
    path("p/<uuid:project_id>/tokens/", views.api_tokens, name="api_tokens"),
    path(
        "p/<uuid:project_id>/tokens/<int:token_id>/revoke/",
        views.revoke_api_token,
        name="revoke_api_token",
    ),
    path("p/<uuid:project_id>/audit/", views.audit_log, name="audit_log"),
]
