"""Build API prompts in code: for tests, benchmarks, scripts and (later) node expansion.

::

    g = GraphBuilder()
    image = g.node("LoadImage", image="cat.png")
    inverted = g.node("ImageInvert", image=image.out(0))
    g.node("SaveImage", images=inverted.out(0), filename_prefix="inverted")
    prompt = g.finalize()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class NodeRef:
    """A node being built; ``out(i)`` is a link to its i-th output."""

    id: str
    class_type: str
    inputs: dict[str, Any] = field(default_factory=dict)
    title: str | None = None

    def out(self, index: int = 0) -> list[Any]:
        return [self.id, index]

    def set_input(self, name: str, value: Any) -> NodeRef:
        self.inputs[name] = _wrap(value)
        return self


def _wrap(value: Any) -> Any:
    """Constants that are lists must travel as ``{"__value__": [...]}`` so they are not read as links."""
    if isinstance(value, NodeRef):
        return value.out(0)
    if isinstance(value, tuple):
        return {"__value__": list(value)}
    return value


class GraphBuilder:
    """Accumulates nodes with ids ``prefix + n``; ``finalize()`` returns the API prompt dict."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self._nodes: dict[str, NodeRef] = {}
        self._next = 1

    def node(self, class_type: str, id: str | None = None, *, title: str | None = None,
             **inputs: Any) -> NodeRef:
        if id is None:
            while f"{self.prefix}{self._next}" in self._nodes:
                self._next += 1
            id = f"{self.prefix}{self._next}"
        else:
            id = f"{self.prefix}{id}"
        if id in self._nodes:
            raise ValueError(f"node id {id!r} is already used")
        ref = NodeRef(id=id, class_type=class_type, inputs={k: _wrap(v) for k, v in inputs.items()}, title=title)
        self._nodes[id] = ref
        return ref

    def lookup(self, id: str) -> NodeRef | None:
        return self._nodes.get(f"{self.prefix}{id}")

    def finalize(self) -> dict[str, Any]:
        prompt: dict[str, Any] = {}
        for ref in self._nodes.values():
            entry: dict[str, Any] = {"class_type": ref.class_type, "inputs": dict(ref.inputs)}
            if ref.title is not None:
                entry["_meta"] = {"title": ref.title}
            prompt[ref.id] = entry
        return prompt
