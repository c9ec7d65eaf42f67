"""The journey graph drawn on the server as SVG (no client build step, no
inline script or style: colours come from classes in static/css/journeys.css
and presentation attributes).

Layered layout from the trigger: a node's layer is the length of the longest
path to it (the graph is acyclic; a node on a cycle or unreachable goes to a
layer after the others, so a broken draft still draws). Each node is a box
with its label and kind, and its counters when there are any; each edge
carries its port's name and a "+" that inserts a node there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape

from django.utils.translation import gettext as _

from journeys.graph import edges, kind_labels, node_map, ports_of, reachable

BOX_W, BOX_H = 176, 64
GAP_X, GAP_Y = 28, 70
MARGIN = 16
LABEL_CHARS = 22


@dataclass
class Box:
    key: str
    x: int
    y: int
    level: int = 0


def layers(graph: dict) -> list[list[str]]:
    """Keys by layer, the trigger's first: a node's layer is its longest
    path from the trigger. Nodes on a cycle or unreachable (a draft may have
    them) share one last layer."""
    nodes = node_map(graph)
    order = reachable(graph)
    reach = set(order)
    incoming = dict.fromkeys(order, 0)
    for key in order:
        for _port, target in edges(nodes[key]):
            if target in reach:
                incoming[target] += 1
    queue = [key for key in order if incoming[key] == 0]
    depth = dict.fromkeys(queue, 0)
    placed: list[str] = []
    while queue:
        key = queue.pop(0)
        placed.append(key)
        for _port, target in edges(nodes[key]):
            if target not in reach:
                continue
            depth[target] = max(depth.get(target, 0), depth[key] + 1)
            incoming[target] -= 1
            if incoming[target] == 0:
                queue.append(target)
    result: list[list[str]] = []
    for key in placed:
        while len(result) <= depth[key]:
            result.append([])
        result[depth[key]].append(key)
    lost = [key for key in nodes if key not in set(placed)]
    if lost:
        result.append(lost)
    return result


def layout(graph: dict) -> tuple[dict[str, Box], int, int]:
    rows = layers(graph)
    widest = max((len(row) for row in rows), default=1)
    width = MARGIN * 2 + widest * BOX_W + (widest - 1) * GAP_X
    boxes: dict[str, Box] = {}
    for level, row in enumerate(rows):
        row_width = len(row) * BOX_W + (len(row) - 1) * GAP_X
        left = (width - row_width) // 2
        for index, key in enumerate(row):
            boxes[key] = Box(
                key, left + index * (BOX_W + GAP_X), MARGIN + level * (BOX_H + GAP_Y), level
            )
    # Room under the last layer for the stubs of open ports.
    height = MARGIN * 2 + len(rows) * BOX_H + max(len(rows) - 1, 0) * GAP_Y + 34
    return boxes, width, max(height, BOX_H + 2 * MARGIN)


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def counter_line(counters: Mapping[str, int]) -> str:
    parts = []
    if "entered" in counters:
        parts.append(_("in %(n)d") % {"n": counters["entered"]})
    if counters.get("waiting"):
        parts.append(_("now %(n)d") % {"n": counters["waiting"]})
    for metric, value in sorted(counters.items()):
        if metric.startswith("port:"):
            parts.append(f"{metric[5:]} {value}")
    return " · ".join(parts)


def send_line(counters: Mapping[str, int]) -> str:
    """A send node's clicks and conversions, once it has any to show."""
    if not (counters.get("clicks") or counters.get("conversions")):
        return ""
    return _("clicks %(clicks)d · conv. %(conversions)d") % {
        "clicks": counters.get("clicks", 0),
        "conversions": counters.get("conversions", 0),
    }


def canvas_width(graph: dict, boxes: dict[str, Box], width: int) -> int:
    """The layout's width with room for the lanes of edges that skip layers."""
    nodes = node_map(graph)
    long_edges = sum(
        1
        for key, box in boxes.items()
        for _port, target in edges(nodes[key])
        if target in boxes and boxes[target].level != box.level + 1
    )
    return width + 14 * long_edges + (12 if long_edges else 0)


