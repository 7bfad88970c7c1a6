"""``comfy_execution.graph_utils``: Inkgraph's GraphBuilder is a superset of ComfyUI's."""

from ...core.graph_builder import GraphBuilder, Node, add_graph_prefix
from ...core.results import ExecutionBlocker
from ...core.workflow import is_link

__all__ = ["ExecutionBlocker", "GraphBuilder", "Node", "add_graph_prefix", "is_link"]
