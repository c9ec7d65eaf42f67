"""Drafts, publish, and editing a live journey: the diff, the waiting counts,
each migration choice, and the crash-safe batches."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.utils import timezone

from audiences.models import Customer
from channels.models import SenderNumber
from journeys import versions
from journeys.actions import (
    JourneyEvent,
    JourneyInvalid,
    JourneyProblem,
    do_activate,
    do_create_journey,
    do_open_draft,
    do_pause,
    do_publish,
    do_resume,
    do_save_draft,
    do_stop,
)
from journeys.graph import node_map
from journeys.models import Journey, JourneyVersion, NodeCounter, Run, VersionMigration
from projects.models import AuditLog


@pytest.fixture
def sender(world) -> SenderNumber:
    return SenderNumber.objects.create(
        project=world.acme,
        number="+8215881234",
        owner_type=SenderNumber.OwnerType.COMPANY,
        owner_name="Acme",
        status=SenderNumber.Status.APPROVED,
    )


def graph_v1(sender_id: int) -> dict:
    return {
        "nodes": [
            {
                "key": "start",
                "kind": "trigger",
                "config": {"type": "event", "event": "signup"},
                "next": {"next": "wait"},
            },
            {"key": "wait", "kind": "delay", "config": {"seconds": 3600}, "next": {"next": "old"}},
            {
                "key": "old",
                "kind": "send",
                "config": {"sender_number_id": sender_id, "body": "Hello {{ name }}"},
                "next": {"sent": "end"},
            },
            {"key": "end", "kind": "exit", "config": {}, "next": {}},
        ]
    }


@pytest.fixture
def live(world, sender) -> Journey:
    journey = do_create_journey(world.acme, "Welcome", world.carol)
    do_save_draft(journey, graph_v1(sender.pk), {}, world.carol)
    do_publish(journey, world.carol)
    do_activate(journey, world.carol)
    journey.refresh_from_db()
    return journey


def run_at(journey: Journey, node: str, number: int, **fields) -> Run:
    customer = Customer.objects.create(
        project=journey.project, user_id=f"u{number}", phone_number=f"+8210000{number:04d}"
    )
    fields.setdefault("due_at", timezone.now() + timedelta(hours=1))
    return Run.objects.create(
        project=journey.project,
        journey=journey,
        version=journey.live_version,
        customer=customer,
        entry_key=f"e{number}",
        node=node,
        step=2,
        started_at=timezone.now(),
        **fields,
    )


def edit(journey: Journey, change) -> JourneyVersion:
    draft = do_open_draft(journey)
    graph = copy.deepcopy(draft.graph)
    change(graph)
    return do_save_draft(journey, graph)


def drop_old_send(graph: dict) -> None:
    graph["nodes"] = [n for n in graph["nodes"] if n["key"] != "old"]
    node_map(graph)["wait"]["next"] = {"next": "end"}


def test_create_makes_a_draft_journey_with_a_first_draft_version(world):
    journey = do_create_journey(world.acme, "Cart", world.carol)
    assert journey.status == Journey.Status.DRAFT
    assert journey.versions.get().number == 1
    assert AuditLog.objects.filter(action=JourneyEvent.CREATED, target="Cart").exists()
    with pytest.raises(JourneyProblem):
        do_create_journey(world.acme, "  ", world.carol)


def test_publish_refuses_a_draft_with_problems(world):
    journey = do_create_journey(world.acme, "Cart", world.carol)
    with pytest.raises(JourneyInvalid) as refused:
        do_publish(journey, world.carol)
    assert ("start", "config.event") in {(p.node, p.field) for p in refused.value.problems}
    assert journey.versions.get().state == JourneyVersion.State.DRAFT


def test_publish_makes_the_draft_live_and_retires_the_previous(world, live):
    first = live.live_version
    assert first.state == JourneyVersion.State.PUBLISHED
    draft = edit(live, lambda g: node_map(g)["wait"]["config"].update(seconds=7200))
    assert draft.number == 2 and draft.graph != first.graph
    do_publish(live, world.carol)
    live.refresh_from_db()
    first.refresh_from_db()
    assert live.live_version == draft
    assert first.state == JourneyVersion.State.RETIRED
    assert AuditLog.objects.filter(action=JourneyEvent.PUBLISHED).count() == 2


def test_a_frequency_cap_override_is_audited(world, live):
    draft = do_open_draft(live)
    do_save_draft(live, settings={**draft.settings, "frequency_cap": 1})
    do_publish(live, world.carol)
    entry = AuditLog.objects.get(action=JourneyEvent.CAP_OVERRIDDEN)
    assert entry.detail["frequency_cap"] == 1


def test_the_diff_counts_runs_waiting_at_changed_and_removed_nodes(world, live):
    run_at(live, "wait", 1)
    run_at(live, "wait", 2)
    run_at(live, "old", 3)
    run_at(live, "old", 4, state=Run.State.ENDED)

    def change(graph):
        drop_old_send(graph)
        node_map(graph)["wait"]["config"]["seconds"] = 600
        graph["nodes"].append({"key": "new1", "kind": "exit", "config": {}, "next": {}})
        node_map(graph)["wait"]["next"] = {"next": "new1"}

    draft = edit(live, change)
    diff = versions.diff_versions(live.live_version, draft)
    assert diff.removed == ["old"]
    assert diff.added == ["new1"]
    assert diff.changed == ["wait"] and diff.changed_delays == ["wait"]
    assert diff.waiting == {"old": 1, "wait": 2}


def test_a_removed_node_finish_old_keeps_the_runs_version(world, live):
    old_version = live.live_version
    run = run_at(live, "old", 1)
    edit(live, drop_old_send)
    do_publish(live, world.carol, {"old": "finish_old"})
    versions.resume_migrations()
    run.refresh_from_db()
    assert run.version == old_version and run.node == "old"
    assert VersionMigration.objects.get().finished_at is not None


def test_a_removed_node_move_puts_runs_on_the_new_node_due_now(world, live):
    run = run_at(live, "old", 1)
    waiting = run_at(live, "wait", 2)
    new = edit(live, drop_old_send)
    do_publish(live, world.carol, {"old": "move:end"})
    versions.resume_migrations()
    run.refresh_from_db()
    waiting.refresh_from_db()
    assert (run.version, run.node, run.state) == (new, "end", Run.State.ACTIVE)
    assert run.due_at <= timezone.now()
    # A run at an unchanged node moves to the new version where it is.
    assert (waiting.version, waiting.node) == (new, "wait")
    migration = VersionMigration.objects.get()
    assert migration.moved == 2 and migration.exited == 0
    assert NodeCounter.objects.get(version=new, node="end", metric="waiting").value == 1


def _figures(version: JourneyVersion) -> dict[tuple[str, str], int]:
    return {
        (node, metric): value
        for node, metric, value in NodeCounter.objects.filter(version=version)
        .exclude(value=0)
        .values_list("node", "metric", "value")
    }


def test_a_move_counts_as_leaving_the_old_node_and_entering_the_new_one(world, live):
    old_version = live.live_version
    run_at(live, "old", 1)
    run_at(live, "wait", 2)
    new = edit(live, drop_old_send)
    do_publish(live, world.carol, {"old": "move:end"})
    versions.resume_migrations()
    # Each version's counts add up: what entered a node of the new version
    # by a move is counted there as entered (and moved in); the old
    # version's node counts it as moved out.
    assert _figures(new) == {
        ("end", "entered"): 1,
        ("end", "moved_in"): 1,
        ("end", "waiting"): 1,
        ("wait", "entered"): 1,
        ("wait", "moved_in"): 1,
        ("wait", "waiting"): 1,
    }
    assert _figures(old_version) == {
        ("old", "moved_out"): 1,
        ("old", "waiting"): -1,
        ("wait", "moved_out"): 1,
        ("wait", "waiting"): -1,
    }


def test_a_removed_node_exit_ends_its_runs(world, live):
    run = run_at(live, "old", 1)
    edit(live, drop_old_send)
    do_publish(live, world.carol, {"old": "exit"})
    versions.resume_migrations()
    run.refresh_from_db()
    assert run.state == Run.State.ENDED
    assert run.end_reason == Run.EndReason.MIGRATION_EXIT
    assert VersionMigration.objects.get().exited == 1
    assert NodeCounter.objects.get(node="old", metric="exited:migration").value == 1


def test_a_move_to_a_node_the_new_version_lacks_is_refused(world, live):
    edit(live, drop_old_send)
    with pytest.raises(versions.MigrationChoiceInvalid) as refused:
        do_publish(live, world.carol, {"old": "move:nowhere", "end": "exit"})
    assert set(refused.value.problems) == {"old", "end"}
    live.refresh_from_db()
    assert live.live_version.number == 1


def test_a_changed_delay_retimes_or_keeps_waiting_runs(world, live):
    now = timezone.now()
    # Entered the one-hour delay 50 minutes ago; another 5 minutes ago.
    late = run_at(live, "wait", 1, due_at=now + timedelta(minutes=10))
    early = run_at(live, "wait", 2, due_at=now + timedelta(minutes=55))
    edit(live, lambda g: node_map(g)["wait"]["config"].update(seconds=1800))
    do_publish(live, world.carol, {"wait": "retime"})
    versions.resume_migrations()
    late.refresh_from_db()
    early.refresh_from_db()
    # Already past the new half-hour delay: due now.
    assert late.due_at <= timezone.now()
    assert abs((early.due_at - (now + timedelta(minutes=25))).total_seconds()) < 5

    kept = run_at(live, "wait", 3, due_at=now + timedelta(minutes=20))
    edit(live, lambda g: node_map(g)["wait"]["config"].update(seconds=7200))
    do_publish(live, world.carol, {"wait": "keep"})
    versions.resume_migrations()
    kept.refresh_from_db()
    assert kept.due_at == now + timedelta(minutes=20)
    assert kept.version == live.live_version


def test_a_run_mid_step_is_left_for_the_next_batch(world, live):
    claimed = run_at(live, "old", 1, claim_token="abc")
    other = run_at(live, "old", 2)
    new = edit(live, drop_old_send)
    do_publish(live, world.carol, {"old": "move:end"})
    migration = VersionMigration.objects.get()
    assert versions.run_migration(migration.pk, max_rounds=1) is False
    claimed.refresh_from_db()
    other.refresh_from_db()
    assert claimed.version != new and other.version == new
    # The runner finished its step on the old version: the run is now at "end".
    Run.objects.filter(pk=claimed.pk).update(claim_token="", step=3, node="end")
    assert versions.run_migration(migration.pk) is True
    claimed.refresh_from_db()
    assert (claimed.version, claimed.node, claimed.step) == (new, "end", 3)


def test_a_run_that_stepped_since_it_was_read_is_not_moved(world, live):
    run = run_at(live, "old", 1)
    edit(live, drop_old_send)
    do_publish(live, world.carol, {"old": "exit"})
    migration = VersionMigration.objects.select_related("from_version", "to_version").get()
    stale = Run.objects.get(pk=run.pk)
    Run.objects.filter(pk=run.pk).update(step=3, node="end")
    assert versions._move_one(migration, stale, timezone.now()) == "busy"
    run.refresh_from_db()
    assert run.state == Run.State.ACTIVE


def test_status_moves_follow_the_table_and_are_audited(world, live):
    assert live.status == Journey.Status.ACTIVE
    with pytest.raises(JourneyProblem):
        do_resume(live, world.carol)
    do_pause(live, world.carol)
    assert live.status == Journey.Status.PAUSED and live.paused_at
    do_resume(live, world.carol)
    assert live.status == Journey.Status.ACTIVE
    run = run_at(live, "wait", 1)
    do_stop(live, world.carol)
    run.refresh_from_db()
    assert live.status == Journey.Status.STOPPED
    assert run.end_reason == Run.EndReason.STOPPED
    actions = set(AuditLog.objects.values_list("action", flat=True))
    for event in ("ACTIVATED", "PAUSED", "RESUMED", "STOPPED"):
        assert JourneyEvent[event] in actions
    with pytest.raises(JourneyProblem):
        do_open_draft(live)


def test_activate_needs_a_published_version(world):
    journey = do_create_journey(world.acme, "Cart", world.carol)
    with pytest.raises(JourneyProblem):
        do_activate(journey, world.carol)


def test_the_runner_re_enqueues_a_move_whose_task_was_lost(world, live):
    from datetime import timedelta

    from journeys import tasks

    run = run_at(live, "old", 1)
    edit(live, drop_old_send)
    do_publish(live, world.carol, {"old": "exit"})
    migration = VersionMigration.objects.get()
    assert migration.finished_at is None
    # Younger than a task may live: its own task may still be at work.
    assert tasks.resume_lost_migrations() == 0
    VersionMigration.objects.filter(pk=migration.pk).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    assert tasks.resume_lost_migrations() == 1  # tasks run inline in the test settings
    migration.refresh_from_db()
    run.refresh_from_db()
    assert migration.finished_at is not None and run.state == Run.State.ENDED
    assert tasks.resume_lost_migrations(restart=True) == 0


def test_a_starting_worker_re_enqueues_every_unfinished_move(world, live):
    from journeys import tasks

    run_at(live, "old", 1)
    edit(live, drop_old_send)
    do_publish(live, world.carol, {"old": "exit"})
    assert tasks.resume_lost_migrations(restart=True) == 1
    assert VersionMigration.objects.get().finished_at is not None
