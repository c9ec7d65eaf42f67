"""Crash safety of the journey runtime (issue 13): users through send →
delay → condition → wait for event (events sent for half) → webhook → send
→ exit in a real qcluster against the real sandbox carrier and a real
webhook receiver, with the cluster SIGKILLed five times at random points of
the journey's progress. At the end: each user took each step once (step
numbers contiguous, no node twice), every message reached the carrier once
(a repeat is logged as a repeat), every webhook event was published once per
run and reached the receiver, node counters equal a recount from the step
log, and no run is stuck. The same again with 5xx bursts and 429s from the
carrier.

USERS defaults to 1,000 (MUNJA_JOURNEY_FAULT_USERS=5000 for the issue's
figure: on a loaded 2-core box the 5,000-user run takes several minutes)."""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter

import pytest

from audiences.models import Customer
from audiences.signals import events_tracked
from channels.models import Gateway, SenderNumber
from dispatch.models import Message, message_reference
from dispatch.pipeline import BACKOFF_MAX_SECONDS
from journeys import runtime
from journeys.counters import values as counter_values
from journeys.models import NodeCounter, Run, SendNodeOutbox, Step
from tests.journey_factories import chain, live_journey, node, track
from tests.support.campaigns import add_customers, sending_project
from tests.support.processes import WAIT_SCALE, wait_until
from tests.support.world import make_user
from webhooks.actions import do_register_webhook
from webhooks.models import WebhookEvent

USERS = int(os.environ.get("MUNJA_JOURNEY_FAULT_USERS", "1000"))
KILLS = 5
FINAL = {Message.Status.DELIVERED, Message.Status.FAILED, Message.Status.SKIPPED}
# trigger, send, delay, split, wait, webhook, send, exit
STEPS_PER_RUN = 8
TIMEOUT = int(20 * WAIT_SCALE)


@pytest.fixture(autouse=True)
def _fault_settings(monkeypatch):
    monkeypatch.setenv("MUNJA_DISPATCH_CLAIM_SECONDS", "10")
    monkeypatch.setenv("MUNJA_Q_WORKERS", "2")


def _journey(project, sender):
    send = {"sender_number_id": sender.pk}
    graph = chain(
        node("send", "hello", body="{{ name }}님, 장바구니를 확인하세요", **send),
        node("delay", "pause", seconds=2),
        node(
            "split",
            "vip",
            branches=[
                {"label": "big", "entry_data": [{"field": "total", "op": "gt", "value": 50}]}
            ],
            next={"b0": "wait", "else": "wait"},
        ),
        node(
            "wait_event",
            "wait",
            event="purchase",
            match_field="cartId",
            timeout_seconds=TIMEOUT,
            next={"event": "hook", "timeout": "hook"},
        ),
        node(
            "webhook",
            "hook",
            body='{"user": "{{ userId }}", "cart": "{{ entry_event.data.cartId }}"}',
        ),
        node(
            "send",
            "bye",
            body="{{ name }}님, 감사합니다",
            next={"sent": "end", "not_sent": "end"},
            **send,
        ),
        node("exit", "end"),
    )
    return live_journey(project, graph)


class Buyers(threading.Thread):
    """Sends a purchase for every other user once their run waits for it, as
    the Track call would (the event row, then `events_tracked`)."""

    def __init__(self, project, journey, buyers: set[int]) -> None:
        super().__init__(daemon=True)
        self.project, self.journey, self.buyers = project, journey, buyers
        self.sent: set[int] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        from django.db import connection

        try:
            while not self.stop.is_set():
                waiting = set(
                    Run.objects.filter(
                        journey=self.journey, state=Run.State.WAITING, node="wait"
                    ).values_list("customer_id", flat=True)
                )
                due = sorted((waiting & self.buyers) - self.sent)
                if due:
                    events = [
                        track(c, "purchase", {"cartId": f"cart-{c.pk}"})
                        for c in Customer.objects.filter(pk__in=due)
                    ]
                    events_tracked.send(
                        sender=Customer, project=self.project, event_ids=[e.pk for e in events]
                    )
                    self.sent.update(due)
                elif self.buyers <= self.sent:
                    return
                time.sleep(0.3)
        finally:
            connection.close()


