"""The test SMS on the Channels page: approved senders only, clear errors in
the send core's wording, a message of the project's test outbox whose
senders are woken after commit, and the live status partial."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.signing import SignedPackage

from campaigns.test_sends import TEST_PRODUCER, do_send_test_sms
from channels.models import Gateway, SenderNumber
from dispatch.checks import body_problem, check_outgoing_message, empty_body_problem
from dispatch.models import Message, Outbox
from projects.models import AuditLog
from tests.support.sender_numbers import (
    register,
    sender_in,
)
from tests.support.world import PASSWORD

pytestmark = pytest.mark.usefixtures("document_store")
Status = SenderNumber.Status


@pytest.fixture
def approved(world):
    return sender_in(world.acme, world.alice, world.staff, Status.APPROVED)


def _send_url(project):
    return reverse("send_test_sms", args=[project.id])


def test_the_form_offers_only_approved_numbers(client, world, approved):
    register(world.acme, world.alice, "+8225559999")
    client.login(username=world.alice.username, password=PASSWORD)
    form = client.get(reverse("channels", args=[world.acme.id])).context["test_form"]
    offered = [value for value, _label in form.fields["sender_number"].widget.choices]
    assert offered == [str(approved.pk)]


def test_without_an_approved_number_the_page_says_one_is_needed(client, world):
    register(world.acme, world.alice)
    client.login(username=world.alice.username, password=PASSWORD)
    page = client.get(reverse("channels", args=[world.acme.id])).content.decode()
    assert "A test SMS needs an approved sender number." in page


def test_an_admin_sends_a_test_sms_which_is_queued_and_audited(
    client, world, approved, django_capture_on_commit_callbacks
):
    client.login(username=world.alice.username, password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            _send_url(world.acme),
            {"sender_number": approved.pk, "to": "+821012345678", "body": "Hello from Munja"},
        )
    assert response.status_code == 302
    message = Message.objects.select_related("outbox").get(project=world.acme)
    assert (message.status, message.phone_number, message.body) == (
        Message.Status.QUEUED,
        "+821012345678",
        "Hello from Munja",
    )
    outbox = message.outbox
    assert (outbox.producer_kind, outbox.sender_number, outbox.status) == (
        TEST_PRODUCER,
        approved,
        Outbox.Status.OPEN,
    )
    assert not outbox.counts_towards_cap and not outbox.is_promotional
    assert outbox.sealed_at is None
    assert len(callbacks) == 1  # the outbox's senders, woken after commit
    audit = AuditLog.objects.get(project=world.acme, action="test_sms.sent")
    assert (audit.actor, audit.detail["message"]) == (world.alice, str(message.pk))


def test_test_sends_share_the_senders_open_test_outbox(world, approved):
    first = do_send_test_sms(
        world.acme, world.alice, sender_number=approved, to="+821012345678", body="Hi"
    )
    second = do_send_test_sms(
        world.acme, world.alice, sender_number=approved, to="+821012345678", body="Hi"
    )
    messages = Message.objects.filter(pk__in=[first.id, second.id])
    assert messages.count() == 2
    assert len({m.outbox_id for m in messages}) == 1
    assert len({m.dedupe_key for m in messages}) == 2
    assert Outbox.objects.filter(project=world.acme, producer_kind=TEST_PRODUCER).count() == 1


def test_the_send_task_is_enqueued_by_name_after_commit(
    world, approved, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(Conf, "SYNC", False)
    with django_capture_on_commit_callbacks(execute=True):
        message = do_send_test_sms(
            world.acme, world.alice, sender_number=approved, to="+821012345678", body="Hi"
        )
    broker = get_broker()
    queued = broker.dequeue() or []
    tasks = []
    for task_id, payload in queued:
        tasks.append(SignedPackage.loads(payload))
        broker.acknowledge(task_id)
    outbox_id = Message.objects.get(pk=message.id).outbox_id
    assert {(t["func"], t["args"][0]) for t in tasks} == {("dispatch.tasks.send_outbox", outbox_id)}


@pytest.mark.parametrize("status", [Status.PENDING, Status.REJECTED, Status.SUSPENDED])
def test_a_number_that_is_not_approved_is_refused_with_the_reason(client, world, status):
    sender = sender_in(world.acme, world.alice, world.staff, status)
    client.login(username=world.alice.username, password=PASSWORD)
    response = client.post(
        _send_url(world.acme), {"sender_number": sender.pk, "to": "+821012345678", "body": "Hi"}
    )
    assert response.status_code == 400
    error = response.context["test_form"].errors["sender_number"][0]
    assert "only an approved number can send" in error
    assert not Message.objects.exists()


def test_another_projects_approved_number_is_refused(world):
    bolt_sender = sender_in(world.bolt, world.bob, world.staff, Status.APPROVED)
    with pytest.raises(ValidationError) as exc:
        do_send_test_sms(
            world.acme, world.alice, sender_number=bolt_sender.pk, to="+821012345678", body="Hi"
        )
    assert "not a registered sender number" in exc.value.message_dict["sender_number"][0]


def test_a_bad_recipient_and_body_are_reported_by_field(client, world, approved):
    client.login(username=world.alice.username, password=PASSWORD)
    response = client.post(
        _send_url(world.acme), {"sender_number": approved.pk, "to": "010-1234-5678", "body": " "}
    )
    assert response.status_code == 400
    errors = response.context["test_form"].errors
    assert "+821012345678" in errors["to"][0]
    assert errors["body"] == [empty_body_problem()]
    with pytest.raises(ValidationError) as exc:
        do_send_test_sms(
            world.acme, world.alice, sender_number=approved, to="+821012345678", body="x" * 2001
        )
    assert exc.value.message_dict["body"] == [body_problem("x" * 2001)]
    assert "2001" in exc.value.message_dict["body"][0]
    assert not Message.objects.exists()


def test_characters_euc_kr_cannot_carry_get_the_send_cores_wording(client, world, approved):
    client.login(username=world.alice.username, password=PASSWORD)
    response = client.post(
        _send_url(world.acme),
        {"sender_number": approved.pk, "to": "+821012345678", "body": "Hi 😀"},
    )
    assert response.status_code == 400
    [error] = response.context["test_form"].errors["body"]
    assert error == check_outgoing_message("Hi 😀")["body"]
    assert "EUC-KR cannot carry these characters: 😀" in error
    assert not Message.objects.exists()


def test_without_a_gateway_the_test_sms_is_refused_with_the_reason(client, world, approved):
    Gateway.objects.update(is_default=False)
    client.login(username=world.alice.username, password=PASSWORD)
    response = client.post(
        _send_url(world.acme), {"sender_number": approved.pk, "to": "+821012345678", "body": "Hi"}
    )
    assert response.status_code == 400
    assert "No gateway is configured" in response.context["test_form"].non_field_errors()[0]
    assert not Message.objects.exists()


@pytest.mark.parametrize("who", ["carol", "dave"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_marketers_and_viewers_may_not_send_a_test_sms(client, world, approved, who, method):
    client.login(username=getattr(world, who).username, password=PASSWORD)
    data = {"sender_number": approved.pk, "to": "+821012345678", "body": "Hi"}
    response = getattr(client, method)(_send_url(world.acme), data)
    assert response.status_code == 403
    assert "needs Admin" in response.content.decode()
    assert not Message.objects.exists()


def test_the_status_partial_polls_until_the_message_is_final(client, world, approved):
    message = do_send_test_sms(
        world.acme, world.alice, sender_number=approved, to="+821012345678", body="Hi"
    )
    client.login(username=world.alice.username, password=PASSWORD)
    url = reverse("test_sms_status", args=[world.acme.id, message.id])
    page = client.get(reverse("channels", args=[world.acme.id])).content.decode()
    assert f'hx-get="{url}"' in page

    for status in ("queued", "sending", "sent"):
        Message.objects.filter(pk=message.id).update(status=status)
        partial = client.get(url).content.decode()
        assert f'data-status="{status}"' in partial
        assert 'hx-trigger="every 1s"' in partial
    for status in ("delivered", "failed", "skipped"):
        Message.objects.filter(pk=message.id).update(status=status)
        partial = client.get(url).content.decode()
        assert f'data-status="{status}"' in partial
        assert "hx-get" not in partial


def test_the_status_shows_the_failure_reason_and_the_sender(client, world, approved):
    message = do_send_test_sms(
        world.acme, world.alice, sender_number=approved, to="+821012345678", body="Hi"
    )
    Message.objects.filter(pk=message.id).update(
        status="failed", error_code="undeliverable", error_message="The handset is off."
    )
    client.login(username=world.alice.username, password=PASSWORD)
    partial = client.get(reverse("test_sms_status", args=[world.acme.id, message.id]))
    html = partial.content.decode()
    assert "The handset is off." in html
    assert f"from {approved.display_number} to +821012345678" in html


def test_another_project_cannot_see_a_test_message(client, world, approved):
    message = do_send_test_sms(
        world.acme, world.alice, sender_number=approved, to="+821012345678", body="Hi"
    )
    client.login(username=world.bob.username, password=PASSWORD)
    url = reverse("test_sms_status", args=[world.acme.id, message.id])
    assert client.get(url).status_code == 404
    url = reverse("test_sms_status", args=[world.bolt.id, message.id])
    assert client.get(url).status_code == 404
