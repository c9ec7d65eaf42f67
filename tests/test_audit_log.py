"""The audit log page: admins only, newest first, 50 a page, filtered by
action, times in the project's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from projects.actions import record_audit
from projects.models import AuditLog


def test_an_admin_sees_the_projects_entries_newest_first_with_readable_actions(client, world):
    client.force_login(world.alice)
    client.post(
        reverse("invite_member", args=[world.acme.id]), {"email": "e@x.test", "role": "viewer"}
    )
    text = client.get(reverse("audit_log", args=[world.acme.id])).text
    invited = text.index('data-action="member.invited"')
    created = text.index('data-action="project.created"')
    assert invited < created
    assert "Member invited" in text
    assert "API token created" in text
    assert "alice@acme.test" in text
    assert "e@x.test" in text
    # Bolt's entries never show in Acme's log.
    assert "bolt integration" not in text


def test_times_are_shown_in_the_projects_time_zone(client, world):
    entry = record_audit(world.acme, world.alice, "member.invited", "tz@x.test")
    AuditLog.objects.filter(pk=entry.pk).update(created_at=datetime(2030, 1, 1, 0, 0, tzinfo=UTC))
    client.force_login(world.alice)
    text = client.get(reverse("audit_log", args=[world.acme.id])).text
    assert "2030-01-01 09:00:00" in text  # Asia/Seoul is UTC+9
    world.acme.time_zone = "Europe/London"
    world.acme.save()
    text = client.get(reverse("audit_log", args=[world.acme.id])).text
    assert "2030-01-01 00:00:00" in text


def test_the_log_is_filtered_by_action(client, world):
    client.force_login(world.alice)
    text = client.get(
        reverse("audit_log", args=[world.acme.id]), {"action": "project.created"}
    ).text
    assert 'data-action="project.created"' in text
    assert 'data-action="api_token.created"' not in text
    # The filter offers the actions that occur, by their readable names.
    assert '<option value="api_token.created">API token created</option>' in text


def test_the_log_is_paginated_50_to_a_page(client, world):
    for n in range(60):
        record_audit(world.acme, world.alice, "member.invited", f"p{n:02d}@x.test")
    client.force_login(world.alice)
    url = reverse("audit_log", args=[world.acme.id])
    first = client.get(url).text
    assert first.count("<tr data-action=") == 50
    assert "p59@x.test" in first
    assert "Page 1 of 2" in first
    second = client.get(url, {"page": 2}).text
    assert second.count("<tr data-action=") == 12  # 10 invitations + 2 from the world
    assert "p00@x.test" in second


def test_the_page_keeps_the_filter_across_pages(client, world):
    for n in range(55):
        record_audit(world.acme, world.alice, "member.invited", f"p{n:02d}@x.test")
    client.force_login(world.alice)
    url = reverse("audit_log", args=[world.acme.id])
    first = client.get(url, {"action": "member.invited"}).text
    assert "?action=member.invited&amp;page=2" in first
    second = client.get(url, {"action": "member.invited", "page": 2}).text
    assert second.count("<tr data-action=") == 5


@pytest.mark.parametrize("who", ["carol", "dave"])
def test_the_audit_log_is_not_visible_to_marketers_or_viewers(client, world, who):
    client.force_login(getattr(world, who))
    response = client.get(reverse("audit_log", args=[world.acme.id]))
    assert response.status_code == 403
    assert "member.invited" not in response.text
