"""``comfy_execution.utils.get_executing_context``: which prompt and node this code runs for."""

from __future__ import annotations

from typing import Any, NamedTuple

from ...core.context import current_context
from ..stubs import comfy_attribute


class ExecutionContext(NamedTuple):
    prompt_id: str
    node_id: str
    list_index: int | None


def get_executing_context() -> ExecutionContext | None:
    ctx = current_context()
    return ExecutionContext(ctx.prompt_id, ctx.node_id, None) if ctx is not None else None


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy_execution.utils", name)
