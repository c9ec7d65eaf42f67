"""The Send API's action: up to 100 targets become one API campaign whose
messages are written in the request's transaction, then start through the
normal dispatch pipeline (opt-outs, night-time hold, frequency cap and rate
limits are applied there, unchanged).

Each target gets an answer of its own:
- `refused` — no message was written: unknown user, user without a phone
  number, invalid number, the same target (or the same phone number) twice;
- `skipped` — a message row records why it will not go: no promotional
  consent (a userId target of an advertisement), or a body that cannot be
  rendered for this recipient (Liquid error, over 2,000 bytes, characters
  EUC-KR cannot carry);
- `queued` — it goes through dispatch; GET /messages/{id} follows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audiences.models import Customer
from campaigns.actions import do_start_campaign
from campaigns.materialise import dedupe_key
from campaigns.models import Campaign
from campaigns.rendering import Renderer, contexts_of_customers
from channels.models import SenderNumber
from channels.queries import (
    SenderNotAllowed,
    default_sender,
    project_optout_number,
    sendable_sender,
)
from console.lib import compliance, liquid
from console.lib.phone import check_e164
from dispatch.actions import NewMessage, do_enqueue_messages, do_seal_outbox
from dispatch.checks import characters_problem, empty_body_problem, title_problem
from dispatch.models import Message
from projects.models import Project

MAX_TARGETS = 100
USER_ID = "userId"
PHONE_NUMBER = "phoneNumber"
TARGET_TYPES = (USER_ID, PHONE_NUMBER)

QUEUED, SKIPPED, REFUSED = "queued", "skipped", "refused"


class SendRefused(ValueError):
    """The whole request is refused (nothing is written): `code` is stable,
    `field` names the request field it is about, `status` the HTTP status."""

    def __init__(self, code: str, message: str, *, field: str, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status
        self.details: dict[str, list[Any]] = {field: [message]}


class TemplateRefused(SendRefused):
    """The body is not valid Liquid; details carry the line and column."""

    def __init__(self, problem: liquid.TemplateProblem) -> None:
        super().__init__("validation_failed", str(problem), field="body", status=400)
        self.details = {
            "body": [{"message": problem.message, "line": problem.line, "column": problem.column}]
        }


@dataclass
class TargetResult:
    target_id: str
    status: str
    message_id: int | None = None
    phone_number: str | None = None
    reason: str | None = None
    message: str | None = None


@dataclass
class SendOutcome:
    campaign: Campaign | None
    results: list[TargetResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


def check_send_parts(
    project: Project,
    *,
    body: str,
    title: str = "",
    is_promotional: bool = False,
    sender_number: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> tuple[SenderNumber, Renderer]:
    """The request-level checks (sender, promotional prerequisites, title,
    template); SendRefused when any fails. Returns the sender and the renderer."""
    if not body.strip():
        raise SendRefused("validation_failed", empty_body_problem(), field="body", status=400)
    for name, problem in (("body", characters_problem(body)), ("title", title_problem(title))):
        if problem:
            raise SendRefused("validation_failed", problem, field=name, status=400)
    sender = _sender(project, sender_number)
    if is_promotional:
        if project_optout_number(project) is None:
            raise SendRefused(
                "optout_number_missing",
                _(
                    "An advertisement must end with the project's free 080 opt-out line, "
                    "and this project has no 080 number yet; ask platform staff to assign one."
                ),
                field="isAdvertisement",
            )
        try:
            compliance.ad_header(project.company_name)
        except ValueError:
            raise SendRefused(
                "company_name_missing",
                _(
                    "An advertisement must start with (광고) and the company name; "
                    "the project has none."
                ),
                field="isAdvertisement",
            ) from None
    try:
        renderer = Renderer.for_parts(project, body, is_promotional=is_promotional, data=data)
    except liquid.TemplateProblem as problem:
        raise TemplateRefused(problem) from None
    if renderer.tracked_urls:
        # A tracked link names its recipient by audience key; a Send API target
        # may have no user at all, so it would get a link that leads nowhere.
        raise SendRefused(
            "tracked_links_unsupported",
            _(
                "Tracked links (the track filter) are available in campaigns, not in the "
                "Send API; write the URL without it."
            ),
            field="body",
            status=400,
        )
    _check_static_length(renderer, body)
    return sender, renderer


def _sender(project: Project, sender_number: str | None) -> SenderNumber:
    if sender_number:
        try:
            if not sender_number.startswith("+"):
                # sendable_sender also takes an id; the API speaks numbers only.
                raise SenderNotAllowed(
                    _("%(number)s is not a registered sender number of this project.")
                    % {"number": sender_number}
                )
            return sendable_sender(project, sender_number)
        except SenderNotAllowed as exc:
            raise SendRefused("sender_not_allowed", str(exc), field="senderNumber") from None
    sender = default_sender(project)
    if sender is None:
        raise SendRefused(
            "sender_not_allowed",
            _("The project has no approved sender number; register one and wait for its approval."),
            field="senderNumber",
        )
    return sender


def _check_static_length(renderer: Renderer, body: str) -> None:
    """A body that reads no recipient variable (only `data.*`, or nothing) is
    the same for everyone: when it cannot go (too long, a filter failing) the
    request is refused outright rather than skipping every target."""
    try:
        variables = set(liquid.template_variables(body))
    except liquid.LiquidError:
        return
    if variables - {"data"}:
        return
    rendered = renderer.render({})
    if rendered.status == Message.Status.SKIPPED:
        raise SendRefused(
            "validation_failed",
            _("The message cannot be sent: %(error)s") % {"error": rendered.error},
            field="body",
            status=400,
        )


@dataclass
class _Target:
    phone: str
    customer: Customer | None


def _customers_by_user_id(project: Project, ids: Sequence[str]) -> dict[str, Customer]:
    return {c.user_id: c for c in Customer.objects.filter(project=project, user_id__in=set(ids))}


def _customers_by_phone(project: Project, numbers: Sequence[str]) -> dict[str, Customer]:
    """The project user of each number (the oldest, if several share it)."""
    found: dict[str, Customer] = {}
    for customer in Customer.objects.filter(
        project=project, phone_number__in=set(numbers)
    ).order_by("id"):
        found.setdefault(customer.phone_number, customer)
    return found


def _resolve(
    project: Project, target_type: str, target_ids: Sequence[str]
) -> list[tuple[TargetResult, _Target | None]]:
    """Each target in request order with its recipient, or refused with why."""
    if target_type == USER_ID:
        users = _customers_by_user_id(project, target_ids)
    else:
        users = _customers_by_phone(project, [t.strip() for t in target_ids])
    resolved: list[tuple[TargetResult, _Target | None]] = []
    first_index: dict[str, int] = {}
    phone_index: dict[str, int] = {}
    for index, target_id in enumerate(target_ids):

        def refuse(
            reason: str, message: str, phone: str | None = None, target_id: str = target_id
        ) -> None:
            result = TargetResult(target_id, REFUSED, None, phone, reason, message)
            resolved.append((result, None))

        if target_id in first_index:
            refuse(
                "duplicate_target",
                _("The same target as targetIds[%(index)d]; it gets one message.")
                % {"index": first_index[target_id]},
            )
            continue
        first_index[target_id] = index
        if target_type == USER_ID:
            customer = users.get(target_id)
            if customer is None:
                refuse("unknown_user", _("No user with this userId in the project."))
                continue
            phone = customer.phone_number
            if not phone:
                refuse("no_phone_number", _("The user has no phone number."))
                continue
        else:
            phone = target_id.strip()
            customer = users.get(phone)
        if check_e164(phone) is not None:
            refuse(
                "invalid_number",
                _("'%(number)s' is not a valid phone number in E.164 format, e.g. +821012345678.")
                % {"number": phone},
                phone if target_type == USER_ID else None,
            )
            continue
        if phone in phone_index:
            refuse(
                "duplicate_phone_number",
                _("The same phone number as targetIds[%(index)d]; it gets one message.")
                % {"index": phone_index[phone]},
                phone,
            )
            continue
        phone_index[phone] = index
        resolved.append((TargetResult(target_id, QUEUED, None, phone), _Target(phone, customer)))
    return resolved


def _render(
    renderer: Renderer,
    target: _Target,
    context: dict[str, Any],
    *,
    needs_consent: bool,
) -> tuple[str, str, str, int, str, str]:
    """(status, skip reason, body, bytes, kind, error) of one recipient."""
    if needs_consent and not (target.customer and target.customer.promotional_consent):
        return SKIPPED, Message.SkipReason.NO_CONSENT, "", 0, "SMS", ""
    rendered = renderer.render(context)
    if rendered.status != Message.Status.QUEUED:
        return SKIPPED, rendered.skip_reason, "", 0, rendered.kind, rendered.error
    error = characters_problem(rendered.body)
    if error:
        return SKIPPED, Message.SkipReason.RENDER_ERROR, "", 0, rendered.kind, error
    return QUEUED, "", rendered.body, rendered.bytes, rendered.kind, ""


def _api_campaign_name(now: Any) -> str:
    return _("API send %(time)s") % {"time": f"{timezone.localtime(now):%Y-%m-%d %H:%M:%S}"}


@transaction.atomic
def do_send_sms(
    project: Project,
    *,
    target_type: str,
    target_ids: Sequence[str],
    body: str,
    title: str = "",
    is_promotional: bool = False,
    sender_number: str | None = None,
    campaign_name: str = "",
    data: Mapping[str, Any] | None = None,
    actor: object = None,
) -> SendOutcome:
    """Write one message per distinct target as an API campaign and start it
    (the pipeline is enqueued when the transaction commits). Raises
    SendRefused, with nothing written, for a request that cannot go at all."""
    if target_type not in TARGET_TYPES:
        raise SendRefused(
            "validation_failed",
            _("targetType must be userId or phoneNumber."),
            field="targetType",
            status=400,
        )
    data = dict(data or {})
    sender, renderer = check_send_parts(
        project,
        body=body,
        title=title,
        is_promotional=is_promotional,
        sender_number=sender_number,
        data=data,
    )
    resolved = _resolve(project, target_type, target_ids)
    customers = [t.customer for _r, t in resolved if t is not None and t.customer is not None]
    contexts = contexts_of_customers(customers)
    # Only a user's own consent counts for a userId target; for a phoneNumber
    # target of an advertisement the caller vouches for the consent.
    needs_consent = is_promotional and target_type == USER_ID
    rows: list[tuple[TargetResult, NewMessage]] = []
    for result, target in resolved:
        if target is None:
            continue
        if target.customer is not None:
            context = contexts[target.customer.pk]
        else:
            context = {"phoneNumber": target.phone}
        status, reason, text, size, kind, error = _render(
            renderer, target, context, needs_consent=needs_consent
        )
        result.status = status
        if status == SKIPPED:
            result.reason = reason
            result.message = error or str(Message.SkipReason(reason).label)
        rows.append(
            (
                result,
                NewMessage(
                    dedupe_key(target.phone),
                    target.phone,
                    text,
                    title if kind == "LMS" and status == QUEUED else "",
                    kind,
                    size,
                    target.customer.pk if target.customer else None,
                    target.customer.time_zone if target.customer else "",
                    reason if status == SKIPPED else "",
                    error[:255],
                ),
            )
        )
    results = [result for result, _t in resolved]
    if not rows:
        # Every target was refused: nothing to send, so no campaign.
        return SendOutcome(None, results)

    now = timezone.now()
    campaign = Campaign.objects.create(
        project=project,
        name=(campaign_name or _api_campaign_name(now))[:200],
        source=Campaign.Source.API,
        sender_number=sender,
        body=body,
        title=title,
        is_promotional=is_promotional,
        data=data,
        # The messages are enqueued here, so the pipeline has nothing to
        # materialise: it only sends.
        materialised_at=now,
        heartbeat_at=now,
    )
    # The messages are all here: the outbox is sealed, and closes (the
    # campaign completes) once they are out.
    do_enqueue_messages(campaign.outbox, [message for _r, message in rows])
    do_seal_outbox(campaign.outbox_id)
    ids = dict(Message.objects.filter(outbox_id=campaign.outbox_id).values_list("dedupe_key", "id"))
    for result, message in rows:
        result.message_id = ids[message.dedupe_key]
    do_start_campaign(campaign, actor=actor)
    campaign.refresh_from_db()
    return SendOutcome(campaign, results)
