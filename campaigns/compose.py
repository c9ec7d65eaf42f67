"""What the compose screen works out for a campaign being written: the
audience's size and variables, a recipient to preview, the live preview
(through the one Renderer, so it is exactly the message dispatch would
send), the cost estimate, and what still stops the campaign from going.

Read-only: every write is in campaigns.actions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from audiences.models import AudienceFile, AudienceFileRow, Customer, Segment
from audiences.queries import customer_search
from audiences.segments import InvalidDefinition, segment_queryset
from campaigns.actions import check_campaign_ready
from campaigns.models import Campaign, Price
from campaigns.rendering import Renderer, contexts_of_customers, file_row_context
from channels.queries import project_optout_number
from console.lib import liquid
from console.lib.compliance import DEFAULT_TIME_ZONE, night_release_at, resolve_time_zone
from console.lib.sms import TITLE_MAX_BYTES, cp949_length, gsm_segments, unencodable
from dispatch.models import Message
from projects.models import Project

# The variables every user of a segment has (rendering.customer_context).
USER_VARIABLES = frozenset(
    {"userId", "phoneNumber", "name", "email", "dob", "timeZone", "country", "language", "tags"}
)
KOREA = "+82"


def audience_variables(
    segment: Segment | None, audience_file: AudienceFile | None, data: dict | None = None
) -> set[str] | None:
    """The Liquid variables the audience's recipients have; None when there
    is no audience yet (nothing to warn against)."""
    if audience_file is not None:
        names = {*audience_file.columns, "phoneNumber"}
    elif segment is not None:
        names = set(USER_VARIABLES)
    else:
        return None
    if data:
        names.add("data")
    return names


def audience_size(
    project: Project,
    segment: Segment | None,
    audience_file: AudienceFile | None,
    *,
    is_promotional: bool = False,
) -> int | None:
    """How many recipients the audience has now: a file's rows, or the users
    of a segment with a phone number (with promotional consent when the
    campaign is promotional, as dispatch skips the others)."""
    if audience_file is not None:
        return audience_file.rows
    if segment is None:
        return None
    try:
        users = segment_queryset(project, segment.definition).exclude(phone_number="")
    except InvalidDefinition:
        return None
    if is_promotional:
        users = users.filter(promotional_consent=True)
    return users.count()


# The preview asks for the audience's size on every pause in typing; a
# segment of a million users is counted at most this often per definition.
SIZE_CACHE_SECONDS = 30
FILE_COUNTS_CACHE_SECONDS = 86400


@dataclass(frozen=True)
class AudienceCounts:
    """How many recipients the audience has, and how many of them are in
    Korea (+82, priced as SMS/LMS); the others are priced as international."""

    total: int
    domestic: int

    @property
    def international(self) -> int:
        return self.total - self.domestic


def audience_counts(
    project: Project,
    segment: Segment | None,
    audience_file: AudienceFile | None,
    *,
    is_promotional: bool = False,
) -> AudienceCounts | None:
    """The audience's recipients by country (Korea or abroad), in one
    counting query over the whole audience; None without an audience."""
    domestic = Count("id", filter=Q(phone_number__startswith=KOREA))
    if audience_file is not None:
        counted = AudienceFileRow.objects.filter(file=audience_file).aggregate(domestic=domestic)
        return AudienceCounts(audience_file.rows, counted["domestic"])
    if segment is None:
        return None
    try:
        users = segment_queryset(project, segment.definition).exclude(phone_number="")
    except InvalidDefinition:
        return None
    if is_promotional:
        users = users.filter(promotional_consent=True)
    counted = users.order_by().aggregate(total=Count("id"), domestic=domestic)
    return AudienceCounts(counted["total"], counted["domestic"])


def _cached_audience_counts(
    project: Project,
    segment: Segment | None,
    audience_file: AudienceFile | None,
    is_promotional: bool,
) -> AudienceCounts | None:
    if segment is None and audience_file is None:
        return None
    seconds = SIZE_CACHE_SECONDS
    if audience_file is not None:
        # A valid file never changes: its id names its rows, counted once a day
        # at most (a million rows are worth not reading on every keystroke).
        source, seconds = f"file:{audience_file.pk}", FILE_COUNTS_CACHE_SECONDS
    else:
        source = json.dumps(segment.definition, sort_keys=True)
    digest = hashlib.sha256(f"{project.pk}:{source}:{is_promotional}".encode()).hexdigest()
    key = f"compose-audience-counts:{digest}"
    counts = cache.get(key)
    if counts is None:
        counts = audience_counts(project, segment, audience_file, is_promotional=is_promotional)
        cache.set(key, counts, seconds)
    return counts


@dataclass
class Recipient:
    """Whose data a preview or test send is rendered with."""

    label: str
    phone: str
    context: dict[str, Any]
    note: str = ""


def pick_recipient(
    project: Project,
    segment: Segment | None,
    audience_file: AudienceFile | None,
    query: str = "",
    *,
    is_promotional: bool = False,
) -> Recipient | str | None:
    """A recipient of the audience to preview: a user of the segment found by
    user id, phone number or name (`query`), or a file row by its row number
    or phone number; the first one when `query` is empty. A string says why
    no recipient was found; None when there is no audience."""
    query = (query or "").strip()
    if audience_file is not None:
        rows = AudienceFileRow.objects.filter(file=audience_file)
        if query.isdigit() and not query.startswith("0"):
            rows = rows.filter(row_number=int(query))
        elif query:
            rows = rows.filter(phone_number=query)
        row = rows.order_by("id").first()
        if row is None:
            return _("No row %(query)s in the file.") % {"query": query}
        return Recipient(
            _("row %(row)d (%(phone)s)") % {"row": row.row_number, "phone": row.phone_number},
            row.phone_number,
            file_row_context(audience_file.columns[1:], row.values, row.phone_number),
        )
    if segment is None:
        return None
    try:
        users = segment_queryset(project, segment.definition).exclude(phone_number="")
    except InvalidDefinition:
        return _("The segment's definition is not valid.")
    if query:
        users = users.filter(pk__in=customer_search(project, query).values("pk"))
    customer = users.order_by("id").first()
    if customer is None:
        return _("No user of the segment matches %(query)s.") % {"query": query or "-"}
    note = ""
    if is_promotional and not customer.promotional_consent:
        note = _("This user has not consented to promotional messages and would be skipped.")
    return Recipient(
        f"{customer.user_id} ({customer.phone_number})",
        customer.phone_number,
        contexts_of_customers([customer])[customer.pk],
        note,
    )


@dataclass
class Estimate:
    """The cost of the whole audience: recipients in Korea × the price of the
    message's kind (SMS or LMS), plus recipients abroad × the international
    price × the message's segments."""

    recipients: int
    kind: str  # SMS or LMS, for the recipients in Korea
    parts: int  # segments of the message, for the recipients abroad
    amount: Decimal | None  # None: a price it needs is not set
    currency: str = ""
    domestic: int = 0
    international: int = 0
    unpriced: list[str] = field(default_factory=list)


