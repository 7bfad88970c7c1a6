"""Node expansion: a node may answer with a subgraph that the executor adds to the running prompt.

A node returns ``NodeOutput(result=(links or values…), expand=graph)`` (ComfyUI: ``{"result", "expand"}``).
The new nodes become *ephemeral* nodes of the :class:`DynamicPrompt`, with the expanding node as parent and
the node the canvas should highlight (``override_display_id``, else the parent's) as display node. They are
validated like any prompt node, get cache keys from the same signature rules, and run through the ordinary
scheduler; the parent finishes once the outputs its result links to are available. Loops are expansions
that expand again (a while-loop close node re-emits the loop body until its condition is false).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .spec import NodeSpec
from .validation import Plan, plan_subgraph
from .workflow import is_link


class NodeNotFoundError(KeyError):
    """ComfyUI's error for a node id the dynamic prompt does not know."""


class DynamicPrompt:
    """The prompt as it grows during one run (ComfyUI's ``DYNPROMPT`` hidden input).

    Nodes that packs ask about by id (``get_node``) may be original or ephemeral; ``get_real_node_id`` walks
    ephemeral nodes back to the original node that created them, ``get_display_node_id`` to the node the
    canvas shows their progress on.
    """

    def __init__(self, original_prompt: dict[str, Any]) -> None:
        self.original_prompt = original_prompt
        self.ephemeral_prompt: dict[str, Any] = {}
        self.ephemeral_parents: dict[str, str] = {}
        self.ephemeral_display: dict[str, str] = {}

    def get_node(self, node_id: str) -> dict[str, Any]:
        if node_id in self.ephemeral_prompt:
            return self.ephemeral_prompt[node_id]  # type: ignore[no-any-return]
        if node_id in self.original_prompt:
            return self.original_prompt[node_id]  # type: ignore[no-any-return]
        raise NodeNotFoundError(f"Node {node_id} not found")

    def has_node(self, node_id: str) -> bool:
        return node_id in self.original_prompt or node_id in self.ephemeral_prompt

    def add_ephemeral_node(self, node_id: str, node_info: dict[str, Any], parent_id: str, display_id: str) -> None:
        self.ephemeral_prompt[node_id] = node_info
        self.ephemeral_parents[node_id] = parent_id
        self.ephemeral_display[node_id] = display_id

    def get_real_node_id(self, node_id: str) -> str:
        while node_id in self.ephemeral_parents:
            node_id = self.ephemeral_parents[node_id]
        return node_id

    def get_parent_node_id(self, node_id: str) -> str | None:
        return self.ephemeral_parents.get(node_id)

    def get_display_node_id(self, node_id: str) -> str:
        seen = {node_id}
        while node_id in self.ephemeral_display:
            node_id = self.ephemeral_display[node_id]
            if node_id in seen:  # a node displayed on itself
                break
            seen.add(node_id)
        return node_id

    def all_node_ids(self) -> set[str]:
        return set(self.original_prompt) | set(self.ephemeral_prompt)

    def get_original_prompt(self) -> dict[str, Any]:
        return self.original_prompt


class ExpansionError(ValueError):
    """A subgraph a node returned cannot run; the message names the node that made it and what is wrong."""


@dataclass(slots=True)
class PendingExpansion:
    """An expanding node waiting for its subgraph: per call, its result (links resolved later) and whether
    that call expanded."""

    results: list[Any]  # NodeOutput per call
    sources: list[str] = field(default_factory=list)


def add_subgraph(plan: Plan, dynprompt: DynamicPrompt, parent_id: str, graph: Any,
                 spec_of: Callable[[str], NodeSpec | None]) -> tuple[list[str], list[str]]:
    """Validate ``graph`` and add its nodes to the plan and the dynamic prompt.

    Returns (new node ids in dependency order, those that are output nodes).
    """
    parent = plan.nodes[parent_id].spec.class_type
    if not isinstance(graph, dict):
        raise ExpansionError(f"{parent} (node {parent_id}) returned an expansion that is not a dict of nodes")
    specs: dict[str, NodeSpec] = {}
    for node_id, info in graph.items():
        if not isinstance(info, dict) or not isinstance(info.get("class_type"), str):
            raise ExpansionError(f"{parent} (node {parent_id}) expanded node {node_id!r} without a class_type")
        if dynprompt.has_node(node_id):
            raise ExpansionError(f"{parent} (node {parent_id}) expanded node {node_id!r}, an id already in use")
        spec = spec_of(info["class_type"])
        if spec is None:
            raise ExpansionError(f"{parent} (node {parent_id}) expanded node {node_id!r} of unknown type "
                                 f"{info['class_type']!r}")
        specs[node_id] = spec
    for node_id, info in graph.items():
        display = info.get("override_display_id") or dynprompt.get_display_node_id(parent_id)
        dynprompt.add_ephemeral_node(node_id, info, parent_id, display)
    for info in graph.values():
        for value in info.get("inputs", {}).values():
            if is_link(value) and value[0] not in specs and value[0] not in plan.nodes:
                raise ExpansionError(f"{parent} (node {parent_id}) links its subgraph to node {value[0]!r}, "
                                     "which is not part of this run")
    view = {**{n: dynprompt.get_node(n) for n in plan.nodes}, **graph}
    known = {**{n: p.spec for n, p in plan.nodes.items()}, **specs}
    planned, order, errors = plan_subgraph(view, known, list(graph), plan.folders)
    if errors:
        node_id, details = next(iter(errors.items()))
        raise ExpansionError(f"{parent} (node {parent_id}) expanded node {node_id} ({specs[node_id].class_type}) "
                             f"which is invalid: {details}")
    for node_id in order:
        plan.nodes[node_id] = planned[node_id]
        plan.order.append(node_id)
    return order, [n for n in order if specs[n].output_node]


def result_links(results: list[Any]) -> list[tuple[str, int]]:
    """The (node, slot) pairs that expanded calls' results point at."""
    return [(value[0], int(value[1])) for r in results if r.expand is not None and r.result is not None
            for value in r.result if is_link(value)]


def resolve(results: list[Any], values: dict[str, tuple[list[Any], ...]], spec: NodeSpec) -> list[Any]:
    """The expanded calls' results with each link replaced by the output it points at."""
    from .results import NodeOutput

    resolved = []
    for r in results:
        if r.expand is None or r.result is None:
            resolved.append(NodeOutput(result=r.result, ui=r.ui))
            continue
        items = []
        for slot, value in enumerate(r.result):
            if is_link(value):
                produced = values[value[0]][int(value[1])]
                is_list = slot < len(spec.outputs) and spec.outputs[slot].is_list
                value = list(produced) if is_list or len(produced) != 1 else produced[0]
            items.append(value)
        resolved.append(NodeOutput(result=tuple(items), ui=r.ui))
    return resolved

