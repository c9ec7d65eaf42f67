"""/v1/projects/{projectId}/campaigns: create a draft, list, get with
statistics, change, schedule, send now, pause, resume, cancel — and 409 with
the current status for a transition that is not allowed."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from audiences.models import Segment
from campaigns.models import Campaign
from channels.models import SenderNumber
from dispatch.models import Message
from projects.models import AuditLog
from tests.support.campaigns import EVERYONE, add_customers, phone, valid_file
from tests.test_api_auth import assert_error
from tests.test_send_api_support import *  # noqa: F403 (the fixtures)
from tests.test_send_api_support import Api


@pytest.fixture
def segment(api: Api) -> Segment:
    add_customers(api.project, 3)
    return Segment.objects.create(project=api.project, name="Everyone", definition=EVERYONE)


def create(api: Api, segment: Segment, **fields) -> dict:
    body = {"name": "Spring sale", "audience": {"segmentId": segment.pk}, "body": "{{ name }}님"}
    response = api.post("/campaigns", body | fields)
    assert response.status_code == 201, response.content
    return response.json()


def test_a_draft_is_created_for_a_segment_with_the_default_sender(api: Api, segment: Segment):
    campaign = create(api, segment, title="봄", frequencyCap=2)
    assert campaign["status"] == "draft"
    assert campaign["source"] == "console"
    assert campaign["audience"] == {
        "type": "segment",
        "segmentId": segment.pk,
        "audienceFileId": None,
    }
    assert (campaign["senderNumber"], campaign["frequencyCap"], campaign["title"]) == (
        "+8215881234",
        2,
        "봄",
    )
    assert campaign["missing"] == []
    assert campaign["statistics"]["recipients"] == 0
    stored = Campaign.objects.get(pk=campaign["id"])
    assert (stored.project_id, stored.segment_id) == (api.project.pk, segment.pk)
    entry = AuditLog.objects.get(project=api.project, action="campaign.created")
    assert entry.actor_label.startswith("API token mj_")


def test_a_draft_without_a_body_is_created_and_says_the_body_is_missing(api: Api, segment: Segment):
    response = api.post("/campaigns", {"name": "Later", "audience": {"segmentId": segment.pk}})
    assert response.status_code == 201, response.content
    campaign = response.json()
    assert (campaign["status"], campaign["body"]) == ("draft", "")
    assert campaign["missing"] == ["a message body"]
    started = api.post(f"/campaigns/{campaign['id']}/send", {})
    assert_error(started, 422, "campaign_problem")


def test_a_draft_for_an_audience_file(api: Api):
    audience = valid_file(api.project, [(phone(0), {"coupon": "A1"})])
    response = api.post(
        "/campaigns",
        {
            "name": "File",
            "audience": {"audienceFileId": str(audience.pk)},
            "body": "{{ coupon }}",
            "isAdvertisement": True,
        },
    )
    assert response.status_code == 201, response.content
    campaign = response.json()
    assert campaign["audience"]["audienceFileId"] == str(audience.pk)
    # An advertisement to a file needs the marketer's consent confirmation.
    assert len(campaign["missing"]) == 1
    assert_error(api.post(f"/campaigns/{campaign['id']}/send"), 422, "campaign_problem")
    changed = api.patch(f"/campaigns/{campaign['id']}", {"fileConsentConfirmed": True})
    assert changed.json()["missing"] == []


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"audience": {}}, "audience"),
        ({"audience": {"segmentId": 1, "audienceFileId": None}, "name": ""}, "name"),
        ({"title": "가" * 21}, "title"),
        ({"body": "세일 🎉"}, "body"),
        ({"frequencyCap": -1}, "frequencyCap"),
    ],
)
def test_invalid_fields_are_named(api: Api, segment: Segment, fields, where):
    body = {"name": "x", "audience": {"segmentId": segment.pk}, "body": "안녕"} | fields
    error = assert_error(api.post("/campaigns", body), 400, "validation_failed")
    assert where in error["details"]
    assert not Campaign.objects.exists()


def test_another_projects_segment_is_not_an_audience(api: Api, other_api: Api):
    theirs = Segment.objects.create(project=other_api.project, name="Theirs", definition=EVERYONE)
    body = {"name": "x", "audience": {"segmentId": theirs.pk}, "body": "안녕"}
    error = assert_error(api.post("/campaigns", body), 400, "validation_failed")
    assert "segmentId" in error["details"]["audience"]
    assert not Campaign.objects.exists()


def test_a_liquid_error_and_an_unapproved_sender_are_refused(api: Api, segment: Segment):
    body = {"name": "x", "audience": {"segmentId": segment.pk}, "body": "{{ name | shout }}"}
    error = assert_error(api.post("/campaigns", body), 400, "validation_failed")
    assert error["details"]["body"][0]["line"] == 1
    body |= {"body": "안녕", "senderNumber": "+8215880000"}
    error = assert_error(api.post("/campaigns", body), 422, "sender_not_allowed")
    assert "senderNumber" in error["details"]
    # An id is not a sender number here, even one of the project's own.
    body |= {"senderNumber": str(SenderNumber.objects.get(number="+8215881234").pk)}
    assert_error(api.post("/campaigns", body), 422, "sender_not_allowed")
    assert not Campaign.objects.exists()


def test_campaigns_are_listed_newest_first_and_filtered_by_status(api: Api, segment: Segment):
    first = create(api, segment, name="First")
    second = create(api, segment, name="Second")
    Campaign.objects.filter(pk=first["id"]).update(status=Campaign.Status.COMPLETED)
    listed = api.get("/campaigns").json()
    assert [c["name"] for c in listed["results"]] == ["Second", "First"]
    completed = api.get("/campaigns?status=completed").json()["results"]
    assert [c["id"] for c in completed] == [first["id"]]
    page = api.get("/campaigns?limit=1").json()
    assert [c["id"] for c in page["results"]] == [second["id"]] and page["next"]
    assert_error(api.get("/campaigns?status=done"), 400, "validation_failed")


def test_a_draft_can_be_changed_and_a_started_campaign_cannot(
    api: Api, segment: Segment, django_capture_on_commit_callbacks
):
    campaign = create(api, segment)
    changed = api.patch(
        f"/campaigns/{campaign['id']}", {"name": "Renamed", "body": "새 본문", "title": "제목"}
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["name"], changed.json()["body"]) == ("Renamed", "새 본문")
    with django_capture_on_commit_callbacks(execute=False):
        assert api.post(f"/campaigns/{campaign['id']}/send").status_code == 200
    error = assert_error(
        api.patch(f"/campaigns/{campaign['id']}", {"name": "Late"}), 409, "status_conflict"
    )
    assert error["details"] == {"status": "sending", "allowedActions": ["pause", "cancel"]}
    assert Campaign.objects.get(pk=campaign["id"]).name == "Renamed"


def test_a_campaign_is_scheduled_with_an_offset_or_a_local_time_and_zone(
    api: Api, segment: Segment, django_capture_on_commit_callbacks
):
    campaign = create(api, segment)
    at = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post(f"/campaigns/{campaign['id']}/schedule", {"at": at.isoformat()})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "scheduled"
    assert datetime.fromisoformat(response.json()["scheduledAt"]) == at
    local = at.astimezone(ZoneInfo("Europe/Berlin")).replace(tzinfo=None) + timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=False):
        moved = api.post(
            f"/campaigns/{campaign['id']}/schedule",
            {"at": local.isoformat(), "timeZone": "Europe/Berlin"},
        )
    assert moved.status_code == 200, moved.content
    assert datetime.fromisoformat(moved.json()["scheduledAt"]) == at + timedelta(hours=1)
    assert moved.json()["timeZone"] == "Europe/Berlin"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"at": "2030-01-01T09:00:00"}, 400, "validation_failed"),  # no offset, no zone
        ({"at": "tomorrow"}, 400, "validation_failed"),
        ({"at": "2030-01-01T09:00:00", "timeZone": "Mars/Olympus"}, 400, "validation_failed"),
        ({"at": "2020-01-01T09:00:00+09:00"}, 422, "campaign_problem"),  # in the past
    ],
)
def test_a_schedule_needs_a_future_time_that_says_its_zone(
    api: Api, segment: Segment, body, status, code
):
    campaign = create(api, segment)
    assert_error(api.post(f"/campaigns/{campaign['id']}/schedule", body), status, code)
    assert Campaign.objects.get(pk=campaign["id"]).status == Campaign.Status.DRAFT


def test_send_pause_resume_and_cancel_follow_the_lifecycle(
    api: Api, segment: Segment, django_capture_on_commit_callbacks
):
    campaign_id = create(api, segment)["id"]
    path = f"/campaigns/{campaign_id}"
    for verb in ("pause", "resume"):
        error = assert_error(api.post(f"{path}/{verb}"), 409, "status_conflict")
        assert error["details"] == {
            "status": "draft",
            "allowedActions": ["update", "schedule", "send", "cancel"],
        }
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        started = api.post(f"{path}/send")
    assert started.status_code == 200 and started.json()["status"] == "sending"
    assert enqueued  # the pipeline goes to the queue after the commit
    assert_error(api.post(f"{path}/send"), 409, "status_conflict")
    assert_error(
        api.post(f"{path}/schedule", {"at": "2030-01-01T09:00:00+09:00"}), 409, "status_conflict"
    )
    paused = api.post(f"{path}/pause")
    assert paused.json()["status"] == "paused"
    assert assert_error(api.post(f"{path}/pause"), 409, "status_conflict")["details"] == {
        "status": "paused",
        "allowedActions": ["resume", "cancel"],
    }
    with django_capture_on_commit_callbacks(execute=False):
        assert api.post(f"{path}/resume").json()["status"] == "sending"
    cancelled = api.post(f"{path}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    error = assert_error(api.post(f"{path}/cancel"), 409, "status_conflict")
    assert error["details"] == {"status": "cancelled", "allowedActions": []}
    assert "Cancelled" in error["message"]


def test_a_campaign_sent_now_runs_to_the_end_and_shows_its_statistics(
    api: Api, segment: Segment, django_capture_on_commit_callbacks
):
    campaign_id = create(api, segment)["id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/campaigns/{campaign_id}/send").status_code == 200
    detail = api.get(f"/campaigns/{campaign_id}").json()
    assert detail["status"] == "completed"
    statistics = detail["statistics"]
    assert (statistics["recipients"], statistics["sent"], statistics["delivered"]) == (3, 3, 3)
    assert statistics["percent"] == 100
    assert (
        Message.objects.filter(outbox_id=Campaign.objects.get(pk=campaign_id).outbox_id).count()
        == 3
    )


def test_an_api_send_is_listed_as_an_api_campaign_and_can_be_cancelled(api: Api):
    add_customers(api.project, 2)
    sent = api.send(targetType="userId", targetIds=["u0", "u1"], body="안녕").json()
    detail = api.get(f"/campaigns/{sent['campaignId']}").json()
    assert (detail["source"], detail["status"], detail["audience"]) == ("api", "sending", None)
    assert detail["statistics"]["recipients"] == 2
    assert [c["id"] for c in api.get("/campaigns?source=api").json()["results"]] == [
        sent["campaignId"]
    ]
    assert_error(
        api.patch(f"/campaigns/{sent['campaignId']}", {"name": "x"}), 409, "status_conflict"
    )
    assert api.post(f"/campaigns/{sent['campaignId']}/cancel").json()["status"] == "cancelled"
    skipped = Message.objects.filter(
        outbox_id=Campaign.objects.get(pk=sent["campaignId"]).outbox_id, skip_reason="cancelled"
    )
    assert skipped.count() == 2


def test_another_projects_campaign_is_404_and_stays_as_it_was(
    api: Api, other_api: Api, segment: Segment
):
    campaign_id = create(api, segment)["id"]
    for response in (
        other_api.get(f"/campaigns/{campaign_id}"),
        other_api.patch(f"/campaigns/{campaign_id}", {"name": "Mine"}),
        other_api.post(f"/campaigns/{campaign_id}/send"),
        other_api.post(f"/campaigns/{campaign_id}/cancel"),
    ):
        assert_error(response, 404, "not_found")
    campaign = Campaign.objects.get(pk=campaign_id)
    assert (campaign.name, campaign.status) == ("Spring sale", Campaign.Status.DRAFT)
    assert other_api.get("/campaigns").json()["results"] == []
