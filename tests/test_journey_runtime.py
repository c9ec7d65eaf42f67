"""The journey runtime in-process: every node kind, steps and counters, the
send node as a producer of the send core, webhooks, and the runner's claims.
Time is passed explicitly (`now=`), as the runner would see it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from audiences.models import Customer, CustomerTag
from channels.models import SenderNumber
from dispatch.models import Message, Outbox, OutboxStats
from journeys import runtime
from journeys.counters import values as counter_values
from journeys.models import Journey, Run, SendNodeOutbox, Step
from tests.journey_factories import chain, live_journey, node, track
from tests.support.campaigns import add_customers, sending_project
from webhooks.models import WebhookEvent

# Monday 2 March 2026, 12:00 in Seoul.
NOON = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
def acme(db):
    project = sending_project("Acme")
    add_customers(project, 20)
    return project


@pytest.fixture
def sender(acme):
    return SenderNumber.objects.get(project=acme)


def user(project, i: int = 0) -> Customer:
    return Customer.objects.get(project=project, user_id=f"u{i}")


def enter(journey, customer, key="e1", data=None, now=NOON):
    event = track(customer, "cart_abandoned", data or {}, created_at=now)
    return runtime.do_enter_journey(journey, customer, entry_key=key, entry_event=event, now=now)


def steps(run) -> list[tuple[int, str, str]]:
    return list(
        Step.objects.filter(run=run).order_by("number").values_list("number", "node", "port")
    )


def send_node(
    sender, key="send", body="{{ name }}님, 장바구니 {{ entry_event.data.cartId }}", **kw
):
    return node("send", key, sender_number_id=sender.pk, body=body, **kw)


def test_a_run_goes_trigger_send_exit_and_its_message_reaches_the_outbox(acme, sender):
    journey = live_journey(acme, chain(send_node(sender), node("exit", "bye")))
    run = enter(journey, user(acme), data={"cartId": "C-9"})
    assert (run.node, run.state, run.step, run.due_at) == ("start", "active", 0, NOON)
    result = runtime.run_due(NOON)
    assert result.steps == 3
    run.refresh_from_db()
    assert (run.state, run.end_reason, run.step) == ("ended", "exit_node", 3)
    assert steps(run) == [(1, "start", "next"), (2, "send", "sent"), (3, "bye", "")]
    outbox = SendNodeOutbox.objects.get(version=journey.live_version, node="send").outbox
    assert (outbox.producer_kind, outbox.status) == ("journey", Outbox.Status.OPEN)
    message = Message.objects.get(outbox=outbox)
    assert message.dedupe_key == f"r{run.pk}-2"
    assert message.body == "고객0님, 장바구니 C-9"
    assert message.status == Message.Status.QUEUED
    counts = counter_values(journey.live_version_id)
    assert counts[("start", "entered")] == 1
    assert counts[("start", "port:next")] == 1
    assert counts[("send", "port:sent")] == 1
    assert counts[("bye", "exited:exit_node")] == 1
    assert all(counts[(n, "waiting")] == 0 for n in ("start", "send", "bye"))


def test_a_port_left_open_ends_the_run_at_the_end(acme, sender):
    journey = live_journey(acme, chain(send_node(sender)))
    run = enter(journey, user(acme))
    runtime.run_due(NOON)
    run.refresh_from_db()
    assert (run.state, run.end_reason) == ("ended", "end")
    assert counter_values(journey.live_version_id)[("send", "exited:end")] == 1


def test_a_delay_holds_the_run_until_it_is_due(acme, sender):
    journey = live_journey(acme, chain(node("delay", "wait", seconds=3600), send_node(sender)))
    run = enter(journey, user(acme))
    runtime.run_due(NOON)
    run.refresh_from_db()
    assert (run.node, run.due_at, run.step) == ("wait", NOON + timedelta(hours=1), 1)
    assert counter_values(journey.live_version_id)[("wait", "waiting")] == 1
    assert runtime.run_due(NOON + timedelta(minutes=59)).steps == 0
    assert runtime.run_due(NOON + timedelta(hours=1)).steps == 2
    run.refresh_from_db()
    assert run.state == "ended"
    assert steps(run) == [(1, "start", "next"), (2, "wait", "next"), (3, "send", "sent")]


def test_wait_until_waits_for_the_time_in_the_users_zone_on_the_given_weekdays(acme, sender):
    journey = live_journey(
        acme, chain(node("wait_until", "w", time="10:00", weekdays=[2]), send_node(sender))
    )
    ny = user(acme, 1)
    ny.time_zone = "America/New_York"
    ny.save()
    seoul_run = enter(journey, user(acme, 0))
    ny_run = enter(journey, ny, key="e2")
    runtime.run_due(NOON)
    seoul_run.refresh_from_db()
    ny_run.refresh_from_db()
    # Wednesday 4 March, 10:00 in Seoul (01:00 UTC) and in New York (15:00 UTC).
    assert seoul_run.due_at == datetime(2026, 3, 4, 1, 0, tzinfo=UTC)
    assert ny_run.due_at == datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def _wait_journey(acme, sender, **config):
    config.setdefault("event", "purchase")
    config.setdefault("timeout_seconds", 86400)
    return live_journey(
        acme,
        chain(
            node(
                "wait_event",
                "wait",
                next={"event": "thanks", "timeout": "remind"},
                **config,
            ),
            send_node(sender, "thanks", body="고마워요", next={"sent": None}),
            send_node(sender, "remind", body="잊으셨나요?"),
        ),
    )


def test_wait_event_moves_on_by_the_event_port_when_the_matching_event_comes(acme, sender):
    journey = _wait_journey(
        acme, sender, where=[{"field": "total", "op": "gt", "value": 10}], match_field="cartId"
    )
    customer = user(acme)
    run = enter(journey, customer, data={"cartId": "C1"})
    runtime.run_due(NOON)
    run.refresh_from_db()
    assert (run.state, run.wait_event_type, run.wait_match) == ("waiting", "purchase", "C1")
    assert run.due_at == NOON + timedelta(days=1)
    # Another cart, too small a total, another event type: no.
    runtime.on_events(acme, [track(customer, "purchase", {"cartId": "C2", "total": 50})])
    runtime.on_events(acme, [track(customer, "purchase", {"cartId": "C1", "total": 5})])
    runtime.on_events(acme, [track(customer, "viewed", {"cartId": "C1", "total": 50})])
    run.refresh_from_db()
    assert run.state == "waiting"
    runtime.on_events(acme, [track(customer, "purchase", {"cartId": "C1", "total": 50})])
    run.refresh_from_db()
    assert (run.state, run.node) == ("active", "thanks")
    runtime.run_due(timezone_now())
    run.refresh_from_db()
    assert [s[1:] for s in steps(run)] == [("start", "next"), ("wait", "event"), ("thanks", "sent")]


def timezone_now():
    from django.utils import timezone

    return timezone.now()


def test_wait_event_times_out_by_the_timeout_port(acme, sender):
    journey = _wait_journey(acme, sender)
    run = enter(journey, user(acme))
    runtime.run_due(NOON)
    assert runtime.run_due(NOON + timedelta(hours=23)).steps == 0
    runtime.run_due(NOON + timedelta(days=1))
    run.refresh_from_db()
    assert [s[1:] for s in steps(run)] == [
        ("start", "next"),
        ("wait", "timeout"),
        ("remind", "sent"),
    ]
    counts = counter_values(journey.live_version_id)
    assert counts[("wait", "timed_out")] == 1
    assert counts[("wait", "port:timeout")] == 1


def test_a_waited_for_event_and_its_timeout_race_and_exactly_one_wins(acme, sender):
    journey = _wait_journey(acme, sender)
    customer = user(acme)
    run = enter(journey, customer)
    runtime.run_due(NOON)
    due = NOON + timedelta(days=1)
    # The runner claimed the timed-out run and read it; the event reads the
    # same run before either writes.
    token = runtime.new_token()
    [claimed] = runtime.claim(10, due, token)
    as_event_saw = Run.objects.select_related("customer").get(pk=run.pk)
    loaded = runtime.Loaded()
    loaded.load([claimed])
    event = track(customer, "purchase", {})
    from journeys import nodes

    event_won = runtime.commit_step(
        as_event_saw, loaded.graphs[run.version_id]["wait"], nodes.event_step(event.pk), loaded, due
    )
    timeout_won = runtime.take_steps(claimed, loaded, token, due) > 0
    assert (event_won, timeout_won) == (True, False)
    run.refresh_from_db()
    ports = [s[2] for s in steps(run)]
    assert ports.count("event") == 1 and "timeout" not in ports
    # And the other way round: the timeout first, then the late event loses.
    other = enter(journey, user(acme, 1), key="e2")
    runtime.run_due(NOON)
    late_event_saw = Run.objects.select_related("customer").get(pk=other.pk)
    runtime.run_due(due)
    assert not runtime.commit_step(
        late_event_saw,
        loaded.graphs[run.version_id]["wait"],
        nodes.event_step(event.pk),
        loaded,
        due,
    )
    assert [s[2] for s in steps(other)][:2] == ["next", "timeout"]


def test_an_event_step_read_before_a_move_to_a_new_version_does_not_commit(acme, sender):
    """A move between versions changes a waiting run's version and node
    without a step; an event's step read before the move loses, instead of
    putting the old graph's next node on the new version."""
    from journeys import nodes
    from journeys.models import JourneyVersion

    journey = _wait_journey(acme, sender)
    customer = user(acme)
    run = enter(journey, customer)
    runtime.run_due(NOON)
    as_event_saw = Run.objects.select_related("customer").get(pk=run.pk)
    assert as_event_saw.node == "wait"
    old = journey.live_version
    new = JourneyVersion.objects.create(
        journey=journey, number=2, state=JourneyVersion.State.PUBLISHED, graph=old.graph
    )
    Run.objects.filter(pk=run.pk).update(version=new)  # the move, as versions.py does it
    loaded = runtime.Loaded()
    loaded.load([as_event_saw])
    event = track(customer, "purchase", {})
    assert not runtime.commit_step(
        as_event_saw, loaded.graphs[old.pk]["wait"], nodes.event_step(event.pk), loaded, NOON
    )
    run.refresh_from_db()
    assert (run.version_id, run.node, run.state) == (new.pk, "wait", Run.State.WAITING)


