"""A journey version's graph and settings (docs/journeys.md): the node kinds
and their ports, and `validate()`, which lists every problem with the node
and the field it is in, so the builder can highlight the node and the API
can point at the field. Read-only: nothing here writes.

A problem's `node` is the node's key ("" for the graph as a whole and for
the settings); its `field` is a path inside the node (`config.body`,
`next.sent`, `config.branches[0].segment.conditions[1].op`) or inside the
settings (`settings.reentry.mode`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _

from audiences.models import Segment
from audiences.segments import validate_definition
from campaigns.actions import CampaignProblem, check_promotable
from channels.queries import SenderNotAllowed, sendable_sender
from console.lib import liquid
from dispatch.checks import characters_problem, title_problem
from projects.models import Project

KEY = re.compile(r"^[a-z0-9_-]{1,64}$")
VARIANT_KEY = re.compile(r"^[a-z0-9_]{1,20}$")
DATA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

MIN_DELAY_SECONDS = 60
MAX_DELAY_SECONDS = 365 * 86400
MAX_BRANCHES = 20
MAX_VARIANTS = 10
MAX_NODES = 200
MAX_CATCH_UP_MINUTES = 7 * 24 * 60

TRIGGER_TYPES = ("event", "segment", "schedule")
REENTRY_MODES = ("once", "after_end", "cooldown", "max", "keyed")
QUIET_HOURS_MODES = ("hold", "skip")
NODE_FIELDS = {"key", "kind", "config", "next", "label"}

DEFAULT_SETTINGS: dict[str, Any] = {
    "exit_events": [],
    "reentry": {"mode": "after_end"},
    "frequency_cap": None,
    "quiet_hours": None,
    "conversion_goal": None,
    "late_tolerance_seconds": 3600,
}
# A conversion goal's window, as campaigns' (conversions.models).
MIN_GOAL_WINDOW_SECONDS = 3600
MAX_GOAL_WINDOW_SECONDS = 30 * 86400
GOAL_FIELDS = {"event", "window_seconds", "revenue_field", "quantity_field"}


def _split_ports(config: dict) -> list[str]:
    branches = config.get("branches") if isinstance(config, dict) else None
    count = len(branches) if isinstance(branches, list) else 0
    return [f"b{index}" for index in range(count)] + ["else"]


def _ab_ports(config: dict) -> list[str]:
    variants = config.get("variants") if isinstance(config, dict) else None
    if not isinstance(variants, list):
        return []
    return [v["key"] for v in variants if isinstance(v, dict) and isinstance(v.get("key"), str)]


# Kind → its ports: a list, or a function of the node's config.
PORTS: dict[str, list[str] | Callable[[dict], list[str]]] = {
    "trigger": ["next"],
    "send": ["sent", "not_sent"],
    "delay": ["next"],
    "wait_until": ["next"],
    "wait_event": ["event", "timeout"],
    "split": _split_ports,
    "ab": _ab_ports,
    "webhook": ["next"],
    "exit": [],
}
KINDS = tuple(PORTS)


def kind_labels() -> dict[str, str]:
    """The kinds as the builder names them."""
    return {
        "trigger": _("Trigger"),
        "send": _("Send SMS"),
        "delay": _("Delay"),
        "wait_until": _("Wait until a time"),
        "wait_event": _("Wait for an event"),
        "split": _("Condition split"),
        "ab": _("A/B split"),
        "webhook": _("Webhook"),
        "exit": _("Exit"),
    }


def ports_of(node: dict) -> list[str]:
    """The ports of a node (its kind's, worked out from its config)."""
    ports = PORTS.get(node.get("kind"), [])
    if callable(ports):
        return ports(node.get("config") or {})
    return list(ports)


def nodes_of(graph: Any) -> list[dict]:
    """The graph's nodes that are objects (the rest are reported by validate)."""
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list):
        return []
    return [node for node in graph["nodes"] if isinstance(node, dict)]


