"""Platform staff in the Django admin: projects, members, invitations, tokens
(never their hashes) and the read-only audit log."""

from __future__ import annotations

from django.urls import reverse

from projects.actions import do_invite_member
from projects.models import ApiToken, AuditLog, Role


def test_staff_browse_every_tenancy_list_and_search_projects(client, world):
    do_invite_member(world.acme, "erin@example.test", Role.VIEWER, world.alice)
    client.force_login(world.staff)
    for name in ["project", "membership", "invitation", "apitoken", "auditlog"]:
        response = client.get(reverse(f"admin:projects_{name}_changelist"))
        assert response.status_code == 200, name
    found = client.get(reverse("admin:projects_project_changelist"), {"q": "에이크미"}).text
    assert "Acme" in found
    assert "Bolt" not in found
    page = client.get(reverse("admin:projects_project_change", args=[world.acme.pk])).text
    assert "carol@acme.test" in page  # memberships inline


def test_staff_never_see_token_or_invitation_hashes(client, world):
    invitation, _ = do_invite_member(world.acme, "erin@example.test", Role.VIEWER, world.alice)
    token = world.acme.api_tokens.get()
    client.force_login(world.staff)
    token_page = client.get(reverse("admin:projects_apitoken_change", args=[token.pk])).text
    assert token.prefix in token_page
    assert token.token_hash not in token_page
    invitation_page = client.get(
        reverse("admin:projects_invitation_change", args=[invitation.pk])
    ).text
    assert "erin@example.test" in invitation_page
    assert invitation.token_hash not in invitation_page


def test_staff_revoke_tokens_through_the_action_and_it_is_audited(client, world):
    client.force_login(world.staff)
    tokens = list(ApiToken.objects.values_list("pk", flat=True))
    response = client.post(
        reverse("admin:projects_apitoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": tokens},
        follow=True,
    )
    assert "2 tokens revoked." in response.text
    assert not ApiToken.objects.filter(revoked_at=None).exists()
    revoked = AuditLog.objects.filter(action="api_token.revoked")
    assert revoked.count() == 2
    assert {entry.actor_label for entry in revoked} == {"platform staff staff@munja.test"}


def test_the_audit_log_cannot_be_changed_or_deleted_in_the_admin(client, world):
    entry = AuditLog.objects.get(project=world.acme, action="project.created")
    client.force_login(world.staff)
    change = client.post(
        reverse("admin:projects_auditlog_change", args=[entry.pk]), {"action": "forged"}
    )
    assert change.status_code == 403
    delete = client.post(
        reverse("admin:projects_auditlog_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    entry.refresh_from_db()
    assert entry.action == "project.created"
