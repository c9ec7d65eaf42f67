"""The send core's long tasks hand their worker on to a journey runner that
waits for one (dispatch.handover), and the runner sends its own messages
when no send chain of their outbox is alive (dispatch.actions.send_inline):
a large campaign's tasks must not keep a journey's messages waiting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import tasks as campaign_tasks
from campaigns.materialise import sync_outbox
from campaigns.models import Campaign
from channels.gateways import console as console_backend
from channels.models import Gateway, SenderNumber
from dispatch import handover
from dispatch import tasks as dispatch_tasks
from dispatch.models import DispatchSlot, Message, Outbox
from journeys import runtime
from journeys.models import RunnerLease
from tests.journey_factories import chain, live_journey, node, track
from tests.support.campaigns import add_customers, segment_campaign, sending_project


def _sending_to_console():
    console_backend.outbox.clear()
    gateway = Gateway.objects.create(name="Test console", backend="console")
    yield sending_project("Acme", gateway=gateway)
    console_backend.outbox.clear()


@pytest.fixture
def acme(db):
    yield from _sending_to_console()


@pytest.fixture
def committed(transactional_db):
    """Acme with real commits: the runner's wake-ups run after its steps'
    own commits, as in a worker (inside a test's transaction they never would)."""
    yield from _sending_to_console()


@pytest.fixture
def waiting(monkeypatch):
    """A journey runner that waits for a worker from the first look on."""
    monkeypatch.setattr(handover, "_checks", [lambda: True])
    monkeypatch.setattr(handover.HandOn, "__init__", _look_at_once)


def _look_at_once(self, every: float = 0.0) -> None:
    self.every, self.next_look = 0.0, 0.0


@pytest.fixture
def queued(monkeypatch):
    """Tasks the code under test queues, recorded instead of run inline."""
    import django_q.tasks

    calls: list[tuple] = []
    # django_q.tasks too: wake_senders imports async_task when it runs.
    for module in (dispatch_tasks, campaign_tasks, django_q.tasks):
        monkeypatch.setattr(module, "async_task", lambda *args, **kw: calls.append(args))
    return calls


def started(campaign: Campaign) -> Campaign:
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    campaign.refresh_from_db()
    sync_outbox(campaign)
    return campaign


def test_a_send_chain_hands_its_worker_on_when_a_runner_waits(acme, waiting, queued):
    add_customers(acme, 6)
    campaign = started(segment_campaign(acme))
    Outbox.objects.filter(pk=campaign.outbox_id).update(status=Outbox.Status.PAUSED)
    while campaign_tasks.materialise.materialise_chunk(campaign.pk, size=50):
        pass
    Outbox.objects.filter(pk=campaign.outbox_id).update(status=Outbox.Status.OPEN)
    assert dispatch_tasks.send_outbox(campaign.outbox_id, 0) == "continues"
    # Nothing sent: its successor is queued behind the runner, its slot free.
    assert console_backend.outbox == []
    assert queued == [(dispatch_tasks.SEND_TASK, campaign.outbox_id, 0)]
    assert DispatchSlot.objects.get(outbox_id=campaign.outbox_id, slot=0).owner == ""


def test_without_a_waiting_runner_a_send_chain_sends_everything(acme, queued):
    add_customers(acme, 6)
    campaign = started(segment_campaign(acme))
    Outbox.objects.filter(pk=campaign.outbox_id).update(status=Outbox.Status.PAUSED)
    while campaign_tasks.materialise.materialise_chunk(campaign.pk, size=50):
        pass
    Outbox.objects.filter(pk=campaign.outbox_id).update(status=Outbox.Status.OPEN)
    assert dispatch_tasks.send_outbox(campaign.outbox_id, 0) != "continues"
    assert len(console_backend.outbox) == 6


def test_a_materialiser_hands_its_worker_on_when_a_runner_waits(acme, waiting, queued):
    add_customers(acme, 6)
    campaign = started(segment_campaign(acme))
    assert campaign_tasks.materialise_campaign(campaign.pk) == "continues"
    assert queued == [(campaign_tasks.MATERIALISE, campaign.pk)]
    assert not Message.objects.filter(outbox_id=campaign.outbox_id).exists()


def test_a_runner_task_waits_while_woken_and_not_taken_for_half_a_second(db):
    now = timezone.now()
    RunnerLease.objects.update_or_create(
        name=runtime.LEASE, defaults={"pending": True, "owner": "", "woken_at": now}
    )
    assert not runtime.runner_waits()
    RunnerLease.objects.update(woken_at=now - timedelta(seconds=1))
    assert runtime.runner_waits()
    RunnerLease.objects.update(owner="vm:1:abc")  # a worker took it
    assert not runtime.runner_waits()
    RunnerLease.objects.update(owner="", pending=False)  # nothing queued
    assert not runtime.runner_waits()


def test_the_journeys_app_registers_the_runners_wait_with_the_send_core():
    assert runtime.runner_waits in handover._checks


def sending_journey(project):
    """A live journey: trigger → send → exit."""
    sender = SenderNumber.objects.get(project=project)
    return live_journey(
        project,
        chain(
            node("send", "send", sender_number_id=sender.pk, body="안녕하세요"), node("exit", "x")
        ),
    )


def enter(journey, customer) -> None:
    event = track(customer, "cart_abandoned", {})
    runtime.do_enter_journey(journey, customer, entry_key=f"e{event.pk}", entry_event=event)


def enter_customers(project, count: int) -> None:
    """`count` new customers into a live trigger → send → exit journey."""
    journey = sending_journey(project)
    add_customers(project, count)
    for customer in project.customers.all()[:count]:
        enter(journey, customer)


def test_the_runner_sends_its_messages_itself_when_no_send_chain_is_alive(committed, queued):
    enter_customers(committed, 3)
    runtime.run_batch(send=True)
    messages = Message.objects.filter(outbox__project=committed)
    assert messages.count() == 3
    assert not messages.filter(status=Message.Status.QUEUED).exists()
    assert len(console_backend.outbox) == 3
    # Nothing was left for a chain: none was queued.
    assert not [call for call in queued if call[0] == dispatch_tasks.SEND_TASK]


def test_messages_the_runner_could_not_send_yet_wake_a_send_chain_for_their_retry(
    committed, queued, monkeypatch
):
    """A 5xx on the runner's own send puts the batch back with a backoff: a
    send chain is queued for it (it sleeps until the retry falls due), so
    the messages do not wait for the minute's reconciler."""
    from channels.gateways.base import GatewayError

    def unavailable(self, payload):
        raise GatewayError("HTTP 503: the carrier is having a bad moment")

    monkeypatch.setattr(console_backend.ConsoleBackend, "post", unavailable)
    enter_customers(committed, 2)
    runtime.run_batch(send=True)
    messages = Message.objects.filter(outbox__project=committed)
    assert messages.count() == 2
    waiting = messages.filter(status=Message.Status.QUEUED, attempts=1)
    assert waiting.count() == 2
    assert all(m.next_attempt_at > timezone.now() for m in waiting)
    outbox_id = messages.first().outbox_id
    assert (dispatch_tasks.SEND_TASK, outbox_id, 0) in queued


def test_the_runner_leaves_its_messages_to_a_live_send_chain(acme, queued):
    journey = sending_journey(acme)
    add_customers(acme, 2)
    customer = acme.customers.first()
    enter(journey, customer)
    runtime.run_batch()  # the send node's outbox exists now
    outbox_id = Message.objects.get().outbox_id
    DispatchSlot.objects.create(
        outbox_id=outbox_id, slot=1, owner="vm:1:x", renewed_at=timezone.now()
    )
    enter(journey, acme.customers.exclude(pk=customer.pk).first())
    runtime.run_batch(send=True)
    assert Message.objects.filter(status=Message.Status.QUEUED).count() == 2
    assert console_backend.outbox == []