def node_map(graph: Any) -> dict[str, dict]:
    """Key → node (the first node of a key; duplicates are reported by validate)."""
    nodes: dict[str, dict] = {}
    for node in nodes_of(graph):
        key = node.get("key")
        if isinstance(key, str) and key not in nodes:
            nodes[key] = node
    return nodes


def edges(node: dict) -> list[tuple[str, str]]:
    """(port, target key) of the node's connected ports, in port order."""
    nexts = node.get("next") if isinstance(node.get("next"), dict) else {}
    order = ports_of(node)
    found = [(p, t) for p, t in nexts.items() if isinstance(t, str) and t]
    return sorted(found, key=lambda pt: order.index(pt[0]) if pt[0] in order else len(order))


def trigger_of(graph: Any) -> dict | None:
    return next((n for n in nodes_of(graph) if n.get("kind") == "trigger"), None)


def reachable(graph: Any) -> list[str]:
    """Keys reachable from the trigger, breadth first (the trigger first)."""
    nodes = node_map(graph)
    trigger = trigger_of(graph)
    if trigger is None or not isinstance(trigger.get("key"), str):
        return []
    order, seen = [trigger["key"]], {trigger["key"]}
    index = 0
    while index < len(order):
        for _port, target in edges(nodes[order[index]]):
            if target in nodes and target not in seen:
                seen.add(target)
                order.append(target)
        index += 1
    return order


def settings_with_defaults(settings: Any) -> dict[str, Any]:
    merged = dict(DEFAULT_SETTINGS)
    if isinstance(settings, dict):
        merged.update(settings)
    return merged


@dataclass(frozen=True)
class Problem:
    """One problem: the node's key ("" for the graph or the settings), the
    field path inside it, and a sentence for people."""

    node: str
    field: str
    message: str

    def __str__(self) -> str:
        where = " ".join(part for part in (self.node, self.field) if part)
        return f"{where}: {self.message}" if where else self.message


