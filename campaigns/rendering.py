"""One recipient's message, rendered the same way everywhere: the dispatch
pipeline, the compose screen's preview and test send, and the Send API.

A recipient's Liquid variables are `userId`, `phoneNumber`, `name`, `email`,
`dob`, `timeZone`, `country`, `language` and `tags.*` for a user, the columns
of the row for a file audience (plus `phoneNumber`), and `data.*` from the
campaign (the Send API's `data`). A promotional message is wrapped by the
system after rendering, so the marketer cannot remove the label or the
opt-out line, and both count in the bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from audiences.models import Customer, CustomerTag
from campaigns.models import Campaign
from channels.queries import project_optout_number
from console.lib import compliance, links, liquid
from console.lib.sms import MessageTooLong, cp949_length, sms_kind
from dispatch.models import Message
from projects.models import Project

Status = Message.Status
Reason = Message.SkipReason

# The customer columns a context is built from, in this order.
CUSTOMER_FIELDS = (
    "id",
    "user_id",
    "phone_number",
    "name",
    "email",
    "dob",
    "time_zone",
    "country",
    "language",
)


@dataclass(frozen=True)
class Rendered:
    """What one recipient gets: `status` is queued, or skipped with
    `skip_reason` (then `error` says why and `body` is empty)."""

    status: str
    skip_reason: str
    body: str
    bytes: int
    kind: str
    error: str = ""


def customer_context(values: tuple, tags: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Liquid variables of a customer from a CUSTOMER_FIELDS tuple."""
    _cid, user_id, phone, name, email, dob, tz, country, language = values
    return {
        "userId": user_id,
        "phoneNumber": phone,
        "name": name,
        "email": email,
        "dob": dob,
        "timeZone": tz,
        "country": country,
        "language": language,
        "tags": dict(tags or {}),
    }


def customer_tags(customer_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    ids = list(customer_ids)
    tags: dict[int, dict[str, str]] = {}
    if ids:
        for customer_id, key, value in CustomerTag.objects.filter(customer_id__in=ids).values_list(
            "customer_id", "key", "value"
        ):
            tags.setdefault(customer_id, {})[key] = value
    return tags


def contexts_of_customers(customers: Iterable[Customer]) -> dict[int, dict[str, Any]]:
    """Contexts of some customers, by customer id (tags in one query)."""
    customers = list(customers)
    tags = customer_tags(c.pk for c in customers)
    return {
        c.pk: customer_context(tuple(getattr(c, f) for f in CUSTOMER_FIELDS), tags.get(c.pk))
        for c in customers
    }


def file_row_context(columns: list[str], values: str | list, phone: str) -> dict[str, Any]:
    """Liquid variables of an audience-file row (values as stored: JSON text)."""
    if isinstance(values, str):
        values = json.loads(values)
    context = dict(zip(columns, values, strict=False))
    context["phoneNumber"] = phone
    return context


# Tracked links (`{{ "https://…" | track }}`) belong to conversions, which
# sits above the producers: it registers how an outbox's literal URLs get
# their link ids when a body is compiled for sending (conversions.apps). Any
# producer's outbox may have them: a campaign's, a journey send node's.
LinkIds = Callable[[int, list[str]], dict[str, int]]
_link_ids: LinkIds | None = None


def register_link_ids(function: LinkIds) -> None:
    global _link_ids
    _link_ids = function


def link_ids(outbox_id: int, urls: list[str]) -> dict[str, int]:
    """The tracked link ids of an outbox's literal URLs, made on first use."""
    if _link_ids is None:
        raise RuntimeError("no link registry: is the conversions app installed?")
    return _link_ids(outbox_id, urls)


@dataclass
class Renderer:
    """A template compiled once, and what the system adds around it."""

    template: Any
    is_promotional: bool
    company_name: str
    optout_number: str
    uses_tags: bool
    columns: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    # URLs the body tracks, and (when compiled for sending) their link ids.
    tracked_urls: list[str] = field(default_factory=list)
    link_ids: dict[str, int] | None = None

    @classmethod
    def for_campaign(cls, campaign: Campaign, *, sending: bool = False) -> Renderer:
        """With `sending`, the body's tracked URLs get their link ids, so
        `render(context, key)` writes each recipient's real short links."""
        columns = campaign.audience_file.columns[1:] if campaign.audience_file_id else []
        renderer = cls.for_parts(
            campaign.project,
            campaign.body,
            is_promotional=campaign.is_promotional,
            columns=columns,
            data=campaign.data,
        )
        if sending and renderer.tracked_urls:
            renderer.link_ids = link_ids(campaign.outbox_id, renderer.tracked_urls)
        return renderer

    @classmethod
    def for_parts(
        cls,
        project: Project,
        body: str,
        *,
        is_promotional: bool = False,
        columns: list[str] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Renderer:
        """Raises liquid.TemplateProblem for a body that is not valid Liquid."""
        optout = project_optout_number(project) if is_promotional else None
        return cls(
            template=liquid.compile_template(body),
            is_promotional=is_promotional,
            company_name=project.company_name,
            optout_number=optout.number if optout else "",
            uses_tags="tags" in set(liquid.template_variables(body)),
            columns=list(columns or []),
            data=dict(data or {}),
            tracked_urls=links.tracked_urls(body) if links.uses_tracking(body) else [],
        )

    def render(self, context: Mapping[str, Any], key: int | None = None) -> Rendered:
        """The message for one recipient; a template error or a body over
        the LMS limit skips the recipient rather than stopping the send.
        `key` identifies the recipient in tracked links (the audience key:
        a customer id, or an audience-file row id); without it, or before
        the links exist, a tracked link is a same-length preview link."""
        if self.data:
            context = {**context, "data": self.data}
        try:
            if self.tracked_urls:
                with links.making_links(self._link_maker(key)):
                    body = liquid.render(self.template, context)
            else:
                body = liquid.render(self.template, context)
            if self.is_promotional:
                body = compliance.promotional_body(
                    body, company_name=self.company_name, optout_number=self.optout_number
                )
            kind = sms_kind(body)
        except MessageTooLong as exc:
            return Rendered(Status.SKIPPED, Reason.RENDER_ERROR, "", 0, "LMS", str(exc))
        except Exception as exc:  # a template error must not stop the campaign
            error = f"{type(exc).__name__}: {exc}"
            return Rendered(Status.SKIPPED, Reason.RENDER_ERROR, "", 0, "SMS", error)
        return Rendered(Status.QUEUED, "", body, cp949_length(body), kind)

    def _link_maker(self, key: int | None) -> Callable[[str], str]:
        base = f"{settings.PUBLIC_URL}/l/"
        if key is None or self.link_ids is None:
            return lambda _url: base + links.PREVIEW_CODE
        secret = links.secret_from(settings.SECRET_KEY)
        ids = self.link_ids
        return lambda url: base + links.encode(secret, ids[url], key)
