"""``comfy_execution.graph_utils``: Inkgraph's GraphBuilder is a superset of ComfyUI's."""

from typing import Any

from ...core.graph_builder import GraphBuilder, Node, add_graph_prefix
from ...core.results import ExecutionBlocker
from ...core.workflow import is_link
from ..stubs import comfy_attribute

__all__ = ["ExecutionBlocker", "GraphBuilder", "Node", "add_graph_prefix", "is_link"]


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy_execution.graph_utils", name)