def _join(path: str, part: str) -> str:
    if not path:
        return part
    return f"{path}{part}" if part.startswith("[") else f"{path}.{part}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Validator:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.problems: list[Problem] = []

    def add(self, node: str, field: str, message: str) -> None:
        self.problems.append(Problem(node, field, message))

    # --- the graph's shape ---------------------------------------------------------

    def graph(self, graph: Any) -> None:
        if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list):
            self.add("", "nodes", _("The graph must be an object with a list of nodes."))
            return
        if len(graph["nodes"]) > MAX_NODES:
            self.add(
                "", "nodes", _("A journey has at most %(count)d nodes.") % {"count": MAX_NODES}
            )
        seen: set[str] = set()
        for index, node in enumerate(graph["nodes"]):
            if not isinstance(node, dict):
                self.add("", f"nodes[{index}]", _("A node must be an object."))
                continue
            key = node.get("key")
            if not isinstance(key, str) or not KEY.match(key):
                self.add(
                    "",
                    f"nodes[{index}].key",
                    _(
                        "A node's key must be 1 to 64 lowercase letters, digits, "
                        "hyphens or underscores."
                    ),
                )
                continue
            if key in seen:
                self.add(key, "key", _("Another node has the key %(key)s.") % {"key": key})
                continue
            seen.add(key)
            self.node(node)
        self.shape(graph)

    def node(self, node: dict) -> None:
        key, kind = node["key"], node.get("kind")
        for extra in sorted(set(node) - NODE_FIELDS, key=str):
            self.add(key, str(extra), _("is not a known field of a node."))
        if kind not in PORTS:
            self.add(
                key,
                "kind",
                _("Unknown node kind %(kind)s; use one of %(kinds)s.")
                % {"kind": kind, "kinds": ", ".join(KINDS)},
            )
            return
        if "label" in node and not isinstance(node["label"], str):
            self.add(key, "label", _("The label must be a text."))
        config = node.get("config", {})
        if not isinstance(config, dict):
            self.add(key, "config", _("The configuration must be an object."))
            config = {}
        nexts = node.get("next", {})
        if nexts is None:
            nexts = {}
        if not isinstance(nexts, dict):
            self.add(key, "next", _("The next nodes must be an object of port to node key."))
        else:
            ports = ports_of(node)
            for port, target in nexts.items():
                if port not in ports:
                    self.add(
                        key,
                        f"next.{port}",
                        _("%(kind)s has no port %(port)s.")
                        % {"kind": kind_labels()[kind], "port": port},
                    )
                elif target is not None and not isinstance(target, str):
                    self.add(key, f"next.{port}", _("Must be a node's key or empty."))
        getattr(self, f"check_{kind}")(key, config)

    def shape(self, graph: dict) -> None:
        nodes = node_map(graph)
        triggers = [k for k, n in nodes.items() if n.get("kind") == "trigger"]
        if len(triggers) != 1:
            self.add(
                "",
                "nodes",
                _("A journey needs exactly one trigger node; this one has %(count)d.")
                % {"count": len(triggers)},
            )
        incoming: dict[str, list[str]] = {key: [] for key in nodes}
        for key, node in nodes.items():
            nexts = node.get("next") if isinstance(node.get("next"), dict) else {}
            for port, target in nexts.items():
                if not isinstance(target, str) or not target:
                    continue
                if target not in nodes:
                    self.add(
                        key,
                        f"next.{port}",
                        _("The port %(port)s points to %(target)s, which is not a node.")
                        % {"port": port, "target": target},
                    )
                elif target == key:
                    self.add(key, f"next.{port}", _("A node cannot lead to itself."))
                else:
                    incoming[target].append(key)
        for key in triggers:
            if incoming[key]:
                self.add(key, "", _("Nothing may lead into the trigger."))
        for key in self.cycle(nodes):
            self.add(key, "next", _("This node is on a cycle; a journey's graph must be acyclic."))
        if len(triggers) == 1:
            reached = set(reachable(graph))
            for key in nodes:
                if key not in reached:
                    self.add(key, "", _("No path from the trigger reaches this node."))

    @staticmethod
    def cycle(nodes: dict[str, dict]) -> list[str]:
        """The keys of the nodes on some cycle (each cycle's nodes once)."""
        WHITE, GREY, BLACK = 0, 1, 2
        colour = dict.fromkeys(nodes, WHITE)
        on_cycle: list[str] = []
        for start in nodes:
            if colour[start] != WHITE:
                continue
            stack: list[tuple[str, Iterable[str]]] = []
            path: list[str] = []
            colour[start] = GREY
            path.append(start)
            stack.append((start, iter([t for _p, t in edges(nodes[start]) if t in nodes])))
            while stack:
                key, children = stack[-1]
                child = next(iter(children), None)
                if child is None:
                    colour[key] = BLACK
                    stack.pop()
                    path.pop()
                    continue
                if colour[child] == GREY and child != key:
                    for member in path[path.index(child) :]:
                        if member not in on_cycle:
                            on_cycle.append(member)
                elif colour[child] == WHITE:
                    colour[child] = GREY
                    path.append(child)
                    stack.append((child, iter([t for _p, t in edges(nodes[child]) if t in nodes])))
        return on_cycle

    # --- each kind's config --------------------------------------------------------

    def check_trigger(self, key: str, config: dict) -> None:
        kind = config.get("type")
        if kind not in TRIGGER_TYPES:
            self.add(
                key,
                "config.type",
                _("The trigger must be one of %(types)s.") % {"types": ", ".join(TRIGGER_TYPES)},
            )
            return
        if kind == "event":
            self.event_name(key, "config.event", config.get("event"))
            self.where(key, "config.where", config.get("where"))
            self.segment(key, "config.segment_id", config.get("segment_id"), required=False)
        elif kind == "segment":
            self.segment(key, "config.segment_id", config.get("segment_id"), required=True)
            if not isinstance(config.get("enter_current_members", False), bool):
                self.add(key, "config.enter_current_members", _("Must be true or false."))
        else:
            self.cron(key, config)
            self.segment(key, "config.segment_id", config.get("segment_id"), required=False)

    def cron(self, key: str, config: dict) -> None:
        cron = config.get("cron")
        try:
            from croniter import croniter

            valid = isinstance(cron, str) and croniter.is_valid(cron)
        except ImportError:  # pragma: no cover - croniter comes with django-q2
            valid = isinstance(cron, str) and len(cron.split()) == 5
        if not valid:
            self.add(
                key,
                "config.cron",
                _("Write a cron expression of five fields, such as 0 10 * * 1."),
            )
        zone = config.get("time_zone", "Asia/Seoul")
        if not isinstance(zone, str) or not self.zone_exists(zone):
            self.add(key, "config.time_zone", _("Unknown time zone %(zone)s.") % {"zone": zone})
        catch_up = config.get("catch_up_minutes", 60)
        if not _is_int(catch_up) or not 0 <= catch_up <= MAX_CATCH_UP_MINUTES:
            self.add(
                key,
                "config.catch_up_minutes",
                _("Must be a whole number of minutes from 0 to %(max)d.")
                % {"max": MAX_CATCH_UP_MINUTES},
            )

    @staticmethod
    def zone_exists(zone: str) -> bool:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            return False
        return True

    def check_send(self, key: str, config: dict) -> None:
        sender = config.get("sender_number_id")
        if sender in (None, ""):
            self.add(key, "config.sender_number_id", _("Choose an approved sender number."))
        else:
            try:
                sendable_sender(self.project, sender)
            except SenderNotAllowed as exc:
                self.add(key, "config.sender_number_id", str(exc))
        body = config.get("body")
        if not isinstance(body, str) or not body.strip():
            self.add(key, "config.body", _("Write the message."))
        else:
            self.liquid(key, "config.body", body)
            chars = characters_problem(body)
            if chars:
                self.add(key, "config.body", chars)
        title = config.get("title", "")
        if not isinstance(title, str):
            self.add(key, "config.title", _("The title must be a text."))
        else:
            problem = title_problem(title)
            if problem:
                self.add(key, "config.title", problem)
        for flag in ("is_promotional", "track_links"):
            if flag in config and not isinstance(config[flag], bool):
                self.add(key, f"config.{flag}", _("Must be true or false."))
        if config.get("is_promotional") is True:
            try:
                check_promotable(self.project)
            except CampaignProblem as exc:
                self.add(key, "config.is_promotional", str(exc))

    def liquid(self, key: str, field: str, body: str) -> None:
        try:
            liquid.compile_template(body)
        except liquid.TemplateProblem as problem:
            self.add(
                key,
                field,
                _("The message has a Liquid error at line %(line)d, column %(column)d: %(error)s")
                % {"line": problem.line, "column": problem.column, "error": problem.message},
            )

    def check_delay(self, key: str, config: dict) -> None:
        self.seconds(key, "config.seconds", config.get("seconds"))

    def seconds(self, key: str, field: str, value: Any) -> None:
        if not _is_int(value) or not MIN_DELAY_SECONDS <= value <= MAX_DELAY_SECONDS:
            self.add(
                key,
                field,
                _("Must be a whole number of seconds from %(min)d (a minute) to %(max)d (a year).")
                % {"min": MIN_DELAY_SECONDS, "max": MAX_DELAY_SECONDS},
            )

    def check_wait_until(self, key: str, config: dict) -> None:
        self.time(key, "config.time", config.get("time"))
        weekdays = config.get("weekdays", [])
        if (
            not isinstance(weekdays, list)
            or not all(_is_int(day) and 0 <= day <= 6 for day in weekdays)
            or len(set(weekdays)) != len(weekdays)
        ):
            self.add(
                key,
                "config.weekdays",
                _("Must be a list of different weekdays, 0 (Monday) to 6 (Sunday)."),
            )

    def time(self, key: str, field: str, value: Any) -> None:
        if not isinstance(value, str) or not TIME.match(value):
            self.add(key, field, _("Must be a time of day such as 09:30."))

    def check_wait_event(self, key: str, config: dict) -> None:
        self.event_name(key, "config.event", config.get("event"))
        self.where(key, "config.where", config.get("where"))
        if config.get("match_field") not in (None, ""):
            self.data_key(key, "config.match_field", config["match_field"])
        self.seconds(key, "config.timeout_seconds", config.get("timeout_seconds"))

    def check_split(self, key: str, config: dict) -> None:
        branches = config.get("branches")
        if not isinstance(branches, list) or not branches:
            self.add(key, "config.branches", _("A split needs at least one branch."))
            return
        if len(branches) > MAX_BRANCHES:
            self.add(
                key,
                "config.branches",
                _("A split has at most %(count)d branches.") % {"count": MAX_BRANCHES},
            )
        for index, branch in enumerate(branches):
            path = f"config.branches[{index}]"
            if not isinstance(branch, dict):
                self.add(key, path, _("A branch must be an object."))
                continue
            for extra in sorted(set(branch) - {"label", "segment", "entry_data"}, key=str):
                self.add(key, f"{path}.{extra}", _("is not a known field of a branch."))
            if not isinstance(branch.get("label", ""), str):
                self.add(key, f"{path}.label", _("The label must be a text."))
            segment, entry_data = branch.get("segment"), branch.get("entry_data")
            if not segment and not entry_data:
                self.add(
                    key,
                    path,
                    _(
                        "A branch needs a segment definition, conditions on the entry event, "
                        "or both."
                    ),
                )
            if _is_int(segment) or (
                isinstance(segment, dict)
                and "segment_id" in segment
                and "conditions" not in segment
            ):
                # A saved segment, by id (conditions.segment_definition reads both).
                saved = segment if _is_int(segment) else segment["segment_id"]
                self.segment(key, f"{path}.segment", saved, required=True)
            elif segment:
                for error in validate_definition(segment):
                    self.add(key, _join(f"{path}.segment", error.path), error.message)
            if entry_data:
                self.where(key, f"{path}.entry_data", entry_data)

    def check_ab(self, key: str, config: dict) -> None:
        variants = config.get("variants")
        if not isinstance(variants, list) or not 2 <= len(variants) <= MAX_VARIANTS:
            self.add(
                key,
                "config.variants",
                _("An A/B split needs from 2 to %(count)d variants.") % {"count": MAX_VARIANTS},
            )
            return
        total, keys = 0.0, set()
        for index, variant in enumerate(variants):
            path = f"config.variants[{index}]"
            if not isinstance(variant, dict):
                self.add(key, path, _("A variant must be an object with key and percent."))
                continue
            name = variant.get("key")
            if not isinstance(name, str) or not VARIANT_KEY.match(name) or name == "else":
                self.add(
                    key,
                    f"{path}.key",
                    _("A variant's key is 1 to 20 lowercase letters, digits or underscores."),
                )
            elif name in keys:
                self.add(
                    key, f"{path}.key", _("Another variant has the key %(key)s.") % {"key": name}
                )
            keys.add(name)
            percent = variant.get("percent")
            if not _is_number(percent) or not 0 <= percent <= 100:
                self.add(key, f"{path}.percent", _("Must be a percentage from 0 to 100."))
            else:
                total += percent
        if abs(total - 100) > 1e-9:
            self.add(
                key,
                "config.variants",
                _("The variants' percentages add up to %(total)s; they must add up to 100.")
                % {"total": f"{total:g}"},
            )

    def check_webhook(self, key: str, config: dict) -> None:
        body = config.get("body")
        if not isinstance(body, str) or not body.strip():
            self.add(key, "config.body", _("Write the JSON body the webhook sends."))
            return
        self.liquid(key, "config.body", body)
        stripped = body.strip()
        if not (stripped.startswith("{") and stripped.endswith("}")):
            self.add(key, "config.body", _("The body must render to a JSON object: {…}."))
        from webhooks.models import WebhookEndpoint

        if not WebhookEndpoint.objects.filter(project=self.project).exists():
            self.add(
                key,
                "",
                _("The project has no webhook endpoint; an admin registers one in the settings."),
            )

    def check_exit(self, key: str, config: dict) -> None:
        return

    # --- shared pieces -------------------------------------------------------------

    def event_name(self, key: str, field: str, value: Any) -> None:
        if not isinstance(value, str) or not value.strip() or len(value) > 255:
            self.add(key, field, _("Must be the event's name, e.g. purchase."))

    def data_key(self, key: str, field: str, value: Any) -> None:
        if not isinstance(value, str) or not DATA_KEY.match(value) or "__" in value:
            self.add(key, field, _("Must be a key of the event's data, e.g. cartId or item.sku."))

    def where(self, key: str, field: str, where: Any) -> None:
        """A list of {field, op, value}: each is checked as the segments check
        an event condition's `where`, with the path made this list's."""
        if where in (None, []):
            return
        if not isinstance(where, list):
            self.add(key, field, _("Must be a list of conditions with field, op and value."))
            return
        for index, condition in enumerate(where):
            definition = {
                "match": "all",
                "conditions": [{"kind": "event", "type": "x", "where": condition}],
            }
            prefix = "conditions[0].where"
            for error in validate_definition(definition):
                rest = error.path[len(prefix) :] if error.path.startswith(prefix) else ""
                self.add(key, f"{field}[{index}]{rest}", error.message)

    def segment(self, key: str, field: str, value: Any, *, required: bool) -> None:
        if value in (None, ""):
            if required:
                self.add(key, field, _("Choose a segment."))
            return
        if (
            not _is_int(value)
            or not Segment.objects.filter(pk=value, project=self.project).exists()
        ):
            self.add(key, field, _("This segment does not exist in the project."))

    # --- the settings --------------------------------------------------------------

    def settings(self, settings: Any) -> None:
        if settings in (None, {}):
            return
        if not isinstance(settings, dict):
            self.add("", "settings", _("The settings must be an object."))
            return
        # `conversion_goal_id` was a placeholder before goals; null is harmless.
        legacy = {"conversion_goal_id"} if settings.get("conversion_goal_id") is None else set()
        for extra in sorted(set(settings) - set(DEFAULT_SETTINGS) - legacy, key=str):
            self.add("", f"settings.{extra}", _("is not a known setting."))
        self.exit_events(settings.get("exit_events", []))
        self.reentry(settings.get("reentry", DEFAULT_SETTINGS["reentry"]))
        cap = settings.get("frequency_cap")
        if cap is not None and (not _is_int(cap) or cap < 0):
            self.add(
                "",
                "settings.frequency_cap",
                _("Must be empty (the project's cap) or a whole number of messages."),
            )
        self.quiet_hours(settings.get("quiet_hours"))
        self.conversion_goal(settings.get("conversion_goal"))
        late = settings.get("late_tolerance_seconds", 3600)
        if not _is_int(late) or not 0 <= late <= MAX_DELAY_SECONDS:
            self.add(
                "",
                "settings.late_tolerance_seconds",
                _("Must be a whole number of seconds from 0."),
            )

    def conversion_goal(self, goal: Any) -> None:
        """As a campaign's goal: an event, a window of 1 hour to 30 days,
        optional amount and quantity fields of the event's data."""
        path = "settings.conversion_goal"
        if goal is None:
            return
        if not isinstance(goal, dict):
            self.add("", path, _("Must be empty or an object with event and window_seconds."))
            return
        for extra in sorted(set(goal) - GOAL_FIELDS, key=str):
            self.add("", f"{path}.{extra}", _("is not a known field of a conversion goal."))
        self.event_name("", f"{path}.event", goal.get("event"))
        window = goal.get("window_seconds")
        if not _is_int(window) or not MIN_GOAL_WINDOW_SECONDS <= window <= MAX_GOAL_WINDOW_SECONDS:
            self.add(
                "",
                f"{path}.window_seconds",
                _("The window must be between 1 hour and 30 days (3600 to 2592000 seconds)."),
            )
        for name in ("revenue_field", "quantity_field"):
            if goal.get(name) not in (None, ""):
                self.data_key("", f"{path}.{name}", goal[name])
        if goal.get("quantity_field") and not goal.get("revenue_field"):
            self.add(
                "",
                f"{path}.quantity_field",
                _("A quantity field multiplies an amount field; name one."),
            )

    def exit_events(self, exits: Any) -> None:
        if not isinstance(exits, list):
            self.add("", "settings.exit_events", _("Must be a list of exit events."))
            return
        for index, exit_event in enumerate(exits):
            path = f"settings.exit_events[{index}]"
            if not isinstance(exit_event, dict):
                self.add("", path, _("An exit event must be an object with event."))
                continue
            for extra in sorted(set(exit_event) - {"event", "match_field"}, key=str):
                self.add("", f"{path}.{extra}", _("is not a known field of an exit event."))
            self.event_name("", f"{path}.event", exit_event.get("event"))
            if exit_event.get("match_field") not in (None, ""):
                self.data_key("", f"{path}.match_field", exit_event["match_field"])

    def reentry(self, reentry: Any) -> None:
        path = "settings.reentry"
        if not isinstance(reentry, dict):
            self.add("", path, _("Must be an object with a mode."))
            return
        mode = reentry.get("mode")
        if mode not in REENTRY_MODES:
            self.add(
                "",
                f"{path}.mode",
                _("The re-entry mode must be one of %(modes)s.")
                % {"modes": ", ".join(REENTRY_MODES)},
            )
        elif mode == "cooldown":
            self.seconds("", f"{path}.cooldown_seconds", reentry.get("cooldown_seconds"))
        elif mode == "max":
            if not _is_int(reentry.get("max")) or not 1 <= reentry["max"] <= 1000:
                self.add("", f"{path}.max", _("Must be a whole number from 1 to 1000."))
        elif mode == "keyed":
            self.data_key("", f"{path}.key_field", reentry.get("key_field"))

    def quiet_hours(self, quiet: Any) -> None:
        path = "settings.quiet_hours"
        if quiet is None:
            return
        if not isinstance(quiet, dict):
            self.add("", path, _("Must be empty or an object with start, end and mode."))
            return
        self.time("", f"{path}.start", quiet.get("start"))
        self.time("", f"{path}.end", quiet.get("end"))
        if quiet.get("start") == quiet.get("end") and isinstance(quiet.get("start"), str):
            self.add("", f"{path}.end", _("Quiet hours must end at another time than they start."))
        if quiet.get("mode") not in QUIET_HOURS_MODES:
            self.add("", f"{path}.mode", _("Must be hold or skip."))


def validate(graph: Any, settings: Any, *, project: Project) -> list[Problem]:
    """Every problem of a version's graph and settings; [] when it can be published."""
    validator = _Validator(project)
    validator.graph(graph)
    validator.settings(settings)
    return validator.problems


def problems_by_node(problems: Iterable[Problem]) -> dict[str, list[Problem]]:
    grouped: dict[str, list[Problem]] = {}
    for problem in problems:
        grouped.setdefault(problem.node, []).append(problem)
    return grouped
