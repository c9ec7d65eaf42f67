"""Test SMS as a producer of the send core: the Channels page's test SMS and
the compose screen's test send go out through `dispatch` like every other
message (one claim, one gateway batch, one retry policy, batched delivery
reports), not through a pipeline of their own.

Why here: a producer sits above the send core, and `channels` (which owns
the sender numbers and the Channels page's form) may not import `dispatch`.
`campaigns` is the producer tier app that already sends test messages (the
compose screen's); the Channels page's test send is the same act without a
campaign, so both use this module. It knows no campaign.

- **The test outbox.** A project has one open test outbox per sender number
  (an outbox sends with one sender): `producer_kind` "test", informational
  (no night-time hold: a test goes when asked), `counts_towards_cap=False`
  (a test neither counts towards nor is held by the frequency cap), never
  sealed, so it stays open for the next test. The core may pause it (no
  gateway) or close it (its sender was suspended): the next test send opens
  the paused one again, or starts a new outbox beside the closed one.
  Statistics and the dashboard read campaigns' outboxes only, and the
  project's send chart leaves test outboxes out (`TEST_PRODUCER`).
- **One test send, one message.** Its dedupe key is the time it was asked
  for, in microseconds since the epoch, and a random suffix
  (`1764975000123456-9f3a2b1c`): unique in the outbox, so the gateway
  reference `c<outbox>-<key>` is too, and it tells the page when the test
  was sent (a message row has no creation time of its own).
- **One wording.** The text is checked by `dispatch.checks`; a promotional
  compose test carries the labelling the campaign's renderer wrapped it in
  ((광고), company name, 080 line) because it is the rendered body.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from campaigns.rules import CampaignEvent
from channels.actions import phone_error
from channels.gateways import NoGatewayConfigured, default_gateway_for
from channels.models import SenderNumber
from channels.queries import SenderNotAllowed, sendable_sender
from console.lib.sms import cp949_length, sms_kind
from dispatch.actions import NewMessage, do_create_outbox, do_enqueue_messages, do_open_outbox
from dispatch.checks import check_outgoing_message
from dispatch.models import Message, Outbox
from projects.actions import record_audit
from projects.models import Project

TEST_PRODUCER = "test"
S = Message.Status
# A test send's result is final once delivered, failed or skipped; until
# then the page asks again every second.
FINAL_STATUSES = (S.DELIVERED, S.FAILED, S.SKIPPED)


@dataclass(frozen=True)
class CheckedTestSms:
    """A test SMS that may go: the sender and the text as they will be sent."""

    sender: SenderNumber
    to: str
    body: str
    title: str
    kind: str
    bytes: int


@dataclass(frozen=True)
class TestSend:
    """A test SMS as the Channels page and the compose screen show it, read
    from its message in the test outbox."""

    __test__ = False  # not a pytest class, whatever its name

    id: int
    to: str
    body: str
    sender: str
    status: str
    status_label: str
    status_reason: str
    created_at: datetime | None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


def check_test_sms(
    project: Project, *, sender_number: object, to: str, body: str, title: str = ""
) -> CheckedTestSms:
    """Validate a test SMS; ValidationError by field (sender_number, to,
    body, title) with every problem at once. The text's rules and wording
    are `dispatch.checks`'; `title` goes with an LMS only."""
    errors: dict[str, list[str]] = {}
    sender = None
    try:
        sender = sendable_sender(project, sender_number)
    except SenderNotAllowed as exc:
        errors.setdefault("sender_number", []).append(str(exc))
    to = (to or "").strip()
    problem = phone_error(to)
    if problem:
        errors.setdefault("to", []).append(problem)
    body = (body or "").strip()
    problems = check_outgoing_message(body)
    kind, size = "SMS", 0
    if not problems:
        kind, size = sms_kind(body), cp949_length(body)
        title = (title or "").strip() if kind == "LMS" else ""
        problems = check_outgoing_message(body, title)
    for field, text in problems.items():
        errors.setdefault(field, []).append(text)
    try:
        default_gateway_for(project)
    except NoGatewayConfigured as exc:
        errors.setdefault(NON_FIELD_ERRORS, []).append(str(exc))
    if errors or sender is None:
        raise ValidationError(errors)
    return CheckedTestSms(sender, to, body, title, kind, size)


