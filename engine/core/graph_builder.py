"""Build API prompts in code: for tests, benchmarks, scripts, and node expansion.

::

    g = GraphBuilder()
    image = g.node("LoadImage", image="cat.png")
    inverted = g.node("ImageInvert", image=image.out(0))
    g.node("SaveImage", images=inverted.out(0), filename_prefix="inverted")
    prompt = g.finalize()

The API is a superset of ComfyUI's ``comfy_execution.graph_utils.GraphBuilder``, which V1 packs import
(through Inkgraph's compatibility shim, this very class). Inside a running node, ``GraphBuilder()`` without a
prefix takes one unique to that node and call (``"<node id>.<call index>.<graph index>."``), so the
subgraphs a node returns never collide with the prompt's ids; outside a node the default prefix is empty.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any

from .workflow import is_link

# (node id, call index, next graph index) of the node being executed, set by the executor around each call.
_EXPANDING: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("inkgraph_expanding", default=None)


@dataclass
class NodeRef:
    """A node being built; ``out(i)`` is a link to its i-th output."""

    id: str
    class_type: str
    inputs: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    override_display_id: str | None = None

    def out(self, index: int = 0) -> list[Any]:
        return [self.id, index]

    def set_input(self, name: str, value: Any) -> NodeRef:
        """Set an input; ``None`` removes it (ComfyUI's convention)."""
        if value is None:
            self.inputs.pop(name, None)
        else:
            self.inputs[name] = _wrap(value)
        return self

    def get_input(self, name: str) -> Any:
        return self.inputs.get(name)

    def set_override_display_id(self, display_id: str) -> None:
        """Show this node's progress on another node of the canvas (for example the expanding node)."""
        self.override_display_id = display_id

    def serialize(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"class_type": self.class_type, "inputs": dict(self.inputs)}
        if self.override_display_id is not None:
            entry["override_display_id"] = self.override_display_id
        if self.title is not None:
            entry["_meta"] = {"title": self.title}
        return entry


# ComfyUI's name for the same thing.
Node = NodeRef


def _wrap(value: Any) -> Any:
    """Constants that are lists must travel as ``{"__value__": [...]}`` so they are not read as links."""
    if isinstance(value, NodeRef):
        return value.out(0)
    if isinstance(value, tuple):
        return {"__value__": list(value)}
    return value


class GraphBuilder:
    """Accumulates nodes with ids ``prefix + n``; ``finalize()`` returns the API prompt dict."""

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = prefix if prefix is not None else self.alloc_prefix()
        self.nodes: dict[str, NodeRef] = {}
        self.id_gen = 1

    @staticmethod
    def alloc_prefix(root: str | None = None, call_index: int | None = None, graph_index: int | None = None) -> str:
        """The next unique prefix inside the running node ("" outside any node)."""
        current = _EXPANDING.get()
        if current is None and root is None:
            return ""
        state: list[Any] = current if current is not None else [root, 0, 0]
        root = str(state[0]) if root is None else root
        call = int(state[1]) if call_index is None else call_index
        if graph_index is None:
            graph_index = int(state[2])
            state[2] = graph_index + 1
        return f"{root}.{call}.{graph_index}."

    @staticmethod
    def set_default_prefix(prefix_root: str, call_index: int, graph_index: int = 0) -> contextvars.Token[Any]:
        """Make ``GraphBuilder()`` allocate prefixes under ``prefix_root`` (the executor calls this)."""
        return _EXPANDING.set([prefix_root, call_index, graph_index])

    @staticmethod
    def clear_default_prefix(token: contextvars.Token[Any]) -> None:
        _EXPANDING.reset(token)

    def node(self, class_type: str, id: str | None = None, *, title: str | None = None, **inputs: Any) -> NodeRef:
        """Add a node (or return the one already built under that id, as ComfyUI's builder does)."""
        if id is None:
            while f"{self.prefix}{self.id_gen}" in self.nodes:
                self.id_gen += 1
            id = str(self.id_gen)
            self.id_gen += 1
        full = f"{self.prefix}{id}"
        if full in self.nodes:
            return self.nodes[full]
        ref = NodeRef(id=full, class_type=class_type, inputs={k: _wrap(v) for k, v in inputs.items()
                                                              if v is not None}, title=title)
        self.nodes[full] = ref
        return ref

    def lookup(self, id: str) -> NodeRef | None:
        return self.nodes.get(f"{self.prefix}{id}")

    lookup_node = lookup  # ComfyUI's name

    def remove_node(self, id: str) -> None:
        del self.nodes[f"{self.prefix}{id}"]

    def replace_node_output(self, node_id: str, index: int, new_value: Any) -> None:
        """Point every input that reads ``node_id``'s output ``index`` at ``new_value`` (None: unset them)."""
        full = f"{self.prefix}{node_id}"
        for ref in self.nodes.values():
            for name, value in list(ref.inputs.items()):
                if is_link(value) and value[0] == full and value[1] == index:
                    ref.set_input(name, new_value)

    def finalize(self) -> dict[str, Any]:
        return {node_id: ref.serialize() for node_id, ref in self.nodes.items()}


def add_graph_prefix(graph: dict[str, Any], outputs: tuple[Any, ...] | list[Any], prefix: str
                     ) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """Prefix every node id of a subgraph (and the links into it), so it can be added twice."""
    def move(value: Any) -> Any:
        return [prefix + value[0], value[1]] if is_link(value) else value

    new_graph = {prefix + node_id: {**info, "inputs": {k: move(v) for k, v in info.get("inputs", {}).items()}}
                 for node_id, info in graph.items()}
    return new_graph, tuple(move(o) for o in outputs)
