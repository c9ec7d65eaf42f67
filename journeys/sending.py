"""A send node's messages as a campaign's are: the body compiled once, each
run's tracked links, and what links, clicks and conversions need to know of
a journey message.

- **Tracked links.** A node's outbox (one per version and node) owns its
  links, as a campaign's outbox does; conversions makes them (registered with
  campaigns.rendering, journeys may not import conversions). A link's
  recipient key is the run id: a user may be in the journey more than once,
  each run has its own message at a node, and a run passes a node of a
  version at most once (the graph is acyclic).
- **The message of a link.** The node's outbox gives the version and node,
  the run's step there gives the dedupe key `r<run>-<step>`, and the
  (outbox, dedupe key) pair is unique in the send core.
- **Figures.** The send core counts each outbox's sent, delivered, failed and
  clicks; conversions counts a node's `conversions` and `revenue_cents` in
  its node counters (journeys.counters), in the transaction of the
  conversion.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from campaigns import rendering
from campaigns.rendering import Renderer
from dispatch.models import Message, OutboxStats
from journeys.models import SendNodeOutbox, Step
from projects.models import Project

JOURNEY_PRODUCER = "journey"  # the producer kind of a send node's outbox
CONVERSIONS = "conversions"  # node counters bumped by conversions
REVENUE_CENTS = "revenue_cents"
# The send core's counters of a node's outbox, under the names the
# statistics give them.
OUTBOX_FIGURES = {
    "sent": "sent",
    "delivered": "delivered",
    "failed": "failed",
    "clicks": "clicks",
    "clicked_recipients": "clicked",
}
_DEDUPE_KEY = re.compile(r"r(\d+)-(\d+)")

# Compiled bodies, keyed by what they are made of (a published node's body
# never changes): (project, body, promotional).
_compiled: dict[tuple[Any, str, bool], Renderer] = {}


def dedupe_key(run_id: int, step: int) -> str:
    """A send step's message key in its outbox: one message per run and step."""
    return f"r{run_id}-{step}"


def run_of(key: str) -> int | None:
    """The run id of a send node message's dedupe key (None if not one)."""
    match = _DEDUPE_KEY.fullmatch(key or "")
    return int(match[1]) if match else None


def renderer(
    project: Project,
    config: Mapping[str, Any],
    outbox_id: Callable[[], int],
    cached: Callable[[tuple, Callable[[], Any]], Any],
) -> Renderer:
    """The node's body compiled for sending: with tracked URLs, the node's
    outbox's link ids, so `render(context, run id)` writes the run's short
    links. `outbox_id` is asked only when the body tracks a URL; `cached`
    keeps the link ids for the batch (raises liquid.TemplateProblem)."""
    promotional = bool(config.get("is_promotional"))
    body = config.get("body") or ""
    key = (project.pk, body, promotional)
    compiled = _compiled.get(key)
    if compiled is None:
        compiled = Renderer.for_parts(project, body, is_promotional=promotional)
        if len(_compiled) > 512:
            _compiled.clear()
        _compiled[key] = compiled
    if not compiled.tracked_urls:
        return compiled
    outbox = outbox_id()
    ids = cached(("links", outbox), lambda: rendering.link_ids(outbox, compiled.tracked_urls))
    return replace(compiled, link_ids=ids)


def journey_message(outbox_id: int, run_id: int) -> tuple[int, int | None] | None:
    """(message id, customer id) of a run's message in a send node's outbox."""
    node = (
        SendNodeOutbox.objects.filter(outbox_id=outbox_id).values_list("version_id", "node").first()
    )
    if node is None:
        return None
    version_id, key = node
    step = (
        Step.objects.filter(run_id=run_id, version_id=version_id, node=key)
        .order_by("number")
        .values_list("number", flat=True)
        .first()
    )
    if step is None:
        return None
    return (
        Message.objects.filter(outbox_id=outbox_id, dedupe_key=dedupe_key(run_id, step))
        .values_list("id", "customer_id")
        .first()
    )


def node_figures(version_ids: Iterable[int]) -> dict[tuple[int, str], dict[str, int]]:
    """(version id, node) → the send core's figures of each send node's
    outbox: sent, delivered, failed, clicks, clicked (recipients)."""
    outboxes = {
        outbox_id: (version_id, node)
        for version_id, node, outbox_id in SendNodeOutbox.objects.filter(
            version_id__in=list(version_ids)
        ).values_list("version_id", "node", "outbox_id")
    }
    figures: dict[tuple[int, str], dict[str, int]] = {}
    for row in OutboxStats.objects.filter(pk__in=outboxes).values("outbox_id", *OUTBOX_FIGURES):
        figures[outboxes[row["outbox_id"]]] = {
            name: row[field] for field, name in OUTBOX_FIGURES.items()
        }
    return figures


def revenue(metrics: Mapping[str, int]) -> Decimal:
    """A node's conversion revenue from its `revenue_cents` counter."""
    return Decimal(metrics.get(REVENUE_CENTS, 0)) / 100