def _steps() -> int:
    return Step.objects.count()


def _check(journey, sandbox_carrier, receiver, buyers) -> None:
    runs = list(Run.objects.filter(journey=journey))
    assert len(runs) == USERS
    assert all(r.state == Run.State.ENDED for r in runs)
    by_run: dict[int, list[tuple[int, str, str]]] = {}
    for run_id, number, node_key, port in Step.objects.filter(run__journey=journey).values_list(
        "run_id", "number", "node", "port"
    ):
        by_run.setdefault(run_id, []).append((number, node_key, port))
    for run in runs:
        steps = sorted(by_run[run.pk])
        assert [s[0] for s in steps] == list(range(1, run.step + 1)), steps
        assert len({s[1] for s in steps}) == len(steps), steps
        assert [s[1] for s in steps] == [
            "start",
            "hello",
            "pause",
            "vip",
            "wait",
            "hook",
            "bye",
            "end",
        ]
        expected_wait = "event" if run.customer_id in buyers else "timeout"
        assert steps[4][2] == expected_wait, (run.customer_id, steps)
    # Counters equal a recount from the step log.
    recount = Counter()
    for steps in by_run.values():
        for _number, node_key, port in steps:
            if port:
                recount[(node_key, f"port:{port}")] += 1
    counters = counter_values(journey.live_version_id)
    for key, n in recount.items():
        assert counters.get(key) == n, (key, counters.get(key), n)
    ported = {k: v for k, v in counters.items() if k[1].startswith("port:")}
    assert ported == dict(recount)
    assert counters[("start", "entered")] == USERS
    assert counters[("end", "exited:exit_node")] == USERS
    assert counters[("wait", "timed_out")] == USERS - len(buyers)
    assert not NodeCounter.objects.filter(metric="waiting").exclude(value=0).exists()
    # Each message at the carrier once.
    outbox = {
        link.node: link.outbox_id
        for link in SendNodeOutbox.objects.filter(version=journey.live_version)
    }
    expected = {message_reference(outbox["hello"], f"r{r.pk}-2") for r in runs}
    expected |= {message_reference(outbox["bye"], f"r{r.pk}-7") for r in runs}
    entries = sandbox_carrier.messages()
    first_time = Counter(e["reference"] for e in entries if not e["repeat"])
    assert {ref for ref, n in first_time.items() if n > 1} == set()
    assert set(first_time) == expected, (
        f"missing {len(expected - set(first_time))}, unexpected {len(set(first_time) - expected)}"
    )
    # One webhook event per run, each delivered (by its requestId).
    events = WebhookEvent.objects.filter(type="journey.webhook")
    assert Counter(events.values_list("ordering_key", flat=True)) == Counter(
        {f"run-{r.pk}": 1 for r in runs}
    )
    published = {str(e) for e in events.values_list("request_id", flat=True)}
    wait_until(
        lambda: {r.payload["requestId"] for r in receiver.accepted()} >= published,
        timeout=BACKOFF_MAX_SECONDS + 120,
        interval=0.5,
        what="every webhook event at the receiver",
    )
    delivered = Counter(r.payload["requestId"] for r in receiver.accepted())
    assert set(delivered) == published
    return sum(n - 1 for n in delivered.values())


@pytest.mark.processes
def test_a_journey_survives_five_sigkills_without_repeating_or_losing_a_step(
    qcluster, sandbox_carrier, receiver
):
    _run(qcluster, sandbox_carrier, receiver, seed=13)


@pytest.mark.processes
def test_a_journey_survives_sigkills_5xx_bursts_and_throttling(qcluster, sandbox_carrier, receiver):
    sandbox_carrier.configure(throttle_rate=0.1, retry_after=1, burst_every=10, burst_length=2)
    _run(qcluster, sandbox_carrier, receiver, seed=14)


