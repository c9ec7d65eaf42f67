"""Putting campaigns and audience files away: delete a draft, archive a
finished campaign (hidden from the list, a filter shows it), duplicate a
campaign into a new draft, delete an audience file no campaign uses; each
for marketers and admins only, confirmed first, and in the audit log."""

from __future__ import annotations

import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audiences.models import AudienceFile, AudienceFileRow
from campaigns.models import Campaign
from conversions.models import ConversionGoal
from dispatch.models import OutboxStats
from projects.models import AuditLog
from tests.support.campaigns import valid_file
from tests.test_audience_files_support import csv_bytes, file_store  # noqa: F401
from tests.test_compose import (
    _htmx,
    _login,
    _new_campaign,
    _save_audience,
    _save_content,
    _url,
    acme,  # noqa: F401 (fixture)
)


@pytest.fixture
def draft(client, acme):  # noqa: F811
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    _save_audience(client, acme, campaign, f"segment:{acme.segment.pk}")
    _save_content(client, acme, campaign, "{{ name }}님, 봄 세일!", title="봄")
    _htmx(
        client,
        _url("campaign_save_goals", acme, campaign),
        {"event_1": "purchase", "window_1": "3", "unit_1": "days", "amount_1": "total"},
    )
    acme.campaign = Campaign.objects.get(pk=campaign.pk)
    return acme


def _set_status(campaign: Campaign, status: str) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(status=status)


# --- delete a draft ----------------------------------------------------------------


def test_a_marketer_deletes_a_draft_after_confirming(client, draft):
    url = _url("campaign_delete", draft, draft.campaign)
    compose = client.get(_url("campaign_compose", draft, draft.campaign)).content.decode()
    assert f'href="{url}"' in compose
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "This cannot be undone" in confirm.content.decode()
    assert Campaign.objects.filter(pk=draft.campaign.pk).exists()  # asking deletes nothing

    response = client.post(url)
    assert response["Location"] == reverse("campaigns", args=[draft.acme.id])
    assert not Campaign.objects.filter(pk=draft.campaign.pk).exists()
    assert not OutboxStats.objects.filter(pk=draft.campaign.outbox_id).exists()
    assert not ConversionGoal.objects.filter(campaign_id=draft.campaign.pk).exists()
    assert AuditLog.objects.filter(action="campaign.deleted", target="Spring sale").count() == 1


@pytest.mark.parametrize("status", ["scheduled", "sending", "completed"])
def test_only_a_draft_can_be_deleted(client, draft, status):
    _set_status(draft.campaign, status)
    response = client.post(_url("campaign_delete", draft, draft.campaign), follow=True)
    assert "Only a draft can be deleted" in response.content.decode()
    assert Campaign.objects.filter(pk=draft.campaign.pk).exists()
    assert not AuditLog.objects.filter(action="campaign.deleted").exists()


# --- archive ------------------------------------------------------------------------------


def test_a_finished_campaign_is_archived_out_of_the_list_and_a_filter_shows_it(client, draft):
    _set_status(draft.campaign, "completed")
    url = _url("campaign_archive", draft, draft.campaign)
    detail = client.get(_url("campaign_detail", draft, draft.campaign)).content.decode()
    assert f'href="{url}"' in detail
    assert "Archive" in client.get(url).content.decode()  # the confirmation
    assert Campaign.objects.get(pk=draft.campaign.pk).archived_at is None

    client.post(url)
    campaign = Campaign.objects.get(pk=draft.campaign.pk)
    assert campaign.archived_at is not None
    assert campaign.status == Campaign.Status.COMPLETED
    listing = reverse("campaigns", args=[draft.acme.id])
    assert f'data-campaign-id="{campaign.pk}"' not in client.get(listing).content.decode()
    archived = client.get(listing + "?archived=1").content.decode()
    assert f'data-campaign-id="{campaign.pk}"' in archived
    assert AuditLog.objects.filter(action="campaign.archived").count() == 1

    client.post(_url("campaign_unarchive", draft, draft.campaign))
    assert Campaign.objects.get(pk=draft.campaign.pk).archived_at is None
    assert f'data-campaign-id="{campaign.pk}"' in client.get(listing).content.decode()


@pytest.mark.parametrize("status", ["draft", "scheduled", "sending", "paused"])
def test_a_campaign_that_is_not_finished_cannot_be_archived(client, draft, status):
    _set_status(draft.campaign, status)
    response = client.post(_url("campaign_archive", draft, draft.campaign), follow=True)
    assert "Only a completed or cancelled campaign can be archived" in response.content.decode()
    assert Campaign.objects.get(pk=draft.campaign.pk).archived_at is None


