"""The journey runtime in a real qcluster against the real sandbox carrier:
users enter in the test process, the runner (woken, not polled) takes their
steps in the cluster, waited-for events arrive for half of them, and every
message reaches the carrier exactly once under its (run, step) reference."""

from __future__ import annotations

from collections import Counter

import pytest

from audiences.models import Customer
from audiences.signals import events_tracked
from channels.models import Gateway, SenderNumber
from dispatch.models import Message, message_reference
from journeys import runtime
from journeys.models import Run, SendNodeOutbox, Step
from tests.journey_factories import chain, live_journey, node, track
from tests.support.campaigns import add_customers, sending_project
from tests.support.processes import WAIT_SCALE, wait_until

USERS = 200
FINAL = {Message.Status.DELIVERED, Message.Status.FAILED, Message.Status.SKIPPED}


@pytest.mark.processes
def test_users_flow_through_a_journey_in_the_cluster_and_each_message_reaches_the_carrier_once(
    qcluster, sandbox_carrier
):
    gateway = Gateway.objects.create(
        name="Journey carrier", backend="sandbox", config={}, messages_per_second=100_000
    )
    project = sending_project("Journeys", gateway=gateway, rate=10_000_000)
    add_customers(project, USERS)
    sender = SenderNumber.objects.get(project=project)
    graph = chain(
        node(
            "send", "first", sender_number_id=sender.pk, body="{{ name }}님, 장바구니를 확인하세요"
        ),
        node(
            "wait_event",
            "wait",
            event="purchase",
            match_field="cartId",
            timeout_seconds=int(15 * WAIT_SCALE),
            next={"event": "thanks", "timeout": "bye"},
        ),
        node(
            "send",
            "thanks",
            sender_number_id=sender.pk,
            body="구매 감사합니다",
            next={"sent": "bye"},
        ),
        node("exit", "bye"),
    )
    journey = live_journey(project, graph)
    customers = list(Customer.objects.filter(project=project).order_by("id"))
    runs = {}
    for customer in customers:
        entry = track(customer, "cart_abandoned", {"cartId": f"cart-{customer.pk}"})
        runs[customer.pk] = runtime.do_enter_journey(
            journey, customer, entry_key=f"e{entry.pk}", entry_event=entry
        )
    assert all(runs.values())
    waiting = Run.objects.filter(journey=journey, state=Run.State.WAITING)
    wait_until(
        lambda: waiting.count() == USERS,
        what=lambda: (
            f"runs waiting at the event ({waiting.count()}); {qcluster.process.output()[-2000:]}"
        ),
    )
    buyers = customers[::2]
    events = [track(c, "purchase", {"cartId": f"cart-{c.pk}"}) for c in buyers]
    events_tracked.send(sender=Customer, project=project, event_ids=[e.pk for e in events])
    ended = Run.objects.filter(journey=journey, state=Run.State.ENDED)
    wait_until(
        lambda: ended.count() == USERS,
        what=lambda: f"every run to end ({ended.count()}); {qcluster.process.output()[-2000:]}",
    )
    messages = Message.objects.filter(project=project)
    wait_until(
        lambda: not messages.exclude(status__in=FINAL).exists() and messages.count() > 0,
        what="every message final",
    )
    # Each run: contiguous steps, no node twice.
    for run in Run.objects.filter(journey=journey):
        numbers = list(
            Step.objects.filter(run=run).order_by("number").values_list("number", "node")
        )
        assert [n for n, _ in numbers] == list(range(1, run.step + 1))
        assert len({node for _, node in numbers}) == len(numbers)
    buyer_ids = {c.pk for c in buyers}
    paths = Counter(
        tuple(Step.objects.filter(run=run).order_by("number").values_list("port", flat=True))
        for run in Run.objects.filter(journey=journey)
    )
    assert paths == {
        ("next", "sent", "event", "sent", ""): len(buyers),
        ("next", "sent", "timeout", ""): USERS - len(buyers),
    }
    outbox = {
        link.node: link.outbox_id
        for link in SendNodeOutbox.objects.filter(version=journey.live_version)
    }
    expected = {message_reference(outbox["first"], f"r{run.pk}-2") for run in runs.values()}
    expected |= {
        message_reference(outbox["thanks"], f"r{run.pk}-4")
        for customer_id, run in runs.items()
        if customer_id in buyer_ids
    }
    entries = sandbox_carrier.messages()
    first_time = Counter(e["reference"] for e in entries if not e["repeat"])
    assert {ref for ref, n in first_time.items() if n > 1} == set()
    assert set(first_time) == expected
