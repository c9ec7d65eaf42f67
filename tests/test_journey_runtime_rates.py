"""Journeys keep headroom in the rate limits: while a project has an open
journey outbox, other producers (a large campaign) may take only part of
each project-minute and gateway-second window; the rest is the journeys'."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels.models import Gateway
from dispatch.actions import do_create_outbox
from dispatch.models import Outbox
from dispatch.pipeline import acquire_rate, journey_reserve
from tests.support.campaigns import sending_project

AT = datetime(2026, 3, 2, 3, 0, 10, tzinfo=UTC)


@pytest.fixture
def acme(db):
    project = sending_project("Acme", rate=100)
    return project


def test_a_campaign_leaves_a_share_of_the_limits_to_open_journeys(acme):
    gateway = Gateway.objects.create(
        name="Rate console", backend="console", messages_per_second=1000
    )
    campaign = do_create_outbox(acme, producer_kind="campaign", status=Outbox.Status.OPEN)
    assert journey_reserve(campaign) == 0.0
    granted, _give_back = acquire_rate(acme, gateway, 50, AT, reserve=journey_reserve(campaign))
    assert granted == 50
    journey = do_create_outbox(acme, producer_kind="journey", status=Outbox.Status.OPEN)
    assert journey_reserve(campaign) == 0.1
    assert journey_reserve(journey) == 0.0
    # The campaign may fill the window to 90 of 100; the journey to 100.
    granted, _ = acquire_rate(acme, gateway, 100, AT, reserve=journey_reserve(campaign))
    assert granted == 40
    granted, _ = acquire_rate(acme, gateway, 100, AT, reserve=journey_reserve(journey))
    assert granted == 10


def test_a_tiny_limit_is_not_rounded_away(acme):
    acme.send_rate_per_minute = 4
    acme.save()
    gateway = Gateway.objects.create(
        name="Rate console", backend="console", messages_per_second=1000
    )
    do_create_outbox(acme, producer_kind="journey", status=Outbox.Status.OPEN)
    campaign = do_create_outbox(acme, producer_kind="campaign", status=Outbox.Status.OPEN)
    granted, _ = acquire_rate(acme, gateway, 10, AT, reserve=journey_reserve(campaign))
    assert granted == 4
