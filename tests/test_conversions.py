"""Conversions attributed as Track events arrive: windows at their edges, one
conversion per user, goal and basis, revenue, file audiences through phone
matching, and what must never convert."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from audiences.files.storage import match_customers
from audiences.models import Customer
from campaigns.actions import do_start_campaign
from campaigns.materialise import materialise_chunk
from campaigns.models import Campaign
from conversions.attribution import revenue_of
from conversions.models import (
    Basis,
    Conversion,
    ConversionBucket,
    ConversionGoal,
    FirstClick,
    TrackedLink,
)
from dispatch import pipeline
from dispatch.models import Message
from tests.support.campaigns import file_campaign, phone, sending_project
from tests.support.conversions import (
    HOUR,
    acme_sending_to_console,
    an_hour_ago,
    customers,
    goal,
    sent_campaign,
    track,
)

SECOND = timedelta(seconds=1)


@pytest.fixture
def acme(db):
    return acme_sending_to_console()


def counters(campaign: Campaign) -> list[tuple[str, int, Decimal, int, Decimal]]:
    return [
        (g.event_name, g.conversions, g.revenue, g.click_conversions, g.click_revenue)
        for g in ConversionGoal.objects.filter(campaign=campaign)
    ]


def converted(campaign: Campaign, basis: str = Basis.SEND) -> set[str]:
    ids = Conversion.objects.filter(campaign=campaign, basis=basis).values_list(
        "customer_id", flat=True
    )
    return set(Customer.objects.filter(pk__in=ids).values_list("user_id", flat=True))


def test_the_window_includes_its_last_second_and_nothing_before_the_send(
    acme, django_capture_on_commit_callbacks
):
    sent = an_hour_ago(days=2)
    people = customers(acme, 4)
    campaign = sent_campaign(acme, people, sent, goals=[goal("purchase", 24 * HOUR)])
    end = sent + 24 * HOUR
    track(
        django_capture_on_commit_callbacks,
        acme,
        ("u0", "purchase", end, {}),
        ("u1", "purchase", end + SECOND, {}),
        ("u2", "purchase", sent - SECOND, {}),
        ("u3", "purchase", sent, {}),
    )
    assert converted(campaign) == {"u0", "u3"}
    assert counters(campaign) == [("purchase", 2, Decimal(0), 0, Decimal(0))]


def test_a_user_converts_once_per_goal_however_many_events(
    acme, django_capture_on_commit_callbacks
):
    sent = an_hour_ago(days=1)
    campaign = sent_campaign(
        acme,
        customers(acme, 1),
        sent,
        goals=[goal("purchase", 6 * HOUR, revenue_field="amount"), goal("signup", 6 * HOUR)],
    )
    at = sent + timedelta(minutes=5)
    track(
        django_capture_on_commit_callbacks,
        acme,
        ("u0", "purchase", at + SECOND, {"amount": 700}),
        ("u0", "purchase", at, {"amount": 500}),
        ("u0", "signup", at, {}),
    )
    track(django_capture_on_commit_callbacks, acme, ("u0", "purchase", at, {"amount": 900}))
    rows = Conversion.objects.filter(campaign=campaign).order_by("goal__position")
    assert [(r.goal.event_name, r.revenue, r.converted_at) for r in rows] == [
        ("purchase", Decimal("500.00"), at),  # the earliest event of the call
        ("signup", Decimal(0), at),
    ]
    assert counters(campaign) == [
        ("purchase", 1, Decimal(500), 0, Decimal(0)),
        ("signup", 1, Decimal(0), 0, Decimal(0)),
    ]


def test_revenue_is_the_amount_times_the_quantity_and_bad_values_count_zero(
    acme, django_capture_on_commit_callbacks
):
    sent = an_hour_ago(days=1)
    campaign = sent_campaign(
        acme,
        customers(acme, 6),
        sent,
        goals=[goal("purchase", 2 * HOUR, revenue_field="amount", quantity_field="qty")],
    )
    at = sent + timedelta(minutes=30)
    track(
        django_capture_on_commit_callbacks,
        acme,
        ("u0", "purchase", at, {"amount": 1000, "qty": 3}),
        ("u1", "purchase", at, {"amount": "2500.5"}),  # no quantity: the amount
        ("u2", "purchase", at, {"amount": "lots"}),
        ("u3", "purchase", at, {}),
        ("u4", "purchase", at, {"amount": 100, "qty": "some"}),
        ("u5", "purchase", at, {"amount": 19.99, "qty": 2}),
    )
    assert len(converted(campaign)) == 6
    total = Decimal("3000") + Decimal("2500.50") + Decimal("39.98")
    assert counters(campaign) == [("purchase", 6, total, 0, Decimal(0))]
    bucket = ConversionBucket.objects.get(goal__campaign=campaign)
    assert (bucket.hour, bucket.conversions, bucket.revenue) == (sent, 6, total)


def test_revenue_of_never_fails_on_odd_data():
    assert revenue_of({"amount": True}, "amount") == 0
    assert revenue_of({"amount": float("nan")}, "amount") == 0
    assert revenue_of({"amount": "1e400"}, "amount") == 0
    assert revenue_of({"amount": -5}, "amount") == 0
    assert revenue_of(["amount"], "amount") == 0
    assert revenue_of({"amount": [1]}, "amount") == 0
    assert revenue_of({"amount": 10}, "") == 0
    assert revenue_of({"amount": "12.345"}, "amount") == Decimal("12.34")


def test_conversions_fill_the_hour_they_happened_in(acme, django_capture_on_commit_callbacks):
    sent = an_hour_ago(days=1)
    campaign = sent_campaign(
        acme, customers(acme, 3), sent, goals=[goal("purchase", 24 * HOUR, revenue_field="p")]
    )
    track(
        django_capture_on_commit_callbacks,
        acme,
        ("u0", "purchase", sent + timedelta(minutes=10), {"p": 1}),
        ("u1", "purchase", sent + timedelta(minutes=50), {"p": 2}),
        ("u2", "purchase", sent + timedelta(hours=3, minutes=1), {"p": 4}),
    )
    buckets = ConversionBucket.objects.filter(goal__campaign=campaign).order_by("hour")
    assert [(b.hour - sent, b.conversions, b.revenue) for b in buckets] == [
        (timedelta(0), 2, Decimal(3)),
        (timedelta(hours=3), 1, Decimal(4)),
    ]


def test_unsent_skipped_and_failed_messages_never_convert(acme, django_capture_on_commit_callbacks):
    sent = an_hour_ago(days=1)
    people = customers(acme, 4)
    campaigns = [
        sent_campaign(acme, [person], sent, status=status, goals=[goal()], name=status)
        for person, status in zip(
            people,
            [
                Message.Status.QUEUED,
                Message.Status.SKIPPED,
                Message.Status.FAILED,
                Message.Status.DELIVERED,
            ],
            strict=True,
        )
    ]
    at = sent + timedelta(minutes=1)
    track(
        django_capture_on_commit_callbacks,
        acme,
        *[(f"u{i}", "purchase", at, {}) for i in range(4)],
    )
    assert [converted(c) for c in campaigns] == [set(), set(), set(), {"u3"}]


def test_events_of_another_project_or_another_name_never_convert(
    acme, world, django_capture_on_commit_callbacks
):
    sent = an_hour_ago(days=1)
    campaign = sent_campaign(acme, customers(acme, 2), sent, goals=[goal("purchase")])
    bolt = sending_project("Bolt")
    bolt_people = customers(bolt, 1)  # also "u0", with the same phone number
    sent_campaign(bolt, bolt_people, sent, goals=[goal("signup")])
    at = sent + timedelta(minutes=1)
    track(django_capture_on_commit_callbacks, bolt, ("u0", "purchase", at, {}))
    track(django_capture_on_commit_callbacks, acme, ("u1", "view_item", at, {}))
    assert Conversion.objects.count() == 0
    assert counters(campaign) == [("purchase", 0, Decimal(0), 0, Decimal(0))]


def test_a_file_audience_converts_through_the_user_matched_by_phone_number(
    acme, world, client, django_capture_on_commit_callbacks
):
    """End to end: a file audience, phone matching, the real pipeline and
    the Track API through HTTP."""
    people = customers(acme, 3)
    rows = [(p.phone_number, {"coupon": f"C{i}"}) for i, p in enumerate(people)]
    rows.append((phone(50), {"coupon": "nobody"}))  # no user with this number
    campaign = file_campaign(acme, rows)
    with connection.cursor() as cursor:
        assert match_customers(cursor, campaign.audience_file, campaign.audience_file_id.hex) == 3
    ConversionGoal.objects.create(
        campaign=campaign, position=1, event_name="purchase", window_seconds=3600,
        revenue_field="amount",
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False):
        do_start_campaign(campaign)
    while materialise_chunk(campaign.pk):
        pass
    while pipeline.send_batch(campaign.outbox_id).claimed:
        pass
    assert Message.objects.filter(outbox_id=campaign.outbox_id, sent_at__isnull=False).count() == 4
    from projects.actions import do_create_api_token

    _, token = do_create_api_token(acme, "shop", None)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("api_track", args=[acme.id]),
            data=json.dumps(
                {
                    "events": [
                        {
                            "subjectType": "user",
                            "subjectId": u,
                            "type": "purchase",
                            "data": {"amount": 12000},
                        }
                        for u in ("u1", "u2", "stranger")
                    ]
                }
            ),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
    assert response.status_code == 200, response.content
    assert converted(campaign) == {"u1", "u2"}
    assert counters(campaign) == [("purchase", 2, Decimal(24000), 0, Decimal(0))]


def test_after_a_click_the_click_based_window_counts_from_the_first_click(
    acme, django_capture_on_commit_callbacks
):
    sent = an_hour_ago(days=1)
    people = customers(acme, 2)
    campaign = sent_campaign(acme, people, sent, goals=[goal("purchase", HOUR)])
    clicked = sent + timedelta(hours=3)
    message = Message.objects.get(outbox_id=campaign.outbox_id, customer_id=people[0].pk)
    TrackedLink.objects.create(outbox_id=campaign.outbox_id, url="https://shop.example/")
    FirstClick.objects.create(
        message_id=message.pk,
        outbox_id=campaign.outbox_id,
        customer_id=people[0].pk,
        clicked_at=clicked,
    )
    track(
        django_capture_on_commit_callbacks,
        acme,
        ("u0", "purchase", sent + timedelta(minutes=30), {}),  # send basis only: before the click
        ("u0", "purchase", clicked + HOUR, {}),  # click basis: the last second of its window
        ("u1", "purchase", clicked + timedelta(minutes=1), {}),  # never clicked, send window over
    )
    assert converted(campaign, Basis.SEND) == {"u0"}
    assert converted(campaign, Basis.CLICK) == {"u0"}
    assert counters(campaign) == [("purchase", 1, Decimal(0), 1, Decimal(0))]
    # One per basis: a later event changes nothing.
    track(django_capture_on_commit_callbacks, acme, ("u0", "purchase", clicked, {}))
    assert Conversion.objects.filter(campaign=campaign).count() == 2


def test_campaigns_that_ended_longer_ago_than_the_longest_window_are_not_read(
    acme, django_capture_on_commit_callbacks
):
    sent = an_hour_ago(days=40)
    campaign = sent_campaign(
        acme, customers(acme, 1), sent, goals=[goal("purchase", 30 * 24 * HOUR)]
    )
    Campaign.objects.filter(pk=campaign.pk).update(
        status=Campaign.Status.COMPLETED, finished_at=sent + HOUR
    )
    track(django_capture_on_commit_callbacks, acme, ("u0", "purchase", sent + 2 * HOUR, {}))
    assert Conversion.objects.count() == 0


def test_a_failing_attribution_never_fails_the_track_call(
    acme, django_capture_on_commit_callbacks, monkeypatch
):
    """The inline attempt fails; the task queue (inline in tests) retries it."""
    sent = an_hour_ago(days=1)
    campaign = sent_campaign(acme, customers(acme, 1), sent, goals=[goal()])
    from conversions import receivers

    calls = []

    def flaky(project_id, event_ids):
        calls.append(event_ids)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        return real(project_id, event_ids)

    real = receivers.attribute_events
    monkeypatch.setattr(receivers, "attribute_events", flaky)
    monkeypatch.setattr("conversions.tasks.attribution.attribute_events", lambda p, e: flaky(p, e))
    track(django_capture_on_commit_callbacks, acme, ("u0", "purchase", sent + SECOND, {}))
    assert len(calls) == 2
    assert converted(campaign) == {"u0"}
