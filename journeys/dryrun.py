"""A dry run: one user and an entry event walked through a version's graph
without writing anything. It shows the path (split and A/B decisions, waits
as "waits N", a wait for an event taking both branches), each message
rendered as it would be sent, and what the compliance rules would do with
it (held until 08:00 at night, skipped: opted out, cap, no consent, quiet
hours), checked the way dispatch checks them, read-only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from audiences.models import Customer
from campaigns.rendering import Renderer, contexts_of_customers
from console.lib import liquid
from console.lib.compliance import DEFAULT_TIME_ZONE, night_release_at, resolve_time_zone
from dispatch.models import Message, SendingPolicy
from journeys.conditions import ab_variant, branch_matches, data_matches
from journeys.graph import kind_labels, node_map, settings_with_defaults, trigger_of
from journeys.models import JourneyVersion
from optout.queries import applies_to, is_opted_out

MAX_STEPS = 100


@dataclass
class DryStep:
    node: str
    kind: str
    label: str
    kind_label: str = ""
    port: str = ""
    note: str = ""
    waits: str = ""
    message: str = ""
    message_bytes: int = 0
    message_kind: str = ""
    compliance: str = ""
    outcome: str = ""  # "sent", "held", "skipped", ""
    at: datetime | None = None


@dataclass
class DryPath:
    """One way through the graph; a wait for an event forks two."""

    title: str
    steps: list[DryStep] = field(default_factory=list)
    end: str = ""


@dataclass
class DryRun:
    customer: Customer
    event: str
    data: dict[str, Any]
    enters: bool
    entry_note: str
    paths: list[DryPath] = field(default_factory=list)


def _duration(seconds: int) -> str:
    if seconds % 86400 == 0:
        return _("%(n)d days") % {"n": seconds // 86400}
    if seconds % 3600 == 0:
        return _("%(n)d hours") % {"n": seconds // 3600}
    return _("%(n)d minutes") % {"n": max(seconds // 60, 1)}


def _zone_of(customer: Customer, project: Any) -> str:
    return customer.time_zone or project.time_zone or DEFAULT_TIME_ZONE


def _in_quiet_hours(local: time, start: str, end: str) -> bool:
    begin = time.fromisoformat(start)
    finish = time.fromisoformat(end)
    if begin < finish:
        return begin <= local < finish
    return local >= begin or local < finish


def _quiet_end(at: datetime, zone: str, end: str) -> datetime:
    tz = resolve_time_zone(zone)
    local = at.astimezone(tz)
    finish = time.fromisoformat(end)
    candidate = local.replace(hour=finish.hour, minute=finish.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate


class _Walker:
    def __init__(
        self,
        version: JourneyVersion,
        customer: Customer,
        data: dict[str, Any],
        now: datetime,
    ) -> None:
        self.version = version
        self.project = version.journey.project
        self.customer = customer
        self.data = data
        self.now = now
        self.nodes = node_map(version.graph)
        self.labels = kind_labels()
        self.settings = settings_with_defaults(version.settings)
        self.context = {
            **contexts_of_customers([customer])[customer.pk],
            "entry_event": {"data": data},
        }

    def walk(self, key: str | None, path: DryPath, at: datetime, paths: list[DryPath]) -> None:
        steps = 0
        while key and steps < MAX_STEPS:
            steps += 1
            node = self.nodes.get(key)
            if node is None:
                path.end = _("The port leads to %(key)s, which is not a node.") % {"key": key}
                return
            kind = node.get("kind", "")
            config = node.get("config") or {}
            nexts = node.get("next") or {}
            step = DryStep(key, kind, node.get("label") or key, self.labels.get(kind, kind), at=at)
            path.steps.append(step)
            port = ""
            if kind == "trigger":
                port = "next"
            elif kind == "send":
                port = self.send(step, config, at)
            elif kind == "delay":
                seconds = int(config.get("seconds") or 0)
                step.waits = _("waits %(d)s") % {"d": _duration(seconds)}
                at += timedelta(seconds=seconds)
                port = "next"
            elif kind == "wait_until":
                release = self.wait_until(config, at)
                step.waits = _("waits until %(at)s") % {
                    "at": timezone.localtime(release).strftime("%Y-%m-%d %H:%M")
                }
                at = release
                port = "next"
            elif kind == "wait_event":
                timeout = int(config.get("timeout_seconds") or 0)
                step.waits = _("waits up to %(d)s for %(event)s") % {
                    "d": _duration(timeout),
                    "event": config.get("event", ""),
                }
                step.port = "event"
                # Both ways: the event arrives, or the timeout.
                fork = DryPath(
                    _("If %(event)s does not come in time") % {"event": config.get("event", "")},
                    steps=[*path.steps[:-1], DryStep(**{**step.__dict__, "port": "timeout"})],
                )
                path.title = path.title or _("If %(event)s comes") % {
                    "event": config.get("event", "")
                }
                paths.append(fork)
                self.walk(nexts.get("timeout"), fork, at + timedelta(seconds=timeout), paths)
                if not nexts.get("timeout"):
                    fork.end = fork.end or _("Reached the end.")
                port = "event"
            elif kind == "split":
                port = self.split(step, config)
            elif kind == "ab":
                variants = config.get("variants") or []
                port = ab_variant(variants, self.customer.pk)
                step.note = _("A/B: variant %(v)s (drawn once per run)") % {"v": port}
            elif kind == "webhook":
                step.message = self.render_webhook(config)
                port = "next"
            elif kind == "exit":
                path.end = _("Exits the journey.")
                return
            step.port = port
            key = nexts.get(port) if port else None
        if steps >= MAX_STEPS:
            path.end = _("Stopped after %(n)d steps.") % {"n": MAX_STEPS}
        elif not path.end:
            path.end = _("Reached the end.")

    def split(self, step: DryStep, config: dict) -> str:
        for index, branch in enumerate(config.get("branches") or []):
            if isinstance(branch, dict) and branch_matches(
                self.project, branch, self.customer, self.data
            ):
                step.note = _("Matches branch %(label)s") % {
                    "label": branch.get("label") or f"b{index}"
                }
                return f"b{index}"
        step.note = _("Matches no branch: else")
        return "else"

    def wait_until(self, config: dict, at: datetime) -> datetime:
        zone = resolve_time_zone(_zone_of(self.customer, self.project))
        try:
            wanted = time.fromisoformat(config.get("time") or "09:00")
        except ValueError:
            wanted = time(9)
        days = set(config.get("weekdays") or [])
        local = at.astimezone(zone)
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            candidate = datetime.combine(day, wanted, tzinfo=zone)
            if candidate > local and (not days or candidate.weekday() in days):
                return candidate
        return at

    def render_webhook(self, config: dict) -> str:
        try:
            text = liquid.render(liquid.compile_template(config.get("body") or ""), self.context)
        except Exception as exc:  # shown, not raised: it is a preview
            return f"{type(exc).__name__}: {exc}"
        try:
            return json.dumps(json.loads(text), ensure_ascii=False)
        except json.JSONDecodeError:
            return text

    def send(self, step: DryStep, config: dict, at: datetime) -> str:
        promotional = bool(config.get("is_promotional"))
        try:
            renderer = Renderer.for_parts(
                self.project, config.get("body") or "", is_promotional=promotional
            )
            rendered = renderer.render(self.context)
        except liquid.TemplateProblem as problem:
            step.compliance = _("skipped: render error (%(e)s)") % {"e": problem}
            step.outcome = "skipped"
            return "not_sent"
        if rendered.status != Message.Status.QUEUED:
            step.compliance = _("skipped: render error (%(e)s)") % {"e": rendered.error}
            step.outcome = "skipped"
            return "not_sent"
        step.message, step.message_bytes = rendered.body, rendered.bytes
        step.message_kind = rendered.kind
        reason = self.skip_reason(promotional, at)
        if reason:
            step.compliance, step.outcome = reason, "skipped"
            return "not_sent"
        held = self.hold(promotional, at)
        if held is not None:
            step.compliance, step.outcome = held, "held"
            return "sent"
        step.compliance, step.outcome = _("would be sent"), "sent"
        return "sent"

    def skip_reason(self, promotional: bool, at: datetime) -> str:
        customer = self.customer
        phone = customer.phone_number
        if not phone:
            return _("skipped: the user has no phone number")
        if applies_to(self.project, promotional) and is_opted_out(self.project, phone):
            return _("skipped: opted out")
        if promotional and not customer.promotional_consent:
            return _("skipped: no promotional consent")
        cap, window = self.cap()
        if cap:
            sent = Message.objects.filter(
                project=self.project,
                phone_number=phone,
                sent_at__gte=self.now - timedelta(hours=window),
                outbox__counts_towards_cap=True,
            ).aggregate(n=Count("id"))["n"]
            if sent >= cap:
                return _("skipped: frequency cap (%(n)d of %(cap)d in %(h)d hours)") % {
                    "n": sent,
                    "cap": cap,
                    "h": window,
                }
        quiet = self.settings.get("quiet_hours")
        if quiet and quiet.get("mode") == "skip" and self.quiet(quiet, at):
            return _("skipped: quiet hours")
        return ""

    def cap(self) -> tuple[int, int]:
        policy = SendingPolicy.objects.filter(project=self.project).first()
        window = policy.frequency_window_hours if policy else 24
        cap = self.settings.get("frequency_cap")
        if cap is None:
            cap = policy.frequency_cap if policy else 0
        return int(cap or 0), window

    def quiet(self, quiet: dict, at: datetime) -> bool:
        zone = resolve_time_zone(_zone_of(self.customer, self.project))
        try:
            return _in_quiet_hours(at.astimezone(zone).time(), quiet["start"], quiet["end"])
        except (KeyError, ValueError, TypeError):
            return False

    def hold(self, promotional: bool, at: datetime) -> str | None:
        zone = _zone_of(self.customer, self.project)
        quiet = self.settings.get("quiet_hours")
        if quiet and quiet.get("mode") == "hold" and self.quiet(quiet, at):
            until = _quiet_end(at, zone, quiet["end"])
            return _("held until %(t)s (quiet hours)") % {"t": until.strftime("%H:%M")}
        if promotional and not self.customer.night_consent:
            release = night_release_at(at, zone)
            if release is not None:
                local = release.astimezone(resolve_time_zone(zone))
                return _("held until %(t)s (night-time rule)") % {
                    "t": local.strftime("%Y-%m-%d %H:%M")
                }
        return None


def dry_run(
    version: JourneyVersion,
    customer: Customer,
    *,
    event: str = "",
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> DryRun:
    """Walk `version` for `customer` entering on `event` with `data`."""
    data = dict(data or {})
    now = now or timezone.now()
    trigger = trigger_of(version.graph)
    enters, note = True, ""
    if trigger is None:
        enters, note = False, _("The journey has no trigger.")
    else:
        config = trigger.get("config") or {}
        if config.get("type") == "event":
            if event and event != config.get("event"):
                enters = False
                note = _("The trigger waits for %(want)s, not %(got)s: this event would not enter.")
                note %= {"want": config.get("event"), "got": event}
            elif not data_matches(config.get("where") or [], data):
                enters = False
                note = _("The entry event's data does not meet the trigger's conditions.")
        elif config.get("type") == "segment":
            note = _("A segment journey: the user enters when they join the segment.")
        else:
            note = _("A schedule journey: the user enters at the next occurrence.")
    result = DryRun(customer, event, data, enters, note)
    if trigger is not None:
        walker = _Walker(version, customer, data, now)
        first = DryPath("")
        result.paths.append(first)
        walker.walk(trigger.get("key"), first, now, result.paths)
    return result
