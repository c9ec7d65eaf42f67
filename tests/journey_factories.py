"""Published, active journeys without the builder: a Journey with one
published JourneyVersion as its live version, from a list of nodes.

    graph = chain(node("send", body="안녕 {{ name }}"), node("exit"))
    journey = live_journey(project, graph, settings={...})

`chain` links each node's main port to the next one and puts a trigger in
front; pass `next=` to a node to wire ports yourself.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from audiences.models import Customer, Event
from journeys.models import Journey, JourneyVersion
from projects.models import Project

MAIN_PORT = {
    "trigger": "next",
    "send": "sent",
    "delay": "next",
    "wait_until": "next",
    "wait_event": "event",
    "webhook": "next",
    "split": "else",
}


def node(kind: str, key: str | None = None, *, next: dict | None = None, **config: Any) -> dict:
    return {"key": key or "", "kind": kind, "config": config, "next": dict(next or {})}


def chain(*nodes: dict, trigger: dict | None = None) -> dict:
    """A trigger, then the nodes in order; a node's main port (and, unless
    wired, its other ports stay open) leads to the next node."""
    start = node("trigger", "start", **(trigger or {"type": "event", "event": "cart_abandoned"}))
    items = [start, *nodes]
    for index, item in enumerate(items):
        if not item["key"]:
            item["key"] = f"n{index}"
    for current, following in pairwise(items):
        port = MAIN_PORT.get(current["kind"])
        if port and port not in current["next"]:
            current["next"][port] = following["key"]
    return {"nodes": items}


def live_journey(
    project: Project,
    graph: dict,
    *,
    settings: dict | None = None,
    name: str = "Cart reminder",
    status: str = Journey.Status.ACTIVE,
) -> Journey:
    journey = Journey.objects.create(project=project, name=name, status=status)
    version = JourneyVersion.objects.create(
        journey=journey,
        number=1,
        state=JourneyVersion.State.PUBLISHED,
        graph=graph,
        settings=settings or {},
    )
    journey.live_version = version
    journey.save(update_fields=["live_version"])
    return journey


def track(customer: Customer, type: str, data: dict | None = None, **fields: Any) -> Event:
    from django.utils import timezone

    fields.setdefault("created_at", timezone.now())
    return Event.objects.create(
        project=customer.project, customer=customer, type=type, data=data or {}, **fields
    )