# --- duplicate ------------------------------------------------------------------------------


def test_a_duplicate_is_a_new_draft_with_the_same_audience_content_and_goals(client, draft):
    _set_status(draft.campaign, "completed")
    response = client.post(_url("campaign_duplicate", draft, draft.campaign))
    copy = Campaign.objects.exclude(pk=draft.campaign.pk).get()
    assert response["Location"] == _url("campaign_compose", draft, copy)
    original = Campaign.objects.get(pk=draft.campaign.pk)
    assert copy.status == Campaign.Status.DRAFT
    assert copy.name == "Copy of Spring sale"
    assert (copy.segment, copy.sender_number, copy.body, copy.title) == (
        original.segment,
        original.sender_number,
        original.body,
        original.title,
    )
    goals = list(
        ConversionGoal.objects.filter(campaign=copy).values_list(
            "event_name", "window_seconds", "revenue_field"
        )
    )
    assert goals == [("purchase", 3 * 86400, "total")]
    assert OutboxStats.objects.filter(pk=copy.outbox_id).exists()
    assert original.status == Campaign.Status.COMPLETED
    assert AuditLog.objects.filter(action="campaign.duplicated", target=copy.name).count() == 1
    # The copy is complete: it can go once reviewed.
    readiness = client.get(_url("campaign_readiness", draft, copy)).content.decode()
    assert 'data-ready="true"' in readiness


def test_a_viewer_can_neither_delete_archive_nor_duplicate(client, draft):
    client.logout()
    _login(client, "dave@acme.test")
    for name in ("campaign_delete", "campaign_archive", "campaign_duplicate"):
        assert client.post(_url(name, draft, draft.campaign)).status_code == 403, name
    assert client.get(_url("campaign_delete", draft, draft.campaign)).status_code == 403
    page = client.get(_url("campaign_compose", draft, draft.campaign)).content.decode()
    assert 'id="campaign-actions"' not in page
    assert Campaign.objects.count() == 1


def test_another_projects_campaign_cannot_be_duplicated(client, draft):
    client.logout()
    _login(client, "bob@bolt.test")
    url = reverse("campaign_duplicate", args=[draft.bolt.id, draft.campaign.pk])
    assert client.post(url).status_code == 404


# --- audience files -----------------------------------------------------------------------------


@pytest.mark.usefixtures("file_store")
def test_an_unused_audience_file_is_deleted_with_its_rows_and_stored_copy(
    client,
    acme,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    _login(client, "carol@acme.test")
    upload = SimpleUploadedFile("list.csv", csv_bytes([["phoneNumber"], ["+821012345678"]]))
    client.post(reverse("upload_audience_file", args=[acme.acme.id]), {"file": upload})
    audience = AudienceFile.objects.get()
    assert audience.status == AudienceFile.Status.VALID
    stored = audience.file.path
    url = reverse("audience_file_delete", args=[acme.acme.id, audience.id])
    page = client.get(reverse("audience_file", args=[acme.acme.id, audience.id])).content.decode()
    assert f'href="{url}"' in page
    assert "This cannot be undone" in client.get(url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url)
    assert not AudienceFile.objects.exists()
    assert not AudienceFileRow.objects.exists()
    assert AuditLog.objects.filter(action="audience_file.delete", target="list.csv").count() == 1
    assert not os.path.exists(stored)


def test_an_audience_file_a_campaign_uses_cannot_be_deleted_and_the_page_says_which(
    client,
    acme,  # noqa: F811
):
    _login(client, "carol@acme.test")
    audience = valid_file(acme.acme, [("+821055556666", {})], name="vip.csv")
    campaign = _new_campaign(client, acme)
    _save_audience(client, acme, campaign, f"file:{audience.pk}")
    url = reverse("audience_file_delete", args=[acme.acme.id, audience.id])
    page = client.post(url, follow=True).content.decode()
    assert "vip.csv is the audience of “Spring sale”; it cannot be deleted." in page
    assert AudienceFile.objects.filter(pk=audience.pk).exists()
    assert AudienceFileRow.objects.filter(file=audience).count() == 1
    assert not AuditLog.objects.filter(action="audience_file.delete").exists()


def test_a_viewer_cannot_delete_an_audience_file(client, acme):  # noqa: F811
    _login(client, "dave@acme.test")
    audience = valid_file(acme.acme, [("+821055556666", {})])
    url = reverse("audience_file_delete", args=[acme.acme.id, audience.id])
    assert client.post(url).status_code == 403
    assert AudienceFile.objects.filter(pk=audience.pk).exists()