def _open_messages(messages) -> dict:
    """What a message that is not final waits for: a few of them, their
    outboxes and those outboxes' send slots."""
    from django.db.models import Count

    from dispatch.models import DispatchSlot, Outbox

    rows = list(
        messages.exclude(status__in=FINAL).values_list(
            "outbox_id", "status", "attempts", "next_attempt_at", "claimed_at", "claim_token"
        )[:5]
    )
    outboxes = {row[0] for row in rows}
    return {
        "by_status": dict(
            messages.exclude(status__in=FINAL).values_list("status").annotate(n=Count("pk"))
        ),
        "some": rows,
        "outboxes": list(
            Outbox.objects.filter(pk__in=outboxes).values_list("pk", "status", "sealed_at")
        ),
        "slots": list(
            DispatchSlot.objects.filter(outbox_id__in=outboxes).values_list(
                "outbox_id", "slot", "owner", "renewed_at", "queued_at"
            )
        ),
    }


def _run(qcluster, sandbox_carrier, receiver, seed: int) -> None:
    gateway = Gateway.objects.create(
        name="Fault carrier", backend="sandbox", config={}, messages_per_second=100_000
    )
    project = sending_project("Faulty journeys", gateway=gateway, rate=10_000_000)
    do_register_webhook(project, receiver.url, make_user("ops@faulty.test"))
    add_customers(project, USERS)
    sender = SenderNumber.objects.get(project=project)
    journey = _journey(project, sender)
    customers = list(Customer.objects.filter(project=project).order_by("id"))
    buyers = {c.pk for c in customers[::2]}
    rng = random.Random(seed)
    started = time.monotonic()
    buyer_thread = Buyers(project, journey, buyers)
    buyer_thread.start()
    for i, customer in enumerate(customers):
        entry = track(customer, "cart_abandoned", {"cartId": f"cart-{customer.pk}", "total": i})
        assert runtime.do_enter_journey(
            journey, customer, entry_key=f"e{entry.pk}", entry_event=entry
        )
    total = USERS * STEPS_PER_RUN
    at_kill = []
    for k in range(KILLS):
        mark = int(total * (k + rng.uniform(0.2, 0.8)) / (KILLS + 1))
        wait_until(
            lambda mark=mark: _steps() >= mark,
            timeout=600 * WAIT_SCALE,
            interval=0.05,
            what=lambda mark=mark: (
                f"{mark} steps ({_steps()} so far); {qcluster.process.output()[-2000:]}"
            ),
        )
        at_kill.append(_steps())
        qcluster.restart(crash=True)
    ended = Run.objects.filter(journey=journey, state=Run.State.ENDED)
    wait_until(
        lambda: ended.count() == USERS,
        timeout=600 * WAIT_SCALE,
        interval=0.5,
        what=lambda: (
            f"every run to end ({ended.count()} of {USERS}); {qcluster.process.output()[-3000:]}"
        ),
    )
    buyer_thread.stop.set()
    buyer_thread.join(10)
    messages = Message.objects.filter(project=project)
    wait_until(
        lambda: not messages.exclude(status__in=FINAL).exists(),
        timeout=BACKOFF_MAX_SECONDS + 120,
        interval=0.5,
        what=lambda: (
            f"every message final; open: {_open_messages(messages)}; "
            f"qcluster alive: {qcluster.process.alive()}; "
            f"carrier log tail (delivery reports it could not post):\n"
            f"{sandbox_carrier.process.output()[-1500:]}\n"
            f"qcluster log tail:\n{qcluster.process.output()[-3000:]}"
        ),
    )
    assert sum(1 for n in at_kill if n < total) >= 3, at_kill
    repeats = _check(journey, sandbox_carrier, receiver, buyers)
    print(
        f"{USERS} users, kills at steps {at_kill} of {total}: "
        f"{time.monotonic() - started:.1f} s; webhook repeats at the receiver {repeats}"
    )
