"""``comfy_execution.graph``: the blocker value and the dynamic prompt that expanding nodes read."""

from typing import Any

from ...core.expansion import DynamicPrompt, NodeNotFoundError
from ...core.results import ExecutionBlocker
from ..stubs import comfy_attribute

__all__ = ["DynamicPrompt", "ExecutionBlocker", "NodeNotFoundError"]


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy_execution.graph", name)