def estimate(counts: AudienceCounts | None, kind: str, parts: int = 1) -> Estimate | None:
    """The audience's cost from the prices platform staff set, priced by
    each recipient's country, not by the recipient being previewed."""
    if counts is None:
        return None
    prices = {price.kind: price for price in Price.objects.all()}
    needed = []
    if counts.domestic:
        needed.append(kind)
    if counts.international:
        needed.append(Price.Kind.INTERNATIONAL)
    result = Estimate(
        counts.total,
        kind,
        parts,
        None,
        domestic=counts.domestic,
        international=counts.international,
        unpriced=[k for k in needed if k not in prices],
    )
    if result.unpriced:
        return result
    amount = Decimal(0)
    if counts.domestic:
        amount += prices[kind].amount * counts.domestic
    if counts.international:
        amount += prices[Price.Kind.INTERNATIONAL].amount * counts.international * parts
    result.amount = amount
    result.currency = next((prices[k].currency for k in needed), "")
    return result


@dataclass
class Preview:
    """Everything the content step shows about the message as typed."""

    body: str = ""
    bytes: int = 0
    kind: str = ""
    problem: liquid.TemplateProblem | None = None
    error: str = ""
    unencodable: list[str] = field(default_factory=list)
    undefined: list[str] = field(default_factory=list)
    segments: tuple[str, int] | None = None
    title_bytes: int = 0
    title_too_long: bool = False
    recipient: Recipient | None = None
    recipient_problem: str = ""
    promotional_problem: str = ""
    recipients: int | None = None
    estimate: Estimate | None = None

    @property
    def title_limit(self) -> int:
        return TITLE_MAX_BYTES


