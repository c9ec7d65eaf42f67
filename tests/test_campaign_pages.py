"""Test send, timing (send now, schedule in a zone, edit and cancel a
scheduled campaign), the campaign list and the campaign page with its
progress and pause / resume / cancel."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, TestNumber
from campaigns.test_sends import TEST_PRODUCER
from dispatch.models import Message, OutboxStats
from projects.models import AuditLog, Membership
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
def ready(client, acme):  # noqa: F811
    """Carol logged in with a complete draft to the segment Everyone."""
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    _save_audience(client, acme, campaign, f"segment:{acme.segment.pk}")
    _save_content(client, acme, campaign, "{{ name }}님, 봄 세일!")
    acme.campaign = Campaign.objects.get(pk=campaign.pk)
    return acme


def _review(client, world, data: dict) -> object:
    return _htmx(client, _url("campaign_review", world, world.campaign), data)


# --- test send --------------------------------------------------------------------


def test_a_test_send_goes_to_member_phones_and_test_numbers_rendered_for_the_recipient(
    client, ready
):
    carol = Membership.objects.get(project=ready.acme, user=ready.carol)
    carol.phone_number = "+821099990000"
    carol.save()
    saved = TestNumber.objects.create(project=ready.acme, phone_number="+821088880000", label="QA")
    response = _htmx(
        client,
        _url("campaign_test_send", ready, ready.campaign),
        {"member": [carol.pk], "test_number": [saved.pk], "recipient": "lee"},
    )
    assert response.status_code == 200
    sent = Message.objects.filter(project=ready.acme).order_by("phone_number")
    assert [(m.phone_number, m.body, m.outbox.sender_number.number) for m in sent] == [
        ("+821088880000", "이영희님, 봄 세일!", "+8215881234"),
        ("+821099990000", "이영희님, 봄 세일!", "+8215881234"),
    ]
    assert {m.outbox.producer_kind for m in sent} == {TEST_PRODUCER}
    html = response.content.decode()
    for message in sent:
        assert f'id="test-send-{message.id}"' in html
        status = client.get(
            reverse(
                "campaign_test_send_status", args=[ready.acme.id, ready.campaign.pk, message.id]
            )
        )
        assert 'data-status="queued"' in status.content.decode()
    # Not a campaign message: the campaign's statistics do not see it.
    assert not Message.objects.filter(outbox_id=ready.campaign.outbox_id).exists()
    stats = OutboxStats.objects.get(pk=ready.campaign.outbox_id)
    assert (stats.recipients, stats.queued, stats.sent) == (0, 0, 0)


def test_a_promotional_lms_test_send_is_wrapped_and_carries_the_title(client, ready):
    saved = TestNumber.objects.create(project=ready.acme, phone_number="+821088880000")
    _save_content(
        client,
        ready,
        ready.campaign,
        "{{ name }}님 " + "세일 " * 40,
        is_promotional="on",
        title="봄 세일",
    )
    _htmx(
        client,
        _url("campaign_test_send", ready, ready.campaign),
        {"test_number": [saved.pk], "recipient": "kim"},
    )
    message = Message.objects.get()
    assert message.body.startswith("(광고)에이크미 주식회사\n김민수님 세일")
    assert message.body.endswith("\n무료수신거부 080-123-4567")
    assert message.title == "봄 세일"


def test_a_test_send_needs_a_number(client, ready):
    response = _htmx(client, _url("campaign_test_send", ready, ready.campaign), {})
    assert "Choose at least one number" in response.content.decode()
    assert not Message.objects.exists()


def test_test_numbers_are_validated_added_and_removed(client, ready):
    url = _url("campaign_add_test_number", ready, ready.campaign)
    response = _htmx(client, url, {"phone_number": "010-1234-5678", "label": "QA"})
    assert "+821012345678" in response.content.decode()  # the suggested E.164 form
    assert not TestNumber.objects.exists()
    response = _htmx(client, url, {"phone_number": "+821012345678", "label": "QA"})
    number = TestNumber.objects.get(project=ready.acme)
    assert (number.phone_number, number.label) == ("+821012345678", "QA")
    assert f'name="test_number" value="{number.pk}"' in response.content.decode()
    _htmx(
        client,
        reverse("campaign_remove_test_number", args=[ready.acme.id, ready.campaign.pk, number.pk]),
        {},
    )
    assert not TestNumber.objects.exists()


# --- timing ---------------------------------------------------------------------------


def test_a_time_in_a_chosen_zone_is_stored_as_the_right_utc_instant(client, ready):
    year = timezone.now().year + 1
    data = {"when": "later", "send_at": f"{year}-07-01T09:00", "time_zone": "America/New_York"}
    review = _review(client, ready, data).content.decode()
    assert 'id="confirm-launch"' in review
    assert f"{year}-07-01 13:00 UTC" in review  # EDT is UTC−4
    assert Campaign.objects.get(pk=ready.campaign.pk).status == Campaign.Status.DRAFT

    response = _review(client, ready, {**data, "confirm": "1"})
    assert response["HX-Redirect"] == _url("campaign_detail", ready, ready.campaign)
    campaign = Campaign.objects.get(pk=ready.campaign.pk)
    assert campaign.status == Campaign.Status.SCHEDULED
    assert campaign.scheduled_at == datetime(year, 7, 1, 13, 0, tzinfo=UTC)
    assert campaign.time_zone == "America/New_York"

    page = client.get(_url("campaign_detail", ready, campaign)).content.decode()
    assert f"{year}-07-01 09:00 (America/New_York)" in page


def test_seoul_is_the_default_zone(client, ready):
    page = client.get(_url("campaign_compose", ready, ready.campaign)).content.decode()
    assert '<option value="Asia/Seoul" selected>' in page
    year = timezone.now().year + 1
    data = {"when": "later", "send_at": f"{year}-01-10T09:00", "time_zone": "Asia/Seoul"}
    _review(client, ready, {**data, "confirm": "1"})
    campaign = Campaign.objects.get(pk=ready.campaign.pk)
    assert campaign.scheduled_at == datetime(year, 1, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("send_at", "zone", "message"),
    [
        ("2020-01-01T09:00", "Asia/Seoul", "must be in the future"),
        ("{next}-03-08T02:30", "America/New_York", "does not exist"),
        ("", "Asia/Seoul", "Choose the date and time"),
    ],
)
def test_an_impossible_time_is_refused(client, ready, send_at, zone, message):
    # The second Sunday of March 2037 is the 8th; any year works, this one is fixed.
    data = {"when": "later", "send_at": send_at.replace("{next}", "2037"), "time_zone": zone}
    html = _review(client, ready, {**data, "confirm": "1"}).content.decode()
    assert message in html
    assert Campaign.objects.get(pk=ready.campaign.pk).status == Campaign.Status.DRAFT


def test_send_now_starts_the_campaign_after_confirmation(client, ready):
    review = _review(client, ready, {"when": "now", "time_zone": "Asia/Seoul"}).content.decode()
    assert "Confirm: send now" in review
    assert "3 recipients" in review
    assert Campaign.objects.get(pk=ready.campaign.pk).status == Campaign.Status.DRAFT
    _review(client, ready, {"when": "now", "time_zone": "Asia/Seoul", "confirm": "1"})
    assert Campaign.objects.get(pk=ready.campaign.pk).status == Campaign.Status.SENDING


def test_missing_parts_are_listed_and_block_the_start(client, acme):  # noqa: F811
    _login(client, "carol@acme.test")
    acme.campaign = _new_campaign(client, acme)
    review = _review(
        client, acme, {"when": "now", "time_zone": "Asia/Seoul", "confirm": "1"}
    ).content.decode()
    assert 'id="missing-parts"' in review
    assert "an audience" in review and "a message body" in review
    assert 'id="confirm-launch"' not in review
    assert Campaign.objects.get(pk=acme.campaign.pk).status == Campaign.Status.DRAFT


def test_a_liquid_error_or_emoji_blocks_the_start(client, ready):
    for body in ("{{ name ", "세일 🎉"):
        _save_content(client, ready, ready.campaign, body)
        review = _review(
            client, ready, {"when": "now", "time_zone": "Asia/Seoul", "confirm": "1"}
        ).content.decode()
        assert 'id="missing-parts"' in review
        assert Campaign.objects.get(pk=ready.campaign.pk).status == Campaign.Status.DRAFT


def _schedule(client, world, days: int = 3) -> datetime:
    at = (timezone.now() + timedelta(days=days)).astimezone(UTC)
    local = at.astimezone(timezone.get_default_timezone())
    data = {
        "when": "later",
        "send_at": local.strftime("%Y-%m-%dT%H:%M"),
        "time_zone": "Asia/Seoul",
        "confirm": "1",
    }
    _review(client, world, data)
    assert Campaign.objects.get(pk=world.campaign.pk).status == Campaign.Status.SCHEDULED
    return at


def test_a_scheduled_campaign_can_be_edited_until_it_starts(client, ready):
    _schedule(client, ready)
    detail = client.get(_url("campaign_detail", ready, ready.campaign)).content.decode()
    assert 'id="edit-campaign"' in detail
    compose = client.get(_url("campaign_compose", ready, ready.campaign)).content.decode()
    assert 'id="scheduled-notice"' in compose

    _save_content(client, ready, ready.campaign, "{{ name }}님, 여름 세일!")
    campaign = Campaign.objects.get(pk=ready.campaign.pk)
    assert campaign.status == Campaign.Status.SCHEDULED
    assert campaign.body == "{{ name }}님, 여름 세일!"

    # A scheduled campaign must stay complete.
    response = _save_audience(client, ready, ready.campaign, "")
    assert "must stay ready" in response.content.decode()
    assert Campaign.objects.get(pk=ready.campaign.pk).segment == ready.segment

    # Once it has started, nothing can be changed any more.
    Campaign.objects.filter(pk=ready.campaign.pk).update(status=Campaign.Status.SENDING)
    response = _save_content(client, ready, ready.campaign, "too late")
    assert "already started" in response.content.decode()
    assert Campaign.objects.get(pk=ready.campaign.pk).body == "{{ name }}님, 여름 세일!"
    assert client.get(_url("campaign_compose", ready, ready.campaign)).status_code == 302


def test_a_scheduled_campaign_can_be_rescheduled_or_unscheduled(client, ready):
    _schedule(client, ready, days=3)
    later = _schedule(client, ready, days=5)
    campaign = Campaign.objects.get(pk=ready.campaign.pk)
    assert abs(campaign.scheduled_at - later) < timedelta(minutes=1)
    client.post(_url("campaign_unschedule", ready, campaign))
    campaign.refresh_from_db()
    assert (campaign.status, campaign.scheduled_at) == (Campaign.Status.DRAFT, None)


def test_a_scheduled_campaign_can_be_cancelled(client, ready):
    _schedule(client, ready)
    response = _htmx(client, _url("campaign_cancel", ready, ready.campaign), {})
    assert 'data-status="cancelled"' in response.content.decode()
    assert Campaign.objects.get(pk=ready.campaign.pk).status == Campaign.Status.CANCELLED


# --- the campaign page ------------------------------------------------------------------


def test_the_progress_shows_the_counters_and_refreshes_while_live(client, ready):
    Campaign.objects.filter(pk=ready.campaign.pk).update(status=Campaign.Status.SENDING)
    OutboxStats.objects.filter(pk=ready.campaign.outbox_id).update(
        recipients=10, queued=4, sent=5, delivered=3, failed=0, skipped_opted_out=1
    )
    html = client.get(_url("campaign_progress", ready, ready.campaign)).content.decode()
    assert 'value="60"' in html  # 6 of 10 done
    for counter, value in [("recipients", 10), ("queued", 4), ("sent", 5), ("delivered", 3)]:
        assert f'data-counter="{counter}">{value}<' in html
    assert "Opted out: 1" in html
    assert 'hx-trigger="every 1s"' in html

    Campaign.objects.filter(pk=ready.campaign.pk).update(
        status=Campaign.Status.COMPLETED, finished_at=timezone.now() - timedelta(hours=1)
    )
    html = client.get(_url("campaign_progress", ready, ready.campaign)).content.decode()
    assert 'hx-trigger="every 1s"' not in html


def test_pause_resume_and_cancel_from_the_campaign_page(client, ready):
    Campaign.objects.filter(pk=ready.campaign.pk).update(status=Campaign.Status.SENDING)
    html = _htmx(client, _url("campaign_pause", ready, ready.campaign), {}).content.decode()
    assert 'id="resume"' in html
    assert Campaign.objects.get(pk=ready.campaign.pk).status == Campaign.Status.PAUSED
    html = _htmx(client, _url("campaign_resume", ready, ready.campaign), {}).content.decode()
    assert 'id="pause"' in html
    assert Campaign.objects.get(pk=ready.campaign.pk).status == Campaign.Status.SENDING
    response = client.post(_url("campaign_cancel", ready, ready.campaign))
    assert response.status_code == 302
    assert Campaign.objects.get(pk=ready.campaign.pk).status == Campaign.Status.CANCELLED
    # A second click changes nothing and says so.
    client.post(_url("campaign_cancel", ready, ready.campaign))
    page = client.get(_url("campaign_detail", ready, ready.campaign)).content.decode()
    assert "Nothing changed" in page


def test_the_campaign_list_shows_status_audience_and_progress(client, ready):
    OutboxStats.objects.filter(pk=ready.campaign.outbox_id).update(recipients=4, queued=1)
    Campaign.objects.filter(pk=ready.campaign.pk).update(
        status=Campaign.Status.SENDING, started_at=timezone.now()
    )
    page = client.get(reverse("campaigns", args=[ready.acme.id])).content.decode()
    assert f'href="{reverse("campaigns", args=[ready.acme.id])}"' in page  # the nav link
    assert 'data-status="sending"' in page
    assert "Segment: Everyone" in page
    assert "75%" in page
    assert _url("campaign_detail", ready, ready.campaign) in page
    assert 'id="new-campaign"' in page


def test_a_viewer_sees_the_campaign_page_without_controls(client, ready):
    Campaign.objects.filter(pk=ready.campaign.pk).update(status=Campaign.Status.SENDING)
    client.logout()
    _login(client, "dave@acme.test")
    page = client.get(_url("campaign_detail", ready, ready.campaign)).content.decode()
    assert 'id="campaign-progress"' in page
    assert 'id="pause"' not in page and 'id="cancel"' not in page
    assert client.post(_url("campaign_pause", ready, ready.campaign)).status_code == 403
    listing = client.get(reverse("campaigns", args=[ready.acme.id])).content.decode()
    assert 'id="new-campaign"' not in listing


def test_the_saved_event_names_the_step(client, ready):
    response = _save_audience(client, ready, ready.campaign, f"segment:{ready.segment.pk}")
    assert json.loads(response["HX-Trigger"]) == {"campaign-saved": {"step": "audience"}}


def test_a_promotional_file_campaign_needs_the_consent_confirmation(client, acme):  # noqa: F811
    from tests.support.campaigns import valid_file

    _login(client, "carol@acme.test")
    acme.campaign = _new_campaign(client, acme)
    audience = valid_file(acme.acme, [("+821055556666", {"coupon": "A1"})])
    _save_audience(client, acme, acme.campaign, f"file:{audience.pk}")
    _save_content(client, acme, acme.campaign, "쿠폰 {{ coupon }}", is_promotional="on")
    now = {"when": "now", "time_zone": "Asia/Seoul", "confirm": "1"}
    review = _review(client, acme, now).content.decode()
    assert "consented to promotions" in review
    assert Campaign.objects.get(pk=acme.campaign.pk).status == Campaign.Status.DRAFT
    _save_content(
        client,
        acme,
        acme.campaign,
        "쿠폰 {{ coupon }}",
        is_promotional="on",
        file_consent_confirmed="on",
    )
    _review(client, acme, now)
    assert Campaign.objects.get(pk=acme.campaign.pk).status == Campaign.Status.SENDING


def test_without_javascript_the_review_is_a_page_and_the_confirmation_redirects(client, ready):
    data = {"when": "now", "time_zone": "Asia/Seoul"}
    page = client.post(_url("campaign_review", ready, ready.campaign), data)
    assert page.status_code == 200
    assert 'id="confirm-launch"' in page.content.decode()
    response = client.post(_url("campaign_review", ready, ready.campaign), {**data, "confirm": "1"})
    assert response.status_code == 302
    assert response["Location"] == _url("campaign_detail", ready, ready.campaign)
    assert Campaign.objects.get(pk=ready.campaign.pk).status == Campaign.Status.SENDING


def test_readiness_lists_what_is_missing_until_nothing_is(client, acme):  # noqa: F811
    _login(client, "carol@acme.test")
    campaign = _new_campaign(client, acme)
    url = _url("campaign_readiness", acme, campaign)
    html = client.get(url).content.decode()
    assert 'data-ready="false"' in html
    assert "an audience" in html and "a message body" in html
    _save_audience(client, acme, campaign, f"segment:{acme.segment.pk}")
    _save_content(client, acme, campaign, "안녕하세요")
    assert 'data-ready="true"' in client.get(url).content.decode()


def test_a_started_campaign_links_to_its_statistics_and_a_draft_does_not(client, ready):
    page = client.get(_url("campaign_detail", ready, ready.campaign)).content.decode()
    assert 'id="campaign-stats-link"' not in page
    Campaign.objects.filter(pk=ready.campaign.pk).update(
        status=Campaign.Status.SENDING, started_at=timezone.now()
    )
    page = client.get(_url("campaign_detail", ready, ready.campaign)).content.decode()
    stats_url = _url("campaign_stats", ready, ready.campaign)
    assert f'href="{stats_url}"' in page
    assert client.get(stats_url).status_code == 200


# --- night-time hold, said before and while it waits ------------------------------------


def _night_in_seoul(days: int = 3) -> str:
    """23:00 Seoul time `days` from now, as the timing form's local time."""
    from zoneinfo import ZoneInfo

    seoul = (timezone.now() + timedelta(days=days)).astimezone(ZoneInfo("Asia/Seoul"))
    return seoul.replace(hour=23, minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M")


def test_the_review_says_how_many_promotional_recipients_are_held_until_when(client, ready):
    from audiences.models import Customer

    # Kim consented to promotions (Seoul, no zone of her own); Lee and Amy did
    # not, so dispatch skips them. Two more: one with night-time consent, one
    # in New York, where 23:00 in Seoul is 09:00 the same day.
    Customer.objects.create(
        project=ready.acme,
        user_id="owl",
        phone_number="+821077778888",
        promotional_consent=True,
        night_consent=True,
    )
    Customer.objects.create(
        project=ready.acme,
        user_id="ny",
        phone_number="+12025550199",
        promotional_consent=True,
        time_zone="America/New_York",
    )
    _save_content(client, ready, ready.campaign, "봄 세일!", is_promotional="on")
    send_at = _night_in_seoul()
    html = _review(
        client, ready, {"when": "later", "send_at": send_at, "time_zone": "Asia/Seoul"}
    ).content.decode()
    assert 'id="night-hold" data-held="1"' in html
    release = (datetime.fromisoformat(send_at) + timedelta(days=1)).strftime("%Y-%m-%d 08:00")
    assert f"1 recipient will be held until {release} (Asia/Seoul)" in html

    # At 12:00 in Seoul it is 22:00 in New York: the New Yorker waits.
    noon = send_at.replace("T23:00", "T12:00")
    html = _review(
        client, ready, {"when": "later", "send_at": noon, "time_zone": "Asia/Seoul"}
    ).content.decode()
    assert 'id="night-hold" data-held="1"' in html
    assert "America/New_York" in html or "22:00 (Asia/Seoul)" in html

    # At 10:00 in Seoul (20:00 in New York) nobody is held, and a message
    # that is not promotional never is.
    day = send_at.replace("T23:00", "T10:00")
    html = _review(
        client, ready, {"when": "later", "send_at": day, "time_zone": "Asia/Seoul"}
    ).content.decode()
    assert 'id="night-hold"' not in html
    _save_content(client, ready, ready.campaign, "봄 세일!")
    html = _review(
        client, ready, {"when": "later", "send_at": send_at, "time_zone": "Asia/Seoul"}
    ).content.decode()
    assert 'id="night-hold"' not in html


def test_the_review_holds_a_files_rows_in_the_projects_zone(client, acme):  # noqa: F811
    from tests.support.campaigns import valid_file

    _login(client, "carol@acme.test")
    acme.campaign = _new_campaign(client, acme)
    audience = valid_file(acme.acme, [("+821055556666", {}), ("+821055557777", {})])
    _save_audience(client, acme, acme.campaign, f"file:{audience.pk}")
    _save_content(
        client, acme, acme.campaign, "세일!", is_promotional="on", file_consent_confirmed="on"
    )
    html = _review(
        client, acme, {"when": "later", "send_at": _night_in_seoul(), "time_zone": "Asia/Seoul"}
    ).content.decode()
    assert 'id="night-hold" data-held="2"' in html


def test_a_scheduled_night_campaign_says_so_on_its_page(client, ready):
    _save_content(client, ready, ready.campaign, "봄 세일!", is_promotional="on")
    data = {"when": "later", "send_at": _night_in_seoul(), "time_zone": "Asia/Seoul"}
    _review(client, ready, {**data, "confirm": "1"})
    assert Campaign.objects.get(pk=ready.campaign.pk).status == Campaign.Status.SCHEDULED
    page = client.get(_url("campaign_detail", ready, ready.campaign)).content.decode()
    assert 'id="night-forecast" data-held="1"' in page


def test_the_campaign_page_says_how_many_are_held_and_when_they_go(client, ready):
    from zoneinfo import ZoneInfo

    release = (timezone.now() + timedelta(hours=5)).replace(microsecond=0)
    Campaign.objects.filter(pk=ready.campaign.pk).update(
        status=Campaign.Status.SENDING, is_promotional=True, started_at=timezone.now()
    )
    OutboxStats.objects.filter(pk=ready.campaign.outbox_id).update(
        recipients=2, queued=2, held_night_time=2
    )
    for number in ("+821011112222", "+821033334444"):
        Message.objects.create(
            outbox_id=ready.campaign.outbox_id,
            dedupe_key=number.lstrip("+"),
            project=ready.acme,
            phone_number=number,
            status=Message.Status.QUEUED,
            held_until=release,
            next_attempt_at=release,
        )
    html = client.get(_url("campaign_progress", ready, ready.campaign)).content.decode()
    assert 'id="night-waiting" data-held="2"' in html
    local = release.astimezone(ZoneInfo("Asia/Seoul")).strftime("%Y-%m-%d %H:%M")
    assert f"2 messages were held at night; the messages still held go at {local}" in html

    # Once they have gone, the page stops saying so.
    Message.objects.filter(outbox_id=ready.campaign.outbox_id).update(status=Message.Status.SENT)
    html = client.get(_url("campaign_progress", ready, ready.campaign)).content.decode()
    assert 'id="night-waiting"' not in html


# --- the review step and the browser's Back -----------------------------------------------


def test_what_is_missing_is_listed_once_on_the_compose_screen(client, acme):  # noqa: F811
    _login(client, "carol@acme.test")
    acme.campaign = _new_campaign(client, acme)
    review = _review(client, acme, {"when": "now", "time_zone": "Asia/Seoul"}).content.decode()
    assert review.count("Before it can go:") == 1
    # ... in the readiness block above the review (swapped out of band), not in the panel.
    assert '<div id="readiness" hx-swap-oob="innerHTML">' in review
    compose = client.get(_url("campaign_compose", acme, acme.campaign)).content.decode()
    assert "Before it can go:" not in compose  # the readiness block loads it


def test_the_compose_and_campaign_pages_are_not_cached(client, ready):
    for name in ("campaign_compose", "campaign_detail"):
        response = client.get(_url(name, ready, ready.campaign))
        assert "no-store" in response["Cache-Control"], name


def test_a_review_after_the_start_does_not_offer_to_send_again(client, ready):
    _review(client, ready, {"when": "now", "time_zone": "Asia/Seoul", "confirm": "1"})
    assert Campaign.objects.get(pk=ready.campaign.pk).status == Campaign.Status.SENDING
    # The page from before, through the browser's Back: review and confirm again.
    for data in ({}, {"confirm": "1"}):
        response = _review(client, ready, {"when": "now", "time_zone": "Asia/Seoul", **data})
        assert 'id="confirm-launch"' not in response.content.decode()
        assert response["HX-Redirect"] == _url("campaign_detail", ready, ready.campaign)
    page = client.get(_url("campaign_detail", ready, ready.campaign)).content.decode()
    assert "This campaign is already Sending: nothing was sent again." in page
    assert AuditLog.objects.filter(action="campaign.started").count() == 1


def test_the_campaign_list_says_when_a_sending_campaign_waits_for_the_morning(client, ready):
    Campaign.objects.filter(pk=ready.campaign.pk).update(
        status=Campaign.Status.SENDING, started_at=timezone.now()
    )
    OutboxStats.objects.filter(pk=ready.campaign.outbox_id).update(
        recipients=3, queued=2, sent=1, held_night_time=2
    )
    page = client.get(reverse("campaigns", args=[ready.acme.id])).content.decode()
    assert 'class="muted night-held" data-held="2"' in page
    assert "2 held until morning" in page
    OutboxStats.objects.filter(pk=ready.campaign.outbox_id).update(queued=0, sent=3)
    page = client.get(reverse("campaigns", args=[ready.acme.id])).content.decode()
    assert "night-held" not in page
