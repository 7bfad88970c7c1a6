"""``comfy_execution.graph``: the blocker value and the dynamic prompt that expanding nodes read."""

from ...expansion import DynamicPrompt, NodeNotFoundError
from ...results import ExecutionBlocker

__all__ = ["DynamicPrompt", "ExecutionBlocker", "NodeNotFoundError"]