def do_send_test_sms(
    project: Project,
    actor: object,
    *,
    sender_number: object,
    to: str,
    body: str,
    title: str = "",
) -> TestSend:
    """Check a test SMS and hand it to the project's test outbox for its
    sender (the core's senders are woken after commit), with an audit entry."""
    checked = check_test_sms(project, sender_number=sender_number, to=to, body=body, title=title)
    key = new_dedupe_key()
    with transaction.atomic():
        outbox = open_test_outbox(project, checked.sender)
        do_enqueue_messages(
            outbox,
            [NewMessage(key, checked.to, checked.body, checked.title, checked.kind, checked.bytes)],
        )
        message = Message.objects.select_related("outbox__sender_number").get(
            outbox=outbox, dedupe_key=key
        )
        record_audit(
            project,
            actor,
            CampaignEvent.TEST_SMS_SENT,
            checked.to,
            sender=checked.sender.number,
            message=str(message.pk),
        )
    return _test_send(message)


def open_test_outbox(project: Project, sender: SenderNumber) -> Outbox:
    """The project's open test outbox for `sender`: a paused one is opened
    again, a closed one left alone and a new one made. Call it inside the
    transaction that enqueues: the sender's row lock keeps two first test
    sends from making two outboxes (SQLite writes one at a time anyway)."""
    SenderNumber.objects.select_for_update().filter(pk=sender.pk).first()
    outbox = (
        Outbox.objects.filter(project=project, producer_kind=TEST_PRODUCER, sender_number=sender)
        .exclude(status=Outbox.Status.CLOSED)
        .order_by("-pk")
        .first()
    )
    if outbox is None:
        return do_create_outbox(
            project,
            producer_kind=TEST_PRODUCER,
            producer_id=str(sender.pk),
            sender_number_id=sender.pk,
            is_promotional=False,
            frequency_cap=0,
            counts_towards_cap=False,
            status=Outbox.Status.OPEN,
        )
    if outbox.status == Outbox.Status.PAUSED:
        do_open_outbox(outbox.pk)
        outbox.status = Outbox.Status.OPEN
    return outbox


def new_dedupe_key(at: float | None = None) -> str:
    """`<microseconds since the epoch>-<8 random hex digits>`."""
    micros = int((time.time() if at is None else at) * 1_000_000)
    return f"{micros}-{secrets.token_hex(4)}"


def created_at_of_key(key: str) -> datetime | None:
    """When the test with this dedupe key was asked for (None: not a test key)."""
    head = key.partition("-")[0]
    if not head.isdigit():
        return None
    return datetime.fromtimestamp(int(head) / 1_000_000, tz=UTC)


# --- what the pages show -------------------------------------------------------


def _test_messages(project: Project) -> QuerySet[Message]:
    # The test outboxes' ids first: filtered by them, the messages are read
    # through the claim index (outbox, status, id), never by a walk of the
    # whole message table in id order looking for a test among campaigns'.
    outboxes = list(
        Outbox.objects.filter(project=project, producer_kind=TEST_PRODUCER).values_list(
            "pk", flat=True
        )
    )
    return Message.objects.filter(outbox_id__in=outboxes).select_related("outbox__sender_number")


def recent_test_sends(project: Project, limit: int = 5) -> list[TestSend]:
    """The project's latest test SMS, newest first."""
    return [_test_send(m) for m in _test_messages(project).order_by("-pk")[:limit]]


def find_test_sends(project: Project, ids: list[int]) -> list[TestSend]:
    """These test SMS of the project (others' ids are ignored), in id order."""
    return [_test_send(m) for m in _test_messages(project).filter(pk__in=ids).order_by("pk")]


def find_test_send(project: Project, message_id: int) -> TestSend | None:
    """One test SMS of the project, or None (another project's, or not a test)."""
    message = _test_messages(project).filter(pk=message_id).first()
    return _test_send(message) if message is not None else None


def _test_send(message: Message) -> TestSend:
    outbox = message.outbox
    return TestSend(
        id=message.pk,
        to=message.phone_number,
        body=message.body,
        sender=outbox.sender_number.display_number if outbox.sender_number else "",
        status=message.status,
        status_label=str(message.get_status_display()),
        status_reason=_reason(message, outbox),
        created_at=created_at_of_key(message.dedupe_key),
    )


def _reason(message: Message, outbox: Outbox) -> str:
    """Why a test failed, was skipped, waits for a retry or does not go."""
    if message.status == S.SKIPPED:
        return message.error_message or str(message.get_skip_reason_display())
    if message.status == S.QUEUED and outbox.status == Outbox.Status.PAUSED:
        return outbox.status_reason or _("Paused")
    if message.status in (S.FAILED, S.QUEUED):
        return message.error_message
    return ""