def test_split_takes_the_first_matching_branch_else_the_else_port(acme, sender):
    gold = {
        "match": "all",
        "conditions": [{"kind": "tag", "key": "plan", "op": "eq", "value": "gold"}],
    }
    graph = chain(
        node(
            "split",
            "split",
            branches=[
                {"label": "gold", "segment": gold},
                {"label": "big cart", "entry_data": [{"field": "total", "op": "gt", "value": 100}]},
            ],
            next={"b0": "x0", "b1": "x1", "else": "x2"},
        ),
        node("exit", "x0"),
        node("exit", "x1"),
        node("exit", "x2"),
    )
    journey = live_journey(acme, graph)
    CustomerTag.objects.create(customer=user(acme, 0), key="plan", value="gold")
    runs = [
        enter(journey, user(acme, 0), data={"total": 500}),
        enter(journey, user(acme, 1), data={"total": 500}),
        enter(journey, user(acme, 2), data={"total": 5}),
    ]
    runtime.run_due(NOON)
    assert [steps(r)[1][2] for r in runs] == ["b0", "b1", "else"]
    assert [steps(r)[2][1] for r in runs] == ["x0", "x1", "x2"]


def test_ab_split_is_stable_per_run_and_follows_the_percents(acme):
    graph = chain(
        node(
            "ab",
            "ab",
            variants=[{"key": "a", "percent": 50}, {"key": "b", "percent": 50}],
            next={"a": "xa", "b": "xb"},
        ),
        node("exit", "xa"),
        node("exit", "xb"),
    )
    journey = live_journey(acme, graph)
    runs = [enter(journey, user(acme, i), key=f"e{i}") for i in range(20)]
    runtime.run_due(NOON)
    from journeys.conditions import ab_variant

    variants = [{"key": "a", "percent": 50}, {"key": "b", "percent": 50}]
    for run in runs:
        assert steps(run)[1][2] == ab_variant(variants, run.pk)
    assert {steps(r)[1][2] for r in runs} == {"a", "b"}


