"""Everything that writes a project's webhook endpoint, and the test event.
Each change is audited."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from console.lib.signing import new_secret
from console.queue import enqueue_on_commit
from projects.actions import record_audit
from projects.models import Project
from webhooks import addresses
from webhooks.events import publish
from webhooks.messages import describe
from webhooks.models import WebhookEndpoint, WebhookEvent

# By dotted name (webhooks.tasks.TASK): actions do not import tasks.
DELIVERY_TASK = "webhooks.tasks.deliver_webhook_events"

URL_MAX_LENGTH = 2000
# After a rotation deliveries carry a second signature made with the old
# secret for this long, so receivers can switch without rejecting events.
ROTATION_GRACE = timedelta(hours=24)
EVENT_TYPE = "ReportSMSUnsubscribed"
# The test event has the real shape; this number belongs to no one.
TEST_PHONE_NUMBER = "+821000000000"


def validate_webhook_url(raw: str) -> str:
    """The URL as it will be called, or a ValidationError saying what is wrong.

    Only http(s) with a host: the endpoint is called at exactly this address
    and redirects are never followed. A host that is an address the policy
    refuses (loopback, metadata …, see webhooks.addresses) is refused here
    already; every delivery checks the address the host resolves to.
    """
    url = (raw or "").strip()
    if not url:
        raise ValidationError(_("Enter the URL of your webhook receiver."), code="url_missing")
    if len(url) > URL_MAX_LENGTH:
        raise ValidationError(
            _("The URL is longer than %(max)d characters.") % {"max": URL_MAX_LENGTH},
            code="url_too_long",
        )
    if any(ch.isspace() for ch in url):
        raise ValidationError(_("The URL may not contain spaces."), code="url_invalid")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ValidationError(
            _("“%(url)s” is not a valid URL.") % {"url": url}, code="url_invalid"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise ValidationError(
            _("Only http:// and https:// URLs can be registered (this one starts with “%(s)s”).")
            % {"s": f"{parts.scheme}:" if parts.scheme else url[:20]},
            code="url_scheme",
        )
    if not parts.hostname:
        raise ValidationError(
            _("The URL needs a host name, e.g. https://example.com/munja-webhook."),
            code="url_no_host",
        )
    if parts.username or parts.password:
        raise ValidationError(
            _("Put no user name or password in the URL; deliveries are signed instead."),
            code="url_credentials",
        )
    try:
        # An address or localhost is checked now; a DNS name when delivering.
        addresses.check_host(parts.hostname)
    except addresses.ReceiverRefused as refused:
        raise ValidationError(
            describe(refused.code, refused.params), code="url_address_refused"
        ) from None
    return url


@transaction.atomic
def do_register_webhook(project: Project, url: str, actor: object) -> WebhookEndpoint:
    """Register the project's endpoint or change its URL. The signing secret
    is made on registration and kept when only the URL changes. Events still
    pending go to the new URL."""
    url = validate_webhook_url(url)
    endpoint = WebhookEndpoint.objects.select_for_update().filter(project=project).first()
    if endpoint is None:
        endpoint = WebhookEndpoint.objects.create(project=project, url=url)
        record_audit(project, actor, "webhook.registered", url)
    elif endpoint.url != url:
        previous = endpoint.url
        endpoint.url = url
        endpoint.save(update_fields=["url", "updated_at"])
        record_audit(project, actor, "webhook.url_changed", url, previous=previous)
    if WebhookEvent.objects.filter(project=project, status=WebhookEvent.Status.PENDING).exists():
        # Events published before there was an endpoint (or waiting for a
        # retry to a URL that was wrong) go now.
        enqueue_on_commit(DELIVERY_TASK, str(project.pk), q_options={"group": "webhooks"})
    return endpoint


@transaction.atomic
def do_rotate_webhook_secret(project: Project, actor: object) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().get(project=project)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + ROTATION_GRACE
    endpoint.secret = new_secret()
    endpoint.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
    )
    record_audit(project, actor, "webhook.secret_rotated", endpoint.url)
    return endpoint


@transaction.atomic
def do_send_test_event(project: Project, actor: object) -> WebhookEvent:
    """A real, signed delivery of a ReportSMSUnsubscribed-shaped event, marked
    as a test in the log. Unordered, so it is not held up behind real events
    that are waiting for a retry."""
    if not WebhookEndpoint.objects.filter(project=project).exists():
        raise ValidationError(
            _("Register a webhook URL before sending a test event."), code="no_endpoint"
        )
    event = publish(
        project,
        EVENT_TYPE,
        {"phoneNumber": TEST_PHONE_NUMBER, "subscribed": False},
        is_test=True,
    )
    record_audit(project, actor, "webhook.test_sent", event.request_id)
    return event


@transaction.atomic
def do_redeliver_webhook_events(events: QuerySet[WebhookEvent], actor: object) -> int:
    """Put failed events back in the queue for one more try each (platform
    staff, after a receiver's long outage). Same requestId as before."""
    failed = events.filter(status=WebhookEvent.Status.FAILED)
    by_project: dict[object, list[str]] = {}
    for event in failed.select_related("project"):
        by_project.setdefault(event.project, []).append(str(event.request_id))
    changed = failed.update(
        status=WebhookEvent.Status.PENDING, next_attempt_at=None, claimed_at=None, claimed_by=""
    )
    for project, request_ids in by_project.items():
        record_audit(project, actor, "webhook.redelivered", f"{len(request_ids)} events")
        enqueue_on_commit(DELIVERY_TASK, str(project.pk), q_options={"group": "webhooks"})
    return changed
