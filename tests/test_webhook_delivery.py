"""Delivering ReportSMSUnsubscribed webhooks to a real local receiver: the
payload and signature, retries with backoff, give-up after the maximum age,
order per phone number, timeouts, redirects, claims and triggers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from console.lib.signing import verify
from webhooks import delivery, tasks
from webhooks.actions import do_register_webhook, do_rotate_webhook_secret
from webhooks.events import _DeliveryTrigger, publish
from webhooks.models import WebhookAttempt, WebhookEvent

Status = WebhookEvent.Status
A = "+821011112222"
B = "+821033334444"


def change(project, number: str, subscribed: bool) -> WebhookEvent:
    with transaction.atomic():
        return publish(
            project,
            "ReportSMSUnsubscribed",
            {"phoneNumber": number, "subscribed": subscribed},
            ordering_key=number,
        )


def run(project) -> dict[str, int]:
    return tasks.deliver_webhook_events(str(project.id))


def make_due(*events: WebhookEvent) -> None:
    WebhookEvent.objects.filter(pk__in=[e.pk for e in events]).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


@pytest.fixture
def endpoint(world, receiver):
    return do_register_webhook(world.acme, receiver.url, world.alice)


def test_a_delivery_is_signed_and_shaped_as_the_spec_says(world, endpoint, receiver):
    event = change(world.acme, A, False)
    assert run(world.acme)["delivered"] == 1

    [got] = receiver.received
    assert got.payload == {
        "requestId": str(event.request_id),
        "type": "ReportSMSUnsubscribed",
        "data": {"phoneNumber": A, "subscribed": False},
    }
    assert got.headers["webhook-id"] == str(event.request_id)
    assert got.headers["content-type"] == "application/json"
    assert verify(endpoint.secret, got.headers, got.body)
    assert not verify("whsec_" + "A" * 44, got.headers, got.body)
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Status.DELIVERED, 1)
    assert event.delivered_at is not None
    [attempt] = event.attempts_log.all()
    assert (attempt.status_code, attempt.error_code, attempt.url) == (200, "", receiver.url)
    assert attempt.response_excerpt == '{"ok":true}'


def test_a_5xx_is_retried_with_the_same_request_id_and_growing_backoff(
    world, endpoint, receiver, settings
):
    settings.WEBHOOK_BACKOFF_SECONDS = 40
    receiver.answer(503, body=b"maintenance")
    event = change(world.acme, A, True)

    before = timezone.now()
    assert run(world.acme)["retry"] == 1
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Status.PENDING, 1)
    first_delay = (event.next_attempt_at - before).total_seconds()
    assert 40 * 0.75 - 1 <= first_delay <= 40 * 1.25 + 1
    assert "503" in event.last_error_message
    # Not due yet: another run sends nothing.
    assert run(world.acme)["claimed"] == 0

    make_due(event)
    before = timezone.now()
    run(world.acme)
    event.refresh_from_db()
    second_delay = (event.next_attempt_at - before).total_seconds()
    assert 80 * 0.75 - 1 <= second_delay <= 80 * 1.25 + 1
    attempts = list(event.attempts_log.order_by("id"))
    assert [a.status_code for a in attempts] == [503, 503]
    assert attempts[0].response_excerpt == "maintenance"
    assert attempts[0].next_attempt_at is not None

    receiver.answer(200)
    make_due(event)
    assert run(world.acme)["delivered"] == 1
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert ids == {str(event.request_id)}
    event.refresh_from_db()
    assert (event.status, event.next_attempt_at, event.last_error_message) == (
        Status.DELIVERED,
        None,
        "",
    )
    # A 2xx ends the retries.
    make_due(event)
    assert run(world.acme)["claimed"] == 0
    assert len(receiver.received) == 3


def test_a_refused_connection_is_a_failed_attempt_and_retried(world, endpoint, receiver):
    receiver.stop()
    event = change(world.acme, A, False)
    assert run(world.acme)["retry"] == 1
    [attempt] = event.attempts_log.all()
    assert attempt.status_code is None
    assert "Could not connect" in attempt.error_message
    event.refresh_from_db()
    assert event.status == Status.PENDING and event.next_attempt_at is not None


def test_a_slow_receiver_times_out_and_is_retried(world, endpoint, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.answer(200, delay=1.5)
    event = change(world.acme, A, False)
    assert run(world.acme)["retry"] == 1
    [attempt] = event.attempts_log.all()
    assert "timed out" in attempt.error_message
    assert attempt.duration_ms < 1400
    event.refresh_from_db()
    assert event.status == Status.PENDING


def test_a_redirect_is_not_followed(world, endpoint, receiver):
    from tests.support.receiver import WebhookReceiver

    elsewhere = WebhookReceiver()
    elsewhere.start()
    try:
        receiver.answer(307, location=elsewhere.url)
        event = change(world.acme, A, False)
        assert run(world.acme)["retry"] == 1
        assert elsewhere.received == []
    finally:
        elsewhere.stop()
    [attempt] = event.attempts_log.all()
    assert attempt.status_code == 307
    assert "not followed" in attempt.error_message and elsewhere.url in attempt.error_message


def test_events_of_one_number_wait_for_the_earlier_one_and_arrive_in_order(
    world, endpoint, receiver
):
    receiver.answer(500)
    a1 = change(world.acme, A, False)
    a2 = change(world.acme, A, True)
    b1 = change(world.acme, B, False)

    run(world.acme)
    tried = {r.headers["webhook-id"] for r in receiver.received}
    # A's second change is held while its first is still pending.
    assert tried == {str(a1.request_id), str(b1.request_id)}
    assert a2.attempts_log.count() == 0

    receiver.answer(200)
    make_due(a1, b1)
    assert run(world.acme)["delivered"] == 3
    order_for_a = [
        r.headers["webhook-id"]
        for r in receiver.accepted()
        if r.payload["data"]["phoneNumber"] == A
    ]
    assert order_for_a == [str(a1.request_id), str(a2.request_id)]


def test_after_the_max_age_an_event_is_failed_and_later_events_of_its_number_proceed(
    world, endpoint, receiver
):
    receiver.answer(500)
    old = change(world.acme, A, False)
    newer = change(world.acme, A, True)
    WebhookEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=73))

    run(world.acme)
    old.refresh_from_db()
    newer.refresh_from_db()
    assert old.status == Status.FAILED
    assert old.last_error_message.startswith("Gave up after 72 h")
    assert old.next_attempt_at is None
    # The next change of the same number was tried in the same run.
    assert newer.attempts == 1 and newer.status == Status.PENDING


def test_the_last_retry_falls_exactly_at_the_max_age(world, endpoint, receiver, settings):
    settings.WEBHOOK_BACKOFF_SECONDS = 600
    receiver.answer(500)
    event = change(world.acme, A, False)
    created = timezone.now() - timedelta(hours=72) + timedelta(seconds=60)
    WebhookEvent.objects.filter(pk=event.pk).update(created_at=created)
    run(world.acme)
    event.refresh_from_db()
    assert event.status == Status.PENDING
    assert event.next_attempt_at == created + timedelta(hours=72)


def test_the_default_backoff_retries_for_three_days_in_a_few_dozen_attempts(settings):
    settings.WEBHOOK_BACKOFF_SECONDS = 30
    delays = [delivery.backoff_delay(n) for n in range(1, 60)]
    assert delays[0] <= 30 * 1.25
    assert max(delays) <= delivery.BACKOFF_CAP_SECONDS * 1.25
    elapsed, attempts = 0.0, 1
    for delay in delays:
        if elapsed >= 72 * 3600:
            break
        elapsed += delay
        attempts += 1
    assert 12 <= attempts <= 40


def test_two_runs_never_claim_the_same_event_and_a_stale_claim_is_taken_over(world, endpoint):
    event = change(world.acme, A, False)
    token, claimed = delivery.claim_batch(world.acme.id)
    assert [e.pk for e in claimed] == [event.pk]
    assert delivery.claim_batch(world.acme.id)[1] == []

    # The first run was killed: once its claim is older than the task
    # timeout, another run may take the event.
    WebhookEvent.objects.filter(pk=event.pk).update(
        claimed_at=timezone.now() - delivery.claim_stale_after() - timedelta(seconds=1)
    )
    token2, reclaimed = delivery.claim_batch(world.acme.id)
    assert [e.pk for e in reclaimed] == [event.pk] and token2 != token

    # The killed run's late outcome does not overwrite the new owner's.
    ok = delivery.AttemptResult(200, "", "", 5)
    assert delivery.record_attempt(claimed[0], token, "http://x", ok) == "delivered"
    event.refresh_from_db()
    assert event.status == Status.PENDING and event.claimed_by == token2
    assert WebhookAttempt.objects.filter(event=event).count() == 1


def test_events_without_an_endpoint_wait_and_go_once_one_is_registered(world, receiver):
    event = change(world.acme, A, False)
    assert run(world.acme)["claimed"] == 0
    do_register_webhook(world.acme, receiver.url, world.alice)
    assert run(world.acme)["delivered"] == 1
    event.refresh_from_db()
    assert event.status == Status.DELIVERED


def test_events_without_an_endpoint_past_the_max_age_are_failed_by_the_reconciler(world):
    event = change(world.acme, A, False)
    fresh = change(world.bolt, B, False)
    WebhookEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(hours=73))
    assert tasks.reconcile_webhook_events()["failed_without_endpoint"] == 1
    event.refresh_from_db()
    fresh.refresh_from_db()
    assert event.status == Status.FAILED
    assert "No webhook endpoint was registered" in event.last_error_message
    assert fresh.status == Status.PENDING


def test_the_reconciler_delivers_due_events_that_no_task_picked_up(world, endpoint, receiver):
    change(world.acme, A, False)
    change(world.acme, B, True)
    # Tasks run inline in tests: the reconciler's enqueued runs deliver them.
    assert tasks.reconcile_webhook_events()["projects"] == 1
    assert len(receiver.accepted()) == 2


@pytest.mark.django_db
def test_the_reconciler_is_scheduled_every_minute():
    reconciler = Schedule.objects.get(name="webhooks.reconcile_webhook_events")
    assert reconciler.func == "webhooks.tasks.reconcile_webhook_events"
    assert (reconciler.schedule_type, reconciler.minutes) == (Schedule.MINUTES, 1)


def test_a_failed_attempt_leaves_a_one_off_schedule_at_the_earliest_retry(
    world, endpoint, receiver
):
    receiver.answer(500)
    event = change(world.acme, A, False)
    run(world.acme)
    event.refresh_from_db()
    retry = Schedule.objects.get(name=tasks.RETRY_SCHEDULE)
    assert retry.func == tasks.TASK and retry.schedule_type == Schedule.ONCE
    assert retry.next_run == event.next_attempt_at
    # A later retry does not push the schedule back.
    tasks.schedule_retry(event.next_attempt_at + timedelta(hours=1))
    assert Schedule.objects.get(name=tasks.RETRY_SCHEDULE).next_run == event.next_attempt_at


def test_one_transaction_triggers_one_delivery_run_when_it_commits(
    world, endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        for number in (A, B, "+821055556666"):
            publish(
                world.acme,
                "ReportSMSUnsubscribed",
                {"phoneNumber": number},
                ordering_key=number,
            )
    triggers = [c for c in callbacks if isinstance(c, _DeliveryTrigger)]
    assert len(triggers) == 1
    assert len(receiver.accepted()) == 3


def test_a_rolled_back_change_publishes_and_triggers_nothing(
    world, endpoint, receiver, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        publish(world.acme, "ReportSMSUnsubscribed", {"phoneNumber": A}, ordering_key=A)
        raise RuntimeError("the change failed")
    assert callbacks == []
    assert not WebhookEvent.objects.exists()


def test_after_a_rotation_deliveries_carry_both_signatures_for_the_grace_period(
    world, endpoint, receiver
):
    old_secret = endpoint.secret
    new = do_rotate_webhook_secret(world.acme, world.alice)
    assert new.secret != old_secret
    change(world.acme, A, False)
    run(world.acme)
    [got] = receiver.received
    assert verify(new.secret, got.headers, got.body)
    assert verify(old_secret, got.headers, got.body)

    new.previous_secret_expires_at = timezone.now() - timedelta(seconds=1)
    new.save()
    change(world.acme, B, False)
    run(world.acme)
    latest = receiver.received[-1]
    assert verify(new.secret, latest.headers, latest.body)
    assert not verify(old_secret, latest.headers, latest.body)


def test_a_starting_worker_delivers_what_is_due_and_schedules_a_run_past_dead_claims(
    world, endpoint, receiver, settings, monkeypatch
):
    """On the Redis broker a run the killed cluster had taken is lost with
    it: a starting worker delivers what is due at once, and leaves a run for
    when the dead run's claims turn stale."""
    from webhooks.receivers import deliver_on_worker_start

    due = change(world.acme, A, False)
    claimed = change(world.acme, B, True)
    claimed_at = timezone.now()
    WebhookEvent.objects.filter(pk=claimed.pk).update(claimed_at=claimed_at, claimed_by="dead-run")
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    ran: list[tuple] = []

    def run_inline(func, *args, **kwargs):
        # The enqueued runs, run here (the broker is the seam).
        ran.append((func, args))
        tasks.deliver_webhook_events(*args)

    monkeypatch.setattr(tasks, "async_task", run_inline)
    before = timezone.now()
    deliver_on_worker_start(sender=None)
    assert ran, "no delivery run was started"
    assert [r.payload["requestId"] for r in receiver.accepted()] == [str(due.request_id)]
    retry = Schedule.objects.get(name=tasks.RETRY_SCHEDULE)
    # Not before the dead run's claim turns stale, and not much later.
    stale = claimed_at + delivery.claim_stale_after()
    assert stale <= retry.next_run <= before + delivery.claim_stale_after() + timedelta(seconds=2)
    assert WebhookEvent.objects.get(pk=claimed.pk).status == Status.PENDING


def test_the_next_run_is_due_when_a_dead_runs_claim_turns_stale(world, endpoint):
    claimed = change(world.acme, A, False)
    at = timezone.now() - timedelta(seconds=5)
    WebhookEvent.objects.filter(pk=claimed.pk).update(claimed_at=at, claimed_by="dead-run")
    assert delivery.next_retry_at() == at + delivery.claim_stale_after()
    # An earlier retry comes first.
    retry = change(world.acme, B, False)
    soon = timezone.now() + timedelta(seconds=3)
    WebhookEvent.objects.filter(pk=retry.pk).update(next_attempt_at=soon)
    assert delivery.next_retry_at() == soon
