"""Where API → UI conversion puts nodes: each node at the size the canvases draw it, none overlapping.

A headless prompt has no positions; the canvas (ours or ComfyUI's) draws each node at least as large as
its sockets and widgets need, whatever size the file says. A layout that guessed smaller sizes put
"Negative prompt" over the Prompt node's text box. So sizes here follow the drawing rules of LiteGraph as
both canvases configure it (title 30 px, 20 px per socket row, 20 + 4 px per widget, 8.4 px per character
of a label) and the larger of the two canvases' minimums: our text box is 92 px tall, ComfyUI's frontend
makes a node with a text box at least 400 × 200; output images get a 220 px area below the widgets.

Placement is layered: a node sits one column right of its deepest source (a node without inputs, such as
a loader, moves right next to its first consumer); columns are as wide as their widest node; within a
column, nodes are ordered by where their sources are, then stacked with their title bars in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .. import graph as graph_algorithms
from ..spec import InputSpec, NodeSpec
from .to_api import has_control

TITLE_HEIGHT = 30  # LiteGraph.NODE_TITLE_HEIGHT: drawn above a node's pos
SLOT_HEIGHT = 20
WIDGET_HEIGHT = 20
WIDGET_GAP = 4
CHAR_WIDTH = 14 * 0.6  # LiteGraph's estimate of a label's width at NODE_TEXT_SIZE 14
MIN_WIDTH = 240  # our canvas never makes a node narrower
TEXT_BOX_HEIGHT = 92  # our canvas's multiline widget
TEXT_NODE_MIN = (400.0, 200.0)  # ComfyUI's frontend: minNodeSize of a node with a multiline text widget
IMAGE_AREA = 220  # output images (and LoadImage's picture) drawn below the widgets
COLUMN_GAP = 60
ROW_GAP = 30
ORIGIN = (50.0, 60.0)


@dataclass(frozen=True)
class Box:
    """What decides a node's drawn size."""

    title: str
    sockets_in: Sequence[str]  # input sockets (links, and widgets converted to inputs)
    sockets_out: Sequence[str]
    widgets: Sequence[InputSpec]  # visible widgets, in order
    shows_image: bool = False


def box_for(spec: NodeSpec | None, title: str, sockets_in: Sequence[str], sockets_out: Sequence[str],
            linked_widgets: set[str], extra_values: int = 0) -> Box:
    """The :class:`Box` of a node of ``spec`` (None: a type not installed, drawn with ``extra_values`` widgets)."""
    if spec is None:
        placeholder = [InputSpec(name="value", type="STRING")] * extra_values
        return Box(title, sockets_in, sockets_out, placeholder)
    widgets = [i for i in spec.inputs if i.is_widget and i.name not in linked_widgets]
    shows_image = any(i.image_upload for i in spec.inputs) or (
        spec.output_node and any(i.type == "IMAGE" for i in spec.inputs))
    return Box(title, sockets_in, sockets_out, widgets, shows_image)


def _text_width(text: str) -> float:
    return len(text) * CHAR_WIDTH


def drawn_size(box: Box) -> tuple[float, float]:
    """(width, height) of the node body as the canvases draw it (the title bar comes on top)."""
    rows = max(len(box.sockets_in), len(box.sockets_out), 1)
    height: float = rows * SLOT_HEIGHT
    has_text_box = False
    extra_widgets = 0
    for widget in box.widgets:
        if widget.type == "STRING" and widget.multiline:
            height += TEXT_BOX_HEIGHT + WIDGET_GAP
            has_text_box = True
        else:
            height += WIDGET_HEIGHT + WIDGET_GAP
        # the frontend's extra widgets: control_after_generate after a seed, the upload button
        extra_widgets += has_control(widget) + bool(widget.image_upload)
    height += extra_widgets * (WIDGET_HEIGHT + WIDGET_GAP)
    if box.widgets:
        height += 8
    height += 6
    widest_in = max((_text_width(s) for s in box.sockets_in), default=0.0)
    widest_out = max((_text_width(s) for s in box.sockets_out), default=0.0)
    width = max(widest_in + widest_out + 10, _text_width(box.title) + 20, MIN_WIDTH)
    if has_text_box:
        width, height = max(width, TEXT_NODE_MIN[0]), max(height, TEXT_NODE_MIN[1])
    if box.shows_image:
        height += IMAGE_AREA
    return float(round(width)), float(round(height))


def place(order: Sequence[str], edges: dict[str, list[str]], sizes: dict[str, tuple[float, float]]
          ) -> dict[str, tuple[float, float]]:
    """Body positions for nodes in topological ``order``; ``edges[n]`` are the sources linked into ``n``."""
    depth: dict[str, int] = {}
    for node in order:
        depth[node] = 1 + max((depth.get(s, 0) for s in edges.get(node, ())), default=-1)
    consumers: dict[str, list[str]] = {}
    for node in order:
        for source in edges.get(node, ()):
            consumers.setdefault(source, []).append(node)
    for node in order:  # loaders and constants: right next to the first node that uses them
        if not edges.get(node) and consumers.get(node):
            depth[node] = max(0, min(depth[c] for c in consumers[node]) - 1)
    columns: dict[int, list[str]] = {}
    for node in order:
        columns.setdefault(depth[node], []).append(node)
    positions: dict[str, tuple[float, float]] = {}
    x = ORIGIN[0]
    rank = {node: index for index, node in enumerate(order)}
    for column in sorted(columns):
        members = columns[column]

        def centre(node: str) -> float:
            ys = [positions[s][1] + sizes[s][1] / 2 for s in edges.get(node, ()) if s in positions]
            if not ys:  # no placed source: stay beside the nodes it feeds, in prompt order
                return float("inf")
            return sum(ys) / len(ys)

        members.sort(key=lambda n: (centre(n), rank[n]))
        y = ORIGIN[1]
        for node in members:
            positions[node] = (x, y)
            y += sizes[node][1] + TITLE_HEIGHT + ROW_GAP
        x += max(sizes[n][0] for n in members) + COLUMN_GAP
    return positions


def topological(nodes: Sequence[str], edges: dict[str, list[str]]) -> list[str]:
    """Nodes in dependency order; nodes on a cycle still get a place, after the others."""
    order = graph_algorithms.topological_order(list(nodes), edges)
    return order + [n for n in nodes if n not in order]
