"""A long move between versions is not queued again every minute (issue 13):
the task at work holds the migration (owner, renewed every batch), and the
minute's `resume_lost_migrations` skips one a live task holds, or one it
queued again less than a task's lifetime ago; a dead or silent holder's
migration is queued again and taken over."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.pipeline import process_owner
from journeys import tasks, versions
from journeys.models import JourneyVersion, VersionMigration
from tests.journey_factories import chain, live_journey, node
from tests.support.campaigns import sending_project

HOUR_AGO = timedelta(hours=1)


@pytest.fixture
def migration(db) -> VersionMigration:
    project = sending_project("Acme")
    journey = live_journey(project, chain(node("exit", "x")))
    old = journey.live_version
    new = JourneyVersion.objects.create(
        journey=journey, number=2, state=JourneyVersion.State.PUBLISHED, graph=old.graph
    )
    made = versions.create_migration(old, new, {}, {})
    VersionMigration.objects.filter(pk=made.pk).update(created_at=timezone.now() - HOUR_AGO)
    return VersionMigration.objects.get(pk=made.pk)


def _dead_owner() -> str:
    host = process_owner().partition(":")[0]
    return f"{host}:999999:dead"


def _set(migration: VersionMigration, **fields) -> None:
    VersionMigration.objects.filter(pk=migration.pk).update(**fields)


def test_a_migration_a_live_task_holds_is_not_queued_again(migration):
    _set(migration, owner=process_owner(), renewed_at=timezone.now())
    assert tasks.resume_lost_migrations() == 0
    assert tasks.resume_lost_migrations(restart=True) == 0
    migration.refresh_from_db()
    assert migration.finished_at is None


def test_a_migration_of_a_dead_or_silent_task_is_queued_again_and_finished(migration):
    _set(migration, owner=_dead_owner(), renewed_at=timezone.now())
    assert tasks.resume_lost_migrations() == 1  # tasks run inline in the test settings
    migration.refresh_from_db()
    assert migration.finished_at is not None and migration.owner == ""


def test_a_silent_holder_loses_the_migration_after_the_claim_timeout(migration, settings):
    stale = timezone.now() - timedelta(seconds=settings.DISPATCH_CLAIM_SECONDS + 5)
    _set(migration, owner="elsewhere:1:x", renewed_at=stale)
    assert tasks.resume_lost_migrations() == 1
    migration.refresh_from_db()
    assert migration.finished_at is not None


def test_a_migration_queued_again_is_not_queued_once_more_before_its_task_starts(
    migration, monkeypatch
):
    queued = []
    monkeypatch.setattr(tasks, "async_task", lambda *args: queued.append(args))
    assert tasks.resume_lost_migrations() == 1
    assert tasks.resume_lost_migrations() == 0  # the minute after: still waiting in the queue
    assert len(queued) == 1
    # A task's lifetime later it was lost too: queued again.
    _set(migration, renewed_at=timezone.now() - HOUR_AGO)
    assert tasks.resume_lost_migrations() == 1
    # A starting worker queues it whatever: its predecessor's queue is gone.
    assert tasks.resume_lost_migrations(restart=True) == 1


def test_a_second_task_of_a_migration_leaves_it_to_the_live_first(migration):
    _set(migration, owner=process_owner(), renewed_at=timezone.now())
    assert versions.run_migration(migration.pk) is False
    migration.refresh_from_db()
    assert migration.finished_at is None
    _set(migration, owner=_dead_owner())
    assert versions.run_migration(migration.pk) is True