def test_a_webhook_node_publishes_one_event_in_the_steps_transaction(acme):
    body = '{"user": "{{ userId }}", "cart": "{{ entry_event.data.cartId }}"}'
    journey = live_journey(acme, chain(node("webhook", "hook", body=body), node("exit", "x")))
    run = enter(journey, user(acme, 3), data={"cartId": "C-3"})
    runtime.run_due(NOON)
    event = WebhookEvent.objects.get(project=acme, type="journey.webhook")
    assert event.ordering_key == f"run-{run.pk}"
    assert event.data["body"] == {"user": "u3", "cart": "C-3"}
    assert (event.data["runId"], event.data["step"], event.data["node"]) == (run.pk, 2, "hook")


def test_a_webhook_body_that_is_not_a_json_object_publishes_nothing(acme):
    journey = live_journey(acme, chain(node("webhook", "hook", body="[1, 2]"), node("exit", "x")))
    run = enter(journey, user(acme))
    runtime.run_due(NOON)
    assert not WebhookEvent.objects.filter(type="journey.webhook").exists()
    assert "error" in Step.objects.get(run=run, node="hook").detail
    run.refresh_from_db()
    assert run.end_reason == "exit_node"


def test_send_not_sent_reasons_go_out_by_the_not_sent_port(acme, sender):
    graph = chain(
        send_node(sender, is_promotional=True, next={"not_sent": "skipped"}),
        node("exit", "done"),
        node("exit", "skipped"),
    )
    journey = live_journey(acme, graph)
    no_consent = user(acme, 0)
    no_consent.promotional_consent = False
    no_consent.save()
    bad_number = user(acme, 1)
    bad_number.phone_number = "010-1234"
    bad_number.save()
    from optout.actions import do_opt_out

    opted = user(acme, 2)
    do_opt_out(acme, [opted.phone_number], "api")
    fine = user(acme, 3)
    runs = {
        c.user_id: enter(journey, c, key=c.user_id) for c in (no_consent, bad_number, opted, fine)
    }
    runtime.run_due(NOON)
    details = {
        uid: Step.objects.get(run=r, node="send").detail.get("reason", "sent")
        for uid, r in runs.items()
    }
    assert details == {"u0": "no_consent", "u1": "invalid_number", "u2": "opted_out", "u3": "sent"}
    assert [steps(runs["u3"])[-1][1]] == ["done"]
    assert [steps(runs["u0"])[-1][1]] == ["skipped"]
    outbox = SendNodeOutbox.objects.get(version=journey.live_version).outbox
    stats = OutboxStats.objects.get(outbox=outbox)
    assert (stats.skipped_no_consent, stats.skipped_invalid_number, stats.skipped_opted_out) == (
        1,
        1,
        1,
    )
    assert stats.queued == 1
    # The promotional body is wrapped by the system, as a campaign's is.
    assert Message.objects.get(outbox=outbox, status="queued").body.startswith("(광고)")


