"""A scheduled campaign starts within 5 s of its time through a real qcluster,
although django-q2's scheduler only looks every ~30 s."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.actions import do_schedule_campaign
from campaigns.models import Campaign
from channels.models import Gateway
from tests.support.campaigns import add_customers, segment_campaign, sending_project
from tests.support.processes import wait_until


@pytest.mark.processes
def test_a_scheduled_campaign_starts_within_five_seconds_of_its_time(qcluster, sandbox_carrier):
    gateway = Gateway.objects.create(name="Schedule carrier", backend="sandbox", config={})
    project = sending_project("Timely", gateway=gateway)
    add_customers(project, 3)
    campaign = segment_campaign(project)
    at = (timezone.now() + timedelta(seconds=12)).replace(microsecond=0)
    assert do_schedule_campaign(campaign, at)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SCHEDULED
    wait_until(
        lambda: Campaign.objects.get(pk=campaign.pk).started_at is not None,
        interval=0.1,
        what=lambda: f"the start; qcluster log:\n{qcluster.process.output()[-2000:]}",
    )
    started_at = Campaign.objects.get(pk=campaign.pk).started_at
    assert at <= started_at <= at + timedelta(seconds=5)
    wait_until(
        lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED,
        what="the campaign to complete",
    )
    assert len(sandbox_carrier.messages()) == 3


@pytest.mark.processes
def test_a_campaign_scheduled_beyond_the_scheduler_cycle_still_starts_on_time(
    qcluster, sandbox_carrier
):
    # 45 s ahead: the one-off Schedule fires 40 s early at the scheduler's
    # next look (every ~30 s); the task then sleeps, in steps shorter than
    # the task timeout, until the exact time.
    gateway = Gateway.objects.create(name="Schedule carrier", backend="sandbox", config={})
    project = sending_project("Punctual", gateway=gateway)
    add_customers(project, 2)
    campaign = segment_campaign(project)
    at = (timezone.now() + timedelta(seconds=45)).replace(microsecond=0)
    assert do_schedule_campaign(campaign, at)
    wait_until(
        lambda: Campaign.objects.get(pk=campaign.pk).started_at is not None,
        interval=0.2,
        what=lambda: f"the start; qcluster log:\n{qcluster.process.output()[-2000:]}",
    )
    started_at = Campaign.objects.get(pk=campaign.pk).started_at
    assert at <= started_at <= at + timedelta(seconds=5)