def render_counters(graph: dict, counters: Mapping[str, Mapping[str, int]]) -> str:
    """The nodes' counters alone, as an <svg> of the graph's size that lies
    over it: the builder polls this small drawing while users move, and
    redraws the graph only when it changes. Each line carries its figures
    as data attributes (data-entered, data-waiting, data-port-<port>)."""
    boxes, width, height = layout(graph)
    width = canvas_width(graph, boxes, width)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="journey-graph journey-counters" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" aria-hidden="true">'
    ]
    nodes = node_map(graph)
    for key, box in boxes.items():
        figures = counters.get(key, {})
        sends = send_line(figures) if nodes[key].get("kind") == "send" else ""
        if sends:
            out.append(
                f'<text x="{box.x + BOX_W - 10}" y="{box.y + 38}" text-anchor="end" '
                f'class="node-counters send-figures" data-node="{escape(key)}">'
                f"{escape(sends)}</text>"
            )
        line = counter_line(figures)
        if not line:
            continue
        data = "".join(
            f' data-{escape(metric.replace(":", "-").replace("_", "-"))}="{int(value)}"'
            for metric, value in sorted(figures.items())
        )
        out.append(
            f'<text x="{box.x + 10}" y="{box.y + 56}" class="node-counters" '
            f'data-node="{escape(key)}"{data}>{escape(_short(line, 28))}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def render_svg(
    graph: dict,
    *,
    node_url: Callable[[str], str] | None = None,
    panel_url: Callable[[str], str] | None = None,
    insert_url: Callable[[str, str], str] | None = None,
    counters: Mapping[str, Mapping[str, int]] | None = None,
    problems: set[str] | frozenset[str] = frozenset(),
    selected: str = "",
) -> str:
    """The graph as an <svg> element (safe to mark safe: every text is escaped)."""
    boxes, width, height = layout(graph)
    nodes = node_map(graph)
    lanes_left = width - MARGIN
    width = canvas_width(graph, boxes, width)
    labels = kind_labels()
    counters = counters or {}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="journey-graph" id="journey-svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(_("Journey graph"))}">'
    ]
    # Edges first, so the boxes cover their ends. An edge to the next layer
    # is a curve; one that skips layers (or goes back up, in a broken draft)
    # runs down a lane right of the boxes, so it never crosses a box.
    lanes = 0
    for key, box in boxes.items():
        ports = ports_of(nodes[key])
        for port, target in edges(nodes[key]):
            if target not in boxes:
                continue
            end = boxes[target]
            index = ports.index(port) if port in ports else 0
            x1 = box.x + BOX_W * (index + 1) // (len(ports) + 1)
            y1 = box.y + BOX_H
            x2, y2 = end.x + BOX_W // 2, end.y
            if end.level == box.level + 1:
                path = f"M{x1},{y1} C{x1},{y1 + 40} {x2},{y2 - 40} {x2},{y2}"
                mx, my = (x1 + x2) // 2, (y1 + y2) // 2
            else:
                lane = lanes_left + 18 + 14 * lanes
                lanes += 1
                path = (
                    f"M{x1},{y1} C{x1},{y1 + 24} {lane},{y1 + 8} {lane},{y1 + 36} "
                    f"L{lane},{y2 - 36} C{lane},{y2 - 8} {x2},{y2 - 24} {x2},{y2}"
                )
                mx, my = lane, (y1 + y2) // 2
            out.append(
                f'<g class="edge" data-from="{escape(key)}" data-port="{escape(port)}" '
                f'data-to="{escape(target)}">'
                f'<path d="{path}" fill="none" class="edge-line" marker-end="url(#arrow)"/>'
            )
            out.append(f'<text x="{x1 + 4}" y="{y1 + 13}" class="port-label">{escape(port)}</text>')
            if insert_url is not None:
                out.append(
                    f'<a href="{escape(insert_url(key, port))}" class="insert" '
                    f'data-from="{escape(key)}" data-port="{escape(port)}">'
                    f"<title>{escape(_('Insert a node here'))}</title>"
                    f'<circle cx="{mx}" cy="{my}" r="9" class="insert-dot"/>'
                    f'<text x="{mx}" y="{my + 4}" text-anchor="middle" class="insert-plus">+</text>'
                    "</a>"
                )
            out.append("</g>")
        if insert_url is None:
            continue
        # An open port (it ends the run there) gets a stub with its own "+",
        # so a node can be added after it.
        connected = {port for port, target in edges(nodes[key]) if target in boxes}
        for index, port in enumerate(ports):
            if port in connected:
                continue
            x1 = box.x + BOX_W * (index + 1) // (len(ports) + 1)
            y1 = box.y + BOX_H
            out.append(
                f'<g class="edge open" data-from="{escape(key)}" data-port="{escape(port)}">'
                f'<path d="M{x1},{y1} L{x1},{y1 + 22}" class="edge-line open-line"/>'
                f'<text x="{x1 + 4}" y="{y1 + 13}" class="port-label">{escape(port)}</text>'
                f'<a href="{escape(insert_url(key, port))}" class="insert" '
                f'data-from="{escape(key)}" data-port="{escape(port)}">'
                f"<title>{escape(_('Insert a node here'))}</title>"
                f'<circle cx="{x1}" cy="{y1 + 31}" r="9" class="insert-dot"/>'
                f'<text x="{x1}" y="{y1 + 35}" text-anchor="middle" class="insert-plus">+</text>'
                "</a></g>"
            )
    for key, box in boxes.items():
        node = nodes[key]
        kind = node.get("kind", "")
        label = node.get("label") if isinstance(node.get("label"), str) else ""
        classes = ["node", f"kind-{escape(str(kind))}"]
        if key in problems:
            classes.append("has-problem")
        if key == selected:
            classes.append("selected")
        body = [
            f'<rect x="{box.x}" y="{box.y}" width="{BOX_W}" height="{BOX_H}" rx="8" '
            'class="node-box"/>',
            f'<text x="{box.x + 10}" y="{box.y + 20}" class="node-label">'
            f"{escape(_short(label or key))}</text>",
            f'<text x="{box.x + 10}" y="{box.y + 38}" class="node-kind">'
            f"{escape(_short(str(labels.get(kind, kind))))}</text>",
        ]
        figures = send_line(counters.get(key, {})) if kind == "send" else ""
        if figures:
            body.append(
                f'<text x="{box.x + BOX_W - 10}" y="{box.y + 38}" text-anchor="end" '
                f'class="node-counters send-figures">{escape(figures)}</text>'
            )
        line = counter_line(counters.get(key, {}))
        if line:
            body.append(
                f'<text x="{box.x + 10}" y="{box.y + 56}" class="node-counters">'
                f"{escape(_short(line, 28))}</text>"
            )
        group = (
            f'<g class="{" ".join(classes)}" data-node="{escape(key)}" '
            f'data-kind="{escape(str(kind))}">' + "".join(body) + "</g>"
        )
        if node_url is not None:
            panel = f' data-panel="{escape(panel_url(key))}"' if panel_url else ""
            group = (
                f'<a href="{escape(node_url(key))}" class="node-link" '
                f'data-node="{escape(key)}"{panel}>{group}</a>'
            )
        out.append(group)
    out.insert(
        1,
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'class="arrow-head"/></marker></defs>',
    )
    out.append("</svg>")
    return "".join(out)
