"""One executor per node kind (docs/journeys.md "Node kinds").

An executor reads; it never writes. Given a run (its step counter seen by
the runner) it returns an `Outcome`: the port the run leaves by, the step's
detail, extra counters, and the effects (a message for the send core, a
webhook event) that `journeys.runtime` writes in the step's transaction,
after the run's conditional UPDATE has won. `arrival` says what a run that
reaches a node waits for (a delay's due time, an event).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count

from audiences.models import Customer
from campaigns.rendering import CUSTOMER_FIELDS, Renderer, customer_context, customer_tags
from channels.queries import SenderNotAllowed, sendable_sender
from console.lib import compliance, liquid
from console.lib.phone import check_e164
from dispatch.actions import NewMessage, do_create_outbox, do_enqueue_messages
from dispatch.checks import check_outgoing_message
from dispatch.models import Message, Outbox, SendingPolicy
from journeys import conditions, sending
from journeys import counters as metrics
from journeys.models import Run, SendNodeOutbox
from optout.queries import applies_to, is_opted_out
from projects.models import Project

Reason = Message.SkipReason
# Not-sent reasons of a send node that are not the core's skip reasons: the
# message never reaches the outbox.
QUIET_HOURS = "quiet_hours"
LATE = "late"
DEFAULT_LATE_TOLERANCE = 3600
WEBHOOK_TYPE = "journey.webhook"


@dataclass
class Arrival:
    """What a run that reaches a node waits for."""

    due_at: datetime
    state: str = Run.State.ACTIVE
    wait_event_type: str = ""
    wait_match: str = ""


@dataclass
class Outcome:
    """The result of executing a node for a run.

    `port`: the port the run leaves by ("" when the run ends at this node);
    `end_reason`: set when the step ends the run; `hold_until`: no step,
    the run stays and is due again then (quiet hours, hold)."""

    port: str
    detail: dict[str, Any] = field(default_factory=dict)
    end_reason: str = ""
    hold_until: datetime | None = None
    effects: list[Callable[[int], None]] = field(default_factory=list)
    bumps: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Enqueue:
    """A send step's effect: its message for the node's outbox. The runner
    hands the messages of a batch's steps to each outbox in one call."""

    outbox: Outbox
    message: NewMessage

    def __call__(self, _step: int) -> None:
        do_enqueue_messages(self.outbox, [self.message])


@dataclass
class Publish:
    """A webhook step's effect: its event, published in the step's
    transaction (the runner publishes a batch's events of a project at once)."""

    project: Project
    data: dict
    ordering_key: str

    def __call__(self, _step: int) -> None:
        from webhooks.events import publish

        publish(self.project, WEBHOOK_TYPE, self.data, ordering_key=self.ordering_key)


