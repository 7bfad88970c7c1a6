"""ComfyUI's ``execution`` module for node packs: the values and enums packs use from it.

Inkgraph runs prompts with its own executor (``engine/core/executor.py``), so ComfyUI's executor classes
(``PromptExecutor``, ``PromptQueue``, the caches) are stand-ins: a pack may import them, subclass them or
store a method of theirs at load time (Impact Pack keeps ``PromptExecutor.handle_execution_error``), and
fails only when a node calls one. What a node can use is real: ``ExecutionBlocker``, ``DynamicPrompt``,
``GraphBuilder``, ``is_link``, the ``ExecutionResult`` and ``CacheType`` enums.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from ..core.expansion import DynamicPrompt
from ..core.graph_builder import GraphBuilder
from ..core.results import ExecutionBlocker
from ..core.workflow import is_link
from .stubs import comfy_attribute

__all__ = ["MAXIMUM_HISTORY_SIZE", "CacheType", "DuplicateNodeError", "DynamicPrompt", "ExecutionBlocker",
           "ExecutionResult", "GraphBuilder", "is_link"]

MAXIMUM_HISTORY_SIZE = 10000


class ExecutionResult(Enum):
    SUCCESS = 0
    FAILURE = 1
    PENDING = 2


class CacheType(Enum):
    CLASSIC = 0
    LRU = 1
    DEPENDENCY_AWARE = 2


class DuplicateNodeError(Exception):
    pass


def __getattr__(name: str) -> Any:
    return comfy_attribute("execution", name)
