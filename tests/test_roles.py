"""Who may open which tenancy screen: admins only for members, tokens and the
audit log; every member for the dashboard and their own profile; nobody for
another project's screens."""

from __future__ import annotations

import pytest
from django.urls import reverse

from projects.models import Invitation, Membership, Role


@pytest.fixture
def admin_requests(world):
    """(method, url) for every admin-only screen and action in Acme."""
    from projects.actions import do_invite_member

    invitation, _ = do_invite_member(world.acme, "new@acme.test", Role.VIEWER, world.alice)
    carol = Membership.objects.get(project=world.acme, user=world.carol)
    token = world.acme.api_tokens.first()
    pid = world.acme.id
    return [
        ("get", reverse("members", args=[pid])),
        ("post", reverse("invite_member", args=[pid])),
        ("post", reverse("change_member_role", args=[pid, carol.id])),
        ("get", reverse("remove_member", args=[pid, carol.id])),
        ("post", reverse("remove_member", args=[pid, carol.id])),
        ("post", reverse("revoke_invitation", args=[pid, invitation.id])),
        ("get", reverse("api_tokens", args=[pid])),
        ("post", reverse("api_tokens", args=[pid])),
        ("get", reverse("revoke_api_token", args=[pid, token.id])),
        ("post", reverse("revoke_api_token", args=[pid, token.id])),
        ("get", reverse("audit_log", args=[pid])),
    ]


ROLE_DATA = {"role": "admin", "email": "x@acme.test", "name": "sneaky"}


@pytest.mark.parametrize(
    ("who", "label"), [("dave", "Viewer"), ("carol", "Marketer")], ids=["viewer", "marketer"]
)
def test_viewers_and_marketers_get_403_on_every_admin_screen(
    client, world, admin_requests, who, label
):
    client.force_login(getattr(world, who))
    for method, url in admin_requests:
        response = getattr(client, method)(url, ROLE_DATA if method == "post" else None)
        assert response.status_code == 403, (method, url)
        assert f"Your role ({label}) may not do this; it needs Admin." in response.text
        # The error page is a full console page, not Django's bare one.
        assert 'class="topbar"' in response.text
    # Nothing changed behind the refusals.
    assert Membership.objects.get(project=world.acme, user=world.carol).role == Role.MARKETER
    assert not Invitation.objects.filter(revoked_at__isnull=False).exists()
    assert world.acme.api_tokens.filter(revoked_at=None).count() == 1
    assert not world.acme.api_tokens.filter(name="sneaky").exists()


def test_another_projects_admin_gets_404_on_every_admin_screen(client, world, admin_requests):
    client.force_login(world.bob)
    for method, url in admin_requests:
        response = getattr(client, method)(url, ROLE_DATA if method == "post" else None)
        assert response.status_code == 404, (method, url)
        assert "Page not found" in response.text


def test_a_visitor_is_sent_to_log_in_from_every_admin_screen(client, world, admin_requests):
    for method, url in admin_requests:
        response = getattr(client, method)(url, ROLE_DATA if method == "post" else None)
        assert response.status_code == 302, (method, url)
        assert response.url.startswith(reverse("login"))


def test_an_admin_cannot_reach_another_projects_rows_through_their_own_project(client, world):
    bob_membership = Membership.objects.get(project=world.bolt, user=world.bob)
    bolt_token = world.bolt.api_tokens.first()
    client.force_login(world.alice)
    pid = world.acme.id
    assert (
        client.post(
            reverse("change_member_role", args=[pid, bob_membership.id]), {"role": "viewer"}
        ).status_code
        == 404
    )
    assert client.post(reverse("remove_member", args=[pid, bob_membership.id])).status_code == 404
    assert client.post(reverse("revoke_api_token", args=[pid, bolt_token.id])).status_code == 404
    bob_membership.refresh_from_db()
    bolt_token.refresh_from_db()
    assert bob_membership.role == Role.ADMIN
    assert bolt_token.is_active


@pytest.mark.parametrize("who", ["alice", "carol", "dave"])
def test_every_member_sees_the_dashboard_and_their_profile(client, world, who):
    client.force_login(getattr(world, who))
    dashboard = client.get(reverse("dashboard", args=[world.acme.id]))
    assert dashboard.status_code == 200
    assert "에이크미 주식회사" in dashboard.text
    assert client.get(reverse("my_profile", args=[world.acme.id])).status_code == 200
    # Only admins get the admin links in the navigation.
    members_url = reverse("members", args=[world.acme.id])
    assert (members_url in dashboard.text) == (who == "alice")


def test_the_dashboard_counts_sender_numbers_by_status_and_shows_the_080_number(client, world):
    from channels.models import OptOutNumber, SenderNumber

    for number, status in [
        ("+821011110001", "approved"),
        ("+821011110002", "approved"),
        ("+821011110003", "pending"),
    ]:
        SenderNumber.objects.create(
            project=world.acme,
            number=number,
            owner_type="company",
            owner_name="Acme",
            status=status,
        )
    SenderNumber.objects.create(
        project=world.bolt, number="+821011110009", owner_type="company", owner_name="Bolt"
    )
    OptOutNumber.objects.create(number="+82801234567", project=world.acme)
    client.force_login(world.dave)
    text = client.get(reverse("dashboard", args=[world.acme.id])).text
    assert '<span data-status="approved">2</span>' in text
    assert '<span data-status="pending">1</span>' in text
    assert "080-123-4567" in text


def test_a_foreign_dashboard_is_404(client, world):
    client.force_login(world.alice)
    assert client.get(reverse("dashboard", args=[world.bolt.id])).status_code == 404


def test_the_project_switcher_remembers_the_last_project(client, world):
    from projects.models import Membership

    Membership.objects.create(project=world.bolt, user=world.alice, role=Role.VIEWER)
    client.force_login(world.alice)
    response = client.get(reverse("switch_project"), {"project": str(world.bolt.id)})
    assert response.url == reverse("dashboard", args=[world.bolt.id])
    assert client.get(reverse("home")).url == reverse("dashboard", args=[world.bolt.id])
    client.get(reverse("switch_project"), {"project": str(world.acme.id)})
    assert client.get(reverse("home")).url == reverse("dashboard", args=[world.acme.id])


def test_the_project_switcher_refuses_a_foreign_or_broken_project_with_404(client, world):
    client.force_login(world.alice)
    assert client.get(reverse("switch_project"), {"project": str(world.bolt.id)}).status_code == 404
    assert client.get(reverse("switch_project"), {"project": "not-a-uuid"}).status_code == 404
    assert client.get(reverse("switch_project")).status_code == 404


def test_the_error_pages_render_as_console_pages(client, world):
    from django.template.loader import render_to_string

    # Django renders 500.html without a request context; it must still work.
    assert "Something went wrong on our side" in render_to_string("500.html")
    anonymous = client.get("/no-such-page/")
    assert anonymous.status_code == 404
    assert 'class="topbar"' in anonymous.text
    assert "Page not found" in anonymous.text
