"""Consent notices through the send core, in-process: the hand-over to an
informational outbox (once, whatever runs twice), the core's gates that do
not apply to a legally required notice (opt-out list, frequency cap) and the
one that does (never at night), and the outcome flowing back to the notice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from audiences.actions import do_track
from audiences.models import Customer
from audiences.track import parse_track
from channels.gateways import console as console_backend
from channels.gateways.base import DeliveryReport
from channels.models import Gateway
from consent import sending
from consent import tasks as consent_tasks
from consent.models import Notice, notice_key
from dispatch import pipeline
from dispatch.actions import do_close_outbox
from dispatch.models import Message, Outbox, OutboxStats, SendingPolicy, message_reference
from dispatch.reports import apply_delivery_reports
from optout.actions import do_opt_out
from optout.models import Source as OptOutSource
from tests.support.campaigns import sending_project

SEOUL = ZoneInfo("Asia/Seoul")
CHANGED = datetime(2026, 3, 2, 15, 0, tzinfo=SEOUL)
DUE = datetime(2026, 3, 3, 10, 0, tzinfo=SEOUL)
PHONE = "+821012345678"


@pytest.fixture
def acme(db):
    console_backend.outbox.clear()
    gateway = Gateway.objects.create(name="Test console", backend="console")
    yield sending_project("Acme", gateway=gateway)
    console_backend.outbox.clear()


def consent(project, now, user_id="u1", **fields):
    item = {"userId": user_id, "phoneNumber": PHONE, **fields}
    do_track(project, parse_track({"userAttributes": [item]}, now), now)


def send_all(outbox_id: int, now: datetime) -> None:
    while pipeline.send_batch(outbox_id, now=now).claimed:
        pass


def test_a_due_notice_is_handed_to_an_informational_outbox_once(acme):
    consent(acme, CHANGED, promotionalConsent=True)
    (notice,) = Notice.objects.all()
    assert sending.hand_over(acme, DUE - timedelta(minutes=1)) == 0  # not due yet
    assert sending.hand_over(acme, DUE) == 1
    assert sending.hand_over(acme, DUE) == 0  # a second run takes nothing
    notice.refresh_from_db()
    assert notice.state == "queued" and notice.outbox_id
    (message,) = Message.objects.all()
    assert (message.outbox_id, message.dedupe_key) == (notice.outbox_id, notice_key(notice.pk))
    assert message.phone_number == PHONE and message.status == "queued"
    assert "Acme Ltd" in message.body and "광고성 정보 수신 동의" in message.body
    assert "2026-03-02" in message.body and "(광고)" not in message.body
    outbox = Outbox.objects.get(pk=notice.outbox_id)
    assert not outbox.is_promotional and not outbox.counts_towards_cap
    assert outbox.frequency_cap == 0
    assert outbox.ignores_optout_list and outbox.never_at_night
    assert outbox.producer_kind == "consent" and outbox.producer_id == "2026-03-03"


def test_an_optout_is_confirmed_to_the_number_on_the_list_despite_the_cap(acme):
    SendingPolicy.objects.create(project=acme, frequency_cap=1, frequency_window_hours=24)
    Customer.objects.create(project=acme, user_id="k", phone_number=PHONE)
    do_opt_out(acme, [PHONE], OptOutSource.CALL_080)
    (notice,) = Notice.objects.all()
    at = notice.due_at  # the opt-out happened now: the next 10:00
    assert sending.hand_over(acme, at) == 1
    notice.refresh_from_db()
    send_all(notice.outbox_id, at)
    (sms,) = console_backend.outbox
    assert sms.to == PHONE and "수신거부 등록" in sms.body
    assert sms.reference == message_reference(notice.outbox_id, notice_key(notice.pk))
    # A second notice within the cap's window: the cap does not hold it either.
    consent(acme, at, user_id="k", promotionalConsent=True)
    next_day = at + timedelta(days=1)
    assert sending.hand_over(acme, next_day) == 1
    outbox = Outbox.objects.get(pk=Notice.objects.exclude(pk=notice.pk).get().outbox_id)
    send_all(outbox.pk, next_day - timedelta(hours=2))
    assert len(console_backend.outbox) == 2
    stats = OutboxStats.objects.get(pk=outbox.pk)
    assert (stats.skipped_frequency_cap, stats.skipped_opted_out) == (0, 0)


def test_a_late_notice_waits_for_the_morning_even_with_night_consent(acme):
    consent(acme, CHANGED, promotionalConsent=True, nightConsent=True)
    night = datetime(2026, 3, 3, 22, 30, tzinfo=SEOUL)  # the hand-over ran late
    assert sending.hand_over(acme, night) == 1
    outbox_id = Notice.objects.get().outbox_id
    send_all(outbox_id, night)
    assert console_backend.outbox == []
    (message,) = Message.objects.all()
    assert message.status == "queued"
    assert message.held_until == datetime(2026, 3, 4, 8, 0, tzinfo=SEOUL)


def test_the_outcome_flows_back_sent_then_delivered(acme):
    consent(acme, CHANGED, promotionalConsent=True)
    sending.hand_over(acme, DUE)
    notice = Notice.objects.get()
    assert sending.sync_outcomes(DUE) == {}  # nothing went yet
    send_all(Notice.objects.get().outbox_id, DUE)
    # The console carrier reports delivery at once: as if it had not yet.
    Message.objects.update(status="sent", delivered_at=None)
    assert sending.sync_outcomes(DUE) == {"sent": 1}
    notice.refresh_from_db()
    assert notice.state == "sent" and notice.sent_at is not None
    (sms,) = console_backend.outbox
    reported = datetime(2026, 3, 3, 1, 5, tzinfo=UTC)
    apply_delivery_reports(
        [DeliveryReport("console", "p1", sms.reference, "delivered", occurred_at=reported)]
    )
    assert sending.sync_outcomes(DUE) == {"delivered": 1}
    notice.refresh_from_db()
    assert (notice.state, notice.delivered_at) == ("delivered", reported)
    assert sending.sync_outcomes(DUE) == {}


def test_a_failure_is_recorded_with_the_carriers_reason(acme):
    consent(acme, CHANGED, promotionalConsent=True)
    sending.hand_over(acme, DUE)
    send_all(Notice.objects.get().outbox_id, DUE)
    Message.objects.update(status="sent", delivered_at=None)
    (sms,) = console_backend.outbox
    apply_delivery_reports(
        [DeliveryReport("console", "p1", sms.reference, "failed", "E1", "Handset off")]
    )
    sending.sync_outcomes(DUE)
    notice = Notice.objects.get()
    assert (notice.state, notice.error) == ("failed", "Handset off")


def test_a_cancelled_message_makes_the_notice_due_again_for_a_new_outbox(acme):
    consent(acme, CHANGED, promotionalConsent=True)
    sending.hand_over(acme, DUE)
    first = Notice.objects.get().outbox_id
    do_close_outbox(first)
    assert sending.sync_outcomes(DUE) == {"due": 1}
    assert sending.hand_over(acme, DUE) == 1
    notice = Notice.objects.get()
    assert notice.state == "queued" and notice.outbox_id != first
    send_all(notice.outbox_id, DUE)
    assert len(console_backend.outbox) == 1


def test_a_number_that_became_invalid_makes_the_notice_impossible(acme):
    consent(acme, CHANGED, promotionalConsent=True)
    Customer.objects.update(phone_number="010-12")
    assert sending.hand_over(acme, DUE) == 1
    notice = Notice.objects.get()
    assert (notice.state, notice.reason) == ("impossible", "invalid_phone_number")
    assert not Message.objects.exists()


def test_nothing_goes_without_an_approved_sender_or_with_the_kind_switched_off(acme):
    from channels.models import SenderNumber
    from consent.models import NoticeSettings

    consent(acme, CHANGED, promotionalConsent=True)
    SenderNumber.objects.update(status=SenderNumber.Status.SUSPENDED)
    assert sending.hand_over(acme, DUE) == 0
    SenderNumber.objects.update(status=SenderNumber.Status.APPROVED)
    NoticeSettings.objects.create(project=acme, result_enabled=False)
    assert sending.hand_over(acme, DUE) == 0
    assert Notice.objects.get().state == "due"


def test_an_edited_text_is_what_goes(acme):
    from consent.models import NoticeSettings

    NoticeSettings.objects.create(
        project=acme, result_text="{{ company_name }}: {{ result }} ({{ date }})"
    )
    consent(acme, CHANGED, promotionalConsent=True)
    sending.hand_over(acme, DUE)
    assert Message.objects.get().body == "Acme Ltd: 광고성 정보 수신 동의 (2026-03-02)"


def test_the_minute_task_hands_over_in_batches_and_syncs(acme, settings, monkeypatch):
    settings.CONSENT_NOTICE_BATCH_SIZE = 2
    for i in range(5):
        item = {"userId": f"u{i}", "phoneNumber": f"+82101234560{i}", "promotionalConsent": True}
        do_track(acme, parse_track({"userAttributes": [item]}, CHANGED), CHANGED)
    monkeypatch.setattr(sending.timezone, "now", lambda: DUE)
    monkeypatch.setattr(consent_tasks.timezone, "now", lambda: DUE)
    assert consent_tasks.send_notices()["handed_over"] == 5
    assert set(Notice.objects.values_list("state", flat=True)) == {"queued"}
    assert Message.objects.count() == 5
    send_all(Notice.objects.first().outbox_id, DUE)
    result = consent_tasks.send_notices()
    assert (result["synced_delivered"], result["handed_over"]) == (5, 0)


def test_the_consent_page_shows_sent_failed_and_the_statistics(acme, client):
    from django.urls import reverse

    from projects.models import Membership, Role
    from tests.support.world import make_user

    for i, number in enumerate([PHONE, "+821099990000"]):
        item = {"userId": f"u{i}", "phoneNumber": number, "promotionalConsent": True}
        do_track(acme, parse_track({"userAttributes": [item]}, CHANGED), CHANGED)
    sending.hand_over(acme, DUE)
    send_all(Notice.objects.first().outbox_id, DUE)
    Message.objects.filter(phone_number=PHONE).update(status="sent", delivered_at=None)
    reference = Message.objects.get(phone_number=PHONE).reference
    apply_delivery_reports([DeliveryReport("console", "p", reference, "failed", "E", "Off")])
    sending.sync_outcomes(DUE)
    user = make_user("viewer@acme.test")
    Membership.objects.create(project=acme, user=user, role=Role.VIEWER)
    client.force_login(user)
    page = client.get(reverse("consent", args=[acme.id])).content.decode()
    counts = page.split('id="notice-counts"')[1].split("</table>")[0]
    assert '<td data-state="delivered">1</td>' in counts
    assert '<td data-state="failed">1</td>' in counts
    sent = page.split('id="sent-notices"')[1].split("</section>")[0]
    assert 'data-state="delivered"' in sent and ">u1<" in sent
    failed = page.split('id="failed-notices"')[1].split("</section>")[0]
    assert ">u0<" in failed and "Off" in failed
    stats = page.split('id="notice-statistics"')[1].split("</section>")[0]
    counters = OutboxStats.objects.get(pk=Notice.objects.first().outbox_id)
    assert (counters.recipients, counters.sent) == (2, 2)
    for name in ("recipients", "sent", "delivered", "failed"):
        assert f'data-stat="{name}">{getattr(counters, name)}<' in stats
    assert 'id="sending-blocked"' not in page


def test_a_paused_notice_outbox_goes_on_once_the_project_has_a_gateway(acme, monkeypatch):
    from channels.models import SmsChannel

    consent(acme, CHANGED, promotionalConsent=True)
    sending.hand_over(acme, DUE)
    outbox_id = Notice.objects.get().outbox_id
    SmsChannel.objects.filter(project=acme).delete()
    Gateway.objects.update(is_default=False)  # no channel, no default gateway
    assert pipeline.send_batch(outbox_id, now=DUE).claimed == 0
    assert Outbox.objects.get(pk=outbox_id).status == "paused"
    monkeypatch.setattr(consent_tasks.timezone, "now", lambda: DUE)
    consent_tasks.send_notices()
    assert Outbox.objects.get(pk=outbox_id).status == "paused"  # still no gateway
    SmsChannel.objects.create(project=acme, gateway=Gateway.objects.get(name="Test console"))
    consent_tasks.send_notices()
    assert Outbox.objects.get(pk=outbox_id).status == "open"
    send_all(outbox_id, DUE)
    assert len(console_backend.outbox) == 1


def test_the_api_gives_the_notice_settings_counts_and_statistics(acme, client):
    from projects.actions import do_create_api_token

    _, token = do_create_api_token(acme, "t", None)
    consent(acme, CHANGED, promotionalConsent=True)
    consent(acme, CHANGED, user_id="u2", promotionalConsent=True)
    Customer.objects.filter(user_id="u2").update(phone_number="")
    sending.hand_over(acme, DUE)
    send_all(Notice.objects.filter(state="queued").get().outbox_id, DUE)
    sending.sync_outcomes(DUE)
    response = client.get(
        f"/v1/projects/{acme.id}/consent/notices", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["result"]["enabled"] and not body["result"]["customised"]
    assert "{{ company_name }}" in body["reminder"]["text"]
    assert body["result"]["counts"] == {
        "due": 0, "queued": 0, "sent": 0, "delivered": 1, "failed": 0, "impossible": 1
    }  # fmt: skip
    assert body["statistics"]["recipients"] == 1 and body["statistics"]["delivered"] == 1
    assert body["sendingBlocked"] is False


def test_a_promotional_outbox_may_not_ignore_the_optout_list(acme):
    from dispatch.actions import do_create_outbox, do_update_outbox

    with pytest.raises(ValueError, match="opted-out"):
        do_create_outbox(acme, producer_kind="x", is_promotional=True, ignores_optout_list=True)
    outbox = do_create_outbox(acme, producer_kind="x", ignores_optout_list=True)
    do_update_outbox(outbox.pk, is_promotional=True)
    outbox.refresh_from_db()
    assert outbox.is_promotional and not outbox.ignores_optout_list