def build_preview(
    project: Project,
    *,
    body: str,
    title: str = "",
    is_promotional: bool = False,
    segment: Segment | None = None,
    audience_file: AudienceFile | None = None,
    data: dict | None = None,
    recipient_query: str = "",
) -> Preview:
    preview = Preview(title_bytes=cp949_length(title))
    preview.title_too_long = preview.title_bytes > TITLE_MAX_BYTES
    if is_promotional:
        if project_optout_number(project) is None:
            preview.promotional_problem = _(
                "A promotional message needs the project's 080 opt-out number; none is "
                "assigned. Ask platform staff to assign one."
            )
        elif not project.company_name.strip():
            preview.promotional_problem = _(
                "A promotional message needs the company name of the business registration."
            )
    found = pick_recipient(
        project, segment, audience_file, recipient_query, is_promotional=is_promotional
    )
    if isinstance(found, str):
        preview.recipient_problem = found
    else:
        preview.recipient = found
    counts = _cached_audience_counts(project, segment, audience_file, is_promotional)
    preview.recipients = counts.total if counts is not None else None
    try:
        renderer = Renderer.for_parts(
            project,
            body,
            is_promotional=is_promotional and not preview.promotional_problem,
            columns=audience_file.columns[1:] if audience_file is not None else [],
            data=data,
        )
        available = audience_variables(segment, audience_file, data)
        if available is not None:
            preview.undefined = liquid.undefined_variables(body, available)
    except liquid.TemplateProblem as problem:
        preview.problem = problem
        preview.unencodable = unencodable(body)
        return preview
    context = preview.recipient.context if preview.recipient else {}
    rendered = renderer.render(context)
    if rendered.status != Message.Status.QUEUED:
        preview.error = rendered.error
        preview.unencodable = unencodable(body)
        return preview
    preview.body, preview.bytes, preview.kind = rendered.body, rendered.bytes, rendered.kind
    preview.unencodable = unencodable(rendered.body)
    phone = preview.recipient.phone if preview.recipient else ""
    if phone and not phone.startswith(KOREA):
        preview.segments = gsm_segments(rendered.body)
    _encoding, parts = preview.segments or gsm_segments(rendered.body)
    # The kind of the preview's render prices the recipients in Korea; the
    # recipient previewed does not decide how the others are priced.
    preview.estimate = estimate(counts, rendered.kind, parts)
    return preview


def campaign_preview(campaign: Campaign, recipient_query: str = "") -> Preview:
    return build_preview(
        campaign.project,
        body=campaign.body,
        title=campaign.title,
        is_promotional=campaign.is_promotional,
        segment=campaign.segment,
        audience_file=campaign.audience_file,
        data=campaign.data,
        recipient_query=recipient_query,
    )


def blocking_problems(campaign: Campaign) -> list[str]:
    """Why the campaign cannot be scheduled or sent yet (empty: it can): the
    readiness check's sentences."""
    return [problem.message for problem in check_campaign_ready(campaign)]


def local_time_to_utc(moment: datetime, zone_name: str) -> datetime:
    """A wall-clock time in a zone as a UTC instant. Raises ValueError for a
    time the zone skips (a daylight-saving gap); of a time that happens
    twice, the first."""
    zone = resolve_time_zone(zone_name)
    naive = moment.replace(tzinfo=None)
    aware = naive.replace(tzinfo=zone, fold=0)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise ValueError(f"{naive:%Y-%m-%d %H:%M} does not exist in {zone_name}")
    return aware.astimezone(UTC)


@dataclass(frozen=True)
class NightHold:
    """Recipients of a promotional campaign who would be held at night:
    without night-time consent, between 21:00 and 08:00 in their zone, they
    wait until 08:00 there (SPEC §5). `releases` pairs each release instant
    (UTC) with its zone and how many recipients wait for it."""

    held: int
    releases: tuple[tuple[datetime, str, int], ...]

    @property
    def first_release(self) -> datetime:
        return min(release for release, _zone, _count in self.releases)

    @property
    def last_release(self) -> datetime:
        return max(release for release, _zone, _count in self.releases)


def night_hold(campaign: Campaign, at: datetime) -> NightHold | None:
    """Who a promotional campaign starting at `at` would hold until morning,
    the way dispatch decides it: by each recipient's zone (the project's when
    the recipient has none, and for every row of a file) and night-time
    consent. Counted by the database, zone by zone, not recipient by
    recipient. None when nobody would be held."""
    if not campaign.is_promotional:
        return None
    project = campaign.project
    default_zone = project.time_zone or DEFAULT_TIME_ZONE
    by_zone: dict[str, int] = {}
    if campaign.audience_file_id is not None:
        night_consenting = Customer.objects.filter(project=project, night_consent=True)
        consenting_rows = AudienceFileRow.objects.filter(
            file_id=campaign.audience_file_id,
            customer_id__in=night_consenting.values("id"),
        ).count()
        by_zone[default_zone] = campaign.audience_file.rows - consenting_rows
    elif campaign.segment_id is not None:
        try:
            users = segment_queryset(project, campaign.segment.definition)
        except InvalidDefinition:
            return None
        zones = (
            users.exclude(phone_number="")
            .filter(promotional_consent=True, night_consent=False)
            .order_by()
            .values_list("time_zone")
            .annotate(count=Count("id"))
        )
        for zone, count in zones:
            by_zone[zone or default_zone] = by_zone.get(zone or default_zone, 0) + count
    releases = []
    for zone, count in sorted(by_zone.items()):
        release = night_release_at(at, zone) if count else None
        if release is not None:
            releases.append((release, zone, count))
    if not releases:
        return None
    return NightHold(sum(count for _r, _z, count in releases), tuple(releases))
