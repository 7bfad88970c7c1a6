"""ComfyUI's ``comfy_execution`` package: ``graph_utils`` (GraphBuilder), ``graph`` (ExecutionBlocker,
DynamicPrompt) and ``utils`` (the executing context); its other modules import as stubs."""

from typing import Any

from ..stubs import comfy_attribute


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy_execution", name)