@dataclass
class Context:
    """What the executors of one run need, loaded once per batch."""

    run: Run
    node: dict
    project: Project
    settings: dict
    now: datetime
    customer: Customer | None = None
    # Lookups shared by the runs of one batch (a sender's status, a node's
    # outbox, the project's cap): read once per batch, not once per step.
    cache: dict = field(default_factory=dict)

    def cached(self, key: tuple, compute: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    @property
    def config(self) -> dict:
        return self.node.get("config") or {}

    @property
    def step(self) -> int:
        """The number of the step being taken."""
        return self.run.step + 1

    def user(self) -> Customer:
        if self.customer is None:
            self.customer = Customer.objects.get(pk=self.run.customer_id)
        return self.customer

    def zone_name(self) -> str:
        return self.user().time_zone or self.project.time_zone or compliance.DEFAULT_TIME_ZONE


# --- arrival --------------------------------------------------------------------------


def arrival(
    node: dict,
    run: Run,
    project: Project,
    now: datetime,
    customer: Any,
    scheduled: datetime | None = None,
) -> Arrival:
    """The state and due time of a run that reaches `node` at `now`.
    `scheduled`: when the step that brought it was due; a node that goes at
    once is due then, so a send after an overdue delay (a pause) is seen to
    be late."""
    kind = node.get("kind")
    config = node.get("config") or {}
    if kind == "delay":
        return Arrival(now + timedelta(seconds=int(config.get("seconds", 0))))
    if kind == "wait_until":
        zone = (customer.time_zone if customer else "") or project.time_zone
        return Arrival(
            next_time_of_day(now, config.get("time", "09:00"), config.get("weekdays"), zone)
        )
    if kind == "wait_event":
        match = ""
        if config.get("match_field"):
            value = conditions.data_value(run.entry_data, config["match_field"])
            match = "" if value is None else _as_match(value)
        return Arrival(
            now + timedelta(seconds=int(config.get("timeout_seconds", 0))),
            Run.State.WAITING,
            str(config.get("event", ""))[:255],
            match[:255],
        )
    return Arrival(min(scheduled or now, now))


def _as_match(value: Any) -> str:
    """An entry-event value as the run stores it to compare later events'."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def event_matches_wait(node: dict, run: Run, event_type: str, data: dict) -> bool:
    """Whether an event is the one a run waiting at `node` waits for."""
    config = node.get("config") or {}
    if event_type != config.get("event"):
        return False
    if not conditions.data_matches(config.get("where") or [], data):
        return False
    if config.get("match_field"):
        value = conditions.data_value(data, config["match_field"])
        if value is None or _as_match(value) != run.wait_match:
            return False
    return True


def _parse_hhmm(text: str) -> dt.time:
    hours, _sep, minutes = str(text).partition(":")
    return dt.time(int(hours), int(minutes or 0))


def next_time_of_day(
    now: datetime, hhmm: str, weekdays: list[int] | None, zone_name: str
) -> datetime:
    """The first moment at or after `now` that is `hhmm` local time in the
    zone, on one of `weekdays` (0 = Monday; empty: any day)."""
    zone = compliance.resolve_time_zone(zone_name)
    at = _parse_hhmm(hhmm)
    local_now = now.astimezone(zone)
    days = set(weekdays or [])
    for offset in range(0, 9):
        day = local_now.date() + timedelta(days=offset)
        if days and day.weekday() not in days:
            continue
        candidate = datetime.combine(day, at).replace(tzinfo=zone)
        if candidate >= local_now:
            return candidate.astimezone(dt.UTC)
    return now  # unreachable with a valid weekday list


def quiet_hours_end(now: datetime, quiet: dict, zone_name: str) -> datetime | None:
    """When the quiet hours around `now` end, or None outside them.
    `start` > `end` means overnight (21:00–09:00)."""
    zone = compliance.resolve_time_zone(zone_name)
    start, end = _parse_hhmm(quiet.get("start", "21:00")), _parse_hhmm(quiet.get("end", "09:00"))
    local = now.astimezone(zone)
    t = local.time()
    if start == end:
        return None
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date()
    if start > end and t >= start:
        day += timedelta(days=1)
    return datetime.combine(day, end).replace(tzinfo=zone).astimezone(dt.UTC)


# --- executors -------------------------------------------------------------------------


def execute(ctx: Context) -> Outcome:
    kind = ctx.node.get("kind")
    executor = EXECUTORS.get(kind)
    if executor is None:
        return Outcome("", {"error": f"unknown node kind {kind!r}"}, end_reason=Run.EndReason.END)
    return executor(ctx)


def _pass(ctx: Context) -> Outcome:
    return Outcome("next")


def _wait_event_timeout(ctx: Context) -> Outcome:
    # The runner only takes a waiting run when its timeout is due; an event
    # takes it through `event_step`.
    return Outcome("timeout", bumps=[(metrics.TIMED_OUT, 1)])


def event_step(event_id: int) -> Outcome:
    return Outcome("event", {"event": event_id})


def _split(ctx: Context) -> Outcome:
    customer = ctx.user()
    for index, branch in enumerate(ctx.config.get("branches") or []):
        if conditions.branch_matches(ctx.project, branch, customer, ctx.run.entry_data):
            return Outcome(f"b{index}")
    return Outcome("else")


def _ab(ctx: Context) -> Outcome:
    return Outcome(conditions.ab_variant(ctx.config.get("variants") or [], ctx.run.pk))


def _exit(ctx: Context) -> Outcome:
    return Outcome("", end_reason=Run.EndReason.EXIT_NODE)


def liquid_context(ctx: Context, *, tags: bool = True) -> dict[str, Any]:
    """The user's fields (as campaigns name them) and `entry_event.data.*`;
    `tags.*` read only when asked for."""
    customer = ctx.user()
    values = tuple(getattr(customer, name) for name in CUSTOMER_FIELDS)
    user_tags = customer_tags([customer.pk]).get(customer.pk) if tags else None
    context = customer_context(values, user_tags)
    context["entry_event"] = {"data": ctx.run.entry_data or {}}
    return context


def _webhook(ctx: Context) -> Outcome:
    body: Any = None
    error = ""
    try:
        text = liquid.render(
            liquid.compile_template(ctx.config.get("body") or "{}"), liquid_context(ctx)
        )
        body = json.loads(text)
        if not isinstance(body, dict):
            error = "the body is not a JSON object"
    except Exception as exc:  # a bad template must not stop the run
        error = f"{type(exc).__name__}: {exc}"[:500]
    if error:
        return Outcome("next", {"error": error}, bumps=[("webhook_failed", 1)])
    run = ctx.run
    data = {
        "journeyId": run.journey_id,
        "versionId": run.version_id,
        "runId": run.pk,
        "node": ctx.node["key"],
        "step": ctx.step,
        "userId": ctx.user().user_id,
        "body": body,
    }

    return Outcome("next", effects=[Publish(ctx.project, data, f"run-{run.pk}")])


# --- the send node ------------------------------------------------------------------------


def node_outbox(project: Project, run: Run, node: dict, settings: dict) -> Outbox:
    """The send node's outbox (one per version and node), made on first use
    in its own transaction, so a step never waits on another's creation."""
    link = (
        SendNodeOutbox.objects.select_related("outbox")
        .filter(version_id=run.version_id, node=node["key"])
        .first()
    )
    if link is None:
        config = node.get("config") or {}
        try:
            with transaction.atomic():
                outbox = do_create_outbox(
                    project,
                    producer_kind="journey",
                    producer_id=f"{run.journey_id}:{run.version_id}:{node['key']}"[:64],
                    sender_number_id=config.get("sender_number_id"),
                    is_promotional=bool(config.get("is_promotional")),
                    frequency_cap=settings.get("frequency_cap"),
                    status=Outbox.Status.OPEN,
                )
                link = SendNodeOutbox.objects.create(
                    version_id=run.version_id, node=node["key"], outbox=outbox
                )
        except IntegrityError:
            link = SendNodeOutbox.objects.select_related("outbox").get(
                version_id=run.version_id, node=node["key"]
            )
    return link.outbox


def _renderer(ctx: Context) -> Renderer:
    """The node's body compiled for sending, with the run's tracked links
    (journeys.sending)."""
    return sending.renderer(
        ctx.project,
        ctx.config,
        lambda: (
            ctx.cached(
                ("outbox", ctx.run.version_id, ctx.node["key"]),
                lambda: node_outbox(ctx.project, ctx.run, ctx.node, ctx.settings),
            ).pk
        ),
        ctx.cached,
    )


def _policy(project: Project) -> tuple[int, int]:
    policy = SendingPolicy.objects.filter(project_id=project.pk).first()
    return (policy.frequency_cap, policy.frequency_window_hours) if policy else (0, 24)


def _over_cap(ctx: Context, phone: str) -> bool:
    override = ctx.settings.get("frequency_cap")
    project_cap, window = ctx.cached(("policy", ctx.project.pk), lambda: _policy(ctx.project))
    cap = override if override is not None else project_cap
    if not cap:
        return False
    sent = Message.objects.filter(
        project_id=ctx.project.pk,
        phone_number=phone,
        sent_at__gte=ctx.now - timedelta(hours=window),
        outbox__counts_towards_cap=True,
    ).aggregate(n=Count("id"))["n"]
    return sent >= cap


def _sender_problem(project: Project, sender_id: Any) -> str:
    try:
        sendable_sender(project, sender_id)
    except SenderNotAllowed as exc:
        return str(exc)
    return ""


def _not_sent(reason: str, **detail: Any) -> Outcome:
    return Outcome("not_sent", {"reason": reason, **detail}, bumps=[(metrics.skipped(reason), 1)])


def _send(ctx: Context) -> Outcome:
    run, config = ctx.run, ctx.config
    tolerance = int(ctx.settings.get("late_tolerance_seconds", DEFAULT_LATE_TOLERANCE) or 0)
    if run.due_at is not None and tolerance and (ctx.now - run.due_at).total_seconds() > tolerance:
        return _not_sent(LATE, due_at=run.due_at.isoformat())
    quiet = ctx.settings.get("quiet_hours")
    if quiet:
        ends = quiet_hours_end(ctx.now, quiet, ctx.zone_name())
        if ends is not None:
            if quiet.get("mode", "hold") == "hold":
                return Outcome("", {"held_until": ends.isoformat()}, hold_until=ends)
            return _not_sent(QUIET_HOURS)
    customer = ctx.user()
    promotional = bool(config.get("is_promotional"))
    reason, error = "", ""
    rendered = None
    if check_e164(customer.phone_number) is not None:
        reason = Reason.INVALID_NUMBER
    elif promotional and not customer.promotional_consent:
        reason = Reason.NO_CONSENT
    elif ctx.cached(
        ("optout applies", ctx.project.pk, promotional),
        lambda: applies_to(ctx.project, promotional),
    ) and is_opted_out(ctx.project, customer.phone_number):
        reason = Reason.OPTED_OUT
    else:
        error = ctx.cached(
            ("sender", ctx.project.pk, config.get("sender_number_id")),
            lambda: _sender_problem(ctx.project, config.get("sender_number_id")),
        )
        if error:
            reason = Reason.UNAPPROVED_SENDER
    if not reason and _over_cap(ctx, customer.phone_number):
        reason = Reason.FREQUENCY_CAP
    if not reason:
        try:
            renderer = _renderer(ctx)
        except liquid.TemplateProblem as exc:
            reason, error = Reason.RENDER_ERROR, str(exc)
        else:
            context = liquid_context(ctx, tags=renderer.uses_tags)
            rendered = renderer.render(context, run.pk)  # a link's key: the run
            if rendered.skip_reason:
                reason, error = rendered.skip_reason, rendered.error
            else:
                # The one check of an outgoing text (EUC-KR, size): a user's
                # data may bring characters no carrier takes.
                title = (config.get("title") or "") if rendered.kind == "LMS" else ""
                problems = check_outgoing_message(rendered.body, title)
                if problems:
                    reason, error = Reason.RENDER_ERROR, "; ".join(problems.values())
    outbox = ctx.cached(
        ("outbox", run.version_id, ctx.node["key"]),
        lambda: node_outbox(ctx.project, run, ctx.node, ctx.settings),
    )
    dedupe_key = sending.dedupe_key(run.pk, ctx.step)
    if reason:
        message = NewMessage(
            dedupe_key,
            customer.phone_number,
            "",
            customer_id=customer.pk,
            time_zone=customer.time_zone,
            skip_reason=reason,
            error_message=error[:255],
        )
        outcome = _not_sent(reason, outbox=outbox.pk, dedupe_key=dedupe_key)
    else:
        message = NewMessage(
            dedupe_key,
            customer.phone_number,
            rendered.body,
            (config.get("title") or "") if rendered.kind == "LMS" else "",
            rendered.kind,
            rendered.bytes,
            customer.pk,
            customer.time_zone,
        )
        outcome = Outcome("sent", {"outbox": outbox.pk, "dedupe_key": dedupe_key})

    outcome.effects.append(Enqueue(outbox, message))
    return outcome


EXECUTORS: dict[str, Callable[[Context], Outcome]] = {
    "trigger": _pass,
    "delay": _pass,
    "wait_until": _pass,
    "wait_event": _wait_event_timeout,
    "split": _split,
    "ab": _ab,
    "webhook": _webhook,
    "send": _send,
    "exit": _exit,
}
