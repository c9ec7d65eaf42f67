"""Send buckets became per second (issue 15): the per-minute rows kept before
come through the migration as they were, marked 60 seconds wide, and a
campaign counted by the minute is still drawn per minute, never as if all
its messages went in the first second of each minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from dispatch.models import SendBucket
from stats.queries import campaign_statistics
from tests.support.campaigns import segment_campaign, sending_project

BEFORE = [("dispatch", "0005_outbox_linger")]
T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


@pytest.mark.django_db(transaction=True)
def test_minute_buckets_kept_before_the_change_still_draw_per_minute():
    project = sending_project("Before seconds")
    campaign = segment_campaign(project, name="Sent by the minute")
    try:
        executor = _migrate(BEFORE)
        OldBucket = executor.loader.project_state(BEFORE).apps.get_model("dispatch", "SendBucket")
        # A 1,000,000-recipient send of 80 seconds, counted by the minute.
        OldBucket.objects.create(outbox_id=campaign.outbox_id, minute=T0, sent=740_000)
        OldBucket.objects.create(
            outbox_id=campaign.outbox_id, minute=T0 + timedelta(minutes=1), sent=260_000
        )
    finally:
        _migrate(None)
    rows = SendBucket.objects.filter(outbox_id=campaign.outbox_id).order_by("second")
    assert list(rows.values_list("second", "width", "sent")) == [
        (T0, 60, 740_000),
        (T0 + timedelta(minutes=1), 60, 260_000),
    ]
    series = campaign_statistics(campaign)["sendSeries"]
    assert series["stepSeconds"] == 60
    assert [p["sent"] for p in series["points"]] == [740_000, 260_000]
    # New rows are a second wide.
    SendBucket.objects.create(
        outbox_id=campaign.outbox_id, second=T0 + timedelta(days=1, seconds=5), sent=1
    )
    assert SendBucket.objects.get(second=T0 + timedelta(days=1, seconds=5)).width == 1
