"""``comfy_execution.graph``: the blocker value and the dynamic prompt that expanding nodes read."""

from ...core.expansion import DynamicPrompt, NodeNotFoundError
from ...core.results import ExecutionBlocker

__all__ = ["DynamicPrompt", "ExecutionBlocker", "NodeNotFoundError"]
