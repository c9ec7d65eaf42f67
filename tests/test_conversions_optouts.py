"""Opt-outs after a send: a number that opts out within 7 days after a
campaign's message was sent to it counts once for that campaign."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.models import Message, OutboxStats
from optout.actions import do_opt_in, do_opt_out
from tests.support.campaigns import sending_project
from tests.support.conversions import acme_sending_to_console, customers, sent_campaign


@pytest.fixture
def acme(db):
    return acme_sending_to_console()


def optouts(campaign) -> int:
    return OutboxStats.objects.get(pk=campaign.outbox_id).optouts_after_send


def test_an_opt_out_counts_for_every_campaign_sent_in_the_previous_7_days_once(
    acme, django_capture_on_commit_callbacks
):
    people = customers(acme, 3)
    now = timezone.now()
    recent = sent_campaign(acme, people[:2], now - timedelta(days=6, hours=23), name="recent")
    today = sent_campaign(acme, people[:1], now - timedelta(minutes=5), name="today")
    old = sent_campaign(acme, people[:1], now - timedelta(days=7, minutes=1), name="old")
    skipped = sent_campaign(acme, people[:1], now, status=Message.Status.SKIPPED, name="skipped")
    number = people[0].phone_number
    with django_capture_on_commit_callbacks(execute=True):
        do_opt_out(acme, [number, people[2].phone_number], "api")
    assert [optouts(c) for c in (recent, today, old, skipped)] == [1, 1, 0, 0]
    # Opting back in and out again does not count twice.
    with django_capture_on_commit_callbacks(execute=True):
        do_opt_in(acme, [number], "api")
    with django_capture_on_commit_callbacks(execute=True):
        do_opt_out(acme, [number], "api")
    assert [optouts(c) for c in (recent, today)] == [1, 1]
    # The second recipient of `recent` counts separately.
    with django_capture_on_commit_callbacks(execute=True):
        do_opt_out(acme, [people[1].phone_number], "console")
    assert optouts(recent) == 2


def test_an_opt_out_in_another_project_counts_nothing_here(
    acme, django_capture_on_commit_callbacks
):
    people = customers(acme, 1)
    campaign = sent_campaign(acme, people, timezone.now() - timedelta(hours=1))
    bolt = sending_project("Bolt")
    with django_capture_on_commit_callbacks(execute=True):
        do_opt_out(bolt, [people[0].phone_number], "api")
    assert optouts(campaign) == 0


def test_a_number_already_on_the_list_is_not_counted_again(
    acme, django_capture_on_commit_callbacks
):
    people = customers(acme, 1)
    with django_capture_on_commit_callbacks(execute=True):
        do_opt_out(acme, [people[0].phone_number], "api")
    campaign = sent_campaign(acme, people, timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        do_opt_out(acme, [people[0].phone_number], "api")
    assert optouts(campaign) == 0
