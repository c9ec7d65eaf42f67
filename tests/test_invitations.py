"""Invitations: the link is shown once, stored hashed, works once for 7 days,
and brings a new or existing user into the project with the invited role."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from projects.actions import do_invite_member, hash_token
from projects.models import AuditLog, Invitation, Membership, Role
from tests.support.world import PASSWORD

NEW_PASSWORD = "violet-lantern-orbit-42"


def invite(client, world, email: str, role: str = "marketer"):
    client.force_login(world.alice)
    return client.post(
        reverse("invite_member", args=[world.acme.id]), {"email": email, "role": role}
    )


def link_in(response) -> str:
    match = re.search(r'id="invitation-link">(http[^<]+)<', response.text)
    assert match, "no invitation link on the page"
    return match.group(1).replace("http://testserver", "")


def test_an_invitation_link_is_shown_once_and_only_its_hash_is_stored(client, world):
    response = invite(client, world, "Erin@Example.test", "viewer")
    assert response.status_code == 200
    path = link_in(response)
    raw = path.rstrip("/").rsplit("/", 1)[-1]
    invitation = Invitation.objects.get()
    assert invitation.email == "erin@example.test"
    assert invitation.role == Role.VIEWER
    assert invitation.token_hash == hash_token(raw)
    assert raw not in str(Invitation.objects.values().get())
    assert invitation.expires_at - timezone.now() > timedelta(days=6, hours=23)
    # Afterwards the members page lists it as pending, without the link.
    page = client.get(reverse("members", args=[world.acme.id])).text
    assert 'data-invitation="erin@example.test"' in page
    assert raw not in page
    entry = AuditLog.objects.get(action="member.invited")
    assert (entry.actor, entry.target, entry.detail) == (
        world.alice,
        "erin@example.test",
        {"role": "viewer"},
    )


def test_inviting_an_existing_member_is_refused_clearly(client, world):
    response = invite(client, world, "CAROL@acme.test")
    assert response.status_code == 400
    assert "carol@acme.test is already a member of this project." in response.text
    assert not Invitation.objects.exists()


def test_inviting_someone_with_a_pending_invitation_is_refused_clearly(client, world):
    invite(client, world, "erin@example.test")
    response = invite(client, world, "erin@example.test")
    assert response.status_code == 400
    assert "already has a pending invitation" in response.text
    assert Invitation.objects.count() == 1


def test_a_bad_email_or_role_is_refused_by_field(client, world):
    response = invite(client, world, "not-an-email", "owner")
    assert response.status_code == 400
    assert "Enter a valid email address." in response.text
    assert "Select a valid choice." in response.text
    assert not Invitation.objects.exists()


def test_a_new_user_creates_an_account_and_joins_with_the_invited_role(client, world):
    path = link_in(invite(client, world, "erin@example.test", "marketer"))
    client.logout()
    form = client.get(path)
    assert form.status_code == 200
    assert 'value="erin@example.test" readonly' in form.text
    response = client.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.url == reverse("dashboard", args=[world.acme.id])
    erin = User.objects.get(email="erin@example.test")
    assert erin.check_password(NEW_PASSWORD)
    assert Membership.objects.get(user=erin).role == Role.MARKETER
    assert client.get(response.url).status_code == 200  # logged in and a member
    assert AuditLog.objects.get(action="member.joined").actor == erin
    assert Invitation.objects.get().accepted_at is not None


def test_a_weak_or_mismatched_password_is_refused_and_nothing_is_created(client, world):
    path = link_in(invite(client, world, "erin@example.test"))
    client.logout()
    weak = client.post(path, {"password1": "12345678", "password2": "12345678"})
    assert weak.status_code == 400
    assert "This password is too common." in weak.text
    mismatched = client.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"})
    assert "The two passwords are not the same." in mismatched.text
    assert not User.objects.filter(email="erin@example.test").exists()
    assert Invitation.objects.get().accepted_at is None


def test_an_existing_user_logs_in_first_then_accepts(client, world):
    path = link_in(invite(client, world, "bob@bolt.test", "viewer"))
    client.logout()
    page = client.get(path)
    assert "An account for bob@bolt.test exists." in page.text
    login_url = reverse("login") + "?next=" + path.replace("/", "%2F")
    assert login_url in page.text
    response = client.post(
        reverse("login") + "?next=" + path, {"username": "bob@bolt.test", "password": PASSWORD}
    )
    assert response.url == path
    assert "Join the project" in client.get(path).text
    joined = client.post(path)
    assert joined.url == reverse("dashboard", args=[world.acme.id])
    assert Membership.objects.get(project=world.acme, user=world.bob).role == Role.VIEWER
    # Bob stays admin of his own project.
    assert Membership.objects.get(project=world.bolt, user=world.bob).role == Role.ADMIN


def test_a_user_logged_in_as_someone_else_cannot_accept(client, world):
    path = link_in(invite(client, world, "erin@example.test"))
    client.force_login(world.bob)
    response = client.post(path)
    assert response.status_code == 403
    assert "This invitation is for erin@example.test, but you are logged in as bob@bolt.test." in (
        response.text
    )
    assert not Membership.objects.filter(project=world.acme, user=world.bob).exists()


def test_an_expired_invitation_is_refused(client, world):
    path = link_in(invite(client, world, "erin@example.test"))
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client.logout()
    response = client.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 410
    assert "This invitation expired; ask a project admin for a new one." in response.text
    assert not User.objects.filter(email="erin@example.test").exists()


def test_a_revoked_invitation_is_refused_and_the_revocation_is_recorded(client, world):
    path = link_in(invite(client, world, "erin@example.test"))
    invitation = Invitation.objects.get()
    revoke = client.post(
        reverse("revoke_invitation", args=[world.acme.id, invitation.id]), follow=True
    )
    assert "The invitation for erin@example.test was revoked." in revoke.text
    assert 'data-invitation="erin@example.test"' not in revoke.text
    assert AuditLog.objects.get(action="invitation.revoked").target == "erin@example.test"
    client.logout()
    response = client.get(path)
    assert response.status_code == 410
    assert "This invitation was revoked by a project admin." in response.text


def test_a_used_invitation_cannot_be_used_again(client, world):
    path = link_in(invite(client, world, "erin@example.test"))
    client.logout()
    client.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    client.logout()
    response = client.get(path)
    assert response.status_code == 410
    assert "This invitation has already been used." in response.text
    assert Membership.objects.filter(user__email="erin@example.test").count() == 1


def test_an_unknown_invitation_link_is_refused(client, world):
    response = client.get(reverse("invitation", args=["made-up-token"]))
    assert response.status_code == 404
    assert "This invitation link is not valid." in response.text


def test_accepting_twice_through_the_action_joins_once(world):
    from django.core.exceptions import ValidationError

    from projects.actions import do_accept_invitation

    invitation, _ = do_invite_member(world.acme, "bob@bolt.test", Role.VIEWER, world.alice)
    do_accept_invitation(invitation, world.bob)
    with pytest.raises(ValidationError):
        do_accept_invitation(invitation, world.bob)
    assert Membership.objects.filter(project=world.acme, user=world.bob).count() == 1
