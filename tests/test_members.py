"""The members page: roles, removal, the last-admin rule and each member's own
phone number for test sends."""

from __future__ import annotations

import pytest
from django.urls import reverse

from projects.models import AuditLog, Membership, Role


def membership(world, who: str) -> Membership:
    return Membership.objects.get(project=world.acme, user=getattr(world, who))


def test_an_admin_sees_every_member_with_role_and_phone_number(client, world):
    Membership.objects.filter(user=world.carol).update(phone_number="+821012345678")
    client.force_login(world.alice)
    text = client.get(reverse("members", args=[world.acme.id])).text
    for email in ["alice@acme.test", "carol@acme.test", "dave@acme.test"]:
        assert f'data-member="{email}"' in text
    assert "+821012345678" in text
    assert "bob@bolt.test" not in text


def test_an_admin_changes_a_role_and_the_audit_log_records_it(client, world):
    client.force_login(world.alice)
    url = reverse("change_member_role", args=[world.acme.id, membership(world, "dave").id])
    response = client.post(url, {"role": "marketer"}, follow=True)
    assert "dave@acme.test is now Marketer." in response.text
    assert membership(world, "dave").role == Role.MARKETER
    entry = AuditLog.objects.get(action="member.role_changed")
    assert (entry.project, entry.actor, entry.target) == (world.acme, world.alice, "dave@acme.test")
    assert entry.detail == {"old": "viewer", "new": "marketer"}


def test_an_unknown_role_is_refused_with_a_clear_message(client, world):
    client.force_login(world.alice)
    url = reverse("change_member_role", args=[world.acme.id, membership(world, "dave").id])
    response = client.post(url, {"role": "owner"}, follow=True)
    assert "Choose a role: Admin, Marketer or Viewer." in response.text
    assert membership(world, "dave").role == Role.VIEWER


def test_the_last_admin_cannot_demote_themselves(client, world):
    client.force_login(world.alice)
    url = reverse("change_member_role", args=[world.acme.id, membership(world, "alice").id])
    response = client.post(url, {"role": "viewer"}, follow=True)
    assert (
        "alice@acme.test is the last admin of this project; make someone else admin first."
        in response.text
    )
    assert membership(world, "alice").role == Role.ADMIN
    assert not AuditLog.objects.filter(action="member.role_changed").exists()


def test_the_last_admin_cannot_be_removed(client, world):
    client.force_login(world.alice)
    url = reverse("remove_member", args=[world.acme.id, membership(world, "alice").id])
    response = client.post(url, follow=True)
    assert "alice@acme.test is the last admin of this project and cannot be removed." in (
        response.text
    )
    assert membership(world, "alice")


def test_with_a_second_admin_an_admin_may_step_down(client, world):
    Membership.objects.filter(user=world.carol).update(role=Role.ADMIN)
    client.force_login(world.alice)
    url = reverse("change_member_role", args=[world.acme.id, membership(world, "alice").id])
    response = client.post(url, {"role": "viewer"})
    # She may no longer see the members page, so she lands on the dashboard.
    assert response.url == reverse("dashboard", args=[world.acme.id])
    assert membership(world, "alice").role == Role.VIEWER


def test_removing_a_member_asks_first_then_removes_and_records_it(client, world):
    client.force_login(world.alice)
    url = reverse("remove_member", args=[world.acme.id, membership(world, "carol").id])
    confirm = client.get(url)
    assert "Remove carol@acme.test from Acme?" in confirm.text
    assert Membership.objects.filter(user=world.carol).exists()
    response = client.post(url, follow=True)
    assert "carol@acme.test was removed." in response.text
    assert not Membership.objects.filter(user=world.carol).exists()
    assert AuditLog.objects.get(action="member.removed").target == "carol@acme.test"
    # Carol's access ends at once.
    client.force_login(world.carol)
    assert client.get(reverse("dashboard", args=[world.acme.id])).status_code == 404


@pytest.mark.parametrize("who", ["alice", "carol", "dave"])
def test_every_member_sets_their_own_phone_number(client, world, who):
    client.force_login(getattr(world, who))
    url = reverse("my_profile", args=[world.acme.id])
    response = client.post(url, {"phone_number": "+821099998888"}, follow=True)
    assert "Your profile in this project was saved." in response.text
    assert membership(world, who).phone_number == "+821099998888"
    # Only their own row, only in this project.
    others = Membership.objects.exclude(pk=membership(world, who).pk)
    assert not others.filter(phone_number="+821099998888").exists()


def test_a_national_format_phone_number_is_refused_with_its_e164_form(client, world):
    client.force_login(world.dave)
    url = reverse("my_profile", args=[world.acme.id])
    response = client.post(url, {"phone_number": "010-1234-5678"})
    assert response.status_code == 400
    assert "is not in E.164 format; write it as +821012345678." in response.text
    assert membership(world, "dave").phone_number == ""


def test_a_phone_number_that_is_not_one_is_refused(client, world):
    client.force_login(world.dave)
    response = client.post(reverse("my_profile", args=[world.acme.id]), {"phone_number": "+8212"})
    assert response.status_code == 400
    assert "is not a valid phone number in E.164 format" in response.text


def test_an_empty_phone_number_clears_it(client, world):
    Membership.objects.filter(user=world.dave).update(phone_number="+821012345678")
    client.force_login(world.dave)
    client.post(reverse("my_profile", args=[world.acme.id]), {"phone_number": ""})
    assert membership(world, "dave").phone_number == ""