def test_the_exit_node_ends_the_run(acme):
    journey = live_journey(acme, chain(node("exit", "x")))
    run = enter(journey, user(acme))
    runtime.run_due(NOON)
    run.refresh_from_db()
    assert (run.state, run.end_reason, run.step) == ("ended", "exit_node", 2)


def test_paused_journeys_take_no_steps_and_stopped_ones_end_their_runs(acme, sender):
    journey = live_journey(acme, chain(node("delay", "wait", seconds=600), send_node(sender)))
    run = enter(journey, user(acme))
    runtime.run_due(NOON)
    Journey.objects.filter(pk=journey.pk).update(status=Journey.Status.PAUSED)
    assert runtime.run_due(NOON + timedelta(hours=1)).steps == 0
    Journey.objects.filter(pk=journey.pk).update(status=Journey.Status.STOPPED)
    runtime.run_due(NOON + timedelta(minutes=5))
    run.refresh_from_db()
    assert (run.state, run.end_reason) == ("ended", "stopped")
    assert counter_values(journey.live_version_id)[("wait", "exited:stopped")] == 1
    assert not Message.objects.exists()


def test_claims_never_overlap_and_stale_claims_are_released(acme):
    journey = live_journey(acme, chain(node("exit", "x")))
    for i in range(10):
        enter(journey, user(acme, i), key=f"e{i}")
    first = runtime.claim(6, NOON, runtime.new_token())
    second = runtime.claim(6, NOON, runtime.new_token())
    assert len(first) == 6 and len(second) == 4
    assert not {r.pk for r in first} & {r.pk for r in second}
    assert runtime.claim(6, NOON, runtime.new_token()) == []
    # A claim older than the claim timeout (its runner died elsewhere).
    Run.objects.filter(pk=first[0].pk).update(claimed_at=NOON - timedelta(hours=1))
    # A claim of a process of this host that is gone.
    Run.objects.filter(pk=first[1].pk).update(claim_token="999999:" + runtime._host_tag() + ":x")
    assert runtime.release_stale_claims(NOON) == 2
    assert {r.pk for r in runtime.claim(6, NOON, runtime.new_token())} == {
        first[0].pk,
        first[1].pk,
    }


def test_a_message_whose_rendered_text_no_carrier_takes_is_not_sent_as_a_render_error(acme, sender):
    journey = live_journey(acme, chain(send_node(sender, body="{{ entry_event.data.note }}")))
    run = enter(journey, user(acme), data={"note": "할인 🎉"})
    runtime.run_due(NOON)
    step = Step.objects.get(run=run, number=2)
    assert (step.port, step.detail["reason"]) == ("not_sent", "render_error")
    message = Message.objects.get(dedupe_key=f"r{run.pk}-2")
    assert (message.status, message.skip_reason) == ("skipped", "render_error")
    assert "EUC-KR" in message.error_message
