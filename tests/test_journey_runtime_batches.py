"""The runner takes the steps of many runs per transaction (issue 13): one
transaction per round of a batch, each run's advance still conditional on
its own step counter, a run that lost its step skipped without costing the
others theirs, a step that raises tried alone and later, messages handed to
the send core per outbox, webhook events per project, counters summed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audiences.models import Customer
from channels.models import SenderNumber
from dispatch.models import Message, OutboxStats
from journeys import runtime
from journeys.counters import values as counter_values
from journeys.models import NodeCounter, Run, SendNodeOutbox, Step
from tests.journey_factories import chain, live_journey, node, track
from tests.support.campaigns import add_customers, sending_project
from webhooks.models import WebhookEvent

NOON = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
USERS = 30


@pytest.fixture
def acme(db):
    project = sending_project("Acme")
    add_customers(project, USERS)
    return project


@pytest.fixture
def sender(acme):
    return SenderNumber.objects.get(project=acme)


def _bench_graph(sender) -> dict:
    return chain(
        node(
            "split",
            "vip",
            branches=[{"label": "big", "entry_data": [{"field": "total", "op": "gt", "value": 5}]}],
            next={"b0": "ab", "else": "ab"},
        ),
        node(
            "ab",
            "ab",
            variants=[{"key": "a", "percent": 50}, {"key": "b", "percent": 50}],
            next={"a": "send", "b": "send"},
        ),
        node("send", "send", sender_number_id=sender.pk, body="{{ name }}님 안녕하세요"),
        node("exit", "bye"),
    )


def _enter_all(journey, project, n=USERS) -> list[Run]:
    runs = []
    for i, customer in enumerate(Customer.objects.filter(project=project).order_by("id")[:n]):
        event = track(customer, "cart_abandoned", {"total": i}, created_at=NOON)
        runs.append(
            runtime.do_enter_journey(journey, customer, entry_key="e", entry_event=event, now=NOON)
        )
    return runs


def _recount(journey) -> dict[tuple[str, str], int]:
    """The node counters a step log implies (ports and exits; entries at the
    trigger were counted on entry)."""
    counts: dict[tuple[str, str], int] = {}
    for step in Step.objects.filter(run__journey=journey):
        if step.port:
            key = (step.node, f"port:{step.port}")
            counts[key] = counts.get(key, 0) + 1
    for run in Run.objects.filter(journey=journey, state="ended"):
        key = (run.node, f"exited:{run.end_reason}")
        counts[key] = counts.get(key, 0) + 1
    return counts


def _savepoints(queries) -> int:
    return sum(1 for q in queries if q["sql"].upper().startswith("SAVEPOINT"))


def test_a_batch_of_runs_goes_trigger_to_exit_in_one_pass_a_transaction_per_round(acme, sender):
    journey = live_journey(acme, _bench_graph(sender))
    _enter_all(journey, acme)
    with CaptureQueriesContext(connection) as queries:
        result = runtime.run_batch(NOON)
    assert (result.claimed, result.steps) == (USERS, USERS * 5)
    assert Run.objects.filter(journey=journey, state="ended").count() == USERS
    # Five rounds (trigger, split, A/B, send, exit): a transaction each,
    # plus the outbox's own on its creation, the claim and the enqueue's
    # nested block: not one per run or per step.
    assert _savepoints(queries.captured_queries) <= 10
    outbox = SendNodeOutbox.objects.get(version=journey.live_version, node="send").outbox
    messages = Message.objects.filter(outbox=outbox)
    assert messages.count() == USERS
    assert {m.dedupe_key for m in messages} == {
        f"r{r.pk}-4" for r in Run.objects.filter(journey=journey)
    }
    stats = OutboxStats.objects.get(outbox=outbox)
    assert (stats.recipients, stats.queued) == (USERS, USERS)
    counts = counter_values(journey.live_version_id)
    for key, value in _recount(journey).items():
        assert counts[key] == value, key
    assert counts[("vip", "port:b0")] + counts[("vip", "port:else")] == USERS
    assert all(counts.get((n, "waiting"), 0) == 0 for n in ("start", "vip", "ab", "send", "bye"))
    for run in Run.objects.filter(journey=journey):
        numbers = list(
            Step.objects.filter(run=run).order_by("number").values_list("number", flat=True)
        )
        assert numbers == [1, 2, 3, 4, 5]


def test_a_run_another_worker_stepped_is_skipped_and_the_others_commit(acme, sender):
    journey = live_journey(acme, chain(node("send", "send", sender_number_id=sender.pk,
                                            body="안녕하세요"), node("exit", "bye")))  # fmt: skip
    _enter_all(journey, acme, 5)
    token = runtime.new_token()
    claimed = runtime.claim(10, NOON, token)
    loaded = runtime.Loaded()
    loaded.load(claimed)
    # The first round (trigger) in one go, for all five.
    assert runtime.take_batch_steps(claimed, loaded, token, NOON) == 15
    # Again from the start, as a worker that read the runs before: the
    # second worker's reads are stale for every run but one.
    fresh = Run.objects.select_related("customer").order_by("pk")
    stale = list(fresh)
    for run in stale:
        run.step, run.node, run.state = 0, "start", "active"
    Run.objects.filter(pk=stale[2].pk).update(step=0, node="start", state="active")
    Step.objects.filter(run=stale[2]).delete()
    before = counter_values(journey.live_version_id)
    won = runtime.commit_plans(
        [
            runtime.plan_step(
                run,
                loaded.graphs[run.version_id]["start"],
                runtime.nodes.Outcome("next"),
                loaded,
                NOON,
            )
            for run in stale
        ],
        NOON,
    )
    assert [plan.run.pk for plan in won] == [stale[2].pk]
    after = counter_values(journey.live_version_id)
    assert after[("start", "port:next")] == before[("start", "port:next")] + 1
    assert Step.objects.filter(run__journey=journey).count() == 4 * 3 + 1


def test_a_step_that_raises_is_tried_again_later_and_the_batch_goes_on(acme, sender, monkeypatch):
    journey = live_journey(acme, _bench_graph(sender))
    runs = _enter_all(journey, acme, 6)
    bad = runs[3]
    real = runtime.do_enqueue_messages

    def enqueue(outbox, messages):
        messages = list(messages)
        if any(m.dedupe_key.startswith(f"r{bad.pk}-") for m in messages):
            raise RuntimeError("the send core refused")
        return real(outbox, messages)

    monkeypatch.setattr(runtime, "do_enqueue_messages", enqueue)
    result = runtime.run_batch(NOON)
    assert result.steps == 5 * 5 + 3
    bad.refresh_from_db()
    assert (bad.node, bad.state, bad.step, bad.claim_token) == ("send", "active", 3, "")
    assert bad.due_at == NOON + timedelta(seconds=runtime.ERROR_RETRY_SECONDS)
    assert Run.objects.filter(journey=journey, state="ended").count() == 5
    assert Message.objects.count() == 5
    monkeypatch.setattr(runtime, "do_enqueue_messages", real)
    later = NOON + timedelta(seconds=runtime.ERROR_RETRY_SECONDS)
    assert runtime.run_due(later).steps == 2
    bad.refresh_from_db()
    assert bad.state == "ended"
    counts = counter_values(journey.live_version_id)
    for key, value in _recount(journey).items():
        assert counts[key] == value, key
    assert counts[("send", "port:sent")] == 6


def test_webhook_steps_of_a_batch_publish_one_event_per_run_in_order(acme):
    journey = live_journey(
        acme,
        chain(
            node("webhook", "hook", body='{"n": 1}'),
            node("webhook", "hook2", body='{"n": 2}'),
        ),
    )
    runs = _enter_all(journey, acme, 8)
    runtime.run_due(NOON)
    for run in runs:
        events = list(
            WebhookEvent.objects.filter(ordering_key=f"run-{run.pk}").order_by("created_at", "id")
        )
        assert [(e.data["node"], e.data["body"]) for e in events] == [
            ("hook", {"n": 1}),
            ("hook2", {"n": 2}),
        ]
        assert [e.data["step"] for e in events] == [2, 3]


def test_runs_that_hold_or_wait_stop_taking_steps_and_their_claims_go_back(acme, sender):
    journey = live_journey(
        acme,
        chain(node("delay", "wait", seconds=60), node("exit", "bye")),
    )
    _enter_all(journey, acme, 4)
    assert runtime.run_due(NOON).steps == 4
    assert not Run.objects.exclude(claim_token="").exists()
    assert set(Run.objects.values_list("node", flat=True)) == {"wait"}
    assert NodeCounter.objects.get(node="wait", metric="waiting").value == 4
    assert runtime.run_due(NOON + timedelta(minutes=1)).steps == 8
    assert set(Run.objects.values_list("state", flat=True)) == {"ended"}


def test_the_entries_of_one_track_call_cost_the_same_statements_for_3_users_as_for_12(acme, sender):
    from audiences.signals import events_tracked

    journey = live_journey(acme, chain(node("exit", "bye")))
    customers = list(Customer.objects.filter(project=acme).order_by("id")[:17])

    def enter(batch) -> list[str]:
        events = [track(c, "cart_abandoned", {"n": i}) for i, c in enumerate(batch)]
        with CaptureQueriesContext(connection) as queries:
            events_tracked.send(sender=Customer, project=acme, event_ids=[e.pk for e in events])
        return [q["sql"] for q in queries.captured_queries]

    enter(customers[:2])  # the journey's trigger and rules are read once per process
    few, many = enter(customers[2:5]), enter(customers[5:])
    assert len(few) == len(many)
    entered = set(Run.objects.filter(journey=journey).values_list("customer_id", flat=True))
    assert entered == {c.pk for c in customers}
    counts = counter_values(journey.live_version_id)
    assert (counts[("start", "entered")], counts[("start", "waiting")]) == (17, 17)
    # One multi-row INSERT of the runs and one counter upsert per call.
    for sqls in (few, many):
        assert len([q for q in sqls if q.startswith('INSERT INTO "journeys_run"')]) == 1
        assert len([q for q in sqls if "journeys_nodecounter" in q]) == 1
